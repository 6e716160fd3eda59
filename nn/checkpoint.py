"""Whole training sessions saved and resumed exactly.

A checkpoint holds everything the next step depends on: parameters, optimiser state (momentum,
Adam moments and step count), the epoch's data order and position, the shuffling RNG's state,
counters, hyperparameters, the metric history, events and pinned digits. So resuming gives
bit-identical results to never having stopped. Format: ``.npz`` without pickle, with the
scalars as JSON in its ``meta`` entry; written atomically like models.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import ConfigError, TrainConfig
from .model_io import (
    FORMAT_VERSION,
    ModelFileError,
    atomic_write_npz,
    meta_array,
    network_from_arrays,
    param_arrays,
    read_meta,
    read_npz,
)
from .trainer import Event, Trainer

if TYPE_CHECKING:
    from .data import Dataset

CHECKPOINT_FORMAT = "softmax-visualizer-checkpoint"


def data_fingerprint(dataset: "Dataset") -> str:
    """Cheap identity of a dataset (sizes and a CRC of the labels): resuming on other data is refused."""
    crc = zlib.crc32(np.ascontiguousarray(dataset.train_y).tobytes())
    crc = zlib.crc32(np.ascontiguousarray(dataset.test_y).tobytes(), crc)
    return f"{len(dataset.train_y)}x{dataset.n_features}/{len(dataset.test_y)}/{dataset.n_classes}/{crc:08x}"


def _param_index(state_name: str) -> int:
    """The parameter an optimiser state array belongs to: its name ends in ``_<index>``."""
    return int(state_name.rsplit("_", 1)[1])


def checkpoint_arrays(trainer: Trainer, extra_meta: dict | None = None,
                      extra_arrays: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Everything needed to resume ``trainer``, as arrays ready for ``np.savez``; ``extra_*``
    carry what the caller keeps beside the trainer (e.g. the app's list of earlier runs)."""
    arrays: dict[str, np.ndarray] = dict(param_arrays(trainer.net))
    arrays.update({f"extra_{k}": v for k, v in (extra_arrays or {}).items()})
    for name, value in trainer.optimizer.state().items():
        arrays[f"opt_{name}"] = trainer.net.to_public(_param_index(name), value)
    if trainer.order is not None:
        arrays["order"] = trainer.order
    train_state, test_state = trainer.train_history.state(), trainer.test_history.state()
    arrays.update(train_history=train_state["data"], train_history_pending=train_state["pending"],
                  test_history=test_state["data"], test_history_pending=test_state["pending"])
    for i, points in trainer._pin_points.items():
        arrays[f"pin_{i}"] = np.array(points, dtype=np.float64).reshape(-1, 2)
    for k, (image, _) in enumerate(trainer.drawn_pins):
        arrays[f"drawn_pin_{k}"] = image
    meta = {
        "format": CHECKPOINT_FORMAT,
        "version": FORMAT_VERSION,
        "layer_sizes": list(trainer.layer_sizes),
        "activation": trainer.config.activation,
        "config": trainer.config.to_dict(),
        "data": data_fingerprint(trainer.dataset),
        "data_source": trainer.dataset.source,
        "step": trainer.step_count,
        "samples_seen": trainer.samples_seen,
        "position": trainer.position,
        "train_seconds": trainer.train_seconds,
        "eval_seconds": trainer.eval_seconds,
        "seconds_to_98": trainer.seconds_to_98,
        "optimizer_steps": trainer.optimizer.steps,
        "rng_state": trainer.rng.bit_generator.state,
        "train_history": {"bucket": train_state["bucket"], "pending_steps": train_state["pending_steps"]},
        "test_history": {"bucket": test_state["bucket"], "pending_steps": test_state["pending_steps"]},
        "events": [[e.step, e.samples_seen, e.text] for e in trainer.events],
        "pins": list(trainer.pins),
        "drawn_pin_labels": [label for _, label in trainer.drawn_pins],
        "probes": list(trainer.probe_indices),
        "diverged": trainer.diverged,
        **(extra_meta or {}),
    }
    arrays["meta"] = meta_array(meta)
    return arrays


def save_checkpoint(path: Path | str, trainer: Trainer, extra_meta: dict | None = None,
                    extra_arrays: dict[str, np.ndarray] | None = None) -> None:
    atomic_write_npz(path, checkpoint_arrays(trainer, extra_meta, extra_arrays))


