r"""Photo-like images of digits, for measuring how well the preparation of
:mod:`nnlearn.data.digits` reads photographs (tests and ``scripts/photo_accuracy.py``).

Each 28×28 digit (MNIST's white ink on black, in [0, 1]) is drawn as a phone photo of a
digit on paper would show it::

    place    scaled so its 20-pixel box is 70–260 px tall, turned by up to ±12°, anywhere
             on a 300–1200 px page (small digits go on the large pages), bilinear sampling
    ink      a = coverage × opacity (0.8–1), lightly blurred (σ 0.4–1.4 px)
    colour   reflectance = paper · (1 − a) + ink · a, paper white, cream, blue-grey,
             yellow or pink, ink black, blue, dark red or pencil grey
    light    × (brightness 0.6–0.95 + a gradient of up to ±0.3 across the page − vignetting
             of up to 0.25 at the corners)
    noise    Gaussian, σ 2–8 (of 255) per channel, and 0–6 dark specks of 1–3 px radius
             away from the digit
    file     JPEG at quality 55–92 (Pillow), a third stored sideways or upside down with
             the EXIF orientation tag that turns it upright (3, 6 or 8)

All array math is NumPy (the images are test inputs, not part of the model).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy

PAPERS = {"white": (0.97, 0.97, 0.96), "cream": (0.98, 0.94, 0.82), "blue-grey": (0.86, 0.91, 0.97),
          "yellow": (1.0, 0.95, 0.62), "pink": (0.98, 0.86, 0.88)}
INKS = {"black": (0.06, 0.06, 0.08), "blue": (0.1, 0.16, 0.55), "dark red": (0.5, 0.06, 0.1),
        "pencil": (0.32, 0.32, 0.34)}
ORIENTATIONS = {3: 2, 6: 1, 8: 3}
"""EXIF orientation tag → quarter turns (counter-clockwise, ``numpy.rot90``) applied to the
upright image before storing it; the tag tells a viewer to undo them (6: "rotate 90° CW")."""


def _sample(image: numpy.ndarray, ys: numpy.ndarray, xs: numpy.ndarray) -> numpy.ndarray:
    """Bilinear samples of ``image`` at fractional ``(ys, xs)``, 0 outside."""
    h, w = image.shape
    padded = numpy.zeros((h + 2, w + 2))
    padded[1:-1, 1:-1] = image
    y = numpy.clip(ys + 1, 0, h + 0.999)
    x = numpy.clip(xs + 1, 0, w + 0.999)
    y0, x0 = numpy.floor(y).astype(int), numpy.floor(x).astype(int)
    fy, fx = y - y0, x - x0
    y1, x1 = numpy.minimum(y0 + 1, h + 1), numpy.minimum(x0 + 1, w + 1)
    return ((1 - fy) * ((1 - fx) * padded[y0, x0] + fx * padded[y0, x1])
            + fy * ((1 - fx) * padded[y1, x0] + fx * padded[y1, x1]))


def _blur(image: numpy.ndarray, sigma: float) -> numpy.ndarray:
    """Separable Gaussian blur (edges replicated)."""
    radius = max(1, math.ceil(3 * sigma))
    taps = numpy.exp(-0.5 * (numpy.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = image
    for axis in (0, 1):
        padded = numpy.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)],
                           mode="edge")
        n = out.shape[axis]
        out = sum(t * numpy.take(padded, numpy.arange(i, i + n), axis=axis)
                  for i, t in enumerate(taps))
    return out


def render(digit: numpy.ndarray, rng: numpy.random.Generator) -> dict[str, Any]:
    """One photo-like image of ``digit`` ``(28, 28)``: ``{"pixels": uint8 (H, W, 3) upright,
    "orientation": EXIF tag to store it with (1: as is), "quality": JPEG quality,
    "conditions": what was drawn}`` (see the module docstring)."""
    small = rng.random() < 0.3
    box_height = rng.uniform(70, 120) if small else rng.uniform(110, 260)
    height, width = ((int(rng.integers(700, 1000)), int(rng.integers(900, 1200))) if small else
                     (int(rng.integers(320, 480)), int(rng.integers(300, 480))))
    scale = box_height / 20.0
    angle = math.radians(rng.uniform(-12, 12))
    reach = 0.75 * 20 * scale  # the digit's box half-diagonal, with room to turn
    cy = rng.uniform(reach, height - reach) if height > 2 * reach else height / 2
    cx = rng.uniform(reach, width - reach) if width > 2 * reach else width / 2
    ys, xs = numpy.mgrid[0:height, 0:width].astype(float)
    dy, dx = (ys - cy) / scale, (xs - cx) / scale
    cos, sin = math.cos(angle), math.sin(angle)
    coverage = _sample(digit.astype(float), cos * dy - sin * dx + 13.5, sin * dy + cos * dx + 13.5)
    coverage = _blur(coverage, rng.uniform(0.4, 1.4)) * rng.uniform(0.8, 1.0)
    paper_name, ink_name = rng.choice(list(PAPERS)), rng.choice(list(INKS))
    paper, ink = numpy.array(PAPERS[paper_name]), numpy.array(INKS[ink_name])
    a = numpy.clip(coverage, 0, 1)[..., None]
    reflectance = paper * (1 - a) + ink * a
    for _ in range(int(rng.integers(0, 7))):  # dark specks away from the digit
        sy, sx = rng.uniform(0, height), rng.uniform(0, width)
        if abs(sy - cy) < reach and abs(sx - cx) < reach:
            continue
        radius = rng.uniform(1, 3)
        spot = numpy.clip(radius + 0.5 - numpy.hypot(ys - sy, xs - sx), 0, 1)[..., None]
        reflectance = reflectance * (1 - 0.7 * spot)
    u, v = xs / width - 0.5, ys / height - 0.5
    gradient = rng.uniform(-0.3, 0.3, size=2)
    vignette = rng.uniform(0, 0.25)
    light = (rng.uniform(0.6, 0.95) + gradient[0] * u + gradient[1] * v
             - vignette * 2 * (u ** 2 + v ** 2))
    noise_sigma = rng.uniform(2, 8)
    pixels = 255 * reflectance * numpy.clip(light, 0.2, 1.2)[..., None]
    pixels = pixels + rng.normal(0, noise_sigma, pixels.shape)
    orientation = int(rng.choice([1, 1, 1, 1, 1, 1, 3, 6, 8]))
    return {"pixels": numpy.clip(numpy.round(pixels), 0, 255).astype(numpy.uint8),
            "orientation": orientation, "quality": int(rng.integers(55, 93)),
            "conditions": {"small": small, "box_height": round(box_height), "size": (height, width),
                           "tilt_degrees": round(math.degrees(angle), 1), "paper": paper_name,
                           "ink": ink_name, "noise_sigma": round(noise_sigma, 1),
                           "orientation": orientation}}


def write_jpeg(path: str | os.PathLike, photo: dict[str, Any]) -> None:
    """Save ``render``'s photo as a JPEG (Pillow), stored turned by its orientation with the
    EXIF tag that turns it back."""
    from PIL import Image

    stored = numpy.rot90(photo["pixels"], ORIENTATIONS.get(photo["orientation"], 0))
    exif = Image.Exif()
    if photo["orientation"] != 1:
        exif[0x0112] = photo["orientation"]
    Image.fromarray(numpy.ascontiguousarray(stored)).save(
        path, "JPEG", quality=photo["quality"], exif=exif.tobytes())


def photo_set(digits: numpy.ndarray, folder: str | os.PathLike, seed: int = 0) -> list[dict[str, Any]]:
    """Write one JPEG per digit ``(N, 28, 28)`` into ``folder`` (``photo-0000.jpg``, ...);
    returns each photo's ``{"path", "conditions"}``."""
    rng = numpy.random.default_rng(seed)
    out = []
    for i, digit in enumerate(digits):
        photo = render(digit, rng)
        path = os.path.join(folder, f"photo-{i:04d}.jpg")
        write_jpeg(path, photo)
        out.append({"path": path, "conditions": photo["conditions"]})
    return out
