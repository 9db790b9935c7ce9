r"""Chapter 2, *How the backpropagation algorithm works*: backprop step by step on a [2, 3, 2]
network, one example, the quadratic cost (book §"The four fundamental equations")::

    zˡⱼ = Σₖ wˡⱼₖ aˡ⁻¹ₖ + bˡⱼ,  aˡⱼ = σ(zˡⱼ)          (eqs. 23, 25: the forward pass)
    δᴸⱼ = ∂C/∂aᴸⱼ · σ′(zᴸⱼ),  ∂C/∂aᴸⱼ = aᴸⱼ − yⱼ     (BP1, with C = ½‖y − aᴸ‖²)
    δˡⱼ = (Σₖ wˡ⁺¹ₖⱼ δˡ⁺¹ₖ) · σ′(zˡⱼ)                  (BP2)
    ∂C/∂bˡⱼ = δˡⱼ                                      (BP3)
    ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ                               (BP4)

Layers are numbered as in the book: 1 is the input, 2 the hidden layer, 3 the output.
Every value shown is nnlearn's: z and a from the layers' ``forward``, δ and the gradients
from ``Network.backward`` (δˡ is the Dense layer's ∂C/∂b for one example; the book's wˡⱼₖ
is our ``W[k, j]``). :func:`backprop` adds, for each number, the terms the equation above
combines (so the page can show which terms made it) and, beside each gradient, a central
finite difference (C(θ + h) − C(θ − h)) / 2h of ``Network.evaluate``'s cost.
"""

from __future__ import annotations

from typing import Any

import numpy

from nnlearn.checks import Integer
from nnlearn.nn.network import Network
from nnlearn.web.book import numbers
from nnlearn.web.validation import get, read

SIZES = (2, 3, 2)
FD_STEP = 1e-6
"""h of the finite differences (float64: their error is ~h² ≈ 1e-12 plus rounding ~1e-10)."""

_SUP, _SUB = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"), str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def symbol(name: str, layer: int, *indices: int) -> str:
    """``symbol("w", 2, 1, 3)`` → ``w²₁₃`` (the book's layer superscript, 1-based subscripts)."""
    return name + str(layer).translate(_SUP) + "".join(str(i).translate(_SUB) for i in indices)


def build(seed: int) -> Network:
    """The [2, 3, 2] sigmoid network with the quadratic cost, float64, weights from ``seed``."""
    return Network.from_sizes(list(SIZES), cost="quadratic", seed=seed, dtype="float64")


def backprop(body: dict[str, Any]) -> dict[str, Any]:
    """Forward and backward on one example. Body: ``x`` (two numbers in [−5, 5]), ``y`` (two
    numbers in [0, 1]), ``seed`` (0–9999, the initial weights)."""
    x = numbers("x", get(body, "x", [1.0, 0.5]), SIZES[0], -5.0, 5.0)
    y = numbers("y", get(body, "y", [1.0, 0.0]), SIZES[-1], 0.0, 1.0)
    seed = read(body, "seed", Integer(0, 9999), 1)
    net = build(seed)
    X, Y = numpy.array([x]), numpy.array([y])
    outputs = [X]                               # input, then each layer's output in turn
    for layer in net.layers:
        outputs.append(layer.forward(outputs[-1]))
    A = outputs[-1]
    cost = net.cost.value(A, Y)
    cost_gradient = net.cost.gradient(A, Y)[0]  # ∂C/∂aᴸ = aᴸ − y (one example)
    net.backward(A, Y)
    dense_layers, activations = net.layers[0::2], net.layers[1::2]
    # σ′(zˡ): each Sigmoid's backward applied to ones, before the finite differences below
    # run new forward passes (which replace the outputs the layers keep for backward)
    sigma_primes = [activation.backward(numpy.ones_like(outputs[2 * i + 2]), True)[0]
                    for i, activation in enumerate(activations)]
    layers, explain = [], {}
    for i, (dense, sigma_prime) in enumerate(zip(dense_layers, sigma_primes)):
        l = i + 2
        layers.append({
            "layer": l, "W": dense.params["W"].T.tolist(), "b": dense.params["b"].tolist(),
            "z": outputs[2 * i + 1][0].tolist(), "a": outputs[2 * i + 2][0].tolist(),
            "sigma_prime": sigma_prime.tolist(), "delta": dense.grads["b"].tolist(),
            "dC_db": dense.grads["b"].tolist(), "dC_dW": dense.grads["W"].T.tolist(),
            "fd_db": [finite_difference(net, X, Y, dense.params["b"], (j,))
                      for j in range(dense.params["b"].shape[0])],
            "fd_dW": [[finite_difference(net, X, Y, dense.params["W"], (k, j))
                       for k in range(dense.params["W"].shape[0])]
                      for j in range(dense.params["W"].shape[1])]})
    a_input = list(x)
    for i, layer in enumerate(layers):
        below = a_input if i == 0 else layers[i - 1]["a"]
        explain.update(forward_terms(layer, below))
        upper = layers[i + 1] if i + 1 < len(layers) else None
        explain.update(backward_terms(layer, below, upper, cost_gradient.tolist(), y))
    return {"sizes": list(SIZES), "x": x, "y": y, "seed": seed, "cost": cost,
            "cost_gradient": cost_gradient.tolist(), "layers": layers, "explain": explain,
            "code": backprop_code(x, y, seed)}


