r"""MNIST without neural networks: the book's two baselines (ch. 1).

**Average darkness.** For each digit d, average the total ink ``Σ_pixels x`` of the
training images of d. Classify a test image as the digit whose average darkness is
closest to its own. The book (``mnist_average_darkness.py``) gets 2,225 of 10,000
test images right, 22.25%: better than chance (10%), far below any network.

**Support vector machine** (scikit-learn's ``SVC``, an optional extra:
``pip install 'nnlearn[sklearn]'``), trained on the book's 50,000 training images
and tested on the 10,000 test images. The book (``mnist_svm.py``, 2015) calls
``svm.SVC()`` with that era's defaults and gets 9,435 / 10,000 = 94.35%. Those
defaults were an RBF kernel ``exp(−γ ‖x − x'‖²)`` with ``C = 1`` and
``γ = 1/n_features = 1/784``; since scikit-learn 0.22 the default is
``gamma="scale"``, i.e. ``γ = 1/(n_features · Var(X))`` (≈ 0.0134 on MNIST, ten
times 1/784 ≈ 0.0013), which changes the result. This example therefore passes the book-era
settings explicitly: ``SVC(kernel="rbf", C=1.0, gamma=1/784)`` (``--gamma auto``);
``--gamma scale`` gives today's default. The pixels here are ``x/255``, the book's
pickle had ``x/256``, a 0.4% rescaling that moves γ's effect slightly.

Measured with ``python -m nnlearn.examples.baselines`` (scikit-learn 1.9.1, NumPy
float32 pixels): average darkness 2,225 / 10,000 = 22.25%, as the book; the SVM
9,434 / 10,000 = 94.34% (book: 94.35%), fit 539 s and predict 104 s wall time on a
shared 2-core machine.

Training the SVM on all 50,000 images takes many minutes on one core (libsvm is
single-threaded, and its cost grows faster than linearly with the number of
training examples); ``--subset N`` trains on the first N only.

Run: ``python -m nnlearn.examples.baselines [--subset N] [--no-svm]``
(or ``nnlearn example baselines ...``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Sequence

import numpy

from nnlearn.data import load_mnist
from nnlearn.errors import install_hint


def average_darkness(train, test) -> dict[str, Any]:
    r"""The average-darkness classifier fitted on ``train`` and scored on ``test``.

    ``train``, ``test``: ``(X, y)`` pairs of flattened images (N, D) and labels.
    Returns ``{"averages" (10,), "predictions" (N_test,), "correct", "total",
    "accuracy"}``; ties (never seen on MNIST) go to the smaller digit.
    """
    X, y = numpy.asarray(train[0]), numpy.asarray(train[1])
    X_test, y_test = numpy.asarray(test[0]), numpy.asarray(test[1])
    digits = numpy.unique(y)
    darkness = X.sum(axis=1, dtype=numpy.float64)
    averages = numpy.array([darkness[y == d].mean() for d in digits])
    test_darkness = X_test.sum(axis=1, dtype=numpy.float64)
    predictions = digits[numpy.abs(test_darkness[:, None] - averages[None, :]).argmin(axis=1)]
    correct = int((predictions == y_test).sum())
    return {"averages": averages, "predictions": predictions, "correct": correct,
            "total": int(y_test.size), "accuracy": correct / y_test.size}


def svm(train, test, *, gamma: str | float = "auto", C: float = 1.0,
        subset: int | None = None) -> dict[str, Any]:
    r"""Fit ``sklearn.svm.SVC(kernel="rbf", C=C, gamma=gamma)`` on (the first ``subset``
    of) ``train`` and score it on ``test``.

    ``gamma="auto"`` is ``1/n_features``, the 2015 default the book used. Returns
    ``{"correct", "total", "accuracy", "n_train", "gamma", "C", "fit_seconds",
    "predict_seconds"}``. Raises ``ImportError`` without scikit-learn.
    """
    from sklearn.svm import SVC

    X, y = train
    if subset is not None:
        X, y = X[:subset], y[:subset]
    clf = SVC(kernel="rbf", C=C, gamma=gamma, cache_size=500)
    start = time.perf_counter()
    clf.fit(X, y)
    fitted = time.perf_counter()
    predictions = clf.predict(test[0])
    done = time.perf_counter()
    correct = int((predictions == numpy.asarray(test[1])).sum())
    return {"correct": correct, "total": int(len(test[1])), "accuracy": correct / len(test[1]),
            "n_train": int(len(y)), "gamma": gamma, "C": C,
            "fit_seconds": fitted - start, "predict_seconds": done - fitted}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlearn.examples.baselines",
                                     description="MNIST baselines: average darkness and an SVM.")
    parser.add_argument("--subset", type=int, default=None, metavar="N",
                        help="train the SVM on the first N training images (default: all 50,000)")
    parser.add_argument("--test-subset", type=int, default=None, metavar="N",
                        help="score the SVM on the first N test images (default: all 10,000)")
    parser.add_argument("--gamma", default="auto",
                        help="RBF γ: 'auto' = 1/784 (the book's 2015 default, default here), "
                             "'scale' (today's scikit-learn default) or a number")
    parser.add_argument("-C", type=float, default=1.0, help="SVM penalty C (default: 1.0)")
    parser.add_argument("--no-svm", action="store_true", help="only the average-darkness baseline")
    args = parser.parse_args(argv)
    for name in ("subset", "test_subset"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    gamma: str | float = args.gamma
    if gamma not in ("auto", "scale"):
        try:
            gamma = float(gamma)
        except ValueError:
            parser.error(f"--gamma must be 'auto', 'scale' or a number, got {args.gamma!r}")


    data = load_mnist()
    dark = average_darkness(data.train, data.test)
    print(f"average darkness: {dark['correct']:,} of {dark['total']:,} correct "
          f"({100 * dark['accuracy']:.2f}%; book: 2,225, 22.25%)")
    if args.no_svm:
        return 0
    try:
        import sklearn
    except ImportError:
        print(f"SVM: scikit-learn is not installed; {install_hint('sklearn')} (skipped)")
        return 0
    test = data.test if args.test_subset is None else \
        (data.test[0][:args.test_subset], data.test[1][:args.test_subset])
    n = args.subset or len(data.train[1])
    print(f"SVM: sklearn.svm.SVC(kernel='rbf', C={args.C}, gamma={gamma!r}) "
          f"(scikit-learn {sklearn.__version__}) on {n:,} training images; this can take a while")
    r = svm(data.train, test, gamma=gamma, C=args.C, subset=args.subset)
    print(f"SVM: {r['correct']:,} of {r['total']:,} correct ({100 * r['accuracy']:.2f}%; "
          f"book with all 50,000 and 2015 defaults: 9,435, 94.35%); fit {r['fit_seconds']:.0f} s, "
          f"predict {r['predict_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
