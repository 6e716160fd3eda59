"""While training, the window renders within the GUI thread's CPU budget and never loses the
newest snapshot (pacing.py, MainWindow._on_snapshot_available)."""

from __future__ import annotations

import os

from PyQt6.QtCore import QStandardPaths

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
QStandardPaths.setTestModeEnabled(True)

from visualizer.main_window import MainWindow  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


def open_window(qtbot, data):
    win = MainWindow(preset="fast", data=data, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    win.worker.trainer.set_run_length(200, None)  # long enough not to finish during the test
    return win


def test_renders_are_spaced_by_the_pacer_and_every_panel_sees_each_snapshot(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    win.render_pacer.min_interval_s = 0.25  # as if each render cost a lot of CPU
    shown, complete = [], []

    def on_shown(snap):  # snapshot_shown comes once every panel on screen has the snapshot
        shown.append(snap)
        complete.append(win.loss_panel._snap is snap and win.accuracy_panel._snap is snap)

    win.snapshot_shown.connect(on_shown)
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=TIMEOUT_MS)
    shown.clear()
    complete.clear()
    qtbot.wait(1500)
    assert 2 <= len(shown) <= 1.5 / 0.25 + 1  # 15 a second would be offered
    assert [s.step for s in shown] == sorted(s.step for s in shown)
    assert all(complete)
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    # Paused: the newest snapshot is shown at once, not after the pacer's interval
    qtbot.waitUntil(lambda: win.last_snapshot.step == win.worker.trainer.step_count, timeout=1000)
    win.close()


def test_closing_while_a_snapshot_is_held_back_is_clean(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    win.render_pacer.min_interval_s = 0.5
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: win._render_timer.isActive(), timeout=TIMEOUT_MS)
    win.close()
    qtbot.wait(700)  # the held-back render's time passes: nothing renders into the closed window
    assert not win._render_timer.isActive()
    assert win.training_thread.isFinished()


def test_the_worker_builds_snapshots_only_shortly_before_the_gui_takes_one(qtbot, small_mnist):
    """While renders are spaced out, the worker does not build a snapshot every 66 ms only to
    replace it: it refreshes the waiting one shortly before the GUI comes for it, so what the
    GUI takes is still fresh."""
    import time

    win = open_window(qtbot, small_mnist)
    win.render_pacer.min_interval_s = 0.5
    trainer, worker = win.worker.trainer, win.worker
    built, ages = {}, []
    build, take = trainer.snapshot, worker.take_snapshot

    def counted_build():
        snap = build()
        built[id(snap)] = (snap, time.monotonic())
        return snap

    def timed_take():
        snap = take()
        if snap is not None and id(snap) in built:
            ages.append(time.monotonic() - built[id(snap)][1])
        return snap

    trainer.snapshot, worker.take_snapshot = counted_build, timed_take
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: len(ages) >= 2, timeout=TIMEOUT_MS)
    built.clear()
    ages.clear()
    qtbot.wait(2000)
    renders = len(ages)
    assert 2 <= renders <= 2 / 0.5 + 1
    assert len(built) <= 3 * renders + 2  # not the ~30 that 15 a second would be
    assert sorted(ages)[len(ages) // 2] < 0.25  # taken soon after it was made (the interval is 0.5 s)
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.last_snapshot.step == trainer.step_count, timeout=1000)
    win.close()
