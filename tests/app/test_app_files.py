"""Files in the app: sessions and models saved, reopened and refused; unsaved progress; autosave."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PyQt6.QtWidgets import QFileDialog, QMessageBox

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from visualizer.main_window import MainWindow  # noqa: E402
from visualizer.session_files import app_data_dir, instance_files, stale_autosaves  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


def make_window(qtbot, dataset, **kwargs):
    kwargs = {"ask_to_save": False, "autosave": False, **kwargs}
    win = MainWindow(preset="fast", data=dataset, **kwargs)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    return win


def train_some_steps(qtbot, win, steps=5):
    target = win.last_snapshot.step + steps
    for _ in range(steps):
        win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step >= target, timeout=TIMEOUT_MS)


def test_save_and_open_session_restores_the_run(qtbot, small_mnist, tmp_path):
    win = make_window(qtbot, small_mnist)
    train_some_steps(qtbot, win, 6)
    win.set_pins([3, 7])
    qtbot.waitUntil(lambda: len(win.last_snapshot.pins) == 2, timeout=TIMEOUT_MS)
    path = tmp_path / "run.npz"
    with qtbot.waitSignal(win.worker.saved, timeout=TIMEOUT_MS):
        win.files.save_to("session", str(path))
    assert not win.files.has_unsaved_progress
    saved_params = [p.copy() for p in win.worker.trainer.net.params]
    saved_curve = win.last_snapshot.train_curve.loss.copy()
    win.controls.reset_action.trigger()  # a new run replaces it
    qtbot.waitUntil(lambda: win.last_snapshot.step == 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(win.worker.opened, timeout=TIMEOUT_MS):
        win.files.open_from("session", str(path))
    qtbot.waitUntil(lambda: win.last_snapshot.step == 6, timeout=TIMEOUT_MS)
    for a, b in zip(saved_params, win.worker.trainer.net.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(saved_curve, win.last_snapshot.train_curve.loss)
    assert [p.index for p in win.last_snapshot.pins] == [3, 7] and win.pins == [3, 7]
    assert win.state == State.PAUSED
    assert ["session", str(path)] in win.files.recent()
    assert win.recent_menu.actions() and "run.npz" in win.recent_menu.actions()[0].text()
    win.close()


def test_open_model_shows_it_and_bad_files_change_nothing(qtbot, small_mnist, tmp_path):
    win = make_window(qtbot, small_mnist)
    train_some_steps(qtbot, win, 4)
    model = tmp_path / "m.npz"
    with qtbot.waitSignal(win.worker.saved, timeout=TIMEOUT_MS):
        win.files.save_to("model", str(model))
    params = [p.copy() for p in win.worker.trainer.net.params]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with qtbot.waitSignal(win.worker.error, timeout=TIMEOUT_MS) as error:
        win.files.open_from("session", str(bad))
    assert "bad.npz" in error.args[0]
    assert win.banner.isVisible() and "bad.npz" in win.banner.text.text()
    for a, b in zip(params, win.worker.trainer.net.params):  # nothing changed
        np.testing.assert_array_equal(a, b)
    assert win.last_snapshot.step == 4
    with qtbot.waitSignal(win.worker.opened, timeout=TIMEOUT_MS):
        win.files.open_from("model", str(model))
    qtbot.waitUntil(lambda: win.last_snapshot.step == 0 and win.last_snapshot.test is not None, timeout=TIMEOUT_MS)
    for a, b in zip(params, win.worker.trainer.net.params):
        np.testing.assert_array_equal(a, b)
    with qtbot.waitSignal(win.worker.error, timeout=TIMEOUT_MS) as error:
        win.files.save_to("session", str(tmp_path / "missing-folder" / "x.npz"))
    assert "does not exist" in error.args[0]
    win.close()


def test_quit_with_unsaved_progress_offers_to_save(qtbot, small_mnist, tmp_path, monkeypatch):
    win = make_window(qtbot, small_mnist, ask_to_save=True)
    train_some_steps(qtbot, win, 3)
    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save])
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or next(answers))
    path = tmp_path / "quit.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    assert not win.close()  # cancelled: still open, still running
    assert win.isVisible() and win.training_thread.isRunning()
    assert win.close()
    assert len(asked) == 2 and path.exists()
    assert not win.training_thread.isRunning()


def dead_pid() -> int:
    """The process id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_autosave_and_recovery_after_a_crash(qtbot, small_mnist):
    folder = app_data_dir()
    win = make_window(qtbot, small_mnist, autosave=True)
    marker, autosave = instance_files(os.getpid())
    assert win.files.running_marker == marker and marker.exists()
    train_some_steps(qtbot, win, 3)
    with qtbot.waitSignal(win.worker.saved, timeout=TIMEOUT_MS):
        win.files.autosave()
    assert win.files.autosave_path == autosave and autosave.exists()
    assert win.files.has_unsaved_progress  # an autosave is not the person's save
    # Another window of this (running) process offers nothing: its mark is not a crash's.
    assert stale_autosaves() == []
    win.close()  # the clean exit removes the marker and the autosave
    assert not marker.exists() and not autosave.exists()
    # A crash: the files of an instance whose process is gone are offered, then taken over.
    crashed_marker, crashed = instance_files(dead_pid(), folder)
    crashed_marker.write_text("")
    win = make_window(qtbot, small_mnist, autosave=True)
    train_some_steps(qtbot, win, 3)
    with qtbot.waitSignal(win.worker.saved, timeout=TIMEOUT_MS):
        win.commands.save("session", str(crashed))
    other = make_window(qtbot, small_mnist)
    assert other.banner.isVisible() and other.banner.action_button.text() == "Restore"
    with qtbot.waitSignal(other.worker.opened, timeout=TIMEOUT_MS):
        other.banner.action_button.click()
    qtbot.waitUntil(lambda: other.last_snapshot.step == 3, timeout=TIMEOUT_MS)
    assert not crashed.exists() and not crashed_marker.exists()  # recovered: not offered again
    other.close()
    win.close()


