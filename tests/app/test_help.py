"""Help on everything (issue 16.4, 16.5): hints appear for runs made to diverge, overfit and die,
and their buttons change the setting through the controls (live or pending, as typed); hints can
be dismissed and turned off; Help > Guide covers every panel and brings each into view; every
control, dock title and labelled axis has a tooltip."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from app_window import step as press_step
from PyQt6 import QtWidgets
from PyQt6.QtCore import Qt

from nn.config import TrainConfig
from nn.trainer import Trainer
from visualizer.docks import panel_in
from visualizer.guide import entries
from visualizer.panel_table import PANELS
from visualizer.worker import State

TIMEOUT_MS = 30_000
INTERACTIVE = (QtWidgets.QAbstractButton, QtWidgets.QComboBox, QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit,
               QtWidgets.QSlider)


@pytest.fixture
def window(open_window, small_mnist):
    return open_window(small_mnist)


def hint_rows(win):
    return {row.hint.key: row for row in win.hints_bar.rows}


# -- runs that go wrong, each in its own way (deterministic: a fixed number of steps, evaluated at fixed steps)

def overfitting_snapshot(dataset):
    """500 training digits, half of them with random labels: the network first learns the digits,
    then memorises the noise, and test accuracy falls while training accuracy rises."""
    small = dataset.subset(500, 500)
    rng = np.random.default_rng(0)
    labels = small.train_y.copy()
    noisy = rng.random(len(labels)) < 0.5
    labels[noisy] = rng.integers(0, 10, int(noisy.sum()))
    noisy_data = dataclasses.replace(small, train_y=labels, train_Y=np.eye(10, dtype=small.train_Y.dtype)[labels],
                                     _by_dtype={}, _active=[], _digest=[])
    trainer = Trainer(noisy_data, TrainConfig(hidden=(256,), activation="relu", optimizer="adam", lr=0.003,
                                              batch_size=50, iterations=400, seed=1))
    return run_until(trainer, "overfitting")


def dying_snapshot(dataset):
    """ReLU units with plain SGD at learning rate 1: most of them die."""
    trainer = Trainer(dataset, TrainConfig(hidden=(32,), activation="relu", optimizer="sgd", lr=1.0, batch_size=64,
                                           iterations=400, init="xavier", seed=1))
    return run_until(trainer, "dead_units")


def run_until(trainer, key):
    from nn.hints import snapshot_hints

    for step in range(1, 401):
        trainer.step()
        if step % 20 == 0:
            trainer.evaluate_test()
            snap = trainer.snapshot()
            if any(h.key == key for h in snapshot_hints(snap)):
                return snap
    raise AssertionError(f"no {key} hint in 400 steps")


def test_a_diverged_run_gets_a_hint_whose_button_lowers_the_learning_rate(qtbot, window):
    c = window.controls
    c.optimizer.setCurrentIndex(c.optimizer.findData("sgd"))
    c.apply_changes({"lr": 100.0})
    qtbot.waitUntil(lambda: window.worker.trainer.config.lr == 100.0
                    and window.worker.trainer.config.optimizer == "sgd", timeout=TIMEOUT_MS)
    c.start_action.trigger()
    qtbot.waitUntil(lambda: window.state == State.DIVERGED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "diverged" in hint_rows(window) and window.hints_bar.isVisible(), timeout=TIMEOUT_MS)
    row = hint_rows(window)["diverged"]
    assert "exploded" in row.text.text() or "NaN" in row.text.text()  # the figure behind it
    assert row.action_button.text() == "Lower learning rate to 10"
    qtbot.mouseClick(row.action_button, Qt.MouseButton.LeftButton)
    assert c.lr.value() == 10.0  # the field shows it, as if typed
    assert "diverged" not in hint_rows(window)  # acted on: it goes
    c.reset_action.trigger()
    qtbot.waitUntil(lambda: window.state == State.IDLE and window.worker.trainer.config.lr == 10.0,
                    timeout=TIMEOUT_MS)


def test_an_overfitting_run_gets_a_hint_whose_button_sets_l2_pending_until_reset(qtbot, window, small_mnist):
    press_step(qtbot, window)  # a network that trained: structural changes now wait for Reset
    snap = overfitting_snapshot(small_mnist)
    window.hints_bar.show_snapshot(snap)
    row = hint_rows(window)["overfitting"]
    assert window.hints_bar.isVisible() and "%" in row.text.text()
    qtbot.mouseClick(row.action_button, Qt.MouseButton.LeftButton)
    c = window.controls
    assert c.l2.text() == "0.0001" and c._fields["l2"].pending and c.pending_note.isVisible()
    assert window.worker.trainer.config.l2 == 0  # structural: not yet
    c.reset_action.trigger()
    qtbot.waitUntil(lambda: window.worker.trainer.config.l2 == pytest.approx(1e-4), timeout=TIMEOUT_MS)


def test_a_run_whose_units_die_gets_a_hint_that_lowers_the_rate_live_and_asks_for_he_init(qtbot, window,
                                                                                        small_mnist):
    c = window.controls
    c.init.setCurrentText("xavier")
    qtbot.waitUntil(lambda: window.worker.trainer.config.init == "xavier", timeout=TIMEOUT_MS)
    press_step(qtbot, window)
    snap = dying_snapshot(small_mnist)
    window.hints_bar.show_snapshot(snap)
    row = hint_rows(window)["dead_units"]
    assert "ReLU" in row.text.text() and "%" in row.text.text()
    qtbot.mouseClick(row.action_button, Qt.MouseButton.LeftButton)
    assert c.lr.value() == pytest.approx(0.3) and c.init.currentText() == "he"
    qtbot.waitUntil(lambda: window.worker.trainer.config.lr == pytest.approx(0.3), timeout=TIMEOUT_MS)  # live
    assert window.last_snapshot.events or window.worker.trainer.events  # marked on the curves
    assert c._fields["init"].pending and window.worker.trainer.config.init == "xavier"  # at Reset


def test_hints_can_be_dismissed_and_turned_off(qtbot, window, small_mnist):
    bar = window.hints_bar
    snap = dying_snapshot(small_mnist)
    bar.show_snapshot(snap)
    assert bar.isVisible()
    qtbot.mouseClick(hint_rows(window)["dead_units"].dismiss_button, Qt.MouseButton.LeftButton)
    assert "dead_units" not in hint_rows(window) and not bar.isVisible()
    bar._last = -float("inf")
    bar.show_snapshot(snap)  # the same run: it stays dismissed
    assert not bar.isVisible()
    later = dataclasses.replace(snap, run_id=snap.run_id + 1000)  # a new run: hints speak again
    bar.show_snapshot(later)
    assert bar.isVisible()
    qtbot.mouseClick(bar.off_button, Qt.MouseButton.LeftButton)
    assert not bar.isVisible() and not window.hints_action.isChecked()
    assert window.settings.value("hints") == "false"
    bar.show_snapshot(dataclasses.replace(snap, run_id=snap.run_id + 2000))
    assert not bar.isVisible()
    window.hints_action.trigger()  # Help > Show hints
    assert bar.enabled and bar.isVisible() and window.settings.value("hints") == "true"


def test_the_guide_covers_every_panel_and_brings_it_into_view(qtbot, window):
    guide_entries = entries()
    assert [e.name for e in guide_entries[1:]] == [spec.name for spec in PANELS]
    for entry in guide_entries:
        assert entry.shows and entry.look_for and entry.try_this, entry.name
    window.docks["math"].close()  # closed panels come back too
    window.guide_action.trigger()
    guide = window.guide
    assert guide.isVisible() and guide.list.count() == len(guide_entries)
    for row, entry in enumerate(guide_entries):
        guide.list.setCurrentRow(row)
        assert entry.try_this.split(":")[0][:20] in guide.text.toPlainText()
        qtbot.mouseClick(guide.show_button, Qt.MouseButton.LeftButton)
        dock = window.docks.get(entry.name)
        if dock is None:  # the curves: always in view
            continue
        widget = panel_in(dock) or dock.widget()
        qtbot.waitUntil(lambda w=widget: window.on_screen(w), timeout=TIMEOUT_MS)
    assert window.docks["math"].isVisible()


def effective_tip(widget, root) -> str:
    """The tooltip a person sees over ``widget``: its own, or (Qt passes the event up) its
    nearest ancestor's, up to ``root``."""
    while widget is not None:
        if widget.toolTip():
            return widget.toolTip()
        if widget is root:
            return ""
        widget = widget.parentWidget()
    return ""


