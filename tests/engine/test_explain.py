"""nn.explain: one digit's forward and backward pass, number by number, and the tools built on it."""

from __future__ import annotations

import numpy as np
import pytest

from nn.config import TrainConfig
from nn.explain import digit_math, gradient_check, input_gradient, nudge, one_step, softmax_at_temperature
from nn.trainer import Trainer


@pytest.fixture(scope="module")
def trained(small_mnist):
    trainer = Trainer(small_mnist, TrainConfig(hidden=(24, 16), activation="tanh", optimizer="adam", lr=0.01,
                                               batch_size=50, iterations=60, seed=2))
    trainer.run()
    return trainer


def _independent_pass(params, x, label):
    """The tanh network written out once more, by hand, with every intermediate kept."""
    W1, b1, W2, b2, W3, b3 = [np.asarray(p, np.float64) for p in params]
    z1 = W1 @ x + b1
    a1 = np.tanh(z1)
    z2 = W2 @ a1 + b2
    a2 = np.tanh(z2)
    z3 = W3 @ a2 + b3
    p = np.exp(z3 - z3.max()) / np.exp(z3 - z3.max()).sum()
    y = np.eye(len(p))[label]
    dz3 = p - y
    da2 = W3.T @ dz3
    dz2 = da2 * (1 - a2 ** 2)
    da1 = W2.T @ dz2
    dz1 = da1 * (1 - a1 ** 2)
    return dict(a2=a2, z3=z3, p=p, dz3=dz3, dW3=np.outer(dz3, a2), da=(da1, da2), dz=(dz1, dz2), dx=W1.T @ dz1)


def test_digit_math_equals_the_live_network_and_an_independent_pass(trained, small_mnist):
    net = trained.net
    for index in (0, 7, 31):
        x, label = small_mnist.test_x[index], int(small_mnist.test_y[index])
        math = digit_math(net.params, "tanh", x, label)
        expected = _independent_pass(net.params, x.astype(np.float64), label)
        # the live (float32) network's own outputs
        np.testing.assert_allclose(math.hidden, net.hidden_activations(x[None])[-1][0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(math.probabilities, net.predict_proba(x[None])[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(math.logits, expected["z3"], rtol=1e-12)
        np.testing.assert_allclose(math.shifted, math.logits - math.logits.max())
        np.testing.assert_allclose(math.exps, np.exp(math.shifted))
        assert math.exp_sum == pytest.approx(math.exps.sum())
        np.testing.assert_allclose(math.probabilities, math.exps / math.exp_sum, rtol=1e-12)
        np.testing.assert_allclose(math.probabilities, expected["p"], rtol=1e-10)
        assert math.loss == pytest.approx(-np.log(expected["p"][label]), rel=1e-10)
        np.testing.assert_allclose(math.dL_dz, expected["dz3"], atol=1e-12)
        np.testing.assert_allclose(math.dL_dW, expected["dW3"], atol=1e-12)
        np.testing.assert_allclose(math.update(0.1), -0.1 * expected["dW3"], atol=1e-12)
        for got, want in zip(math.hidden_dL_da + math.hidden_dL_dz, expected["da"] + expected["dz"]):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
        assert math.label == label and math.predicted == int(np.argmax(expected["p"]))


def test_temperature_sharpens_and_flattens_only_the_display(trained, small_mnist):
    math = digit_math(trained.net.params, "tanh", small_mnist.test_x[3], int(small_mnist.test_y[3]))
    np.testing.assert_allclose(softmax_at_temperature(math.logits, 1.0), math.probabilities, rtol=1e-12)
    hot, cold = softmax_at_temperature(math.logits, 5.0), softmax_at_temperature(math.logits, 0.2)
    top = int(np.argmax(math.probabilities))
    assert cold[top] > math.probabilities[top] > hot[top]
    assert np.isclose(hot.sum(), 1) and np.isclose(cold.sum(), 1)
    with pytest.raises(ValueError):
        softmax_at_temperature(math.logits, 0.0)


def test_one_step_moves_probability_toward_the_true_class_on_a_copy(trained, small_mnist):
    before_params = [p.copy() for p in trained.net.params]
    x, label = small_mnist.test_x[5], int(small_mnist.test_y[5])
    before, after = one_step(trained.net.params, "tanh", x, label, lr=0.5)
    assert after[label] > before[label]
    np.testing.assert_allclose(before, trained.net.predict_proba(x[None])[0], rtol=1e-4, atol=1e-6)
    for p, p0 in zip(trained.net.params, before_params):
        np.testing.assert_array_equal(p, p0)


def test_input_gradient_matches_finite_differences(trained, small_mnist):
    params = [np.asarray(p, np.float64) for p in trained.net.params]
    x = small_mnist.test_x[9].astype(np.float64)
    target = 7
    gradient = input_gradient(params, "tanh", x, target)
    expected = -_independent_pass(params, x, target)["dx"]
    np.testing.assert_allclose(gradient, expected, rtol=1e-9, atol=1e-12)

    def log_p(image):
        return np.log(_independent_pass(params, image, target)["p"][target])

    eps = 1e-6
    for pixel in np.argsort(np.abs(gradient))[-5:]:
        bumped_up, bumped_down = x.copy(), x.copy()
        bumped_up[pixel] += eps
        bumped_down[pixel] -= eps
        numeric = (log_p(bumped_up) - log_p(bumped_down)) / (2 * eps)
        assert numeric == pytest.approx(gradient[pixel], rel=1e-5)


def test_a_nudge_makes_the_target_more_likely(trained, small_mnist):
    index = int(np.flatnonzero(small_mnist.test_y != 7)[0])
    result = nudge(trained.net.params, "tanh", small_mnist.test_x[index], target=7, steps=10, step_size=0.1)
    p7 = [p[7] for p in result.probabilities]
    assert p7[-1] > p7[0]
    assert len(result.images) == len(result.probabilities) == 11
    assert all(((0 <= im) & (im <= 1)).all() for im in result.images)
    assert result.change > 0 and len(result.predictions) == 11


def test_gradient_check_passes_for_the_engine_and_catches_a_wrong_gradient(trained, small_mnist, monkeypatch):
    x, labels = small_mnist.test_x[:20], small_mnist.test_y[:20]
    read_only = [np.asarray(p, np.float64) for p in trained.net.params]
    for p in read_only:
        p.flags.writeable = False  # the check works on its own copy
    check = gradient_check(read_only, "tanh", x, labels)
    assert check.layers == ("W1", "W2", "W3") and check.passed, check.relative_errors
    import nn.network

    original = nn.network.Network.grads
    monkeypatch.setattr(nn.network.Network, "grads",
                        property(lambda self: [g * 1.01 if k == 2 else g for k, g in enumerate(original.fget(self))]))
    broken = gradient_check(trained.net.params, "tanh", x, labels)
    assert not broken.passed and broken.relative_errors[1] > 1e-3
    assert broken.relative_errors[0] < 1e-5
