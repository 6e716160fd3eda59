"""The runs panel compares real runs of real trainers: table figures, overlays, signals, CSV."""

from __future__ import annotations

import csv
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt6 import QtCore  # noqa: E402

import nn.data  # noqa: E402
from nn.config import TrainConfig  # noqa: E402
from nn.runs import record_from_trainer  # noqa: E402
from nn.trainer import Trainer  # noqa: E402

pytest.importorskip("pytestqt")

from visualizer.panels.runs import COL, RunsPanel, run_color  # noqa: E402

TIMEOUT_MS = 30_000
CONFIG = TrainConfig(hidden=(16,), activation="relu", optimizer="adam", lr=0.01, batch_size=64,
                     epochs=None, iterations=12)


@pytest.fixture(scope="module")
def data(small_mnist) -> nn.data.Dataset:
    return small_mnist


@pytest.fixture(scope="module")
def records(data):
    """Two finished runs that differ only in the learning rate (0.01 and 0.001)."""
    runs = []
    for lr in (0.01, 0.001):
        trainer = Trainer(data, CONFIG.replace(lr=lr))
        trainer.run(max_steps=6)
        trainer.evaluate_test()
        trainer.run()
        runs.append(record_from_trainer(trainer))
    assert all(len(r.test_curve) >= 2 for r in runs)
    return tuple(runs)


@pytest.fixture(scope="module")
def live(data):
    """A third, live run (lr 0.1) as its snapshot."""
    trainer = Trainer(data, CONFIG.replace(lr=0.1, iterations=20))
    trainer.run(max_steps=8)
    trainer.evaluate_test()
    return trainer.snapshot()


@pytest.fixture
def panel(qtbot):
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 420)
    return panel


def _table(panel):
    """The table as the person sees it: rows of display texts, in view order."""
    model = panel.table.model()
    return [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]


def _row_of(panel, run_id):
    model = panel.table.model()
    for r in range(model.rowCount()):
        if model.index(r, 0).data(QtCore.Qt.ItemDataRole.UserRole + 2) == run_id:
            return r
    raise AssertionError(f"run {run_id} not in the table")


def _curve(item):
    return np.asarray(item.xData), np.asarray(item.yData)


def test_runs_appear_with_their_figures_and_labels(panel, records):
    panel.set_runs(records)
    rows = _table(panel)
    assert [row[COL["name"]] for row in rows] == ["lr 0.01", "lr 0.001"]
    for row, record in zip(rows, records):
        assert row[COL["layers"]] == "784-16-10"
        assert row[COL["optimizer"]] == "adam"
        assert row[COL["lr"]] == f"{record.config.lr:g}"
        assert row[COL["batch"]] == "64"
        assert row[COL["steps"]] == str(record.steps) == "12"
        assert row[COL["epochs"]] == f"{record.epochs:.2f}"
        assert row[COL["best"]] == f"{100 * record.best_test_accuracy:.2f}"
        assert row[COL["final"]] == f"{100 * record.final_test_accuracy:.2f}"
        assert row[COL["time"]].endswith(" s")


def test_overlays_show_every_run_with_a_legend_naming_the_difference(panel, records):
    panel.set_runs(records)
    for record in records:
        overlay = panel.overlay(record.run_id)
        assert overlay is not None
        (loss_train, loss_test), (acc_train, acc_test) = overlay.loss_items, overlay.accuracy_items
        for item, curve, values in ((loss_test, record.test_curve, record.test_curve.loss),
                                    (loss_train, record.train_curve, record.train_curve.loss),
                                    (acc_test, record.test_curve, record.test_curve.accuracy * 100),
                                    (acc_train, record.train_curve, record.train_curve.accuracy * 100)):
            x, y = _curve(item)
            np.testing.assert_array_equal(x, curve.samples)
            np.testing.assert_allclose(y, values)
        # each run its own colour: solid test curve, faint thin train curve
        assert loss_test.opts["pen"].color().name() == run_color(record.run_id)
        assert loss_train.opts["pen"].color().alpha() < 255
        assert loss_train.opts["pen"].widthF() < loss_test.opts["pen"].widthF()
    assert len({run_color(r.run_id) for r in records}) == 2
    assert panel.legend_labels() == ["lr 0.01", "lr 0.001"]


def test_current_run_is_first_and_named_by_what_differs(panel, records, live, qtbot):
    panel.set_runs(records)
    panel.show_snapshot(live)
    rows = _table(panel)
    assert rows[0][COL["name"]] == "lr 0.1 (current)"
    assert rows[0][COL["steps"]] == str(live.step)
    assert [row[COL["name"]] for row in rows[1:]] == ["lr 0.01", "lr 0.001"]
    assert panel.legend_labels() == ["lr 0.1 (current)", "lr 0.01", "lr 0.001"]
    x, y = _curve(panel.overlay(live.run_id).loss_items[1])
    np.testing.assert_array_equal(x, live.test_curve.samples)
    # the current run cannot be deleted
    panel.select_runs([live.run_id])
    assert not panel.delete_button.isEnabled()
    with qtbot.assertNotEmitted(panel.delete_requested):
        panel.delete_selected()
    # clear(): a new run began; the archived runs stay
    panel.clear()
    assert [row[COL["name"]] for row in _table(panel)] == ["lr 0.01", "lr 0.001"]
    assert panel.overlay(live.run_id) is None


