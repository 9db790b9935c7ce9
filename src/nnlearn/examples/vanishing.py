r"""The vanishing gradient problem: early layers of a deep sigmoid net learn slower (book ch. 5).

The book measures the *speed of learning* of hidden layer l by the length of its
bias gradient, ``‖∂C/∂bˡ‖ = ‖δˡ‖`` (BP3: ∂C/∂b_j = δ_j), averaged over training
examples. By BP2, ``δˡ = (δˡ⁺¹ Wˡ⁺¹ᵀ) ⊙ σ'(zˡ)``: every layer we go back multiplies
by a weight matrix and by ``σ' ≤ 1/4``, so with weights of order 1 the gradient
shrinks geometrically towards the input. For ``[784, 30, 30, 30, 30, 10]`` the book
reports, at initialisation, 0.003, 0.017, 0.070 and 0.285 for hidden layers 1–4.

Set-up as in the book's ``generate_gradient.py``: cross-entropy cost, sigmoid
everywhere, weights N(0, 1/n_in), biases N(0, 1); the gradient is the mean over
the first ``n`` MNIST training images (full batch); training is minibatch SGD
(m = 10, η = 0.1) on the same ``n`` images, recording the norms after each epoch.

Run: ``python -m nnlearn.examples.vanishing`` (or ``nnlearn example vanishing``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

import numpy

from nnlearn.examples._common import no_matplotlib, pyplot, save_figure

SIZES = (784, 30, 30, 30, 30, 10)


def bias_gradient_norms(net, X, Y) -> list[float]:
    r"""``‖∂C/∂b‖`` of every ``Dense`` layer (first to last), C the mean cost over ``(X, Y)``.

    One full-batch ``forward``/``backward``; ``Y`` are the cost's targets (N, K).
    """
    from nnlearn import backend
    from nnlearn.nn.layers.dense import Dense

    xp = backend.xp
    net.backward(net.forward(X, True), Y)
    return [float(xp.linalg.norm(layer.grads["b"])) for layer in net.layers
            if isinstance(layer, Dense)]


def measure(*, n: int = 1000, epochs: int = 30, sizes: Sequence[int] = SIZES, eta: float = 0.1,
            mini_batch_size: int = 10, seed: int = 0, data=None, activation: str = "sigmoid",
            weight_init: str = "normal_fan_in", bias_init: str = "normal") -> dict[str, Any]:
    r"""Per-layer ``‖∂C/∂b‖`` at initialisation and after each of ``epochs`` epochs.

    ``data`` is an ``(X, y)`` pair of flattened MNIST images (default: the first
    ``n`` of the book's training split). ``activation``, ``weight_init`` and
    ``bias_init`` are the hidden layers' (default: the book's sigmoid, N(0, 1/n_in),
    N(0, 1)); the output stays a sigmoid under the cross-entropy. Returns ``{"sizes",
    "norms": (epochs + 1, L) array, row 0 at initialisation, one column per Dense layer
    (the last is the output layer), "accuracy": training accuracy after each epoch}``.
    """
    from nnlearn import Network

    if data is None:
        from nnlearn.data import load_mnist
        data = load_mnist().train
    X, y = data[0][:n], data[1][:n]
    net = Network.from_sizes(list(sizes), activation=activation, cost="cross_entropy",
                             weight_init=weight_init, bias_init=bias_init, seed=seed)
    Xc = net.check_inputs(X)
    Y = net.targets(y, Xc.shape[0])
    norms = [bias_gradient_norms(net, Xc, Y)]
    accuracy: list[float] = []

    def record(_):
        norms.append(bias_gradient_norms(net, Xc, Y))
        accuracy.append(net.evaluate(Xc, y)["accuracy"])

    if epochs:
        net.fit(Xc, y, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, monitor=(),
                callbacks=[record])
    return {"sizes": list(sizes), "norms": numpy.array(norms), "accuracy": accuracy}


def plot(result: dict[str, Any], path: str) -> str | None:
    """Hidden layers' gradient norms per epoch, log scale (PNG); ``None`` without matplotlib."""
    plt = pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    draw(result, ax)
    ax.set_title(f"Vanishing gradient in {result['sizes']} (sigmoid, cross-entropy)")
    return str(save_figure(fig, path))


def draw(result: dict[str, Any], ax) -> None:
    """The hidden layers' ``‖∂C/∂b‖`` per epoch on the matplotlib axes ``ax`` (log scale)."""
    norms = result["norms"][:, :-1]
    for layer in range(norms.shape[1]):
        ax.plot(range(norms.shape[0]), norms[:, layer], marker=".", label=f"hidden layer {layer + 1}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch (0 = initialisation)")
    ax.set_ylabel("‖∂C/∂b‖ (speed of learning)")
    ax.legend(fontsize=8)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlearn.examples.vanishing",
                                     description="Speed of learning per layer of a deep sigmoid net.")
    parser.add_argument("-n", "--examples", type=int, default=1000,
                        help="MNIST training images used (default: 1000, as the book)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of training (default: 30)")
    parser.add_argument("--eta", type=float, default=0.1, help="learning rate η (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="vanishing.png", help="PNG to write (default: %(default)s)")
    parser.add_argument("--no-plot", action="store_true", help="write no figure")
    args = parser.parse_args(argv)
    if args.examples < 1 or args.epochs < 0 or not args.eta > 0:
        parser.error("--examples and --eta must be positive, --epochs non-negative")
    result = measure(n=args.examples, epochs=args.epochs, eta=args.eta, seed=args.seed)
    norms = result["norms"]
    hidden = norms.shape[1] - 1
    print(f"{result['sizes']} sigmoid, cross-entropy; ‖∂C/∂b‖ per hidden layer over "
          f"{args.examples} MNIST images (book at initialisation: 0.003 0.017 0.070 0.285)")
    print("  epoch  " + "  ".join(f"layer {k + 1:d}" for k in range(hidden)) + "   train acc")
    for epoch, row in enumerate(norms):
        if epoch == 0 or epoch % max(1, len(norms) // 10) == 0 or epoch == len(norms) - 1:
            acc = f"{100 * result['accuracy'][epoch - 1]:8.1f}%" if epoch else "        -"
            print(f"  {epoch:5d}  " + "  ".join(f"{v:7.4f}" for v in row[:-1]) + f"   {acc}")
    ratio = norms[:, hidden - 1] / norms[:, 0]
    print(f"last/first hidden layer: {ratio[0]:.0f}x at initialisation, "
          f"{numpy.median(ratio):.0f}x median over the run")
    if not args.no_plot:
        path = plot(result, args.plot)
        print(f"wrote {path}") if path else no_matplotlib("vanishing-gradient plot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
