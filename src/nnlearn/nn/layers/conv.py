r"""2-D convolution over NCHW image batches (book ch. 6, "local receptive fields").

Notation (one minibatch, images batch-first)::

    X  (N, C, H, W)       input: N images of C channels ("feature maps") of H×W pixels
    Wt (F, C, kh, kw)     F kernels ("filters"), one per output feature map   (params["W"])
    b  (F,)               one bias per output feature map (shared weights and bias)
    Y  (N, F, OH, OW)     output feature maps
    s = (sh, sw)          stride; padding adds zero rows/columns around X, giving Xp

Forward (a cross-correlation, as in every deep-learning library; the book's eq. 125
with its ``w_{l,m}`` is the same thing for one map)::

    Y[n,f,y,x] = b[f] + Σ_{c,i,j} Wt[f,c,i,j] · Xp[n, c, y·sh + i, x·sw + j]
    OH = ⌊(H + pad_top + pad_bottom − kh) / sh⌋ + 1      (likewise OW)

Backward, with ``δ = dY = ∂C/∂Y`` (the shared-weight form of BP3/BP4 and BP2)::

    ∂C/∂Wt[f,c,i,j] = Σ_{n,y,x} δ[n,f,y,x] · Xp[n, c, y·sh + i, x·sw + j]
    ∂C/∂b[f]        = Σ_{n,y,x} δ[n,f,y,x]
    ∂C/∂Xp[n,c,h,w] = Σ_{f,i,j,y,x : h = y·sh+i, w = x·sw+j} Wt[f,c,i,j] · δ[n,f,y,x]

Implementation ("im2col"): every receptive field of the whole minibatch is copied
once into a column matrix, so that the forward pass is one matrix product
``Y = Wm @ cols + b`` with ``Wm = Wt.reshape(F, C·kh·kw)``; the backward pass is two
more products, ``∂C/∂Wm = δ colsᵀ`` and ``dcols = Wmᵀ δ``, and "col2im" adds ``dcols``
back onto the input with one strided add per kernel offset (kh·kw adds, each over the
whole minibatch). No Python loop runs over examples, pixels or channels.

Two layouts of ``cols``, chosen per layer by size (same results, different speed):

* batch-first ``(N, C·kh·kw + 1, OH·OW)`` (a window view copied once): ``Y`` comes out
  in NCHW order directly. Best when the column matrix is not much bigger than the
  output, e.g. the first layer of a convnet (one input channel).
* batch-last ``(C·kh·kw + 1, OH·OW·N)``: the im2col copies and col2im adds run over
  long contiguous rows and ``∂C/∂Wm`` is one large product. Best for many input
  channels (20→40 maps, 5×5).

(The extra row of ones carries the bias: ``Y = [Wm | b] @ [cols; 1]``, and the product
for ``∂C/∂Wm`` gives ``∂C/∂b`` as its last column.)

Batch-last activations are handed on as they are: ``Y`` is the product ``(F, OH, OW, N)``
returned as an NCHW *view* (``Y[n, f, y, x]`` reads it through its strides), and
``∂C/∂X`` likewise. ReLU and 2×2 max-pooling keep that storage order
(:mod:`nnlearn.nn.kernels`), and a batch-last convolution reads an input or ``δ``
stored that way (:func:`~nnlearn.nn.layers.windows.batch_last`) without a transpose,
so conv → ReLU → pool → conv moves no array between layouts. Every other layer just
sees NCHW arrays (NumPy follows the strides; ``Flatten`` copies its small input).

In training, the large work arrays (``cols``, ``dcols``, transposes) are kept and
reused from one minibatch to the next; layer outputs and ``∂C/∂X`` are always new
arrays.

References: K. Chellapilla, S. Puri, P. Simard, "High performance convolutional
neural networks for document processing" (2006) for im2col; Y. LeCun et al.,
"Gradient-based learning applied to document recognition" (1998).
"""

from __future__ import annotations