def test_show_snapshot_is_throttled(panel, records, data, qtbot):
    trainer = Trainer(data, CONFIG.replace(lr=0.1, iterations=30))
    trainer.run(max_steps=2)
    panel.set_runs(records)
    panel.show_snapshot(trainer.snapshot())  # a new run: shown at once
    assert panel.runs()[0].steps == 2
    trainer.run(max_steps=3)
    panel.show_snapshot(trainer.snapshot())  # within REFRESH_S: waits
    assert panel.runs()[0].steps == 2
    qtbot.waitUntil(lambda: panel.runs()[0].steps == 5, timeout=TIMEOUT_MS)  # ...but the latest is shown
    x, _ = _curve(panel.overlay(trainer.run_id).loss_items[0])
    np.testing.assert_array_equal(x, trainer.train_history.curve().samples)


def test_unchecking_emits_hidden_changed_and_hidden_runs_leave_the_overlay(panel, records, qtbot):
    panel.set_runs(records)
    first, second = records
    with qtbot.waitSignal(panel.hidden_changed) as blocker:
        panel.set_shown(first.run_id, False)
    assert blocker.args == [first.run_id, True]
    # the worker answers with the edited runs
    panel.set_runs((first.replace(hidden=True), second))
    assert panel.overlay(first.run_id) is None
    assert panel.overlay(second.run_id) is not None
    assert panel.legend_labels() == ["lr 0.001"]
    index = panel.table.model().index(_row_of(panel, first.run_id), COL["show"])
    assert index.data(QtCore.Qt.ItemDataRole.CheckStateRole) == QtCore.Qt.CheckState.Unchecked
    with qtbot.waitSignal(panel.hidden_changed) as blocker:
        panel.set_shown(first.run_id, True)
    assert blocker.args == [first.run_id, False]


def test_checkbox_click_in_the_view_emits_hidden_changed(panel, records, qtbot):
    panel.show()
    panel.set_runs(records)
    qtbot.waitExposed(panel)
    row = _row_of(panel, records[1].run_id)
    index = panel.table.model().index(row, COL["show"])
    rect = panel.table.visualRect(index)
    with qtbot.waitSignal(panel.hidden_changed) as blocker:
        # the check box sits at the left of the cell
        qtbot.mouseClick(panel.table.viewport(), QtCore.Qt.MouseButton.LeftButton,
                         pos=QtCore.QPoint(rect.left() + 10, rect.center().y()))
    assert blocker.args == [records[1].run_id, True]


def test_rename_and_delete_emit_their_signals(panel, records, qtbot):
    panel.set_runs(records)
    first, second = records
    with qtbot.waitSignal(panel.rename_requested) as blocker:
        panel.rename(first.run_id, "  baseline ")
    assert blocker.args == [first.run_id, "baseline"]
    assert _table(panel)[_row_of(panel, first.run_id)][COL["name"]] == "baseline"
    # accepting the suggested label unchanged does not rename
    with qtbot.assertNotEmitted(panel.rename_requested):
        panel.rename(second.run_id, "lr 0.001")

    # the Delete key on the selected row
    panel.show()
    qtbot.waitExposed(panel)
    panel.select_runs([second.run_id])
    panel.table.setFocus()
    assert panel.delete_button.isEnabled()
    with qtbot.waitSignal(panel.delete_requested) as blocker:
        qtbot.keyClick(panel.table, QtCore.Qt.Key.Key_Delete)
    assert blocker.args == [second.run_id]
    assert [r.run_id for r in panel.runs()] == [first.run_id]
    assert panel.overlay(second.run_id) is None
    assert "Deleted" in panel.message.text()
    # and the button
    panel.select_runs([first.run_id])
    with qtbot.waitSignal(panel.delete_requested) as blocker:
        panel.delete_button.click()
    assert blocker.args == [first.run_id]
    assert panel.runs() == []


def test_sorting_by_final_accuracy_orders_rows(panel, records, live):
    panel.set_runs(records)
    panel.show_snapshot(live)
    by_final = sorted(records, key=lambda r: r.final_test_accuracy)
    panel.table.sortByColumn(COL["final"], QtCore.Qt.SortOrder.AscendingOrder)
    names = [row[COL["name"]] for row in _table(panel)]
    assert names[0] == "lr 0.1 (current)"  # the live run stays on top
    assert names[1:] == [panel.labels()[r.run_id] for r in by_final]
    panel.table.sortByColumn(COL["final"], QtCore.Qt.SortOrder.DescendingOrder)
    names = [row[COL["name"]] for row in _table(panel)]
    assert names[0] == "lr 0.1 (current)"
    assert names[1:] == [panel.labels()[r.run_id] for r in reversed(by_final)]
    # numeric, not text, order: learning rates 0.01 > 0.001 although "0.001" < "0.01" either way
    panel.table.sortByColumn(COL["lr"], QtCore.Qt.SortOrder.DescendingOrder)
    assert [row[COL["lr"]] for row in _table(panel)] == ["0.1", "0.01", "0.001"]


