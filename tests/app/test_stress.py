"""Trying to break the app: random command sequences, closing at awkward moments, determinism."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from nn.config import TrainConfig  # noqa: E402
from nn.trainer import Trainer  # noqa: E402
from visualizer import commands  # noqa: E402
from visualizer.main_window import MainWindow  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000
TINY = TrainConfig(hidden=(16,), activation="relu", optimizer="momentum", lr=0.05, momentum=0.9,
                   batch_size=64, epochs=None, iterations=400, seed=7)


@pytest.fixture(scope="module")
def tiny_data(mnist):
    return mnist.subset(2000, 500)


def open_window(qtbot, data, config=TINY):
    win = MainWindow(data=data, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(win.worker.config_applied, timeout=TIMEOUT_MS):
        win.commands.reset(config)
    settle(qtbot, win)
    return win


_tokens = iter(range(1, 10**9))


def settle(qtbot, win):
    """Wait until the worker has handled every command sent so far (no deadlock if this returns)."""
    token = next(_tokens)
    with qtbot.waitSignal(win.worker.pong, timeout=TIMEOUT_MS, check_params_cb=lambda t: t == token):
        win.commands.ping(token)


def _random_round(qtbot, tiny_data, rng, errors):
    win = open_window(qtbot, tiny_data)
    win.worker.error.connect(lambda message, details: errors.append(message))
    seen: dict[int, int] = {}  # run_id -> last step shown
    backwards = []

    def check(snap):
        if snap.step < seen.get(snap.run_id, -1):
            backwards.append((snap.run_id, seen[snap.run_id], snap.step))
        seen[snap.run_id] = snap.step

    win.snapshot_shown.connect(check)
    actions = [
        lambda: win.commands.start(),
        lambda: win.commands.pause(),
        lambda: win.commands.step(),
        lambda: win.commands.reset(TINY.replace(seed=rng.randrange(100), hidden=(rng.choice([8, 16, 24]),))),
        lambda: win.commands.set_lr(rng.choice([0.01, 0.05, 0.1])),
        lambda: win.commands.set_momentum(rng.choice([0.0, 0.5, 0.9])),
        lambda: win.commands.set_batch_size(rng.choice([None, 32, 64, 500])),
        lambda: win.commands.set_run_length(None, rng.choice([50, 400, 2000])),
        lambda: win.commands.set_probes([rng.randrange(500)]),
        lambda: win.set_pins(rng.sample(range(500), rng.randrange(4))),
        lambda: win.controls.toggle_action.trigger(),
    ]
    for i in range(60):
        rng.choice(actions)()
        if rng.random() < 0.3:
            qtbot.wait(rng.choice([0, 5, 20, 60]))
        if i % 10 == 0:
            settle(qtbot, win)
            # The window follows the worker's state (which may still change by itself: a run ends).
            qtbot.waitUntil(lambda: win.state == win.worker.state
                            and win.worker.state.value in win.status.state_label.text(), timeout=TIMEOUT_MS)
    settle(qtbot, win)
    win.close()
    assert_stopped(win)
    assert not backwards, backwards


def assert_stopped(win):
    """Closing ended the training thread: it did not have to be left running (orphaned)."""
    assert win.training_thread.isFinished() and not commands.orphaned_threads_running()


@pytest.mark.slow
def test_random_command_sequences_never_break_the_app(qtbot, tiny_data):
    rng = random.Random(1234)
    errors = []
    for _ in range(10):  # each round: a fresh window, 60 random commands, then close
        _random_round(qtbot, tiny_data, rng, errors)
    assert not errors, errors


def test_close_while_the_data_is_loading(qtbot, small_mnist_dir):
    win = MainWindow(data=str(small_mnist_dir), ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    win.close()
    assert_stopped(win)


def test_close_right_after_asking_for_a_save(qtbot, tiny_data, tmp_path):
    win = open_window(qtbot, tiny_data)
    win.commands.start()
    qtbot.waitUntil(lambda: win.last_snapshot.step > 3, timeout=TIMEOUT_MS)
    win.files.save_to("session", str(tmp_path / "s.npz"))
    win.close()
    assert_stopped(win)
    # The save either happened completely or not at all: never a broken file.
    if (tmp_path / "s.npz").exists():
        from nn.checkpoint import load_checkpoint
        load_checkpoint(tmp_path / "s.npz", tiny_data)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_gui_and_headless_give_the_same_run(qtbot, tiny_data):
    """Pauses, steps and setting the learning rate to its current value change nothing."""
    config = TINY.replace(iterations=120)
    headless = Trainer(tiny_data, config)
    headless.run()
    win = open_window(qtbot, tiny_data, config)
    for _ in range(3):
        win.commands.step()
    win.commands.set_lr(config.lr)  # the same value: no event, no change
    win.commands.start()
    qtbot.wait(30)
    win.commands.pause()
    settle(qtbot, win)
    win.commands.start()
    qtbot.waitUntil(lambda: win.state == State.FINISHED, timeout=TIMEOUT_MS)
    settle(qtbot, win)
    trainer = win.worker.trainer
    assert trainer.step_count == headless.step_count == 120
    for a, b in zip(headless.net.params, trainer.net.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(headless.train_history.curve().loss, trainer.train_history.curve().loss)
    assert trainer.events == []
    win.close()
