"""Training at full speed runs in a process of its own (nn.training_process): the window shows
its snapshots, live changes reach it, and if that process dies the person is told, nothing is
lost beyond the stretch it was training, and training goes on when started again."""

from __future__ import annotations

import os
import signal

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_window import open_window  # noqa: E402

from nn.training_process import available  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000

pytestmark = pytest.mark.skipif(not available(), reason="training in a process of its own needs Linux")


def long_run(qtbot, win) -> None:
    """Start a run too long to end during the test, on any machine."""
    field = win.controls.length_value
    field.selectAll()
    field.clear()
    qtbot.keyClicks(field, "100000")
    qtbot.waitUntil(lambda: win.worker.trainer.config.epochs == 100_000, timeout=TIMEOUT_MS)
    win.controls.start_action.trigger()


def test_training_runs_in_its_own_process_and_the_window_follows_it(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    server = win.worker.server
    assert server is not None and server.alive and server._pid != os.getpid()
    long_run(qtbot, win)
    qtbot.waitUntil(lambda: win.last_snapshot.step > 20, timeout=TIMEOUT_MS)
    assert win.worker.segment is not None  # the steps were taken there
    assert win.worker.trainer.step_count < win.last_snapshot.step  # (this thread's trainer waits)
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.last_snapshot.step == win.worker.trainer.step_count, timeout=TIMEOUT_MS)
    assert win.worker.segment is None and win.worker.server is server  # one process for the data set


def test_a_training_process_that_dies_is_reported_and_training_goes_on(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    errors = []
    win.worker.error.connect(lambda message, details: errors.append(message))
    long_run(qtbot, win)
    qtbot.waitUntil(lambda: win.last_snapshot.step > 5, timeout=TIMEOUT_MS)
    os.kill(win.worker.server._pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT_MS)
    assert "training process stopped unexpectedly" in errors[0]
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    kept = win.worker.trainer.step_count
    win.controls.pause_action.trigger()  # Resume: a new process takes over
    qtbot.waitUntil(lambda: win.last_snapshot.step > kept + 5, timeout=TIMEOUT_MS)
    assert win.worker.server.alive
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    assert win.worker.trainer.step_count > kept


def test_an_answer_arriving_right_after_a_live_change_keeps_the_worker_running(qtbot, small_mnist):
    """A live change asks for a snapshot "at once"; the training process's next answer can come
    before the chunk timer does (seen once in CI among random command sequences). The worker
    lives in this thread here, so the two happen in exactly that order."""
    from nn.trainer import TrainConfig
    from visualizer.worker import TrainingWorker

    worker = TrainingWorker()
    worker.initialize()
    try:
        worker.load_data(small_mnist)
        worker.reset(TrainConfig(hidden=(16,), activation="relu", optimizer="sgd", lr=0.1, batch_size=64,
                                 epochs=None, iterations=100_000, seed=3))
        worker.start()
        qtbot.waitUntil(lambda: worker.segment is not None and not worker._snapshot_requested, timeout=TIMEOUT_MS)
        worker.take_snapshot()  # (the window has taken the last one)
        worker.set_pins((1, 2))
        worker._segment_answered()
        assert worker._timer.isActive() and worker.state == State.TRAINING
        qtbot.waitUntil(lambda: worker.take_snapshot() is not None and worker.trainer is not None, timeout=TIMEOUT_MS)
        worker.pause()
        assert worker.segment is None and tuple(worker.trainer.pins) == (1, 2)
    finally:
        worker.shutdown()
