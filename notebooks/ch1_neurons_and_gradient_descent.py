# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 1: Using neural nets to recognize handwritten digits
#
# Three demonstrations of the book's first chapter, each computed by nnlearn's own layers and
# trainer: a perceptron beside a sigmoid neuron, gradient descent on a cost surface of two
# parameters with three learning rates, and the `[784, 30, 10]` network on MNIST.
#
# The sizes come from `NNLEARN_NOTEBOOK_SIZE` (unset: the book's sizes, under a minute here;
# `small`: what the test suite runs, a few seconds).

# %%
import matplotlib.pyplot as plt
import numpy as np

import nnlearn
from nnlearn.examples.notebooks import neuron, sizes

S = sizes(default=dict(images=50_000, test_images=10_000, epochs=30, grid=61),
          small=dict(images=1_000, test_images=1_000, epochs=2, grid=15))
S

# %% [markdown]
# ## Perceptrons and sigmoid neurons
#
# *Book §"Perceptrons", eq. (2), and §"Sigmoid neurons", eqs. (3)–(4).* A perceptron outputs
# 1 if w·x + b > 0 and 0 otherwise; a sigmoid neuron outputs σ(w·x + b) with
# σ(z) = 1/(1 + e^(−z)). Below, both are one `Dense(1, 1)` layer followed by nnlearn's `Step` or
# `Sigmoid` layer (`neuron(w, b, activation)` builds that network and sets its weight and bias),
# with the threshold at x = s = −b/w = 0.5. As w grows (b = −w s) the sigmoid
# neuron's output approaches the perceptron's step; for small w it changes smoothly, which is what
# lets small changes of w and b make small changes of the output (eq. 5).

# %%
s = 0.5
x = np.linspace(0.0, 1.0, 401)[:, None]
perceptron = neuron(10.0, -10.0 * s, "step").predict_proba(x).ravel()
far = np.abs(x.ravel() - s) > 0.05          # away from the threshold itself
largest_gap = {}
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(x, perceptron, color="black", lw=2, label="perceptron (Step)")
for w in (4.0, 16.0, 64.0, 256.0):
    a = neuron(w, -w * s, "sigmoid").predict_proba(x).ravel()
    largest_gap[w] = float(np.abs(a - perceptron)[far].max())
    ax.plot(x, a, label=f"sigmoid, w = {w:g}")
ax.set_xlabel("input x")
ax.set_ylabel("output")
ax.set_title("Eq. (2) vs eq. (3): the step softens into the sigmoid")
ax.legend(fontsize=8)
plt.show()
for w, gap in largest_gap.items():
    print(f"w = {w:5g}: largest |σ(wx + b) − step| at |x − s| > 0.05 is {gap:.4f}")

# %% [markdown]
# ## Gradient descent on a cost surface of two parameters
#
# *Book §"Learning with gradient descent", eqs. (6), (10) and (11).* A single linear neuron
# a = w x + b is fitted to 20 points on the line y = 2x + 1 under the quadratic cost
# C(w, b) = (1/2n) Σₓ (a − y)², a surface over the plane (w, b) whose lowest point is (2, 1).
# Each step is v → v′ = v − η∇C (eq. 11) with v = (w, b): that is `Network.fit` with one
# minibatch holding all 20 points, so that one epoch is exactly one gradient step.
#
# C is a quadratic bowl with Hessian H = mean of [[x², x], [x, 1]]; gradient descent shrinks the
# distance to the bottom along H's eigenvector of eigenvalue λ by |1 − ηλ| per step, so it
# diverges once η > 2/λ_max. Three learning rates: too small (it crawls along the valley), about
# right (2/(λ_min + λ_max), the fastest constant step for a bowl) and 10% past 2/λ_max (every step
# overshoots further than the last).

# %%
xs = np.linspace(0.0, 2.0, 20)[:, None]
ys = 2.0 * xs + 1.0
hessian = np.array([[np.mean(xs**2), np.mean(xs)], [np.mean(xs), 1.0]])
lambda_min, lambda_max = (float(v) for v in np.linalg.eigvalsh(hessian))
etas = {"too small": 0.02, "about right": 2.0 / (lambda_min + lambda_max),
        "too large": 1.1 * 2.0 / lambda_max}
start = (-1.0, 4.0)
print(f"λ_min = {lambda_min:.3f}, λ_max = {lambda_max:.3f}: gradient descent diverges for "
      f"η > 2/λ_max = {2 / lambda_max:.3f}")


