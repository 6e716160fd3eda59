"""Issue 15.1, 15.4, 15.8: every visible panel shows the final state once training stops (the
layer map too), a reopened session keeps its own run, and no figure of the last run stays."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import nn.trainer  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


@pytest.fixture
def win(open_window, small_mnist):
    return open_window(small_mnist)


def run_length(qtbot, window, iterations: int) -> None:
    c = window.controls
    c.length_unit.setCurrentText("iterations")
    c.length_value.setText(str(iterations))
    c.length_unit.activated.emit(1)
    qtbot.waitUntil(lambda: window.worker.trainer.config.iterations == iterations, timeout=TIMEOUT_MS)


def test_the_layer_map_shows_the_final_step_when_a_run_ends_and_on_pause(qtbot, win):
    run_length(qtbot, win, 30)
    win.docks["pca"].raise_()
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.FINISHED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.last_snapshot.step == 30 and win.last_snapshot.activation_map.step == 30,
                    timeout=TIMEOUT_MS)
    assert "at step 30" in win.map_panel.title.text()
    run_length(qtbot, win, 100_000)  # more to go: paused
    win.controls.toggle_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.TRAINING, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.last_snapshot.step > 40, timeout=TIMEOUT_MS)
    win.controls.toggle_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.last_snapshot.activation_map.step == win.last_snapshot.step, timeout=TIMEOUT_MS)


def test_a_reopened_session_keeps_its_run_through_reset(qtbot, win, tmp_path, monkeypatch):
    for _ in range(3):
        win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 3, timeout=TIMEOUT_MS)
    win.controls.reset_action.trigger()  # run 1 is archived; run 2 is current
    qtbot.waitUntil(lambda: len(win.worker.runs) == 1 and win.last_snapshot.step == 0, timeout=TIMEOUT_MS)
    for _ in range(4):
        win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 4, timeout=TIMEOUT_MS)
    path = tmp_path / "session.npz"
    with qtbot.waitSignal(win.worker.saved, timeout=TIMEOUT_MS):
        win.commands.save("session", str(path))
    monkeypatch.setattr(nn.trainer, "_last_run_id", 0)  # as in a new process
    with qtbot.waitSignal(win.worker.opened, timeout=TIMEOUT_MS):
        win.files.open_from("session", str(path))
    qtbot.waitUntil(lambda: win.last_snapshot.step == 4, timeout=TIMEOUT_MS)
    current = win.worker.trainer.run_id
    assert current not in [r.run_id for r in win.worker.runs]
    win.docks["runs"].raise_()
    qtbot.waitUntil(lambda: win.runs_panel.model.rowCount() == 2, timeout=TIMEOUT_MS)  # current and earlier
    win.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: len(win.worker.runs) == 2, timeout=TIMEOUT_MS)
    assert sorted(r.steps for r in win.worker.runs) == [3, 4]


def test_no_figure_of_the_last_run_stays(qtbot, win):
    """The speed after Reset, the step of a divergence, the pins' x range."""
    run_length(qtbot, win, 100_000)
    win.set_pins([0])
    win.docks["pins"].raise_()
    win.controls.toggle_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step > 20 and bool(win.status.speed_label.text()), timeout=TIMEOUT_MS)
    win.controls.toggle_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    # (the state comes before the snapshot published on pause: wait until every panel shows it)
    qtbot.waitUntil(lambda: win.last_snapshot.step == win.worker.trainer.step_count, timeout=TIMEOUT_MS)
    old_range = win.pins_panel.plot.vb.viewRange()[0][1]
    win.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 0 and win.state == State.IDLE, timeout=TIMEOUT_MS)
    assert win.status.speed_label.text() == ""
    assert win.pins_panel.plot.vb.viewRange()[0][1] < old_range / 2
    # a divergence: the status bar and the banner name the same step
    win.controls.optimizer.setCurrentIndex(win.controls.optimizer.findData("sgd"))
    win.controls.lr.set_value(100.0, emit=True)
    qtbot.waitUntil(lambda: win.worker.trainer.config.lr == 100.0, timeout=TIMEOUT_MS)
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.DIVERGED and bool(win.last_snapshot.diverged), timeout=TIMEOUT_MS)
    failed = win.last_snapshot.step + 1
    assert f"step {failed}:" in win.last_snapshot.diverged  # what the banner says
    assert f"diverged at step {failed}" in win.status.step_label.text()


def test_a_finished_runs_figures_are_frozen(qtbot, win, tmp_path):
    """Issue 15.5: neither a click on a digit nor reopening the session changes the titles."""
    run_length(qtbot, win, 30)
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.FINISHED and win.last_snapshot.step == 30, timeout=TIMEOUT_MS)
    qtbot.wait(100)
    titles = (win.loss_panel._title, win.accuracy_panel._title)
    path = tmp_path / "done.npz"
    with qtbot.waitSignal(win.worker.saved, timeout=TIMEOUT_MS):
        win.commands.save("session", str(path))
    with qtbot.waitSignal(win.snapshot_shown, timeout=TIMEOUT_MS):
        win.select_digit(7)  # a new snapshot of the same step
    assert (win.loss_panel._title, win.accuracy_panel._title) == titles
    with qtbot.waitSignal(win.worker.opened, timeout=TIMEOUT_MS):
        win.files.open_from("session", str(path))
    qtbot.waitUntil(lambda: win.last_snapshot.step == 30 and win.last_snapshot.run_id != 0, timeout=TIMEOUT_MS)
    qtbot.wait(100)
    assert (win.loss_panel._title, win.accuracy_panel._title) == titles


def test_hover_readout_goes_and_no_epochs_before_start(qtbot, win):
    """Issue 15.8 and 15.7: the readout leaves with the mouse; the epochs axis is empty before any sample."""
    from PyQt6.QtCore import QEvent
    from PyQt6.QtWidgets import QApplication

    panel = win.loss_panel
    assert panel.epoch_axis.n_train > 0 and panel.epoch_axis.tickValues(0, 1, 300) == []
    panel.readout.setText("samples 1 000 · train 0.5")
    QApplication.sendEvent(panel, QEvent(QEvent.Type.Leave))
    assert panel.readout.text() == ""
