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
# # Chapter 2: How the backpropagation algorithm works
#
# Backpropagation step by step on a tiny `[2, 3, 2]` network (sigmoid neurons, quadratic cost,
# float64): the forward values, then δᴸ (BP1), δˡ (BP2), ∂C/∂b (BP3) and ∂C/∂w (BP4), each
# computed by nnlearn's own layers, each gradient beside a finite-difference estimate of it.
#
# **Notation.** nnlearn works on a batch of row vectors: a layer computes `Z = A @ W + b` with `W`
# of shape (inputs, outputs), so nnlearn's `W` is the book's wˡ transposed (`W[k, j]` = w_jk) and
# the book's column-vector equations read as row-vector products here.

# %%
import numpy as np

import nnlearn
from nnlearn.examples.notebooks import sizes
from nnlearn.nn.gradcheck import numerical_gradient, relative_error

S = sizes(default=dict(seed=2), small=dict(seed=2))  # the network is tiny at every size
np.set_printoptions(precision=6, suppress=True)

net = nnlearn.Network.from_sizes([2, 3, 2], cost="quadratic", dtype="float64", seed=S.seed)
dense1, sigmoid1, dense2, sigmoid2 = net.layers
x = np.array([[0.7, -0.4]])   # one training input a⁰ = x ...
y = np.array([[1.0, 0.0]])    # ... and its desired output
print(net)

# %% [markdown]
# ## The forward pass
#
# *Book §"The four fundamental equations behind backpropagation", eq. (25):*
# zˡ = wˡ aˡ⁻¹ + bˡ and aˡ = σ(zˡ). Each line is one nnlearn layer's `forward`.

# %%
z1 = dense1.forward(x, True)       # z¹ = a⁰ W¹ + b¹
a1 = sigmoid1.forward(z1, True)    # a¹ = σ(z¹)
z2 = dense2.forward(a1, True)      # z² = a¹ W² + b²
a2 = sigmoid2.forward(z2, True)    # a² = σ(z²), the output aᴸ
cost = net.cost.value(a2, y)       # C = ½‖aᴸ − y‖²
for name, value in [("z¹", z1), ("a¹", a1), ("z²", z2), ("a² = aᴸ", a2)]:
    print(f"{name:8s} = {value.ravel()}")
print(f"C = ½‖aᴸ − y‖² = {cost:.6f}")


def sigmoid_prime(z):
    """σ'(z) = σ(z)(1 − σ(z)), written out for the hand checks below."""
    s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 - s)


def cost_of_network() -> float:
    """C as a function of the network's current parameters, for the finite differences."""
    return net.cost.value(net.forward(x), y)


def beside(name: str, analytic, parameter) -> float:
    """Print a gradient beside its central-difference estimate; return their relative error."""
    numeric = numerical_gradient(cost_of_network, parameter)
    error = relative_error(analytic, numeric)
    print(f"{name}\n  backprop           {np.ravel(analytic)}\n"
          f"  finite difference  {np.ravel(numeric)}\n  relative error     {error:.1e}")
    return error


errors = {}

# %% [markdown]
# ## δᴸ, the output error (BP1)
#
# *Book §"The four fundamental equations behind backpropagation", BP1:* δᴸ = ∇ₐC ⊙ σ'(zᴸ).
# nnlearn splits it in two: the cost gives ∇ₐC = aᴸ − y (`Network.output_error`; it would give δᴸ
# itself for a cost fused with its output layer, such as cross-entropy after sigmoids), and the
# output `Sigmoid` layer's `backward` multiplies by σ'(zᴸ).

# %%
grad_a = net.output_error(a2, y)          # ∇ₐC = (aᴸ − y) for one example
delta2 = sigmoid2.backward(grad_a)        # δᴸ = ∇ₐC ⊙ σ'(zᴸ)            (BP1)
by_hand = (a2 - y) * sigmoid_prime(z2)
print(f"∇ₐC               = {grad_a.ravel()}")
print(f"δ² (Sigmoid layer) = {delta2.ravel()}")
print(f"(a² − y) ⊙ σ'(z²)  = {by_hand.ravel()}   (BP1 by hand)")

