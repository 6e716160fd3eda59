"""Inspecting the network. The panels that list its mistakes (the gallery, the confusion
matrix, the pinned digits) and those that look inside it (the drawing pad, the activations, the
learning signals, the PCA map) render real snapshots of a real trainer, and what they show must
be what the network computes; and in the real window, a digit selected anywhere shows
everywhere, pins survive Reset, and hidden panels catch up when shown."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
from network_copies import own_network
from PyQt6 import QtCore
from PyQt6.QtCore import Qt
from sklearn.metrics import confusion_matrix

import nn.data
from nn.config import TrainConfig
from nn.preprocess import centre_of_mass
from nn.trainer import Trainer
from visualizer import theme
from visualizer.main_window import MainWindow
from visualizer.panels import activations as activations_module
from visualizer.panels import gallery as gallery_module
from visualizer.panels.activations import ActivationsPanel
from visualizer.panels.confusion import ConfusionMatrixPanel
from visualizer.panels.drawing import DrawingPanel
from visualizer.panels.gallery import MistakesGallery
from visualizer.panels.learning import LearningPanel
from visualizer.panels.pca_map import ActivationMapPanel
from visualizer.panels.pins import PinnedDigitsPanel
from visualizer.worker import State

TIMEOUT_MS = 30_000
CONFIG = TrainConfig(hidden=(32,), activation="relu", optimizer="adam", lr=0.003, batch_size=64,
                     epochs=1.0, iterations=None)
DEEP_CONFIG = TrainConfig(hidden=(48, 24), activation="relu", optimizer="adam", lr=0.003, batch_size=64,
                          epochs=1.0, iterations=None)
SIZE = (450, 450)


@pytest.fixture(scope="module")
def data(small_mnist) -> nn.data.Dataset:
    return small_mnist


# == the mistakes: gallery, confusion matrix, pins =============================================

@pytest.fixture(scope="module")
def run(data):
    """(trainer, early snapshot, later snapshot, wrong test digits of the later network)."""
    trainer = Trainer(data, CONFIG)
    trainer.run(max_steps=12)
    trainer.evaluate_test()
    early = trainer.snapshot()
    trainer.run(max_steps=25)
    trainer.evaluate_test()
    late = trainer.snapshot()
    # independently of the snapshot: a direct forward pass of the trained network
    predicted = trainer.net.predict_proba(trainer.test_x).argmax(axis=1)
    wrong = np.flatnonzero(predicted != data.test_y)
    return trainer, early, late, wrong


def _gallery(qtbot, data, snap=None) -> MistakesGallery:
    gallery = MistakesGallery(data)
    qtbot.addWidget(gallery)
    gallery.resize(450, 450)
    gallery.show()
    if snap is not None:
        gallery.show_snapshot(snap)
    return gallery


# -- gallery --------------------------------------------------------------------------------------

def test_gallery_lists_exactly_the_wrong_test_digits(qtbot, data, run):
    trainer, _, snap, wrong = run
    assert 0 < len(wrong) < len(data.test_y)
    gallery = _gallery(qtbot, data, snap)
    shown = gallery.shown_indices()
    assert len(shown) == len(wrong)
    assert sorted(shown) == wrong.tolist()
    accuracy = snap.test.accuracy * 100
    assert gallery.count_label.text() == f"{len(wrong):,} wrong of {len(data.test_y):,} ({accuracy:.2f} % right)"
    assert gallery.stack.currentWidget() is gallery.view
    for widget in (gallery, gallery.source_combo, gallery.sort_combo, gallery.true_combo,
                   gallery.predicted_combo, gallery.png_button, gallery.csv_button, gallery.cell_chip):
        assert widget.toolTip()


def test_gallery_empty_states(qtbot, data, run):
    gallery = _gallery(qtbot, data)
    assert gallery.shown_indices() == []
    assert "waiting" in gallery.empty_label.text() and gallery.stack.currentWidget() is gallery.empty_label
    untrained = Trainer(data, CONFIG).snapshot()  # no evaluation yet
    gallery.show_snapshot(untrained)
    assert "waiting" in gallery.empty_label.text()
    gallery.show_snapshot(run[2])
    gallery.set_cell_filter(0, 0)  # the diagonal: never a mistake
    assert gallery.shown_indices() == []
    assert gallery.empty_label.text() == "No mistakes match the filter."
    assert gallery.count_label.text().startswith("0 shown · ")


def test_gallery_sort_orders(qtbot, data, run):
    _, _, snap, wrong = run
    gallery = _gallery(qtbot, data, snap)
    confidences = snap.test.confidences
    shown = gallery.shown_indices()  # default: most confidently wrong first
    assert np.all(np.diff(confidences[shown]) <= 0)
    assert set(shown) == set(wrong.tolist())
    gallery.set_sort("unsure")
    shown = gallery.shown_indices()
    assert np.all(np.diff(confidences[shown]) >= 0) and set(shown) == set(wrong.tolist())
    assert gallery.sort_combo.currentData() == "unsure"
    gallery.set_sort("by index")  # the label works as well as the key
    assert gallery.shown_indices() == sorted(wrong.tolist())
    gallery.sort_combo.setCurrentIndex(gallery.sort_combo.findData("confident"))  # the person's choice
    assert np.all(np.diff(confidences[gallery.shown_indices()]) <= 0)
    with pytest.raises(ValueError):
        gallery.set_sort("alphabetical")


def test_gallery_class_filters(qtbot, data, run):
    _, _, snap, wrong = run
    gallery = _gallery(qtbot, data, snap)
    labels, predictions = data.test_y, snap.test.predictions
    t = int(np.bincount(labels[wrong]).argmax())
    gallery.set_true_filter(t)
    assert sorted(gallery.shown_indices()) == [i for i in wrong.tolist() if labels[i] == t]
    assert gallery.true_combo.currentData() == t
    p = int(predictions[gallery.shown_indices()[0]])
    gallery.set_predicted_filter(p)
    assert sorted(gallery.shown_indices()) == [i for i in wrong.tolist() if labels[i] == t and predictions[i] == p]
    assert gallery.count_label.text().startswith(f"{len(gallery.shown_indices())} shown · ")
    gallery.set_true_filter(None)
    gallery.set_predicted_filter(None)
    assert len(gallery.shown_indices()) == len(wrong)


def test_confusion_cell_filters_the_gallery(qtbot, data, run):
    _, _, snap, wrong = run
    gallery = _gallery(qtbot, data, snap)
    panel = ConfusionMatrixPanel(data)
    qtbot.addWidget(panel)
    panel.show_snapshot(snap)
    panel.cell_selected.connect(gallery.set_cell_filter)
    panel.cell_cleared.connect(gallery.clear_cell_filter)
    labels, predictions = data.test_y, snap.test.predictions
    matrix = panel.matrix()
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    t, p = (int(v) for v in np.unravel_index(off.argmax(), off.shape))
    assert off[t, p] > 0
    with qtbot.waitSignal(panel.cell_selected) as blocker:
        panel.click_cell(t, p)
    assert blocker.args == [t, p]
    expected = np.flatnonzero((labels == t) & (predictions == p)).tolist()
    assert sorted(gallery.shown_indices()) == expected and len(expected) == matrix[t, p]
    assert gallery.cell_chip.isVisible() and gallery.cell_chip.text().startswith(f"{t} → {p}")
    assert panel.selected_cell == (t, p) and panel.selection_rect.isVisible()
    with qtbot.waitSignal(panel.cell_cleared):
        panel.click_cell(t, p)  # again: deselect
    assert sorted(gallery.shown_indices()) == wrong.tolist()
    assert not gallery.cell_chip.isVisible() and panel.selected_cell is None

    # a diagonal cell is not a mistake: nothing selected
    with qtbot.assertNotEmitted(panel.cell_selected):
        panel.click_cell(t, t)
    # the chip in the gallery removes the filter and says so (the window deselects the cell)
    panel.click_cell(t, p)
    gallery.cell_filter_cleared.connect(panel.clear_selection)
    with qtbot.waitSignal(gallery.cell_filter_cleared):
        gallery.cell_chip.click()
    assert sorted(gallery.shown_indices()) == wrong.tolist() and panel.selected_cell is None


def test_confusion_cell_mouse_click(qtbot, data, run):
    snap = run[2]
    panel = ConfusionMatrixPanel(data)
    qtbot.addWidget(panel)
    panel.resize(450, 420)
    panel.show()
    panel.show_snapshot(snap)
    qtbot.waitExposed(panel)
    t, p = 4, 9
    view = panel.plot_widget
    scene_pos = panel.plot.vb.mapViewToScene(QtCore.QPointF(p + 0.5, t + 0.5))
    widget_pos = view.mapFromScene(scene_pos)
    with qtbot.waitSignal(panel.cell_selected, timeout=TIMEOUT_MS) as blocker:
        qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_pos)
    assert blocker.args == [t, p]


def test_confusion_matrix_and_rates(qtbot, data, run):
    _, _, snap, _ = run
    panel = ConfusionMatrixPanel(data)
    qtbot.addWidget(panel)
    assert panel.matrix() is None and panel.empty_text.isVisible()
    panel.show_snapshot(snap)
    expected = confusion_matrix(data.test_y, snap.test.predictions, labels=range(10))
    np.testing.assert_array_equal(panel.matrix(), expected)
    # the numbers in the cells, and the colours: mistakes on their own scale, diagonal not on it
    for t in range(10):
        for p in range(10):
            text = panel.cell_text(t, p)
            assert text == (str(expected[t, p]) if expected[t, p] else "")
    off = expected.astype(float)
    np.fill_diagonal(off, 0)
    np.testing.assert_array_equal(panel.image_item.image, off)
    assert tuple(panel.image_item.levels) == (0.0, max(1.0, off.max()))
    recall = np.diag(expected) / expected.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.diag(expected) / expected.sum(axis=0)
    for c in range(10):
        assert panel.recall_texts.texts()[c] == f"{recall[c] * 100:.0f}"
        shown = panel.precision_texts.texts()[c]
        assert shown == ("–" if not np.isfinite(precision[c]) else f"{precision[c] * 100:.0f}")
    np.testing.assert_allclose(panel.recall(), recall)
    # re-rendered only when the evaluation changes
    marker = panel.image_item.image
    panel.show_snapshot(snap)
    assert panel.image_item.image is marker
    panel.clear()
    assert panel.matrix() is None and panel.toolTip()


def test_gallery_click_enter_and_pin(qtbot, data, run):
    _, _, snap, _ = run
    gallery = _gallery(qtbot, data, snap)
    qtbot.waitExposed(gallery)
    row = 2
    digit = gallery.shown_indices()[row]
    rect = gallery.view.visualRect(gallery.model.index(row))
    assert rect.isValid() and gallery.view.viewport().rect().contains(rect.center())
    with qtbot.waitSignal(gallery.digit_selected) as blocker:
        qtbot.mouseClick(gallery.view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [digit, "test"]
    assert gallery.selected_index() == digit
    with qtbot.waitSignal(gallery.pin_requested) as blocker:
        qtbot.keyClick(gallery.view, QtCore.Qt.Key.Key_P)
    assert blocker.args == [digit]
    # arrow keys move the selection; Enter selects the new digit
    qtbot.keyClick(gallery.view, QtCore.Qt.Key.Key_Right)
    with qtbot.waitSignal(gallery.digit_selected) as blocker:
        qtbot.keyClick(gallery.view, QtCore.Qt.Key.Key_Return)
    assert blocker.args == [gallery.shown_indices()[row + 1], "test"]


def test_gallery_update_keeps_selection(qtbot, data, run):
    trainer, early, late, _ = run
    gallery = _gallery(qtbot, data, early)
    early_wrong = set(gallery.shown_indices())
    late_wrong = set(np.flatnonzero(late.test.predictions != data.test_y).tolist())
    still = sorted(early_wrong & late_wrong)
    assert still
    digit = still[len(still) // 2]
    assert gallery.select_index(digit) and gallery.selected_index() == digit
    gallery._last_apply = -1e9  # the throttle's second has passed
    gallery.show_snapshot(late)
    assert gallery._evaluation is late.test
    assert sorted(gallery.shown_indices()) == sorted(late_wrong)
    assert gallery.selected_index() == digit
    assert gallery.view.currentIndex().row() == gallery.shown_indices().index(digit)


def test_gallery_throttles_new_evaluations(qtbot, data, run):
    _, early, late, _ = run
    gallery = _gallery(qtbot, data, early)  # the first is applied at once
    assert gallery._evaluation is early.test
    gallery.show_snapshot(late)  # within a second: deferred, not lost
    assert gallery._evaluation is early.test and gallery._pending
    qtbot.waitUntil(lambda: gallery._evaluation is late.test, timeout=TIMEOUT_MS)
    gallery.clear()
    gallery.show_snapshot(late)
    assert gallery._evaluation is late.test


def test_gallery_training_set(qtbot, data, run):
    trainer, _, snap, _ = run
    gallery = _gallery(qtbot, data, snap)
    assert snap.train_evaluation is None
    with qtbot.waitSignal(gallery.train_evaluation_requested):
        gallery.set_source("train")
    assert gallery.shown_indices() == [] and "evaluating the training set" in gallery.empty_label.text()
    with qtbot.assertNotEmitted(gallery.train_evaluation_requested):  # at most once every 2 s
        gallery.show_snapshot(snap)
    trainer.evaluate_train()
    snap2 = trainer.snapshot()
    gallery.show_snapshot(snap2)
    wrong = np.flatnonzero(snap2.train_evaluation.predictions != data.train_y)
    assert sorted(gallery.shown_indices()) == wrong.tolist()
    assert "training set" in gallery.count_label.text()
    digit = gallery.shown_indices()[0]
    gallery.select_index(digit)
    with qtbot.waitSignal(gallery.digit_selected) as blocker:
        qtbot.keyClick(gallery.view, QtCore.Qt.Key.Key_Enter)
    assert blocker.args == [digit, "train"]
    with qtbot.assertNotEmitted(gallery.pin_requested):  # pins are test digits
        qtbot.keyClick(gallery.view, QtCore.Qt.Key.Key_P)
    assert "test" in gallery.message_label.text()
    gallery.set_source("test")
    assert sorted(gallery.shown_indices()) == np.flatnonzero(snap2.test.predictions != data.test_y).tolist()


def test_gallery_csv_export_round_trip(qtbot, data, run, tmp_path):
    _, _, snap, _ = run
    gallery = _gallery(qtbot, data, snap)
    gallery.set_true_filter(int(data.test_y[gallery.shown_indices()[0]]))
    path = tmp_path / "mistakes.csv"
    assert gallery.export_csv(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == (["index", "true", "predicted", "confidence"] + [f"p{c}" for c in range(10)]
                       + ["true_name", "predicted_name"])
    body = rows[1:]
    shown = gallery.shown_indices()
    assert [int(r[0]) for r in body] == shown and len(shown) > 0
    assert [int(r[1]) for r in body] == data.test_y[shown].tolist()
    assert [int(r[2]) for r in body] == snap.test.predictions[shown].tolist()
    probs = np.array([[float(v) for v in r[4:-2]] for r in body])
    assert [r[-2:] for r in body] == [[data.class_names[t], data.class_names[p]] for t, p in
                                      zip(data.test_y[shown], snap.test.predictions[shown])]
    np.testing.assert_allclose(probs, snap.test.probs[shown], atol=1e-6)
    np.testing.assert_allclose([float(r[3]) for r in body], snap.test.confidences[shown], atol=1e-6)
    assert [p for p in os.listdir(tmp_path) if p != "mistakes.csv"] == []  # no temp file left
    # a write error is reported inline, never raised
    assert not gallery.export_csv(tmp_path / "missing" / "x.csv")
    assert "Could not save" in gallery.message_label.text()


def test_gallery_png_export(qtbot, data, run, tmp_path):
    gallery = _gallery(qtbot, data, run[2])
    path = tmp_path / "gallery.png"
    assert gallery.export_png(path)
    from PyQt6 import QtGui
    image = QtGui.QImage(str(path))
    assert not image.isNull() and image.width() > 100
    assert not gallery.export_png(tmp_path / "missing" / "g.png")


def test_gallery_thumbnails_are_crisp_and_cached(qtbot, data, run, monkeypatch):
    gallery = _gallery(qtbot, data, run[2])
    digit = gallery.shown_indices()[0]
    pixmap = gallery.thumbnail(digit)
    assert pixmap.width() == gallery_module.THUMB == pixmap.height()
    assert gallery.thumbnail(digit) is pixmap
    image = pixmap.toImage().convertToFormat(pixmap.toImage().Format.Format_Grayscale8)
    scale = gallery_module.THUMB // data.image_shape[0]
    pixels = np.array([[image.pixelColor(x, y).red() for x in range(0, image.width(), scale)]
                       for y in range(0, image.height(), scale)])
    np.testing.assert_array_equal(pixels, 255 - data.test_images[digit])  # nearest neighbour: no blur
    monkeypatch.setattr(gallery_module, "PIXMAP_CACHE", 20)
    for i in range(60):
        gallery.thumbnail(i)
    assert len(gallery._pixmaps) <= 20


def test_gallery_with_thousands_of_mistakes_paints_only_what_is_visible(qtbot, data):
    trainer = Trainer(data, CONFIG)
    trainer.evaluate_test()  # untrained: about 90 % wrong
    snap = trainer.snapshot()
    gallery = _gallery(qtbot, data, snap)
    qtbot.waitExposed(gallery)
    gallery.repaint()
    n = len(gallery.shown_indices())
    assert n > len(data.test_y) // 2
    assert len(gallery._pixmaps) < 100  # only the visible thumbnails were drawn


# -- pins ----------------------------------------------------------------------------------------

def test_pins_panel_curves_follow_the_trainer(qtbot, data):
    trainer = Trainer(data, CONFIG)
    trainer.run(max_steps=5)
    trainer.evaluate_test()
    pins = [int(i) for i in np.flatnonzero(trainer.last_test.predictions != data.test_y)[:3]]
    trainer.set_pins(pins)
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    snap = trainer.snapshot()
    panel = PinnedDigitsPanel(data)
    qtbot.addWidget(panel)
    assert panel.stack.currentIndex() == 0 and "press P" in panel.empty_label.text()
    panel.show_snapshot(snap)
    assert panel.pinned_indices() == pins and set(panel.curves) == set(pins)
    direct = trainer.net.predict_proba(trainer.test_x[pins])
    for k, index in enumerate(pins):
        x, y = panel.curves[index].getData()
        assert len(x) >= 3 and x[-1] == snap.samples_seen
        assert y[-1] == pytest.approx(float(direct[k, data.test_y[index]]), abs=1e-5)
        row = panel.row_widget(index)
        assert f"#{index}" in row.name.text() and f"true {data.test_y[index]}" in row.name.text()
        assert row.prob.text() == f"{y[-1] * 100:.0f} %"
    with qtbot.waitSignal(panel.pins_edited) as blocker:
        panel.row_widget(pins[1]).unpin_button.click()
    assert blocker.args == [[pins[0], pins[2]]]
    with qtbot.waitSignal(panel.pins_edited) as blocker:
        panel.request_pin(7)
    assert blocker.args == [pins + [7]]
    with qtbot.assertNotEmitted(panel.pins_edited):
        panel.request_pin(pins[0])  # already pinned
    with qtbot.waitSignal(panel.pins_edited) as blocker:
        panel.clear_button.click()
    assert blocker.args == [[]]

    # the worker applies the edit: the next snapshot carries fewer pins
    trainer.set_pins([pins[0]])
    panel.show_snapshot(trainer.snapshot())
    assert list(panel.curves) == [pins[0]] and len(panel._rows) == 1
    panel.clear()
    assert panel.curves == {} and panel.stack.currentIndex() == 0


def test_pins_panel_limits_to_eight(qtbot, data):
    trainer = Trainer(data, CONFIG)
    trainer.evaluate_test()
    trainer.set_pins(list(range(8)))
    panel = PinnedDigitsPanel(data)
    qtbot.addWidget(panel)
    panel.show_snapshot(trainer.snapshot())
    assert len(panel.curves) == 8
    with qtbot.assertNotEmitted(panel.pins_edited):
        assert not panel.request_pin(100)
    assert "At most 8" in panel.message_label.text()


def test_gallery_update_keeps_the_scroll_position(qtbot, data):
    trainer = Trainer(data, CONFIG)
    trainer.run(max_steps=3)
    trainer.evaluate_test()
    early = trainer.snapshot()
    trainer.run(max_steps=3)
    trainer.evaluate_test()
    late = trainer.snapshot()
    gallery = _gallery(qtbot, data, early)
    gallery.set_sort("index")
    qtbot.waitExposed(gallery)
    bar = gallery.view.verticalScrollBar()
    assert bar.maximum() > 0
    late_wrong = set(np.flatnonzero(late.test.predictions != data.test_y).tolist())
    probe = QtCore.QPoint(gallery_module.CELL_W // 2, gallery_module.CELL_H // 2)
    for value in range(bar.maximum() // 2, bar.maximum(), gallery_module.CELL_H):
        bar.setValue(value)  # scroll to a row whose first digit is still wrong later
        top = gallery.view.indexAt(probe).data(gallery_module.DIGIT_ROLE)
        if top in late_wrong:
            break
    assert top in late_wrong and gallery.selected_index() is None
    y = gallery.view.visualRect(gallery.model.index(gallery.model.row_of(top))).top()
    gallery._last_apply = -1e9
    gallery.show_snapshot(late)
    assert gallery._evaluation is late.test and sorted(gallery.shown_indices()) == sorted(late_wrong)
    assert gallery.view.visualRect(gallery.model.index(gallery.model.row_of(top))).top() == y


# == looking inside: drawing, activations, learning signals, PCA map ===========================

def stroke(size: int = 120) -> np.ndarray:
    """A synthetic '7' in the upper left of a big canvas, ink = 1."""
    image = np.zeros((size, size))
    image[10:18, 8:70] = 1.0  # the bar
    for t in np.linspace(0.0, 1.0, 200):  # the diagonal
        y, x = int(14 + 60 * t), int(66 - 30 * t)
        image[y - 4: y + 4, x - 4: x + 4] = 1.0
    return image


@pytest.fixture(scope="module")
def deep_run(data):
    """(trainer, snapshot) after a short run with two test evaluations, a drawn input and a map."""
    trainer = Trainer(data, DEEP_CONFIG)
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
    with qtbot.waitSignal(panel.drawing_changed, timeout=TIMEOUT_MS) as blocker:
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
    with qtbot.waitSignal(panel.drawing_changed, timeout=TIMEOUT_MS) as blocker:
        panel.clear_drawing()
    assert blocker.args[0] is None
    assert not panel.network_input().any()
    assert not panel.pin_button.isEnabled()


def test_drawing_shows_the_networks_output_for_it_and_pins_it(qtbot, data, deep_run):
    trainer, _ = deep_run
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
    with qtbot.waitSignal(panel.pin_requested, timeout=TIMEOUT_MS) as blocker:
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

def test_activations_show_every_hidden_unit_and_the_top_units_contributions(qtbot, deep_run):
    trainer, snap = deep_run
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
        assert panel.tile_texts[j].toPlainText() == f"#{unit}\na={detail.hidden[0][unit]:.1f}"
    np.testing.assert_allclose(panel.probs, detail.probs, rtol=1e-6)
    _save(qtbot, panel, "/tmp/inside/activations.png")
    # the drawn digit instead of the selected test digit
    panel.set_source("drawn")
    assert panel.source == "drawn"
    np.testing.assert_array_equal(panel.cells[0], snap.drawn.hidden[0])
    panel.clear()
    assert panel.stack.currentWidget() is panel.empty_label


@pytest.mark.parametrize("size", [(330, 420), (390, 700), (700, 900)])
def test_activations_tile_captions_show_both_lines_at_any_panel_size(qtbot, deep_run, size):
    """Each tile's caption (unit, activation) is whole on screen, in a narrow panel as in a wide
    one (seen cut to its first line at every window size)."""
    trainer, snap = deep_run
    panel = _show(qtbot, ActivationsPanel())
    panel.resize(*size)
    panel.show_snapshot(snap)
    qtbot.wait(50)  # (the layout settles)
    view = panel.tile_caption_view.sceneBoundingRect()
    tiles = panel.tile_image.mapRectToScene(panel.tile_image.boundingRect())
    for i, text in enumerate(panel.tile_texts):
        box = text.mapRectToScene(text.boundingRect())
        assert text.toPlainText().count("\n") == 1
        assert view.contains(box), (i, box, view)
        assert box.top() >= tiles.bottom() - 1
        tile_left = tiles.left() + i * tiles.width() / panel.tile_image.image.shape[1] * 31
        assert abs(box.center().x() - (tile_left + tiles.width() / panel.tile_image.image.shape[1] * 14)) < 2


def test_activations_without_a_hidden_layer_show_the_class_templates(qtbot, data):
    trainer = Trainer(data, DEEP_CONFIG.replace(hidden=()))
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

def test_learning_x_axis_ends_where_the_run_ends(qtbot, deep_run):
    """Seen after a finished run: the learning plots ran on to the next coarse step (290,000
    samples) past the run's end (240,000), a fifth of each plot empty. Like the loss and accuracy
    plots, the x axis stops at the run's planned end."""
    from dataclasses import replace

    _, snap = deep_run
    end = float(snap.learning.gradient_samples[-1])
    panel = _show(qtbot, LearningPanel())
    ended = replace(snap, config=snap.config.replace(epochs=end / snap.n_train, iterations=None), finished=True)
    assert ended.planned_samples == pytest.approx(end)
    panel.show_snapshot(ended)
    qtbot.waitUntil(lambda: panel._x_max is not None, timeout=TIMEOUT_MS)
    assert panel.grad_plot.viewRange()[0][1] == pytest.approx(end)


