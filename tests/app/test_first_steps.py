"""Watching a run from its first step (issue 14): test points where learning happens, slow
motion, a run that goes on after it ends, and smoothing of the train curves.

Nothing here depends on the machine's speed: slow motion is checked as an upper bound on the
steps counted over a measured interval (only a broken limiter exceeds it), never as a fixed time.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from nn.config import MAX_EPOCHS
from nn.trainer import EARLY_EVALUATION_STEPS
from visualizer.main_window import MainWindow
from visualizer.panels.curves import LossPanel, Smoother
from visualizer.settings import app_settings
from visualizer.worker import CHUNK_SECONDS, State, StepPace

TIMEOUT_MS = 30_000


def open_window(qtbot, data, length: str | None = "100000", unit: str = "epochs") -> MainWindow:
    """A window on ``data``, ready; its run ``length`` long (by default longer than any test trains)."""
    win = MainWindow(preset="fast", data=data, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    controls = win.controls
    controls.length_unit.setCurrentText(unit)
    if length is not None:
        controls.length_value.setText(length)
    controls.length_value.editingFinished.emit()
    want = (None, int(length)) if unit == "iterations" else (float(length or MAX_EPOCHS), None)
    qtbot.waitUntil(lambda: (win.worker.trainer.config.epochs, win.worker.trainer.config.iterations) == want,
                    timeout=TIMEOUT_MS)
    return win


def wait_for_snapshot(qtbot, win, condition):
    qtbot.waitUntil(lambda: win.last_snapshot is not None and condition(win.last_snapshot), timeout=TIMEOUT_MS)
    return win.last_snapshot


def choose_speed(win, text: str) -> None:
    combo = win.controls.speed
    combo.setCurrentIndex(combo.findText(text))
    combo.activated.emit(combo.currentIndex())


# -- 1. test points where learning happens ----------------------------------------------------------

def test_the_first_steps_have_test_points_and_every_test_fed_panel_follows(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    win.set_pins([3])
    win.controls.start_action.trigger()
    snap = wait_for_snapshot(qtbot, win, lambda s: s.step >= 20)
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    snap = wait_for_snapshot(qtbot, win, lambda s: s.step == win.worker.trainer.step_count)
    steps = set(snap.test_curve.step.astype(int).tolist())
    early = {s for s in EARLY_EVALUATION_STEPS if s <= snap.step}
    assert {1, 2, 3, 4, 6, 8, 11, 16} <= early <= steps  # whatever the machine's speed
    # the curves draw them, and the panels fed by test evaluations show the latest
    assert len(win.accuracy_panel.test_item.getOriginalDataset()[0]) == len(snap.test_curve)
    assert snap.test.step == snap.test_curve.step[-1] > 0
    assert win.class_panel._evaluation is snap.test
    win.docks["confusion"].raise_()  # (a panel in a hidden tab catches up when shown)
    qtbot.waitUntil(lambda: win.confusion_panel._evaluation is snap.test, timeout=TIMEOUT_MS)
    pin = next(p for p in snap.pins if p.index == 3)
    assert len(pin.samples) == len(snap.test_curve)  # the pinned digit gets a point at each of them


# -- 3. slow motion, a run until paused, and a run that goes on ----------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_step_pace_gives_steps_at_the_set_rate_without_bursts():
    clock = FakeClock()
    pace = StepPace(clock)
    pace.set_rate(4.0)
    assert pace.due() == 1  # the first step at once
    pace.advance(1)
    assert pace.due() == 0 and pace.wait_s() == pytest.approx(0.25)
    clock.now += 0.25
    assert pace.due() == 1
    pace.advance(1)
    clock.now += 0.6  # late: the steps due since then, at most a chunk's worth at this rate
    assert pace.due() == max(1, int(4 * CHUNK_SECONDS))
    clock.now += 5.0  # far behind (a slow step, or a pause): no burst to catch up
    assert pace.due() == 1
    pace.set_rate(1000.0)
    assert pace.due() == 1
    pace.advance(1)
    clock.now += 0.1
    assert pace.due() == int(1000 * CHUNK_SECONDS)  # a chunk's worth at high rates
    pace.set_rate(0.0)
    assert pace.rate == 0.0


def test_slow_motion_really_slows_training(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    choose_speed(win, "10 steps/s")
    win.controls.start_action.trigger()
    wait_for_snapshot(qtbot, win, lambda s: s.step >= 1)
    trainer = win.worker.trainer
    steps0, t0 = trainer.step_count, time.monotonic()
    qtbot.wait(1500)
    steps1, t1 = trainer.step_count, time.monotonic()
    # At most the setting (and one step of slack at each end); a broken limiter trains hundreds.
    assert 0 < steps1 - steps0 <= 10 * (t1 - t0) + 2
    assert "slow motion: 10 steps/s" in win.status.speed_label.text()
    # each step is shown, and the test curve keeps up with the train curve
    snap = wait_for_snapshot(qtbot, win, lambda s: s.step >= steps1)
    assert snap.test_curve.step[-1] >= min(16, snap.step) or snap.step - snap.test_curve.step[-1] <= 10
    choose_speed(win, "full speed")
    qtbot.waitUntil(lambda: win.worker.pace.rate == 0.0, timeout=TIMEOUT_MS)


def test_start_after_the_run_ended_continues_it_by_its_length(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist, "30", unit="iterations")
    controls = win.controls
    controls.start_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.FINISHED, timeout=TIMEOUT_MS)
    assert win.worker.trainer.step_count == 30
    assert controls.start_action.isEnabled() and controls.start_action.text() == "Continue"
    assert "Continue trains 30 more steps" in win.status.state_label.text()
    qtbot.mouseClick(controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.worker.trainer.config.iterations == 60, timeout=TIMEOUT_MS)
    assert "The run goes on: 30 more steps" in win.statusBar().currentMessage()
    qtbot.waitUntil(lambda: win.state == State.FINISHED and win.worker.trainer.step_count == 60, timeout=TIMEOUT_MS)
    assert controls.length_value.text() == "60"  # the field shows the run's length now
    snap = wait_for_snapshot(qtbot, win, lambda s: s.step == 60)
    assert len(snap.train_curve) == 60  # one run, continued (not a new one)
    qtbot.keyClick(win, Qt.Key.Key_Space)  # Space continues too
    qtbot.waitUntil(lambda: win.worker.trainer.step_count == 90, timeout=TIMEOUT_MS)


def test_a_run_until_paused(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist, None, unit="until paused")
    assert win.worker.trainer.config.epochs == MAX_EPOCHS
    assert not win.controls.length_value.isEnabled()
    win.controls.start_action.trigger()
    wait_for_snapshot(qtbot, win, lambda s: s.step > 50)  # many epochs of the small data set
    assert win.status.progress.format() == "until paused"
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)


# -- 4. smoothing ---------------------------------------------------------------------------------------

def test_smoother_is_tensorboards_debiased_moving_average_computed_incrementally():
    values = np.array([1.0, 3.0, np.nan, 2.0, 5.0, 4.0])
    w = 0.6
    expected, mean, k = [], 0.0, 0
    for v in values:
        if np.isfinite(v):
            mean, k = w * mean + (1 - w) * v, k + 1
            expected.append(mean / (1 - w ** k))
        else:
            expected.append(v)
    smoother = Smoother(w)
    np.testing.assert_allclose(smoother.smooth(values[:2]), expected[:2])
    np.testing.assert_allclose(smoother.smooth(values), expected)  # only the new points computed
    assert smoother.smooth(values)[0] == 1.0  # debiased: the first point is the first value
    np.testing.assert_allclose(smoother.smooth(values[:3] * 2), np.array(expected[:3]) * 2)  # a new curve
    np.testing.assert_array_equal(Smoother(0.0).smooth(values[:2]), values[:2])


def test_smoothing_changes_the_drawn_curve_not_the_history(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    win.controls.start_action.trigger()
    wait_for_snapshot(qtbot, win, lambda s: s.step >= 40)
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    snap = wait_for_snapshot(qtbot, win, lambda s: s.step == win.worker.trainer.step_count)
    history = win.worker.trainer.train_history.curve()
    panel = win.loss_panel
    panel.smoothing_slider.setValue(90)  # as a person drags it
    for p in (win.loss_panel, win.accuracy_panel):  # both curves follow the one setting
        assert p.smoothing == pytest.approx(0.9)
        x, y = p.smooth_item.getOriginalDataset()
        raw_x, raw_y = p.train_item.getOriginalDataset()
        np.testing.assert_array_equal(x, snap.train_curve.samples)
        np.testing.assert_array_equal(raw_x, snap.train_curve.samples)
        assert p.smooth_item.isVisible() and not np.allclose(y, raw_y)  # drawn smoothed ...
        assert p.train_item.opts["pen"].color().alpha() < 255  # ... the raw batches faint behind
    np.testing.assert_array_equal(win.loss_panel.train_item.getOriginalDataset()[1], snap.train_curve.loss)
    assert np.std(np.diff(panel.smooth_item.getOriginalDataset()[1])) < np.std(np.diff(snap.train_curve.loss))
    # the recorded history is untouched
    after = win.worker.trainer.train_history.curve()
    for a, b in ((history.loss, after.loss), (history.accuracy, after.accuracy), (history.loss, snap.train_curve.loss)):
        np.testing.assert_array_equal(a, b)
    panel.smoothing_slider.setValue(0)  # off: the batches in full, no second curve
    assert not panel.smooth_item.isVisible() and panel.train_item.opts["pen"].color().alpha() == 255
    assert win.accuracy_panel.smoothing == 0.0
    panel.smoothing_slider.setValue(75)
    win.close()
    assert float(app_settings().value("curve_smoothing")) == pytest.approx(0.75)  # remembered ...
    again = MainWindow(preset="fast", data=small_mnist, ask_to_save=False, autosave=False)
    qtbot.addWidget(again)
    assert again.loss_panel.smoothing == again.accuracy_panel.smoothing == pytest.approx(0.75)  # ... and restored


def test_train_curves_are_smoothed_by_default_and_the_legend_says_so(qtbot):
    panel = LossPanel()
    qtbot.addWidget(panel)
    assert panel.smoothing == pytest.approx(0.6)  # TensorBoard's default
    assert [label.text for _, label in panel.legend.items] == ["train (batches, smoothed)", "test set"]
    panel.set_smoothing(0)
    assert [label.text for _, label in panel.legend.items] == ["train (batches)", "test set"]


def test_start_shows_the_runs_state_at_once_not_a_passing_message(qtbot, small_mnist):
    """The data's name is shown for a few seconds after loading; a person who presses Start in
    that time sees the run's state and counters, not the message over them."""
    win = open_window(qtbot, small_mnist)
    bar = win.statusBar()
    bar.showMessage("Data: somewhere", 60_000)
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.TRAINING, timeout=TIMEOUT_MS)
    assert bar.currentMessage() == ""
    assert win.status.state_label.isVisible() and "training" in win.status.state_label.text()
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