def test_csv_export_round_trips(panel, records, live, tmp_path):
    panel.set_runs((records[0].replace(name="baseline"), records[1]))
    panel.show_snapshot(live)
    path = tmp_path / "runs.csv"
    assert panel.export_csv(path)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = [panel.runs()[0], records[0].replace(name="baseline"), records[1]]
    assert [row["run"] for row in rows] == [str(r.run_id) for r in expected]
    assert list(rows[0].keys())[:len(expected[0].summary())] == list(expected[0].summary().keys())
    for row, record in zip(rows, expected):
        for key, value in record.summary().items():
            if value is None:
                assert row[key] == ""
            elif isinstance(value, float):
                assert float(row[key]) == value, key
            else:
                assert row[key] == str(value), key
    assert [row["current"] for row in rows] == ["True", "False", "False"]
    assert [row["label"] for row in rows] == ["lr 0.1", "baseline", "lr 0.001"]
    assert rows[0]["final_test_accuracy"] and float(rows[0]["final_test_accuracy"]) == live.test.accuracy
    assert not list(tmp_path.glob("*.tmp"))


def test_csv_export_failure_is_shown_inline(panel, records, tmp_path):
    panel.set_runs(records)
    missing = tmp_path / "no such folder" / "runs.csv"
    assert panel.export_csv(missing) is False
    assert "no such folder" in panel.message.text()
    assert not missing.exists()


def test_wired_to_a_worker_the_edits_round_trip(panel, records, qtbot):
    """The wiring the main window does: runs_changed -> set_runs, and the panel's requests to the
    worker's slots (called directly here, in one thread)."""
    from visualizer.worker import TrainingWorker

    worker = TrainingWorker()
    worker.runs_changed.connect(panel.set_runs)
    panel.hidden_changed.connect(worker.set_run_hidden)
    panel.rename_requested.connect(worker.rename_run)
    panel.delete_requested.connect(worker.delete_run)
    worker.runs = list(records)
    worker.runs_changed.emit(tuple(worker.runs))
    first, second = records

    panel.select_runs([second.run_id])
    panel.set_shown(first.run_id, False)
    qtbot.waitUntil(lambda: panel.overlay(first.run_id) is None)
    assert [r.hidden for r in worker.runs] == [True, False]
    assert panel.selected_run_ids() == [second.run_id]  # the worker's answer keeps the selection

    panel.rename(second.run_id, "slow")
    assert worker.runs[1].name == "slow"
    qtbot.waitUntil(lambda: panel.labels()[second.run_id] == "slow")
    panel.rename(second.run_id, "")  # back to what differs
    assert worker.runs[1].name == ""
    qtbot.waitUntil(lambda: panel.labels()[second.run_id] == "lr 0.001")

    panel.select_runs([first.run_id])
    panel.delete_selected()
    assert [r.run_id for r in worker.runs] == [second.run_id]
    assert [r.run_id for r in panel.runs()] == [second.run_id]


def test_the_legend_is_inside_the_plot_or_not_shown(qtbot, records):
    """Six runs, two with long names: in a panel the size of its dock on a 1280 x 800 screen the
    legend cannot fit, so none is drawn (the table's colour swatches name the runs), never one cut
    off at the plot's edge; in a large panel it is drawn, wholly inside the accuracy plot."""
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.resize(430, 330)
    panel.show()
    base = records[0]
    runs = [base.replace(run_id=40 + k, name=name) for k, name in enumerate(
        ("Adam with lr 0.003, 256-128 ReLU, batches of 128, dropout 0.2", "baseline",
         "SGD with momentum 0.9 and a learning rate that halves each epoch", "b", "c", "d"))]
    panel.set_runs(tuple(runs))
    qtbot.waitUntil(lambda: len(panel.legend_labels()) == len(runs), timeout=TIMEOUT_MS)

    def legend_inside() -> bool:
        return panel.acc_plot.vb.sceneBoundingRect().contains(panel.legend.sceneBoundingRect())

    qtbot.wait(50)  # laid out
    assert not panel.legend.isVisible() and not legend_inside()
    swatches = [panel.model.index(r, COL["show"]).data(QtCore.Qt.ItemDataRole.DecorationRole)
                for r in range(panel.model.rowCount())]
    assert len(swatches) == len(runs) and all(icon is not None and not icon.isNull() for icon in swatches)
    panel.resize(1500, 900)
    qtbot.waitUntil(lambda: panel.legend.isVisible(), timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert legend_inside()
