r"""The sequential ``Network``: a list of layers plus a cost.

Backprop for the whole network (book ch. 2) is just the layers' own ``backward``
methods called in reverse order, starting from the cost's output delta::

    δᴸ = ∂C/∂Aᴸ ⊙ f'(Zᴸ)          (BP1; or the fused (Aᴸ − Y)/N, see nnlearn.nn.costs)
    δˡ = (δˡ⁺¹ Wˡ⁺¹ᵀ) ⊙ f'(Zˡ)      (BP2: Dense.backward, then the activation's)
    ∂C/∂bˡ = Σ_rows δˡ, ∂C/∂Wˡ = Aˡ⁻¹ᵀ δˡ   (BP3, BP4: Dense.backward)

:meth:`Network.output_error` computes δᴸ and :meth:`Network.backpropagate` carries it
down; the training step (:meth:`nnlearn.train.trainer.Trainer.train_step`) calls the two.

Gradient contract: a layer's ``backward`` *writes* the gradients of the current
minibatch into its ``grads`` arrays (in place, overwriting the previous minibatch's),
so a layer object may appear only once in a network; ``Network`` refuses a repeated
one, which would otherwise silently keep only the gradient of its last use.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy

from nnlearn import backend, defaults
from nnlearn.nn.costs import Cost, get_cost, is_one_hot
from nnlearn.checks import float_dtype
from nnlearn.errors import ConfigError, DataError
from nnlearn.nn.layers.activations import Activation
from nnlearn.nn.layers.base import Layer
from nnlearn.nn.memory import inference_batch_size

EVAL_BATCH_SIZE = 1000
"""Examples per forward pass in inference (predict, evaluate, monitors): large enough for
efficient matrix products, small enough that a convnet's activations stay in a few hundred MB."""


