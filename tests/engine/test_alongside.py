"""Test evaluations beside training (nn.fast.alongside) give what evaluations in place give, in
order, without changing training, with bounded memory, and their errors reach the caller."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import nn.trainer
from nn.checkpoint import checkpoint_arrays
from nn.config import TrainConfig
from nn.fast.alongside import EvaluationsAlongside, copy_limit
from nn.trainer import EARLY_EVALUATION_STEPS, Trainer

CONFIG = TrainConfig(hidden=(32, 16), activation="relu", optimizer="adam", lr=0.003, batch_size=50,
                     epochs=None, iterations=300, seed=2)


@pytest.fixture(autouse=True)
def no_evaluation_threads_left():
    """Each test starts with no evaluation thread running: the bound on threads is the
    process's, and a released thread of an earlier test may still be finishing."""
    join_evaluation_threads()


def join_evaluation_threads() -> None:
    for thread in list(threading.enumerate()):
        if thread.name == "test evaluation":
            thread.join()


@pytest.fixture
def every_step_due(monkeypatch):
    """Past the early steps, an evaluation is due whenever none is running beside training (and
    the thread path is taken on any machine; one running is never taken over for being slow)."""
    monkeypatch.setattr(nn.trainer, "MIN_EVAL_INTERVAL_S", 0.0)
    monkeypatch.setattr(nn.trainer, "STARVED_S", math.inf)
    monkeypatch.setattr(nn.trainer, "EVAL_BUDGET_ALONGSIDE", 1e9)
    monkeypatch.setattr(nn.trainer, "spare_core", lambda: True)


def join_running(trainer: Trainer) -> None:
    if trainer._evaluation_running():
        trainer._alongside._pending._thread.join()


def history(trainer: Trainer) -> list[tuple]:
    curve = trainer.test_history.curve()
    return list(zip(curve.step.astype(int), curve.samples.astype(int), curve.loss, curve.accuracy))


def test_evaluations_beside_training_equal_evaluations_in_place_and_leave_training_alone(small_mnist,
                                                                                       every_step_due):
    beside = Trainer(small_mnist, CONFIG)
    beside.set_pins([3, 7])
    beside.pin_drawn(small_mnist.test_images[5].reshape(-1), int(small_mnist.test_y[5]))
    while not beside.finished:
        beside.run(max_steps=10, evaluate_alongside=True)
        join_running(beside)  # (so that each chunk's evaluation is taken by the next, on any machine)
    recorded = history(beside)
    steps = [step for step, *_ in recorded]
    assert steps == sorted(set(steps)) and steps[-1] == 300  # in order, each once, the end included
    assert len([s for s in steps if s not in EARLY_EVALUATION_STEPS]) >= 20  # made beside

    in_place = Trainer(small_mnist, CONFIG)
    in_place.set_pins([3, 7])
    in_place.pin_drawn(small_mnist.test_images[5].reshape(-1), int(small_mnist.test_y[5]))
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


def gate_evaluations_beside(monkeypatch) -> threading.Event:
    """From now on, evaluations in a thread beside training wait for the returned event before
    they start (as if starved of a core); those made in place do not."""
    gate, measure = threading.Event(), Trainer._measure_test

    def measure_when_let(self, net, request):
        if threading.current_thread() is not threading.main_thread():
            gate.wait()
        return measure(self, net, request)

    monkeypatch.setattr(Trainer, "_measure_test", measure_when_let)
    return gate


def test_training_goes_on_while_an_evaluation_runs_and_takes_its_result_once_done(small_mnist, every_step_due,
                                                                                   monkeypatch):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)  # the early ones, in place
    assert trainer.last_test.step == 64
    gate = gate_evaluations_beside(monkeypatch)
    for _ in range(10):  # chunk after chunk, as the training process runs
        trainer.run(max_steps=5, evaluate_alongside=True)
        snap = trainer.snapshot()  # never waits for the evaluation
        assert snap.test.step == 64
    assert trainer.step_count == 114 and trainer._alongside.pending  # asked at step 65
    gate.set()
    trainer._alongside._pending._thread.join()
    trainer.run(max_steps=1, evaluate_alongside=True)
    assert 65 in history_steps(trainer) and trainer.last_test.step >= 65


def history_steps(trainer: Trainer) -> list[int]:
    return [step for step, *_ in history(trainer)]


def test_a_drawing_pinned_while_an_evaluation_runs_keeps_its_curve_in_order(small_mnist, every_step_due, monkeypatch):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)
    gate = gate_evaluations_beside(monkeypatch)
    trainer.run(max_steps=10, evaluate_alongside=True)
    assert trainer._alongside.pending  # asked at step 65, before the drawing was pinned
    trainer.pin_drawn(small_mnist.test_images[0].reshape(-1), int(small_mnist.test_y[0]))
    gate.set()
    join_running(trainer)
    trainer.run(max_steps=1, evaluate_alongside=True)  # takes step 65's; asks for step 75's
    join_running(trainer)
    trainer.settle_evaluations()
    samples = [x for x, _ in trainer._pin_points[-1]]
    assert samples[0] == 74 * CONFIG.batch_size  # its first point, when pinned
    assert samples == [74 * CONFIG.batch_size, 75 * CONFIG.batch_size]


