"""Whole training sessions saved and resumed exactly.

A checkpoint holds everything the next step depends on: parameters, optimiser state (momentum,
Adam moments and step count), the epoch's data order and position, the shuffling RNG's state,
counters, hyperparameters, the metric history, events and pinned digits. So resuming gives
bit-identical results to never having stopped. Format: ``.npz`` without pickle, with the
scalars as JSON in its ``meta`` entry; written atomically like models.
"""

from __future__ import annotations

import math
import re
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .config import ConfigError, TrainConfig
from .files import one_line
from .history import COLUMNS
from .model_io import (
    FORMAT_VERSION,
    MAX_COUNT,
    ModelFileError,
    atomic_write_npz,
    is_count,
    meta_array,
    network_from_archive,
    npz_bytes,
    param_arrays,
    read_meta,
)
from .npz import NpzReader
from .trainer import Event, Trainer

if TYPE_CHECKING:
    from .data import Dataset

CHECKPOINT_FORMAT = "softmax-visualizer-checkpoint"
MAX_PROBES = 1000  # test digits followed at once (the app follows one)


def data_fingerprint(dataset: "Dataset") -> str:
    """Identity of a dataset: sizes, classes and a hash of every pixel and label (see
    ``Dataset.content_digest``), so resuming on other data is refused, even with the same labels."""
    return (f"v2:{len(dataset.train_y)}x{dataset.n_features}/{len(dataset.test_y)}/{dataset.n_classes}/"
            f"{dataset.content_digest()}")


def _labels_fingerprint(dataset: "Dataset") -> str:
    """What checkpoints saved before version 2 of the fingerprint hold: sizes and a CRC of the
    labels only. Such a file is still accepted when these match (it cannot tell more)."""
    crc = zlib.crc32(np.ascontiguousarray(dataset.train_y).tobytes())
    crc = zlib.crc32(np.ascontiguousarray(dataset.test_y).tobytes(), crc)
    return f"{len(dataset.train_y)}x{dataset.n_features}/{len(dataset.test_y)}/{dataset.n_classes}/{crc:08x}"


def _same_data(saved: object, dataset: "Dataset") -> bool:
    if not isinstance(saved, str):
        return False
    if saved.startswith("v2:"):
        return saved == data_fingerprint(dataset)
    return saved == _labels_fingerprint(dataset)


def _param_index(state_name: str) -> int:
    """The parameter an optimiser state array belongs to: its name ends in ``_<index>``."""
    return int(state_name.rsplit("_", 1)[1])


