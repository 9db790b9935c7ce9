"""nnlearn's chapter-1 training equals the book's network.py, step for step, on real MNIST.

The reference below is a transcription of network.py's ``update_mini_batch`` and
``backprop`` (column vectors, one example at a time, gradients summed over the
minibatch, ``w → w − (η/m) Σ ∂Cₓ/∂w``), in float64. Started from nnlearn's initial
weights and fed nnlearn's minibatch order, it must end the epoch with the same
weights. So the chapter-1 results (including the runs that get stuck with whole
classes unlearned, see docs/results/ch1.md) are those of the book's algorithm.
"""

import copy

import numpy as np

from nnlearn import Network


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def book_backprop(weights, biases, x, y):
    """network.py's ``backprop``: one example, (n, 1) columns, quadratic cost."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    activation, activations, zs = x, [x], []
    for b, w in zip(biases, weights):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    delta = (activations[-1] - y) * sigmoid_prime(zs[-1])                 # BP1
    nabla_b[-1] = delta                                                    # BP3
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())               # BP4
    for layer in range(2, len(weights) + 1):
        delta = np.dot(weights[-layer + 1].transpose(), delta) * sigmoid_prime(zs[-layer])  # BP2
        nabla_b[-layer] = delta
        nabla_w[-layer] = np.dot(delta, activations[-layer - 1].transpose())
    return nabla_b, nabla_w


def book_update_mini_batch(weights, biases, mini_batch, eta):
    """network.py's ``update_mini_batch``."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for x, y in mini_batch:
        delta_nabla_b, delta_nabla_w = book_backprop(weights, biases, x, y)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
    weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def test_one_epoch_matches_network_py(mnist):
    X, y = mnist.train
    X, y = X[:300].astype(np.float64), y[:300]
    net = Network.from_sizes([784, 30, 10], cost="quadratic", weight_init="normal",
                             bias_init="normal", seed=5, dtype="float64")
    dense = [layer for layer in net.layers if "W" in layer.params]
    # nnlearn is batch-first (Z = X W + b, W of shape (n_in, n_out)); the book's w is Wᵀ
    weights = [layer.params["W"].T.copy() for layer in dense]
    biases = [layer.params["b"].reshape(-1, 1).copy() for layer in dense]
    order = copy.deepcopy(net.rng).permutation(len(y))  # the order fit() is about to draw
    eta, m = 3.0, 10

    net.fit(X, y, epochs=1, mini_batch_size=m, eta=eta, monitor=())

    pairs = [(X[i].reshape(784, 1), np.eye(10)[y[i]].reshape(10, 1)) for i in order]
    for k in range(0, len(pairs), m):
        weights, biases = book_update_mini_batch(weights, biases, pairs[k:k + m], eta)
    for layer, w, b in zip(dense, weights, biases):
        np.testing.assert_allclose(layer.params["W"].T, w, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.params["b"], b[:, 0], rtol=1e-9, atol=1e-12)
    # and the comparison is not vacuous: the epoch changed the weights
    start = Network.from_sizes([784, 30, 10], cost="quadratic", weight_init="normal",
                               bias_init="normal", seed=5, dtype="float64")
    assert np.abs(start.layers[0].params["W"] - dense[0].params["W"]).max() > 1e-3
