"""Reading ``.npz`` files (models and checkpoints) with bounded memory, member by member.

``np.load`` trusts a file: it decompresses a member whatever size it declares and allocates what
an ``.npy`` header claims. :class:`NpzReader` instead reads the zip's directory (refusing an
oversized one), then only the members the caller asks for, each after checking that its declared
size fits the file (see ``nn.limits``) and that its ``.npy`` header's shape and dtype account for
exactly those bytes; the data then streams into an array of that size. Pickled objects are refused.
Every problem is a :class:`ModelFileError` naming the file (and the member).
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .files import FileError, one_line, open_for_reading, read_error_message
from .limits import (
    MAX_ARCHIVE_BYTES,
    MAX_JSON_DEPTH,
    MAX_NPY_HEADER_BYTES,
    MAX_ZIP_DIRECTORY_BYTES,
    decompressed_limit,
    format_bytes,
)

try:  # zip members may be LZMA- or bzip2-compressed; Python may be built without them
    from lzma import LZMAError
except ImportError:  # pragma: no cover
    class LZMAError(Exception):
        pass

_READ_CHUNK = 1 << 20

# What reading a damaged or hostile archive can raise from zipfile's and NumPy's parsers.
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, LZMAError, EOFError, ValueError, TypeError,
           OverflowError, KeyError, IndexError, struct.error, NotImplementedError, RuntimeError, SyntaxError)


class ModelFileError(FileError):
    """A model or checkpoint file that cannot be used; the message names it and says why."""


def _zip_directory_size(f, size: int) -> int | None:
    """The size the zip's end record declares for its directory (None if there is no record)."""
    tail_len = min(size, 22 + 0xFFFF)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, cd_size = struct.unpack("<HL", tail[at + 10: at + 16])
    if cd_size != 0xFFFFFFFF and entries != 0xFFFF:
        return cd_size
    locator = tail[at - 20: at] if at >= 20 else b""  # a zip64 end record holds the real size
    if len(locator) != 20 or locator[:4] != b"PK\x06\x07":
        return cd_size
    (offset,) = struct.unpack("<Q", locator[8:16])
    if offset + 56 > size:
        return cd_size
    f.seek(offset)
    record = f.read(56)
    if record[:4] != b"PK\x06\x06":
        return cd_size
    return struct.unpack("<Q", record[40:48])[0]


