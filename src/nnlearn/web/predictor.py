r"""Draw-a-digit: which model answers, and a prediction with every preparation step.

A drawing is prepared exactly as ``nnlearn predict`` prepares an image file
(:func:`nnlearn.data.digits.mnist_stages`, the steps of ``to_mnist``: the ink's side,
the paper's level removed, the threshold, the connected strokes kept and specks set aside,
crop, scale into 20×20, centre the centre of mass in 28×28), then
:func:`nnlearn.data.digits.class_probabilities` turns the network's outputs into the ten
probabilities. With ``"steps": true`` the answer carries pictures of the stages, reduced
to at most :data:`STEP_SIDE` pixels a side.

Models: ``"shipped"`` is the small [784, 100, 10] network in the package
(``nnlearn/web/models/digits-mlp.npz``, made by ``python scripts/train_web_model.py``);
any other name is a run folder inside ``--runs-dir`` that holds a ``model.npz`` taking
28×28 inputs. Without a name, the server's ``--model`` is used, else the shipped one (a
run is used only when chosen: the newest run may be a 4-epoch toy).
"""

from __future__ import annotations

import base64
import binascii
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy

from nnlearn import backend
from nnlearn.checks import OneOf
from nnlearn.data import digits, ink
from nnlearn.data.png import decode_png
from nnlearn.errors import DataError, ModelFileError
from nnlearn.io.model_file import load
from nnlearn.web.validation import FieldError, RunFolder, check, resolved_inside

SHIPPED = "shipped"
INVERT = {"auto": None, "yes": True, "no": False}
"""``invert``: ``yes`` for dark ink on light paper (inverted to MNIST's white on black),
``no`` for light ink on dark, ``auto`` to guess (:func:`nnlearn.data.digits.to_mnist`)."""
MAX_SIDE = 2000
"""Largest accepted image side, in pixels."""
PNG_PREFIX = "data:image/png;base64,"
STEP_SIDE = 70
"""Largest side of the stage pictures sent back with ``"steps": true``."""


def shipped_model_path() -> Path:
    """The package's digit model file."""
    return Path(str(resources.files("nnlearn.web") / "models" / "digits-mlp.npz"))


def takes_digits(network) -> bool:
    """Whether the network reads 28×28 images (784 values or 1×28×28)."""
    return tuple(network.input_shape) in ((784,), (1, 28, 28))


class ModelCache:
    """Networks loaded once per file version (path and modification time)."""

    def __init__(self) -> None:
        self._networks: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()

    def load(self, path: Path):
        key = (str(path), path.stat().st_mtime_ns)
        with self._lock:
            if key not in self._networks:
                self._networks = {k: v for k, v in self._networks.items() if k[0] != key[0]}
                self._networks[key] = load(path)
            return self._networks[key]


class DigitModels:
    """Resolves model names for Draw-a-digit (see the module docstring)."""

    def __init__(self, runs_dir: Path, default: str | None = None,
                 cache: ModelCache | None = None):
        self.runs_dir = Path(runs_dir)
        self.default = default
        self.cache = cache or ModelCache()

    def _run_model(self, name: str, field: str = "model") -> Path:
        path = check(field, RunFolder(self.runs_dir), name) / "model.npz"
        if not path.is_file():
            raise FieldError(field, f"run {name!r} has no model.npz (is it still training, or "
                                    f"not in --runs-dir {str(self.runs_dir)!r}?)")
        return path

    def _default_path(self) -> tuple[str, Path]:
        if self.default is not None:
            given = Path(self.default)
            if given.is_file():
                return given.name, given
            if given.is_dir():
                return given.name, given / "model.npz"
            return self.default, self._run_model(self.default, "--model")
        return SHIPPED, shipped_model_path()

    def resolve(self, name: str | None) -> tuple[str, Any]:
        """``(label, network)`` for a model name (``None``: the default)."""
        if name is None:
            label, path = self._default_path()
        elif name == SHIPPED:
            label, path = SHIPPED, shipped_model_path()
        else:
            label, path = name, self._run_model(name)
        try:
            network = self.cache.load(path)
        except ModelFileError as exc:
            raise FieldError("model", f"{label!r} cannot be used: {exc}") from None
        if not takes_digits(network):
            raise FieldError("model", f"{label!r} takes inputs of shape "
                                      f"{tuple(network.input_shape)}, not 28×28 digits")
        return label, network

    def available(self) -> list[dict[str, Any]]:
        """The models to choose from: the shipped one and every run with a model.npz."""
        shipped = self.cache.load(shipped_model_path()).metadata
        found = [{"name": SHIPPED, "label": "shipped [784, 100, 10] network",
                  "test_accuracy": shipped.get("test_accuracy"), "trained_by": shipped.get("trained_by")}]
        found += [{"name": path.parent.name, "label": f"run {path.parent.name}"}
                  for path in self.run_models()]
        return found

    def run_models(self) -> list[Path]:
        """The ``model.npz`` files of the run folders, newest first; a folder that is a
        symbolic link leading outside ``runs_dir`` is skipped, as every route refuses it."""
        if not self.runs_dir.is_dir():
            return []
        found = []
        for path in self.runs_dir.glob("*/model.npz"):
            try:
                if resolved_inside(self.runs_dir, path.parent) and path.is_file():
                    found.append((path.stat().st_mtime_ns, path))
            except OSError:  # removed meanwhile
                continue
        return [path for _, path in sorted(found, reverse=True)]


