"""The trainer (snapshots, run length, live hyperparameters, divergence) and metric histories."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from nn.config import ConfigError, TrainConfig
from nn.history import MetricHistory
from nn.network import Network
from nn.optimizers import make_optimizer
from nn.trainer import Trainer

MINI = TrainConfig(hidden=(32,), activation="relu", optimizer="adam", lr=0.003, batch_size=100,
                   epochs=None, iterations=200, seed=3, init="he")
FULL = TrainConfig(hidden=(20,), activation="sigmoid", optimizer="gd", lr=0.5, batch_size=None,
                   epochs=None, iterations=20, seed=1, init="tutorial")


def params_of(trainer: Trainer) -> list[np.ndarray]:
    return [p.copy() for p in trainer.net.params]


def curve_arrays(curve) -> list[np.ndarray]:
    # Not dataclasses.astuple: it deep-copies.
    return [getattr(curve, f.name) for f in dataclasses.fields(curve)]


def assert_params_equal(a, b):
    assert len(a) == len(b)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa, pb)


# -- snapshots --------------------------------------------------------------------------------

def test_snapshot_is_an_immutable_copy(small_mnist):
    trainer = Trainer(small_mnist, MINI, probe_indices=[0, 3, 999])
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    snap = trainer.snapshot()
    frozen = {
        "first_layer_weights": snap.first_layer_weights.copy(),
        "probe_probs": snap.probe_probs.copy(),
        "test.probs": snap.test.probs.copy(),
        "train_curve.loss": snap.train_curve.loss.copy(),
    }
    arrays = [snap.first_layer_weights, snap.probe_probs, snap.test.probs, snap.test.predictions,
              snap.test.confidences, snap.test.class_mean_probs, *curve_arrays(snap.train_curve),
              *curve_arrays(snap.test_curve)]
    for a in arrays:
        assert isinstance(a, np.ndarray)
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a[...] = 0

    # Change the trainer every way possible: the snapshot must not notice.
    for p in trainer.net.storage.params:
        p += 1.0
    trainer.run(max_steps=20)
    trainer.evaluate_test()
    trainer.set_lr(0.001)
    np.testing.assert_array_equal(snap.first_layer_weights, frozen["first_layer_weights"])
    np.testing.assert_array_equal(snap.probe_probs, frozen["probe_probs"])
    np.testing.assert_array_equal(snap.test.probs, frozen["test.probs"])
    np.testing.assert_array_equal(snap.train_curve.loss, frozen["train_curve.loss"])
    assert snap.step == 10 and snap.events == () and snap.config.lr == MINI.lr
    assert not np.shares_memory(snap.first_layer_weights, trainer.net.storage.params[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.step = 3  # type: ignore[misc]


def test_snapshot_contents(small_mnist):
    trainer = Trainer(small_mnist, MINI, probe_indices=[4, 2])
    snap0 = trainer.snapshot()
    assert snap0.step == 0 and snap0.samples_seen == 0 and snap0.epoch == 0 and snap0.progress == 0
    assert snap0.test is None and snap0.train_loss is None and len(snap0.train_curve) == 0
    assert snap0.layer_sizes == (784, 32, 10) and snap0.image_shape == (28, 28) and snap0.n_train == 3000
    trainer.run(max_steps=15)
    snap = trainer.snapshot()
    assert snap.step == 15 and snap.samples_seen == 1500 and snap.epoch == pytest.approx(0.5)
    assert snap.progress == pytest.approx(15 / 200) and not snap.finished and snap.diverged is None
    assert snap.train_loss is not None and 0 < snap.train_loss < 10
    assert 0 <= snap.train_accuracy <= 1
    assert snap.probe_indices == (4, 2)
    np.testing.assert_allclose(snap.probe_probs, trainer.net.predict_proba(small_mnist.test_x[[4, 2]]), rtol=1e-6)
    np.testing.assert_allclose(snap.probe_probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(snap.first_layer_weights, trainer.net.first_layer_weights())
    assert snap.eta_seconds is not None and snap.eta_seconds >= 0
    # The window statistics restart at every snapshot.
    assert trainer.snapshot().train_loss is None


def test_probe_indices_are_checked(small_mnist):
    trainer = Trainer(small_mnist, MINI)
    with pytest.raises(ConfigError):
        trainer.set_probes([1000])
    with pytest.raises(ConfigError):
        trainer.set_probes([-1])
    trainer.set_probes([999])
    assert trainer.snapshot().probe_probs.shape == (1, 10)
    assert trainer.snapshot().probe_indices == (999,)


def test_history_curves_grow_and_test_evaluation_happens(small_mnist):
    trainer = Trainer(small_mnist, MINI)
    lengths = []
    for _ in range(4):
        trainer.run(max_steps=25)
        lengths.append(len(trainer.snapshot().train_curve))
    assert lengths == [25, 50, 75, 100]
    curve = trainer.snapshot().train_curve
    np.testing.assert_array_equal(curve.step, np.arange(1, 101))
    np.testing.assert_array_equal(curve.samples, np.arange(1, 101) * 100)
    assert curve.loss[-20:].mean() < curve.loss[:20].mean()  # it learns

    trainer.run()  # to the end of the 200 iterations
    snap = trainer.snapshot()
    assert snap.finished and snap.step == 200 and snap.progress == 1
    assert snap.test is not None and snap.test.step == 200  # the final state is always evaluated
    assert len(snap.test_curve) >= 1 and snap.test_curve.step[-1] == 200
    assert snap.test.accuracy > 0.85
    assert snap.test_curve.accuracy[-1] == pytest.approx(snap.test.accuracy)
    assert snap.test.probs.shape == (1000, 10)
    np.testing.assert_array_equal(snap.test.predictions, snap.test.probs.argmax(axis=1))
    np.testing.assert_allclose(snap.test.class_mean_probs.sum(axis=1), 1, rtol=1e-5)
    expected_accuracy = np.mean(snap.test.predictions == small_mnist.test_y)
    assert snap.test.accuracy == pytest.approx(expected_accuracy)
    assert trainer.run() == 0  # nothing more to do


def test_evaluate_train_covers_the_whole_training_set(small_mnist):
    trainer = Trainer(small_mnist, FULL)
    trainer.run()
    ev = trainer.evaluate_train()
    assert ev.probs.shape == (3000, 10)
    assert ev.accuracy == pytest.approx(np.mean(ev.predictions == small_mnist.train_y))


# -- run length -------------------------------------------------------------------------------

@pytest.mark.parametrize("epochs,batch", [(0.5, 128), (1.37, 100), (2.0, 7), (0.01, 1000)])
def test_fractional_epochs_stop_exactly(small_mnist, epochs, batch):
    config = MINI.replace(epochs=epochs, iterations=None, batch_size=batch, hidden=(8,))
    trainer = Trainer(small_mnist, config)
    trainer.run()
    assert trainer.finished
    assert trainer.samples_seen == round(epochs * 3000)
    snap = trainer.snapshot()
    assert snap.epoch == pytest.approx(epochs) and snap.progress == 1
    assert trainer.run() == 0


def test_full_batch_steps_count_epochs(small_mnist):
    trainer = Trainer(small_mnist, FULL.replace(iterations=5))
    trainer.run()
    assert trainer.step_count == 5
    assert trainer.samples_seen == 5 * 3000
    assert trainer.epoch == 5.0
    trainer2 = Trainer(small_mnist, FULL.replace(iterations=None, epochs=3))
    trainer2.run()
    assert trainer2.step_count == 3 and trainer2.epoch == 3.0


def test_run_respects_max_steps(small_mnist):
    trainer = Trainer(small_mnist, MINI)
    assert trainer.run(max_steps=7) == 7
    assert trainer.step_count == 7
    assert trainer.run(max_steps=0) == 0


# -- reproducibility --------------------------------------------------------------------------

@pytest.mark.parametrize("config", [MINI.replace(iterations=40), FULL,
                                    MINI.replace(optimizer="momentum", activation="tanh", lr=0.05, iterations=40)],
                         ids=["adam-minibatch", "gd-full", "momentum-minibatch"])
def test_same_config_and_seed_give_identical_parameters(small_mnist, config):
    a, b = Trainer(small_mnist, config), Trainer(small_mnist, config)
    a.run(max_steps=17)
    a.snapshot()  # snapshots and evaluations must not disturb training
    a.evaluate_test()
    a.run()
    while b.step() is not None and not b.finished:
        pass
    assert a.step_count == b.step_count
    assert_params_equal(params_of(a), params_of(b))
    c = Trainer(small_mnist, config.replace(seed=config.seed + 1))
    c.run()
    assert not np.array_equal(c.net.params[0], a.net.params[0])


# -- live hyperparameters ---------------------------------------------------------------------

def test_set_lr_takes_effect_and_is_recorded(small_mnist):
    config = FULL.replace(optimizer="sgd", iterations=6)
    live = Trainer(small_mnist, config)
    live.run(max_steps=3)
    live.set_lr(0.03)
    live.run()
    assert [e.text for e in live.events] == ["lr 0.5 -> 0.03"]
    assert live.events[0].step == 3 and live.events[0].samples_seen == 9000
    assert live.config.lr == 0.03 and live.snapshot().events == tuple(live.events)

    # Reference: the same three steps at 0.5, then three more at 0.03 by hand on a twin network.
    ref = Trainer(small_mnist, config)
    ref.run(max_steps=3)
    net = ref.net
    x, Y, y = small_mnist.train_x, small_mnist.train_Y, small_mnist.train_y
    for _ in range(3):
        net.loss_and_gradients(x, Y, y)
        for p, g in zip(net.storage.params, net.storage.grads):
            p -= np.float32(0.03) * g
    for a, b in zip(live.net.params, net.params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    wrong = Trainer(small_mnist, config)
    wrong.run()  # never changed: clearly different
    assert not np.allclose(wrong.net.params[0], live.net.params[0], rtol=1e-5, atol=1e-7)


def test_set_lr_before_training_equals_configuring_it(small_mnist):
    config = MINI.replace(iterations=10)
    changed = Trainer(small_mnist, config)
    changed.set_lr(0.01)
    direct = Trainer(small_mnist, config.replace(lr=0.01))
    changed.run()
    direct.run()
    assert_params_equal(params_of(changed), params_of(direct))


def test_set_momentum_takes_effect_and_is_recorded(small_mnist):
    config = MINI.replace(optimizer="momentum", lr=0.05, momentum=0.9, iterations=10)
    changed = Trainer(small_mnist, config)
    changed.set_momentum(0.5)
    direct = Trainer(small_mnist, config.replace(momentum=0.5))
    unchanged = Trainer(small_mnist, config)
    for t in (changed, direct, unchanged):
        t.run()
    assert_params_equal(params_of(changed), params_of(direct))
    assert not np.array_equal(unchanged.net.params[0], changed.net.params[0])
    assert [e.text for e in changed.events] == ["momentum 0.9 -> 0.5"]


def test_set_batch_size_takes_effect_and_is_recorded(small_mnist):
    trainer = Trainer(small_mnist, MINI.replace(batch_size=100, iterations=None, epochs=2))
    trainer.run(max_steps=3)
    assert trainer.samples_seen == 300
    trainer.set_batch_size(64)
    trainer.step()
    assert trainer.samples_seen == 364
    trainer.set_batch_size(None)  # full batch mid-epoch: the rest of the epoch first
    trainer.step()
    assert trainer.samples_seen == 3000
    assert [e.text for e in trainer.events] == ["batch 100 -> 64", "batch 64 -> full"]
    assert [e.samples_seen for e in trainer.events] == [300, 364]
    assert [e.step for e in trainer.events] == [3, 4]
    trainer2 = Trainer(small_mnist, FULL)
    trainer2.set_batch_size(250)
    trainer2.step()
    assert trainer2.samples_seen == 250
    assert trainer2.events[-1].text == "batch full -> 250"


def test_full_batch_after_finishing_an_epoch_mid_switch(small_mnist):
    trainer = Trainer(small_mnist, MINI.replace(batch_size=100, iterations=None, epochs=3))
    trainer.run(max_steps=3)
    trainer.set_batch_size(None)
    trainer.step()  # the remaining 2700 samples of the first epoch
    assert trainer.samples_seen == 3000
    trainer.step()  # then a whole epoch
    assert trainer.samples_seen == 6000


def test_switch_to_full_batch_at_an_epoch_boundary(small_mnist):
    trainer = Trainer(small_mnist, MINI.replace(batch_size=100, iterations=40))
    trainer.run(max_steps=30)  # exactly one epoch
    assert trainer.samples_seen == 3000
    trainer.set_batch_size(None)
    assert trainer.step() is not None
    assert trainer.samples_seen == 6000 and trainer.diverged is None


def test_invalid_or_unchanged_live_values_are_not_recorded(small_mnist):
    trainer = Trainer(small_mnist, MINI)
    with pytest.raises(ConfigError):
        trainer.set_lr(-1)
    with pytest.raises(ConfigError):
        trainer.set_lr(float("nan"))
    with pytest.raises(ConfigError):
        trainer.set_momentum(1.0)
    with pytest.raises(ConfigError):
        trainer.set_batch_size(0)
    with pytest.raises(ConfigError):
        trainer.set_batch_size(3001)  # more than the training set
    trainer.set_lr(MINI.lr)
    trainer.set_batch_size(MINI.batch_size)
    assert trainer.events == []
    assert trainer.config == MINI


def test_set_run_length(small_mnist):
    trainer = Trainer(small_mnist, MINI.replace(iterations=5))
    trainer.run()
    assert trainer.finished
    trainer.set_run_length(iterations=8)
    assert not trainer.finished
    assert trainer.run() == 3
    with pytest.raises(ConfigError):
        trainer.set_run_length(epochs=1, iterations=10)


# -- divergence -------------------------------------------------------------------------------

def run_watching_params(trainer: Trainer):
    """Step until the end or divergence; return the parameters from before the last step."""
    before = None
    while trainer.can_step and not trainer.finished:
        before = params_of(trainer)
        trainer.step()
        trainer.snapshot()
    return before


@pytest.mark.parametrize("config", [
    MINI.replace(hidden=(256, 128), lr=1000.0, optimizer="sgd", batch_size=128, iterations=100),
    FULL.replace(hidden=(64, 32), activation="relu", init="he", lr=1000.0, optimizer="sgd", iterations=100),
    MINI.replace(hidden=(256, 128), lr=50.0, optimizer="sgd", batch_size=128, iterations=100),
    FULL.replace(hidden=(50,), lr=1000.0, optimizer="sgd", iterations=100),  # the tutorial network
], ids=["relu-minibatch-lr1000", "relu-fullbatch-lr1000", "relu-minibatch-lr50", "tutorial-lr1000"])
def test_divergence_stops_training_with_a_message_and_no_warnings(small_mnist, config):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow, invalid value) fails the test
        trainer = Trainer(small_mnist, config, probe_indices=[0, 1])
        before = run_watching_params(trainer)
        assert trainer.diverged is not None, "the run was supposed to diverge"
        # The step that found a non-finite loss changed nothing, and no step happens afterwards.
        assert_params_equal(params_of(trainer), before)
        steps = trainer.step_count
        assert trainer.step() is None
        assert trainer.run() == 0
        assert trainer.step_count == steps
        assert_params_equal(params_of(trainer), before)
        snap = trainer.snapshot()
        trainer.evaluate_test()
        trainer.evaluate_train()
    assert snap.diverged == trainer.diverged and not snap.finished
    assert snap.diverged.startswith(f"Training diverged at step {steps + 1}")
    assert "learning rate" in snap.diverged and "\n" not in snap.diverged
    assert not trainer.can_step
    assert np.isfinite(snap.train_curve.loss).all()  # the non-finite loss never entered the curve


def test_tutorial_network_at_lr_50_is_reported_as_diverged(small_mnist):
    config = TrainConfig(hidden=(50,), activation="sigmoid", optimizer="gd", lr=50.0, batch_size=None,
                         iterations=100, init="tutorial")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer = Trainer(small_mnist, config)
        trainer.run()
    assert trainer.diverged is not None


# -- metric history ---------------------------------------------------------------------------

def test_history_capacity_holds_after_100k_adds():
    history = MetricHistory(capacity=256)
    max_len = 0
    for step in range(1, 100_001):
        history.add(step, step * 10, 1.0, 0.5, 1)
        max_len = max(max_len, len(history))
    assert max_len <= 256
    curve = history.curve()
    assert 128 <= len(curve) <= 256
    assert (np.diff(curve.step) > 0).all()
    assert curve.step[-1] <= 100_000 and curve.step[-1] > 100_000 - 1024
    np.testing.assert_array_equal(curve.samples, curve.step * 10)


def test_history_default_capacity_after_100k_adds():
    history = MetricHistory()
    rng = np.random.default_rng(0)
    for step, value in enumerate(rng.random(100_000), start=1):
        history.add(step, step, float(value), float(value), 1)
    assert len(history) <= history.capacity == 4096
    assert len(history.curve()) <= 4096


def test_history_merging_keeps_weighted_means():
    rng = np.random.default_rng(1)
    n = 100_000
    losses = rng.random(n) * 3
    accuracies = rng.random(n)
    weights = rng.integers(1, 200, size=n).astype(float)
    history = MetricHistory(capacity=128)
    for i in range(n):
        history.add(i + 1, i + 1, float(losses[i]), float(accuracies[i]), float(weights[i]))
    curve = history.curve()
    last = int(curve.step[-1])  # complete buckets cover steps 1..last
    covered_weights = history.state()["data"][4]
    assert len(covered_weights) == len(curve)
    np.testing.assert_allclose(covered_weights.sum(), weights[:last].sum(), rtol=1e-12)
    expected_loss = np.average(losses[:last], weights=weights[:last])
    expected_acc = np.average(accuracies[:last], weights=weights[:last])
    assert np.average(curve.loss, weights=covered_weights) == pytest.approx(expected_loss, rel=1e-10)
    assert np.average(curve.accuracy, weights=covered_weights) == pytest.approx(expected_acc, rel=1e-10)
    # Each point is the weighted mean of exactly the steps it covers: (previous point's step, its step].
    bounds = np.concatenate([[0], curve.step.astype(int)])
    for k in range(len(curve)):
        lo, hi = bounds[k], bounds[k + 1]
        assert curve.loss[k] == pytest.approx(np.average(losses[lo:hi], weights=weights[lo:hi]), rel=1e-10)


def test_history_points_with_equal_weights_are_plain_means():
    history = MetricHistory(capacity=8)
    for step in range(1, 1001):
        history.add(step, step, float(step), 0.0, 1)  # loss = step number
    curve = history.curve()
    bounds = np.concatenate([[0], curve.step])
    np.testing.assert_allclose(curve.loss, (bounds[:-1] + 1 + bounds[1:]) / 2)
    assert 4 <= len(curve) <= 8 and bounds[-1] > 1000 - 256


def test_history_state_round_trip():
    a = MetricHistory(capacity=16)
    for step in range(1, 100):
        a.add(step, step, step * 0.5, 0.1, 2)
    b = MetricHistory(capacity=16)
    b.load_state(a.state())
    for step in range(100, 300):
        a.add(step, step, step * 0.5, 0.1, 2)
        b.add(step, step, step * 0.5, 0.1, 2)
    for x, y in zip(curve_arrays(a.curve()), curve_arrays(b.curve())):
        np.testing.assert_array_equal(x, y)


def test_history_capacity_must_be_even():
    with pytest.raises(ValueError):
        MetricHistory(capacity=7)
    with pytest.raises(ValueError):
        MetricHistory(capacity=2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mini_batches_are_exactly_the_shuffled_training_rows(small_mnist, dtype):
    """Batches are gathered from the uint8 pixels of the active inputs and scaled on the fly;
    they must equal those columns of train_x (and the labels those of train_Y) bit for bit, for
    the epoch's next rows, sorted by extent and cut after the last column any of them inks."""
    trainer = Trainer(small_mnist, dataclasses.replace(MINI, batch_size=64, dtype=dtype))
    layout = trainer.net.storage.layout
    assert layout is not None  # MNIST's border pixels are zero in every training image
    active = layout.order[:layout.n_active]
    assert not small_mnist.train_x[:, layout.order[layout.n_active:]].any()
    counts = np.count_nonzero(small_mnist.train_x[:, active], axis=0)
    assert (np.diff(counts) <= 0).all()  # most often inked first
    seen, widths = [], []
    for _ in range(3):
        x, Y, labels, extents = trainer._next_batch()
        idx = trainer.order[trainer.position - len(x):trainer.position]
        idx = idx[np.argsort(trainer._batches.extents[idx], kind="stable")]
        rows = trainer.train_x[idx][:, active]
        assert x.dtype == np.dtype(dtype) and x.shape == (64, extents[-1]) and (np.diff(extents) >= 0).all()
        np.testing.assert_array_equal(x, rows[:, :x.shape[1]])
        assert not rows[:, x.shape[1]:].any()
        for row, extent in zip(rows, extents):
            assert (extent == 0 or row[extent - 1] != 0) and not row[extent:].any()
        np.testing.assert_array_equal(Y, trainer.train_Y[idx])
        np.testing.assert_array_equal(labels, trainer.train_y[idx])
        seen.extend(idx)
        widths.append(x.shape[1])
    assert len(set(seen)) == len(seen)  # one epoch's permutation: no row twice
    assert min(widths) < layout.n_active  # the cut saves something on real digits