from typing import Any, Sequence

from nnlearn import backend, defaults
from nnlearn.checks import float_dtype
from nnlearn.errors import ConfigError, DataError
from nnlearn.nn.init import get_initializer
from nnlearn.nn.layers.base import Layer, LayerPlan, register_layer, window_work
from nnlearn.nn.kernels import col2im, im2col_batch_last
from nnlearn.nn.layers.windows import (batch_last, check_batch, im2col,
                                       image_shape, pair, positive_int, scratch, window_pair)

_INFERENCE_COLS_BYTES = 64 * 2**20
"""In inference, minibatches whose ``cols`` would exceed this are convolved in chunks."""


def conv_padding(padding: Any, kernel: tuple[int, int],
                 stride: tuple[int, int]) -> str | tuple[int, int]:
    """Check a Conv2D ``padding``: ``"valid"``, ``"same"`` (stride 1 only) or ``(ph, pw)``
    with ``0 ≤ ph ≤ kh − 1`` and ``0 ≤ pw ≤ kw − 1``.

    More padding than ``k − 1`` would only add output pixels whose windows see nothing
    but zeros (their value is the bias), and lets a few bytes of config or model file
    ask for gigabytes of activations (``padding=20000``), so it is refused.
    """
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ConfigError(f"padding must be 'valid', 'same', an int or a pair of ints, "
                              f"got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ConfigError(f"padding='same' needs stride 1 (got stride={stride}): "
                              "with a larger stride no padding keeps the output size; "
                              "pass an explicit int padding instead")
        return padding
    values = tuple(padding) if isinstance(padding, (list, tuple)) else (padding, padding)
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 0
                               for v in values):
        raise ConfigError(f"padding must be 'valid', 'same', an int ≥ 0 or a pair of them, "
                          f"got {padding!r}")
    if values[0] > kernel[0] - 1 or values[1] > kernel[1] - 1:
        raise ConfigError(f"padding {padding!r} exceeds kernel_size − 1 = "
                          f"{(kernel[0] - 1, kernel[1] - 1)}: the extra rows and columns would "
                          "only add outputs that see zeros; use at most kernel_size − 1 "
                          "(or padding='same')")
    return values  # type: ignore[return-value]


