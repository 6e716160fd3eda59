"""The network that trains: the math of ``nn/reference.py``, in preallocated buffers.

Shapes follow the classic tutorial: a layer's weights ``W`` are (units out, units in) and its
bias ``b`` is (units out,). Samples are rows, so a layer computes ``Z = A_prev @ W.T + b``;
the output layer is the softmax, the loss the cross-entropy, and backprop starts from
dL/dZ = (A - Y) / n. ``nn.reference`` states it plainly; this class computes the same numbers
(tests compare the two) without allocating in a training step, and hands the first layer's
products and the optimiser's update to the tricks in ``nn.fast``. ``params``, ``weights`` and
``grads`` always come in the tutorial's layout, whatever the storage (``nn.fast.storage``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES, softmax_inplace
from .fast.column_split import ColumnSplit, ColumnSplitCache
from .fast.first_layer import FirstLayer
from .fast.fused import GradientTarget, accumulate, product_into
from .fast.reductions import column_sums, row_argmax
from .fast.row_blocks import row_blocks
from .fast.storage import InputLayout, ParameterStorage

INITS = ("auto", "tutorial", "he", "xavier")
DTYPES = ("float32", "float64")


def resolve_init(init: str, activation: str) -> str:
    """'auto' picks He for ReLU and the tutorial's 1/sqrt(fan_in) (LeCun) scaling otherwise."""
    if init == "auto":
        return "he" if activation == "relu" else "tutorial"
    return init


