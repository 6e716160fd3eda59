"""Finished or stopped runs, kept to compare: "did lr 0.5 beat lr 0.1?"."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .config import TrainConfig, format_number
from .history import Curve

# Settings shown when naming what differs between runs, in this order.
COMPARED = ("hidden", "activation", "optimizer", "lr", "momentum", "batch_size", "seed", "init", "l2", "dtype")


@dataclass(frozen=True)
class RunRecord:
    run_id: int
    name: str  # "" until the person renames it: labels then say what differs
    config: TrainConfig
    layer_sizes: tuple[int, ...]
    steps: int
    samples_seen: int
    epochs: float
    train_seconds: float
    final_test_accuracy: float | None
    best_test_accuracy: float | None
    final_test_loss: float | None
    train_curve: Curve
    test_curve: Curve
    diverged: str | None = None
    hidden: bool = False  # left out of the overlay
    data: str = ""  # which data set the run trained on (Dataset.source)
    changes: tuple[str, ...] = ()  # its live changes, in order (Event.text: "lr 0.1 -> 0.5")

    def replace(self, **changes) -> "RunRecord":
        return replace(self, **changes)

    def summary(self) -> dict:
        """The run's key figures as plain values (for tables, CSV and JSON)."""
        return {
            "run": self.run_id, "name": self.name, "layers": "-".join(map(str, self.layer_sizes)),
            "activation": self.config.activation, "optimizer": self.config.optimizer, "lr": self.config.lr,
            "momentum": self.config.momentum,
            "batch_size": "full" if self.config.batch_size is None else self.config.batch_size,
            "seed": self.config.seed, "steps": self.steps, "epochs": round(self.epochs, 4),
            "train_seconds": round(self.train_seconds, 3),
            "final_test_accuracy": self.final_test_accuracy, "best_test_accuracy": self.best_test_accuracy,
            "final_test_loss": self.final_test_loss, "diverged": bool(self.diverged), "data": self.data,
        }


def record_from_trainer(trainer, name: str = "") -> RunRecord:
    test = trainer.test_history.curve()
    final = trainer.last_test
    return RunRecord(
        run_id=trainer.run_id, name=name, config=trainer.config, layer_sizes=tuple(trainer.layer_sizes),
        steps=trainer.step_count, samples_seen=trainer.samples_seen, epochs=trainer.epoch,
        train_seconds=trainer.train_seconds,
        final_test_accuracy=None if final is None else final.accuracy,
        best_test_accuracy=float(test.accuracy.max()) if len(test) else None,
        final_test_loss=None if final is None else final.loss,
        train_curve=trainer.train_history.curve(), test_curve=test, diverged=trainer.diverged,
        data=trainer.dataset.source, changes=tuple(e.text for e in trainer.events),
    )


def _value(config: TrainConfig, name: str) -> str:
    value = getattr(config, name)
    if name == "hidden":
        return "-".join(map(str, value)) or "none"
    if name == "batch_size":
        return "full" if value is None else str(value)
    return format_number(value) if isinstance(value, float) else str(value)


def _label_name(name: str) -> str:
    return {"batch_size": "batch", "hidden": "hidden"}.get(name, name)


def difference_labels(configs: list[TrainConfig]) -> list[str]:
    """For each config, the settings in which the configs differ, e.g. ['lr 0.5', 'lr 0.1']."""
    varying = [n for n in COMPARED if len({_value(c, n) for c in configs}) > 1]
    if not varying:
        return [""] * len(configs)
    return [", ".join(f"{_label_name(n)} {_value(c, n)}" for n in varying) for c in configs]


def run_labels(runs: list[RunRecord]) -> list[str]:
    """What to call each run in a legend: its name if it has one, else what sets it apart."""
    differences = difference_labels([r.config for r in runs])
    labels = []
    for run, difference in zip(runs, differences):
        labels.append(run.name or difference or f"run {run.run_id}")
    return labels


# -- saving runs inside a session ----------------------------------------------------------------
def runs_to_arrays(runs: list[RunRecord]) -> tuple[dict[str, np.ndarray], list[dict]]:
    arrays, meta = {}, []
    for k, run in enumerate(runs):
        for kind, curve in (("train", run.train_curve), ("test", run.test_curve)):
            arrays[f"run{k}_{kind}"] = np.stack([curve.step, curve.samples, curve.loss, curve.accuracy]) \
                if len(curve) else np.zeros((4, 0))
        meta.append({"run_id": run.run_id, "name": run.name, "config": run.config.to_dict(),
                     "layer_sizes": list(run.layer_sizes), "steps": run.steps, "samples_seen": run.samples_seen,
                     "epochs": run.epochs, "train_seconds": run.train_seconds,
                     "final_test_accuracy": run.final_test_accuracy, "best_test_accuracy": run.best_test_accuracy,
                     "final_test_loss": run.final_test_loss, "diverged": run.diverged, "hidden": run.hidden,
                     "data": run.data, "changes": list(run.changes)})
    return arrays, meta


def _changes(value) -> tuple[str, ...]:
    """A saved run's live changes: a list of short texts (anything else, from a damaged or older
    file, is no changes)."""
    if not isinstance(value, list):
        return ()
    return tuple(str(text)[:100] for text in value[:10_000] if isinstance(text, str))


def runs_from_arrays(arrays: dict[str, np.ndarray], meta: list[dict]) -> list[RunRecord]:
    runs = []
    for k, m in enumerate(meta):
        curves = []
        for kind in ("train", "test"):
            data = np.asarray(arrays[f"run{k}_{kind}"], dtype=np.float64).reshape(4, -1)
            curves.append(Curve(*(row.copy() for row in data)))
        runs.append(RunRecord(
            run_id=int(m["run_id"]), name=str(m["name"]), config=TrainConfig.from_dict(m["config"]),
            layer_sizes=tuple(m["layer_sizes"]), steps=int(m["steps"]), samples_seen=int(m["samples_seen"]),
            epochs=float(m["epochs"]), train_seconds=float(m["train_seconds"]),
            final_test_accuracy=m["final_test_accuracy"], best_test_accuracy=m["best_test_accuracy"],
            final_test_loss=m["final_test_loss"], train_curve=curves[0], test_curve=curves[1],
            diverged=m.get("diverged"), hidden=bool(m.get("hidden", False)), data=str(m.get("data", ""))[:500],
            changes=_changes(m.get("changes", []))))
    return runs
