"""Issue 15.2 and 15.10: one rule for when a live field applies (Enter, focus-out, a spin step, a
choice, or a pause in typing; never an intermediate value of a number being typed, and never a
run-ending value at a pause), and a learning-rate slider that covers its decades evenly."""

from __future__ import annotations

import math
import os

import pytest
from PyQt6.QtCore import Qt

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from visualizer.controls import TYPING_PAUSE_MS, LearningRateControl  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


@pytest.fixture
def paused_run(qtbot, open_window, small_mnist):
    """A window whose run has trained 5 steps of a run counted in iterations, paused."""
    win = open_window(small_mnist)
    c = win.controls
    c.length_unit.setCurrentText("iterations")
    c.length_value.setText("100000")
    c.length_unit.activated.emit(1)
    qtbot.waitUntil(lambda: win.worker.trainer.config.iterations == 100_000, timeout=TIMEOUT_MS)
    for _ in range(5):
        c.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 5 and win.state == State.PAUSED, timeout=TIMEOUT_MS)
    return win


def type_into(qtbot, editor, text: str) -> None:
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClicks(editor, text)


def events(win) -> list[str]:
    return [e.text for e in win.worker.trainer.events]


def test_a_typed_batch_size_applies_once_at_enter(qtbot, paused_run):
    win = paused_run
    sent = []
    win.controls.batch_size_changed.connect(sent.append)
    type_into(qtbot, win.controls.batch.lineEdit(), "256")
    assert sent == []  # not 2, not 25
    qtbot.keyClick(win.controls.batch.lineEdit(), Qt.Key.Key_Return)
    assert sent == [256]
    qtbot.waitUntil(lambda: win.worker.trainer.config.batch_size == 256, timeout=TIMEOUT_MS)
    assert len([e for e in events(win) if e.startswith("batch")]) == 1


def test_a_typed_value_applies_at_a_pause_in_typing(qtbot, paused_run):
    win = paused_run
    sent = []
    win.controls.momentum_changed.connect(sent.append)
    win.controls.optimizer.setCurrentIndex(win.controls.optimizer.findData("momentum"))  # enables the field
    type_into(qtbot, win.controls.momentum.lineEdit(), "0.5")
    assert sent == []
    qtbot.waitUntil(lambda: sent == [0.5], timeout=TYPING_PAUSE_MS + TIMEOUT_MS)


def test_a_run_length_being_typed_never_ends_the_run(qtbot, paused_run):
    """At step 5, typing 1500 iterations passes "1": at a pause that would end the run; it waits."""
    win = paused_run
    sent = []
    win.controls.run_length_changed.connect(lambda epochs, iterations: sent.append(iterations))
    type_into(qtbot, win.controls.length_value, "1")
    qtbot.wait(TYPING_PAUSE_MS + 300)  # a pause in typing
    assert sent == [] and win.state == State.PAUSED
    qtbot.keyClicks(win.controls.length_value, "500")
    qtbot.keyClick(win.controls.length_value, Qt.Key.Key_Return)
    assert sent == [1500]
    qtbot.waitUntil(lambda: win.worker.trainer.config.iterations == 1500, timeout=TIMEOUT_MS)
    assert win.state == State.PAUSED and not win.worker.trainer.finished
    # Enter is a decision: a run length already passed does end the run.
    type_into(qtbot, win.controls.length_value, "3")
    qtbot.keyClick(win.controls.length_value, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.worker.trainer.finished, timeout=TIMEOUT_MS)


def test_a_change_before_start_is_the_runs_own_value(qtbot, open_window, small_mnist):
    """Issue 15.6: a learning rate set before Start is not a change marked at x = 0."""
    win = open_window(small_mnist)
    win.controls.lr.set_value(0.0003, emit=True)
    qtbot.waitUntil(lambda: win.worker.trainer.config.lr == 0.0003, timeout=TIMEOUT_MS)
    win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 1, timeout=TIMEOUT_MS)
    assert win.last_snapshot.events == () and win.last_snapshot.config.lr == 0.0003


def test_the_learning_rate_slider_covers_its_decades_evenly(qtbot):
    control = LearningRateControl()
    qtbot.addWidget(control)
    slider = control.slider
    values = []
    for position in range(slider.minimum(), slider.maximum() + 1):
        slider.setValue(position)
        values.append(control.value())
    decades = math.log10(values[-1] / values[0])
    per_decade = (len(values) - 1) / decades
    assert 3 <= per_decade <= 10  # a few sensible values per decade, not a hundred
    steps = [math.log10(b / a) for a, b in zip(values, values[1:])]
    assert all(0.1 <= s <= 0.41 for s in steps)  # no step jumps much further than another
    assert all(float(f"{v:.1g}") == v for v in values)  # round values: 0.5, 1, 2, never 9.12
    for decade in range(-4, 2):  # each decade the same length of slider
        inside = [v for v in values if 10.0 ** decade <= v < 10.0 ** (decade + 1)]
        assert len(inside) == round(per_decade)


def test_default_settings_can_be_restored_and_pinning_keeps_the_gallery(qtbot, open_window, small_mnist):
    """Issue 15.10: settings of the last launch can be forgotten; pinning from the gallery keeps
    it in view and marks the pinned digit there."""
    first = open_window(small_mnist, preset="tutorial")
    first.set_theme_choice("dark")
    first.close()
    win = open_window(small_mnist, preset=None)  # remembers the tutorial
    assert win.controls.current_config().optimizer == "gd" and win.theme_choice == "dark"
    win.restore_settings_action.trigger()
    assert win.controls.preset.currentText() == "fast" and win.theme_choice == "system"
    for key in ("last_config", "window_state", "geometry"):
        assert not win.settings.contains(key)
    # pinning from the gallery
    for _ in range(3):
        win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 3, timeout=TIMEOUT_MS)
    win.docks["mistakes"].raise_()
    qtbot.waitUntil(lambda: len(win.gallery.shown_indices()) > 0, timeout=TIMEOUT_MS)
    digit = win.gallery.shown_indices()[0]
    win.gallery.pin_requested.emit(digit)
    qtbot.waitUntil(lambda: len(win.last_snapshot.pins) == 1, timeout=TIMEOUT_MS)
    assert win.on_screen(win.gallery) and not win.on_screen(win.pins_panel)
    assert digit in win.gallery.pinned
