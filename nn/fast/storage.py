"""How a network stores its parameters: flat buffers, and the first layer input-major.

Nothing here changes a number; it changes where numbers live, so that the optimisers and the
first layer's products touch less memory. ``Network.params`` always gives the public layout,
(units out, units in) in input order; :class:`ParameterStorage` is what optimisers update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def flat_arrays(shapes: Sequence[tuple[int, ...]], dtype) -> tuple[np.ndarray, list[np.ndarray]]:
    """One zeroed 1-D buffer, and C-contiguous views of it with the given shapes, back to back.

    An optimiser then updates all of them with a handful of whole-buffer operations instead of a
    handful per array (the per-call overhead is a real share of a small mini-batch step)."""
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


@dataclass(frozen=True, eq=False)
class InputLayout:
    """How a network built for mini-batch training stores its first layer's weights.

    Input columns that are zero in every training sample (MNIST's border pixels) add nothing to
    a product but time. Such a network keeps its first layer input-major, (units in, units out),
    with the rows of the *active* inputs first: a batch that holds only those columns in that
    order ("compact rows", see ``Trainer._gather``) then meets one contiguous block of weights,
    and both of the first layer's products skip the zeros. The other rows keep their weights,
    as test inputs may be nonzero there.
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


class ParameterStorage:
    """A network's parameters and gradients as stored: [W1, b1, ...] as views of one flat buffer
    each, the first W input-major when there is an :class:`InputLayout`. Optimisers update
    these arrays in place; everyone else converts with :meth:`to_public` / :meth:`from_public`.
    """

    def __init__(self, public_shapes: Sequence[tuple[int, ...]], dtype, layout: InputLayout | None):
        self.layout = layout
        shapes = list(public_shapes)
        if layout is not None:
            shapes[0] = shapes[0][::-1]
        self.flat_params, self.params = flat_arrays(shapes, dtype)
        self.flat_grads, self.grads = flat_arrays(shapes, dtype)

    @property
    def weights(self) -> list[np.ndarray]:
        return self.params[0::2]

    def to_public(self, index: int, array: np.ndarray) -> np.ndarray:
        """``array``, laid out like ``params[index]``, as (units out, units in) in input order
        (the same array when the layouts agree). Also for optimiser state shaped like params."""
        if index == 0 and self.layout is not None:
            return self.layout.public(array)
        return array

    def from_public(self, index: int, array: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_public`."""
        if index == 0 and self.layout is not None:
            return self.layout.internal(np.asarray(array))
        return array

    def compact_rows(self, x: np.ndarray) -> bool:
        """Whether ``x`` holds compact rows: the first ``x.shape[1]`` active inputs in the
        internal order, every later input being zero in all of its rows."""
        return self.layout is not None and 0 < x.shape[1] <= self.layout.n_active
