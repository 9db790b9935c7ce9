r"""The web playground's 2-D toy data sets and their input features (NumPy only).

Points live in the square ``[−6, 6]²``. Classification sets have labels 0 and 1;
regression sets have real targets in ``[−1, 1]``. ``noise`` is a fraction in
``[0, 0.5]`` (the page's 0–50 %):

==============  ===============  ===========================================================
name            problem          how a point is drawn
==============  ===============  ===========================================================
``circle``      classification   half inside radius 2.5 (label 1), half in the ring 3.5–5
                                 (label 0); noise jitters the position before labelling
``xor``         classification   uniform in the square, away from the axes; label 1 where
                                 x₁x₂ > 0 (after jitter)
``gauss``       classification   two Gaussian blobs at (2, 2) (label 1) and (−2, −2) (label 0),
                                 standard deviation 0.7 + 3·noise
``spiral``      classification   two interleaved spirals, one per label
``plane``       regression       uniform; target (x₁ + x₂)/12 (after jitter), clipped to [−1, 1]
``multigauss``  regression       uniform; target Σ ±exp(−‖x − c‖²/2) over six centres c,
                                 clipped to [−1, 1]
``custom``      classification   empty: points are added by clicking or from a CSV file
``gauss3``      3 classes        three Gaussian blobs at radius 3, 120° apart (labels 0, 1, 2)
``circle3``     3 classes        a disc (label 0) and two rings (labels 1, 2) by radius; noise
                                 jitters the position before labelling
``spiral3``     3 classes        three interleaved spirals, one per label
==============  ===============  ===========================================================

:data:`CLASSES` gives each classification set's number of classes (``custom`` takes its
count from its points).

Input features (:data:`FEATURES`) are computed from the coordinates and scaled so
that each lies in ``[−1, 1]``: x₁ = x/6, x₁² = (x/6)², x₁x₂ = xy/36, sin x₁ = sin x
(the sine of the unscaled coordinate, so that it oscillates across the square).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy

EXTENT = 6.0
"""Points lie in ``[−EXTENT, EXTENT]²``."""

DATASETS: dict[str, str] = {"circle": "classification", "xor": "classification",
                            "gauss": "classification", "spiral": "classification",
                            "plane": "regression", "multigauss": "regression",
                            "custom": "classification", "gauss3": "classification",
                            "circle3": "classification", "spiral3": "classification"}
"""Data set name → problem type."""

CLASSES: dict[str, int] = {"circle": 2, "xor": 2, "gauss": 2, "spiral": 2,
                           "gauss3": 3, "circle3": 3, "spiral3": 3}
"""Classification set → its number of classes (labels 0 … K−1)."""

FEATURES: dict[str, Callable[[numpy.ndarray, numpy.ndarray], numpy.ndarray]] = {
    "x1": lambda x, y: x / EXTENT,
    "x2": lambda x, y: y / EXTENT,
    "x1_sq": lambda x, y: (x / EXTENT) ** 2,
    "x2_sq": lambda x, y: (y / EXTENT) ** 2,
    "x1_x2": lambda x, y: x * y / EXTENT ** 2,
    "sin_x1": lambda x, y: numpy.sin(x),
    "sin_x2": lambda x, y: numpy.sin(y),
}
"""Feature name → function of the coordinates (see the module docstring for the scaling)."""

FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1_sq": "x₁²", "x2_sq": "x₂²", "x1_x2": "x₁x₂",
                  "sin_x1": "sin x₁", "sin_x2": "sin x₂"}
"""How the page writes each feature."""


@dataclass
class ToyData:
    """Points ``(N, 2)`` and labels ``(N,)`` of a training and a test split."""

    train_points: numpy.ndarray
    train_labels: numpy.ndarray
    test_points: numpy.ndarray
    test_labels: numpy.ndarray


def _circle(rng, n: int, noise: float):
    inner = n // 2
    radius = numpy.concatenate([rng.uniform(0.0, 2.5, inner), rng.uniform(3.5, 5.0, n - inner)])
    angle = rng.uniform(0.0, 2 * math.pi, n)
    P = numpy.stack([radius * numpy.sin(angle), radius * numpy.cos(angle)], axis=1)
    jittered = P + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return P, (numpy.hypot(*jittered.T) < 3.0).astype(numpy.float64)


def _xor(rng, n: int, noise: float):
    P = rng.uniform(-5.0, 5.0, (n, 2))
    P += numpy.where(P > 0, 0.3, -0.3)  # keep points off the axes
    jittered = P + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return P, (jittered[:, 0] * jittered[:, 1] > 0).astype(numpy.float64)


def _gauss(rng, n: int, noise: float):
    half = n // 2
    spread = 0.7 + 3.0 * noise
    P = numpy.concatenate([rng.normal(2.0, spread, (half, 2)), rng.normal(-2.0, spread, (n - half, 2))])
    return P, numpy.concatenate([numpy.ones(half), numpy.zeros(n - half)])


def _spiral(rng, n: int, noise: float):
    return _arms(rng, n, noise, (1.0, 0.0))


def _arms(rng, n: int, noise: float, labels_of_arms: tuple[float, ...]):
    """Interleaved spirals, arm i labelled ``labels_of_arms[i]`` and turned by 2πi/k."""
    k = len(labels_of_arms)
    counts = [n // k] * (k - 1) + [n - (k - 1) * (n // k)]
    parts, labels = [], []
    for arm, (label, count) in enumerate(zip(labels_of_arms, counts)):
        turn = 2 * math.pi * arm / k
        i = numpy.arange(count)
        r = i / count * 5.0
        t = 1.75 * i / count * 2 * math.pi + turn
        parts.append(numpy.stack([r * numpy.sin(t), r * numpy.cos(t)], axis=1)
                     + rng.uniform(-1.0, 1.0, (count, 2)) * noise * 5.0 / 2.0)
        labels.append(numpy.full(count, label))
    return numpy.concatenate(parts), numpy.concatenate(labels)


def _plane(rng, n: int, noise: float):
    P = rng.uniform(-EXTENT, EXTENT, (n, 2))
    jittered = P + rng.uniform(-EXTENT, EXTENT, (n, 2)) * noise
    return P, numpy.clip((jittered[:, 0] + jittered[:, 1]) / (2 * EXTENT), -1.0, 1.0)


_BUMPS = numpy.array([[-4.0, 2.5, 1.0], [0.0, 2.5, -1.0], [4.0, 2.5, 1.0],
                      [-4.0, -2.5, -1.0], [0.0, -2.5, 1.0], [4.0, -2.5, -1.0]])


def _multigauss(rng, n: int, noise: float):
    P = rng.uniform(-EXTENT, EXTENT, (n, 2))
    jittered = P + rng.uniform(-EXTENT, EXTENT, (n, 2)) * noise
    d2 = ((jittered[:, None, :] - _BUMPS[None, :, :2]) ** 2).sum(axis=2)
    return P, numpy.clip((_BUMPS[:, 2] * numpy.exp(-d2 / 2.0)).sum(axis=1), -1.0, 1.0)


def _custom(rng, n: int, noise: float):
    return numpy.zeros((0, 2)), numpy.zeros(0)


def _gauss3(rng, n: int, noise: float):
    spread = 0.7 + 3.0 * noise
    label = numpy.arange(n) % 3
    angle = 2 * math.pi * label / 3 + math.pi / 2
    centres = 3.0 * numpy.stack([numpy.cos(angle), numpy.sin(angle)], axis=1)
    return centres + rng.normal(0.0, spread, (n, 2)), label.astype(numpy.float64)


def _circle3(rng, n: int, noise: float):
    band = numpy.arange(n) % 3
    low, high = numpy.array([0.0, 2.5, 4.1])[band], numpy.array([1.7, 3.4, 5.5])[band]
    radius = rng.uniform(low, high)
    angle = rng.uniform(0.0, 2 * math.pi, n)
    P = numpy.stack([radius * numpy.sin(angle), radius * numpy.cos(angle)], axis=1)
    r = numpy.hypot(*(P + rng.uniform(-5.0, 5.0, (n, 2)) * noise).T)
    return P, ((r >= 2.1).astype(numpy.float64) + (r >= 3.75))


def _spiral3(rng, n: int, noise: float):
    return _arms(rng, n, noise, (0.0, 1.0, 2.0))


_MAKERS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral,
           "plane": _plane, "multigauss": _multigauss, "custom": _custom,
           "gauss3": _gauss3, "circle3": _circle3, "spiral3": _spiral3}


def make_points(name: str, n_points: int, noise: float, seed: int):
    """``(points (N, 2), labels (N,))`` of data set ``name`` (see the module docstring)."""
    if name not in _MAKERS:
        raise ValueError(f"unknown data set {name!r}; expected one of {', '.join(_MAKERS)}")
    P, y = _MAKERS[name](numpy.random.default_rng(seed), n_points, noise)
    return numpy.clip(P, -EXTENT, EXTENT), y


def split(points: numpy.ndarray, labels: numpy.ndarray, train_ratio: float, seed: int) -> ToyData:
    """Shuffle (with ``seed``) and cut into the first ``round(train_ratio·N)`` for training
    and the rest for testing."""
    order = numpy.random.default_rng(seed + 1).permutation(len(labels))
    cut = int(round(train_ratio * len(labels)))
    train, test = order[:cut], order[cut:]
    return ToyData(points[train], labels[train], points[test], labels[test])


def make_dataset(name: str, *, n_points: int = 500, noise: float = 0.0, train_ratio: float = 0.5,
                 seed: int = 1) -> ToyData:
    """The playground's data: ``make_points`` then ``split``."""
    return split(*make_points(name, n_points, noise, seed), train_ratio, seed)


def input_features(points: numpy.ndarray, names: Sequence[str]) -> numpy.ndarray:
    """The network's inputs ``(N, len(names))`` for points ``(N, 2)``."""
    points = numpy.asarray(points, dtype=numpy.float64).reshape(-1, 2)
    x, y = points[:, 0], points[:, 1]
    return numpy.stack([FEATURES[name](x, y) for name in names], axis=1)


def grid(resolution: int) -> numpy.ndarray:
    """Pixel centres of a ``resolution × resolution`` image of the square, row by row from
    the top (x₂ = +6) to the bottom, left (x₁ = −6) to right: shape ``(resolution², 2)``."""
    centres = (numpy.arange(resolution) + 0.5) / resolution * 2 * EXTENT - EXTENT
    x, y = numpy.meshgrid(centres, centres[::-1])
    return numpy.stack([x.ravel(), y.ravel()], axis=1)
