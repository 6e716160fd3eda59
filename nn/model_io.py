"""Saving and loading models as ``.npz`` files: no pickle, atomic writes, strict validation, and
reads bounded by what the file declares (see ``nn.npz``)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .activations import ACTIVATIONS
from .files import atomic_write, one_line, write_target
from .limits import MAX_META_BYTES, format_bytes
from .network import Network
from .npz import ModelFileError, NpzReader

MODEL_FORMAT = "softmax-visualizer-model"
FORMAT_VERSION = 1


def atomic_write_npz(path: Path | str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as an ``.npz``, atomically (see :func:`nn.files.atomic_write`);
    a failed write raises :class:`nn.files.SaveError` naming the file."""
    path = Path(path)
    folder = write_target(path).parent
    if not folder.is_dir():
        raise ModelFileError(f"{path}: folder {folder} does not exist")
    atomic_write(path, lambda f: np.savez(f, **arrays))


def npz_bytes(arrays: Sequence[tuple[Sequence[int], np.dtype | str]]) -> int:
    """About how large an ``.npz`` of arrays of these shapes and dtypes is (no less)."""
    return sum(math.prod(shape) * np.dtype(dtype).itemsize + 256 for shape, dtype in arrays)


def _file_size_limit() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover (not on Windows)
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else soft


def check_writable(path: Path | str, expected_bytes: int | None = None) -> None:
    """Fail early (before a long run) if ``path`` cannot be written: a missing or read-only
    folder, a folder or device in its place, or, given the file's expected size, a file-size
    limit (``ulimit -f``) or a disk too small for it."""
    path = Path(path)
    target = write_target(path)
    folder = target.parent
    if not folder.is_dir():
        raise ModelFileError(f"{path}: folder {folder} does not exist")
    if target.is_dir():
        raise ModelFileError(f"{path}: is a folder")
    if target.exists() and not target.is_file():
        raise ModelFileError(f"{path}: is not a regular file (a device or a pipe?)")
    if not os.access(folder, os.W_OK):
        raise ModelFileError(f"{path}: folder {folder} is not writable")
    if expected_bytes is None:
        return
    limit = _file_size_limit()
    if limit is not None and expected_bytes > limit:
        raise ModelFileError(f"{path}: the file will be about {format_bytes(expected_bytes)}, more than the "
                             f"file-size limit of {format_bytes(limit)} (ulimit -f)")
    try:
        disk = os.statvfs(folder)
    except (OSError, AttributeError):
        return
    free = (disk.f_bfree if os.geteuid() == 0 else disk.f_bavail) * disk.f_frsize
    if expected_bytes > free:
        raise ModelFileError(f"{path}: the file will be about {format_bytes(expected_bytes)}, but only "
                             f"{format_bytes(free)} is free on that disk")


def meta_array(meta: dict) -> np.ndarray:
    return np.array(json.dumps(meta))  # a 0-d unicode array: loads without pickle


def _short(value: object) -> str:
    return one_line(repr(value), 60)


def read_meta(npz: NpzReader, expected_format: str) -> dict:
    """The file's ``meta`` JSON, checked to be of ``expected_format`` and of a version we read."""
    path = npz.path
    if not npz.has("meta"):
        raise ModelFileError(f"{path}: no 'meta' entry; not a Softmax Visualizer file")
    meta = npz.read_json("meta", MAX_META_BYTES)
    if not isinstance(meta, dict) or meta.get("format") != expected_format:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelFileError(f"{path}: format is {_short(found)}, expected {expected_format!r}")
    version = meta.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ModelFileError(f"{path}: format version {_short(version)} is not a whole number")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path}: made by a newer version (format {version}); please upgrade")
    return meta


def param_arrays(net: Network) -> dict[str, np.ndarray]:
    arrays = {}
    params = net.public_params()
    for i, (w, b) in enumerate(zip(params[0::2], params[1::2])):
        arrays[f"W{i + 1}"] = w
        arrays[f"b{i + 1}"] = b
    return arrays


MAX_COUNT = 2**53  # counts in a file (steps, samples, sizes) beyond this are no real run's


def is_count(value: object, minimum: int = 0, maximum: int = MAX_COUNT) -> bool:
    """A JSON whole number (not a boolean) from ``minimum`` to ``maximum``."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


def layer_shapes(sizes: Sequence[int]) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every parameter array of a network of these layer sizes, in order."""
    shapes = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes += [(f"W{i}", (fan_out, fan_in)), (f"b{i}", (fan_out,))]
    return shapes


def network_from_archive(npz: NpzReader, meta: dict) -> Network:
    """The network whose layers ``meta`` declares, its parameters read from ``npz``."""
    path = npz.path
    sizes = meta.get("layer_sizes")
    activation = meta.get("activation")
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(is_count(s, 1) for s in sizes):
        raise ModelFileError(f"{path}: 'layer_sizes' must be a list of at least two positive whole numbers")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ModelFileError(f"{path}: unknown activation {_short(activation)}")
    shapes = layer_shapes(sizes)
    at_least = npz_bytes([(shape, np.float32) for _, shape in shapes])
    if at_least > npz.limit:
        raise ModelFileError(f"{path}: declares a {'-'.join(map(str, sizes))} network ({format_bytes(at_least)} "
                             f"of parameters), more than this file may hold: damaged or not a model file")
    params = []
    for name, shape in shapes:
        if not npz.has(name):
            raise ModelFileError(f"{path}: missing array {name!r} for a {'-'.join(map(str, sizes))} network")
        a = npz.read(name, kinds="f", shape=shape)
        if a.dtype not in (np.float32, np.float64):
            raise ModelFileError(f"{path}: array {name!r} has dtype {a.dtype}, expected float32 or float64")
        if not np.isfinite(a).all():
            raise ModelFileError(f"{path}: array {name!r} contains NaN or infinite values")
        params.append(a)
    dtypes = {p.dtype for p in params}
    if len(dtypes) != 1:
        raise ModelFileError(f"{path}: parameters mix dtypes {sorted(map(str, dtypes))}")
    return Network(sizes, activation, params, dtypes.pop())


def model_file_bytes(layer_sizes: Sequence[int], dtype) -> int:
    """About how large a saved model of these layers is (no less)."""
    return npz_bytes([(shape, dtype) for _, shape in layer_shapes(layer_sizes)])


def save_model(path: Path | str, net: Network, config: dict | None = None, metrics: dict | None = None) -> None:
    meta = {"format": MODEL_FORMAT, "version": FORMAT_VERSION, "layer_sizes": list(net.layer_sizes),
            "activation": net.activation, "dtype": str(net.dtype), "config": config or {},
            "metrics": metrics or {}}
    atomic_write_npz(path, {"meta": meta_array(meta), **param_arrays(net)})


def load_model(path: Path | str) -> tuple[Network, dict]:
    """The network saved in ``path`` and its meta; any problem is a :class:`ModelFileError`."""
    with NpzReader(path) as npz:
        meta = read_meta(npz, MODEL_FORMAT)
        return network_from_archive(npz, meta), meta


def check_fits_data(net: Network, n_features: int, n_classes: int, path, data_source: str) -> None:
    if net.layer_sizes[0] != n_features or net.layer_sizes[-1] != n_classes:
        raise ModelFileError(
            f"{path}: model expects {net.layer_sizes[0]} inputs and {net.layer_sizes[-1]} classes, "
            f"but {data_source} has {n_features} inputs and {n_classes} classes"
        )
