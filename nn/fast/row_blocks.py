"""Row blocks: a batch sorted by its rows' ink multiplies in blocks only as wide as they need."""

from __future__ import annotations

import numpy as np

BLOCK_ROWS = 16  # blocks start at multiples of this (BLAS kernels like it)
BLOCK_MIN_SAVING = 0.05  # a second block must save this share of the first layer's work


def row_blocks(width: int, extents: np.ndarray | None) -> list[tuple[int, int]]:
    """(first row, columns) of each block of a batch of compact rows, ``width`` columns wide.

    ``extents``, when given, are the rows' numbers of leading columns that may be nonzero,
    sorted ascending (see ``nn.data.ActivePixels``). The rows up to some split then need only
    the columns up to the extent of the last of them, so the first layer's products shrink from
    a rectangle to two steps. (Three or more blocks would save more multiplications, but blocks
    of few rows run slower per multiplication.)
    """
    n = 0 if extents is None else len(extents)
    best_cost, best = (1 - BLOCK_MIN_SAVING) * n * width, None
    for rows in range(BLOCK_ROWS, n - BLOCK_ROWS + 1, BLOCK_ROWS):
        columns = max(1, int(extents[rows - 1]))
        cost = rows * columns + (n - rows) * width
        if cost < best_cost:
            best_cost, best = cost, [(0, columns), (rows, width)]
    return best or [(0, width)]


def block_bounds(blocks: list[tuple[int, int]], n_rows: int):
    """(start, stop, columns) of each block."""
    stops = [start for start, _ in blocks[1:]] + [n_rows]
    return [(start, stop, columns) for (start, columns), stop in zip(blocks, stops)]
