"""Numbers in the class matrices (issue 15.7, issue 18.2): they fit their cells at any size, and a
data set of many classes gets its matrices as images, without one text item per cell."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from nn.trainer import Evaluation  # noqa: E402
from visualizer.panels.class_probs import ClassProbabilityPanel  # noqa: E402
from visualizer.panels.confusion import ConfusionMatrixPanel  # noqa: E402


def evaluation(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> Evaluation:
    probs = np.full((len(labels), n_classes), 0.1 / n_classes)
    probs[np.arange(len(labels)), predictions] += 0.9
    return Evaluation.from_probs(1, 1, 0.5, float(np.mean(labels == predictions)), probs, labels, n_classes)


def text_items(panel) -> list:
    return [item for item in panel.plot.items if isinstance(item, pg.TextItem)]


def shown(panel, qtbot, width: int, height: int) -> None:
    panel.resize(width, height)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.wait(50)  # the view's resize reaches the texts


def test_many_classes_make_no_text_item_per_cell(qtbot):
    n = 200
    rng = np.random.default_rng(0)
    labels = np.arange(4000) % n
    predictions = np.where(rng.random(4000) < 0.7, labels, rng.integers(0, n, 4000))
    snap = SimpleNamespace(test=evaluation(labels, predictions, n), class_names=())
    confusion = ConfusionMatrixPanel(SimpleNamespace(n_classes=n, test_y=labels, class_names=()))
    probabilities = ClassProbabilityPanel()
    for panel in (confusion, probabilities):
        qtbot.addWidget(panel)
        panel.show_snapshot(snap)
        assert len(text_items(panel)) < 10  # the title-like items only, not 40,000 cells
        assert panel.image_item.image.shape == (n, n)
        for axis in ("bottom", "left"):
            ticks = panel.plot.getAxis(axis)._tickLevels[0]
            assert len(ticks) <= 21  # labels every few classes, not 200 run together
    assert confusion.matrix()[5].sum() == 20
    confusion.click_cell(3, 7)
    assert confusion.selected_cell == (3, 7)


def test_numbers_fit_their_cells_at_any_panel_size(qtbot):
    """Four-digit counts and the recall/precision margins never overlap their neighbours."""
    labels = np.repeat(np.arange(10), 1200)
    predictions = labels.copy()
    predictions[::97] = (labels[::97] + 1) % 10
    snap = SimpleNamespace(test=evaluation(labels, predictions, 10), class_names=())
    confusion = ConfusionMatrixPanel(SimpleNamespace(n_classes=10, test_y=labels, class_names=()))
    probabilities = ClassProbabilityPanel()
    for panel in (confusion, probabilities):
        qtbot.addWidget(panel)
        panel.show_snapshot(snap)
        for width, height in ((300, 300), (420, 380), (900, 800)):
            shown(panel, qtbot, width, height)
            cell = 1.0 / panel.plot.vb.viewPixelSize()[0]
            visible = [item for item in text_items(panel) if item.isVisible() and item.textItem.toPlainText()
                       and item is not getattr(panel, "empty_text", None)]
            for item in visible:
                text = item.textItem.toPlainText()
                if text == "in %":
                    continue
                width_px = QtGui.QFontMetricsF(item.textItem.font()).horizontalAdvance(text)
                assert width_px <= cell, (type(panel).__name__, width, text, width_px, cell)
        # at a generous size (the last) the numbers are shown
        groups = ([confusion.diagonal_texts, confusion.mistake_texts, confusion.precision_texts]
                  if panel is confusion else [probabilities.cell_texts])
        assert all(group.point_size is not None for group in groups)
    assert confusion.cell_text(0, 0) == str(int(confusion.matrix()[0, 0]))


def test_learning_panel_labels_never_pile_up(qtbot):
    """Issue 15.7: the empty log axes show whole decades (not 2 3 4 ... piled up), and each axis
    label fits beside its plot."""
    from visualizer.panels.learning import LearningPanel

    panel = LearningPanel()
    qtbot.addWidget(panel)
    shown(panel, qtbot, 440, 330)
    for plot in (panel.grad_plot, panel.ratio_plot):
        ticks = plot.getAxis("left")._tickLevels
        assert ticks is not None and len(ticks[0]) <= 6 and ticks[1] == []
    for plot in (panel.grad_plot, panel.ratio_plot, panel.inactive_plot):
        label = plot.getAxis("left").label
        assert label.boundingRect().width() <= plot.vb.height(), label.toPlainText()


def test_class_digits_under_the_confusion_matrix_read_across_beside_recall(qtbot):
    """Seen at 1280x800: one wide label ("recall", beside the last column) turned every digit
    under the matrix upwards. Digits turn only where two neighbours would really touch."""
    labels = np.repeat(np.arange(10), 100)
    snap = SimpleNamespace(test=evaluation(labels, labels, 10), class_names=())
    panel = ConfusionMatrixPanel(SimpleNamespace(n_classes=10, test_y=labels, class_names=()))
    qtbot.addWidget(panel)
    panel.show_snapshot(snap)
    axis = panel.plot.getAxis("bottom")
    shown(panel, qtbot, 430, 380)  # the Confusion tab of a 1280x800 window
    panel.plot_widget.grab()  # (the axis works out its labels when it paints)
    assert not axis.turned
    shown(panel, qtbot, 900, 800)
    panel.plot_widget.grab()
    assert not axis.turned