def test_learning_curves_and_histograms_are_the_snapshots(qtbot, deep_run):
    _, snap = deep_run
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

def test_map_marks_the_wrong_digits_and_a_click_selects_a_test_digit(qtbot, data, deep_run):
    _, snap = deep_run
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
    with qtbot.waitSignal(panel.digit_selected, timeout=TIMEOUT_MS) as blocker:
        panel.click_point(k)
    assert blocker.args == [int(amap.indices[k])]
    assert f"#{amap.indices[k]}" in panel.readout.text()
    assert panel.thumb.pixmap() is not None and not panel.thumb.pixmap().isNull()
    with qtbot.waitSignal(panel.refresh_requested, timeout=TIMEOUT_MS):
        panel.refresh_button.click()
    _save(qtbot, panel, "/tmp/inside/map.png")
    before = panel.scatter.points()[0]
    panel.show_snapshot(snap)  # the same map object: nothing is redone
    assert panel.scatter.points()[0] is before


def test_class_labels_on_the_map_never_cover_each_other(qtbot, data, deep_run):
    """Seen on screen: two classes whose digits share a middle put one name over the other (the
    "1" could not be found). Each name stays near its digits' median, and no two overlap."""
    from dataclasses import replace

    _, snap = deep_run
    amap = snap.activation_map
    coords = np.array(amap.coords, dtype=np.float64)
    one, nine = (amap.labels == 1), (amap.labels == 9)
    coords[one] += np.median(coords[nine], axis=0) - np.median(coords[one], axis=0)  # the same middle
    crowded = replace(amap, coords=coords)
    panel = _show(qtbot, ActivationMapPanel(data))
    panel.show_snapshot(replace(snap, activation_map=crowded))
    qtbot.wait(50)
    boxes = [t.mapRectToScene(t.boundingRect()) for t in panel.class_labels if t.isVisible()]
    assert len(boxes) == len(set(amap.labels.tolist()))
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].intersects(boxes[j]), (i, j)
    view = panel.plot.vb.sceneBoundingRect()
    assert all(view.contains(box) for box in boxes)


