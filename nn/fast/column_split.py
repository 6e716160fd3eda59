"""Full-batch training: the training set's columns split by how often they are nonzero."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reductions import LONG_BATCH

SPARSE_DENSITY = 0.05  # columns nonzero at most this often take a sparse product


def _scipy_csr():
    """SciPy's CSR matrix class (SciPy comes with scikit-learn), or None if it is missing."""
    try:
        from scipy.sparse import csr_matrix
    except ImportError:
        return None
    return csr_matrix


@dataclass
class ColumnSplit:
    """A fixed training set's columns, split by how often they are nonzero.

    Full-batch training multiplies the same data matrix twice per step (forward, weight
    gradient), and MNIST's columns are very unequal: some pixels are 0 in every training image
    (their terms are exactly zero: dropped), and many more, near the border, are nonzero in a
    few images only. Those go through a sparse product, which costs per nonzero rather than per
    entry; the rest stay a dense, contiguous copy for BLAS.
    """

    source: np.ndarray  # the (read-only) array this was built from
    dense_columns: np.ndarray | None  # indices of the columns kept dense; None: nothing to gain
    dense: np.ndarray | None  # source[:, dense_columns], contiguous
    sparse_columns: np.ndarray | None  # indices of the mostly-zero columns, or None
    sparse: object = None  # source[:, sparse_columns] as a SciPy CSR matrix
    sparse_transposed: object = None  # its transpose, also CSR (the fast layout for X^T @ delta)

    @classmethod
    def of(cls, x: np.ndarray) -> "ColumnSplit":
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


class ColumnSplitCache:
    """The split of the one long, read-only batch a full-batch run passes at every step."""

    def __init__(self):
        self._split: ColumnSplit | None = None

    def split_for(self, x: np.ndarray) -> ColumnSplit | None:
        """The column split of ``x`` when ``x`` is a long, read-only batch; else None."""
        if x.ndim != 2 or x.shape[0] < LONG_BATCH or x.flags.writeable:
            return None
        if self._split is None or self._split.source is not x:
            self._split = ColumnSplit.of(x)
        return self._split if self._split.useful else None

    def clear(self) -> None:
        self._split = None
