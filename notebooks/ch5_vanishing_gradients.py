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
# # Chapter 5: Why are deep neural networks hard to train?
#
# The speed of learning of each hidden layer of `[784, 30, 30, 30, 10]`, measured as the book
# does, for the book's sigmoid network, for ReLU neurons with the same initial weights, and for
# ReLU neurons with a better initialisation. The measurements are `nnlearn.examples.vanishing`'s.

# %%
import matplotlib.pyplot as plt
import numpy as np

from nnlearn.data import load_mnist
from nnlearn.examples import vanishing
from nnlearn.examples.notebooks import sizes

S = sizes(default=dict(images=1000, epochs=30), small=dict(images=200, epochs=2))
S

# %% [markdown]
# ## The speed of learning of each layer
#
# *Book §"The vanishing gradient problem".* The speed of learning of hidden layer l is
# ‖∂C/∂bˡ‖ = ‖δˡ‖ (BP3), the gradient of the cost (the mean over the images) with respect to the
# layer's biases. By BP2, δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ): each layer further back multiplies by a
# weight matrix and by σ' ≤ ¼ (§"What's causing the vanishing gradient problem?"), so in a sigmoid
# network the gradient shrinks towards the input. A ReLU has slope 1 wherever it is active;
# with He's initial weights, N(0, 2/n_in), the z's keep their size from layer to layer.
#
# Set-up as the book's: cross-entropy cost, a sigmoid output layer, minibatches of 10, η = 0.1,
# trained on the first 1,000 MNIST training images; the norms are taken over the same images at
# initialisation and after every epoch.

# %%
sizes_ = (784, 30, 30, 30, 10)
data = load_mnist().train
setups = {
    "sigmoid, N(0, 1/n_in) (the book)": dict(activation="sigmoid", weight_init="normal_fan_in",
                                              bias_init="normal"),
    "ReLU, N(0, 1/n_in)": dict(activation="relu", weight_init="normal_fan_in", bias_init="normal"),
    "ReLU, He N(0, 2/n_in), zero biases": dict(activation="relu", weight_init="he",
                                                bias_init="zeros"),
}
results = {name: vanishing.measure(n=S.images, epochs=S.epochs, sizes=sizes_, data=data, **setup)
           for name, setup in setups.items()}
print(f"‖δˡ‖ per hidden layer at initialisation, over {S.images:,} images")
for name, result in results.items():
    hidden = result["norms"][0, :-1]
    print(f"  {name:36s} " + "  ".join(f"{v:.4f}" for v in hidden) +
          f"   layer 3 / layer 1 = {hidden[-1] / hidden[0]:.1f}")

# %% [markdown]
# At initialisation, as bars (log scale): one group per set-up, one bar per hidden layer.

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
width = 0.25
for layer in range(len(sizes_) - 2):
    heights = [result["norms"][0, layer] for result in results.values()]
    ax.bar(np.arange(len(results)) + (layer - 1) * width, heights, width,
           label=f"hidden layer {layer + 1}")
ax.set_xticks(np.arange(len(results)))
ax.set_xticklabels(list(results), fontsize=8)
ax.set_yscale("log")
ax.set_ylabel("‖δˡ‖ = ‖∂C/∂bˡ‖")
ax.set_title("The speed of learning of each hidden layer at initialisation")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# And as the networks train: each panel is one set-up, one line per hidden layer.

# %%
fig, axes = plt.subplots(1, len(results), figsize=(14, 3.5), sharey=True)
for ax, (name, result) in zip(axes, results.items()):
    vanishing.draw(result, ax)
    ax.set_title(name, fontsize=9)
plt.show()
for name, result in results.items():
    ratio = result["norms"][:, -2] / result["norms"][:, 0]
    print(f"{name:36s}: layer 3 learns {np.median(ratio):6.1f}× as fast as layer 1 (median over "
          f"the epochs); training accuracy after {S.epochs} epochs {100 * result['accuracy'][-1]:.1f}%")
