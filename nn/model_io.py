"""Saving and loading models as ``.npz`` files: no pickle, atomic writes, strict validation."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .activations import ACTIVATIONS
from .files import atomic_write
from .network import Network

MODEL_FORMAT = "softmax-visualizer-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be used; the message names it and says why."""


def atomic_write_npz(path: Path | str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as an ``.npz``, atomically (see :func:`nn.files.atomic_write`)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError(f"{path}: folder {folder} does not exist")
    atomic_write(path, lambda f: np.savez(f, **arrays))


def check_writable(path: Path | str) -> None:
    """Fail early (before a long run) if ``path`` cannot be written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError(f"{path}: folder {folder} does not exist")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder")
    if not os.access(folder, os.W_OK):
        raise ModelFileError(f"{path}: folder {folder} is not writable")


def read_npz(path: Path | str) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, refusing pickled objects and reporting damage clearly."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: file not found")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder, not a file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if head != b"PK\x03\x04":  # every .npz is a zip archive
        raise ModelFileError(f"{path}: not a valid .npz file (it is not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ModelFileError(f"{path}: contains pickled Python objects, which are refused for safety") from None
        raise ModelFileError(f"{path}: not a valid .npz file ({exc})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ModelFileError(f"{path}: not a valid .npz file, or truncated ({exc})") from None


def meta_array(meta: dict) -> np.ndarray:
    return np.array(json.dumps(meta))  # a 0-d unicode array: loads without pickle


def read_meta(arrays: dict[str, np.ndarray], path, expected_format: str) -> dict:
    if "meta" not in arrays:
        raise ModelFileError(f"{path}: no 'meta' entry; not a Softmax Visualizer file")
    meta_raw = arrays["meta"]
    if meta_raw.dtype.kind != "U" or meta_raw.shape != ():
        raise ModelFileError(f"{path}: 'meta' entry has the wrong type")
    try:
        meta = json.loads(str(meta_raw))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: 'meta' entry is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != expected_format:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelFileError(f"{path}: format is {found!r}, expected {expected_format!r}")
    if meta.get("version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{path}: made by a newer version (format {meta.get('version')}); please upgrade")
    return meta


def param_arrays(net: Network) -> dict[str, np.ndarray]:
    arrays = {}
    params = net.public_params()
    for i, (w, b) in enumerate(zip(params[0::2], params[1::2])):
        arrays[f"W{i + 1}"] = w
        arrays[f"b{i + 1}"] = b
    return arrays


def network_from_arrays(arrays: dict[str, np.ndarray], meta: dict, path) -> Network:
    sizes = meta.get("layer_sizes")
    activation = meta.get("activation")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and s > 0 for s in sizes)):
        raise ModelFileError(f"{path}: 'layer_sizes' must be a list of at least two positive whole numbers")
    if activation not in ACTIVATIONS:
        raise ModelFileError(f"{path}: unknown activation {activation!r}")
    params = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        for name, shape in ((f"W{i}", (fan_out, fan_in)), (f"b{i}", (fan_out,))):
            if name not in arrays:
                raise ModelFileError(f"{path}: missing array {name!r} for a {'-'.join(map(str, sizes))} network")
            a = arrays[name]
            if a.shape != shape:
                raise ModelFileError(f"{path}: array {name!r} has shape {a.shape}, expected {shape}")
            if a.dtype not in (np.float32, np.float64):
                raise ModelFileError(f"{path}: array {name!r} has dtype {a.dtype}, expected float32 or float64")
            if not np.isfinite(a).all():
                raise ModelFileError(f"{path}: array {name!r} contains NaN or infinite values")
            params.append(a)
    dtypes = {p.dtype for p in params}
    if len(dtypes) != 1:
        raise ModelFileError(f"{path}: parameters mix dtypes {sorted(map(str, dtypes))}")
    return Network(sizes, activation, params, dtypes.pop())


def save_model(path: Path | str, net: Network, config: dict | None = None, metrics: dict | None = None) -> None:
    meta = {"format": MODEL_FORMAT, "version": FORMAT_VERSION, "layer_sizes": list(net.layer_sizes),
            "activation": net.activation, "dtype": str(net.dtype), "config": config or {},
            "metrics": metrics or {}}
    atomic_write_npz(path, {"meta": meta_array(meta), **param_arrays(net)})


def load_model(path: Path | str) -> tuple[Network, dict]:
    arrays = read_npz(path)
    meta = read_meta(arrays, path, MODEL_FORMAT)
    return network_from_arrays(arrays, meta, path), meta


def check_fits_data(net: Network, n_features: int, n_classes: int, path, data_source: str) -> None:
    if net.layer_sizes[0] != n_features or net.layer_sizes[-1] != n_classes:
        raise ModelFileError(
            f"{path}: model expects {net.layer_sizes[0]} inputs and {net.layer_sizes[-1]} classes, "
            f"but {data_source} has {n_features} inputs and {n_classes} classes"
        )
