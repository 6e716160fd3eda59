"""Writing files safely, and the one duration format every part of the project shows."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path: Path | str, write: Callable[[BinaryIO], object] | bytes | str) -> Path:
    """Write to ``path`` through a temporary file in the same folder and a rename, so an
    interrupted or failed save never leaves a broken file and never replaces a good one.

    ``write`` is the content (bytes, or text written as UTF-8) or a function that writes it to
    the binary file object it is given. Errors (a missing folder, a full disk) propagate as
    ``OSError``; the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if isinstance(write, (bytes, bytearray, str)):
        payload = write.encode("utf-8") if isinstance(write, str) else bytes(write)

        def write(f: BinaryIO) -> None:
            f.write(payload)

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def format_duration(seconds: float | None) -> str:
    """``12.3 s``, ``4:05 min`` or ``1:02:03 h``; an en dash when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d} h"
