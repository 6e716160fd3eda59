"""The limits every reader checks before it allocates or decompresses anything.

A file's header or directory declares how much data follows; a hostile or damaged file can
declare terabytes in a few bytes, or hold a gigabyte of zeros compressed into a megabyte. So each
declared size is checked against these limits first, and the data is then read in bounded pieces
up to exactly the declared size (never "read everything, then look").
"""

from __future__ import annotations

import os

MAX_CLASSES = 1000  # output classes a data set (and so a network) may have

# Declared (uncompressed) sizes may exceed the bytes on disk by at most this factor, or by any
# factor up to COMPRESSED_FLOOR: MNIST's gzip files are 4.7x, float arrays hardly compress, and a
# real data set or model never reaches 32x; a compression bomb does (deflate allows ~1000x).
MAX_COMPRESSION_RATIO = 32
COMPRESSED_FLOOR = 64 << 20

MAX_IDX_BYTES = 4 << 30  # one IDX file's pixels or labels (EMNIST, the largest, is 0.55 GB)
MAX_ARCHIVE_BYTES = 8 << 30  # all the arrays read from one model or checkpoint file
MAX_ZIP_DIRECTORY_BYTES = 4 << 20  # an .npz's list of members (a real one has a few KB)
MAX_META_BYTES = 16 << 20  # the JSON ``meta`` of a model or checkpoint
MAX_JSON_DEPTH = 32  # nesting of that JSON (real files nest 4 levels)
MAX_NPY_HEADER_BYTES = 10_000  # NumPy's own default limit for an .npy header


def physical_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def decompressed_limit(stored_bytes: int, hard_limit: int, memory_share: int) -> int:
    """The most a file of ``stored_bytes`` on disk may declare: within the compression ratio,
    ``hard_limit``, and 1/``memory_share`` of this machine's memory."""
    plausible = max(COMPRESSED_FLOOR, MAX_COMPRESSION_RATIO * stored_bytes)
    return min(plausible, hard_limit, physical_memory_bytes() // memory_share)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TB"
