"""Test evaluations beside training (nn.fast.alongside) give what evaluations in place give, in
order, without changing training, with bounded memory, and their errors reach the caller."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import nn.trainer
from nn.checkpoint import checkpoint_arrays
from nn.config import TrainConfig
from nn.fast.alongside import EvaluationsAlongside, pending_limit, wait_for_all
from nn.trainer import EARLY_EVALUATION_STEPS, Trainer

CONFIG = TrainConfig(hidden=(32, 16), activation="relu", optimizer="adam", lr=0.003, batch_size=50,
                     epochs=None, iterations=300, seed=2)


@pytest.fixture
def every_step_due(monkeypatch):
    """Past the early steps, an evaluation is due whenever none is running beside training (and
    the thread path is taken on any machine)."""
    monkeypatch.setattr(nn.trainer, "MIN_EVAL_INTERVAL_S", 0.0)
    monkeypatch.setattr(nn.trainer, "EVAL_BUDGET_ALONGSIDE", 1e9)
    monkeypatch.setattr(nn.trainer, "spare_core", lambda: True)


def history(trainer: Trainer) -> list[tuple]:
    curve = trainer.test_history.curve()
    return list(zip(curve.step.astype(int), curve.samples.astype(int), curve.loss, curve.accuracy))


def test_evaluations_beside_training_equal_evaluations_in_place_and_leave_training_alone(small_mnist,
                                                                                       every_step_due):
    beside = Trainer(small_mnist, CONFIG)
    beside.set_pins([3, 7])
    while not beside.finished:
        beside.run(max_seconds=0.01, evaluate_alongside=True)
    recorded = history(beside)
    steps = [step for step, *_ in recorded]
    assert steps == sorted(set(steps)) and steps[-1] == 300  # in order, each once, the end included
    assert len([s for s in steps if s not in EARLY_EVALUATION_STEPS]) >= 5  # some ran beside

    in_place = Trainer(small_mnist, CONFIG)
    in_place.set_pins([3, 7])
    expected = []
    while in_place.step_count < 300:
        in_place.step()
        if in_place.step_count in steps:
            expected.append(in_place.evaluate_test())
    np.testing.assert_array_equal(beside.net.storage.flat_params, in_place.net.storage.flat_params)
    for (step, samples, loss, accuracy), evaluation in zip(recorded, expected, strict=True):
        assert (step, samples) == (evaluation.step, evaluation.samples_seen)
        assert loss == pytest.approx(evaluation.loss, rel=0, abs=0)
        assert accuracy == evaluation.accuracy
    np.testing.assert_array_equal(beside.last_test.probs, in_place.last_test.probs)
    assert beside._pin_points == in_place._pin_points  # every evaluation's pinned digits, too
    for a, b in zip(beside.inactive_history.arrays(), in_place.inactive_history.arrays()):
        np.testing.assert_array_equal(a, b)


def gate_evaluations_beside(trainer: Trainer) -> threading.Event:
    """From now on, evaluations wait for the returned event before they start."""
    gate, measure = threading.Event(), trainer._measure_test

    def measure_when_let(net, request):
        gate.wait()
        return measure(net, request)

    trainer._measure_test = measure_when_let
    return gate


def test_training_goes_on_while_an_evaluation_runs_and_takes_its_result_once_done(small_mnist, every_step_due):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)  # the early ones, in place
    assert trainer.last_test.step == 64
    gate = gate_evaluations_beside(trainer)
    for _ in range(10):  # chunk after chunk, as the training process runs
        trainer.run(max_steps=5, evaluate_alongside=True)
        snap = trainer.snapshot()  # never waits for the evaluation
        assert snap.test.step == 64
    assert trainer.step_count == 114 and trainer._alongside.pending == 1  # asked at step 65
    gate.set()
    trainer._alongside._pending[0].join()
    trainer.run(max_steps=1, evaluate_alongside=True)
    assert 65 in history_steps(trainer) and trainer.last_test.step >= 65


def history_steps(trainer: Trainer) -> list[int]:
    return [step for step, *_ in history(trainer)]


def test_a_drawing_pinned_while_an_evaluation_runs_keeps_its_curve_in_order(small_mnist, every_step_due):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)
    gate = gate_evaluations_beside(trainer)
    trainer.run(max_steps=10, evaluate_alongside=True)
    assert trainer._alongside.pending == 1  # asked at step 65, before the drawing was pinned
    trainer.pin_drawn(small_mnist.test_images[0].reshape(-1), int(small_mnist.test_y[0]))
    gate.set()
    trainer.run(max_steps=40, evaluate_alongside=True)
    trainer.settle_evaluations()
    samples = [x for x, _ in trainer._pin_points[-1]]
    assert samples[0] == 74 * CONFIG.batch_size  # its first point, when pinned
    assert samples == sorted(set(samples)) and len(samples) >= 2


def test_an_error_in_an_evaluation_beside_training_reaches_the_caller(small_mnist, every_step_due, monkeypatch):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)  # the early ones, in place

    def broken(net, request):
        raise MemoryError("no room for the test set")

    monkeypatch.setattr(trainer, "_measure_test", broken)
    with pytest.raises(MemoryError, match="no room"):
        for _ in range(100):
            trainer.run(max_steps=1, evaluate_alongside=True)
        trainer.settle_evaluations()


def test_a_checkpoint_includes_the_evaluations_still_running(small_mnist, every_step_due):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)
    gate = gate_evaluations_beside(trainer)
    trainer.run(max_steps=10, evaluate_alongside=True)
    assert trainer._alongside.pending == 1 and trainer.last_test.step == 64
    gate.set()
    arrays = checkpoint_arrays(trainer)  # (without taking it, the checkpoint would say step 64)
    assert trainer._alongside.pending == 0 and trainer.last_test.step == 65
    assert arrays["test_history"].size > 0


def test_the_network_copy_has_the_same_layout_and_outputs(small_mnist):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=20)
    copy = trainer._network_copy()
    trainer._copy_parameters_into(copy)
    assert copy.storage.layout is not None and trainer.net.storage.layout is not None
    np.testing.assert_array_equal(copy.storage.layout.order, trainer.net.storage.layout.order)
    assert not np.shares_memory(copy.storage.flat_params, trainer.net.storage.flat_params)
    x = trainer.test_x[:200]
    np.testing.assert_array_equal(copy.predict_proba(x), trainer.net.predict_proba(x))


def test_asking_past_the_limit_waits_for_the_oldest_evaluation():
    release = threading.Event()
    copies = []

    def make_copy():
        copies.append(np.zeros(4))
        return copies[-1]

    alongside = EvaluationsAlongside(make_copy, lambda copy: None, limit=2)

    def work(copy, context):
        release.wait()
        return context

    alongside.submit(work, "first")
    alongside.submit(work, "second")
    returned = []
    third = threading.Thread(target=lambda: returned.append(alongside.submit(work, "third")))
    third.start()
    third.join(0.3)
    assert third.is_alive() and not returned  # waiting for room: no third copy meanwhile
    assert len(copies) == 2
    release.set()
    third.join()
    assert [e.result for e in returned[0]] == ["first"]  # handed to the caller to record
    assert len(copies) == 2  # the first's copy was reused
    assert [e.result for e in alongside.wait()] == ["second", "third"]
    wait_for_all()


def test_the_limit_keeps_copies_of_a_big_network_few():
    assert pending_limit(100_000) == 4
    assert pending_limit(40 * 2**20) == 1  # a 10-million-parameter network: one copy at a time