def test_spread_labels_leaves_apart_labels_in_place_and_separates_coincident_ones():
    from visualizer.panels.pca_map import LABEL_GAP_PX, spread_labels

    apart = np.array([[10.0, 10.0], [100.0, 10.0], [10.0, 100.0]])
    sizes = np.full((3, 2), 20.0)
    np.testing.assert_array_equal(spread_labels(apart, sizes), apart)
    same = np.array([[50.0, 50.0]] * 4)
    placed = spread_labels(same, np.full((4, 2), 20.0), area=(0, 0, 200, 200))
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.any(np.abs(placed[i] - placed[j]) >= 20.0 + LABEL_GAP_PX - 1e-9)
    assert np.all((placed >= 10) & (placed <= 190))


# == in the window =============================================================================

def trained_window(qtbot, dataset, steps=12):
    win = MainWindow(data=dataset, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    win.docks["mistakes"].raise_()  # panels in hidden tabs are not rendered
    win.docks["confusion"].raise_()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    for _ in range(steps):
        win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == steps and win.last_snapshot.test is not None
                    and win.last_snapshot.test.step == steps, timeout=TIMEOUT_MS)
    # The gallery takes a new evaluation at most once a second; wait for the latest.
    qtbot.waitUntil(lambda: win.gallery._evaluation is win.last_snapshot.test, timeout=TIMEOUT_MS)
    return win


