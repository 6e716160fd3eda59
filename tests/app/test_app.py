"""The desktop app driven as a person would: typing into fields, clicking, waiting for snapshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from nn.config import PRESETS  # noqa: E402
from visualizer import commands  # noqa: E402
from visualizer.main_window import MainWindow  # noqa: E402
from visualizer.worker import State  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 30_000


@pytest.fixture
def window(qtbot, small_mnist):
    win = MainWindow(preset="fast", data=small_mnist, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    # The small data set would finish the preset's epochs in a blink: make the run longer than any
    # test trains, on any machine.
    set_text(qtbot, win.controls.length_value, "100000")
    qtbot.waitUntil(lambda: win.worker.trainer.config.epochs == 100_000, timeout=TIMEOUT_MS)
    yield win
    if win.isVisible():
        win.close()


def wait_for_snapshot(qtbot, win, condition, timeout=TIMEOUT_MS):
    qtbot.waitUntil(lambda: win.last_snapshot is not None and condition(win.last_snapshot), timeout=timeout)
    return win.last_snapshot


def set_text(qtbot, line_edit, text):
    line_edit.selectAll()
    line_edit.clear()
    qtbot.keyClicks(line_edit, text)


def click(qtbot, action):
    assert action.isEnabled(), f"{action.text()} is disabled"
    action.trigger()


def test_start_streams_snapshots_and_curves_grow(qtbot, window):
    assert window.controls.start_action.isEnabled()
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    first = wait_for_snapshot(qtbot, window, lambda s: s.step > 0)
    later = wait_for_snapshot(qtbot, window, lambda s: s.step > first.step + 20 and s.test is not None)
    assert len(later.train_curve) > len(first.train_curve)
    assert window.state == State.TRAINING
    assert "training" in window.status.state_label.text()
    assert f"step {later.step:,}" in window.status.step_label.text() or window.last_snapshot.step >= later.step


def test_pause_freezes_the_step_count(qtbot, window):
    click(qtbot, window.controls.start_action)
    wait_for_snapshot(qtbot, window, lambda s: s.step > 5)
    click(qtbot, window.controls.pause_action)
    qtbot.waitUntil(lambda: window.state == State.PAUSED, timeout=TIMEOUT_MS)
    qtbot.wait(200)
    frozen = window.worker.trainer.step_count
    qtbot.wait(400)
    assert window.worker.trainer.step_count == frozen
    assert window.controls.pause_action.text() == "Resume"
    click(qtbot, window.controls.pause_action)  # resume
    wait_for_snapshot(qtbot, window, lambda s: s.step > frozen)


def test_step_advances_exactly_one_step(qtbot, window):
    before = window.last_snapshot.step
    click(qtbot, window.controls.step_action)
    snap = wait_for_snapshot(qtbot, window, lambda s: s.step != before)
    assert snap.step == before + 1
    assert snap.test is not None and snap.test.step == before + 1
    qtbot.keyClick(window, Qt.Key.Key_S)  # the keyboard shortcut does the same
    snap = wait_for_snapshot(qtbot, window, lambda s: s.step != before + 1)
    assert snap.step == before + 2


def test_live_learning_rate_change_reaches_trainer_and_is_marked(qtbot, window):
    click(qtbot, window.controls.start_action)
    wait_for_snapshot(qtbot, window, lambda s: s.step > 3)
    spin = window.controls.lr.spin
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "0.0003")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    snap = wait_for_snapshot(qtbot, window, lambda s: len(s.events) > 0)
    assert snap.events[-1].text == f"lr {PRESETS['fast'].lr:g} -> 0.0003"
    assert snap.config.lr == pytest.approx(3e-4)  # the trainer's base rate (it decays per epoch)
    assert len(window.loss_panel.event_lines) == 1
    assert len(window.accuracy_panel.event_lines) == 1


def test_reset_clears_curves_and_rebuilds_with_new_layers(qtbot, window):
    click(qtbot, window.controls.start_action)
    wait_for_snapshot(qtbot, window, lambda s: s.step > 10)
    set_text(qtbot, window.controls.hidden, "40, 20")
    assert window.controls.pending_note.isVisible()  # structure changes wait for Reset
    assert window.worker.trainer.layer_sizes[1:-1] == PRESETS["fast"].hidden
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    snap = wait_for_snapshot(qtbot, window, lambda s: s.layer_sizes == (784, 40, 20, 10))
    assert snap.step == 0 and len(snap.train_curve) == 0
    assert window.state == State.IDLE
    assert not window.controls.pending_note.isVisible()
    assert len(window.loss_panel.event_lines) == 0


def test_invalid_layer_text_disables_start_with_a_message(qtbot, window):
    set_text(qtbot, window.controls.hidden, "128, abc")
    field = window.controls._fields["hidden"]
    assert not window.controls.start_action.isEnabled()
    assert not window.controls.reset_action.isEnabled()
    assert field.error.isVisible() and "abc" in field.error.text()
    set_text(qtbot, window.controls.hidden, "0")
    assert not window.controls.start_action.isEnabled() and "at least 1" in field.error.text()
    set_text(qtbot, window.controls.hidden, "64")
    assert window.controls.start_action.isEnabled()
    assert not field.error.isVisible()


def test_absurd_layer_sizes_say_what_memory_they_would_need(qtbot, window):
    set_text(qtbot, window.controls.hidden, "200000, 200000")
    message = window.controls._fields["hidden"].error.text()
    assert "GB" in message and not window.controls.start_action.isEnabled()


def test_divergence_pauses_and_explains(qtbot, window):
    set_text(qtbot, window.controls.hidden, "64")
    window.controls.optimizer.setCurrentIndex(window.controls.optimizer.findData("sgd"))
    window.controls.lr.set_value(100.0, emit=True)
    qtbot.waitUntil(lambda: window.worker.trainer.config.lr == 100.0
                    and window.worker.trainer.config.optimizer == "sgd", timeout=TIMEOUT_MS)
    click(qtbot, window.controls.start_action)
    qtbot.waitUntil(lambda: window.state == State.DIVERGED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=TIMEOUT_MS)
    assert "learning rate" in window.banner.text.text().lower()
    assert window.controls.reset_action.isEnabled() and not window.controls.start_action.isEnabled()
    window.controls.lr.set_value(0.01)
    click(qtbot, window.controls.reset_action)
    qtbot.waitUntil(lambda: window.state == State.IDLE, timeout=TIMEOUT_MS)
    click(qtbot, window.controls.start_action)
    wait_for_snapshot(qtbot, window, lambda s: s.step > 5 and s.diverged is None)


def test_closing_mid_training_exits_cleanly_and_fast(qtbot, window):
    click(qtbot, window.controls.start_action)
    wait_for_snapshot(qtbot, window, lambda s: s.step > 5)
    trainer = window.worker.trainer
    window.close()
    # Stopped at the end of its chunk, mid-run: close neither waited for the run to end nor left
    # the thread running (it would be orphaned after commands.STOP_WAIT_MS).
    assert window.training_thread.isFinished() and not commands.orphaned_threads_running()
    assert not trainer.finished


def test_closing_while_the_worker_is_stuck_in_a_long_call_neither_hangs_nor_aborts(qtbot, window):
    entered, release = threading.Event(), threading.Event()

    def long_numpy_call():  # stands in for e.g. the PCA of a 200 000-unit layer
        entered.set()
        release.wait(60)

    window.worker.trainer.compute_map = long_numpy_call
    window.commands.refresh_map()
    assert entered.wait(TIMEOUT_MS / 1000)
    window.close()
    assert not window.isVisible()
    assert commands.orphaned_threads_running()  # left to end on its own, not terminated
    release.set()
    qtbot.waitUntil(lambda: not commands._ORPHANED, timeout=TIMEOUT_MS)


def test_typing_a_layer_size_builds_one_network_not_one_per_keystroke(qtbot, window):
    applied = []
    reset = window.commands.reset
    window.commands.reset = lambda config: applied.append(config.hidden) or reset(config)
    set_text(qtbot, window.controls.hidden, "3000")
    qtbot.waitUntil(lambda: window.worker.trainer.layer_sizes == (784, 3000, 10), timeout=TIMEOUT_MS)
    assert applied == [(3000,)]


def test_start_right_after_an_edit_trains_the_edited_network(qtbot, window):
    set_text(qtbot, window.controls.hidden, "24")
    click(qtbot, window.controls.start_action)  # before the pause in typing that applies the edit
    snap = wait_for_snapshot(qtbot, window, lambda s: s.step > 0)
    assert snap.layer_sizes == (784, 24, 10)


def test_scripted_run_writes_metrics_and_screenshot(tmp_path):
    metrics, shot = tmp_path / "m.json", tmp_path / "s.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "visualizer", "--autostart", "--quit-after", "3",
         "--metrics-out", str(metrics), "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    data = json.loads(metrics.read_text())
    assert data["training_seconds"] >= 3 or data["finished"]  # what was asked: 3 s, or the run's end
    assert data["steps"] > 0 and data["samples_seen"] >= data["steps"]
    for key in ("train_accuracy", "test_accuracy"):
        assert 0.1 < data[key] <= 1  # better than chance, whatever the machine's speed
    for key in ("train_loss", "test_loss"):
        assert 0 < data[key] < 2.31  # below the loss of a uniform guess, ln 10
    assert "seconds_to_98" in data
    assert shot.stat().st_size > 10_000
    assert "Traceback" not in result.stderr and "QThread" not in result.stderr