def descend(eta: float, steps: int = 30) -> tuple[np.ndarray, list[float]]:
    """(w, b) after each of ``steps`` full-batch gradient steps from ``start``, and C(w, b)."""
    net = neuron(*start, "linear")
    dense = net.layers[0]
    path = [(start[0], start[1])]
    net.fit(xs, ys, epochs=steps, mini_batch_size=len(xs), eta=eta, monitor=(),
            callbacks=[lambda record: path.append((dense.params["W"].item(), dense.params["b"].item()))])
    costs = []
    for w, b in path:
        costs.append(neuron(w, b, "linear").evaluate(xs, ys)["cost"])
    return np.array(path), costs


paths = {name: descend(eta) for name, eta in etas.items()}
for name, (path, costs) in paths.items():
    w, b = path[-1]
    print(f"η = {etas[name]:.3f} ({name:11s}): after 30 steps (w, b) = ({w:8.4f}, {b:8.4f}), "
          f"C = {costs[-1]:.6g} (C at the start: {costs[0]:.4g})")

# %% [markdown]
# The surface and the three paths. Each cost on the contour grid is `Network.evaluate` of the
# neuron with that (w, b).

# %%
W, B = np.meshgrid(np.linspace(-1.5, 4.5, S.grid), np.linspace(-2.5, 5.0, S.grid))
C = np.array([[neuron(w, b, "linear").evaluate(xs, ys)["cost"] for w, b in zip(wr, br)]
              for wr, br in zip(W, B)])
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
surface = ax.contourf(W, B, np.log10(C), levels=20, cmap="Greys")
fig.colorbar(surface, ax=ax, label="log₁₀ C")
for name, (path, costs) in paths.items():
    outside = (np.abs(path[:, 0] - 1.5) > 3.0) | (np.abs(path[:, 1] - 1.25) > 3.75)
    shown = path[:np.argmax(outside) + 1] if outside.any() else path   # up to leaving the view
    ax.plot(shown[:, 0], shown[:, 1], marker=".", label=f"η = {etas[name]:.3f} ({name})")
    ax2.semilogy(costs, marker=".", label=f"η = {etas[name]:.3f} ({name})")
ax.plot(2, 1, "r*", markersize=12)
ax.set_xlim(W.min(), W.max())
ax.set_ylim(B.min(), B.max())
ax.set_xlabel("w")
ax.set_ylabel("b")
ax.set_title("C(w, b) and the steps v → v − η∇C (eq. 11)")
ax.legend(fontsize=8)
ax2.set_xlabel("step")
ax2.set_ylabel("C(w, b)")
ax2.set_title("The cost after each step")
plt.show()

# %% [markdown]
# ## The [784, 30, 10] network
#
# *Book §"Implementing our network to classify digits".* The book's network: 784 inputs, 30
# sigmoid hidden neurons, 10 sigmoid outputs, quadratic cost, N(0, 1) initial weights and biases,
# stochastic gradient descent with minibatches of 10 and η = 3.0. The book reports about 95% on
# the test images after 30 epochs on the 50,000 training images.

# %%
mnist = nnlearn.data.load_mnist()
X_train, y_train = mnist.train[0][:S.images], mnist.train[1][:S.images]
X_test, y_test = mnist.test[0][:S.test_images], mnist.test[1][:S.test_images]
net = nnlearn.Network.from_sizes([784, 30, 10], cost="quadratic", weight_init="normal", seed=1)
history = net.fit(X_train, y_train, epochs=S.epochs, mini_batch_size=10, eta=3.0,
                  validation_data=(X_test, y_test))
accuracy = history["evaluation_accuracy"]
for record in history:
    print(f"Epoch {record['epoch']}: {record['evaluation_correct']} / {record['evaluation_total']}")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(range(1, len(accuracy) + 1), [100 * a for a in accuracy], marker=".")
ax.set_xlabel("epoch")
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"[784, 30, 10] on {S.images:,} images, η = 3.0")
plt.show()

predicted = np.asarray(net.predict(X_test[:12]))
fig, axes = plt.subplots(1, 12, figsize=(12, 1.6))
for ax, image, label, guess in zip(axes, X_test[:12], y_test[:12], predicted):
    ax.imshow(image.reshape(28, 28), cmap="Greys")
    ax.set_title(f"{guess}" + ("" if guess == label else f" ({label})"),
                 color="black" if guess == label else "red", fontsize=10)
    ax.axis("off")
fig.suptitle("The network's answers (the true label in brackets where it is wrong)", fontsize=10)
plt.show()
