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
# # Chapter 3: Improving the way neural networks learn
#
# The learning slowdown of one sigmoid neuron under the quadratic cost and its cure by the
# cross-entropy; the softmax; overfitting on 1,000 MNIST images and two regularisers (L2 and
# dropout). Every curve comes from nnlearn's `Network.fit` or `Trainer`.

# %%
import matplotlib.pyplot as plt
import numpy as np

import nnlearn
from nnlearn.examples.notebooks import neuron, sizes
from nnlearn.experiments.config.files import load_preset, resolve
from nnlearn.experiments.runs.builder import prepare

S = sizes(default=dict(neuron_epochs=300, overfit_epochs=400, train_images=1000,
                       validation_images=10_000),
          small=dict(neuron_epochs=300, overfit_epochs=3, train_images=200,
                     validation_images=500))
S

# %% [markdown]
# ## One neuron, learning slowly (the quadratic cost)
#
# *Book §"The cross-entropy cost function", eqs. (54)–(56).* One sigmoid neuron with one input
# is taught to output 0 for the input 1, by gradient descent on C = (y − a)²/2 with η = 0.15.
# Its gradients are ∂C/∂w = (a − y) σ'(z) x and ∂C/∂b = (a − y) σ'(z): when the neuron starts
# badly wrong, at (w, b) = (2, 2) with a ≈ 0.98, σ'(z) is tiny and it hardly moves for the first
# hundred epochs; from (0.6, 0.9), a ≈ 0.82, it learns at once.

# %%
x_one, y_zero = np.array([[1.0]]), np.array([[0.0]])


def learn(w: float, b: float, cost: str, eta: float) -> dict:
    """Train the neuron with Network.fit; its cost and output before and after every epoch."""
    net = neuron(w, b, "sigmoid", cost)     # Dense(1, 1) + Sigmoid, weight w and bias b
    outputs = [float(net.predict_proba(x_one)[0, 0])]
    first_cost = net.evaluate(x_one, y_zero)["cost"]
    history = net.fit(x_one, y_zero, epochs=S.neuron_epochs, mini_batch_size=1, eta=eta,
                      monitor=["training_cost"],
                      callbacks=[lambda record: outputs.append(float(net.predict_proba(x_one)[0, 0]))])
    return {"cost": [first_cost] + history["training_cost"], "output": outputs}


starts = [(0.6, 0.9), (2.0, 2.0)]
runs = {("quadratic", start): learn(*start, "quadratic", 0.15) for start in starts}


