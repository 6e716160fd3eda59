"""Softmax Visualizer's engine: a from-scratch NumPy network with a softmax output.

This package never imports Qt; the GUI in ``visualizer`` only consumes its snapshots.
"""

from __future__ import annotations

import os

import numpy as np

__version__ = "0.1.0"


def _avoid_hugepage_stalls() -> None:
    # NumPy madvises large arrays for transparent huge pages. Where the kernel's THP defrag mode
    # is "madvise" (common on VMs), every such allocation stalls in memory compaction (figures in
    # benchmarks/README.md). Our big arrays are allocated once and the hot path reuses buffers,
    # so huge pages buy little. NUMPY_MADVISE_HUGEPAGE still wins.
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    try:
        np._core.multiarray._set_madvise_hugepage(False)
    except AttributeError:  # the private switch moved; keep NumPy's default
        pass


_avoid_hugepage_stalls()
