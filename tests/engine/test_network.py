"""The network's math: the fast network against nn.reference, gradients against finite
differences, softmax/cross-entropy, dtypes, initialisation, optimisers, the speed machinery."""

from __future__ import annotations

import numpy as np
import pytest

from nn import reference
from nn.activations import softmax_inplace
from nn.fast.fused import GradientTarget
from nn.network import Network, initial_parameters
from nn.optimizers import OPTIMIZERS, make_optimizer

N_SAMPLES, N_FEATURES, N_CLASSES = 20, 12, 4
FD_EPS = 1e-6


def make_problem(seed: int, n: int = N_SAMPLES, features: int = N_FEATURES, classes: int = N_CLASSES,
                 dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(dtype)
    labels = rng.integers(0, classes, size=n)
    labels[:classes] = np.arange(classes)  # every class present
    Y = np.eye(classes, dtype=dtype)[labels]
    return x, Y, labels


def random_network(hidden, activation, seed, dtype="float64", scale=1.0):
    """A network with random weights *and biases* (zero biases would hide bias-gradient bugs)."""
    sizes = (N_FEATURES, *hidden, N_CLASSES)
    rng = np.random.default_rng(1000 + seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(rng.normal(size=(fan_out, fan_in)) * scale / np.sqrt(fan_in))
        params.append(rng.normal(size=fan_out) * 0.5)
    return Network(sizes, activation, [p.astype(dtype) for p in params], dtype)


# -- the reference, and a gradient check of it -------------------------------------------------

def reference_loss(params, activation, x, Y, l2=0.0):
    P, _ = reference.forward(params, x, activation)
    return reference.cross_entropy(P, Y) + 0.5 * l2 * sum(float(np.sum(w * w)) for w in params[0::2])


def reference_gradients(params, activation, x, Y, l2=0.0):
    P, cache = reference.forward(params, x, activation)
    grads = reference.backward(params, cache, Y, activation)
    for k in range(0, len(params), 2):
        grads[k] = grads[k] + l2 * params[k]
    return grads


def numerical_gradients(params, activation, x, Y, l2):
    """Central differences of the reference loss, one parameter at a time."""
    params = [p.copy() for p in params]
    grads = []
    for p in params:
        g = np.zeros_like(p)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + FD_EPS
            plus = reference_loss(params, activation, x, Y, l2)
            flat[j] = original - FD_EPS
            minus = reference_loss(params, activation, x, Y, l2)
            flat[j] = original
            gflat[j] = (plus - minus) / (2 * FD_EPS)
        grads.append(g)
    return grads


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denominator) if denominator else 0.0


HIDDEN_CASES = [(), (7,), (7, 5)]


@pytest.mark.parametrize("l2", [0.0, 0.05], ids=["no-l2", "l2"])
@pytest.mark.parametrize("hidden", HIDDEN_CASES, ids=["0-hidden", "1-hidden", "2-hidden"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_gradients_match_finite_differences(activation, hidden, l2):
    """The reference's backward pass and the network's both equal central differences."""
    x, Y, labels = make_problem(seed=3)
    net = random_network(hidden, activation, seed=len(hidden))
    params = [p.copy() for p in net.params]
    _, (inputs, _) = reference.forward(params, x, activation)
    if activation == "relu":
        # Central differences straddling the kink at 0 would be meaningless; the seed avoids them.
        pre = [a @ w.T + b for a, w, b in zip(inputs[:-1], params[0::2], params[1::2])]
        closest = min((float(np.abs(z).min()) for z in pre), default=np.inf)
        assert closest > 100 * FD_EPS, f"seed puts a pre-activation at {closest} from the ReLU kink"
        # ... and the check must exercise both sides of the kink.
        assert all((z > 0).any() and (z < 0).any() for z in pre)

    loss, correct = net.loss_and_gradients(x, Y, labels, l2)
    analytic = [g.copy() for g in net.grads]
    assert loss == pytest.approx(reference_loss(params, activation, x, Y, l2), rel=1e-12)
    P, _ = reference.forward(params, x, activation)
    assert correct == int(np.count_nonzero(P.argmax(axis=1) == labels))

    numeric = numerical_gradients(params, activation, x, Y, l2)
    for i, (a, r, n) in enumerate(zip(analytic, reference_gradients(params, activation, x, Y, l2), numeric)):
        assert np.abs(a).max() > 1e-6, f"gradient {i} is all zero; the check would prove nothing"
        assert relative_error(r, n) < 1e-6, f"reference param {i} ({r.shape}): {relative_error(r, n):.2e}"
        assert relative_error(a, n) < 1e-6, f"network param {i} ({a.shape}): {relative_error(a, n):.2e}"


def test_gradient_check_is_sensitive():
    """The check above can fail: gradients off by 0.1 % in one layer, or of a different
    activation's derivative, are far beyond its tolerance."""
    x, Y, labels = make_problem(seed=3)
    net = random_network((7,), "tanh", seed=1)
    net.loss_and_gradients(x, Y, labels)
    analytic = [g.copy() for g in net.grads]
    numeric = numerical_gradients(net.params, "tanh", x, Y, 0.0)
    assert max(relative_error(a, n) for a, n in zip(analytic, numeric)) < 1e-6
    assert relative_error(analytic[0] * 1.001, numeric[0]) > 1e-4
    wrong = random_network((7,), "sigmoid", seed=1)  # same weights, another activation
    wrong.loss_and_gradients(x, Y, labels)
    assert relative_error(wrong.grads[0], numeric[0]) > 1e-2


# -- the fast network is the reference's math --------------------------------------------------

def _relative_close(fast, ref, what):
    scale = max(float(np.abs(ref).max()), 1e-12)
    err = float(np.abs(np.asarray(fast, np.float64) - ref).max()) / scale
    assert err < 1e-6, f"{what}: relative difference {err:.2e}"


@pytest.mark.parametrize("batch", ["mini-batch", "full batch"])
@pytest.mark.parametrize("hidden", HIDDEN_CASES, ids=["0-hidden", "1-hidden", "2-hidden"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_network_equals_the_reference(activation, hidden, batch):
    """Loss, outputs and every gradient of the network equal nn.reference's, on mini-batches and on
    a long read-only batch (which takes the column split), with and without the input layout
    of a trainer's network (inputs zero in every sample stored last)."""
    rng = np.random.default_rng(len(hidden) + 10)
    n, features = (64, 30) if batch == "mini-batch" else (2000, 30)
    x = rng.random((n, features)) * (rng.random((n, features)) < 0.4)  # sparse, like ink
    x[:, :5] = 0.0  # never nonzero: the stored layout puts these inputs last
    x[:, 5:12] *= rng.random((n, 7)) < 0.03  # rarely nonzero: the sparse part of a split
    x[np.arange(features) >= rng.integers(features // 3, features + 1, size=(n, 1))] = 0  # ragged ends
    labels = rng.integers(0, N_CLASSES, size=n)
    labels[:N_CLASSES] = np.arange(N_CLASSES)
    Y = np.eye(N_CLASSES)[labels]
    sizes = (features, *hidden, N_CLASSES)
    params = [p + 0.1 * (k % 2) for k, p in enumerate(initial_parameters(sizes, "xavier", 4, np.float64))]
    P, cache = reference.forward(params, x, activation)
    expected_grads = reference.backward(params, cache, Y, activation)
    expected_loss = reference.cross_entropy(P, Y)
    active = np.flatnonzero(np.count_nonzero(x, axis=0))
    for layout in (None, active):
        net = Network(sizes, activation, params, "float64", active_inputs=layout)
        if layout is not None:
            assert net.storage.layout is not None
        inputs = x.copy()
        if batch == "full batch":
            inputs.flags.writeable = False  # a fixed training set, as the trainer passes it
        loss, correct = net.loss_and_gradients(inputs, Y, labels)
        assert loss == pytest.approx(expected_loss, rel=1e-6)
        assert correct == int(np.count_nonzero(P.argmax(axis=1) == labels))
        _relative_close(net.predict_proba(x), P, "softmax outputs")
        for k, (fast, ref) in enumerate(zip(net.grads, expected_grads)):
            assert fast.shape == ref.shape
            _relative_close(fast, ref, f"gradient {k} (layout {layout is not None})")
    # A trainer's mini-batch: compact rows (the active inputs only, in the stored order), sorted by
    # how far each row's nonzeros reach and cut after the last one, multiplied in row blocks.
    net = Network(sizes, activation, params, "float64", active_inputs=active)
    compact = x[:, net.storage.layout.order[:len(active)]]
    nonzero = compact != 0
    extents = np.where(nonzero.any(axis=1), compact.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 0)
    by_extent = np.argsort(extents, kind="stable")
    rows = compact[by_extent, :max(1, int(extents.max()))]
    from nn.fast.row_blocks import row_blocks

    assert len(row_blocks(rows.shape[1], extents[by_extent])) == 2  # the blocks are exercised
    loss, correct = net.loss_and_gradients(rows, Y[by_extent], labels[by_extent], extents=extents[by_extent])
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    for k, (fast, ref) in enumerate(zip(net.grads, expected_grads)):
        _relative_close(fast, ref, f"gradient {k} (compact rows in blocks)")


def test_loss_and_gradients_are_means_over_the_batch():
    """Duplicating every sample leaves the (mean) loss and the gradients unchanged."""
    x, Y, labels = make_problem(seed=4)
    net = random_network((6,), "sigmoid", seed=2)
    loss1, _ = net.loss_and_gradients(x, Y, labels)
    g1 = [g.copy() for g in net.grads]
    loss2, correct2 = net.loss_and_gradients(np.vstack([x, x]), np.vstack([Y, Y]), np.concatenate([labels, labels]))
    assert loss2 == pytest.approx(loss1, rel=1e-12)
    for a, b in zip(g1, net.grads):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-15)


# -- softmax and cross-entropy ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_sum_to_one_for_extreme_and_mixed_logits(dtype):
    z = np.array([
        [1000.0, 1000.0, -1000.0, 0.0],
        [-1000.0, -1000.0, -1000.0, -1000.0],
        [1000.0, -1000.0, 999.0, 0.0],
        [1e-3, 2e-3, -1e-3, 0.0],
        [-1000.0, -999.0, -998.0, -1000.0],
        [88.0, 89.0, -88.0, 1e4],
    ], dtype=dtype)
    p = reference.softmax(z)
    fast = z.copy()
    softmax_inplace(fast)
    np.testing.assert_allclose(fast, p, rtol=1e-6, atol=1e-30)
    assert p.dtype == dtype
    assert np.isfinite(p).all()
    assert (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(p[0], [0.5, 0.5, 0, 0], atol=1e-7)
    np.testing.assert_allclose(p[1], 0.25, rtol=1e-6)
    e = np.exp(np.array([1.0, 0.0]))
    np.testing.assert_allclose(p[2, [0, 2]], e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(p[5], [0, 0, 0, 1], atol=1e-7)
    assert z[0, 0] == 1000  # softmax() returns a new array


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_stays_finite_when_a_probability_underflows(dtype):
    z = np.array([[0.0, -1000.0, 5.0], [2000.0, 0.0, -2000.0], [1.0, 2.0, 3.0]], dtype=dtype)
    labels = np.array([1, 2, 2])
    loss_sum = softmax_inplace(z, labels)
    # The true classes of the first two rows got probability 0 (underflow), yet the loss is exact.
    assert z[0, 1] == 0 and z[1, 2] == 0
    assert np.isfinite(loss_sum)
    expected = (1000 + 5 + np.log1p(np.exp(-5) + np.exp(-1005))) + 4000 + (np.log(np.exp([-2, -1, 0]).sum()))
    assert loss_sum == pytest.approx(expected, rel=1e-5)
    assert softmax_inplace(np.array([[3.0, 1.0]], dtype=dtype)) is None


def test_network_loss_finite_with_saturated_outputs():
    """A network so confident that the true class gets probability 0 reports a finite loss."""
    x, Y, labels = make_problem(seed=5, dtype=np.float32)
    net = random_network((), "sigmoid", seed=0, dtype="float32", scale=5000.0)
    loss, _ = net.loss_and_gradients(x, Y, labels)
    assert np.isfinite(loss) and loss > 100
    assert all(np.isfinite(g).all() for g in net.grads)
    probs = net.predict_proba(x)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    eval_loss, accuracy, eval_probs = net.evaluate(x, labels)
    assert np.isfinite(eval_loss) and eval_loss == pytest.approx(loss, rel=1e-4)
    assert 0 <= accuracy <= 1


# -- dtypes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_float32_stays_float32(optimizer, activation):
    x, Y, labels = make_problem(seed=6, n=64, dtype=np.float32)
    net = Network.initialized((N_FEATURES, 9, 6, N_CLASSES), activation, "auto", seed=2, dtype="float32")
    opt = make_optimizer(optimizer, net.storage.params, 0.05, 0.9)
    before = [p.copy() for p in net.params]
    for _ in range(5):
        loss, _ = net.loss_and_gradients(x, Y, labels, l2=1e-3)
        assert np.isfinite(loss)
        opt.step(net.storage.params, net.storage.grads)
    net.loss_and_gradients(x, Y, labels, l2=1e-3)
    for a in [*net.params, *net.grads, *opt.state().values()]:
        assert a.dtype == np.float32, a.dtype
    assert net.predict_proba(x).dtype == np.float32
    assert net.evaluate(x, labels)[2].dtype == np.float32
    assert all(h.dtype == np.float32 for h in net.hidden_activations(x[:3]))
    assert all(not np.array_equal(a, b) for a, b in zip(net.params, before))  # the network's own arrays


def test_float64_network_stays_float64():
    x, Y, labels = make_problem(seed=6, n=32)
    net = Network.initialized((N_FEATURES, 5, N_CLASSES), "relu", seed=1, dtype="float64")
    opt = make_optimizer("adam", net.storage.params, 0.01)
    net.loss_and_gradients(x, Y, labels)
    opt.step(net.storage.params, net.storage.grads)
    assert all(a.dtype == np.float64 for a in [*net.params, *net.grads, *opt.state().values()])


# -- initialisation ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 42])
def test_tutorial_init_matches_the_classic_recipe(seed):
    sizes = (784, 50, 20, 10)
    np.random.seed(seed)
    expected = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        expected += [np.random.randn(fan_out, fan_in) / np.sqrt(fan_in), np.zeros(fan_out)]
    np.random.seed(12345)
    before = np.random.get_state()[1].copy()
    net = Network.initialized(sizes, "sigmoid", "tutorial", seed=seed, dtype="float64")
    assert (np.random.get_state()[1] == before).all(), "initialisation must not touch the global random state"
    assert len(net.params) == len(expected)
    for got, want in zip(net.params, expected):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    net32 = Network.initialized(sizes, "sigmoid", "tutorial", seed=seed, dtype="float32")
    for got, want in zip(net32.params, expected):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want.astype(np.float32))


@pytest.mark.parametrize("init", ["tutorial", "he", "xavier"])
def test_same_seed_same_parameters(init):
    sizes = (30, 20, 10, 5)
    a = Network.initialized(sizes, "relu", init, seed=7)
    b = Network.initialized(sizes, "relu", init, seed=7)
    c = Network.initialized(sizes, "relu", init, seed=8)
    for pa, pb in zip(a.params, b.params):
        np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(a.params[0], c.params[0])
    assert all((b == 0).all() for b in a.biases)


def test_he_and_xavier_scales():
    fan_in, fan_out = 784, 256
    he = initial_parameters((fan_in, fan_out), "he", 3, np.float64)[0]
    assert he.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.02)
    assert abs(he.mean()) < 0.05 * he.std()
    xavier = initial_parameters((fan_in, fan_out), "xavier", 3, np.float64)[0]
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(xavier).max() <= limit
    assert np.abs(xavier).max() > 0.99 * limit  # uniform up to the limit
    assert xavier.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    tutorial = initial_parameters((fan_in, fan_out), "tutorial", 3, np.float64)[0]
    assert tutorial.std() == pytest.approx(1 / np.sqrt(fan_in), rel=0.02)


def test_auto_init_picks_he_for_relu_and_tutorial_otherwise():
    sizes = (40, 30, 10)
    for activation, init in (("relu", "he"), ("sigmoid", "tutorial"), ("tanh", "tutorial")):
        auto = Network.initialized(sizes, activation, "auto", seed=5)
        explicit = Network.initialized(sizes, activation, init, seed=5)
        for a, b in zip(auto.params, explicit.params):
            np.testing.assert_array_equal(a, b)


def test_bad_structure_is_refused():
    with pytest.raises(ValueError):
        Network((10,), "sigmoid")
    with pytest.raises(ValueError):
        Network((10, 3), "softplus")
    with pytest.raises(ValueError):
        Network((10, 3), "sigmoid", params=[np.zeros((10, 3)), np.zeros(3)])
    with pytest.raises(ValueError):
        initial_parameters((10, 3), "orthogonal", 1, np.float32)


# -- optimisers -------------------------------------------------------------------------------

def test_sgd_step_on_a_quadratic():
    p = np.array([3.0, -2.0, 0.5])
    opt = make_optimizer("sgd", [p], lr=0.1)
    for _ in range(3):
        opt.step([p], [p.copy()])  # L = |p|^2 / 2, dL/dp = p
    np.testing.assert_allclose(p, np.array([3.0, -2.0, 0.5]) * 0.9 ** 3)


def test_momentum_step_on_a_quadratic():
    p = np.array([1.0, -4.0])
    opt = make_optimizer("momentum", [p], lr=0.1, momentum=0.5)
    ref_p, ref_v = p.copy(), np.zeros(2)
    for _ in range(4):
        ref_v = 0.5 * ref_v - 0.1 * ref_p
        ref_p = ref_p + ref_v
        opt.step([p], [p.copy()])
        np.testing.assert_allclose(p, ref_p, rtol=1e-12)


def test_adam_step_on_a_quadratic():
    p = np.array([2.0, -3.0, 0.5])
    opt = make_optimizer("adam", [p], lr=0.01)
    b1, b2, eps = 0.9, 0.999, 1e-8
    ref_p, m, v = p.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, 6):
        g = ref_p.copy()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ref_p = ref_p - 0.01 * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        opt.step([p], [p.copy()])
        np.testing.assert_allclose(p, ref_p, rtol=1e-6, atol=1e-9)
        if t == 1:  # the first Adam step moves every coordinate by lr, whatever the gradient's size
            np.testing.assert_allclose(p, [1.99, -2.99, 0.49], rtol=1e-6)


@pytest.mark.parametrize("optimizer,lr", [("gd", 0.5), ("sgd", 0.5), ("momentum", 0.1), ("adam", 0.01)])
def test_optimisers_decrease_the_loss_of_a_small_network(optimizer, lr):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, N_FEATURES))
    labels = (x @ rng.normal(size=(N_FEATURES, N_CLASSES))).argmax(axis=1)  # learnable
    Y = np.eye(N_CLASSES)[labels]
    net = Network.initialized((N_FEATURES, 16, N_CLASSES), "tanh", seed=3, dtype="float64")
    opt = make_optimizer(optimizer, net.storage.params, lr, 0.9)
    first, _ = net.loss_and_gradients(x, Y, labels)
    for _ in range(100):
        net.loss_and_gradients(x, Y, labels)
        opt.step(net.storage.params, net.storage.grads)
    last, correct = net.loss_and_gradients(x, Y, labels)
    assert last < 0.5 * first
    assert correct / len(labels) > 0.8


def test_optimiser_reads_hyperparameters_at_every_step():
    p = np.array([1.0])
    opt = make_optimizer("sgd", [p], lr=0.1)
    opt.step([p], [np.array([1.0])])
    opt.lr = 0.5
    opt.step([p], [np.array([1.0])])
    assert p[0] == pytest.approx(1.0 - 0.1 - 0.5)


def test_unknown_optimiser_is_refused():
    with pytest.raises(ValueError):
        make_optimizer("rmsprop", [np.zeros(2)], 0.1)


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_gradients_can_come_scaled_by_the_learning_rate(l2):
    x, Y, labels = make_problem(4)
    net = random_network((7, 5), "relu", seed=4)
    loss, correct = net.loss_and_gradients(x, Y, labels, l2)
    plain = [g.copy() for g in net.grads]
    into = [np.full_like(p, 7.0) for p in net.storage.params]
    target = GradientTarget(into, 0.0, 0.3)  # keep 0: the old content goes
    scaled_loss, scaled_correct = net.loss_and_gradients(x, Y, labels, l2, target=target)
    assert (scaled_loss, scaled_correct) == (loss, correct)  # the loss is not scaled
    for g, g0 in zip(into, plain):
        np.testing.assert_allclose(g, 0.3 * g0, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("direct_blas", [True, False])
@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
def test_a_step_inside_backprop_equals_a_plain_step(monkeypatch, optimizer, l2, direct_blas):
    """Momentum and plain descent can have backprop write the update itself (BLAS's gemm with
    beta, or NumPy where that call is missing): the parameters and velocities after a few
    steps must equal those of computing the gradient and then stepping."""
    import nn.fast.fused as fused

    if direct_blas:
        monkeypatch.setattr(fused, "DIRECT_GEMM_MIN", 0)  # every product, however small
    else:
        monkeypatch.setattr(fused, "gemm_accumulate", lambda *args: False)
    x, Y, labels = make_problem(5)
    nets = [random_network((6, 5), "tanh", seed=5) for _ in range(2)]
    opts = [make_optimizer(optimizer, net.storage.params, 0.2, 0.8) for net in nets]
    for step in range(4):
        opts[1].lr = opts[0].lr = 0.2 - 0.03 * step  # hyperparameters are read at every step
        expected = nets[0].loss_and_gradients(x, Y, labels, l2)
        opts[0].step(nets[0].storage.params, nets[0].storage.grads)
        target = opts[1].gradient_target(nets[1].storage.params)
        assert (target.arrays is nets[1].storage.params) == (optimizer == "gd")
        loss, correct = nets[1].loss_and_gradients(x, Y, labels, l2, target=target)
        assert loss == pytest.approx(expected[0], rel=1e-12) and correct == expected[1]
        opts[1].finish_step(nets[1].storage.params)
    for a, b in zip(nets[0].params + list(opts[0].state().values()), nets[1].params + list(opts[1].state().values())):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert opts[0].steps == opts[1].steps == 4
    adam = make_optimizer("adam", nets[0].storage.params, 0.01)
    assert adam.gradient_target(nets[0].storage.params) is None  # Adam's update is not linear in the gradient


def test_a_diverging_loss_writes_no_gradient():
    x, Y, labels = make_problem(6)
    net = random_network((5,), "relu", seed=6)
    loss, _ = net.loss_and_gradients(x, Y, labels)
    grads = [g.copy() for g in net.grads]
    velocities = [np.ones_like(p) for p in net.params]
    params = [p.copy() for p in net.params]
    for into in (None, velocities, net.storage.params):
        target = None if into is None else GradientTarget(into, 0.9, -0.5)
        again, _ = net.loss_and_gradients(x * 3, Y, labels, 0.1, target=target, max_loss=loss / 10)
        assert again > loss / 10
        for a, b in zip(net.grads + velocities + net.params, grads + [np.ones_like(p) for p in params] + params):
            np.testing.assert_array_equal(a, b)
    nan_input = np.full_like(x, np.nan)
    assert np.isnan(net.loss_and_gradients(nan_input, Y, labels, max_loss=1e9)[0])
    np.testing.assert_array_equal(net.grads[0], grads[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_accumulate_matches_numpy_for_strided_and_transposed_views(dtype):
    from nn.fast.blas import direct_gemm_available, gemm_accumulate

    if not direct_gemm_available(dtype):
        pytest.skip("NumPy's BLAS offers no direct gemm here; the engine uses NumPy instead")
    rng = np.random.default_rng(3)
    big = rng.normal(size=(40, 30)).astype(dtype)
    other = rng.normal(size=(30, 40)).astype(dtype)
    cases = [(big[:7, :5], other[:5, 3:9]), (big[2:9, 4:10].T, other[3:10, :8]),
             (big.T[:, :6], other[:6, :9].T.copy().T)]
    for a, b in cases:
        c = rng.normal(size=(a.shape[0], b.shape[1])).astype(dtype)
        expected = a @ b + dtype(0.7) * c
        assert gemm_accumulate(a, b, c, 0.7)
        np.testing.assert_allclose(c, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)
    a, b = big[:4, :3], other[:3, :5]
    c = np.zeros((4, 5), dtype)
    refused = [(a, b, c[:, :4].T.copy().T),  # c must be C-ordered
               (a.astype(np.float16), b, c),  # one dtype for all
               (a, b, np.zeros((4, 6), dtype)),  # shapes must fit
               (big[:4, ::2][:, :3], b, c)]  # rows with gaps between elements
    for a_, b_, c_ in refused:
        before = c_.copy()
        assert not gemm_accumulate(a_, b_, c_, 0.5)
        np.testing.assert_array_equal(c_, before)
    overlapping = big[:4, :4].copy()
    assert not gemm_accumulate(overlapping[:, :4], overlapping, overlapping, 1.0)


def test_direct_blas_can_be_turned_off(monkeypatch):
    import nn.fast.blas as blas

    monkeypatch.setenv("SOFTMAX_DIRECT_BLAS", "0")
    assert blas._load_gemms() == {}
    monkeypatch.delenv("SOFTMAX_DIRECT_BLAS")
    found = blas._load_gemms()
    assert set(found) <= {np.dtype(np.float32), np.dtype(np.float64)}


@pytest.mark.parametrize("scipy_available", [True, False])
def test_long_read_only_batches_split_columns_without_changing_the_math(monkeypatch, scipy_available):
    """Full-batch training drops always-zero columns and multiplies mostly-zero ones as a sparse
    matrix; loss and gradients must equal the plain products' (float64, so only rounding differs)."""
    import nn.fast.column_split as column_split

    if not scipy_available:
        monkeypatch.setattr(column_split, "_scipy_csr", lambda: None)
    rng = np.random.default_rng(7)
    n, features = 3000, 40
    x = rng.random((n, features))
    x[:, :6] = 0.0  # zero in every sample: dropped
    rare = rng.random((n, 10)) < 0.02  # nonzero in ~2 % of the samples: the sparse part
    x[:, 6:16] *= rare
    labels = rng.integers(0, N_CLASSES, size=n)
    Y = np.eye(N_CLASSES)[labels]
    sizes = (features, 7, N_CLASSES)
    params = initial_parameters(sizes, "xavier", 3, np.float64)
    plain, split = Network(sizes, "tanh", params, "float64"), Network(sizes, "tanh", params, "float64")

    loss_plain, correct_plain = plain.loss_and_gradients(x.copy(), Y, labels)  # writeable: plain path
    x.flags.writeable = False  # a fixed training set, as the trainer passes it
    loss_split, correct_split = split.loss_and_gradients(x, Y, labels)
    chosen = split._column_splits.split_for(x)
    assert chosen is not None and chosen.useful
    assert set(chosen.dense_columns) | set(chosen.sparse_columns if chosen.sparse_columns is not None else ()) \
        == set(range(6, features))
    assert (chosen.sparse_columns is not None) == scipy_available
    assert loss_split == pytest.approx(loss_plain, rel=1e-12) and correct_split == correct_plain
    for g_split, g_plain in zip(split.grads, plain.grads):
        np.testing.assert_allclose(g_split, g_plain, rtol=1e-10, atol=1e-14)
    assert not split.grads[0][:, :6].any()  # exactly zero where the input is zero everywhere


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_dropout_with_a_fixed_mask_is_the_reference_on_the_masked_network(activation):
    """Inverted dropout with one mask for the whole batch is a smaller network: the next layer's
    weights of a dropped unit are zero, the kept ones scaled by 1 / keep probability. Loss and
    outputs equal nn.reference on that network; the gradients are its gradients with respect
    to the masked weights, by the chain rule times the mask."""
    x, Y, labels = make_problem(seed=8, n=40)
    net = random_network((9, 7), activation, seed=8)
    params = [p.copy() for p in net.params]
    rng = np.random.default_rng(3)
    keep = 0.6
    masks = [(rng.random(units) < keep) / keep for units in (9, 7)]
    assert all((m == 0).any() and (m > 0).any() for m in masks)
    masked = [p.copy() for p in params]
    masked[2] = params[2] * masks[0][None, :]  # W2 sees layer 1 through its mask
    masked[4] = params[4] * masks[1][None, :]
    P, cache = reference.forward(masked, x, activation)
    expected = reference.backward(masked, cache, Y, activation)
    expected[2] = expected[2] * masks[0][None, :]
    expected[4] = expected[4] * masks[1][None, :]
    loss, _ = net.loss_and_gradients(x, Y, labels, dropout=[np.tile(m, (len(x), 1)) for m in masks])
    assert loss == pytest.approx(reference.cross_entropy(P, Y), rel=1e-10)
    for k, (got, want) in enumerate(zip(net.grads, expected)):
        _relative_close(got, want, f"gradient {k}")
    # (units,) masks broadcast over the batch the same way; without masks, nothing is dropped
    net.loss_and_gradients(x, Y, labels, dropout=masks)
    for got, want in zip(net.grads, expected):
        _relative_close(got, want, "broadcast masks")
    plain, _ = net.loss_and_gradients(x, Y, labels)
    assert plain == pytest.approx(reference.cross_entropy(reference.forward(params, x, activation)[0], Y), rel=1e-10)
