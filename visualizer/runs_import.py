"""File > Import runs…: the runs of a sweep file (``python -m nn sweep ... --out SWEEP.npz``) join
the Runs panel, overlaid and sortable like the runs of this session.

The worker reads the file (``nn.sweep.load_sweep``, bounded like every file) and adds the runs to
its run list, so they are saved with the session. A run that diverged keeps its divergence; a
run that failed (it has no curves) is marked by its ``diverged`` text starting with "failed: ",
which the Runs panel shows as "failed" (:func:`run_status`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject

FAILED = "failed: "


def records_from_sweep(results, first_id: int) -> list:
    """The sweep's runs (``nn.sweep.RunResult``) as run records numbered from ``first_id`` on (a
    sweep numbers its runs 1, 2, ...: they would clash with the session's)."""
    records = []
    for k, result in enumerate(results):
        record = result.record.replace(run_id=first_id + k)
        if result.status == "failed":
            record = record.replace(diverged=FAILED + (result.message or "unknown error"))
        elif result.status == "diverged":
            record = _before_divergence(record.replace(diverged=record.diverged or result.message or "diverged"))
        records.append(record)
    return records


def _before_divergence(record):
    """A diverged sweep run as the app keeps its own: without the test evaluation of the network
    that had already blown up (a sweep evaluates once more at the end), whose loss of 1e17 would
    set the scale of every overlaid loss curve."""
    from nn.history import Curve

    test = record.test_curve
    keep = np.asarray(test.step) < record.steps
    if keep.all():
        return record
    curve = Curve(*(np.asarray(column)[keep] for column in (test.step, test.samples, test.loss, test.accuracy)))
    last = len(curve) > 0
    return record.replace(test_curve=curve, final_test_accuracy=float(curve.accuracy[-1]) if last else None,
                          final_test_loss=float(curve.loss[-1]) if last else None,
                          best_test_accuracy=float(np.max(curve.accuracy)) if last else None)


def run_status(record) -> str:
    """"ok", "diverged" or "failed" (a sweep run that never trained: see :func:`records_from_sweep`)."""
    if not record.diverged:
        return "ok"
    return "failed" if record.diverged.startswith(FAILED) else "diverged"


def imported_message(path: str, counts: dict) -> str:
    """E.g. "Imported 4 runs from sweep.npz (1 diverged, 1 failed)."."""
    total = sum(counts.values())
    trouble = ", ".join(f"{counts[s]} {s}" for s in ("diverged", "failed") if counts.get(s))
    return (f"Imported {total} run{'s' if total != 1 else ''} from {Path(path).name}"
            + (f" ({trouble})" if trouble else "") + ".")


class RunsImport(QObject):
    """File > Import runs… of a main window (its ``commands``, ``worker``, ``banner``, ``docks``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        window.worker.runs_imported.connect(self._imported)

    def ask(self) -> None:
        from PyQt6.QtWidgets import QFileDialog

        from .settings import last_folder

        path, _ = QFileDialog.getOpenFileName(self.window, "Import runs from a sweep",
                                              str(last_folder(self.window.settings)), "Sweep files (*.npz)")
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        from .settings import remember_folder

        remember_folder(self.window.settings, path)
        self.window.banner.hide()
        self.window.commands.import_runs(path)

    def _imported(self, path: str, counts: dict) -> None:
        self.window.docks["runs"].show()
        self.window.docks["runs"].raise_()
        self.window.statusBar().showMessage(imported_message(path, counts), 8000)
