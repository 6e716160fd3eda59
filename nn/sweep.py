"""Parallel sweeps: a grid of training runs, each an independent process, through joblib.

"Did lr 0.5 beat lr 0.1?" for a whole grid at once. Each run trains with one BLAS thread (as
every run of this project does), so ``--jobs N`` uses N cores; ``--backend`` is any joblib
backend that is installed (``loky``, the default, runs local processes; with Dask or Ray
installed and registered, the same sweep runs on a cluster). A run that diverges or fails is
recorded as such and the sweep goes on. The result file holds every run's configuration,
curves and final figures, in the format a session keeps its runs in (``nn.runs``), so the app
imports it into its Runs panel.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from .config import (
    PRESETS,
    ConfigError,
    TrainConfig,
    parse_batch_size,
    parse_hidden,
    parse_int,
    parse_positive_float,
    validate,
)
from .history import Curve
from .runs import RunRecord, runs_from_arrays, runs_to_arrays

SWEEP_FORMAT = "softmax-visualizer-sweep"
SWEEP_VERSION = 1
MAX_RUNS = 1000  # a grid larger than this is surely a typo


def _float(name: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{name}: {text!r:.60} is not a number") from None
    return parse


def _choice(text: str) -> str:
    return text.strip()  # validate() names an unknown choice


# option (as on the command line, without "--") -> (TrainConfig field, parse one value)
OPTIONS: dict[str, tuple[str, Callable[[str], object]]] = {
    "hidden": ("hidden", parse_hidden),
    "activation": ("activation", _choice),
    "optimizer": ("optimizer", _choice),
    "init": ("init", _choice),
    "lr": ("lr", lambda t: parse_positive_float(t, "learning rate")),
    "lr-decay": ("lr_decay", _float("lr decay")),
    "momentum": ("momentum", _float("momentum")),
    "l2": ("l2", _float("l2")),
    "batch-size": ("batch_size", parse_batch_size),
    "epochs": ("epochs", lambda t: parse_positive_float(t, "epochs")),
    "iterations": ("iterations", lambda t: parse_int(t, "iterations", 1)),
    "seed": ("seed", lambda t: parse_int(t, "seed", 0)),
    "dtype": ("dtype", _choice),
    "dropout": ("dropout", _float("dropout")),
    "shift": ("augment_shift", lambda t: parse_int(t, "shift", 0)),
    "rotation": ("augment_rotation", _float("rotation")),
    "noise": ("augment_noise", _float("noise")),
}


def split_values(option: str, text: str) -> list[str]:
    """The alternatives of one option: a comma list, except for --hidden, whose own values hold
    commas ("128,64"): its alternatives are separated by ';' ("50;128,64;none")."""
    if option == "hidden":
        values = [v.strip() for v in str(text).split(";")]
        if len(values) > 1 and "" in values:
            raise ConfigError(f"--hidden: empty alternative in {text!r:.60} (write 'none' for no hidden layer)")
        return ["" if v.lower() == "none" else v for v in values]
    values = [v.strip() for v in str(text).split(",")]
    if "" in values:
        raise ConfigError(f"--{option}: empty value in {text!r:.60}")
    return values


def grid(base: TrainConfig, options: dict[str, str]) -> list[TrainConfig]:
    """Every combination of the options' alternatives, applied to ``base`` and validated.

    ``options`` maps option names (``"lr"``, ``"batch-size"``...) to their text as given. A
    ConfigError names the first option or combination that cannot be used."""
    axes: list[tuple[str, list]] = []
    for option, text in options.items():
        if option not in OPTIONS:
            raise ConfigError(f"--{option} cannot be swept; choose from --{', --'.join(OPTIONS)}")
        field, parse = OPTIONS[option]
        values = [parse(v) for v in split_values(option, text)]
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"--{option}: a value is given twice in {text!r:.60}")
        axes.append((field, values))
    count = int(np.prod([len(values) for _, values in axes], dtype=np.int64)) if axes else 1
    if count > MAX_RUNS:
        raise ConfigError(f"the grid has {count:,} runs; at most {MAX_RUNS:,} are allowed")
    configs = []
    for combination in itertools.product(*(values for _, values in axes)):
        changes = dict(zip((field for field, _ in axes), combination))
        if "epochs" in changes and "iterations" not in changes:
            changes["iterations"] = None
        elif "iterations" in changes and "epochs" not in changes:
            changes["epochs"] = None
        try:
            configs.append(validate(base.replace(**changes)))
        except ConfigError as exc:
            described = ", ".join(f"{k} {v}" for k, v in changes.items())
            raise ConfigError(f"run with {described}: {exc}") from None
    return configs


@dataclass(frozen=True)
class RunResult:
    index: int
    status: str  # "ok", "diverged" or "failed"
    record: RunRecord
    message: str = ""  # the divergence or the error, one line


def _load_data(data_dir: str | None):
    """The dataset, once per worker process."""
    cached = _DATA.get(data_dir)
    if cached is None:
        from .data import load_mnist

        _DATA.clear()
        cached = _DATA[data_dir] = load_mnist(data_dir)
    return cached


_DATA: dict = {}


def _empty_record(index: int, config: TrainConfig) -> RunRecord:
    return RunRecord(run_id=index + 1, name="", config=config, layer_sizes=(), steps=0, samples_seen=0, epochs=0.0,
                     train_seconds=0.0, final_test_accuracy=None, best_test_accuracy=None, final_test_loss=None,
                     train_curve=Curve.empty(), test_curve=Curve.empty())


def run_one(index: int, config: TrainConfig, data_dir: str | None = None) -> RunResult:
    """Train one run of the grid to its end (in a worker process). Never raises: a failure is
    a result."""
    from .fast.blas import use_training_threads
    from .runs import record_from_trainer
    from .trainer import Trainer

    try:
        use_training_threads()
        trainer = Trainer(_load_data(data_dir), config)
        trainer.evaluate_test()
        trainer.run()
        trainer.evaluate_test()
        record = record_from_trainer(trainer).replace(run_id=index + 1)
        if trainer.diverged:
            return RunResult(index, "diverged", record, trainer.diverged)
        return RunResult(index, "ok", record)
    except MemoryError:
        return RunResult(index, "failed", _empty_record(index, config), "out of memory")
    except Exception as exc:  # noqa: BLE001 - one failed run must not end the sweep
        return RunResult(index, "failed", _empty_record(index, config), f"{type(exc).__name__}: {exc}"[:300])


def describe(result: RunResult, label: str, total: int) -> str:
    """The progress line of one finished run."""
    head = f"run {result.index + 1}/{total} [{label or 'base'}]"
    record = result.record
    if result.status == "failed":
        return f"{head}: FAILED: {result.message}"
    if result.status == "diverged":
        return f"{head}: DIVERGED at step {record.steps}"
    accuracy = record.final_test_accuracy
    figure = "no test evaluation" if accuracy is None else f"test {accuracy * 100:.2f} %"
    return f"{head}: {figure} after {record.epochs:.2f} epochs in {record.train_seconds:.1f} s"


def run_sweep(configs: list[TrainConfig], data_dir: str | None = None, jobs: int = 1, backend: str = "loky",
              on_result: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run every configuration, ``jobs`` at a time, through joblib's ``backend``; results come
    back (and ``on_result`` is called) as runs finish. On KeyboardInterrupt (or a subclass) the
    workers are stopped and the exception goes on with the finished runs as ``finished``."""
    from joblib import Parallel, delayed

    results: list[RunResult] = []
    tasks: Iterable = (delayed(run_one)(i, c, data_dir) for i, c in enumerate(configs))
    parallel = Parallel(n_jobs=jobs, backend=backend, return_as="generator_unordered")
    try:
        for result in parallel(tasks):
            results.append(result)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt as stop:
        stop.finished = sorted(results, key=lambda r: r.index)
        raise
    return sorted(results, key=lambda r: r.index)


