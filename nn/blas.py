"""How many threads the BLAS library may use for training: one, by default.

Two reasons. Results: OpenBLAS splits some matrix products differently with 1 and 2 threads, so
their float32 results differ in the last bits; with a fixed single thread, a seed gives the same
run on any machine, in the GUI and headless alike. Robustness: OpenBLAS threads spin-wait for each
other, so when another thread (the GUI's, or another program) takes a core, every product waits
for the descheduled half; measured here under load, 2 threads trained 4x slower than 1. The free
core then serves the GUI. ``SOFTMAX_BLAS_THREADS=N`` overrides the choice.
"""

from __future__ import annotations

import os

DEFAULT_THREADS = 1
_applied: int | None = None


def training_threads() -> int:
    value = os.environ.get("SOFTMAX_BLAS_THREADS", "")
    try:
        return max(1, int(value)) if value else DEFAULT_THREADS
    except ValueError:
        return DEFAULT_THREADS


def use_training_threads() -> int | None:
    """Limit BLAS to :func:`training_threads` threads for the whole process (once); returns it,
    or None where the limit cannot be set (no threadpoolctl or no known BLAS)."""
    global _applied
    wanted = training_threads()
    if _applied == wanted:
        return _applied
    # BLAS libraries loaded later read these when they load (scipy ships its own OpenBLAS, which
    # scikit-learn's PCA uses; it is imported lazily, after the limit below): without them that
    # copy would run its default thread count beside training, with the spin-waits described above.
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(wanted)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    threadpool_limits(limits=wanted, user_api="blas")
    _applied = wanted
    return _applied