def _require(arrays: dict, name: str, path) -> np.ndarray:
    if name not in arrays:
        raise ModelFileError(f"{path}: checkpoint lacks {name!r}")
    return arrays[name]


def load_checkpoint(path: Path | str, dataset: "Dataset") -> tuple[Trainer, dict]:
    """A trainer in exactly the state saved in ``path``; refuses files for other data or damaged ones."""
    trainer, meta, _ = load_session(path, dataset)
    return trainer, meta


def load_session(path: Path | str, dataset: "Dataset") -> tuple[Trainer, dict, dict[str, np.ndarray]]:
    """Like :func:`load_checkpoint`, also returning the extra arrays saved beside the trainer."""
    arrays = read_npz(path)
    meta = read_meta(arrays, path, CHECKPOINT_FORMAT)
    if meta.get("data") != data_fingerprint(dataset):
        raise ModelFileError(
            f"{path}: saved for other data ({meta.get('data_source', 'unknown')}, {meta.get('data')}); "
            f"the loaded data is {dataset.source} ({data_fingerprint(dataset)})"
        )
    try:
        config = TrainConfig.from_dict(meta["config"])
        net = network_from_arrays(arrays, meta, path)
        trainer = Trainer(dataset, config)
        if tuple(net.layer_sizes) != trainer.layer_sizes or net.dtype != trainer.net.dtype:
            raise ModelFileError(f"{path}: parameters do not match the saved configuration")
        trainer.net.load_params(net.params)
        opt_state = trainer.optimizer.normalized_state({k[4:]: v for k, v in arrays.items() if k.startswith("opt_")})
        expected = trainer.optimizer.state()
        if set(opt_state) != set(expected):
            raise ModelFileError(f"{path}: optimiser state {sorted(opt_state)} does not match "
                                 f"{trainer.config.optimizer}")
        for name, value in opt_state.items():
            shape = trainer.net.to_public(_param_index(name), expected[name]).shape
            if value.shape != shape:
                raise ModelFileError(f"{path}: optimiser array {name!r} has shape {value.shape}, "
                                     f"expected {shape}")
        trainer.optimizer.load_state({name: trainer.net.from_public(_param_index(name), value)
                                      for name, value in opt_state.items()})
        trainer.optimizer.steps = int(meta["optimizer_steps"])
        if "order" in arrays:
            order = arrays["order"]
            if order.shape != (trainer.n_train,) or order.dtype.kind not in "iu":
                raise ModelFileError(f"{path}: data order has shape {order.shape}, expected ({trainer.n_train},)")
            trainer.order = order.astype(np.int64)
        trainer.position = int(meta["position"])
        trainer.rng.bit_generator.state = meta["rng_state"]
        trainer.step_count = int(meta["step"])
        trainer.samples_seen = int(meta["samples_seen"])
        trainer.train_seconds = float(meta["train_seconds"])
        trainer.eval_seconds = float(meta["eval_seconds"])
        trainer.seconds_to_98 = meta.get("seconds_to_98")
        for name, history in (("train_history", trainer.train_history), ("test_history", trainer.test_history)):
            history.load_state({"data": _require(arrays, name, path),
                                "pending": _require(arrays, f"{name}_pending", path), **meta[name]})
        trainer.events = [Event(int(s), int(n), str(t)) for s, n, t in meta["events"]]
        trainer.diverged = meta.get("diverged")
        trainer.set_probes(meta.get("probes", []))
        trainer.set_pins(meta.get("pins", []))
        for k, label in enumerate(meta.get("drawn_pin_labels", [])):
            trainer.pin_drawn(_require(arrays, f"drawn_pin_{k}", path), int(label))
        for i in (*trainer.pins, *range(-1, -1 - len(trainer.drawn_pins), -1)):
            points = arrays.get(f"pin_{i}")
            if points is not None:
                trainer._pin_points[i] = [(int(s), float(p)) for s, p in points]
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise ModelFileError(f"{path}: damaged checkpoint ({type(exc).__name__}: {exc})") from None
    extra = {k[len("extra_"):]: v for k, v in arrays.items() if k.startswith("extra_")}
    return trainer, meta, extra
