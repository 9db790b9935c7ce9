r"""Figures of a training run, drawn with matplotlib's Agg canvas (no display needed).

* :func:`learning_curves` — training and validation cost and accuracy per epoch,
  as in the book's overfitting figures (ch. 3).
* :func:`plot_confusion` — the confusion matrix C[i, j] = #(true i, predicted j) of
  :func:`confusion_matrix`.
* :func:`misclassified` — a grid of misclassified test digits, "true → predicted".
* :func:`first_layer` — what the first layer looks at: a Dense layer's weight
  columns as images (784 → 28×28) or a Conv2D layer's kernels.
* :func:`plot_run` — all four for a run folder, into ``RUN/plots/``.

Figures are made with ``matplotlib.figure.Figure`` and ``FigureCanvasAgg``
directly, never pyplot, so nothing touches a global backend or opens a window.
Sizes are fixed (``figsize × dpi``), so a figure's pixel size is predictable.
matplotlib is the optional extra ``plot``: ``pip install 'nnlearn[plot]'``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy

from nnlearn import backend
from nnlearn.errors import DataError, install_hint
from nnlearn.experiments.runs import builder as experiment
from nnlearn.experiments.runs.folder import Run
from nnlearn.files import atomic_write
from nnlearn.io.model_file import load

DPI = 100
SIZES = {"learning_curves": (10.0, 4.0), "confusion_matrix": (6.0, 5.5),
         "misclassified": (8.0, 8.6), "first_layer": (8.0, 8.0)}
"""Figure sizes in inches (× :data:`DPI` = pixels) by plot name."""


def _figure(name: str):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"plots need matplotlib, an optional extra: {install_hint('plot')}") from None
    fig = Figure(figsize=SIZES[name], dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: fig.savefig(f, dpi=DPI, format="png"))
    return path


def learning_curves(records: Sequence[dict[str, Any]], path: str | Path,
                    title: str | None = None) -> Path:
    """Cost (left) and accuracy in % (right) per epoch, training and validation.

    ``records`` are epoch records (``metrics.jsonl`` lines, ``History.records``);
    curves whose key no record has are left out.
    """
    if not records:
        raise DataError("learning_curves needs at least one epoch record; the run has none")
    fig = _figure("learning_curves")
    axes = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in records]
    for ax, metric, scale, label in ((axes[0], "cost", 1.0, "cost"),
                                     (axes[1], "accuracy", 100.0, "accuracy (%)")):
        for prefix, name, style in (("training", "training", "-"), ("evaluation", "validation", "--")):
            key = f"{prefix}_{metric}"
            points = [(e, scale * r[key]) for e, r in zip(epochs, records) if key in r]
            if points:
                ax.plot(*zip(*points), style, marker="o" if len(points) <= 60 else None,
                        markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if ax.get_lines():
            ax.legend()
    fig.suptitle(title or "learning curves")
    fig.tight_layout()
    return _save(fig, path)


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> numpy.ndarray:
    """``C[i, j]`` = number of examples of class i predicted as j (int64, K × K)."""
    t = backend.to_numpy(y_true).astype(numpy.int64).ravel()
    p = backend.to_numpy(y_pred).astype(numpy.int64).ravel()
    if t.shape != p.shape:
        raise DataError(f"y_true has {t.size} labels but y_pred has {p.size}")
    if t.size and min(t.min(), p.min()) < 0:
        raise DataError("labels must be >= 0")
    k = n_classes if n_classes is not None else int(max(t.max(initial=0), p.max(initial=0))) + 1
    return numpy.bincount(t * k + p, minlength=k * k).reshape(k, k)


def plot_confusion(cm, path: str | Path, title: str = "confusion matrix (test set)") -> Path:
    """The confusion matrix as a heat map with the counts written in each cell."""
    cm = numpy.asarray(cm)
    fig = _figure("confusion_matrix")
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    k = cm.shape[0]
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > threshold else "black")
    accuracy = numpy.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title}: {100 * accuracy:.2f}% correct")
    fig.tight_layout()
    return _save(fig, path)


def _image_side(n: int) -> tuple[int, int]:
    side = math.isqrt(n)
    return (side, side) if side * side == n else (1, n)


def misclassified(X, y, pred, path: str | Path, max_images: int = 36) -> Path:
    """A grid of up to ``max_images`` misclassified images titled ``true → predicted``."""
    X, y, pred = (backend.to_numpy(a) for a in (X, y, pred))
    wrong = numpy.flatnonzero(y != pred)[:max_images]
    fig = _figure("misclassified")
    cols = max(1, math.ceil(math.sqrt(max(len(wrong), 1))))
    rows = max(1, math.ceil(len(wrong) / cols))
    for k, i in enumerate(wrong):
        ax = fig.add_subplot(rows, cols, k + 1)
        image = X[i].reshape(_image_side(X[i].size)) if X[i].ndim != 3 else X[i][0]
        ax.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(f"{y[i]} → {pred[i]}", fontsize=9, color="firebrick")
        ax.axis("off")
    n_wrong = int((y != pred).sum())
    fig.suptitle(f"misclassified: {n_wrong} of {len(y)} (true → predicted; "
                 f"first {len(wrong)} shown)" if n_wrong else f"no misclassified images of {len(y)}")
    fig.tight_layout()
    return _save(fig, path)


def first_layer_images(network, max_units: int = 64) -> tuple[numpy.ndarray, str]:
    """The first weighted layer's per-unit weights as images ``(units, h, w)`` and a caption.

    Dense: column j of ``W (n_in, n_out)`` reshaped to the input image (784 → 28×28).
    Conv2D: kernel f of ``W (F, C, kh, kw)``, averaged over input channels.
    """
    for layer in network.layers:
        W = layer.params.get("W")
        if W is None:
            continue
        W = backend.to_numpy(W)
        name = type(layer).__name__
        if W.ndim == 4:
            return W.mean(axis=1)[:max_units], f"{name} filters {W.shape[2]}×{W.shape[3]}"
        if W.ndim == 2:
            shape = network.input_shape
            hw = shape[-2:] if len(shape) == 3 else _image_side(W.shape[0])
            if hw[0] * hw[1] != W.shape[0]:
                hw = (1, W.shape[0])
            shown = min(max_units, W.shape[1])
            return W.T[:max_units].reshape(-1, *hw), f"{name} weights into the first {shown} hidden neurons"
    raise DataError("the network has no layer with weights 'W' to show")


def first_layer(network, path: str | Path, max_units: int = 64) -> Path:
    """Each first-layer unit's weights as a small image (blue < 0 < red, symmetric scale)."""
    images, caption = first_layer_images(network, max_units)
    fig = _figure("first_layer")
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    for k, image in enumerate(images):
        ax = fig.add_subplot(rows, cols, k + 1)
        limit = float(numpy.abs(image).max()) or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.axis("off")
    fig.suptitle(caption)
    fig.tight_layout()
    return _save(fig, path)


