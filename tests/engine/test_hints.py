"""nn.hints: each rule fires on the run it describes, states its figure, and stays quiet otherwise."""

from __future__ import annotations

import numpy as np

from nn.config import TrainConfig
from nn.hints import hints, snapshot_hints
from nn.history import Curve
from nn.inspection import LearningStats
from nn.trainer import Trainer

CONFIG = TrainConfig(hidden=(32,), activation="relu", optimizer="sgd", lr=0.1, batch_size=64, iterations=500)


def curve(loss, accuracy, steps=None):
    loss, accuracy = np.asarray(loss, float), np.asarray(accuracy, float)
    steps = np.arange(1, len(loss) + 1) if steps is None else np.asarray(steps, float)
    return Curve(steps, steps * 64, loss, accuracy)


def learning(inactive=(0.0,), ratios=1e-3, rows=20):
    names = ("layer 1", "output")
    return LearningStats(names, names[:1], "dead units", np.arange(rows, dtype=float), np.ones((rows, 2)),
                         np.full((rows, 2), ratios), np.arange(rows, dtype=float),
                         np.tile(np.asarray(inactive, float), (rows, 1)), ())


def healthy():
    steps = 400
    train = curve(np.linspace(2.0, 0.2, steps), np.linspace(0.3, 0.95, steps))
    test = curve(np.linspace(2.0, 0.25, 10), np.linspace(0.3, 0.94, 10), np.linspace(1, steps, 10))
    return train, test


def test_a_healthy_run_gets_no_hint():
    train, test = healthy()
    assert hints(train, test, learning(), CONFIG, step=400) == ()
    assert hints(train, test, learning(inactive=(0.9,)), CONFIG, step=10) == ()  # too early to tell


def test_rising_loss_suggests_a_lower_learning_rate():
    loss = np.concatenate([np.linspace(2.0, 0.5, 200), np.linspace(0.5, 1.5, 200)])
    train = curve(loss, np.full(400, 0.8))
    (hint,) = hints(train, healthy()[1], learning(), CONFIG.replace(lr=0.5), step=400)
    assert hint.key == "loss_rising" and hint.changes == {"lr": 0.15}
    assert "0.623 to 1.38" in hint.message and "(0.5)" in hint.message  # the figures, and the setting


def test_falling_test_accuracy_while_training_improves_suggests_l2():
    steps = 400
    train = curve(np.linspace(1.0, 0.05, steps), np.linspace(0.8, 0.999, steps))
    test = curve(np.full(8, 0.3), [0.90, 0.95, 0.97, 0.975, 0.97, 0.965, 0.96, 0.958], np.linspace(50, steps, 8))
    (hint,) = hints(train, test, learning(), CONFIG, step=steps)
    assert hint.key == "overfitting" and hint.changes == {"l2": 1e-4}
    assert "97.5 %" in hint.message and "95.8 %" in hint.message
    (again,) = hints(train, test, learning(), CONFIG.replace(l2=1e-3), step=steps)
    assert again.changes["l2"] == 3e-3


def test_dead_relu_and_saturated_sigmoid_units():
    train, test = healthy()
    (dead,) = hints(train, test, learning(inactive=(0.62,)), CONFIG.replace(init="xavier"), step=400)
    assert dead.key == "dead_units" and "62 %" in dead.message
    assert dead.changes == {"lr": 0.03, "init": "he"}
    sigmoid = CONFIG.replace(activation="sigmoid")
    (saturated,) = hints(train, test, learning(inactive=(0.71,)), sigmoid, step=400)
    assert saturated.key == "saturated_units" and "71 %" in saturated.message and "sigmoid" in saturated.message


def test_tiny_updates_suggest_a_higher_learning_rate():
    train, test = healthy()
    (hint,) = hints(train, test, learning(ratios=2e-6), CONFIG.replace(lr=1e-4), step=400)
    assert hint.key == "tiny_updates" and hint.changes == {"lr": 3e-4} and "2.0e-06" in hint.message


def test_real_runs_raise_their_hints(small_mnist):
    # A learning rate far too small: the updates are tiny.
    slow = Trainer(small_mnist, CONFIG.replace(lr=1e-5, iterations=120))
    slow.run()
    keys = {h.key for h in snapshot_hints(slow.snapshot())}
    assert "tiny_updates" in keys
    # A learning rate far too large for ReLU units: most of them die.
    hot = Trainer(small_mnist, CONFIG.replace(lr=3.0, optimizer="sgd", iterations=120, init="xavier"))
    hot.run()
    snap = hot.snapshot()
    if snap.diverged is None:
        keys = {h.key for h in snapshot_hints(snap)}
        assert keys & {"dead_units", "loss_rising"}, keys
    # A sensible run: nothing to say.
    fine = Trainer(small_mnist, CONFIG.replace(iterations=120))
    fine.run()
    assert snapshot_hints(fine.snapshot()) == ()


def test_a_diverged_run_suggests_a_learning_rate_ten_times_lower(small_mnist):
    hot = Trainer(small_mnist, CONFIG.replace(hidden=(64,), activation="sigmoid", lr=100.0, iterations=50))
    hot.run()
    snap = hot.snapshot()
    assert snap.diverged is not None
    (hint,) = snapshot_hints(snap)
    assert hint.key == "diverged" and hint.changes == {"lr": 10.0}
    assert snap.diverged in hint.message and "exploded to" in hint.message  # the trainer's figure
    assert hint.action == "Lower learning rate to 10"