def initial_parameters(layer_sizes: Sequence[int], init: str, seed: int, dtype) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...], drawn in layer order from one seeded stream, biases zero.

    ``RandomState(seed).randn`` draws exactly what the tutorial's ``np.random.seed(seed)`` then
    ``np.random.randn`` draws, without touching NumPy's global random state.
    """
    rng = np.random.RandomState(seed)
    params = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        if init == "tutorial":
            w = rng.randn(fan_out, fan_in) / np.sqrt(fan_in)
        elif init == "he":
            w = rng.randn(fan_out, fan_in) * np.sqrt(2.0 / fan_in)
        elif init == "xavier":
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, size=(fan_out, fan_in))
        else:
            raise ValueError(f"unknown initialisation {init!r}; choose one of {', '.join(INITS)}")
        params += [w.astype(dtype), np.zeros(fan_out, dtype=dtype)]
    return params


@dataclass
class _Buffers:
    """Per-batch-size work arrays: each layer's output and each hidden layer's gradient (and,
    with dropout, each hidden layer's output after its mask)."""

    activations: list[np.ndarray]
    deltas: list[np.ndarray]
    dropped: list[np.ndarray] | None = None


class Network:
    def __init__(self, layer_sizes: Sequence[int], activation: str = "sigmoid",
                 params: Sequence[np.ndarray] | None = None, dtype="float32",
                 active_inputs: np.ndarray | None = None):
        """``params`` are [W1, b1, ...] with each W as (units out, units in). ``active_inputs``:
        the input columns that are nonzero somewhere in the training data, if known; when they
        leave out enough, the first layer is stored in the faster :class:`InputLayout`."""
        if len(layer_sizes) < 2:
            raise ValueError("a network needs at least an input and an output layer")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        self.activation = activation
        self.dtype = np.dtype(dtype)
        if params is None:
            params = initial_parameters(self.layer_sizes, "tutorial", 1, self.dtype)
        expected = self.param_shapes()
        if [np.shape(p) for p in params] != expected:
            raise ValueError(f"parameter shapes {[np.shape(p) for p in params]} do not match {expected}")
        layout = None
        if active_inputs is not None and len(active_inputs) < 0.95 * self.layer_sizes[0]:
            layout = InputLayout.for_active(active_inputs, self.layer_sizes[0])
        self.storage = ParameterStorage(expected, self.dtype, layout)
        self.load_params(params)
        self._first_layer = FirstLayer(self.storage, expected[0], self.dtype)
        self._column_splits = ColumnSplitCache()
        self._buffers: dict[int, _Buffers] = {}
        self._activate = ACTIVATIONS[activation]
        self._derivative = DERIVATIVES[activation]

    @classmethod
    def initialized(cls, layer_sizes: Sequence[int], activation: str = "sigmoid", init: str = "auto",
                    seed: int = 1, dtype="float32", active_inputs: np.ndarray | None = None) -> "Network":
        init = resolve_init(init, activation)
        return cls(layer_sizes, activation, initial_parameters(layer_sizes, init, seed, dtype), dtype,
                   active_inputs)

    # -- parameters, always as (units out, units in) in input order ------------------------------
    @property
    def params(self) -> list[np.ndarray]:
        """[W1, b1, ...]: read-only views, or new arrays where the storage differs; to change
        parameters use :meth:`load_params`."""
        return [_read_only(self.to_public(i, p)) for i, p in enumerate(self.storage.params)]

    @property
    def weights(self) -> list[np.ndarray]:
        return self.params[0::2]

    @property
    def biases(self) -> list[np.ndarray]:
        return self.params[1::2]

    @property
    def grads(self) -> list[np.ndarray]:
        """The gradients of the last :meth:`loss_and_gradients`, shaped like :attr:`params`."""
        return [_read_only(self.to_public(i, g)) for i, g in enumerate(self.storage.grads)]

    def public_params(self) -> list[np.ndarray]:
        return self.params

    def to_public(self, index: int, array: np.ndarray) -> np.ndarray:
        """An array laid out like stored parameter ``index`` (e.g. optimiser state) as
        (units out, units in) in input order."""
        return self.storage.to_public(index, array)

    def from_public(self, index: int, array: np.ndarray) -> np.ndarray:
        return self.storage.from_public(index, array)

    def load_params(self, params: Sequence[np.ndarray]) -> None:
        """Set every parameter from [W1, b1, ...]."""
        for i, (target, source) in enumerate(zip(self.storage.params, params)):
            target[...] = self.from_public(i, source)

    def first_layer_weights(self, units: np.ndarray | None = None) -> np.ndarray:
        """A copy of the first layer's weights, of every unit or only of ``units`` (rows in
        that order)."""
        w, layout = self.storage.params[0], self.storage.layout
        if layout is None:
            return w.copy() if units is None else w[units]
        if units is not None:
            w = w[:, units]  # picking the few columns first makes reordering them cheap
        return layout.public(w)

    # -- structure -----------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes) - 1

    def param_shapes(self) -> list[tuple[int, ...]]:
        shapes: list[tuple[int, ...]] = []
        for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            shapes += [(fan_out, fan_in), (fan_out,)]
        return shapes

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.storage.params)

    def parameters_finite(self) -> bool:
        return bool(np.isfinite(self.storage.flat_params).all())

    def _buffers_for(self, n: int) -> _Buffers:
        buffers = self._buffers.get(n)
        if buffers is None:
            # Only a couple of batch sizes occur (the batch and the epoch's last, shorter batch).
            if len(self._buffers) >= 8:
                self._buffers.clear()
            buffers = _Buffers(
                activations=[np.empty((n, size), dtype=self.dtype) for size in self.layer_sizes[1:]],
                deltas=[np.empty((n, size), dtype=self.dtype) for size in self.layer_sizes[1:-1]],
            )
            self._buffers[n] = buffers
        return buffers

    def release_buffers(self) -> None:
        self._buffers.clear()
        self._column_splits.clear()

    # -- forward ---------------------------------------------------------------------------------
    def _forward(self, x: np.ndarray, labels: np.ndarray | None = None, split: ColumnSplit | None = None,
                 blocks: list[tuple[int, int]] | None = None, internal: bool = False,
                 dropout: Sequence[np.ndarray] | None = None,
                 ) -> tuple[list[np.ndarray], list[np.ndarray], float | None]:
        """Every layer's output for ``x`` and every layer's input (in shared buffers; with
        ``dropout`` a hidden layer's output and the next layer's input differ), and the summed
        loss if labelled."""
        buffers = self._buffers_for(x.shape[0])
        acts = buffers.activations
        if dropout is not None and buffers.dropped is None:
            buffers.dropped = [np.empty_like(a) for a in acts[:-1]]
        params = self.storage.params
        inputs = [x]
        for layer in range(self.n_layers):
            z = acts[layer]
            if layer == 0:
                self._first_layer.product(x, z, split, blocks or [(0, x.shape[1])], internal)
            else:
                np.matmul(inputs[-1], params[2 * layer].T, out=z)  # Z = A_prev W^T ...
            z += params[2 * layer + 1]  # ... + b
            if layer < self.n_layers - 1:
                self._activate(z)  # A = g(Z)
                # inverted dropout: the next layer sees A * mask (mask = kept / keep probability)
                inputs.append(z if dropout is None else np.multiply(z, dropout[layer], out=buffers.dropped[layer]))
        loss_sum = softmax_inplace(acts[-1], labels)  # P = softmax(Z_out), and sum of -log p_true
        return acts, inputs, loss_sum

    # -- backward --------------------------------------------------------------------------------
    def loss_and_gradients(self, x: np.ndarray, Y: np.ndarray, labels: np.ndarray, l2: float = 0.0, *,
                           target: GradientTarget | None = None, max_loss: float = math.inf,
                           extents: np.ndarray | None = None,
                           dropout: Sequence[np.ndarray] | None = None) -> tuple[float, int]:
        """Mean cross-entropy (plus ``l2``/2 times the squared weights) and the number of
        correct predictions on (x, Y); the gradients go to :attr:`grads`.

        ``Y`` is the one-hot target and ``labels`` the same classes as integers.
        ``target``: an optimiser's :class:`GradientTarget`, to have backprop's products write
        the update itself (see ``nn.fast.fused``); ``grads`` then hold scratch.
        ``max_loss``: above it (or NaN), no gradient is written at all: a diverging step must
        not reach the weights. ``extents``: for compact rows sorted by it (see
        ``nn.data.ActivePixels``), each row's number of leading columns that may be nonzero;
        the caller vouches for it. ``dropout``: one mask per hidden layer, (n, units) or (units,),
        holding 0 for a dropped unit and 1 / keep probability for a kept one (inverted dropout).
        """
        n = x.shape[0]
        split = self._column_splits.split_for(x)
        blocks = row_blocks(x.shape[1], extents)  # once for both of the first layer's products
        acts, inputs, loss_sum = self._forward(x, labels, split, blocks, dropout=dropout)
        stored = self.storage
        loss = loss_sum / n
        if l2:
            loss += 0.5 * l2 * sum(float(np.vdot(w, w)) for w in stored.weights)
        probs = acts[-1]
        correct = int(np.count_nonzero(row_argmax(probs) == labels))
        if not loss <= max_loss:  # (also when NaN)
            return loss, correct
        targets, keep, scale = (stored.grads, 0.0, 1.0) if target is None else (
            target.arrays, target.keep, target.scale)
        fused = targets is not stored.grads
        # With a fused target and L2, each weight's L2 term goes in first, then its product adds on.
        weight_keep = 1.0 if fused and l2 else keep
        delta = probs
        delta -= Y  # dL/dZ = A - Y for softmax with cross-entropy ...
        delta *= scale / n  # ... averaged over the batch (and scaled if asked)
        deltas = self._buffers_for(n).deltas
        for layer in range(self.n_layers - 1, -1, -1):
            a_prev = inputs[layer]
            w = stored.params[2 * layer]
            if layer > 0:  # dL/dA_prev = dZ W (before this layer's weights may change)
                np.matmul(delta, w, out=deltas[layer - 1])
            if fused and l2:
                accumulate(targets[2 * layer], keep, (l2 * scale) * w)
            # dL/dW = dZ^T A_prev
            if layer == 0:
                self._first_layer.weight_gradient(delta, x, split, targets[0], weight_keep, blocks)
            else:
                product_into(delta.T, a_prev, targets[2 * layer], weight_keep, stored.grads[2 * layer])
            bias_grad = column_sums(delta, out=stored.grads[2 * layer + 1])  # dL/db = sum of dZ's rows
            if fused:
                accumulate(targets[2 * layer + 1], keep, bias_grad)
            if layer > 0:  # dZ_prev = dL/dA_prev * g'(Z_prev), g' from the output (its last use)
                if dropout is not None:  # a dropped unit passed nothing on, so it gets no gradient
                    deltas[layer - 1] *= dropout[layer - 1]
                self._derivative(acts[layer - 1], deltas[layer - 1])
                delta = deltas[layer - 1]
        if l2 and not fused:
            for w, grad_w in zip(stored.weights, stored.grads[0::2]):
                grad_w += (l2 * scale) * w
        return loss, correct

    # -- outputs ---------------------------------------------------------------------------------
    def internal_outputs(self, x: np.ndarray, labels: np.ndarray | None = None,
                         extents: np.ndarray | None = None) -> tuple[np.ndarray, float | None]:
        """Softmax outputs, and the summed loss if labelled, for rows whose columns are the first
        ``x.shape[1]`` inputs in the stored order (``storage.layout.order``), every later input
        being zero in all rows. ``extents`` as in :meth:`loss_and_gradients`. The outputs are a
        shared buffer: copy what you keep."""
        if self.storage.layout is None or not 0 < x.shape[1] <= self.layer_sizes[0]:
            raise ValueError("rows in the stored input order need a network with an InputLayout "
                             f"and 1 to {self.layer_sizes[0]} columns")
        acts, _, loss_sum = self._forward(x, labels, blocks=row_blocks(x.shape[1], extents), internal=True)
        return acts[-1], loss_sum

    def predict_proba(self, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Softmax outputs for every row of ``x``, as a new array (computed in chunks)."""
        x = np.asarray(x, dtype=self.dtype)
        out = np.empty((x.shape[0], self.layer_sizes[-1]), dtype=self.dtype)
        for start in range(0, x.shape[0], chunk):
            stop = min(start + chunk, x.shape[0])
            acts, _, _ = self._forward(x[start:stop])
            out[start:stop] = acts[-1]
        return out

    def hidden_activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Copies of every hidden layer's output for a few samples (for inspection panels)."""
        acts, _, _ = self._forward(np.asarray(x, dtype=self.dtype))
        return [a.copy() for a in acts[:-1]]

    def evaluate(self, x: np.ndarray, labels: np.ndarray, chunk: int = 4096) -> tuple[float, float, np.ndarray]:
        """(mean cross-entropy, accuracy in [0, 1], softmax outputs) on a whole split."""
        probs = np.empty((x.shape[0], self.layer_sizes[-1]), dtype=self.dtype)
        loss_sum = 0.0
        for start in range(0, x.shape[0], chunk):
            stop = min(start + chunk, x.shape[0])
            acts, _, part = self._forward(x[start:stop], labels[start:stop])
            probs[start:stop] = acts[-1]
            loss_sum += part
        accuracy = float(np.count_nonzero(row_argmax(probs) == labels)) / x.shape[0]
        return loss_sum / x.shape[0], accuracy, probs


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view
