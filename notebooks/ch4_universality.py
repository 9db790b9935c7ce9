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
# # Chapter 4: A visual proof that neural nets can compute any function
#
# A step from one sigmoid neuron, a bump from a pair of them, the book's function approximated by
# n bumps whose weights are set by hand (`nnlearn.examples.universality`), and then gradient descent
# fitting a network of the same shape, from random weights and from the hand-built ones.

# %%
import matplotlib.pyplot as plt
import numpy as np

import nnlearn
from nnlearn.examples import universality
from nnlearn.examples.notebooks import neuron, sizes

S = sizes(default=dict(pairs=(5, 10, 20, 50), fit_pairs=10, fit_epochs=2000, points=200),
          small=dict(pairs=(5, 10), fit_pairs=5, fit_epochs=30, points=50))
S

# %% [markdown]
# ## A step from one neuron
#
# *Book §"Universality with one input and one output".* The output σ(w x + b) of a sigmoid neuron
# with a large weight is nearly a step, located at s = −b/w (where w x + b = 0 and σ = ½). It rises
# from 10% to 90% over Δx = 2 ln 9 / w ≈ 4.39/w, so a larger w makes a sharper step.

# %%
s = 0.4
x = np.linspace(0.0, 1.0, 2001)[:, None]
rise = {}
fig, ax = plt.subplots(figsize=(7, 3))
for w in (10.0, 100.0, 1000.0):
    a = neuron(w, -w * s).predict_proba(x).ravel()
    rise[w] = float(x[np.argmax(a >= 0.9), 0] - x[np.argmax(a >= 0.1), 0])
    ax.plot(x, a, label=f"w = {w:g}, b = {-w * s:g}")
ax.axvline(s, color="grey", ls=":")
ax.set_xlabel("x")
ax.set_ylabel("σ(wx + b)")
ax.set_title("A step at s = −b/w = 0.4")
ax.legend(fontsize=8)
plt.show()
for w, width in rise.items():
    print(f"w = {w:6g}: output at s = {neuron(w, -w * s).predict_proba(np.array([[s]]))[0, 0]:.3f}; "
          f"10%→90% rise over Δx = {width:.4f} (2 ln 9 / w = {2 * np.log(9) / w:.4f})")

# %% [markdown]
# ## A bump from a pair
#
# Two steps, at s₁ = 0.4 and s₂ = 0.6, with output weights +h and −h: the hidden layer's weighted
# output h σ(w(x − s₁)) − h σ(w(x − s₂)) is a bump of height h on [s₁, s₂). The network is
# `Dense(1, 2) → Sigmoid → Dense(2, 1)`, its weights set by hand.

# %%
h, w = 0.8, 500.0
pair = nnlearn.Network([nnlearn.Dense(1, 2), nnlearn.Sigmoid(), nnlearn.Dense(2, 1)],
                       cost="quadratic", dtype="float64")
pair.layers[0].params["W"][...] = w
pair.layers[0].params["b"][...] = [-w * 0.4, -w * 0.6]
pair.layers[2].params["W"][:, 0] = [h, -h]
pair.layers[2].params["b"][...] = 0.0
bump = pair.predict_proba(x).ravel()
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(x, bump)
ax.set_xlabel("x")
ax.set_ylabel("weighted output")
ax.set_title(f"A bump of height h = {h} on [0.4, 0.6) from two neurons")
plt.show()
print(f"height inside the bump {bump[1000]:.4f}, outside {bump[200]:.4f} and {bump[1800]:.4f}")

# %% [markdown]
# ## n bumps approximate f
#
# *Book §"Universality with one input and one output", the function
# f(x) = 0.2 + 0.4x² + 0.3x sin(15x) + 0.05 cos(50x).* With [0, 1] cut into n pieces,
# bump j gets the height h_j = σ⁻¹(f(m_j)) at the piece's midpoint m_j (the book's output neuron
# is itself a sigmoid, so the bumps add up to σ⁻¹∘f). These are the heights the book's widget lets
# you drag. `universality.build(n)` is the `[1, 2n, 1]` network; the mean deviation |f − output|
# falls roughly as 1/n.

# %%
hand = universality.approximate(S.pairs)
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 3.5))
universality.draw(hand, ax)
ax.set_title("Hand-built bumps")
n = S.pairs[0]
heights = universality.logit(universality.f((np.arange(n) + 0.5) / n))
ax2.bar((np.arange(n) + 0.5) / n, heights, width=0.9 / n)
ax2.set_xlabel("x")
ax2.set_ylabel("h_j = σ⁻¹(f(m_j))")
ax2.set_title(f"The {n} heights of the {n}-pair network")
plt.show()
for pairs in hand["pairs"]:
    print(f"{pairs:3d} pairs ({2 * pairs:3d} hidden neurons): mean deviation "
          f"{hand['mean_deviation'][pairs]:.5f}")

# %% [markdown]
# ## Gradient descent fits the same network
#
# Now let `Network.fit` find the weights of a `[1, 2n, 1]` network (sigmoid hidden and output
# neurons, quadratic cost) from samples of f: once from random weights, once starting from the
# hand-built ones. Plain SGD needs a very long time here (the hidden steps must grow sharp), so
# both use nnlearn's Adam optimiser. Gradient descent does not build a staircase: it finds a
# smooth curve, better than the staircase for few neurons.

# %%
n = S.fit_pairs
xs = np.linspace(0.0, 1.0, S.points)[:, None]
ys = universality.f(xs)
grid, target = hand["x"][:, None], hand["f"]


def mean_deviation(net: nnlearn.Network) -> float:
    return float(np.mean(np.abs(net.predict_proba(grid).ravel() - target)))


fitted = {}
for name, net in [("random start", nnlearn.Network.from_sizes([1, 2 * n, 1], cost="quadratic",
                                                               dtype="float64", seed=1)),
                  ("hand-built start", universality.build(n))]:
    before = mean_deviation(net)
    history = net.fit(xs, ys, epochs=S.fit_epochs, mini_batch_size=20, optimizer="adam",
                      eta=0.03 if name == "random start" else 0.001, monitor=["training_cost"])
    fitted[name] = {"network": net, "before": before, "after": mean_deviation(net),
                    "cost": history["training_cost"]}
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 3.5))
ax.plot(grid, target, color="black", lw=2, label="f(x)")
ax.plot(grid, universality.build(n).predict_proba(grid), lw=1, label=f"hand-built, {n} pairs")
for name, result in fitted.items():
    ax.plot(grid, result["network"].predict_proba(grid), lw=1, label=f"fitted from the {name}")
    ax2.semilogy(range(1, len(result["cost"]) + 1), result["cost"], label=name)
ax.set_xlabel("x")
ax.legend(fontsize=8)
ax.set_title(f"[1, {2 * n}, 1]: built by hand and fitted")
ax2.set_xlabel("epoch")
ax2.set_ylabel("training cost")
ax2.legend(fontsize=8)
plt.show()
for name, result in fitted.items():
    print(f"{name:16s}: mean deviation {result['before']:.5f} → {result['after']:.5f} "
          f"after {S.fit_epochs} epochs of Adam")