def finite_difference(net: Network, X, Y, param: numpy.ndarray, index: tuple[int, ...]) -> float:
    """(C(θ + h) − C(θ − h)) / 2h for the entry ``index`` of ``param`` (restored afterwards)."""
    saved = float(param[index])
    param[index] = saved + FD_STEP
    plus = net.evaluate(X, Y)["cost"]
    param[index] = saved - FD_STEP
    minus = net.evaluate(X, Y)["cost"]
    param[index] = saved
    return (plus - minus) / (2 * FD_STEP)


def _num(v: float) -> str:
    return f"({v:.4g})" if v < 0 else f"{v:.4g}"


def forward_terms(layer: dict[str, Any], below: list[float]) -> dict[str, dict[str, Any]]:
    """What makes each zˡⱼ (a sum, eq. 25) and aˡⱼ (σ of it, eq. 23)."""
    l, out = layer["layer"], {}
    for j, (row, b, z, a) in enumerate(zip(layer["W"], layer["b"], layer["z"], layer["a"]), 1):
        terms = [[f"{symbol('w', l, j, k)}·{symbol('a', l - 1, k)}", w * a_k]
                 for k, (w, a_k) in enumerate(zip(row, below), 1)] + [[symbol("b", l, j), b]]
        out[f"z{l}_{j}"] = {
            "symbol": symbol("z", l, j), "value": z, "equation": "eq. (25): zˡⱼ = Σₖ wˡⱼₖ aˡ⁻¹ₖ + bˡⱼ",
            "combine": "sum", "terms": terms,
            "expression": " + ".join(f"{_num(w)}·{_num(a_k)}" for w, a_k in zip(row, below))
                          + f" + {_num(b)}"}
        out[f"a{l}_{j}"] = {
            "symbol": symbol("a", l, j), "value": a, "equation": "eq. (23): aˡⱼ = σ(zˡⱼ)",
            "combine": "sigmoid", "terms": [[symbol("z", l, j), z]],
            "expression": f"σ({z:.4g}) = 1/(1 + e^−({z:.4g}))"}
    return out


