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
# # Chapter 6: Deep learning (convolutional networks)
#
# The first four rungs of the book's chapter-6 ladder, from a fully connected network to two
# convolution-pooling layers with ReLUs, trained at small sizes so that each takes seconds; then
# what the first convolutional layer learned: its filters, before and after training, and the
# feature maps it makes of one digit. `nnlearn reproduce ch6` runs the full ladder at the book's
# sizes (60 epochs on 50,000 images each).

# %%
import matplotlib.pyplot as plt
import numpy as np

import nnlearn
from nnlearn.examples.notebooks import sizes
from nnlearn.experiments.config.files import load_preset, resolve
from nnlearn.experiments.runs.builder import prepare
from nnlearn.experiments.reproduce import ch6

S = sizes(default=dict(train_images=10_000, validation_images=2_000, test_images=10_000, epochs=2),
          small=dict(train_images=300, validation_images=300, test_images=300, epochs=1))
S

# %% [markdown]
# ## The rungs (a)–(d)
#
# *Book §"Convolutional neural networks in practice".* Each rung is a shipped preset, assembled
# by `prepare` (`nnlearn.experiments.runs.builder`), as `nnlearn train --preset NAME` does
# (the same function), with the number of training images and epochs cut down (the book: 50,000 images,
# 60 epochs). Convolution is *Book §"Introducing convolutional networks"*: feature map j of a layer computes
# σ(b_j + Σ_l Σ_m w_{j,l,m} a_{x+l, y+m}) over a 5 × 5 local receptive field, with the same
# shared weights and bias at every position; max-pooling keeps the largest of each 2 × 2 block.

# %%
rungs = [rung for rung in ch6.LADDER if rung[0] in "abcd"]
networks, table = {}, []
for key, label, book, preset in rungs:
    cfg = resolve(load_preset(preset), overrides={
        "data.train_size": S.train_images, "data.validation_size": S.validation_images,
        "training.epochs": S.epochs, "training.seed": 1})
    run = prepare(cfg)
    net, test = run.network, run.test
    options = {**run.options, "monitor": ["evaluation_accuracy"]}
    history = nnlearn.Trainer(net, *run.train, validation_data=run.validation, **options).run()
    test_accuracy = net.evaluate(test[0][:S.test_images], test[1][:S.test_images])["accuracy"]
    networks[key] = net
    table.append((label, book, history["evaluation_accuracy"][-1], test_accuracy))
    print(f"{label}: test accuracy {100 * test_accuracy:.2f}%")

# %%
print(f"{'rung':58s} {'book (60 epochs)':>16s} {'validation':>11s} {'test':>8s}")
for label, book, validation_accuracy, test_accuracy in table:
    print(f"{label:58s} {book:15.2f}% {100 * validation_accuracy:10.2f}% {100 * test_accuracy:7.2f}%")
print(f"(here: {S.train_images:,} training images, {S.epochs} epoch(s) per rung)")

# %% [markdown]
# With a few epochs instead of 60 the ladder is not yet the book's: the two sigmoid
# convolution-pooling layers of (c) start slowly (chapter 5's vanishing gradient, two layers
# deeper than (b)), while the ReLUs of (d) learn at once.

# %% [markdown]
# ## The first layer's filters
#
# The 20 shared 5 × 5 weight sets of rung (b)'s convolutional layer, as the book shows them
# (§"Introducing convolutional networks": darker is a larger weight). Before training they are
# noise; after it, some have become stroke and edge detectors. The network's random start is
# rebuilt from the same seed.

# %%
cfg_b = resolve(load_preset("ch6-conv1"), overrides={
    "data.train_size": S.train_images, "data.validation_size": S.validation_images,
    "training.epochs": S.epochs, "training.seed": 1})
untrained = prepare(cfg_b).network
conv_b = networks["b"].layers[0]
print(conv_b, "weights of shape", conv_b.params["W"].shape)
fig, axes = plt.subplots(2, 20, figsize=(14, 1.9))
for row, (name, layer) in enumerate([("initial", untrained.layers[0]), ("trained", conv_b)]):
    for f, ax in enumerate(axes[row]):
        ax.imshow(np.asarray(layer.params["W"][f, 0]), cmap="Greys")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(name, fontsize=8)
fig.suptitle("Rung (b): the 20 first-layer filters before and after training", fontsize=10)
plt.show()
initial_filters = np.asarray(untrained.layers[0].params["W"])
filter_change = float(np.abs(np.asarray(conv_b.params["W"]) - initial_filters).mean())
print(f"mean |change| of a filter weight during training: {filter_change:.4f}")

# %% [markdown]
# ## Feature maps of one digit
#
# One test digit passed through rung (d)'s first three layers (convolution, ReLU, max-pooling),
# each a layer `forward`: 20 maps of 24 × 24 after the convolution, 12 × 12 after pooling. Each
# map is one filter slid over the image; a bright pixel is a place where the filter's pattern
# is found. Each map has its own colour scale.

# %%
digit = test[0][:1]
layers_d = networks["d"].layers
maps = layers_d[0].forward(digit)
activated = layers_d[1].forward(maps)
pooled = layers_d[2].forward(activated)
print(f"digit {test[1][0]}: input {digit.shape[1:]}, convolution {maps.shape[1:]}, "
      f"{type(layers_d[1]).__name__} {activated.shape[1:]}, "
      f"{type(layers_d[2]).__name__} {pooled.shape[1:]}")
fig, axes = plt.subplots(4, 11, figsize=(14, 5.4))
for row in range(4):
    images = (activated if row < 2 else pooled)[0]
    axes[row, 0].imshow(np.asarray(digit[0, 0]), cmap="Greys")
    for f, ax in enumerate(axes[row, 1:], start=10 * (row % 2)):
        ax.imshow(np.asarray(images[f]), cmap="viridis")
        ax.set_title(f"map {f + 1}", fontsize=7)
    for ax in axes[row]:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(f"{type(layers_d[1]).__name__}" if row < 2 else "pooled", fontsize=8)
fig.suptitle("Rung (d): the digit and its 20 feature maps, after the ReLU (top) and after pooling",
             fontsize=10)
plt.show()
silent = [f + 1 for f in range(activated.shape[1]) if not np.asarray(activated[0, f]).any()]
print(f"maps that stay 0 everywhere for this digit (a ReLU below its threshold at every position): "
      f"{silent if silent else 'none'}")