def parse_image(value: Any) -> numpy.ndarray:
    """An image in [0, 1] from a PNG data URL (``(H, W, C)``, colour kept) or a 2-D list of
    numbers (greyscale, in [0, 1], or 0–255 when any value exceeds 1)."""
    if isinstance(value, str):
        if not value.startswith(PNG_PREFIX):
            raise FieldError("image", f"a string image must be a PNG data URL starting with "
                                      f"{PNG_PREFIX!r}")
        try:
            data = base64.b64decode(value[len(PNG_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise FieldError("image", "the PNG data URL is not valid base64") from None
        try:
            pixels = decode_png(data, "the PNG image", MAX_SIDE * MAX_SIDE)  # from the header
        except DataError as exc:
            raise FieldError("image", str(exc)) from None
        return digits.to_colour(pixels)
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise FieldError("image", "must be a PNG data URL or a 2-D array (a list of rows of numbers)")
    if len(value) > MAX_SIDE or len({len(r) for r in value}) != 1 or not 0 < len(value[0]) <= MAX_SIDE:
        raise FieldError("image", f"must be a rectangular array of rows with 1 to {MAX_SIDE} "
                                  "numbers each")
    try:
        image = numpy.array(value, dtype=numpy.float64)
    except (TypeError, ValueError):
        raise FieldError("image", "every pixel must be a number") from None
    if not numpy.isfinite(image).all() or image.min() < 0:
        raise FieldError("image", "pixels must be finite numbers ≥ 0")
    top = float(image.max())
    if top > 255:
        raise FieldError("image", f"pixels must be in [0, 1] or 0–255, got a maximum of {top:g}")
    return image / 255.0 if top > 1 else image


def predict(models: DigitModels, body: dict[str, Any]) -> dict[str, Any]:
    """The answer of ``POST /api/predict`` for a checked JSON body."""
    image = parse_image(body.get("image"))
    invert = INVERT[check("invert", OneOf(tuple(INVERT)), body.get("invert", "auto"))]
    name = body.get("model")
    if name is not None and not isinstance(name, str):
        raise FieldError("model", f"must be a run folder name or {SHIPPED!r}, got {name!r}")
    label, network = models.resolve(name)
    try:
        stages = digits.mnist_stages(image, invert=invert)
    except DataError as exc:
        raise FieldError("image", str(exc)) from None
    prepared = stages["centred"]
    probs = backend.to_numpy(digits.class_probabilities(
        network, digits.network_inputs(network, prepared[None])))[0]
    answer = {"model": label, "digit": int(probs.argmax()),
              "probabilities": [float(p) for p in probs],
              "input": numpy.round(backend.to_numpy(prepared), 4).tolist()}
    if body.get("steps"):
        answer["steps"] = {"box": list(stages["box"]), "image_shape": list(image.shape[:2]),
                           "scaled": _rounded(stages["scaled"]), "dark_ink": stages["dark_ink"],
                           "threshold": round(float(stages["threshold"]), 4),
                           **stage_pictures(stages)}
    return answer


def _rounded(image) -> list:
    return numpy.round(backend.to_numpy(image), 3).tolist()


def stage_pictures(stages: dict[str, Any]) -> dict[str, list]:
    """The stages before the crop, reduced to at most :data:`STEP_SIDE` pixels a side:
    ``"paper"`` (the background estimate, ink bright, scaled to [0, 1]) and ``"ink"``
    (the stretched ink on the kept strokes, and minus it on the marks set aside)."""
    factor = -(-max(stages["ink"].shape) // STEP_SIDE)
    paper = ink.block_mean(stages["paper"], factor)
    low, high = float(paper.min()), float(stages["grey"].max())
    shown = ink.block_mean(stages["ink"] * stages["kept"] - stages["ink"] * stages["ignored"],
                           factor)
    return {"paper": _rounded((paper - low) / max(high - low, 1e-9)), "ink": _rounded(shown)}
