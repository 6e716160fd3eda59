"""Inspecting mistakes: the gallery, the confusion matrix and the pinned digits render real
snapshots of a real trainer, and what they list must match the network's own outputs."""

from __future__ import annotations

import csv
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nn.data  # noqa: E402
from nn.config import TrainConfig  # noqa: E402
from nn.trainer import Trainer  # noqa: E402

pytest.importorskip("pytestqt")

from PyQt6 import QtCore  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from visualizer.panels import gallery as gallery_module  # noqa: E402
from visualizer.panels.confusion import ConfusionMatrixPanel  # noqa: E402
from visualizer.panels.gallery import MistakesGallery  # noqa: E402
from visualizer.panels.pins import PinnedDigitsPanel  # noqa: E402

CONFIG = TrainConfig(hidden=(32,), activation="relu", optimizer="adam", lr=0.003, batch_size=64,
                     epochs=1.0, iterations=None)


@pytest.fixture(scope="module")
def data(small_mnist) -> nn.data.Dataset:
    return small_mnist


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
    assert gallery.count_label.text() == f"{len(wrong):,} wrong of {len(data.test_y):,} ({accuracy:.2f} %)"
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
    with qtbot.waitSignal(panel.cell_selected, timeout=2000) as blocker:
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
            text = panel._cell_texts[t][p].textItem.toPlainText()
            assert text == (str(expected[t, p]) if expected[t, p] else "")
    off = expected.astype(float)
    np.fill_diagonal(off, 0)
    np.testing.assert_array_equal(panel.image_item.image, off)
    assert tuple(panel.image_item.levels) == (0.0, max(1.0, off.max()))
    recall = np.diag(expected) / expected.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.diag(expected) / expected.sum(axis=0)
    for c in range(10):
        assert panel.recall_texts[c].textItem.toPlainText() == f"{recall[c] * 100:.0f}"
        shown = panel.precision_texts[c].textItem.toPlainText()
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
    qtbot.waitUntil(lambda: gallery._evaluation is late.test, timeout=3000)
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
    assert rows[0] == ["index", "true", "predicted", "confidence"] + [f"p{c}" for c in range(10)]
    body = rows[1:]
    shown = gallery.shown_indices()
    assert [int(r[0]) for r in body] == shown and len(shown) > 0
    assert [int(r[1]) for r in body] == data.test_y[shown].tolist()
    assert [int(r[2]) for r in body] == snap.test.predictions[shown].tolist()
    probs = np.array([[float(v) for v in r[4:]] for r in body])
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


# -- common API ------------------------------------------------------------------------------------

def test_inspect_panels_have_the_common_api(qtbot, data, run):
    snap = run[2]
    for panel in (MistakesGallery(data), ConfusionMatrixPanel(data), PinnedDigitsPanel(data)):
        qtbot.addWidget(panel)
        assert panel.toolTip()
        assert 250 <= panel.minimumWidth() <= 420 and 200 <= panel.minimumHeight() <= 360
        panel.show_snapshot(snap)
        panel.clear()
        panel.show_snapshot(snap)


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