def plot_run(run, network=None, test=None, out_dir: str | Path | None = None) -> list[Path]:
    """All four figures of a run folder (a :class:`~nnlearn.experiments.runs.folder.Run` or its path).

    ``network`` defaults to the run's ``model.npz``; ``test`` ``(X, y)`` to the test
    split of the run's data. Writes into ``out_dir`` (default ``RUN/plots``).
    """
    run = run if isinstance(run, Run) else Run.open(run)
    out = Path(out_dir) if out_dir is not None else run.plots_dir
    if network is None:
        if not run.model_path.is_file():
            raise DataError(f"{run.path} has no {Run.MODEL} yet (the run has not finished)")
        network = load(run.model_path)
    cfg = None
    if test is None:
        cfg = run.config()
        test = experiment.load_data(cfg)[2]
    records = run.metrics()
    title = (cfg or run.config()).get("name") or run.path.name
    paths = []
    if records:
        paths.append(learning_curves(records, out / "learning_curves.png", f"learning curves: {title}"))
    X, y = test
    pred = backend.to_numpy(network.predict(X))
    k = max(int(network.output_shape[-1]), int(backend.to_numpy(y).max()) + 1)
    paths.append(plot_confusion(confusion_matrix(y, pred, k), out / "confusion_matrix.png"))
    paths.append(misclassified(X, y, pred, out / "misclassified.png"))
    paths.append(first_layer(network, out / "first_layer.png"))
    return paths
