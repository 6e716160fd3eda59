"""Training in a forked process gives exactly what training in place gives."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from nn.config import TrainConfig
from nn.trainer import Trainer
from nn.training_process import TrainingProcess, TrainingProcessError, TrainingServer, available

pytestmark = pytest.mark.skipif(not available(), reason="training in a forked process needs Linux")

CONFIGS = {
    "sgd": TrainConfig(hidden=(24,), batch_size=32, lr=0.1, epochs=None, iterations=400, seed=3),
    "momentum": TrainConfig(hidden=(20, 12), activation="relu", optimizer="momentum", batch_size=50, lr=0.05,
                            epochs=None, iterations=400, seed=4),
    "adam": TrainConfig(hidden=(16,), activation="tanh", optimizer="adam", batch_size=64, lr=0.002,
                        epochs=None, iterations=400, seed=5, dropout=0.2),
    "full batch": TrainConfig(hidden=(10,), batch_size=None, lr=0.5, epochs=None, iterations=40, seed=6),
    "augmented": TrainConfig(hidden=(16,), batch_size=40, lr=0.1, epochs=None, iterations=400, seed=7,
                             augment_shift=2, augment_rotation=10.0, augment_noise=0.1),
}


def exact_state(trainer: Trainer) -> dict:
    """Everything later steps depend on, and what the panels show."""
    return {
        "params": [p.copy() for p in trainer.net.params],
        "optimizer": {k: np.array(v, copy=True) for k, v in trainer.optimizer.state().items()},
        "optimizer_steps": trainer.optimizer.steps,
        "step": trainer.step_count,
        "samples_seen": trainer.samples_seen,
        "position": trainer.position,
        "order": None if trainer.order is None else trainer.order.copy(),
        "rng": trainer.rng.bit_generator.state,
        "train_curve": [np.array(getattr(trainer.train_history.curve(), c), copy=True)
                        for c in ("step", "samples", "loss", "accuracy")],
        "events": list(trainer.events),
    }


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key in ("params", "train_curve"):
            assert len(a[key]) == len(b[key])
            for x, y in zip(a[key], b[key]):
                np.testing.assert_array_equal(x, y, err_msg=key)
        elif key == "optimizer":
            assert a[key].keys() == b[key].keys()
            for name in a[key]:
                np.testing.assert_array_equal(a[key][name], b[key][name], err_msg=name)
        elif key == "order":
            assert (a[key] is None) == (b[key] is None)
            if a[key] is not None:
                np.testing.assert_array_equal(a[key], b[key])
        else:
            assert a[key] == b[key], key


def segment(trainer: Trainer, server: TrainingServer | None = None) -> TrainingProcess:
    """Train in the server until the run ends (its run length says where)."""
    process = TrainingProcess.start(trainer) if server is None else server.segment(trainer)
    while process.ended is None:
        process.poll(0.05)
    return process


@pytest.mark.parametrize("name", CONFIGS)
def test_a_forked_segment_equals_training_in_place(small_mnist, name):
    config = CONFIGS[name]
    in_place = Trainer(small_mnist, config.replace(iterations=150))
    in_place.run(max_steps=150)
    in_place.set_run_length(iterations=300)  # a live change between segments, as the app makes
    in_place.set_lr(config.lr / 2)
    in_place.run(max_steps=150)

    server = TrainingServer(small_mnist)
    forked = Trainer(small_mnist, config.replace(iterations=150))
    other = Trainer(small_mnist, CONFIGS["sgd"].replace(iterations=20))
    assert segment(forked, server).ended == "finished"
    assert forked.step_count == 150
    forked.set_run_length(iterations=300)
    forked.set_lr(config.lr / 2)
    assert segment(other, server).ended == "finished"  # another run in between: the server switches
    assert segment(forked, server).ended == "finished"  # ... and back
    server.close()
    assert other.step_count == 20
    assert_same(exact_state(in_place), exact_state(forked))
    # ... and training goes on the same, in place, from either
    in_place.set_run_length(iterations=320)
    forked.set_run_length(iterations=320)
    in_place.run(max_steps=20)
    forked.run(max_steps=20)
    assert_same(exact_state(in_place), exact_state(forked))


def test_one_server_trains_segment_after_segment_of_a_run_as_in_place(small_mnist):
    """Stop and go, with live changes made here between the segments: as one run in place."""
    config = CONFIGS["momentum"].replace(iterations=10_000)
    in_place, served = Trainer(small_mnist, config), Trainer(small_mnist, config)
    server = TrainingServer(small_mnist)
    server.prepare(served)  # (built there before the first segment: then only the state goes over)
    for k in range(4):
        process = server.segment(served)
        process.request("call", step_of)
        while not process.poll(1.0):
            pass
        process.stop()
        assert process.ended == "stopped"
        served.set_momentum(0.5 + 0.1 * k)
    server.close()
    steps = served.step_count
    assert steps > 0
    in_place_changes = {}
    # the same run in place, with each change at the step it was made there
    changes = [(e.step, e.text) for e in served.events]
    in_place.set_run_length(iterations=10_000)
    for step, _ in changes:
        in_place.run(max_steps=step - in_place.step_count)
        in_place.set_momentum(0.5 + 0.1 * len(in_place_changes))
        in_place_changes[step] = True
    in_place.run(max_steps=steps - in_place.step_count)
    assert_same(exact_state(in_place), exact_state(served))


def test_requests_are_answered_between_chunks_and_stop_brings_the_state_back(small_mnist):
    trainer = Trainer(small_mnist, TrainConfig(hidden=(16,), batch_size=32, epochs=None, iterations=1_000_000))
    process = TrainingProcess.start(trainer)
    process.request("snapshot")
    process.request("call", step_of)
    answers = []
    while len(answers) < 2:
        answers += process.poll(1.0)
    (kind1, snap), (kind2, step) = answers
    assert kind1 == "snapshot" and kind2 == "call"
    assert snap.run_id == trainer.run_id and step >= snap.step
    assert trainer.step_count == 0  # the parent's trainer waits for the segment's end
    process.stop()
    assert process.ended == "stopped"
    assert trainer.step_count >= step and trainer.samples_seen > 0 and len(trainer.train_history.curve()) > 0
    assert trainer.snapshot().step == trainer.step_count


def step_of(trainer: Trainer) -> int:
    return trainer.step_count


def test_a_child_that_vanishes_leaves_the_trainer_as_it_was(small_mnist):
    trainer = Trainer(small_mnist, TrainConfig(hidden=(16,), batch_size=32, epochs=None, iterations=1_000_000))
    trainer.run(max_steps=3)
    before = exact_state(trainer)
    process = TrainingProcess.start(trainer)
    os.kill(process.server._pid, signal.SIGKILL)
    with pytest.raises(TrainingProcessError, match="stopped unexpectedly"):
        process.stop()
    assert process.ended == "failed"
    assert_same(before, exact_state(trainer))


def test_an_error_in_the_child_comes_back_as_an_answer(small_mnist):
    trainer = Trainer(small_mnist, TrainConfig(hidden=(16,), batch_size=32, epochs=None, iterations=1_000_000))
    process = TrainingProcess.start(trainer, between_chunks=fail)
    answers = []
    while process.ended is None:
        answers += process.poll(0.1)
    assert process.ended == "failed"
    assert answers[-1][0] == "error" and "the map broke" in answers[-1][1][0]
    assert trainer.step_count > 0  # what it trained before the error is kept, as in place


def fail(trainer: Trainer) -> None:
    raise ValueError("the map broke")


def test_a_live_change_applies_between_chunks_and_a_refused_one_is_reported(small_mnist):
    trainer = Trainer(small_mnist, TrainConfig(hidden=(16,), batch_size=32, epochs=None, iterations=1_000_000))
    process = TrainingProcess.start(trainer)
    process.request("apply", set_lr_to(0.25))
    process.request("apply", set_lr_to(-1.0))  # refused by the trainer's validation
    process.request("call", lr_of)
    answers = []
    while not any(kind == "call" for kind, _ in answers):
        answers += process.poll(1.0)
    assert [kind for kind, _ in answers] == ["error", "call"]
    assert "lr" in answers[0][1][0].lower() or "learning rate" in answers[0][1][0].lower()
    assert answers[1][1] == 0.25
    process.stop()
    assert process.ended == "stopped" and trainer.config.lr == 0.25
    assert any("0.25" in event.text for event in trainer.events)  # recorded as a live change


def set_lr_to(lr: float):
    import functools

    return functools.partial(Trainer.set_lr, lr=lr)


def lr_of(trainer: Trainer) -> float:
    return trainer.config.lr
