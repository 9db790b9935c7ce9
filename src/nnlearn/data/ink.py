r"""Finding the ink of a photographed digit: paper brightness, threshold, connected strokes.

The steps :func:`nnlearn.data.digits.mnist_stages` runs before MNIST's own crop, scale and
centre, each in NumPy through the backend handle (no SciPy or OpenCV):

* :func:`block_mean` — a photo is reduced to at most :data:`WORK_SIDE` pixels a side by
  averaging k × k blocks (sensor noise falls by k; a digit needs only 20 × 20);
* :func:`background` — the paper's own brightness, a grey *opening* (erosion then dilation
  by a square window, with the ink bright and the paper dark). Opening keeps every feature
  wider than the window (the paper's lighting gradient, vignetting, a shadow's broad edge)
  and removes the narrower ones (the strokes); subtracting it leaves the ink on a flat, zero
  background. Both passes are running minima and maxima (:func:`running_extreme`);
* :func:`otsu_threshold` — the threshold that maximises the between-class variance
  ``ω₀ ω₁ (μ₀ − μ₁)²`` of the ink values (Otsu 1979);
* :func:`connected_components` — 8-connected labels by hooking and pointer jumping
  (Shiloach & Vishkin 1982): every edge hooks the larger root onto the smaller, then every
  pointer jumps to its root, until no edge joins two roots (a few rounds, each vectorised).

References: N. Otsu, "A threshold selection method from gray-level histograms", IEEE SMC 9
(1979); Y. Shiloach and U. Vishkin, "An O(log n) parallel connectivity algorithm",
J. Algorithms 3 (1982); J. Serra, *Image Analysis and Mathematical Morphology* (1982).
"""

from __future__ import annotations

from nnlearn import backend

WORK_SIDE = 1024
"""Longest side, in pixels, at which the ink is found (larger images are block-averaged)."""
WINDOW_FRACTION = 3
"""The opening's square window is 1/3 of the longer side: wider than any stroke of a digit
that fills the image (a stroke survives the opening only if a whole window fits inside it),
and small enough to follow lighting (on a plane the opening is exact; under vignetting
that darkens the corners by 30% its error stays below 2% of the paper's level)."""