def show(cost: str, eta: float, equation: str) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    for ax, start in zip(axes, starts):
        run = runs[(cost, start)]
        ax.plot(run["cost"])
        ax.set_title(f"{cost} cost, (w, b) = {start}, η = {eta} ({equation})", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("cost")
    plt.show()
    for start in starts:
        run = runs[(cost, start)]
        print(f"{cost:13s} from (w, b) = {start}: output {run['output'][0]:.2f} → "
              f"{run['output'][-1]:.2f}; cost {run['cost'][0]:.4f} → {run['cost'][-1]:.6f} "
              f"after {S.neuron_epochs} epochs (cost after 50: {run['cost'][50]:.4f})")


show("quadratic", 0.15, "eq. 54")

# %% [markdown]
# ## The same neuron with the cross-entropy cost
#
# *Book eqs. (57), (61) and (62).* With C = −[y ln a + (1 − y) ln(1 − a)] the σ'(z) cancels:
# ∂C/∂w = x (a − y) and ∂C/∂b = a − y, so the neuron learns fastest when it is most wrong. The book
# uses η = 0.005 here: compare the shapes of the curves, not the speeds.

# %%
runs.update({("cross_entropy", start): learn(*start, "cross_entropy", 0.005) for start in starts})
show("cross_entropy", 0.005, "eq. 57")

# %% [markdown]
# ## Softmax
#
# *Book §"Softmax", eqs. (78)–(79):* aᴸ_j = e^(zᴸ_j) / Σ_k e^(zᴸ_k). The outputs are positive and
# sum to 1; raising one z raises its own a and lowers all the others. nnlearn's `Softmax` layer
# on four weighted inputs, the last one swept from −5 to 5 (the book's slider):

# %%
z_fixed = np.array([2.5, -1.0, 3.2])
z_4 = np.linspace(-5.0, 5.0, 201)
Z = np.column_stack([np.tile(z_fixed, (len(z_4), 1)), z_4])
A = nnlearn.Softmax().forward(Z)
fig, ax = plt.subplots(figsize=(7, 3.2))
for j in range(4):
    fixed = " (its own z swept)" if j == 3 else f", z_{j + 1} = {Z[0, j]:g}"
    ax.plot(z_4, A[:, j], label=f"a_{j + 1}{fixed}")
ax.set_xlabel("z_4")
ax.set_ylabel("softmax output")
ax.set_title("Eq. (78): raising z_4 raises a_4 and lowers every other output")
ax.legend(fontsize=8)
plt.show()
softmax_at = {float(z): A[np.argmin(np.abs(z_4 - z))] for z in (-2.0, 0.0, 2.0)}
for z, a in softmax_at.items():
    print(f"z_4 = {z:+.0f}: a = {a.round(4)}, Σ a = {a.sum():.4f}")
print(f"largest |Σ_j a_j − 1| over the sweep: {np.abs(A.sum(axis=1) - 1).max():.1e}")

# %% [markdown]
# ## Overfitting, and two regularisers
#
# *Book §"Overfitting and regularization" and §"Regularization", eq. (87):
# C = C₀ + (λ/2n) Σ_w w².* The book's overfitting run (shipped as the preset `ch3-overfit`):
# `[784, 30, 10]`, cross-entropy, N(0, 1) weights, η = 0.5, minibatches of 10, trained on only
# 1,000 images. The training cost keeps falling while the accuracy on held-out images stops
# improving early: the network learns the peculiarities of its 1,000 images. Then the same run
# with L2 regularisation, λ = 0.1 (preset `ch3-overfit-l2`), and with dropout (§"Dropout") of 20%
# of the hidden neurons (with only 30 of them, the book's 50% leaves too few).
#
# Each run is assembled from the preset by `prepare` (`nnlearn.experiments.runs.builder`), as
# `nnlearn train --preset` assembles it, and trained by a `Trainer`.

# %%
def overfit_run(preset: str, **overrides) -> nnlearn.History:
    cfg = resolve(load_preset(preset), overrides={
        "training.epochs": S.overfit_epochs, "training.seed": 1, "data.train_size": S.train_images,
        "data.validation_size": S.validation_images, **overrides})
    run = prepare(cfg)
    options = {**run.options, "monitor": ["training_cost", "evaluation_accuracy"]}
    trainer = nnlearn.Trainer(run.network, *run.train, validation_data=run.validation, **options)
    return trainer.run()


overfit = {"no regularisation": overfit_run("ch3-overfit"),
           "L2, λ = 0.1": overfit_run("ch3-overfit-l2"),
           "dropout 0.2": overfit_run("ch3-overfit", **{"regularization.dropout": 0.2})}
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
for name, history in overfit.items():
    ax.plot(range(1, len(history) + 1), history["training_cost"], label=name)
    ax2.plot(range(1, len(history) + 1), [100 * a for a in history["evaluation_accuracy"]], label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("training cost (with the L2 term)")
ax.set_yscale("log")
ax2.set_xlabel("epoch")
ax2.set_ylabel(f"accuracy on {S.validation_images:,} held-out images (%)")
ax.legend(fontsize=8)
ax2.legend(fontsize=8)
plt.show()
for name, history in overfit.items():
    accuracy = history["evaluation_accuracy"]
    best = int(np.argmax(accuracy))
    cost = history["training_cost"]
    print(f"{name:18s}: training cost {cost[0]:.3f} → {cost[-1]:.3f}; "
          f"held-out accuracy best {100 * accuracy[best]:.2f}% (epoch {best + 1}), "
          f"last {100 * accuracy[-1]:.2f}%")