def sweep_arrays(results: list[RunResult], data_name: str, seconds: float) -> dict[str, np.ndarray]:
    """The arrays of a sweep file: the runs as a session keeps them, and a JSON ``meta``."""
    from .model_io import meta_array

    arrays, runs_meta = runs_to_arrays([r.record for r in results])
    meta = {"format": SWEEP_FORMAT, "version": SWEEP_VERSION, "data": data_name, "seconds": seconds,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": runs_meta,
            "status": [r.status for r in results], "messages": [r.message for r in results],
            "indices": [r.index for r in results]}
    arrays["meta"] = meta_array(meta)
    return arrays


def save_sweep(path, results: list[RunResult], data_name: str, seconds: float) -> None:
    from .model_io import atomic_write_npz

    atomic_write_npz(path, sweep_arrays(results, data_name, seconds))


def results_from(meta: object, arrays: dict[str, np.ndarray]) -> list[RunResult]:
    """The runs of a sweep from its ``meta`` and run arrays; ValueError if they do not fit."""
    if not isinstance(meta, dict) or meta.get("format") != SWEEP_FORMAT:
        raise ValueError("not a sweep file")
    if meta.get("version") != SWEEP_VERSION:
        raise ValueError(f"sweep file version {str(meta.get('version'))[:20]!r} is not supported")
    runs_meta, status = meta.get("runs"), meta.get("status")
    messages, indices = meta.get("messages"), meta.get("indices")
    if not all(isinstance(v, list) for v in (runs_meta, status, messages, indices)) or not (
            len(runs_meta) == len(status) == len(messages) == len(indices)) or len(runs_meta) > MAX_RUNS:
        raise ValueError("the sweep file's run list is damaged")
    if not all(s in ("ok", "diverged", "failed") for s in status) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in indices):
        raise ValueError("the sweep file's run list is damaged")
    try:
        records = runs_from_arrays(arrays, runs_meta)
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
        raise ValueError(f"the sweep file's runs are damaged ({str(exc)[:80]})") from None
    return [RunResult(i, s, r, str(m)[:300]) for i, s, r, m in zip(indices, status, records, messages)]


def load_sweep(path) -> list[RunResult]:
    """The runs of a sweep file, read with the same bounds as model files; any problem is one
    ModelFileError naming the file."""
    from .limits import MAX_META_BYTES
    from .model_io import ModelFileError
    from .npz import NpzReader

    with NpzReader(path) as npz:
        if not npz.has("meta"):
            raise ModelFileError(f"{path}: no 'meta' entry; not a sweep file")
        meta = npz.read_json("meta", MAX_META_BYTES)
        count = len(meta.get("runs", [])) if isinstance(meta, dict) and isinstance(meta.get("runs"), list) else 0
        arrays = {name: npz.read(name, kinds="f") for name in
                  (f"run{k}_{kind}" for k in range(min(count, MAX_RUNS)) for kind in ("train", "test"))
                  if npz.has(name)}
    try:
        return results_from(meta, arrays)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None


def base_config(preset: str | None) -> TrainConfig:
    """The preset the grid varies (the tutorial's, like ``train``, unless named)."""
    return PRESETS[preset or "tutorial"]
