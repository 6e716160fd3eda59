"""Optimiser updates written by backprop's own products.

BLAS's gemm computes ``C = A B + beta C``. With an optimiser's momentum velocity (or the
parameters themselves) as C, beta = momentum (or 1) and the gradient scaled by −lr, the weight
gradient's product *is* the update, and the separate passes over every weight go. See
``SGD.gradient_target`` for which optimisers can take their update this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .blas import gemm_accumulate

DIRECT_GEMM_MIN = 16384  # outputs this large take BLAS's gemm with beta; below, its call costs more


@dataclass(frozen=True)
class GradientTarget:
    """Where backprop writes the gradient: ``arrays[i] = keep * arrays[i] + scale * gradient[i]``,
    with ``arrays`` laid out like the network's stored parameters (``ParameterStorage.params``).
    Momentum passes its velocities, mu and -lr; plain descent the parameters, 1 and -lr."""

    arrays: Sequence[np.ndarray]
    keep: float
    scale: float


def accumulate(target: np.ndarray, keep: float, addend: np.ndarray) -> None:
    """target = keep * target + addend."""
    if keep != 1:
        target *= keep
    target += addend


def product_into(a: np.ndarray, b: np.ndarray, out: np.ndarray, keep: float, scratch: np.ndarray) -> None:
    """out = a @ b + keep * out; ``scratch`` (shaped like ``out``) holds the product if needed."""
    if keep == 0 or out is scratch:
        np.matmul(a, b, out=out)
    elif not (out.size >= DIRECT_GEMM_MIN and gemm_accumulate(a, b, out, keep)):
        np.matmul(a, b, out=scratch)
        accumulate(out, keep, scratch)
