"""A fully connected network with a softmax output, written out in NumPy.

Shapes follow the classic tutorial: a layer's weights ``W`` are (units out, units in) and its
bias ``b`` is (units out,). Samples are rows, so a layer computes ``Z = A_prev @ W.T + b``.
(A network made for training may store its first layer differently, see ``InputLayout``; its
public methods still take and give the tutorial's shapes.)

Backprop at the output uses dL/dZ = A - Y (softmax + cross-entropy), averaged over the batch;
hidden layers follow by the chain rule. All work happens in buffers that are allocated once
per batch size, so a training step allocates (almost) nothing.

Mini-batches may hold only the inputs that are nonzero somewhere in the training set, up to
the last one nonzero in the batch (see ``InputLayout`` and ``_row_blocks``); momentum and plain
descent may have backprop's products write the update itself (``into``). Long batches
(full-batch gradient descent) take detours, each measured on OpenBLAS: bias gradients are summed
over wide rows (see ``column_sums``), and the first layer skips input columns that are zero in
every sample and multiplies mostly-zero ones as a sparse matrix (see ``_ColumnSplit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES, ones_vector, row_argmax, softmax_inplace
from .blas import gemm_accumulate

INITS = ("auto", "tutorial", "he", "xavier")
LONG_BATCH = 1024  # from this many samples on, a batch takes the long-batch paths below
SPARSE_DENSITY = 0.05  # in long batches, columns nonzero at most this often take a sparse product
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


def flat_arrays(shapes: Sequence[tuple[int, ...]], dtype) -> tuple[np.ndarray, list[np.ndarray]]:
    """One zeroed 1-D buffer, and C-contiguous views of it with the given shapes, back to back."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    flat = np.zeros(sum(sizes), dtype=dtype)
    views, start = [], 0
    for shape, size in zip(shapes, sizes):
        views.append(flat[start:start + size].reshape(shape))
        start += size
    return flat, views


def flat_span(arrays: Sequence[np.ndarray]) -> np.ndarray | None:
    """A 1-D view covering all of ``arrays`` when they lie back to back, in order, in one
    contiguous buffer (as :func:`flat_arrays` makes them); otherwise None."""
    if not arrays:
        return None
    first = arrays[0]
    dtype = first.dtype
    address = first.__array_interface__["data"][0]
    total = 0
    for a in arrays:
        expected_address = address + total * dtype.itemsize
        if a.dtype != dtype or not a.flags.c_contiguous or a.__array_interface__["data"][0] != expected_address:
            return None
        total += a.size
    root = first
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.c_contiguous or root.dtype != dtype:
        return None
    offset = (address - root.__array_interface__["data"][0]) // dtype.itemsize
    flat = root.reshape(-1)
    if offset < 0 or offset + total > flat.size:
        return None
    return flat[offset:offset + total]