def block_mean(image, factor: int):
    """Average ``factor × factor`` blocks of an ``(H, W)`` or ``(H, W, C)`` image (the edge
    rows and columns that do not fill a block are dropped; the factor is at most the shorter
    side, so a thin strip keeps one row or column)."""
    factor = min(factor, image.shape[0], image.shape[1])
    if factor <= 1:
        return image
    h, w = image.shape[0] // factor * factor, image.shape[1] // factor * factor
    blocks = image[:h, :w].reshape(h // factor, factor, w // factor, factor, *image.shape[2:])
    return blocks.mean(axis=(1, 3))


def running_extreme(image, size: int, axis: int, extreme):
    r"""Minimum or maximum (``extreme`` = ``xp.minimum`` or ``xp.maximum``) over a centred
    window of ``size`` (odd) pixels along ``axis`` of a 2-D image, edges replicated.

    van Herk / Gil–Werman: split the padded line into blocks of ``size``; a window starting
    at ``i`` spans the end of one block and the start of the next, so its extreme is
    ``extreme(suffix[i], prefix[i + size − 1])`` of the per-block running extremes: three
    passes whatever the window's size."""
    xp = backend.xp
    line = xp.moveaxis(image, axis, -1)
    n, r = line.shape[-1], size // 2
    length = -(-(n + 2 * r) // size) * size
    padded = xp.pad(line, [(0, 0)] * (line.ndim - 1) + [(r, length - n - r)], mode="edge")
    blocks = padded.reshape(*padded.shape[:-1], length // size, size)
    prefix = extreme.accumulate(blocks, axis=-1).reshape(padded.shape)
    suffix = extreme.accumulate(blocks[..., ::-1], axis=-1)[..., ::-1].reshape(padded.shape)
    return xp.moveaxis(extreme(suffix[..., :n], prefix[..., size - 1:size - 1 + n]), -1, axis)


BACKGROUND_SIDE = 256
"""Side, in pixels, at which the background is estimated (it is smooth; block means first)."""


def background(image):
    r"""The paper's level under bright ink on a darker ground, shape of ``image`` ``(H, W)``.

    On the image reduced to :data:`BACKGROUND_SIDE` pixels by block means, the grey
    opening ``(image ⊖ S) ⊕ S`` by a square ``S`` of 1/3 of the longer side (erosion =
    minimum over the window, dilation = maximum; each separable into rows and columns):
    every bright feature narrower than ``S`` (a stroke) is removed, every wider one (the
    paper, its lighting, a shadow) kept. An opening cuts the tops of smooth bumps, though
    (under vignetting the darkened corners are bright here), so where a robust quadratic
    fit of the paper (:func:`smooth_part`) lies higher, the fit is the level. The result
    is interpolated bilinearly back to the image's pixels."""
    xp = backend.xp
    factor = min(-(-max(image.shape) // BACKGROUND_SIDE), *image.shape)  # as block_mean
    small = block_mean(image, factor)
    size = max(3, max(small.shape) // WINDOW_FRACTION // 2 * 2 + 1)
    eroded = running_extreme(running_extreme(small, size, 0, xp.minimum), size, 1, xp.minimum)
    opened = running_extreme(running_extreme(eroded, size, 0, xp.maximum), size, 1, xp.maximum)
    level = xp.maximum(opened, smooth_part(small))
    if factor == 1:
        return level
    return (_interpolation(image.shape[0], level.shape[0], factor) @ level
            @ _interpolation(image.shape[1], level.shape[1], factor).T)


def _interpolation(n_out: int, n_in: int, factor: int):
    """Matrix ``L (n_out, n_in)``: pixel ``y`` linearly between the centres
    ``(i + ½)·factor − ½`` of the blocks (constant beyond the first and last)."""
    xp = backend.xp
    at = xp.clip((xp.arange(n_out) + 0.5) / factor - 0.5, 0.0, n_in - 1.0)
    low = xp.floor(at).astype(int)
    high = xp.minimum(low + 1, n_in - 1)
    L = xp.zeros((n_out, n_in))
    rows = xp.arange(n_out)
    L[rows, low] += 1.0 - (at - low)
    L[rows, high] += at - low
    return L


FIT_SIDE = 64
"""Side, in pixels, of the thumbnail on which :func:`smooth_part` fits its surface."""


def smooth_part(rest):
    r"""The quadratic surface ``q(y, x) = Σ c_k y^i x^j`` (``i + j ≤ 2``, coordinates in
    [−1, 1]) that fits the paper of ``rest`` ``(H, W)`` (bright ink): least squares on a thumbnail,
    three times, each time on the points at most 3 σ above the last fit (ink is sparse and
    sharp; σ: 1.4826 × the median absolute deviation), the first time above the median."""
    xp = backend.xp
    h, w = rest.shape
    factor = min(-(-max(h, w) // FIT_SIDE), h, w)  # as block_mean
    thumb = block_mean(rest, factor)
    th, tw = thumb.shape
    if th < 3 or tw < 3:
        return xp.zeros_like(rest)

    def terms(ys, xs):
        return xp.stack([xp.ones_like(ys), ys, xs, ys * ys, ys * xs, xs * xs], axis=-1)

    ty, tx = xp.meshgrid(xp.linspace(-1, 1, th), xp.linspace(-1, 1, tw), indexing="ij")
    A, b = terms(ty, tx).reshape(-1, 6), thumb.ravel()
    keep = b <= xp.median(b) + 3 * robust_sigma(b) + 1e-12  # first guess: the paper is most
    for _ in range(3):
        kept = A[keep]
        coef = xp.linalg.solve(kept.T @ kept + 1e-9 * xp.eye(6), kept.T @ b[keep])
        off = b - A @ coef
        keep = off <= 3 * robust_sigma(off[keep]) + 1e-12
    # thumbnail pixel i covers image pixels [i·factor, (i+1)·factor): same coordinates
    ys = (xp.arange(h) / factor - (th - 1) / 2 + 0.5 - 0.5 / factor) / max((th - 1) / 2, 1e-9)
    xs = (xp.arange(w) / factor - (tw - 1) / 2 + 0.5 - 0.5 / factor) / max((tw - 1) / 2, 1e-9)
    y, x = ys[:, None], xs[None, :]
    return coef[0] + coef[1] * y + coef[2] * x + coef[3] * y * y + coef[4] * y * x + coef[5] * x * x


POLARITY_SIDE = 48
"""Side, in pixels, of the thumbnail on which the ink's polarity is decided."""


def dark_ink_evidence(image) -> tuple[float, float]:
    r"""``(dark, light)``: how much of ``image`` ``(H, W)`` lies far below and far above the
    paper, on a thumbnail of :data:`POLARITY_SIDE` pixels.

    The paper is the majority of every large window, so a running *median* over 1/3 of the
    thumbnail is the paper's level whatever the ink's polarity (an opening, by contrast,
    presumes it). With ``r`` the thumbnail minus that level and ``σ`` its robust spread,
    ``dark = Σ max(−r − 4σ, 0)`` and ``light = Σ max(r − 4σ, 0)``: the ink is on the side
    with more."""
    xp = backend.xp
    thumb = block_mean(image, -(-max(image.shape) // POLARITY_SIDE))
    radius = max(1, max(thumb.shape) // 6)
    padded = xp.pad(thumb, radius, mode="edge")
    h, w = thumb.shape
    side = 2 * radius + 1
    paper = xp.median(xp.stack([padded[i:i + h, j:j + w] for i in range(side)
                                for j in range(side)]), axis=0)
    r = thumb - paper
    sigma = robust_sigma(r)
    return (float(xp.clip(-r - 4 * sigma, 0.0, None).sum()),
            float(xp.clip(r - 4 * sigma, 0.0, None).sum()))


def robust_sigma(values) -> float:
    """The spread of the paper's noise: 1.4826 × the median absolute deviation (σ for a
    Gaussian; the ink, a minority of pixels, barely moves it)."""
    xp = backend.xp
    return float(1.4826 * xp.median(xp.abs(values - xp.median(values))))


def otsu_threshold(values, bins: int = 256) -> float:
    r"""Otsu's threshold of ``values``: over a histogram of ``bins`` levels, the level ``t``
    that maximises ``ω₀(t) ω₁(t) (μ₀(t) − μ₁(t))²`` (class weights and means below and
    above ``t``)."""
    xp = backend.xp
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return hi
    counts, edges = xp.histogram(values, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = xp.cumsum(counts)[:-1].astype(float)
    m0 = xp.cumsum(counts * centres)[:-1]
    total, total_mass = float(counts.sum()), float((counts * centres).sum())
    w1 = total - w0
    with_both = (w0 > 0) & (w1 > 0)
    mu0 = xp.where(with_both, m0 / xp.maximum(w0, 1), 0.0)
    mu1 = xp.where(with_both, (total_mass - m0) / xp.maximum(w1, 1), 0.0)
    between = xp.where(with_both, w0 * w1 * (mu0 - mu1) ** 2, -1.0)
    return float(edges[int(xp.argmax(between)) + 1])


_NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))
"""Half of the 8-neighbourhood (each undirected edge once)."""


def connected_components(mask):
    """``(labels, n)``: 8-connected components of a boolean ``(H, W)`` mask, labelled
    ``1 … n`` in order of their first pixel (row-major); 0 off the mask."""
    xp = backend.xp
    h, w = mask.shape
    flat = mask.ravel()
    pixels = xp.flatnonzero(flat)
    node = xp.full(h * w, -1, dtype=xp.int64)
    node[pixels] = xp.arange(pixels.size)
    index = xp.arange(h * w).reshape(h, w)
    a_ends, b_ends = [], []
    for dy, dx in _NEIGHBOURS:
        ys, ye = 0, h - dy
        xs, xe = max(0, -dx), w - max(0, dx)
        here = index[ys:ye, xs:xe]
        there = index[ys + dy:ye + dy, xs + dx:xe + dx]
        both = mask[ys:ye, xs:xe] & mask[ys + dy:ye + dy, xs + dx:xe + dx]
        a_ends.append(node[here[both]])
        b_ends.append(node[there[both]])
    a, b = xp.concatenate(a_ends), xp.concatenate(b_ends)
    parent = xp.arange(pixels.size)
    while a.size:
        ra, rb = parent[a], parent[b]
        apart = ra != rb
        if not bool(apart.any()):
            break
        a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]
        xp.minimum.at(parent, xp.maximum(ra, rb), xp.minimum(ra, rb))  # hook: root → smaller
        while True:  # pointer jumping: every pixel points at its root
            jumped = parent[parent]
            if bool((jumped == parent).all()):
                break
            parent = jumped
    roots, compact = xp.unique(parent, return_inverse=True)
    labels = xp.zeros(h * w, dtype=xp.int64)
    labels[pixels] = compact.ravel() + 1
    return labels.reshape(h, w), int(roots.size)
