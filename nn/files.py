"""Files: the errors every reader and writer raises, safe writing, and the one duration format
every part of the project shows.

Every problem with a file becomes a :class:`FileError` whose message is one line that names the
file and says what is wrong (``os_error_reason`` turns an ``OSError`` into plain words); the CLI
prints it and exits 2, the app shows it.
"""

from __future__ import annotations

import errno
import math
import os
import re
import secrets
import stat
import time
from pathlib import Path
from typing import BinaryIO, Callable


class FileError(ValueError):
    """A file or folder that cannot be read, written or used; the message names it and says why."""


class SaveError(OSError, FileError):
    """A file that could not be written. Both an ``OSError`` (as before) and a :class:`FileError`;
    ``str()`` is the one-line message naming the file, ``strerror`` the reason alone."""

    def __init__(self, path: Path | str, reason: str, errno_: int | None = None):
        super().__init__(errno_ if errno_ is not None else 0, reason, str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"{self.filename}: cannot be written ({self.strerror})"


_REASONS = {
    errno.ENOENT: "not found",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "the disk is full",
    getattr(errno, "EDQUOT", -1): "the disk quota is used up",
    errno.EFBIG: "it would exceed the file-size limit (ulimit -f)",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EIO: "input/output error; is the disk failing?",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files",
    errno.ENOMEM: "out of memory",
}


def os_error_reason(exc: OSError) -> str:
    """A short reason in plain words: 'the disk is full', 'permission denied', ..."""
    if isinstance(exc, SaveError):
        return exc.strerror
    return _REASONS.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line, shortened: parsers' messages may quote what they found."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_error_message(path: Path | str, exc: OSError) -> str:
    """The one-line message for a file that could not be opened or read."""
    if isinstance(exc, FileNotFoundError):
        return f"{path}: file not found"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder, not a file"
    return f"{path}: cannot be read ({os_error_reason(exc)})"


def open_for_reading(path: Path, error: type[FileError]) -> tuple[BinaryIO, int]:
    """``path`` opened for reading (binary) and its size. Only a regular file: a pipe or a device
    could block or never end. Any problem raises ``error`` with the one-line message."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(mode):
            raise error(f"{path}: is not a regular file (a device or a pipe?)")
        f = open(path, "rb")
    except OSError as exc:
        raise error(read_error_message(path, exc)) from None
    try:
        return f, os.fstat(f.fileno()).st_size
    except OSError as exc:
        f.close()
        raise error(read_error_message(path, exc)) from None


# -- writing --------------------------------------------------------------------------------------

TEMP_SUFFIX = ".tmp"
STALE_UNKNOWN_WRITER_S = 3600  # a temporary file whose writer cannot be told: stale after an hour
STALE_ANY_S = 24 * 3600  # any temporary file of a save older than this is left over


def write_target(path: Path | str) -> Path:
    """Where a save to ``path`` really writes: through symbolic links to the file they point to
    (a link stays a link, as editors keep it), else ``path`` itself."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _temp_name(target: Path) -> str:
    return f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # (os.kill(pid, 0) would send Ctrl+C there)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def stale_temporaries(target: Path) -> list[Path]:
    """Temporary files of earlier saves to ``target`` whose writer died (a crash, kill -9, power
    loss): ``.<name>.<pid>.<random>.tmp`` of a process that no longer exists, or any such file
    older than a day (the older ``.<name>.<random>.tmp`` of ``tempfile.mkstemp``: older than an
    hour). (On a folder shared between machines, a process id is only checked on this one.)"""
    folder = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    stale = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        middle = name[len(prefix):-len(TEMP_SUFFIX)]
        ours = re.fullmatch(r"(\d+)\.[0-9a-f]{8}", middle)
        if ours is not None:
            pid = int(ours[1])
            dead = pid != os.getpid() and not _pid_alive(pid)
            if dead or age > STALE_ANY_S:
                stale.append(folder / name)
        elif re.fullmatch(r"[a-z0-9_]{8}", middle) and age > STALE_UNKNOWN_WRITER_S:  # (tempfile.mkstemp's)
            stale.append(folder / name)
    return stale


def remove_stale_temporaries(target: Path) -> None:
    for leftover in stale_temporaries(target):
        try:
            leftover.unlink()
        except OSError:
            pass


def atomic_write(path: Path | str, write: Callable[[BinaryIO], object] | bytes | str) -> Path:
    """Write to ``path`` through a temporary file in the same folder and a rename, so an
    interrupted or failed save never leaves a broken file and never replaces a good one.

    ``write`` is the content (bytes, or text written as UTF-8) or a function that writes it to
    the binary file object it is given. Like an editor's save: an existing file keeps its
    permissions (and owner, where allowed), a new one gets 0666 minus the umask, and a symbolic
    link is written through (the file it points to is replaced; the link stays). Temporary files
    left by earlier saves to the same file whose process died are removed.

    Any ``OSError`` (a missing folder, a full disk, the file-size limit) becomes a
    :class:`SaveError` naming the file; the temporary file is removed and ``path`` is left as it
    was. Other exceptions (including KeyboardInterrupt) propagate the same way.
    """
    path = Path(path)
    if isinstance(write, (bytes, bytearray, str)):
        payload = write.encode("utf-8") if isinstance(write, str) else bytes(write)

        def write(f: BinaryIO) -> None:
            f.write(payload)

    target = write_target(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise SaveError(path, os_error_reason(exc), exc.errno) from exc
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise SaveError(path, "it is a folder", errno.EISDIR)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise SaveError(path, "it is not a regular file (a device or a pipe?)")
    remove_stale_temporaries(target)
    tmp = None
    try:
        while tmp is None:
            candidate = folder / _temp_name(target)
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            except FileExistsError:
                continue
            except FileNotFoundError as exc:
                raise SaveError(path, f"the folder {folder} does not exist", exc.errno) from exc
            tmp = candidate
        with os.fdopen(fd, "wb") as f:
            if existing is not None:
                _keep_mode_and_owner(f.fileno(), existing)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
        _sync_folder(folder)
    except OSError as exc:
        if isinstance(exc, SaveError):
            raise
        raise SaveError(path, os_error_reason(exc), exc.errno) from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def _keep_mode_and_owner(fd: int, existing: os.stat_result) -> None:
    if hasattr(os, "fchown") and (existing.st_uid != os.geteuid() or existing.st_gid != os.getegid()):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except OSError:
            pass  # not allowed: the file becomes ours, as with any editor
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(existing.st_mode))


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
