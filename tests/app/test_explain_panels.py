"""The panels that explain the math (issue 16): the Math panel's numbers are nn.reference's for the
selected digit, forward and backward; "one step" and the gradient check leave the training network
bit-identical; the input gradient of "Make it a …" is the finite-difference one; and both panels
render only on screen, updating their items in place."""

from __future__ import annotations

import numpy as np
import pytest
from network_copies import own_network
from PyQt6.QtCore import Qt

from nn import reference
from nn.explain import softmax_at_temperature
from visualizer.explain_widgets import fmt, short
from visualizer.main_window import MainWindow
from visualizer.worker import State

TIMEOUT_MS = 30_000
STEPS = 6


@pytest.fixture
def window(qtbot, small_mnist):
    """A window whose network took a few steps (paused: the live parameters hold still), with the
    Math and "Make it a …" tabs in front."""
    win = MainWindow(data=small_mnist, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    win.docks["math"].raise_()
    win.docks["make"].raise_()
    for _ in range(STEPS):
        win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == STEPS, timeout=TIMEOUT_MS)
    yield win
    win.close()


def live_params(win) -> list[np.ndarray]:
    return [np.array(p, dtype=np.float64) for p in win.worker.trainer.net.params]


def wait_for_digit(qtbot, win, panel, index):
    """Select test digit ``index`` and wait until ``panel`` shows it, computed at the current step."""
    win.select_digit(index)
    step = win.worker.trainer.step_count
    qtbot.waitUntil(lambda: panel.network_shown is not None and panel.network_shown.step == step
                    and panel.snap is not None and panel.snap.probe_indices[:1] == (index,), timeout=TIMEOUT_MS)


def column_texts(panel, c: int) -> list[str]:
    return [panel.table.item(r, c).text() for r in range(10)]


def shown_as(values) -> list[list[str]]:
    """How a table column may show ``values``: 3 significant digits, or fewer where its width
    would cut them (the same number of digits for the whole column)."""
    return [[short(v, digits) for v in values] for digits in (3, 2, 1)]