@pytest.mark.parametrize("l2", [0.0, 1e-3])
def test_compact_first_layer_computes_what_a_plain_network_computes(small_mnist, l2):
    """A trainer's network keeps its first layer input-major with the active inputs first;
    from compact rows or full rows, its loss and (public) gradients are a plain network's."""
    trainer = Trainer(small_mnist, dataclasses.replace(FULL, dtype="float64", activation="tanh"))
    net, layout = trainer.net, trainer.net.storage.layout
    assert layout is not None and net.storage.params[0].shape == (784, 20) and net.params[0].shape == (20, 784)
    plain = Network(net.layer_sizes, "tanh", net.params, "float64")
    assert plain.storage.layout is None
    idx = np.arange(50, 250)
    x, Y, labels = trainer.train_x[idx], trainer.train_Y[idx], trainer.train_y[idx]
    compact = np.ascontiguousarray(x[:, layout.order[:layout.n_active]])
    # The whole (long, read-only) set first: with L2 it leaves nonzero gradients in the rows of
    # the inactive inputs, which a compact batch must then overwrite, not add to.
    batches = ((trainer.train_x, trainer.train_x, trainer.train_Y, trainer.train_y),
               (compact, x, Y, labels), (x, x, Y, labels))
    for rows, full_rows, targets, classes in batches:
        expected_loss, expected_correct = plain.loss_and_gradients(full_rows, targets, classes, l2)
        loss, correct = net.loss_and_gradients(rows, targets, classes, l2)
        assert loss == pytest.approx(expected_loss, rel=1e-12) and correct == expected_correct
        for g, g_plain in zip(net.grads, plain.grads):
            np.testing.assert_allclose(g, g_plain, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(net.predict_proba(x), plain.predict_proba(x), rtol=1e-12)
    np.testing.assert_array_equal(net.first_layer_weights(), plain.params[0])
    np.testing.assert_array_equal(net.first_layer_weights(np.array([3, 0])), plain.params[0][[3, 0]])
    np.testing.assert_array_equal(plain.first_layer_weights(np.array([3, 0])), plain.params[0][[3, 0]])


@pytest.mark.parametrize("direct_blas", [True, False])
@pytest.mark.parametrize("l2", [0.0, 1e-3])
def test_momentum_steps_on_cut_batches_equal_plain_steps(small_mnist, monkeypatch, l2, direct_blas):
    """The trainer's mini-batch step: compact rows sorted by extent and cut (so the first layer
    multiplies in two blocks of rows), with momentum applied inside backprop's products. A few
    such steps must leave the weights and velocities of plain steps on full rows."""
    import nn.fast.fused as fused
    from nn.fast.row_blocks import row_blocks

    if not direct_blas:
        monkeypatch.setattr(fused, "gemm_accumulate", lambda *args: False)
    config = dataclasses.replace(MINI, dtype="float64", activation="tanh", optimizer="momentum", batch_size=96,
                                 lr=0.1, momentum=0.9, l2=l2)
    trainer = Trainer(small_mnist, config)
    net, layout = trainer.net, trainer.net.storage.layout
    plain = Network(net.layer_sizes, "tanh", net.params, "float64")
    plain_momentum = make_optimizer("momentum", plain.storage.params, 0.1, 0.9)
    blocks = []
    for _ in range(4):
        x, Y, labels, extents = trainer._next_batch()
        blocks.append(row_blocks(x.shape[1], extents))
        idx = trainer.order[trainer.position - len(x):trainer.position]
        idx = idx[np.argsort(trainer._batches.extents[idx], kind="stable")]
        target = trainer.optimizer.gradient_target(net.storage.params)
        loss, correct = net.loss_and_gradients(x, Y, labels, l2, target=target, extents=extents)
        trainer.optimizer.finish_step(net.storage.params)
        expected_loss, expected_correct = plain.loss_and_gradients(trainer.train_x[idx], Y, labels, l2)
        plain_momentum.step(plain.storage.params, plain.storage.grads)
        assert loss == pytest.approx(expected_loss, rel=1e-12) and correct == expected_correct
    assert any(len(b) == 2 for b in blocks)  # the staircase was taken
    for p, p_plain in zip(net.params, plain.params):
        np.testing.assert_allclose(p, p_plain, rtol=1e-10, atol=1e-14)
    for i, (v, v_plain) in enumerate(zip(trainer.optimizer.velocities, plain_momentum.velocities)):
        np.testing.assert_allclose(net.to_public(i, v), v_plain, rtol=1e-10, atol=1e-14)
    assert layout is not None


def test_data_without_all_zero_inputs_trains_in_the_plain_layout(small_mnist):
    """When no input is zero throughout (here: the first image is made all ink), the network
    keeps the tutorial's layout and batches hold every column, still equal to train_x's rows."""
    images = small_mnist.train_images.copy()
    images[0] = 255
    flat = images.reshape(len(images), -1)
    train_x = np.divide(flat, np.float32(255), dtype=np.float32)
    train_x.flags.writeable = False
    data = dataclasses.replace(small_mnist, train_images=images, _train_x=train_x, _by_dtype={}, _active=[])
    trainer = Trainer(data, dataclasses.replace(MINI, batch_size=64, iterations=20))
    assert trainer.net.storage.layout is None and trainer.net.params[0].shape == (32, 784)
    x, _, _, extents = trainer._next_batch()
    assert extents is None
    idx = trainer.order[:64]
    np.testing.assert_array_equal(x, train_x[idx])
    trainer.run()
    assert trainer.step_count == 20 and trainer.can_step


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_evaluating_in_the_order_of_ink_equals_a_plain_evaluation(small_mnist, dtype):
    """Whole-split evaluations go through the network sorted by extent, in blocks cut to their
    rows' ink; they must give a plain evaluation's loss, accuracy and outputs, in the split's own
    order, also for a test image inked where no training image is (past the active inputs)."""
    images = small_mnist.test_images.copy()
    images[3, 0, 0] = 200  # the corner pixel: zero in every training image
    test_x = np.divide(images.reshape(len(images), -1), np.float32(255), dtype=np.float32)
    test_x.flags.writeable = False
    data = dataclasses.replace(small_mnist, test_images=images, test_x=test_x, _by_dtype={}, _active=[])
    trainer = Trainer(data, dataclasses.replace(MINI, dtype=dtype, iterations=30))
    trainer.run()
    layout = trainer.net.storage.layout
    assert layout is not None
    pixels, by_extent, extents = trainer._ink_sorted_rows("test")
    assert extents[3] > layout.n_active and (np.diff(extents[by_extent]) >= 0).all()
    plain = Network(trainer.net.layer_sizes, "relu", trainer.net.params, dtype)
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    for split, x, labels in (("test", trainer.test_x, trainer.test_y), ("train", trainer.train_x, trainer.train_y)):
        loss, accuracy, probs = trainer._evaluate_split(split)
        expected_loss, expected_accuracy, expected_probs = plain.evaluate(x, labels)
        assert probs.dtype == np.dtype(dtype)
        assert loss == pytest.approx(expected_loss, rel=tolerance) and accuracy == expected_accuracy
        np.testing.assert_allclose(probs, expected_probs, rtol=tolerance, atol=tolerance * 1e-2)
    evaluation = trainer.evaluate_test()
    np.testing.assert_allclose(evaluation.probs, plain.predict_proba(trainer.test_x), rtol=tolerance,
                               atol=tolerance * 1e-2)


@pytest.mark.parametrize("batch_size", [None, 50], ids=["full batch", "mini-batch"])
def test_one_trainer_step_is_one_reference_gradient_step(small_mnist, batch_size):
    """One step of the trainer (fast network, stored layout, update inside backprop) moves the
    parameters exactly as p - lr * nn.reference.backward(...) on the same batch does."""
    from nn import reference

    config = TrainConfig(hidden=(16, 12), activation="sigmoid", optimizer="sgd", lr=0.3,
                         batch_size=batch_size, iterations=3, seed=5, dtype="float64")
    trainer = Trainer(small_mnist, config)
    before = [p.copy() for p in trainer.net.params]
    trainer.step()
    if batch_size is None:
        idx = np.arange(len(trainer.train_y))
    else:
        idx = trainer.order[:batch_size]
    x, Y = trainer.train_x[idx].astype(np.float64), trainer.train_Y[idx].astype(np.float64)
    P, cache = reference.forward(before, x, "sigmoid")
    expected = [p - 0.3 * g for p, g in zip(before, reference.backward(before, cache, Y, "sigmoid"))]
    for k, (got, want) in enumerate(zip(trainer.net.params, expected)):
        step = np.abs(want - before[k]).max()
        assert step > 0
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * step, err_msg=f"parameter {k}")


