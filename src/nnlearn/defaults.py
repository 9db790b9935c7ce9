r"""Every default of nnlearn, stated once.

The defaults are the book's chapter-3 recipe, the one that reaches ~98% on MNIST:
sigmoid hidden neurons, the cross-entropy cost with sigmoid outputs, weights drawn
from N(0, 1/n_in), minibatches of 10, η = 0.5, L2 λ = 5.0, 30 epochs. The same
values serve ``nnlearn train`` with no options, an experiment config's missing keys,
``Network(...)``, ``Network.from_sizes(...)``, ``Network.fit(...)`` and ``Trainer(...)``,
and the scikit-learn estimators.

Deliberate differences (each for a reason):

* ``Network.fit`` and ``Trainer`` add no L2 term unless asked (``lmbda=None``): a library
  call adds only what it is given; the config's ``regularization.lmbda`` is 5.0 because
  λ is part of the recipe.
* The scikit-learn estimators default to ``hidden_layer_sizes=(30,)``: scikit-learn's
  problems are small tables (tens of features, hundreds of rows), and 30 neurons fit them.
* ``NNClassifier`` uses the log-likelihood (softmax outputs), so that ``predict_proba``
  rows are probabilities that sum to 1.
* ``NNRegressor`` uses the quadratic cost with linear outputs and η = 0.1: real-valued
  targets are unbounded, and a smaller step keeps the unsquashed outputs from overshooting.
* The book's presets (``ch1-*``, ``ch3-*``, ``ch6-*``) carry their chapters' own values
  (e.g. the chapter-1 network: quadratic cost, N(0, 1) weights, η = 3.0).

The output layer follows the cost (see :func:`nnlearn.nn.builder.output_activation_for`).
"""

from __future__ import annotations

HIDDEN: tuple[int, ...] = (100,)
"""Hidden-layer widths of the default MLP ([784, 100, 10] on MNIST)."""
ACTIVATION = "sigmoid"
"""Hidden activation."""
COST = "cross_entropy"
"""Cost function (its output activation is chosen to fit it)."""
WEIGHT_INIT = "normal_fan_in"
"""Weight initialiser: N(0, 1/n_in) (book ch. 3)."""
BIAS_INIT = "normal"
"""Bias initialiser: N(0, 1), as in the book."""
DTYPE = "float32"
"""Floating-point precision of parameters and activations."""

EPOCHS = 30
MINI_BATCH_SIZE = 10
ETA = 0.5
"""Learning rate η (the book's value for the cross-entropy cost)."""
LMBDA = 5.0
"""L2 strength λ of the recipe (``regularization.lmbda``; not applied by ``fit`` unless asked)."""
THREADS = "auto"
"""CPU threads per minibatch: split only where it pays (:mod:`nnlearn.train.parallel`)."""
EARLY_STOPPING = 0
"""Patience of early stopping in the config (0 = off)."""

ESTIMATOR_HIDDEN: tuple[int, ...] = (30,)
"""Hidden widths of the scikit-learn estimators."""
CLASSIFIER_COST = "log_likelihood"
"""``NNClassifier``'s cost (softmax outputs give probabilities)."""
REGRESSOR_COST = "quadratic"
"""``NNRegressor``'s cost (linear outputs)."""
REGRESSOR_ETA = 0.1
"""``NNRegressor``'s learning rate."""