def test_every_control_panel_title_and_axis_has_a_tooltip(qtbot, window):
    for name in window.docks:
        window.docks[name].raise_()
    press_step(qtbot, window)
    roots = [window.controls] + [d.widget() for n, d in window.docks.items() if n != "controls"] + [
        window.loss_panel, window.accuracy_panel, window.hints_bar]
    missing = []
    for root in roots:
        for widget in root.findChildren(QtWidgets.QWidget):
            if not widget.isVisibleTo(root) or widget.objectName().startswith("qt_") or widget.objectName() in (
                    "ScrollLeftButton", "ScrollRightButton"):  # Qt's own corner and tab-scroll buttons
                continue
            in_controls = root is window.controls
            if isinstance(widget, INTERACTIVE) or (in_controls and isinstance(widget, QtWidgets.QLabel)
                                                   and widget.text().strip()):
                if not effective_tip(widget, root).strip():
                    missing.append(f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()!r} in "
                                   f"{type(root).__name__}")
    assert not missing, missing
    for name, dock in window.docks.items():
        assert dock.toolTip().strip() and "Try this:" in dock.toolTip(), name  # the title: what, and what to try
    for root in roots:
        for view in root.findChildren(pg.GraphicsView):
            for item in view.scene().items():
                if isinstance(item, pg.AxisItem) and item.isVisible() and item.labelText:
                    assert item.toolTip().strip(), (type(root).__name__, item.labelText)
    for action in window.menuBar().actions():
        for sub in action.menu().actions():
            if not sub.isSeparator() and sub.menu() is None:
                assert sub.toolTip().strip(), sub.text()