def backward_terms(layer: dict[str, Any], below: list[float], upper: dict[str, Any] | None,
                   cost_gradient: list[float], y: list[float]) -> dict[str, dict[str, Any]]:
    """What makes each δˡⱼ (BP1 or BP2), ∂C/∂bˡⱼ (BP3) and ∂C/∂wˡⱼₖ (BP4)."""
    l, out = layer["layer"], {}
    for j, (delta, sp) in enumerate(zip(layer["delta"], layer["sigma_prime"]), 1):
        sigma_prime = [f"σ′({symbol('z', l, j)})", sp]
        if upper is None:   # BP1
            out[f"delta{l}_{j}"] = {
                "symbol": symbol("δ", l, j), "value": delta, "combine": "product",
                "equation": "BP1: δᴸⱼ = ∂C/∂aᴸⱼ · σ′(zᴸⱼ), ∂C/∂aᴸⱼ = aᴸⱼ − yⱼ",
                "terms": [[f"{symbol('a', l, j)} − y{str(j).translate(_SUB)}", cost_gradient[j - 1]],
                          sigma_prime],
                "expression": f"({_num(layer['a'][j - 1])} − {_num(y[j - 1])}) · {_num(sp)}"}
        else:               # BP2
            parts = [[f"{symbol('w', l + 1, k, j)}·{symbol('δ', l + 1, k)}", row[j - 1] * d]
                     for k, (row, d) in enumerate(zip(upper["W"], upper["delta"]), 1)]
            total = sum(v for _, v in parts)
            out[f"delta{l}_{j}"] = {
                "symbol": symbol("δ", l, j), "value": delta, "combine": "product",
                "equation": "BP2: δˡⱼ = (Σₖ wˡ⁺¹ₖⱼ δˡ⁺¹ₖ) · σ′(zˡⱼ)",
                "terms": [[f"Σₖ {symbol('w', l + 1)}ₖ{str(j).translate(_SUB)}·{symbol('δ', l + 1)}ₖ",
                           total], sigma_prime],
                "parts": parts,
                "expression": "(" + " + ".join(f"{_num(row[j - 1])}·{_num(d)}" for row, d in
                                               zip(upper["W"], upper["delta"])) + f") · {_num(sp)}"}
        out[f"db{l}_{j}"] = {
            "symbol": f"∂C/∂{symbol('b', l, j)}", "value": layer["dC_db"][j - 1],
            "fd": layer["fd_db"][j - 1], "combine": "product", "equation": "BP3: ∂C/∂bˡⱼ = δˡⱼ",
            "terms": [[symbol("δ", l, j), delta]], "expression": _num(delta)}
        for k, a_k in enumerate(below, 1):
            out[f"dw{l}_{j}_{k}"] = {
                "symbol": f"∂C/∂{symbol('w', l, j, k)}", "value": layer["dC_dW"][j - 1][k - 1],
                "fd": layer["fd_dW"][j - 1][k - 1], "combine": "product",
                "equation": "BP4: ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ",
                "terms": [[symbol("a", l - 1, k), a_k], [symbol("δ", l, j), delta]],
                "expression": f"{_num(a_k)} · {_num(delta)}"}
    return out


def backprop_code(x: list[float], y: list[float], seed: int) -> str:
    """A script that reproduces :func:`backprop`'s z, a, δ and gradients."""
    return f'''"""Book ch. 2, backprop step by step: the [2, 3, 2] sigmoid network, quadratic cost, one
example x = {x!r}, y = {y!r}. Written by nnlearn serve."""
import numpy as np
import nnlearn

net = nnlearn.Network.from_sizes([2, 3, 2], cost="quadratic", seed={seed}, dtype="float64")
X, Y = np.array([{x!r}]), np.array([{y!r}])
outputs = [X]
for layer in net.layers:                  # Dense, Sigmoid, Dense, Sigmoid
    outputs.append(layer.forward(outputs[-1]))
net.backward(outputs[-1], Y)              # BP1, then BP2 down the layers, writing BP3 and BP4
for l, dense in zip((2, 3), net.layers[0::2]):
    z, a = outputs[2 * l - 3][0], outputs[2 * l - 2][0]
    print(f"layer {{l}}: z = {{z}}, a = {{a}}")
    print(f"  delta = dC/db = {{dense.grads['b']}}")       # BP3 (one example)
    print(f"  dC/dw (the book's w is our W.T) =\\n{{dense.grads['W'].T}}")  # BP4
print("cost", net.evaluate(X, Y)["cost"])
'''
