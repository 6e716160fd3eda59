"""Reductions over short rows and tall columns, faster than NumPy's own for these shapes.

NumPy reduces along short rows slowly when there are many of them: it runs its inner loop once
per row. For such arrays a loop over the few columns, one long vector operation each, is several
times faster; for a mini-batch of a hundred rows the plain reduction is quicker than the loop's
extra calls. Sums over the short axis of a small batch go fastest as a BLAS product with a
vector of ones.
"""

from __future__ import annotations

import numpy as np

LONG_BATCH = 1024  # from this many rows on, a batch takes the long-batch paths


def ones_vector(n: int, dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones, cached, for sums as ``ones @ a`` or ``a @ ones``."""
    key = (n, np.dtype(dtype))
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 16:
            _ONES.clear()
        ones = _ONES[key] = np.ones(n, dtype=dtype)
        ones.flags.writeable = False
    return ones


_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def _column_loop_pays(z: np.ndarray) -> bool:
    return z.shape[1] <= 32 and z.shape[0] >= LONG_BATCH


def row_max(z: np.ndarray) -> np.ndarray:
    if not _column_loop_pays(z):
        # The entry argmax picks (NaN if any, like max): faster than max over short rows.
        return picked(z, z.argmax(axis=1)) if z.ndim == 2 and z.shape[1] > 1 else z.max(axis=1)
    result = z[:, 0].copy()
    for column in range(1, z.shape[1]):
        np.maximum(result, z[:, column], out=result)
    return result


def row_sum(z: np.ndarray) -> np.ndarray:
    if not _column_loop_pays(z) or z.shape[1] < 2:
        return z @ ones_vector(z.shape[1], z.dtype) if z.dtype.kind == "f" and z.ndim == 2 else z.sum(axis=1)
    result = np.add(z[:, 0], z[:, 1])
    for column in range(2, z.shape[1]):
        result += z[:, column]
    return result


def row_argmax(z: np.ndarray) -> np.ndarray:
    """``z.argmax(axis=1)``, for many narrow rows through one comparison with the row maxima.

    Where every row's maximum is unique (almost always), the winner is the one entry equal to
    it; if some row has a tie (or a NaN), argmax itself decides, with its own rule.
    """
    if not _column_loop_pays(z):
        return z.argmax(axis=1)
    winners = np.flatnonzero(z == row_max(z)[:, None])
    if winners.size == z.shape[0]:
        winners -= np.arange(0, z.size, z.shape[1])  # flat index -> column
        # Exactly one per row unless a row without a match (NaN) hides a tie elsewhere.
        if winners.min() >= 0 and winners.max() < z.shape[1]:
            return winners
    return z.argmax(axis=1)


def picked(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``z[i, labels[i]]`` for every row i (a flat take: far cheaper than 2-D fancy indexing)."""
    return z.reshape(-1).take(np.arange(0, z.size, z.shape[1]) + labels)


def column_sums(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` into ``out``, faster for a mini-batch and for tall, narrow ``a``.

    NumPy sums a C-ordered (n, m) array over axis 0 one m-wide row at a time; for a full batch
    the per-row overhead dominates. Viewing each ``rows_per_line`` consecutive rows as one long
    line makes every step a long vector addition.
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