def test_clicking_a_mistake_shows_it_in_the_softmax_panel(qtbot, small_mnist):
    win = trained_window(qtbot, small_mnist)
    trainer = win.worker.trainer
    wrong = np.flatnonzero(own_network(trainer).predict_proba(small_mnist.test_x).argmax(1) != small_mnist.test_y)
    assert sorted(win.gallery.shown_indices()) == sorted(wrong.tolist())
    digit = win.gallery.shown_indices()[3]
    view = win.gallery.view
    rect = view.visualRect(win.gallery.model.index(3, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.softmax_panel.selected_index == digit
    qtbot.waitUntil(lambda: digit in win.last_snapshot.probe_indices and win.softmax_panel._probs is not None,
                    timeout=TIMEOUT_MS)
    expected = own_network(trainer).predict_proba(small_mnist.test_x[[digit]])[0]
    np.testing.assert_allclose(win.softmax_panel._probs, expected, rtol=1e-6, atol=1e-7)
    assert str(digit) in win.softmax_panel.title.text()
    win.close()


def test_confusion_cell_filters_the_gallery_and_p_pins(qtbot, small_mnist):
    win = trained_window(qtbot, small_mnist)
    evaluation = win.last_snapshot.test
    labels, predictions = small_mnist.test_y, evaluation.predictions
    counts = win.confusion_panel.matrix().copy()
    np.fill_diagonal(counts, 0)
    t, p = np.unravel_index(np.argmax(counts), counts.shape)
    win.confusion_panel.click_cell(int(t), int(p))
    expected = np.flatnonzero((labels == t) & (predictions == p))
    assert sorted(win.gallery.shown_indices()) == sorted(expected.tolist())
    assert win.docks["mistakes"].isVisible()
    win.confusion_panel.click_cell(int(t), int(p))  # again: the filter goes
    assert len(win.gallery.shown_indices()) == int(np.count_nonzero(labels != predictions))

    digit = win.gallery.shown_indices()[0]
    assert win.gallery.select_index(digit)
    win.gallery.view.setFocus()
    qtbot.keyClick(win.gallery.view, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: [c.index for c in win.last_snapshot.pins] == [digit], timeout=TIMEOUT_MS)
    pin = win.last_snapshot.pins[0]
    probs = own_network(win.worker.trainer).predict_proba(small_mnist.test_x[[digit]])[0]
    assert abs(pin.true_class_prob[-1] - probs[small_mnist.test_y[digit]]) < 1e-6
    # Pins survive Reset: the new run tracks them from its start.
    win.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 0, timeout=TIMEOUT_MS)
    win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 1 and win.last_snapshot.pins
                    and len(win.last_snapshot.pins[0].samples) >= 1, timeout=TIMEOUT_MS)
    assert [c.index for c in win.last_snapshot.pins] == [digit]
    assert win.last_snapshot.pins[0].samples[0] <= win.last_snapshot.samples_seen
    win.close()