class Network:
    r"""A feed-forward network: ``layers`` applied in order, trained against ``cost``.

    Args:
        layers: the layers, first to last (activations are layers of their own).
        cost: a :class:`~nnlearn.nn.costs.Cost` or its name.
        seed: one seed for everything random in this network: initial weights,
            minibatch shuffling, dropout masks. The same seed gives bit-identical
            CPU runs.
        dtype: ``"float32"`` (default) or ``"float64"``.
        input_shape: shape of one example; inferred from a first ``Dense`` layer.

    Example::

        net = Network.from_sizes([784, 30, 10], cost="quadratic", seed=1)
        net.fit(X, y, epochs=30, mini_batch_size=10, eta=3.0,
                validation_data=(X_val, y_val))
    """

    def __init__(self, layers: Sequence[Layer], cost: str | Cost = defaults.COST, *,
                 seed: int | None = None, dtype: str = defaults.DTYPE,
                 input_shape: Sequence[int] | None = None):
        layers = list(layers)
        if not layers:
            raise ConfigError("a Network needs at least one layer")
        first_use: dict[int, int] = {}
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ConfigError(f"layer {i} is {layer!r}, not an nnlearn Layer")
            j = first_use.setdefault(id(layer), i)
            if j != i:
                raise ConfigError(
                    f"layer {i} is the same {type(layer).__name__} object as layer {j}; a layer "
                    "holds the gradients of one use per pass (backward writes them), so give each "
                    "position its own layer object")
        self.layers = layers
        self.cost = get_cost(cost)
        self._fused = self.cost.fused_activation is not None and \
            type(layers[-1]) is self.cost.fused_activation
        self.dtype = float_dtype(dtype)
        self.seed = seed
        if input_shape is None:
            input_shape = getattr(layers[0], "input_shape", None)
        if input_shape is None:
            raise ConfigError("cannot infer the input shape; pass input_shape=(C, H, W) or similar")
        self.input_shape = tuple(int(d) for d in input_shape)
        shape = self.input_shape
        for i, layer in enumerate(layers):
            try:
                shape = layer.output_shape(shape)
            except ValueError as exc:
                raise ConfigError(f"layer {i} ({type(layer).__name__}): {exc}") from None
        self.output_shape = tuple(shape)
        self.cost.check_output(output_activation_name(layers))
        self.rng = backend.default_rng(seed)
        for layer in layers:
            layer.rng = self.rng
            layer.initialize(self.rng, self.dtype)

    @classmethod
    def from_sizes(cls, sizes: Sequence[int], *, activation: str | Sequence[str] = defaults.ACTIVATION,
                   output_activation: str | None = None, cost: str | Cost = defaults.COST,
                   weight_init: str = defaults.WEIGHT_INIT, bias_init: str = defaults.BIAS_INIT,
                   dropout: float = 0.0, seed: int | None = None,
                   dtype: str = defaults.DTYPE) -> "Network":
        """The book's ``Network(sizes)``: Dense layers of the given widths with activations
        (``activation``: one name, or a list with one per hidden layer).

        The output activation fits the cost unless given (sigmoid for cross-entropy,
        softmax for log-likelihood; see :func:`nnlearn.nn.builder.output_activation_for`).
        """
        from nnlearn.nn import memory
        from nnlearn.nn.builder import mlp_layers

        if isinstance(sizes, (list, tuple)) and len(sizes) >= 2:  # else mlp_layers says what is wrong
            # refuse a network too large for the memory with the figure, before allocating it
            memory.require_training(memory.plan_network(memory.mlp_specs(sizes, dropout), sizes[:1]),
                                    dtype, mini_batch_size=defaults.MINI_BATCH_SIZE)
        layers = mlp_layers(sizes, activation=activation, output_activation=output_activation,
                            cost=cost, weight_init=weight_init, bias_init=bias_init,
                            dropout=dropout)
        return cls(layers, cost, seed=seed, dtype=dtype)

    # -- the passes ---------------------------------------------------------
    def forward(self, X, training: bool = False):
        """Outputs ``Aᴸ`` for a batch ``X`` (no input checks; see ``predict_proba``)."""
        for layer in self.layers:
            X = layer.forward(X, training)
        return X

    def output_error(self, A, Y):
        r"""δᴸ (BP1) for outputs ``A`` of the last ``forward`` and targets ``Y``.

        ``∂C/∂Aᴸ``, which the output activation's ``backward`` turns into ``∂C/∂Zᴸ``;
        or, when the output activation is the cost's fused one (sigmoid with
        cross-entropy, softmax with log-likelihood, linear with quadratic), ``∂C/∂Zᴸ``
        directly: ``(A − Y)/N`` (see :mod:`nnlearn.nn.costs`).
        """
        return self.cost.fused_delta(A, Y) if self._fused else self.cost.gradient(A, Y)

    def backpropagate(self, delta) -> None:
        """Carry ``delta = output_error(A, Y)`` down through the layers (BP2), each
        ``backward`` writing its ∂C/∂b, ∂C/∂W (BP3, BP4) into its ``grads``."""
        layers = self.layers
        i = len(layers) - 2 if self._fused else len(layers) - 1  # fused: δᴸ is already ∂C/∂Zᴸ
        while i >= 0:
            delta = layers[i].backward(delta, i > 0)  # the first layer's ∂C/∂X is not needed
            i -= 1

    def backward(self, A, Y) -> None:
        """Backprop from the outputs ``A`` of the last ``forward`` against targets ``Y``:
        ``backpropagate(output_error(A, Y))``, filling every layer's ``grads``."""
        self.backpropagate(self.output_error(A, Y))

    def parameters(self) -> list[tuple[Any, Any]]:
        """The ``(param, grad)`` pairs of all layers, in a fixed order."""
        return [(layer.params[k], layer.grads[k]) for layer in self.layers for k in layer.params]

    def __call__(self, X):
        return self.predict_proba(X)

    # -- inference ---------------------------------------------------------
    def check_inputs(self, X, name: str = "X"):
        """``X`` as an array of the network's dtype, or a ``DataError`` naming the problem."""
        xp = backend.xp
        if not hasattr(X, "shape"):
            X = numpy.asarray(X)
        if X.dtype.kind not in "biuf":
            raise DataError(f"{name} must be a numeric array, got dtype {X.dtype}")
        if X.ndim < 1 or X.shape[0] == 0:
            raise DataError(f"{name} is empty (shape {X.shape}); pass at least one example")
        if tuple(X.shape[1:]) != self.input_shape:
            raise DataError(
                f"{name} has shape {X.shape}, but this network takes examples of shape "
                f"{self.input_shape}, i.e. {name} of shape (N, {', '.join(map(str, self.input_shape))})"
            )
        X = xp.asarray(X, dtype=self.dtype)
        if not bool(xp.isfinite(X).all()):
            raise DataError(f"{name} contains NaN or inf; clean or impute the data first")
        return X

    def predict_proba(self, X, batch_size: int = EVAL_BATCH_SIZE):
        """Output activations for ``X`` (N, ...), computed in batches in inference mode."""
        X = self.check_inputs(X)
        return self._forward_batches(X, batch_size)

    def _forward_batches(self, X, batch_size: int = EVAL_BATCH_SIZE):
        xp = backend.xp
        batch_size = inference_batch_size(self, batch_size)  # smaller for very large examples
        parts = [self.forward(X[k:k + batch_size]) for k in range(0, X.shape[0], batch_size)]
        return parts[0] if len(parts) == 1 else xp.concatenate(parts)

    def predict(self, X, batch_size: int = EVAL_BATCH_SIZE):
        """The predicted class (argmax of the outputs) for each example."""
        return self.predict_proba(X, batch_size).argmax(axis=1)

    def targets(self, y, n: int, name: str = "y"):
        """Targets ``Y`` (N, K) for the cost: one-hot rows from integer labels, or checked 2-D targets.

        Real-valued (regression) or multi-label 0/1 targets are passed as an (N, K)
        array; for a network with a single output a 1-D ``y`` is taken as that one
        column. The cost then checks its domain (``Cost.check_targets``).
        """
        xp = backend.xp
        if not hasattr(y, "shape"):
            y = numpy.asarray(y)
        width = self.output_shape[0] if len(self.output_shape) == 1 else None
        if y.shape[:1] != (n,):
            raise DataError(f"{name} has {y.shape[0] if y.ndim else 0} rows but X has {n}; "
                            "pass one label or target row per example")
        if y.ndim == 1 and self.output_shape == (1,):
            y = y.reshape(n, 1)
        if y.ndim == 1:
            if y.dtype.kind not in "iu":
                raise DataError(f"{name} must hold integer class labels, got dtype {y.dtype}; "
                                "use y.astype(int) for labels or a 2-D array for targets")
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= width:
                raise DataError(f"{name} has labels in [{lo}, {hi}], but the network has {width} "
                                f"outputs, so labels must be in [0, {width - 1}]")
            Y = xp.zeros((n, width), dtype=self.dtype)
            Y[xp.arange(n), xp.asarray(y)] = 1.0
            return Y
        if tuple(y.shape[1:]) != self.output_shape:
            raise DataError(f"{name} has shape {y.shape}; targets must be integer labels of shape "
                            f"({n},) or an array of shape ({n}, {', '.join(map(str, self.output_shape))})")
        Y = xp.asarray(y, dtype=self.dtype)
        if not bool(xp.isfinite(Y).all()):
            raise DataError(f"{name} contains NaN or inf")
        self.cost.check_targets(Y, name)
        return Y

    def evaluate(self, X, y, batch_size: int = EVAL_BATCH_SIZE) -> dict[str, float]:
        """Cost and accuracy on ``(X, y)``: ``{"cost", "accuracy", "correct", "total"}``.

        Accuracy (argmax of outputs = target class) is reported only when the targets
        name one class per example (integer labels or one-hot rows); for regression
        or multi-label targets the result is ``{"cost", "total"}``.
        """
        X = self.check_inputs(X)
        Y = self.targets(y, X.shape[0])
        return self._evaluate(X, Y, batch_size)

    def _evaluate(self, X, Y, batch_size: int = EVAL_BATCH_SIZE) -> dict[str, float]:
        A = self._forward_batches(X, batch_size)
        total = int(X.shape[0])
        metrics = {"cost": self.cost.value(A, Y), "total": total}
        if is_one_hot(Y):
            correct = int((A.argmax(axis=1) == Y.argmax(axis=1)).sum())
            metrics.update(accuracy=correct / total, correct=correct)
        return metrics

    # -- state (exact copies, for checkpoints and early stopping) -------------
    def state_dict(self) -> dict[str, Any]:
        """Copies of every param and buffer, keyed ``"layer{i}.params.{name}"`` /
        ``"layer{i}.buffers.{name}"`` (the model file's array names)."""
        xp = backend.xp
        return {f"layer{i}.{kind}.{key}": xp.array(value, copy=True)
                for i, layer in enumerate(self.layers) for kind in ("params", "buffers")
                for key, value in getattr(layer, kind).items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy the arrays of :meth:`state_dict` back *into* the existing arrays (in place,
        so ``(param, grad)`` pairs held by a training loop stay valid)."""
        stores = {f"layer{i}.{kind}.{key}": (getattr(layer, kind), key)
                  for i, layer in enumerate(self.layers) for kind in ("params", "buffers")
                  for key in getattr(layer, kind)}
        if set(state) != set(stores):
            raise ConfigError(f"network state does not match the architecture (missing "
                              f"{sorted(set(stores) - set(state))}, unexpected "
                              f"{sorted(set(state) - set(stores))})")
        for name, (store, key) in stores.items():
            if tuple(state[name].shape) != tuple(store[key].shape):
                raise ConfigError(f"network state {name} has shape {tuple(state[name].shape)}, "
                                  f"expected {tuple(store[key].shape)}")
            store[key][...] = state[name]

    # -- training and persistence -------------------------------------------
    def fit(self, X, y, *, epochs: int = defaults.EPOCHS,
            mini_batch_size: int = defaults.MINI_BATCH_SIZE, eta: float = defaults.ETA,
            validation_data: tuple[Any, Any] | None = None, monitor: Iterable[str] | None = None,
            callbacks: Iterable[Callable[[dict], None]] = (), **options: Any):
        """Train with minibatch SGD; the book's ``SGD(training_data, epochs, mini_batch_size, eta)``.

        See :func:`nnlearn.train.trainer.fit` for every option. Returns the ``History``.
        """
        from nnlearn.train.trainer import fit
        return fit(self, X, y, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta,
                   validation_data=validation_data, monitor=monitor, callbacks=callbacks, **options)

    def save(self, path, metadata: dict[str, Any] | None = None) -> None:
        """Write the network to ``path`` (no pickle; see :mod:`nnlearn.io.model_file`)."""
        from nnlearn.io.model_file import save
        save(self, path, metadata)

    def config(self) -> dict[str, Any]:
        """Architecture as JSON-compatible values."""
        return {"layers": [{"type": type(l).__name__, "config": l.config()} for l in self.layers],
                "cost": self.cost.name, "dtype": self.dtype, "input_shape": list(self.input_shape)}

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(l) for l in self.layers)
        return f"Network([\n  {inner}\n], cost={self.cost.name!r}, dtype={self.dtype!r})"


def output_activation_name(layers: Sequence[Layer]) -> str:
    """The name of the output activation: the last layer's if it is an activation,
    ``"linear"`` when the network ends in an affine or shape layer."""
    last = layers[-1]
    return last.name if isinstance(last, Activation) else "linear"
