"""Looking inside: drawing preprocessing, gradient norms, dead/saturated units, PCA map."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nn.config import TrainConfig
from nn.inspection import inactive_fractions
from nn.preprocess import centre_of_mass, mnist_style
from nn.trainer import Trainer


def stroke_image(size=280):
    """A thick off-centre diagonal stroke on a big canvas, like a quick '/' drawn with a mouse."""
    image = np.zeros((size, size))
    for t in np.linspace(0, 1, 400):
        y, x = int(40 + 120 * t), int(200 - 60 * t)
        image[max(0, y - 8): y + 8, max(0, x - 8): x + 8] = 1.0
    return image


def test_drawing_becomes_an_mnist_like_input():
    digit = mnist_style(stroke_image())
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert 0 <= digit.min() and digit.max() <= 1
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5
    ys, xs = np.nonzero(digit > 0)
    assert ys.max() - ys.min() + 1 <= 20 and xs.max() - xs.min() + 1 <= 20
    assert max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) >= 19  # the longer side fills the box
    assert np.count_nonzero((digit > 0) & (digit < 1)) > 0  # anti-aliased edges
    assert not mnist_style(np.zeros((50, 50))).any()


def test_a_clearly_drawn_one_is_read_as_one(mnist):
    trainer = Trainer(mnist, TrainConfig(hidden=(64,), activation="relu", optimizer="adam", lr=0.002,
                                         batch_size=128, epochs=1.0, iterations=None, seed=1))
    trainer.run()
    canvas = np.zeros((280, 280))
    canvas[40:240, 132:150] = 1.0  # a plain vertical bar, as a person draws "1"
    digit = mnist_style(canvas)
    trainer.set_drawn_input(digit)
    snap = trainer.snapshot()
    assert snap.drawn.probs.argmax() == 1


@pytest.fixture
def trained(small_mnist):
    trainer = Trainer(small_mnist, TrainConfig(hidden=(32, 16), activation="relu", optimizer="sgd", lr=0.1,
                                               batch_size=50, epochs=None, iterations=64, seed=2))
    trainer.set_probes([0])
    trainer.run()
    return trainer


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_gradient_norms_in_snapshots_equal_the_trainers_gradients(small_mnist, optimizer):
    """Update ratios come from the optimiser's own update where it keeps one (SGD, momentum)
    and from copies of the weights otherwise (Adam): all must equal the measured change."""
    trainer = Trainer(small_mnist, TrainConfig(hidden=(20,), activation="tanh", optimizer=optimizer, lr=0.01,
                                               batch_size=None, iterations=5, seed=3))
    for _ in range(3):
        params_before = [p.copy() for p in trainer.net.params]
        # The trainer's own gradients at this point, computed directly.
        trainer.net.loss_and_gradients(trainer.train_x, trainer.train_Y, trainer.train_y)
        expected = [math.sqrt(float(np.sum(trainer.net.grads[2 * i].astype(np.float64) ** 2))
                              + float(np.sum(trainer.net.grads[2 * i + 1].astype(np.float64) ** 2)))
                    for i in range(2)]
        for p, p0 in zip(trainer.net.params, params_before):
            np.testing.assert_array_equal(p, p0)
        trainer.step()
        stats = trainer.snapshot().learning
        np.testing.assert_allclose(stats.gradient_norms[-1], expected, rtol=1e-4)
        w_after = trainer.net.weights
        ratios = [np.linalg.norm(w - w0) / np.linalg.norm(w) for w, w0 in zip(w_after, params_before[0::2])]
        np.testing.assert_allclose(stats.update_ratios[-1], ratios, rtol=1e-4)


def test_dead_and_saturated_fractions_match_an_independent_count(trained, small_mnist):
    trained.evaluate_test()
    x = small_mnist.test_x[:500]
    a1 = np.maximum(x @ trained.net.first_layer_weights().T + trained.net.biases[0], 0)
    a2 = np.maximum(a1 @ trained.net.weights[1].T + trained.net.biases[1], 0)
    expected = [np.mean(~(a > 0).any(axis=0)) for a in (a1, a2)]
    np.testing.assert_allclose(inactive_fractions(trained.net, x), expected)
    assert trained.snapshot().learning.inactive_label.startswith("dead")
    sigmoid = Trainer(small_mnist, TrainConfig(hidden=(12,), activation="sigmoid", iterations=3))
    params = sigmoid.net.params
    sigmoid.net.load_params([params[0] * 40, *params[1:]])  # push most units into saturation
    a = 1 / (1 + np.exp(-(x @ sigmoid.net.first_layer_weights().T + sigmoid.net.biases[0])))
    expected = np.mean((a < 0.02) | (a > 0.98))
    assert expected > 0.3
    np.testing.assert_allclose(inactive_fractions(sigmoid.net, x), [expected], rtol=1e-6)


def test_histograms_and_probe_detail(trained, small_mnist):
    snap = trained.snapshot()
    for hist, w, w0 in zip(snap.learning.histograms, trained.net.weights, trained.initial_weights):
        assert hist.counts.sum() == w.size and hist.initial_counts.sum() == w0.size
    detail = snap.probe_detail
    np.testing.assert_allclose(detail.probs, trained.net.predict_proba(small_mnist.test_x[[0]])[0], rtol=1e-6)
    unit = detail.top_units[0]
    assert detail.hidden[0][unit] == detail.hidden[0].max()
    np.testing.assert_allclose(detail.contributions[0], small_mnist.test_x[0] * trained.net.first_layer_weights()[unit])


def test_pca_map_is_fixed_sample_with_predictions(trained, small_mnist):
    first = trained.compute_map()
    trained.run(max_steps=5)
    second = trained.compute_map()
    np.testing.assert_array_equal(first.indices, second.indices)
    assert first.coords.shape == (len(first.indices), 2)
    probs = trained.net.predict_proba(small_mnist.test_x[second.indices])
    np.testing.assert_array_equal(second.predictions, probs.argmax(1))
    np.testing.assert_array_equal(second.labels, small_mnist.test_y[second.indices])
    assert trained.snapshot().activation_map is second


def test_drawn_pins_are_tracked_and_limited(trained, small_mnist):
    trained.evaluate_test()
    trained.pin_drawn(small_mnist.test_x[4], int(small_mnist.test_y[4]))
    trained.set_run_length(iterations=100)
    assert trained.run(max_steps=3) == 3
    trained.evaluate_test()
    pin = trained.snapshot().pins[-1]
    assert pin.index == -1 and pin.image is not None and len(pin.samples) == 2
    expected = trained.net.predict_proba(small_mnist.test_x[[4]])[0, small_mnist.test_y[4]]
    assert abs(pin.true_class_prob[-1] - expected) < 1e-6
    trained.set_pins(range(7))
    with pytest.raises(Exception, match="at most 8"):
        trained.pin_drawn(small_mnist.test_x[5], 1)
    trained.unpin_drawn(-1)
    assert all(p.index >= 0 for p in trained.snapshot().pins)


@pytest.mark.parametrize("n_classes", [2, 10, 47])
def test_confusion_counts_equal_scikit_learn(n_classes):
    from sklearn.metrics import confusion_matrix

    from nn.inspection import confusion_counts

    rng = np.random.default_rng(n_classes)
    labels = rng.integers(0, n_classes, size=3000)
    predictions = np.where(rng.random(3000) < 0.7, labels, rng.integers(0, n_classes, size=3000))
    expected = confusion_matrix(labels, predictions, labels=list(range(n_classes)))
    np.testing.assert_array_equal(confusion_counts(labels, predictions, n_classes), expected)
    # a class that never occurs has an empty row and column; out-of-range values are left out
    np.testing.assert_array_equal(confusion_counts(np.array([0, 0, 5]), np.array([1, 9, 0]), 3),
                                  [[0, 1, 0], [0, 0, 0], [0, 0, 0]])