def test_hidden_panels_are_not_rendered_and_catch_up_when_shown(qtbot, small_mnist):
    win = trained_window(qtbot, small_mnist, steps=3)
    win.docks["weights"].raise_()  # the gallery's tab is now hidden
    qtbot.waitUntil(lambda: not win.on_screen(win.gallery), timeout=TIMEOUT_MS)
    shown = []
    original = win.gallery.show_snapshot
    win.gallery.show_snapshot = lambda snap: shown.append(snap.step) or original(snap)
    win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 4, timeout=TIMEOUT_MS)
    assert shown == []
    win.docks["mistakes"].raise_()
    qtbot.waitUntil(lambda: shown and shown[-1] == 4, timeout=TIMEOUT_MS)
    win.close()


def test_a_point_on_the_pca_map_selects_that_digit_everywhere(qtbot, small_mnist):
    win = trained_window(qtbot, small_mnist, steps=4)
    win.docks["pca"].raise_()
    win.commands.refresh_map()
    qtbot.waitUntil(lambda: win.last_snapshot.activation_map is not None
                    and win.last_snapshot.activation_map.step == 4
                    and len(win.map_panel.shown_indices()) > 0, timeout=TIMEOUT_MS)
    k = 7
    digit = win.map_panel.shown_indices()[k]
    win.map_panel.click_point(k)
    assert win.softmax_panel.selected_index == digit
    qtbot.waitUntil(lambda: digit in win.last_snapshot.probe_indices and win.softmax_panel._probs is not None,
                    timeout=TIMEOUT_MS)
    expected = own_network(win.worker.trainer).predict_proba(small_mnist.test_x[[digit]])[0]
    np.testing.assert_allclose(win.softmax_panel._probs, expected, rtol=1e-6, atol=1e-7)
    win.close()