def column_sums(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` into ``out``, faster for a mini-batch and for tall, narrow ``a``.

    NumPy sums a C-ordered (n, m) array over axis 0 one m-wide row at a time; for 60000x50 the
    per-row overhead makes that 4x slower than the memory traffic. Viewing each ``rows_per_line``
    consecutive rows as one long line makes every step a long vector addition.
    """
    n, m = a.shape
    if n < LONG_BATCH:
        return np.matmul(ones_vector(n, a.dtype), a, out=out)
    rows_per_line = 64
    whole = n - n % rows_per_line
    if not a.flags.c_contiguous:
        return np.sum(a, axis=0, out=out)
    lines = a[:whole].reshape(whole // rows_per_line, rows_per_line * m)
    np.sum(lines.sum(axis=0).reshape(rows_per_line, m), axis=0, out=out)
    if whole < n:
        out += a[whole:].sum(axis=0)
    return out


DIRECT_GEMM_MIN = 16384  # outputs this large take BLAS's gemm with beta; below, its call costs more


def _accumulate(target: np.ndarray, keep: float, addend: np.ndarray) -> None:
    """target = keep * target + addend."""
    if keep != 1:
        target *= keep
    target += addend


def _product_into(a: np.ndarray, b: np.ndarray, out: np.ndarray, keep: float, scratch: np.ndarray) -> None:
    """out = a @ b + keep * out; ``scratch`` (shaped like ``out``) holds the product if needed."""
    if keep == 0 or out is scratch:
        np.matmul(a, b, out=out)
    elif not (out.size >= DIRECT_GEMM_MIN and gemm_accumulate(a, b, out, keep)):
        np.matmul(a, b, out=scratch)
        _accumulate(out, keep, scratch)


BLOCK_ROWS = 16  # row blocks of compact batches start at multiples of this (BLAS kernels like it)
BLOCK_MIN_SAVING = 0.05  # a second block must save this share of the first layer's work


def _row_blocks(width: int, extents: np.ndarray | None) -> list[tuple[int, int]]:
    """(first row, columns) of each block of a batch of compact rows, ``width`` columns wide.

    ``extents``, when given, are the rows' numbers of leading columns that may be nonzero,
    sorted ascending (see ``ActivePixels``). The rows up to some split then need only the
    columns up to the extent of the last of them, so the first layer's products shrink from a
    rectangle to two steps: on MNIST batches of 128, 20 % less work. (Three or more blocks
    would save more multiplications, but blocks of few rows run slower per multiplication.)
    """
    n = 0 if extents is None else len(extents)
    best_cost, best = (1 - BLOCK_MIN_SAVING) * n * width, None
    for rows in range(BLOCK_ROWS, n - BLOCK_ROWS + 1, BLOCK_ROWS):
        columns = max(1, int(extents[rows - 1]))
        cost = rows * columns + (n - rows) * width
        if cost < best_cost:
            best_cost, best = cost, [(0, columns), (rows, width)]
    return best or [(0, width)]


def _scipy_csr():
    """SciPy's CSR matrix class (SciPy comes with scikit-learn), or None if it is missing."""
    try:
        from scipy.sparse import csr_matrix
    except ImportError:
        return None
    return csr_matrix


@dataclass
class _ColumnSplit:
    """A fixed training set's columns, split by how often they are nonzero.

    Full-batch training multiplies the same data matrix twice per step (forward, weight
    gradient), and MNIST's columns are very unequal: 67 of its 784 pixels are 0 in every training
    image (their terms are exactly zero: dropped), and 319 more, near the border, are nonzero in
    under 5 % of the images. Those go through a sparse product, which costs per nonzero rather
    than per entry; the rest stay a dense, contiguous copy for BLAS. Both big products take
    about 57 % of the time of the all-dense ones (measured on OpenBLAS, 784-50-10).
    """

    source: np.ndarray  # the (read-only) array this was built from
    dense_columns: np.ndarray | None  # indices of the columns kept dense; None: nothing to gain
    dense: np.ndarray | None  # source[:, dense_columns], contiguous
    sparse_columns: np.ndarray | None  # indices of the mostly-zero columns, or None
    sparse: object = None  # source[:, sparse_columns] as a SciPy CSR matrix
    sparse_transposed: object = None  # its transpose, also CSR (the fast layout for X^T @ delta)

    @classmethod
    def of(cls, x: np.ndarray) -> "_ColumnSplit":
        density = np.count_nonzero(x, axis=0) / x.shape[0]
        sparse_columns = np.flatnonzero((density > 0) & (density <= SPARSE_DENSITY))
        csr_matrix = _scipy_csr() if len(sparse_columns) >= 0.05 * x.shape[1] else None
        if csr_matrix is None:  # too few mostly-zero columns to pay, or no SciPy: all dense
            sparse_columns = None
            dense_columns = np.flatnonzero(density > 0)
            if len(dense_columns) > 0.95 * x.shape[1]:
                return cls(x, None, None, None)
        else:
            dense_columns = np.flatnonzero(density > SPARSE_DENSITY)
        split = cls(x, dense_columns, np.ascontiguousarray(x[:, dense_columns]), sparse_columns)
        if sparse_columns is not None:
            part = x[:, sparse_columns]
            split.sparse, split.sparse_transposed = csr_matrix(part), csr_matrix(part.T)
        return split

    @property
    def useful(self) -> bool:
        return self.dense_columns is not None

    def product(self, w: np.ndarray, out: np.ndarray) -> None:
        """out = source @ w.T for a (units out, columns) weight matrix ``w``."""
        np.matmul(self.dense, w[:, self.dense_columns].T, out=out)
        if self.sparse_columns is not None:
            out += self.sparse @ np.ascontiguousarray(w[:, self.sparse_columns].T)

    def weight_gradient(self, delta: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
        """out = delta.T @ source; columns that are zero everywhere get exactly zero."""
        kept = len(self.dense_columns)  # a contiguous (units out, kept) view of the scratch
        compact = scratch.reshape(-1)[:out.shape[0] * kept].reshape(-1, kept)
        np.matmul(delta.T, self.dense, out=compact)
        out.fill(0)
        out[:, self.dense_columns] = compact
        if self.sparse_columns is not None:
            out[:, self.sparse_columns] = (self.sparse_transposed @ delta).T


@dataclass(frozen=True, eq=False)
class InputLayout:
    """How a network built for mini-batch training stores its first layer's weights.

    Input columns that are zero in every training sample (67 of MNIST's 784 pixels) add nothing
    to a product but time. Such a network keeps its first layer input-major, (units in, units
    out), with the rows of the *active* inputs first: a batch that holds only those columns in
    that order ("compact rows", see ``Trainer._gather``; it may end after its last nonzero
    column, see ``ActivePixels``) then meets one contiguous block of weights, and both of the
    first layer's products skip the zeros (on OpenBLAS the input-major orientation is itself
    10 % faster for these shapes). The other rows keep their weights, as
    test inputs may be nonzero there. ``Network.params`` holds this internal layout; the
    public methods take and give weights as (units out, units in) in input order.
    """

    order: np.ndarray  # internal row r holds the weights of input order[r]
    inverse: np.ndarray  # input i's weights are in internal row inverse[i]
    n_active: int  # the first n_active rows are the active inputs

    @classmethod
    def for_active(cls, active: np.ndarray, n_inputs: int) -> "InputLayout":
        active = np.asarray(active, dtype=np.intp)
        if active.ndim != 1 or len(np.unique(active)) != len(active) or (len(active) and (
                active.min() < 0 or active.max() >= n_inputs)):
            raise ValueError(f"active inputs must be distinct indices below {n_inputs}")
        order = np.concatenate([active, np.setdiff1d(np.arange(n_inputs), active)])
        return cls(order, np.argsort(order), len(active))

    def input_major(self, internal: np.ndarray) -> np.ndarray:
        """A new (units in, units out) matrix in input order from internal rows."""
        return np.take(internal, self.inverse, axis=0)

    def internal(self, public: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(units in, units out) internal rows from a (units out, units in) public matrix."""
        return np.take(public.T, self.order, axis=0, out=out)

    def public(self, internal: np.ndarray) -> np.ndarray:
        """A new (units out, units in) matrix in input order from internal rows."""
        return np.ascontiguousarray(self.input_major(internal).T)


@dataclass
class _Buffers:
    """Per-batch-size work arrays: each layer's output and each hidden layer's gradient."""

    activations: list[np.ndarray]
    deltas: list[np.ndarray]


class Network:
    def __init__(self, layer_sizes: Sequence[int], activation: str = "sigmoid",
                 params: Sequence[np.ndarray] | None = None, dtype="float32",
                 active_inputs: np.ndarray | None = None):
        """``params`` are [W1, b1, ...] with each W as (units out, units in). ``active_inputs``:
        the input columns that are nonzero somewhere in the training data, if known; when they
        leave out enough, the first layer takes the faster :class:`InputLayout`."""
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
        self.input_layout: InputLayout | None = None
        if active_inputs is not None and len(active_inputs) < 0.95 * self.layer_sizes[0]:
            self.input_layout = InputLayout.for_active(active_inputs, self.layer_sizes[0])
        internal_shapes = list(expected)
        if self.input_layout is not None:
            internal_shapes[0] = expected[0][::-1]
        # Parameters and gradients each live back to back in one flat buffer, so an optimiser
        # updates all of them with a handful of whole-buffer operations instead of a handful per
        # array (the per-call overhead was a tenth of a mini-batch step).
        self.flat_params, self.params = flat_arrays(internal_shapes, self.dtype)
        self.load_params(params)
        self.flat_grads, self.grads = flat_arrays(internal_shapes, self.dtype)
        # First-layer gradient scratch: with the skipped columns left out, or in input order.
        self._compact_grad = np.empty(expected[0], dtype=self.dtype)
        self._public_grad = np.empty(expected[0], dtype=self.dtype) if self.input_layout else None
        self._buffers: dict[int, _Buffers] = {}
        self._column_split: _ColumnSplit | None = None
        self._activate = ACTIVATIONS[activation]
        self._derivative = DERIVATIVES[activation]

    @classmethod
    def initialized(cls, layer_sizes: Sequence[int], activation: str = "sigmoid", init: str = "auto",
                    seed: int = 1, dtype="float32", active_inputs: np.ndarray | None = None) -> "Network":
        init = resolve_init(init, activation)
        return cls(layer_sizes, activation, initial_parameters(layer_sizes, init, seed, dtype), dtype,
                   active_inputs)

    # -- parameters in the public layout ----------------------------------------------------
    def to_public(self, index: int, array: np.ndarray) -> np.ndarray:
        """``array``, laid out like ``params[index]``, as (units out, units in) in input order
        (the same array when the layouts agree). Also for optimiser state shaped like params."""
        if index == 0 and self.input_layout is not None:
            return self.input_layout.public(array)
        return array

    def from_public(self, index: int, array: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_public`."""
        if index == 0 and self.input_layout is not None:
            return self.input_layout.internal(np.asarray(array))
        return array

    def public_params(self) -> list[np.ndarray]:
        """[W1, b1, ...] with each W as (units out, units in) in input order (views where the
        layouts agree: copy before keeping them)."""
        return [self.to_public(i, p) for i, p in enumerate(self.params)]

    def load_params(self, params: Sequence[np.ndarray]) -> None:
        """Set every parameter from [W1, b1, ...] in the public layout."""
        for i, (target, source) in enumerate(zip(self.params, params)):
            target[...] = self.from_public(i, source)

    def first_layer_weights(self, units: np.ndarray | None = None) -> np.ndarray:
        """A copy of the first layer's weights, (units out, units in), in input order: of every
        unit, or only of ``units`` (rows in that order)."""
        w = self.params[0]
        if self.input_layout is None:
            return w.copy() if units is None else w[units]
        if units is not None:
            w = w[:, units]  # picking the few columns first makes reordering them cheap
        return self.input_layout.public(w)

    # -- structure ---------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes) - 1

    @property
    def weights(self) -> list[np.ndarray]:
        return self.params[0::2]

    @property
    def biases(self) -> list[np.ndarray]:
        return self.params[1::2]

    def param_shapes(self) -> list[tuple[int, ...]]:
        shapes: list[tuple[int, ...]] = []
        for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            shapes += [(fan_out, fan_in), (fan_out,)]
        return shapes

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params)

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
        self._column_split = None

    # -- math --------------------------------------------------------------------------------
    def _forward(self, x: np.ndarray, labels: np.ndarray | None = None, split: _ColumnSplit | None = None,
                 blocks: list[tuple[int, int]] | None = None,
                 internal: bool = False) -> tuple[list[np.ndarray], float | None]:
        """Every layer's output for ``x`` (in shared buffers), and the summed loss if labelled."""
        acts = self._buffers_for(x.shape[0]).activations
        a_prev = x
        for layer in range(self.n_layers):
            w, b = self.params[2 * layer], self.params[2 * layer + 1]
            z = acts[layer]
            if layer == 0:
                self._first_layer_product(x, split, z, blocks, internal)
            else:
                np.matmul(a_prev, w.T, out=z)
            z += b
            if layer < self.n_layers - 1:
                self._activate(z)
            a_prev = z
        loss_sum = softmax_inplace(acts[-1], labels)
        return acts, loss_sum

    def _compact_rows(self, x: np.ndarray) -> bool:
        """Whether ``x`` holds compact rows: the first ``x.shape[1]`` active inputs in the
        internal order, every later input being zero in all of its rows."""
        return self.input_layout is not None and 0 < x.shape[1] <= self.input_layout.n_active

    def _first_layer_product(self, x: np.ndarray, split: "_ColumnSplit | None", z: np.ndarray,
                             blocks: list[tuple[int, int]] | None = None, internal: bool = False) -> None:
        """z = x @ W1.T; ``blocks`` (from :func:`_row_blocks`) for rows in the internal order."""
        w = self.params[0]
        if internal or self._compact_rows(x):
            blocks = blocks or [(0, x.shape[1])]
            for (start, columns), (stop, _) in zip(blocks, blocks[1:] + [(x.shape[0], 0)]):
                np.matmul(x[start:stop, :columns], w[:columns], out=z[start:stop])
        elif split is not None:
            split.product(self.to_public(0, w), out=z)
        elif self.input_layout is not None:
            np.matmul(x, self.input_layout.input_major(w), out=z)
        else:
            np.matmul(x, w.T, out=z)

    def _split_columns(self, x: np.ndarray) -> _ColumnSplit | None:
        """The column split of ``x`` when ``x`` is a long, read-only batch (the whole training
        set, passed again at every step of full-batch training); else None."""
        if x.shape[0] < LONG_BATCH or x.flags.writeable or x.ndim != 2:
            return None
        cached = self._column_split
        if cached is None or cached.source is not x:
            cached = self._column_split = _ColumnSplit.of(x)
        return cached if cached.useful else None

    def _weight_gradient(self, layer: int, delta: np.ndarray, a_prev: np.ndarray, split: _ColumnSplit | None,
                         target: np.ndarray, keep: float, blocks: list[tuple[int, int]] | None = None) -> None:
        """target = delta.T @ a_prev + keep * target: the sum over the batch of outer products
        (``target`` is ``self.grads``' array with ``keep`` 0, else an optimiser's)."""
        scratch = self.grads[2 * layer]
        if layer > 0:
            _product_into(delta.T, a_prev, target, keep, scratch)
            return
        layout = self.input_layout
        if self._compact_rows(a_prev):
            # Columns [done, columns) are zero in the rows before ``start``: only later rows add.
            done = 0
            for start, columns in blocks or [(0, a_prev.shape[1])]:
                _product_into(a_prev[start:, done:columns].T, delta[start:], target[done:columns], keep,
                              scratch[done:columns])
                done = columns
            active = done
            if keep == 0:  # inputs that are zero in every row have a gradient of exactly zero
                target[active:] = 0
            elif keep != 1:
                target[active:] *= keep
            return
        public = scratch if layout is None else self._public_grad
        if split is not None:
            split.weight_gradient(delta, public, self._compact_grad)
        else:
            np.matmul(delta.T, a_prev, out=public)
        if layout is not None:
            layout.internal(public, out=scratch)
        if target is not scratch:
            _accumulate(target, keep, scratch)

    def loss_and_gradients(self, x: np.ndarray, Y: np.ndarray, labels: np.ndarray, l2: float = 0.0,
                           grad_scale: float = 1.0, into: Sequence[np.ndarray] | None = None,
                           keep: float = 0.0, max_loss: float = math.inf,
                           extents: np.ndarray | None = None) -> tuple[float, int]:
        """Mean cross-entropy and the number of correct predictions on (x, Y); fills ``self.grads``.

        ``Y`` is the one-hot target and ``labels`` the same classes as integers. The gradients
        come out multiplied by ``grad_scale``: backprop is linear in the output delta, so scaling
        that small array scales every gradient (gradient descent passes its -learning rate).

        ``into``: arrays laid out like ``params`` that take ``keep * into + gradient`` in place of
        ``self.grads`` (which then hold scratch). With an optimiser's momentum velocities, or the
        parameters themselves and ``keep`` 1, the gradient's own products make the update, and
        two to three passes over every weight go (see ``SGD.gradient_target``).

        ``max_loss``: if the loss is not finite or above it, no gradient is written anywhere (a
        diverging step must not reach the weights).

        ``extents``: for compact rows (see ``InputLayout``) sorted by it, each row's number of
        leading columns that may be nonzero; the first layer then skips the zeros beyond them
        (see ``_row_blocks``). The caller vouches for it: a wrong extent gives wrong results.
        """
        n = x.shape[0]
        split = self._split_columns(x)
        blocks = _row_blocks(x.shape[1], extents)  # once for both of the first layer's products
        acts, loss_sum = self._forward(x, labels, split, blocks)
        loss = loss_sum / n
        for w in self.weights if l2 else ():
            loss += 0.5 * l2 * float(np.vdot(w, w))
        probs = acts[-1]
        correct = int(np.count_nonzero(row_argmax(probs) == labels))
        if not loss <= max_loss:  # (also when NaN)
            return loss, correct
        targets = self.grads if into is None else into
        if into is None:
            keep = 0.0
        # With ``into`` and L2, each weight's L2 term goes in first, then its product adds on.
        weight_keep = 1.0 if into is not None and l2 else keep
        delta = probs
        delta -= Y  # dL/dZ = A - Y for softmax with cross-entropy ...
        delta *= grad_scale / n  # ... averaged over the batch (and scaled if asked)
        deltas = self._buffers_for(n).deltas
        for layer in range(self.n_layers - 1, -1, -1):
            a_prev = x if layer == 0 else acts[layer - 1]
            w = self.params[2 * layer]
            if layer > 0:  # (before this layer's weights may change: ``into`` may be the params)
                np.matmul(delta, w, out=deltas[layer - 1])
            if into is not None and l2:
                _accumulate(targets[2 * layer], keep, (l2 * grad_scale) * w)
            self._weight_gradient(layer, delta, a_prev, split, targets[2 * layer], weight_keep, blocks)
            bias_grad = column_sums(delta, out=self.grads[2 * layer + 1])
            if into is not None:
                _accumulate(targets[2 * layer + 1], keep, bias_grad)
            if layer > 0:  # the input layer needs no gradient
                self._derivative(acts[layer - 1], deltas[layer - 1])  # (last use of that output)
                delta = deltas[layer - 1]
        if l2 and into is None:
            for w, grad_w in zip(self.weights, self.grads[0::2]):
                grad_w += (l2 * grad_scale) * w
        return loss, correct

    def internal_outputs(self, x: np.ndarray, labels: np.ndarray | None = None,
                         extents: np.ndarray | None = None) -> tuple[np.ndarray, float | None]:
        """Softmax outputs, and the summed loss if labelled, for rows in the internal input
        order (see ``InputLayout``): ``x`` holds the first ``x.shape[1]`` inputs of
        ``input_layout.order``, every later input being zero in all rows. ``extents`` as in
        :meth:`loss_and_gradients`. The outputs are a shared buffer: copy what you keep."""
        if self.input_layout is None or not 0 < x.shape[1] <= self.layer_sizes[0]:
            raise ValueError("rows in the internal input order need a network with an InputLayout "
                             f"and 1 to {self.layer_sizes[0]} columns")
        blocks = _row_blocks(x.shape[1], extents)
        acts, loss_sum = self._forward(x, labels, blocks=blocks, internal=True)
        return acts[-1], loss_sum

    def predict_proba(self, x: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Softmax outputs for every row of ``x``, as a new array (computed in chunks)."""
        x = np.asarray(x, dtype=self.dtype)
        out = np.empty((x.shape[0], self.layer_sizes[-1]), dtype=self.dtype)
        for start in range(0, x.shape[0], chunk):
            stop = min(start + chunk, x.shape[0])
            acts, _ = self._forward(x[start:stop])
            out[start:stop] = acts[-1]
        return out

    def hidden_activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Copies of every hidden layer's output for a few samples (for inspection panels)."""
        acts, _ = self._forward(np.asarray(x, dtype=self.dtype))
        return [a.copy() for a in acts[:-1]]

    def evaluate(self, x: np.ndarray, labels: np.ndarray, chunk: int = 4096) -> tuple[float, float, np.ndarray]:
        """(mean cross-entropy, accuracy in [0, 1], softmax outputs) on a whole split."""
        probs = np.empty((x.shape[0], self.layer_sizes[-1]), dtype=self.dtype)
        loss_sum = 0.0
        for start in range(0, x.shape[0], chunk):
            stop = min(start + chunk, x.shape[0])
            acts, part = self._forward(x[start:stop], labels[start:stop])
            probs[start:stop] = acts[-1]
            loss_sum += part
        accuracy = float(np.count_nonzero(row_argmax(probs) == labels)) / x.shape[0]
        return loss_sum / x.shape[0], accuracy, probs

    def parameters_finite(self) -> bool:
        return all(np.isfinite(p).all() for p in self.params)