def test_a_digit_pinned_while_an_evaluation_runs_gets_its_points_as_in_place(small_mnist, every_step_due, monkeypatch):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)
    gate = gate_evaluations_beside(monkeypatch)
    trainer.run(max_steps=3, evaluate_alongside=True)  # step 65's evaluation runs, held
    trainer.set_pins([3])
    gate.set()
    join_running(trainer)
    trainer.settle_evaluations()
    in_place = Trainer(small_mnist, CONFIG)
    in_place.run(max_steps=65)
    in_place.evaluate_test()
    in_place.set_pins([3])
    assert trainer._pin_points[3] == in_place._pin_points[3]  # step 65's point only, not step 64's too


def test_an_error_in_an_evaluation_beside_training_reaches_the_caller(small_mnist, every_step_due, monkeypatch):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)  # the early ones, in place

    measure = trainer._measure_test

    def broken_in_a_thread(net, request):
        if threading.current_thread() is not threading.main_thread():
            raise MemoryError("no room for the test set")
        return measure(net, request)

    monkeypatch.setattr(trainer, "_measure_test", broken_in_a_thread)
    trainer.run(max_steps=1, evaluate_alongside=True)  # asked for, beside
    join_running(trainer)
    with pytest.raises(MemoryError, match="no room"):
        trainer.run(max_steps=1, evaluate_alongside=True)


def test_a_checkpoint_includes_the_evaluations_still_running(small_mnist, every_step_due, monkeypatch):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)
    gate = gate_evaluations_beside(monkeypatch)
    trainer.run(max_steps=10, evaluate_alongside=True)
    assert trainer._alongside.pending and trainer.last_test.step == 64
    arrays = checkpoint_arrays(trainer)  # made in place: a checkpoint never waits for the thread
    assert not trainer._alongside.pending and trainer.last_test.step == 65
    assert arrays["test_history"].size > 0
    gate.set()


def test_the_network_copy_has_the_same_layout_and_outputs(small_mnist):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=20)
    copy = trainer._network_copy()
    trainer._copy_parameters(copy)
    assert copy.storage.layout is not None and trainer.net.storage.layout is not None
    np.testing.assert_array_equal(copy.storage.layout.order, trainer.net.storage.layout.order)
    assert not np.shares_memory(copy.storage.flat_params, trainer.net.storage.flat_params)
    x = trainer.test_x[:200]
    np.testing.assert_array_equal(copy.predict_proba(x), trainer.net.predict_proba(x))


def test_an_evaluation_starved_of_a_core_is_made_in_place_and_its_thread_ignored(small_mnist, every_step_due,
                                                                                 monkeypatch):
    """Other programs keep every core busy: the low-priority thread hardly runs, so the trainer
    makes the same evaluation itself, and what the thread gives later is dropped."""
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)
    gate = gate_evaluations_beside(monkeypatch)
    trainer.run(max_steps=1, evaluate_alongside=True)  # asked at step 65, its thread held
    stuck = trainer._alongside._pending
    monkeypatch.setattr(nn.trainer, "STARVED_S", 0.0)
    trainer.run(max_steps=1, evaluate_alongside=True)  # step 66: starved, so made in place
    assert trainer.last_test.step == 65 and not trainer._alongside.pending
    in_place = Trainer(small_mnist, CONFIG)
    in_place.run(max_steps=65)
    assert trainer.last_test.loss == in_place.evaluate_test().loss  # from the step's own parameters
    gate.set()
    stuck._thread.join()
    trainer.run(max_steps=20, evaluate_alongside=True)
    steps = history_steps(trainer)
    assert steps.count(65) == 1 and steps == sorted(steps)


def test_threads_starved_of_a_core_hold_a_bounded_number_of_copies():
    release = threading.Event()
    made = []

    def make_copy():
        made.append(np.zeros(4))
        return made[-1]

    def work(copy, context):
        if context == "held" and threading.current_thread() is not threading.main_thread():
            release.wait()  # (a thread that gets no core)
        return context

    alongside = EvaluationsAlongside(make_copy, lambda copy, source: None, limit=2)
    alongside.submit(work, "held")
    assert alongside.pending and not alongside.has_room
    assert alongside.take().result == "held"  # made here instead
    assert alongside.has_room  # one thread holds one copy: one more may run
    alongside.submit(work, "held")
    alongside.take()
    assert not alongside.has_room  # two threads hold their copies: the caller evaluates in place
    copies = len(made)
    release.set()
    join_evaluation_threads()
    assert alongside.has_room
    alongside.submit(work, "free")
    while not alongside._pending.done:
        alongside._pending._thread.join()
    assert alongside.finished().result == "free" and len(made) == copies  # copies reused


def test_the_limit_keeps_copies_of_a_big_network_few():
    assert copy_limit(100_000) == 4
    assert copy_limit(40 * 2**20) == 1  # a 10-million-parameter network: one copy at a time


def test_a_segment_hands_its_state_back_without_waiting_for_a_running_evaluation(small_mnist, every_step_due,
                                                                                  monkeypatch):
    import pickle

    from nn.training_process import export_state

    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=64, evaluate_alongside=True)
    gate = gate_evaluations_beside(monkeypatch)
    trainer.run(max_steps=5, evaluate_alongside=True)
    assert trainer._alongside.pending
    state = pickle.loads(pickle.dumps(export_state(trainer)))  # made in place, never waited for
    assert "_alongside" not in state["attributes"]
    assert state["attributes"]["last_test"].step == 65
    assert list(state["attributes"]["test_history"].curve().step)[-2:] == [64, 65]
    gate.set()
