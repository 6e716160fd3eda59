"""The first layer's two products, Z1 = X W1ᵀ and dW1 = dZ1ᵀ X, by the fastest route that applies.

They are most of a step's work, and X is where the shortcuts are: compact rows (inputs that are
never nonzero left out) in row blocks, a column split for the full training set, or plain
products. Every route gives the reference's numbers up to the rounding order of sums.
"""

from __future__ import annotations

import numpy as np

from .column_split import ColumnSplit
from .fused import accumulate, product_into
from .row_blocks import block_bounds
from .storage import ParameterStorage


class FirstLayer:
    def __init__(self, storage: ParameterStorage, public_shape: tuple[int, int], dtype):
        self.storage = storage
        # Gradient scratch: with the skipped columns left out, or in input order.
        self._compact_grad = np.empty(public_shape, dtype=dtype)
        self._public_grad = np.empty(public_shape, dtype=dtype) if storage.layout else None

    def product(self, x: np.ndarray, z: np.ndarray, split: ColumnSplit | None,
                blocks: list[tuple[int, int]], internal: bool = False) -> None:
        """z = x @ W1.T. ``internal``: x's columns are inputs in the stored order (more of them
        than the active ones, possibly), as whole-split evaluations pass them."""
        storage = self.storage
        w = storage.params[0]
        if internal or storage.compact_rows(x):
            for start, stop, columns in block_bounds(blocks, x.shape[0]):
                np.matmul(x[start:stop, :columns], w[:columns], out=z[start:stop])
        elif split is not None:
            split.product(storage.to_public(0, w), out=z)
        elif storage.layout is not None:
            np.matmul(x, storage.layout.input_major(w), out=z)
        else:
            np.matmul(x, w.T, out=z)

    def weight_gradient(self, delta: np.ndarray, x: np.ndarray, split: ColumnSplit | None, target: np.ndarray,
                        keep: float, blocks: list[tuple[int, int]]) -> None:
        """target = delta.T @ x (stored layout) + keep * target."""
        storage = self.storage
        scratch = storage.grads[0]
        if storage.compact_rows(x):
            # Columns [done, columns) are zero in the rows before ``start``: only later rows add.
            done = 0
            for start, columns in blocks:
                product_into(x[start:, done:columns].T, delta[start:], target[done:columns], keep,
                             scratch[done:columns])
                done = columns
            if keep == 0:  # inputs that are zero in every row have a gradient of exactly zero
                target[done:] = 0
            elif keep != 1:
                target[done:] *= keep
            return
        layout = storage.layout
        public = scratch if layout is None else self._public_grad
        if split is not None:
            split.weight_gradient(delta, public, self._compact_grad)
        else:
            np.matmul(delta.T, x, out=public)
        if layout is not None:
            layout.internal(public, out=scratch)
        if target is not scratch:
            accumulate(target, keep, scratch)