def reference_pass(params, x, label, activation):
    """nn.reference's forward and backward for one sample, with every intermediate the panel shows."""
    X = np.asarray(x, dtype=np.float64)[None, :]
    Y = np.eye(params[-1].shape[0])[[label]]
    P, cache = reference.forward(params, X, activation)
    grads = reference.backward(params, cache, Y, activation)
    a = cache[0][-1][0]
    z = params[-2] @ a + params[-1]
    return dict(a=a, z=z, p=P[0], loss=reference.cross_entropy(P, Y), dz=grads[-1], dW=grads[-2],
                hidden_dz=[grads[2 * k + 1] for k in range(len(params) // 2 - 1)])


def test_the_math_panel_shows_nn_reference_numbers_for_the_selected_digit(qtbot, window, small_mnist):
    win, panel = window, window.math_panel
    trainer = win.worker.trainer
    predicted = own_network(trainer).predict_proba(small_mnist.test_x).argmax(axis=1)
    right = int(np.flatnonzero(predicted == small_mnist.test_y)[0])
    wrong = int(np.flatnonzero(predicted != small_mnist.test_y)[0])
    params = live_params(win)
    for index in (right, wrong):
        wait_for_digit(qtbot, win, panel, index)
        label = int(small_mnist.test_y[index])
        expected = reference_pass(params, small_mnist.test_x[index], label, trainer.config.activation)
        m = panel.math
        assert m.label == label and m.predicted == int(predicted[index])
        # forward
        np.testing.assert_allclose(m.hidden, expected["a"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(m.logits, expected["z"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(m.probabilities, expected["p"], rtol=1e-12, atol=1e-15)
        assert m.loss == pytest.approx(expected["loss"], rel=1e-12)
        # backward
        np.testing.assert_allclose(m.dL_dz, expected["dz"], atol=1e-14)
        np.testing.assert_allclose(m.dL_dW, expected["dW"], atol=1e-14)
        np.testing.assert_allclose(m.update(trainer.current_lr), -trainer.current_lr * expected["dW"], atol=1e-14)
        for got, want in zip(m.hidden_dL_dz, expected["hidden_dz"]):
            np.testing.assert_allclose(got, want, atol=1e-14)
        # what a person reads: the table's cells, the loss line, the formulas on hover
        shifted = expected["z"] - expected["z"].max()
        columns = (expected["z"], shifted, np.exp(shifted), expected["p"], None, expected["dz"])
        for c, values in enumerate(columns):
            if values is None:
                continue
            assert column_texts(panel, c) in shown_as(values)
        assert f"= <b>{fmt(expected['loss'])}</b>" in panel.loss_label.text()
        assert "nn.reference.cross_entropy" in panel.loss_label.text()
        k = (label + 1) % 10
        tip = panel.table.item(k, 3).toolTip()
        assert fmt(expected["p"][k]) in tip and "nn.reference.softmax" in tip
        assert f"= {fmt(expected['p'][label])} − 1 = {fmt(expected['dz'][label])}" in panel._dz_tip(label)
        assert fmt(expected["dW"][k, 3]) in panel._dw_tip(k, 3)
        verdict = "✗" in panel.title.text()
        assert verdict == (index == wrong)
    # each equation names the function of nn.reference that computes it
    text = " ".join(label.text() for label in panel.findChildren(type(panel.loss_label)))
    for name in ("nn.reference.forward", "nn.reference.softmax", "nn.reference.cross_entropy",
                 "nn.reference.backward"):
        assert name in text
    assert "the tutorial's result" in text


def test_the_temperature_is_display_only(qtbot, window):
    win, panel = window, window.math_panel
    wait_for_digit(qtbot, win, panel, 3)
    before = [p.copy() for p in win.worker.trainer.net.params]
    panel.t_slider.setValue(200)  # T = 10
    assert panel.temperature == 10
    expected = softmax_at_temperature(panel.math.logits, 10)
    assert column_texts(panel, 4) in shown_as(expected)
    assert expected.max() < panel.math.probabilities.max()  # flatter
    assert "never training" in " ".join(label.text() for label in panel.findChildren(type(panel.loss_label)))
    win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == STEPS + 1, timeout=TIMEOUT_MS)
    assert win.worker.trainer.config.lr == win.controls.lr.value()
    # training took its usual step: the temperature is nowhere in it
    assert any(not np.array_equal(a, b) for a, b in zip(before, win.worker.trainer.net.params))


def test_one_step_and_the_gradient_check_leave_the_training_network_bit_identical(qtbot, window, small_mnist):
    win, panel = window, window.math_panel
    wait_for_digit(qtbot, win, panel, 5)
    trainer = win.worker.trainer
    params = [p.copy() for p in trainer.net.params]
    state = {name: np.array(value, copy=True) for name, value in trainer.optimizer.state().items()}
    steps = trainer.step_count
    panel.step_size.setCurrentIndex(2)  # 100 x lr: a visible change
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    before, after, label, lr, step, _ = panel.step_result
    assert label == int(small_mnist.test_y[5]) and step == steps
    assert lr == pytest.approx(100 * trainer.current_lr)
    np.testing.assert_allclose(before, panel.math.probabilities, rtol=1e-12)
    assert after[label] > before[label]  # toward the true class
    assert "→" in panel.step_label.text() and "unchanged" in panel.step_label.text()
    qtbot.mouseClick(panel.check_button, Qt.MouseButton.LeftButton)
    check = panel.check_result
    assert check.layers == ("W1", "W2", "W3") and check.passed, check.relative_errors
    assert "agrees" in panel.check_label.text()
    # the training network: bit for bit what it was
    assert trainer.step_count == steps
    for old, new in zip(params, trainer.net.params):
        assert old.dtype == new.dtype and old.tobytes() == new.tobytes()
    after_state = trainer.optimizer.state()
    assert state.keys() == after_state.keys()
    for name, value in state.items():
        assert value.tobytes() == np.asarray(after_state[name]).tobytes(), name


def test_the_input_gradient_is_the_finite_difference_one(qtbot, window, small_mnist):
    win, panel = window, window.gradient_panel
    index, target = 11, 3
    panel.set_target(target)
    wait_for_digit(qtbot, win, panel, index)
    qtbot.waitUntil(lambda: panel.settings_key()[0] == target and panel.gradient is not None, timeout=TIMEOUT_MS)
    params, activation = live_params(win), win.worker.trainer.config.activation
    x = small_mnist.test_x[index].astype(np.float64)

    def log_p(image):
        return float(np.log(reference.forward(params, image[None, :], activation)[0][0, target]))

    eps = 1e-5
    gradient = panel.gradient
    assert gradient.shape == x.shape
    pixels = list(np.argsort(np.abs(gradient))[-8:]) + [100, 300, 400, 500]
    for i in pixels:
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        numeric = (log_p(plus) - log_p(minus)) / (2 * eps)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8), i
    # the nudge follows it: p(target) rises step by step, on a copy
    nudged = np.asarray(panel.result.probabilities)[:, target]
    assert nudged[-1] > nudged[0]
    assert np.allclose(panel.result.images[0], x)
    assert panel.summary.text() and "nn.explain.nudge" in panel.summary.text()


def test_the_explaining_panels_render_only_on_screen_and_in_place(qtbot, window):
    win = window
    panel = win.math_panel
    wait_for_digit(qtbot, win, panel, 2)
    table_items = [panel.table.item(r, c) for r in range(10) for c in range(6)]
    views = (panel.w_view, panel.dw_view, panel.dz_bars)
    asked = []
    panel.network_wanted.connect(lambda: asked.append(1))
    win.docks["runs"].raise_()  # the Math tab is now hidden, and so is "Make it a …"
    win.docks["weights"].raise_()
    other = win.gradient_panel
    qtbot.waitUntil(lambda: not win.on_screen(panel) and not win.on_screen(other), timeout=TIMEOUT_MS)
    shown, other_shown = panel.network_shown, other.network_shown
    win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == STEPS + 1, timeout=TIMEOUT_MS)
    qtbot.wait(100)
    assert asked == [] and panel.network_shown is shown  # nothing asked, nothing computed
    win.docks["math"].raise_()
    qtbot.waitUntil(lambda: panel.network_shown.step == STEPS + 1, timeout=TIMEOUT_MS)
    assert asked
    assert other.network_shown is other_shown  # the copy the Math panel asked for: not rendered off screen
    # the same cells and views, with new contents
    assert [panel.table.item(r, c) for r in range(10) for c in range(6)] == table_items
    assert (panel.w_view, panel.dw_view, panel.dz_bars) == views


def test_a_drawn_digit_is_explained_against_the_class_it_is_meant_to_be(qtbot, window, small_mnist):
    win, panel = window, window.math_panel
    image = small_mnist.test_x[9].copy()
    win.drawing_panel.drawing_changed.emit(image)  # as the pad does when a stroke ends
    assert panel.source == "drawn" and win.gradient_panel.source == "drawn"
    panel.drawn_label.setCurrentIndex(4)
    qtbot.waitUntil(lambda: panel.math is not None and panel.math.label == 4 and win.last_snapshot.drawn is not None
                    and np.array_equal(win.last_snapshot.drawn.image, image), timeout=TIMEOUT_MS)
    panel.refresh()
    expected = reference_pass(live_params(win), image, 4, win.worker.trainer.config.activation)
    np.testing.assert_allclose(panel.math.dL_dz, expected["dz"], atol=1e-14)
    assert "Your drawing" in panel.title.text()


@pytest.mark.parametrize("width", [300, 420, 900])
def test_the_math_tables_numbers_are_whole_in_a_narrow_panel_and_precise_in_a_wide_one(qtbot, window, width):
    """Seen at 1920x1080: a narrow Math dock cut 1.34e−07 to "1.34e…". Each column shows as many
    digits as fit its width, never a cut number."""
    from PyQt6.QtGui import QFont, QFontMetrics

    from visualizer.panels.math_view import TABLE_CELL_PADDING

    win, panel = window, window.math_panel
    dock = win.docks["math"]
    dock.setFloating(True)
    dock.resize(width, 700)
    wait_for_digit(qtbot, win, panel, 8)
    qtbot.wait(50)  # (the columns take their width; the numbers follow)
    bold = QFont(panel.table.font())
    bold.setBold(True)
    metrics = QFontMetrics(bold)
    m = panel.math
    columns = (m.logits, m.shifted, m.exps, m.probabilities, panel.tempered, m.dL_dz)
    for c, values in enumerate(columns):
        texts = column_texts(panel, c)
        assert texts in shown_as(values)
        room = panel.table.columnWidth(c) - 2 * TABLE_CELL_PADDING
        assert max(metrics.horizontalAdvance(t) for t in texts) <= room or texts == shown_as(values)[-1]
        if width >= 900:
            assert texts == shown_as(values)[0]  # room for 3 digits everywhere


def test_the_nudge_frames_captions_are_whole_in_a_narrow_panel(qtbot, window):
    """Seen at 1920x1080: in a narrow "Make it a …" dock the caption under a nudge frame wrapped,
    and its "%" fell onto a line the row cut off."""
    win, panel = window, window.gradient_panel
    dock = win.docks["make"]
    dock.setFloating(True)
    dock.resize(330, 700)
    panel.set_target(7)
    wait_for_digit(qtbot, win, panel, 8)
    qtbot.waitUntil(lambda: panel.result is not None and bool(panel.frame_labels[0].text()), timeout=TIMEOUT_MS)
    qtbot.wait(50)
    shown = [label for label in panel.frame_labels if label.text()]
    assert len(shown) >= 3
    for label in shown:
        lines = label.text().split("<br>")
        assert len(lines) == 3 and lines[0].startswith("step ") and "&nbsp;%" in lines[2]
        assert label.height() >= label.sizeHint().height() and label.width() >= label.sizeHint().width()
