"""The BLAS library under NumPy: how many threads it may use, and one call NumPy does not offer.

Threads: one, by default. Two reasons. Results: OpenBLAS splits some matrix products differently
with 1 and 2 threads, so their float32 results differ in the last bits; with a fixed single
thread, a seed gives the same run on any machine, in the GUI and headless alike. Robustness:
OpenBLAS threads spin-wait for each other, so when another thread (the GUI's, or another program)
takes a core, every product waits for the descheduled half (see benchmarks/README.md). The free
core then serves the GUI. ``SOFTMAX_BLAS_THREADS=N`` overrides
the choice.

The call: BLAS's gemm computes ``C = alpha A B + beta C``, but ``np.matmul`` always passes
beta = 0. With beta, a momentum step's ``v = mu v - lr grad`` happens inside the gradient's own
product, which saves two passes over every weight (see :func:`gemm_accumulate`). The function is
taken from the very library NumPy loaded (the wheels' bundled OpenBLAS), so it shares NumPy's
thread limit and kernels; where that library cannot be found or fails a self-check, callers fall
back to NumPy. ``SOFTMAX_DIRECT_BLAS=0`` turns the direct call off.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

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


# -- gemm with beta ---------------------------------------------------------------------------------

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS enum values
# (symbol prefix, symbol suffix, integer type): OpenBLAS's 64-bit-integer builds (NumPy's wheels)
# rename their symbols with a "64_" suffix; the scipy-openblas builds add a "scipy_" prefix.
_SYMBOLS = (("scipy_cblas_", "64_", ctypes.c_int64), ("cblas_", "64_", ctypes.c_int64),
            ("scipy_cblas_", "", ctypes.c_int32))
_gemms: dict[np.dtype, object] | None = None


def _numpy_blas_files() -> list[Path]:
    """BLAS libraries bundled with NumPy: numpy.libs/ beside the package (Linux and Windows
    wheels) or numpy/.dylibs (macOS wheels)."""
    package = Path(np.__file__).parent
    found = []
    for folder in (package.parent / "numpy.libs", package / ".dylibs"):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if "blas" in p.name.lower())
    return found


def _load_gemms() -> dict[np.dtype, object]:
    """{dtype: cblas ?gemm function} from NumPy's own BLAS, each checked on a small product."""
    if os.environ.get("SOFTMAX_DIRECT_BLAS", "1").strip() in ("0", "no", "off", "false"):
        return {}
    for path in _numpy_blas_files():
        try:
            library = ctypes.CDLL(str(path))  # already loaded by NumPy: the same instance
        except OSError:
            continue
        for prefix, suffix, integer in _SYMBOLS:
            functions = {}
            for dtype, letter, real in ((np.dtype(np.float32), "s", ctypes.c_float),
                                        (np.dtype(np.float64), "d", ctypes.c_double)):
                function = getattr(library, f"{prefix}{letter}gemm{suffix}", None)
                if function is None:
                    break
                function.restype = None
                function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, real,
                                     ctypes.c_void_p, integer, ctypes.c_void_p, integer, real,
                                     ctypes.c_void_p, integer]
                functions[dtype] = function
            else:
                if _passes_self_check(functions):
                    return functions
    return {}


def _passes_self_check(functions: dict[np.dtype, object]) -> bool:
    """Each function computes a small product with both transpositions and beta like NumPy."""
    rng = np.random.default_rng(0)
    for dtype, function in functions.items():
        a = rng.standard_normal((5, 3)).astype(dtype)
        b = rng.standard_normal((4, 5)).astype(dtype)
        c = rng.standard_normal((3, 4)).astype(dtype)
        expected = a.T @ b.T + dtype.type(0.5) * c
        if not _call(function, a.T, b.T, c, 0.5) or not np.allclose(c, expected, rtol=1e-5, atol=1e-5):
            return False
    return True


def _operand(a: np.ndarray) -> tuple[int, int] | None:
    """(CBLAS transposition, leading dimension) of a 2-D operand as it lies in memory: rows of
    contiguous elements at a fixed stride (or the transpose of that); None for other layouts."""
    size = a.itemsize
    rows, columns = a.shape
    row_stride, column_stride = a.strides
    if (column_stride == size or columns == 1) and row_stride % size == 0 and row_stride >= columns * size:
        return _NO_TRANS, max(1, row_stride // size)
    if (row_stride == size or rows == 1) and column_stride % size == 0 and column_stride >= rows * size:
        return _TRANS, max(1, column_stride // size)
    return None


def _call(function, a: np.ndarray, b: np.ndarray, c: np.ndarray, beta: float) -> bool:
    m, k = a.shape
    n = b.shape[1]
    op_a, op_b = _operand(a), _operand(b)
    if op_a is None or op_b is None:
        return False
    function(_ROW_MAJOR, op_a[0], op_b[0], m, n, k, 1.0, a.ctypes.data, op_a[1], b.ctypes.data, op_b[1],
             beta, c.ctypes.data, max(1, n))
    return True


def gemm_accumulate(a: np.ndarray, b: np.ndarray, c: np.ndarray, beta: float) -> bool:
    """``c = a @ b + beta * c`` in one BLAS call, without a temporary; False (and ``c``
    untouched) where that call is not available for these arrays: the caller then uses NumPy.

    ``a`` and ``b`` may be row-strided views and their transposes (slices of a C-ordered
    array, and ``.T`` of those); ``c`` must be C-ordered, writable and apart from both; all
    three of one floating dtype.
    """
    function = _loaded_gemms().get(c.dtype)
    if (function is None or a.dtype != c.dtype or b.dtype != c.dtype or a.ndim != 2 or b.ndim != 2
            or c.ndim != 2 or not c.flags.c_contiguous or not c.flags.writeable
            or a.shape[1] != b.shape[0] or c.shape != (a.shape[0], b.shape[1]) or 0 in a.shape
            or 0 in b.shape or np.may_share_memory(c, a) or np.may_share_memory(c, b)):
        return False
    return _call(function, a, b, c, beta)


def direct_gemm_available(dtype=np.float32) -> bool:
    return np.dtype(dtype) in _loaded_gemms()


def _loaded_gemms() -> dict[np.dtype, object]:
    global _gemms
    if _gemms is None:
        _gemms = _load_gemms()
    return _gemms
