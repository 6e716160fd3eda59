"""Looking inside: the drawing pad, the activations, the learning signals and the PCA map render
real snapshots of a real trainer, and what they show must be what the snapshot says."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nn.data  # noqa: E402
from nn.config import TrainConfig  # noqa: E402
from nn.preprocess import centre_of_mass  # noqa: E402
from nn.trainer import Trainer  # noqa: E402

pytest.importorskip("pytestqt")

from visualizer import theme  # noqa: E402
from visualizer.panels import activations as activations_module  # noqa: E402
from visualizer.panels.activations import ActivationsPanel  # noqa: E402
from visualizer.panels.drawing import DrawingPanel  # noqa: E402
from visualizer.panels.learning import LearningPanel  # noqa: E402
from visualizer.panels.pca_map import ActivationMapPanel  # noqa: E402

CONFIG = TrainConfig(hidden=(48, 24), activation="relu", optimizer="adam", lr=0.003, batch_size=64,
                     epochs=1.0, iterations=None)
SIZE = (450, 450)


@pytest.fixture(scope="module")
def data(small_mnist) -> nn.data.Dataset:
    return small_mnist


def stroke(size: int = 120) -> np.ndarray:
    """A synthetic '7' in the upper left of a big canvas, ink = 1."""
    image = np.zeros((size, size))
    image[10:18, 8:70] = 1.0  # the bar
    for t in np.linspace(0.0, 1.0, 200):  # the diagonal
        y, x = int(14 + 60 * t), int(66 - 30 * t)
        image[y - 4: y + 4, x - 4: x + 4] = 1.0
    return image


@pytest.fixture(scope="module")
def run(data):
    """(trainer, snapshot) after a short run with two test evaluations, a drawn input and a map."""
    trainer = Trainer(data, CONFIG)
    trainer.set_probes([3])
    trainer.run(max_steps=20)
    trainer.evaluate_test()
    trainer.run(max_steps=30)
    trainer.evaluate_test()
    trainer.set_drawn_input(data.test_x[0])
    trainer.compute_map()
    return trainer, trainer.snapshot()


def _show(qtbot, panel):
    qtbot.addWidget(panel)
    panel.resize(*SIZE)
    panel.show()
    return panel


def _save(qtbot, panel, path: str) -> None:
    """A screenshot for people to look at (not checked)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    qtbot.wait(20)  # let pending layout requests run first
    panel.grab().save(path)


# -- drawing ------------------------------------------------------------------------------------

def test_drawing_becomes_a_centred_mnist_style_input_and_is_emitted(qtbot, data):
    panel = _show(qtbot, DrawingPanel(data))
    assert not panel.pin_button.isEnabled()
    with qtbot.waitSignal(panel.drawing_changed, timeout=1000) as blocker:
        panel.set_drawing(stroke())
    x = panel.network_input()
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    cy, cx = centre_of_mass(x)
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5
    ys, xs = np.nonzero(x > 0)
    assert ys.max() - ys.min() + 1 <= 20 and xs.max() - xs.min() + 1 <= 20
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 >= 19  # scaled up into the box
    emitted = blocker.args[0]
    assert emitted.shape == (784,) and emitted.dtype == np.float32
    np.testing.assert_array_equal(emitted, x.reshape(-1))
    assert panel.pin_button.isEnabled()
    # the enlarged input shows the same pixels
    assert panel.input_label.pixmap().width() == 28 * 4
    with qtbot.waitSignal(panel.drawing_changed, timeout=1000) as blocker:
        panel.clear_drawing()
    assert blocker.args[0] is None
    assert not panel.network_input().any()
    assert not panel.pin_button.isEnabled()


