"""File > Import runs… (the app's half of issue 17.6): a sweep file's runs join the Runs panel,
overlaid and sortable, failed and diverged runs shown as such; a bad file changes nothing."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QFileDialog

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_window import open_window  # noqa: E402
from idx_files import write_mnist_subset  # noqa: E402

from nn.config import PRESETS  # noqa: E402
from nn.sweep import RunResult, _empty_record, run_one, save_sweep  # noqa: E402
from visualizer import theme  # noqa: E402
from visualizer.panels.runs import COL  # noqa: E402
from visualizer.runs_import import imported_message, run_status  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def sweep_file(mnist, tmp_path_factory):
    """A sweep of three runs on a small MNIST folder: one fine, one diverged, one failed."""
    folder = write_mnist_subset(tmp_path_factory.mktemp("sweep_data"), mnist, 1000, 200)
    base = PRESETS["fast"].replace(epochs=None, iterations=30, optimizer="sgd")
    results = [run_one(0, base.replace(lr=0.05), str(folder)), run_one(1, base.replace(lr=1e4), str(folder)),
               RunResult(2, "failed", _empty_record(2, base.replace(lr=0.5)), "MemoryError: out of memory")]
    assert [r.status for r in results] == ["ok", "diverged", "failed"]
    path = tmp_path_factory.mktemp("sweep") / "sweep.npz"
    save_sweep(path, results, str(folder), 1.0)
    return path


@pytest.fixture
def window(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist, steps=1)
    win.docks["runs"].raise_()
    return win


def import_file(win, monkeypatch, path):
    """File > Import runs… and pick ``path`` in the dialog."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))
    win.import_runs_action.trigger()


def cell(panel, run_id, column):
    """What the table shows for ``run_id`` in ``column`` (in the sorted view)."""
    proxy = panel.proxy
    for r in range(proxy.rowCount()):
        if proxy.index(r, COL["show"]).data(Qt.ItemDataRole.UserRole + 2) == run_id:
            return proxy.index(r, COL[column])
    raise AssertionError(f"no row for run {run_id}")


def test_imported_runs_join_the_runs_panel_overlaid_and_sortable(qtbot, window, monkeypatch, sweep_file):
    current = window.last_snapshot.run_id
    import_file(window, monkeypatch, sweep_file)
    panel = window.runs_panel
    qtbot.waitUntil(lambda: len(panel.runs()) == 4, timeout=TIMEOUT_MS)
    imported = [r for r in panel.runs() if r.run_id != current]
    ids = [r.run_id for r in imported]
    assert len(set(ids + [current])) == 4 and min(ids) > current  # numbered after this session's runs
    ok, diverged, failed = sorted(imported, key=lambda r: r.run_id)
    assert [run_status(r) for r in (ok, diverged, failed)] == ["ok", "diverged", "failed"]
    # shown as such
    assert cell(panel, failed.run_id, "final").data() == "failed"
    assert "MemoryError: out of memory" in cell(panel, failed.run_id, "name").data(Qt.ItemDataRole.ToolTipRole)
    red = QColor(theme.current().diverged)
    assert cell(panel, diverged.run_id, "final").data(Qt.ItemDataRole.ForegroundRole) == red
    assert "diverged: Training diverged" in cell(panel, diverged.run_id, "name").data(Qt.ItemDataRole.ToolTipRole)
    assert cell(panel, ok.run_id, "final").data() == f"{ok.final_test_accuracy * 100:.2f}"
    assert cell(panel, ok.run_id, "data").data() == os.path.basename(ok.data)
    # the diverged run's last evaluation (of the blown-up network) is left out, as in the app's own runs
    assert len(diverged.test_curve) > 0 and np.all(diverged.test_curve.step < diverged.steps)
    assert diverged.final_test_accuracy == diverged.test_curve.accuracy[-1]
    assert panel.loss_plot.vb.viewRange()[1][1] < 20  # so it does not set the loss plot's scale
    # overlaid: every run that has curves
    assert panel.overlay(ok.run_id) is not None and panel.overlay(diverged.run_id) is not None
    assert len(panel.overlay(ok.run_id).accuracy_items[1].getData()[0]) == len(ok.test_curve)
    # sortable: by final accuracy, the failed run (no figure) last either way
    header = panel.table.horizontalHeader()
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        header.setSortIndicator(COL["final"], order)
        last = panel.proxy.index(panel.proxy.rowCount() - 1, COL["show"]).data(Qt.ItemDataRole.UserRole + 2)
        assert last == failed.run_id
    # the worker keeps them (saved with the session), and new runs get ids of their own
    assert [r.run_id for r in window.worker.runs] == ids
    window.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: window.last_snapshot.run_id not in (current, *ids), timeout=TIMEOUT_MS)
    assert window.last_snapshot.run_id > max(ids)
    assert "Imported 3 runs from sweep.npz (1 diverged, 1 failed)." in window.statusBar().currentMessage()


def test_a_file_that_is_not_a_sweep_changes_nothing(qtbot, window, monkeypatch, tmp_path):
    bad = tmp_path / "notes.npz"
    bad.write_bytes(b"not a zip file at all")
    import_file(window, monkeypatch, bad)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=TIMEOUT_MS)
    assert window.banner.text.text().startswith("Could not import runs:")
    assert "notes.npz" in window.banner.text.text()
    assert window.worker.runs == [] and len(window.runs_panel.runs()) == 1
    assert window.state == State.PAUSED


def test_imported_message():
    assert imported_message("/x/s.npz", {"ok": 2, "diverged": 0, "failed": 0}) == "Imported 2 runs from s.npz."
    assert imported_message("s.npz", {"ok": 0, "diverged": 1, "failed": 0}) == "Imported 1 run from s.npz (1 diverged)."