def test_the_test_curve_has_points_at_geometric_steps_early_in_a_run(small_mnist):
    """Learning is fastest in the first steps: test evaluations come after steps 1, 2, 3, 4, 6,
    8, ... (whatever the time budget says), and later ones still follow the budget."""
    from nn.trainer import EARLY_EVALUATION_STEPS

    trainer = Trainer(small_mnist, dataclasses.replace(MINI, batch_size=10, iterations=600))
    trainer.run(max_steps=300)
    steps = set(trainer.test_history.curve().step.astype(int))
    early = {s for s in EARLY_EVALUATION_STEPS if s <= 300}
    assert early == {1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64}
    assert early <= steps
    assert min(steps) == 1  # the first step's effect is on the curve
    trainer.run()
    assert 600 in set(trainer.test_history.curve().step.astype(int))  # the end of a run, always
    assert trainer.snapshot().test.step == 600


def test_without_dropout_or_augmentation_the_random_stream_only_shuffles(small_mnist):
    """Dropout 0 and no augmentation draw nothing: the data order, and so the run, is the one
    every earlier version of the trainer made."""
    trainer = Trainer(small_mnist, dataclasses.replace(MINI, batch_size=100, iterations=25))
    trainer.run()
    epochs = -(-25 * 100 // trainer.n_train)  # the permutations drawn so far
    shuffler = np.random.default_rng(MINI.seed)
    for _ in range(epochs):
        shuffler.permutation(trainer.n_train)
    assert trainer.rng.bit_generator.state == shuffler.bit_generator.state


def test_dropout_masks_go_into_the_step_and_stay_out_of_evaluations(small_mnist):
    config = dataclasses.replace(MINI, hidden=(24, 16), dtype="float64", optimizer="sgd", lr=0.1,
                                 batch_size=40, iterations=5, dropout=0.25)
    trainer = Trainer(small_mnist, config)
    twin = Trainer(small_mnist, config)
    twin.rng = np.random.default_rng(config.seed)
    x, Y, labels, extents = twin._next_batch()
    masks = twin._dropout_masks(len(x))
    assert [m.shape for m in masks] == [(40, 24), (40, 16)]
    kept = np.concatenate([m.reshape(-1) for m in masks])
    assert set(np.unique(kept)) == {0.0, 1 / 0.75} and 0.65 < np.mean(kept > 0) < 0.85
    before = [p.copy() for p in twin.net.params]
    twin.net.loss_and_gradients(x, Y, labels, extents=extents, dropout=masks)
    expected = [p - 0.1 * g for p, g in zip(before, twin.net.grads)]
    trainer.step()
    for got, want in zip(trainer.net.params, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    loss, accuracy, _ = trainer.net.evaluate(trainer.test_x, trainer.test_y)
    evaluation = trainer.evaluate_test()
    assert evaluation.accuracy == accuracy and evaluation.loss == pytest.approx(loss, rel=1e-9)


def test_augmented_batches_move_the_training_images_only(small_mnist):
    config = dataclasses.replace(MINI, batch_size=64, iterations=120, augment_shift=2, augment_rotation=10,
                                 augment_noise=0.05)
    trainer = Trainer(small_mnist, config)
    x, Y, labels, extents = trainer._next_batch()
    idx = trainer.order[:64]
    assert extents is None and x.shape == (64, 784)
    np.testing.assert_array_equal(labels, trainer.train_y[idx])
    np.testing.assert_array_equal(Y, trainer.train_Y[idx])
    assert not np.allclose(x, trainer.train_x[idx], atol=0.05)  # moved and noised
    assert x.min() >= 0 and x.max() <= 1
    trainer.run()
    assert trainer.evaluate_test().accuracy > 0.6  # it still learns
    assert trainer.test_x is small_mnist.arrays("float32")[2]  # the test data is never touched


def test_dropout_and_augmentation_change_live_and_are_recorded(small_mnist):
    trainer = Trainer(small_mnist, dataclasses.replace(MINI, iterations=10))
    trainer.set_dropout(0.3)
    trainer.set_augmentation(2, 0, 0.1)
    assert [e.text for e in trainer.events] == ["dropout 0 -> 0.3", "shift 0 -> 2", "noise 0 -> 0.1"]
    assert trainer.config.dropout == 0.3 and trainer.config.augmented
    with pytest.raises(ConfigError):
        trainer.set_dropout(0.95)
    with pytest.raises(ConfigError):
        trainer.set_augmentation(9, 0, 0)
    full = Trainer(small_mnist, dataclasses.replace(FULL, iterations=3))
    with pytest.raises(ConfigError, match="mini-batches"):
        full.set_augmentation(1, 0, 0)
    trainer.run()
    assert trainer.step_count == 10


@pytest.mark.parametrize("n_classes", [1, 3, 10, 1000])
def test_class_sums_equal_summing_row_by_row(n_classes):
    """Each class's row is the float64 sum of its rows, for any labels (classes missing, in any
    order, one class, many)."""
    from nn.trainer import class_sums

    rng = np.random.default_rng(n_classes)
    labels = rng.integers(0, max(1, n_classes // 2 + 1), size=500)  # some classes never appear
    probs = rng.random((500, n_classes)).astype(np.float32)
    expected = np.zeros((n_classes, n_classes))
    np.add.at(expected, labels, probs)
    np.testing.assert_allclose(class_sums(probs, labels, n_classes), expected, rtol=1e-12, atol=0)
    assert class_sums(probs[:0], labels[:0], n_classes).shape == (n_classes, n_classes)