def conv_pads(padding: str | tuple[int, int], kernel: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` zero rows/columns of a checked ``padding``."""
    if padding == "valid":
        return (0, 0, 0, 0)
    (kh, kw) = kernel
    if padding == "same":
        return ((kh - 1) // 2, kh // 2, (kw - 1) // 2, kw // 2)
    ph, pw = padding
    return (ph, ph, pw, pw)


def conv_output_shape(input_shape: Sequence[int], in_channels: int, out_channels: int,
                      kernel: tuple[int, int], stride: tuple[int, int],
                      pads: tuple[int, int, int, int], padding: Any = None) -> tuple[int, int, int]:
    """``(F, OH, OW)`` of a convolution for one example ``(C, H, W)``; ``DataError`` if impossible."""
    C, H, W = image_shape("Conv2D", input_shape)
    if C != in_channels:
        raise DataError(f"Conv2D(in_channels={in_channels}) got inputs with {C} "
                        f"channels (per-example shape {(C, H, W)}); set in_channels={C} "
                        "or fix the layer before")
    (kh, kw), (sh, sw) = kernel, stride
    top, bottom, left, right = pads
    Hp, Wp = H + top + bottom, W + left + right
    if kh > Hp or kw > Wp:
        raise DataError(f"Conv2D kernel {kh}×{kw} is larger than its input {H}×{W} "
                        f"(padded to {Hp}×{Wp} by padding={padding!r}); use a smaller "
                        "kernel, more padding, or fewer pooling layers before")
    return (out_channels, (Hp - kh) // sh + 1, (Wp - kw) // sw + 1)


@register_layer
class Conv2D(Layer):
    r"""2-D convolution with F feature maps, shared weights and one bias per map.

    See the module docstring for the forward and backward equations.

    Args:
        in_channels, out_channels: C and F.
        kernel_size: ``k`` or ``(kh, kw)`` (the book's 5×5 local receptive field: 5).
        stride: ``s`` or ``(sh, sw)``; default 1.
        padding: ``"valid"`` (none, default), ``"same"`` (output H×W = input H×W; only
            with stride 1, since with a larger stride no padding keeps the size; an
            even kernel puts the extra row/column at the bottom/right, as PyTorch
            and TensorFlow do), an int ``p`` or a pair ``(ph, pw)`` of zero rows and
            columns added on each side.
        weight_init: initialiser name (``nnlearn.nn.init``) called with
            ``fan_in = C·kh·kw``, ``fan_out = F·kh·kw``; default ``"normal_fan_in"``
            (N(0, 1/fan_in)).
        bias_init: default ``"normal"`` (N(0, 1), the book's).
        dtype, seed: as for :class:`~nnlearn.nn.layers.dense.Dense`.
        input_shape: optional ``(C, H, W)`` of one example, so that a ``Network``
            whose first layer is this one can infer its input shape.

    Shapes: ``X (N, C, H, W) → Y (N, F, OH, OW)``; ``decay_keys = ("W",)``.
    """

    decay_keys = ("W",)
    per_example = True
    _layout: str = "auto"
    """``"auto"``, ``"batch"`` or ``"batch_last"``: the im2col layout (tests force each)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int], *,
                 stride: int | Sequence[int] = 1, padding: str | int | Sequence[int] = "valid",
                 weight_init: str = defaults.WEIGHT_INIT, bias_init: str = defaults.BIAS_INIT,
                 dtype: str = defaults.DTYPE, seed: int | None = None,
                 input_shape: Sequence[int] | None = None):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        self.out_channels = positive_int("out_channels", out_channels)
        self.kernel_size = window_pair("kernel_size", kernel_size)
        self.stride = pair("stride", stride)
        self.padding = conv_padding(padding, self.kernel_size, self.stride)
        self.pads = conv_pads(self.padding, self.kernel_size)  # (top, bottom, left, right)
        self.weight_init = weight_init
        self.bias_init = bias_init
        get_initializer(weight_init), get_initializer(bias_init)  # validate names now
        self.input_shape = None
        if input_shape is not None:
            try:
                self.input_shape = image_shape("Conv2D input_shape", input_shape)
                self.output_shape(self.input_shape)
            except DataError as exc:
                raise ConfigError(str(exc)) from None
        self.initialize(backend.default_rng(seed), dtype)
        self._cols = None
        self._batch_last_cols = False
        self._in_shape: tuple[tuple[int, ...], tuple[int, ...]] | None = None
        self._work: dict[str, Any] = {}

    def initialize(self, rng, dtype: str = defaults.DTYPE) -> None:
        """Draw ``W`` then ``b`` from ``rng`` with ``fan_in = C·kh·kw``."""
        dtype = float_dtype(dtype)
        (kh, kw), C, F = self.kernel_size, self.in_channels, self.out_channels
        fan_in, fan_out = C * kh * kw, F * kh * kw
        W = get_initializer(self.weight_init)(rng, (F, C, kh, kw), fan_in, fan_out)
        b = get_initializer(self.bias_init)(rng, (F,), fan_in, fan_out)
        self.params = {"W": W.astype(dtype), "b": b.astype(dtype)}
        self._allocate_grads()

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, int, int]:
        """``(F, OH, OW)`` for one example of shape ``(C, H, W)``; ``DataError`` if impossible."""
        return conv_output_shape(input_shape, self.in_channels, self.out_channels,
                                 self.kernel_size, self.stride, self.pads, self.padding)

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "in_channels": self.in_channels, "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "weight_init": self.weight_init, "bias_init": self.bias_init}
        if self.input_shape is not None:
            cfg["input_shape"] = list(self.input_shape)
        return cfg

    # -- the passes ---------------------------------------------------------------

    def _batch_last(self, x_shape: tuple[int, ...], out_hw: tuple[int, int]) -> bool:
        """Pick the layout: batch-last may pay a transpose of X (none when X is stored
        batch-last) to make the im2col copy and col2im run over long rows and ∂C/∂W one
        big product, which wins when the column matrix is much larger than X and Y (e.g.
        20→40 maps, 5×5). For the 1-channel first layer of network (d), batch-last
        measured slower (its ∂C/∂W product, 26 × 576·N × 20, runs poorly in BLAS)."""
        if self._layout != "auto":
            return self._layout == "batch_last"
        (kh, kw), (C, H, W), P = self.kernel_size, x_shape[1:], out_hw[0] * out_hw[1]
        return C * kh * kw * P >= 2 * (C * H * W + self.out_channels * P)

    def _pad(self, X):
        top, bottom, left, right = self.pads
        if not (top or bottom or left or right):
            return X
        return backend.xp.pad(X, ((0, 0), (0, 0), (top, bottom), (left, right)))

    def _scratch(self, name: str, shape: tuple[int, ...], dtype, reuse: bool = True):
        return scratch(self._work, name, shape, dtype, reuse)

    def forward(self, X, training: bool = False):
        r"""``Y = [Wm | b] @ [im2col(Xp); 1]`` (see the module docstring); caches ``cols``.

        Batch-last, ``Y`` is returned as an NCHW view of the product ``(F, OH, OW, N)``
        (stored batch-last: :func:`~nnlearn.nn.layers.windows.batch_last`), and an input
        stored batch-last is read without a transpose.
        """
        xp = backend.xp
        F, OH, OW = check_batch(self, X)
        N, C, H, W = X.shape
        (kh, kw), (top, bottom, left, right) = self.kernel_size, self.pads
        padded = (N, C, H + top + bottom, W + left + right)
        K = C * kh * kw
        cols_bytes = K * OH * OW * X.itemsize  # per example
        if not training and N > 1 and N * cols_bytes > _INFERENCE_COLS_BYTES:
            # inference on a large batch: bounded memory, nothing cached for backward
            step = max(1, _INFERENCE_COLS_BYTES // cols_bytes)
            Y = xp.concatenate([self.forward(X[k:k + step]) for k in range(0, N, step)])
            self._cols = None
            return Y
        # cols gets an extra row of ones so that the bias rides in the product,
        # Y = [Wm | b] @ [cols; 1], and backward gets ∂C/∂b from the same product as ∂C/∂Wm
        Wb = xp.concatenate([self.params["W"].reshape(F, K), self.params["b"][:, None]], axis=1)
        batch_last_cols = self._batch_last(X.shape, (OH, OW))
        if batch_last_cols:
            Xt = batch_last(X) if padded == X.shape else None
            if Xt is None:
                Xt = self._scratch("X_t", padded[1:] + (N,), X.dtype, training)
                if padded != X.shape:
                    Xt.fill(0)
                xp.copyto(Xt[:, top:top + H, left:left + W], X.transpose(1, 2, 3, 0))
            cols = self._scratch("cols", (K + 1, OH * OW * N), X.dtype, training)
            im2col_batch_last(Xt, self.kernel_size, self.stride, (OH, OW), cols[:K])
            cols[K] = 1
            Y = xp.matmul(Wb, cols).reshape(F, OH, OW, N).transpose(3, 0, 1, 2)  # stored batch-last
        else:
            cols = self._scratch("cols", (N, K + 1, OH * OW), X.dtype, training)
            im2col(self._pad(X), self.kernel_size, self.stride, (OH, OW), cols[:, :K])
            cols[:, K] = 1
            Y = xp.matmul(Wb, cols).reshape(N, F, OH, OW)  # (N, F, OH·OW), already NCHW-ordered
        self._cols, self._batch_last_cols, self._in_shape = cols, batch_last_cols, (X.shape, padded)
        return Y

    def backward(self, dY, need_dx: bool = True):
        r"""Gradients from ``δ = dY (N, F, OH, OW)`` (shared-weight BP2–BP4)::

            [∂C/∂Wm | ∂C/∂b] = Σ_n δₙ [colsₙ; 1]ᵀ        dcols = Wmᵀ δ
            ∂C/∂X = crop(col2im(dcols))

        Writes ``grads["W"]`` and ``grads["b"]``; returns ``∂C/∂X (N, C, H, W)``, stored
        batch-last (an NCHW view of a ``(C, H, W, N)`` array).
        """
        xp = backend.xp
        cols = self._cols
        if cols is None:
            raise RuntimeError("Conv2D.backward called before forward "
                               "(or after a chunked inference forward of a large batch)")
        x_shape, padded = self._in_shape
        (N, F, OH, OW), dtype = dY.shape, dY.dtype
        Wm = self.params["W"].reshape(F, -1)
        K = Wm.shape[1]
        gW = self.grads["W"].reshape(F, K)
        Dt = None
        if self._batch_last_cols or need_dx:
            # δ batch-last, (F, OH·OW·N): one product gives all of dcols (and ∂C/∂W);
            # a δ stored batch-last (from ReLU or max-pooling after a batch-last layer) is that already
            Dt = batch_last(dY)
            if Dt is None:
                Dt = self._scratch("dY_t", (F, OH, OW, N), dtype)
                xp.copyto(Dt, dY.transpose(1, 2, 3, 0))
            Dt = Dt.reshape(F, -1)
        if self._batch_last_cols:
            # [∂C/∂Wm | ∂C/∂b]ᵀ = [cols; 1] δᵀ: this orientation of the product is the faster one
            gWbt = xp.matmul(cols, Dt.T, out=self._scratch("dWb_t", (K + 1, F), dtype))
        else:
            D = dY.reshape(N, F, -1)
            terms = xp.matmul(D, cols.transpose(0, 2, 1),
                              out=self._scratch("dW_terms", (N, F, K + 1), dtype))
            gWbt = xp.sum(terms, axis=0, out=self._scratch("dWb", (F, K + 1), dtype)).T
        xp.copyto(gW, gWbt[:K].T)
        xp.copyto(self.grads["b"], gWbt[K])
        if not need_dx:
            return None
        dcols_t = xp.matmul(Wm.T, Dt, out=self._scratch("dcols_t", (K, Dt.shape[1]), dtype))
        dXp = col2im(dcols_t, padded, self.kernel_size, self.stride, (OH, OW),
                     work=xp.empty(padded[1:] + (N,), dtype=dtype))  # a new array: ∂C/∂X is returned
        top, _, left, _ = self.pads
        H, W = x_shape[2:]
        return dXp[:, :, top:top + H, left:left + W]

    def __repr__(self) -> str:
        return (f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding!r})")

    @classmethod
    def plan(cls, config: dict[str, Any], input_shape: Sequence[int]) -> LayerPlan:
        """``W (F, C, kh, kw)``, ``b (F,)`` and the im2col columns ``C·kh·kw × OH·OW`` per
        example, from ``config`` without allocating them."""
        C = positive_int("in_channels", config.get("in_channels"))
        F = positive_int("out_channels", config.get("out_channels"))
        kernel = window_pair("kernel_size", config.get("kernel_size"))
        stride = pair("stride", config.get("stride", 1))
        padding = conv_padding(config.get("padding", "valid"), kernel, stride)
        shape = tuple(int(d) for d in input_shape)
        out = conv_output_shape(shape, C, F, kernel, stride, conv_pads(padding, kernel), padding)
        weights = F * C * kernel[0] * kernel[1]
        return LayerPlan("Conv2D", shape, out, params=weights + F, largest_param=weights,
                         work=window_work(C * kernel[0] * kernel[1], out))