def test_two_instances_keep_their_own_autosave_and_marker(qtbot, small_mnist):
    """Issue 18.9: files per process id; a running instance's files are neither offered for
    recovery nor removed by another's clean exit; a dead one's are offered."""
    folder = app_data_dir()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        live_marker, live_autosave = instance_files(running.pid, folder)
        live_marker.write_text(str(running.pid))
        live_autosave.write_bytes(b"the other instance's autosave")
        dead_marker, dead_autosave = instance_files(dead_pid(), folder)
        dead_marker.write_text("")
        dead_autosave.write_bytes(b"a crashed instance's autosave")
        assert stale_autosaves() == [dead_autosave]
        win = make_window(qtbot, small_mnist, autosave=True)
        assert win.files.running_marker not in (live_marker, dead_marker)
        assert win.banner.isVisible() and win.banner.action_button.text() == "Restore"
        train_some_steps(qtbot, win, 2)
        with qtbot.waitSignal(win.worker.saved, timeout=TIMEOUT_MS):
            win.files.autosave()
        win.close()
        assert not win.files.running_marker.exists() and not win.files.autosave_path.exists()
        assert live_marker.exists() and live_autosave.read_bytes() == b"the other instance's autosave"
        assert dead_marker.exists() and dead_autosave.exists()  # not restored: offered again next time
    finally:
        running.kill()
        running.wait()


def test_runs_are_kept_at_reset_and_exports_work(qtbot, small_mnist, tmp_path, monkeypatch):
    import json

    from PyQt6.QtGui import QImage

    win = make_window(qtbot, small_mnist)
    train_some_steps(qtbot, win, 4)
    win.controls.lr.set_value(0.0005)
    win.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: len(win.worker.runs) == 1 and win.last_snapshot.step == 0, timeout=TIMEOUT_MS)
    train_some_steps(qtbot, win, 3)
    assert win.worker.runs[0].steps == 4 and win.worker.runs[0].config.lr != 0.0005
    paths = iter([str(tmp_path / "loss.svg"), str(tmp_path / "runs.csv"), str(tmp_path / "report")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (next(paths), ""))
    win.exports.ask_plot(win.loss_panel, "Loss plot")
    win.exports.ask_runs()
    win.exports.ask_report()
    assert (tmp_path / "loss.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    rows = (tmp_path / "runs.csv").read_text().splitlines()
    assert len(rows) == 3  # header, the current run, the earlier run
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["lr"] == 0.0005
    assert QImage(str(tmp_path / "report.png")).width() == win.width()
    assert not win.banner.isVisible()
    win.close()
