"""scikit-learn estimators for nnlearn networks: ``from nnlearn.sklearn import NNClassifier``.

The public home of :class:`NNClassifier` and :class:`NNRegressor` (as scikit-learn plug-ins
of other libraries name theirs); the code lives in :mod:`nnlearn.io.sklearn`, which keeps
working as an import path. scikit-learn itself is optional
(``pip install "nnlearn[sklearn]"``, or ``pip install ".[sklearn]"`` in a checkout): without
it the estimators keep the same API on stand-in base classes.
"""

from nnlearn.io.sklearn import HAVE_SKLEARN, NNClassifier, NNRegressor

__all__ = ["HAVE_SKLEARN", "NNClassifier", "NNRegressor"]