def checkpoint_arrays(trainer: Trainer, extra_meta: dict | None = None,
                      extra_arrays: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Everything needed to resume ``trainer``, as arrays ready for ``np.savez``; ``extra_*``
    carry what the caller keeps beside the trainer (e.g. the app's list of earlier runs)."""
    trainer.settle_evaluations()
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


def checkpoint_file_bytes(trainer: Trainer) -> int:
    """About how large a checkpoint of ``trainer`` is (no less): parameters, optimiser state and
    the data order."""
    arrays = [(p.shape, p.dtype) for p in trainer.net.public_params()]
    arrays += [(v.shape, v.dtype) for v in trainer.optimizer.state().values()]
    return npz_bytes(arrays) + (8 * trainer.n_train if trainer.config.batch_size is not None else 0)


def load_checkpoint(path: Path | str, dataset: "Dataset") -> tuple[Trainer, dict]:
    """A trainer in exactly the state saved in ``path``; refuses files for other data or damaged ones."""
    trainer, meta, _ = load_session(path, dataset)
    return trainer, meta


def load_session(path: Path | str, dataset: "Dataset") -> tuple[Trainer, dict, dict[str, np.ndarray]]:
    """Like :func:`load_checkpoint`, also returning the extra arrays saved beside the trainer.
    Every value is checked before it is used; any problem is a :class:`ModelFileError`."""
    path = Path(path)
    with NpzReader(path) as npz:
        meta = read_meta(npz, CHECKPOINT_FORMAT)
        if not _same_data(meta.get("data"), dataset):
            source = one_line(str(meta.get("data_source", "unknown")), 80)
            raise ModelFileError(
                f"{path}: saved for other data ({source}, {one_line(str(meta.get('data')), 80)}); "
                f"the loaded data is {dataset.source} ({data_fingerprint(dataset)})"
            )
        try:
            trainer = _restore(npz, _Meta(meta, path), dataset)
        except ConfigError as exc:
            raise ModelFileError(f"{path}: damaged checkpoint ({exc})") from None
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{path}: damaged checkpoint ({type(exc).__name__}: {one_line(exc)})") from None
        extra = {name[len("extra_"):]: npz.read(name, kinds="biufU")
                 for name in sorted(npz.names) if name.startswith("extra_")}
    return trainer, meta, extra


_MISSING = object()


class _Meta:
    """Typed access to a checkpoint's meta: each value is checked, with a message naming the file."""

    def __init__(self, meta: dict, path: Path):
        self.meta, self.path = meta, path

    def get(self, name: str, check: Callable[[object], bool], expected: str, default=_MISSING):
        if name not in self.meta:
            if default is _MISSING:
                raise ModelFileError(f"{self.path}: checkpoint lacks {name!r}")
            return default
        value = self.meta[name]
        if not check(value):
            raise ModelFileError(f"{self.path}: {name!r} is {one_line(repr(value), 60)}, expected {expected}")
        return value

    def count(self, name: str, maximum: int = MAX_COUNT) -> int:
        return self.get(name, lambda v: is_count(v, 0, maximum), f"a whole number from 0 to {maximum}")

    def seconds(self, name: str, default=_MISSING) -> float | None:
        return self.get(name, lambda v: v is None and default is None or _is_seconds(v), "a number of seconds >= 0",
                        default)

    def counts(self, name: str, maximum_length: float = math.inf) -> list[int]:
        return self.get(name, lambda v: isinstance(v, list) and len(v) <= maximum_length
                        and all(is_count(i) for i in v), "a list of whole numbers >= 0", [])


def _is_seconds(value: object) -> bool:
    return is_count(value) or isinstance(value, float) and math.isfinite(value) and value >= 0


def _is_event(value: object) -> bool:
    return (isinstance(value, list) and len(value) == 3 and is_count(value[0]) and is_count(value[1])
            and isinstance(value[2], str))


def _is_permutation(order: np.ndarray, n: int) -> bool:
    if order.shape != (n,) or order.min() < 0 or order.max() >= n:
        return False
    seen = np.zeros(n, dtype=bool)
    seen[order.astype(np.intp)] = True
    return bool(seen.all())


def _restore(npz: NpzReader, meta: _Meta, dataset: "Dataset") -> Trainer:
    path = npz.path
    config = TrainConfig.from_dict(meta.get("config", lambda v: isinstance(v, dict), "an object of settings"))
    net = network_from_archive(npz, meta.meta)
    trainer = Trainer(dataset, config)
    if tuple(net.layer_sizes) != trainer.layer_sizes or net.dtype != trainer.net.dtype:
        raise ModelFileError(f"{path}: parameters do not match the saved configuration")
    trainer.net.load_params(net.params)

    public = trainer.net.public_params()
    saved = {}
    for name in sorted(npz.names):
        if not name.startswith("opt_"):
            continue
        match = re.fullmatch(r"opt_([a-z_]+)_(\d+)", name)
        if match is None or int(match[2]) >= len(public):
            raise ModelFileError(f"{path}: unexpected optimiser array {name!r}")
        value = npz.read(name, kinds="f", shape=public[int(match[2])].shape, what="optimiser array")
        if not np.isfinite(value).all():
            raise ModelFileError(f"{path}: optimiser array {name!r} contains NaN or infinite values")
        saved[name[len("opt_"):]] = value
    opt_state = trainer.optimizer.normalized_state(saved)
    if set(opt_state) != set(trainer.optimizer.state()):
        raise ModelFileError(f"{path}: optimiser state {sorted(opt_state)} does not match {trainer.config.optimizer}")
    trainer.optimizer.load_state({name: trainer.net.from_public(_param_index(name), value)
                                  for name, value in opt_state.items()})
    trainer.optimizer.steps = meta.count("optimizer_steps")

    if npz.has("order"):
        order = npz.read("order", kinds="iu", shape=(trainer.n_train,), what="data order")
        if not _is_permutation(order, trainer.n_train):
            raise ModelFileError(f"{path}: the data order is not an ordering of the {trainer.n_train} training "
                                 "samples (each exactly once); the file is damaged")
        trainer.order = order.astype(np.int64)
    trainer.position = meta.count("position", maximum=trainer.n_train)
    try:
        trainer.rng.bit_generator.state = meta.get("rng_state", lambda v: isinstance(v, dict), "an object")
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{path}: the saved shuffling state is damaged ({one_line(exc)})") from None
    trainer.step_count = meta.count("step")
    trainer.samples_seen = meta.count("samples_seen")
    trainer.train_seconds = float(meta.seconds("train_seconds"))
    trainer.eval_seconds = float(meta.seconds("eval_seconds"))
    trainer.seconds_to_98 = meta.seconds("seconds_to_98", default=None)

    for name, history in (("train_history", trainer.train_history), ("test_history", trainer.test_history)):
        state = meta.get(name, lambda v: isinstance(v, dict) and is_count(v.get("bucket"), 1)
                         and is_count(v.get("pending_steps")) and v["pending_steps"] < v["bucket"],
                         "an object with a bucket >= 1 and fewer pending steps")
        data = npz.read(name, kinds="fiu", what="history")
        pending = npz.read(f"{name}_pending", kinds="fiu", shape=(len(COLUMNS),), what="history")
        if data.ndim != 2 or data.shape[0] != len(COLUMNS) or data.shape[1] > history.capacity:
            raise ModelFileError(f"{path}: history {name!r} has shape {data.shape}, expected "
                                 f"({len(COLUMNS)}, at most {history.capacity})")
        history.load_state({"data": data, "pending": pending, "bucket": state["bucket"],
                            "pending_steps": state["pending_steps"]})

    events = meta.get("events", lambda v: isinstance(v, list) and all(_is_event(e) for e in v),
                      "a list of [step, samples, text]")
    trainer.events = [Event(s, n, t) for s, n, t in events]
    trainer.diverged = meta.get("diverged", lambda v: v is None or isinstance(v, str), "a text or null", None)
    trainer.set_probes(meta.counts("probes", maximum_length=MAX_PROBES))
    trainer.set_pins(meta.counts("pins"))
    for k, label in enumerate(meta.counts("drawn_pin_labels")):
        image = npz.read(f"drawn_pin_{k}", kinds="f", shape=(dataset.n_features,), what="drawn pin")
        if not np.isfinite(image).all():
            raise ModelFileError(f"{path}: drawn pin {k} contains NaN or infinite values")
        trainer.pin_drawn(image, label)
    for i in (*trainer.pins, *range(-1, -1 - len(trainer.drawn_pins), -1)):
        if npz.has(f"pin_{i}"):
            points = npz.read(f"pin_{i}", kinds="fiu", what="pin curve")
            if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
                raise ModelFileError(f"{path}: pin curve 'pin_{i}' has shape {points.shape}, expected (n, 2) "
                                     "of finite values")
            trainer._pin_points[i] = [(int(s), float(p)) for s, p in points]
    return trainer