class NpzReader:
    """An ``.npz`` opened for bounded reading; use as a context manager.

    ``names`` are the members stored as arrays (``<name>.npy``); :meth:`read` reads one.
    All reads together may not exceed :attr:`limit` bytes (see ``nn.limits.decompressed_limit``).
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._zip = None
        self._file, self.stored_bytes = open_for_reading(self.path, ModelFileError)
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _error(self, message: str) -> ModelFileError:
        return ModelFileError(f"{self.path}: {message}")

    def _open(self) -> None:
        try:
            if self._file.read(4) != b"PK\x03\x04":  # every .npz is a zip archive
                raise self._error("not a valid .npz file (it is not a zip archive)")
            directory = _zip_directory_size(self._file, self.stored_bytes)
            if directory is not None and directory > MAX_ZIP_DIRECTORY_BYTES:
                raise self._error(f"its zip directory declares {format_bytes(directory)}, more than "
                                  f"{format_bytes(MAX_ZIP_DIRECTORY_BYTES)}: damaged or not a model file")
            self._file.seek(0)
            self._zip = zipfile.ZipFile(self._file)
            members: dict[str, tuple[zipfile.ZipInfo, bool]] = {}
            for info in self._zip.infolist():
                is_array = info.filename.endswith(".npy")
                name = info.filename[:-4] if is_array else info.filename
                if name in members:
                    raise self._error(f"holds two members named {name!r}: damaged")
                members[name] = (info, is_array)
        except ModelFileError:
            raise
        except OSError as exc:
            raise ModelFileError(read_error_message(self.path, exc)) from None
        except _DAMAGE as exc:
            raise self._error(f"not a valid .npz file, or truncated ({one_line(exc)})") from None
        self._members = members
        self.names = frozenset(name for name, (_, is_array) in members.items() if is_array)
        self.limit = decompressed_limit(self.stored_bytes, MAX_ARCHIVE_BYTES, 4)
        self.used = 0

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._file.close()

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def has(self, name: str) -> bool:
        """Whether a member of that name exists at all (as an array or not)."""
        return name in self._members

    def read(self, name: str, kinds: str = "biuf", shape: tuple[int, ...] | None = None,
             max_bytes: int | None = None, what: str = "array") -> np.ndarray:
        """Member ``name`` as an array of a dtype kind in ``kinds`` (and of ``shape`` if given),
        in native byte order; its declared size is checked before anything is decompressed."""
        if name not in self._members:
            raise self._error(f"missing {what} {name!r}")
        info, is_array = self._members[name]
        if not is_array:
            raise self._error(f"{what} {name!r} is a plain zip member, not a NumPy array (.npy)")
        declared = info.file_size
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != declared:
            raise self._error(f"{what} {name!r} is damaged: stored with {info.compress_size} bytes but declares "
                              f"{declared}")
        if self.used + declared > self.limit or (max_bytes is not None and declared > max_bytes):
            limit = self.limit - self.used if max_bytes is None else min(max_bytes, self.limit - self.used)
            raise self._error(f"{what} {name!r} declares {format_bytes(declared)}, more than the "
                              f"{format_bytes(max(limit, 0))} this file may hold: damaged or not a model file")
        try:
            with self._zip.open(info) as member:
                array = self._read_npy(member, name, declared, kinds, shape, what)
        except ModelFileError:
            raise
        except OSError as exc:
            raise ModelFileError(read_error_message(self.path, exc)) from None
        except MemoryError:
            raise self._error(f"not enough memory to read {what} {name!r} ({format_bytes(declared)})") from None
        except _DAMAGE as exc:
            raise self._error(f"{what} {name!r} is damaged ({one_line(exc)})") from None
        self.used += declared
        return array

    def _read_npy(self, member, name: str, declared: int, kinds: str, shape, what: str) -> np.ndarray:
        fmt = np.lib.format
        version = fmt.read_magic(member)
        if version == (1, 0):
            found_shape, fortran, dtype = fmt.read_array_header_1_0(member, max_header_size=MAX_NPY_HEADER_BYTES)
        elif version == (2, 0):
            found_shape, fortran, dtype = fmt.read_array_header_2_0(member, max_header_size=MAX_NPY_HEADER_BYTES)
        else:
            raise self._error(f"{what} {name!r} is in an unsupported .npy version {version}")
        if dtype.hasobject:
            raise self._error(f"{what} {name!r} contains pickled Python objects, which are refused for safety")
        if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in kinds:
            raise self._error(f"{what} {name!r} has dtype {dtype}, expected {_kinds_text(kinds)}")
        if any(d < 0 for d in found_shape):
            raise self._error(f"{what} {name!r} has a negative size in its shape {found_shape}")
        count = int(np.prod(found_shape, dtype=object)) if found_shape else 1
        nbytes = count * dtype.itemsize
        header = member.tell()
        if header + nbytes != declared:
            held = format_bytes(max(declared - header, 0))
            raise self._error(f"{what} {name!r} is damaged: its header promises shape {tuple(found_shape)} "
                              f"({format_bytes(nbytes)}) but the member holds {held}")
        if shape is not None and tuple(found_shape) != tuple(shape):
            raise self._error(f"{what} {name!r} has shape {tuple(found_shape)}, expected {tuple(shape)}")
        flat = np.empty(count, dtype=dtype)
        buffer = memoryview(flat.view(np.uint8))
        done = 0
        while done < nbytes:
            got = member.readinto(buffer[done: done + _READ_CHUNK])
            if not got:
                raise self._error(f"{what} {name!r} is truncated")
            done += got
        if member.read(1):  # (reaching the end also checks the member's CRC)
            raise self._error(f"{what} {name!r} holds more data than its header says")
        array = flat.reshape(found_shape[::-1]).T if fortran else flat.reshape(found_shape)
        if not dtype.isnative:
            array = array.astype(dtype.newbyteorder("="))
        return array

    def read_json(self, name: str, max_bytes: int) -> object:
        """A JSON document stored as a 0-d unicode array (how ``meta`` is kept: no pickle)."""
        raw = self.read(name, kinds="U", shape=(), max_bytes=max_bytes, what="entry")
        try:
            value = json.loads(str(raw))
        except RecursionError:
            raise self._error(f"{name!r} entry nests deeper than {MAX_JSON_DEPTH} levels") from None
        except ValueError as exc:
            raise self._error(f"{name!r} entry is not valid JSON ({one_line(exc)})") from None
        if json_depth(value) > MAX_JSON_DEPTH:
            raise self._error(f"{name!r} entry nests deeper than {MAX_JSON_DEPTH} levels")
        return value


def _kinds_text(kinds: str) -> str:
    names = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats", "U": "text"}
    return " or ".join(dict.fromkeys(names[k] for k in kinds))


def json_depth(value: object) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iteratively: no recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