def test_drawing_shows_the_networks_output_for_it_and_pins_it(qtbot, data, run):
    trainer, _ = run
    panel = _show(qtbot, DrawingPanel(data))
    inputs = []
    panel.drawing_changed.connect(inputs.append)
    panel.set_drawing(stroke())
    trainer.set_drawn_input(inputs[-1])
    snap = trainer.snapshot()
    panel.show_snapshot(snap)
    np.testing.assert_allclose(panel.bar_heights(), snap.drawn.probs, rtol=1e-6, atol=1e-9)
    predicted = int(np.argmax(snap.drawn.probs))
    assert f">{predicted}</b>" in panel.prediction_label.text()
    assert panel.class_combo.currentIndex() == predicted  # defaults to the prediction
    label = (predicted + 3) % 10
    panel.class_combo.setCurrentIndex(label)
    panel.class_combo.activated.emit(label)  # as if the person picked it
    panel.show_snapshot(trainer.snapshot())  # a new prediction does not override the choice
    assert panel.class_combo.currentIndex() == label
    with qtbot.waitSignal(panel.pin_requested, timeout=1000) as blocker:
        panel.pin_button.click()
    image, pinned_label = blocker.args
    np.testing.assert_array_equal(image, panel.network_input().reshape(-1))
    assert pinned_label == label
    trainer.pin_drawn(image, pinned_label)  # the engine accepts it as it is
    assert trainer.snapshot().pins[-1].index < 0
    trainer.unpin_drawn(-1)
    trainer.set_drawn_input(data.test_x[0])
    _save(qtbot, panel, "/tmp/inside/drawing.png")


# -- activations --------------------------------------------------------------------------------

