"""Stop signals (issue 18, point 5): SIGTERM and SIGHUP stop a run like Ctrl+C (SIGINT) does: with
``--save-checkpoint`` the session is saved, exactly resumable, and the exit code is 128 + the
signal's number; the message is one line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from forgery import child_env

from nn.checkpoint import load_checkpoint
from nn.config import TrainConfig
from nn.trainer import Trainer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LONG_RUN = ["--hidden", "16", "--activation", "relu", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "10",
            "--epochs", "500", "--init", "he", "--seed", "4"]
CONFIG = TrainConfig(hidden=(16,), activation="relu", optimizer="momentum", lr=0.05, batch_size=10, epochs=500,
                     iterations=None, init="he", seed=4)


def start(small_mnist_dir, *extra) -> subprocess.Popen:
    """A long training run in a child, once it has started training."""
    child = subprocess.Popen([sys.executable, "-m", "nn", "train", "--data-dir", str(small_mnist_dir), *LONG_RUN,
                              *map(str, extra)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=child_env())
    first = child.stdout.readline()
    assert first.startswith("Training "), first + child.stderr.read()
    time.sleep(0.3)  # (some steps)
    return child


def stop(child: subprocess.Popen, signum: int) -> tuple[int, str, float]:
    sent = time.perf_counter()
    child.send_signal(signum)
    try:
        _, err = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    return child.returncode, err, time.perf_counter() - sent


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stop_signal_saves_the_session_and_exits_128_plus_its_number(tmp_path, small_mnist_dir, small_mnist, signum):
    session = tmp_path / "session.npz"
    code, err, seconds = stop(start(small_mnist_dir, "--save-checkpoint", session), signum)
    assert code == 128 + signum, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    what = "interrupted" if signum == signal.SIGINT else f"stopped by {signum.name}"
    assert err.startswith(f"softmax-train: {what} at step ") and f"session saved to {session}" in err
    assert seconds < 5
    step = int(err.split(" at step ")[1].split(";")[0])
    assert step > 0

    # The run stopped between two steps: the session equals a run of exactly that many steps.
    resumed, _ = load_checkpoint(session, small_mnist.subset(2000, 500))
    straight = Trainer(small_mnist.subset(2000, 500), CONFIG)
    straight.run(max_steps=step)
    assert resumed.step_count == straight.step_count and resumed.position == straight.position
    for a, b in zip(resumed.net.params, straight.net.params):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_without_a_checkpoint_a_stop_signal_ends_the_run_in_one_line(small_mnist_dir, signum):
    code, err, seconds = stop(start(small_mnist_dir), signum)
    assert code == 128 + signum
    assert err == f"softmax-train: stopped by {signum.name}\n"
    assert seconds < 5