# %% [markdown]
# ## ∂C/∂b² and ∂C/∂w² (BP3, BP4)
#
# *Book §"The four fundamental equations…", BP3:* ∂C/∂bˡ_j = δˡ_j. *BP4:* ∂C/∂wˡ_jk = aˡ⁻¹_k δˡ_j,
# in nnlearn's layout ∂C/∂W = aˡ⁻¹ᵀ δˡ. `Dense.backward(δˡ)` writes both into the layer's `grads`
# and returns δˡ Wˡᵀ, the first half of BP2. Because ∂C/∂b = δ, the finite difference of the bias
# checks δ² itself.

# %%
carried = dense2.backward(delta2)         # writes ∂C/∂b², ∂C/∂W²; returns δ² W²ᵀ
errors["b2"] = beside("∂C/∂b² = δ² (BP3)", dense2.grads["b"], dense2.params["b"])
errors["W2"] = beside("∂C/∂W² = a¹ᵀ δ² (BP4), as a 3 × 2 matrix", dense2.grads["W"], dense2.params["W"])
print("a¹ᵀ δ² by hand:\n", a1.T @ delta2)

# %% [markdown]
# ## δ¹, the error carried back (BP2)
#
# *Book §"The four fundamental equations…", BP2:* δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ), here
# (δ² W²ᵀ) ⊙ σ'(z¹): the `Dense` layer above did the product, the `Sigmoid` layer's `backward`
# does the ⊙ σ'(z¹). One entry written out with its terms: δ¹_j = (Σ_k w²_kj δ²_k) σ'(z¹_j), the
# sum running over the two output neurons.

# %%
delta1 = sigmoid1.backward(carried)       # δ¹ = (δ² W²ᵀ) ⊙ σ'(z¹)       (BP2)
print(f"δ¹ (Sigmoid layer)     = {delta1.ravel()}")
print(f"(δ² W²ᵀ) ⊙ σ'(z¹) by hand = {((delta2 @ dense2.params['W'].T) * sigmoid_prime(z1)).ravel()}")
j = 0
terms = [dense2.params["W"][j, k] * delta2[0, k] for k in range(2)]
print(f"δ¹_{j} = ({' + '.join(f'{t:.6f}' for t in terms)}) × σ'(z¹_{j}) = "
      f"{sum(terms):.6f} × {sigmoid_prime(z1[0, j]):.6f} = {sum(terms) * sigmoid_prime(z1[0, j]):.6f}")

# %% [markdown]
# ## ∂C/∂b¹ and ∂C/∂w¹ (BP3, BP4 again)

# %%
dense1.backward(delta1, False)            # the first layer's ∂C/∂x is not needed
errors["b1"] = beside("∂C/∂b¹ = δ¹ (BP3)", dense1.grads["b"], dense1.params["b"])
errors["W1"] = beside("∂C/∂W¹ = a⁰ᵀ δ¹ (BP4), as a 2 × 3 matrix", dense1.grads["W"], dense1.params["W"])

# %% [markdown]
# ## The same, in one call
#
# *Book §"The backpropagation algorithm" and §"The code for backpropagation".*
# `Network.backward(A, Y)` runs exactly these steps (`output_error`, then each layer's `backward`
# in reverse); `nnlearn.gradcheck` compares every gradient of the network with central
# differences. Both agree with the step-by-step values above.

# %%
gradients = [("b1", dense1, "b"), ("W1", dense1, "W"), ("b2", dense2, "b"), ("W2", dense2, "W")]
step_by_step = {name: layer.grads[key].copy() for name, layer, key in gradients}
net.backward(net.forward(x, True), y)
for name, layer, key in gradients:
    assert np.array_equal(layer.grads[key], step_by_step[name]), name
print("Network.backward gives the same four gradients, bit for bit")
check = nnlearn.gradcheck(net, x, y)
print(check)
print(f"largest relative error beside the four gradients: {max(errors.values()):.1e}")