def test_activations_show_every_hidden_unit_and_the_top_units_contributions(qtbot, run):
    trainer, snap = run
    panel = _show(qtbot, ActivationsPanel())
    panel.show_snapshot(snap)
    detail = snap.probe_detail
    hidden_sizes = snap.layer_sizes[1:-1]
    assert len(panel.grid_images) == len(hidden_sizes) == len(panel.cells)
    cols = panel._cols
    step = activations_module.CELL + activations_module.CELL_GAP
    for i, n in enumerate(hidden_sizes):
        np.testing.assert_array_equal(panel.cells[i], detail.hidden[i])
        assert panel.cells[i].shape == (n,)
        image = panel.grid_images[i].image
        rows = -(-n // cols)
        assert image.shape[:2] == (rows * step + 1, cols * step + 1)
        colors, _ = activations_module.activation_colors(detail.hidden[i], "relu")
        # every unit has its own cell, coloured by its activation; the rest are unused
        centres = image[1 + step * np.arange(rows)[:, None] + 2, 1 + step * np.arange(cols)[None, :] + 2]
        centres = centres.reshape(-1, 3)
        np.testing.assert_array_equal(centres[:n], colors)
        assert (centres[n:] == theme.current().cell_unused).all()
    k = len(detail.top_units)
    assert k == 8 and panel.tiles.shape == (k, 28, 28)
    for j in range(k):
        np.testing.assert_allclose(panel.tiles[j] * panel.tile_scales[j], detail.contributions[j].reshape(28, 28),
                                   rtol=1e-6, atol=1e-9)
        assert np.abs(panel.tiles[j]).max() <= 1.0 + 1e-12
        unit = int(detail.top_units[j])
        assert panel.tile_texts[j].toPlainText() == f"unit {unit}\na={detail.hidden[0][unit]:.1f}"
    np.testing.assert_allclose(panel.probs, detail.probs, rtol=1e-6)
    _save(qtbot, panel, "/tmp/inside/activations.png")
    # the drawn digit instead of the selected test digit
    panel.set_source("drawn")
    assert panel.source == "drawn"
    np.testing.assert_array_equal(panel.cells[0], snap.drawn.hidden[0])
    panel.clear()
    assert panel.stack.currentWidget() is panel.empty_label


def test_activations_without_a_hidden_layer_show_the_class_templates(qtbot, data):
    trainer = Trainer(data, CONFIG.replace(hidden=()))
    trainer.set_probes([5])
    trainer.run(max_steps=10)
    snap = trainer.snapshot()
    panel = _show(qtbot, ActivationsPanel())
    panel.show_snapshot(snap)
    assert panel.grid_images == [] and panel.cells == []
    assert "no hidden layer" in panel.tiles_label.text
    top = int(snap.probe_detail.top_units[0])
    assert top == int(np.argmax(snap.probe_detail.probs))
    assert panel.tile_texts[0].toPlainText().startswith(f"class {top}\n")


# -- learning -----------------------------------------------------------------------------------

def test_learning_curves_and_histograms_are_the_snapshots(qtbot, run):
    _, snap = run
    stats = snap.learning
    panel = _show(qtbot, LearningPanel())
    panel.show_snapshot(snap)
    n_layers = len(snap.layer_sizes) - 1
    assert len(panel.grad_curves) == len(panel.ratio_curves) == n_layers
    assert len(panel.inactive_curves) == n_layers - 1
    assert len(stats.gradient_samples) > 2 and len(stats.inactive_samples) >= 2
    for i in range(n_layers):
        for curve, values in ((panel.grad_curves[i], stats.gradient_norms),
                              (panel.ratio_curves[i], stats.update_ratios)):
            np.testing.assert_array_equal(curve.xData, stats.gradient_samples)
            np.testing.assert_array_equal(curve.yData, values[:, i])
    for i, curve in enumerate(panel.inactive_curves):
        np.testing.assert_array_equal(curve.xData, stats.inactive_samples)
        np.testing.assert_allclose(curve.yData, stats.inactive_fraction[:, i] * 100)
    assert panel.grad_plot.ctrl.logYCheck.isChecked() and panel.ratio_plot.ctrl.logYCheck.isChecked()
    assert stats.inactive_label in panel.inactive_plot.titleLabel.text
    _save(qtbot, panel, "/tmp/inside/learning.png")
    for layer in range(n_layers):
        panel.layer_combo.setCurrentIndex(layer)
        h = stats.histograms[layer]
        np.testing.assert_array_equal(panel.hist_now.xData, h.edges)
        np.testing.assert_array_equal(panel.hist_now.yData, h.counts)
        np.testing.assert_array_equal(panel.hist_initial.xData, h.edges)
        np.testing.assert_array_equal(panel.hist_initial.yData, h.initial_counts)
    assert [panel.layer_combo.itemText(i) for i in range(n_layers)] == list(stats.layer_names)
    panel.tabs.setCurrentIndex(1)
    _save(qtbot, panel, "/tmp/inside/learning_hist.png")
    panel.clear()
    assert panel.grad_curves[0].xData is None or len(panel.grad_curves[0].xData) == 0


# -- PCA map ------------------------------------------------------------------------------------

def test_map_marks_the_wrong_digits_and_a_click_selects_a_test_digit(qtbot, data, run):
    _, snap = run
    amap = snap.activation_map
    panel = _show(qtbot, ActivationMapPanel(data))
    panel.show_snapshot(snap)
    assert panel.shown_indices() == amap.indices.tolist()
    assert len(panel.scatter.points()) == len(amap.indices)
    wrong = amap.predictions != amap.labels
    assert 0 < wrong.sum() < len(wrong)
    assert panel.wrong_indices() == amap.indices[wrong].tolist()
    ringed = sorted(int(amap.indices[p.data()]) for p in panel.scatter.points()
                    if p.pen().color().name() == "#000000" and p.pen().widthF() > 1)
    assert ringed == sorted(amap.indices[wrong].tolist())
    for p in panel.scatter.points()[:50]:  # each dot sits where the map puts it
        k = p.data()
        assert (p.pos().x(), p.pos().y()) == pytest.approx(tuple(amap.coords[k]))
    assert amap.layer in panel.title.text() and f"step {amap.step:,}" in panel.title.text()
    k = int(np.flatnonzero(wrong)[0])
    with qtbot.waitSignal(panel.digit_selected, timeout=1000) as blocker:
        panel.click_point(k)
    assert blocker.args == [int(amap.indices[k])]
    assert f"#{amap.indices[k]}" in panel.readout.text()
    assert panel.thumb.pixmap() is not None and not panel.thumb.pixmap().isNull()
    with qtbot.waitSignal(panel.refresh_requested, timeout=1000):
        panel.refresh_button.click()
    _save(qtbot, panel, "/tmp/inside/map.png")
    before = panel.scatter.points()[0]
    panel.show_snapshot(snap)  # the same map object: nothing is redone
    assert panel.scatter.points()[0] is before
