"""Class names in every panel and export (issue 17.2): a data set that names its classes
(``classes.txt``, or Fashion-MNIST recognised by its labels) is spoken of by those names
everywhere; MNIST's classes stay 0-9."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import Qt

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_window import open_window  # noqa: E402
from idx_files import random_idx_arrays, write_idx  # noqa: E402

import nn.data  # noqa: E402
from visualizer.class_axis import ClassAxis  # noqa: E402
from visualizer.export import export_report  # noqa: E402

TIMEOUT_MS = 30_000
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """Random 28x28 images (300 train / 100 test) whose classes.txt names Fashion-MNIST's classes."""
    folder = tmp_path_factory.mktemp("named")
    for name, array in zip((nn.data.TRAIN_IMAGES, nn.data.TRAIN_LABELS, nn.data.TEST_IMAGES, nn.data.TEST_LABELS),
                           random_idx_arrays(300, 100)):
        write_idx(folder / name, array)
    (folder / "classes.txt").write_text("\n".join(FASHION) + "\n")
    data = nn.data.load_mnist(folder)
    assert data.class_names == FASHION
    return data


def show(qtbot, win, *docks):
    for name in docks:
        win.docks[name].show()
        win.docks[name].raise_()
        qtbot.waitUntil(lambda name=name: win.on_screen(win.docks[name].widget()), timeout=TIMEOUT_MS)
    from visualizer.docks import panel_in

    win.rendering.catch_up(panel_in(win.docks[docks[-1]]))
    qtbot.wait(50)


def axis_labels(plot, side="bottom"):
    axis = plot.getAxis(side)
    return [text for _, text in axis.labels] if isinstance(axis, ClassAxis) else [t for _, t in axis._tickLevels[0]]


def test_every_panel_speaks_of_the_classes_by_name(qtbot, named, tmp_path):
    win = open_window(qtbot, named, steps=2, hidden="32")
    snap = win.last_snapshot
    assert snap.class_names == FASHION
    # softmax bars and title
    show(qtbot, win, "softmax")
    softmax = win.softmax_panel
    assert axis_labels(softmax.plot) == list(FASHION)
    true = int(named.test_y[softmax.selected_index])
    qtbot.waitUntil(lambda: "predicted –" not in softmax.title.text(), timeout=TIMEOUT_MS)
    assert f">{FASHION[true]}</b>" in softmax.title.text()
    # the class probabilities and the confusion matrix, both axes
    show(qtbot, win, "class_probs")
    win.class_panel.show_snapshot(snap)
    assert axis_labels(win.class_panel.plot) == list(FASHION)
    assert axis_labels(win.class_panel.plot, "left") == list(FASHION)
    show(qtbot, win, "confusion")
    confusion = win.confusion_panel
    assert axis_labels(confusion.plot) == list(FASHION) + ["recall"]
    assert axis_labels(confusion.plot, "left") == list(FASHION) + ["precision"]
    # a confusion cell lists its images in the gallery, named
    wrong = snap.test.predictions != named.test_y
    k = int(np.flatnonzero(wrong)[0])
    t, p = int(named.test_y[k]), int(snap.test.predictions[k])
    confusion.click_cell(t, p)
    assert f"{FASHION[t]} read as {FASHION[p]}" in confusion.hint.text()
    gallery = win.gallery
    qtbot.waitUntil(lambda: gallery.cell_chip.isVisible(), timeout=TIMEOUT_MS)
    assert gallery.cell_chip.text() == f"{FASHION[t]} → {FASHION[p]}  ✕"
    assert gallery.model.index(0).data() == f"{FASHION[t]} → {FASHION[p]}"
    assert FASHION[t] in gallery.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert [gallery.true_combo.itemText(i) for i in range(1, 11)] == list(FASHION)
    assert gallery.cell_size.width() > 70  # wide enough for the names
    path = tmp_path / "mistakes.csv"
    assert gallery.export_csv(path)
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0][-2:] == ["true_name", "predicted_name"]
    assert rows[1][-2:] == [FASHION[t], FASHION[p]]
    # pins
    win.set_pins([k])
    show(qtbot, win, "pins")
    qtbot.waitUntil(lambda: k in win.pins_panel.pinned_indices(), timeout=TIMEOUT_MS)
    assert f"(true {FASHION[t]})" in win.pins_panel.row_widget(k).name.text()
    # the map's legend and class labels
    show(qtbot, win, "pca")
    qtbot.waitUntil(lambda: win.map_panel.shown_indices() != [], timeout=TIMEOUT_MS)
    legend = win.map_panel.legend.text()
    assert all(name in legend for name in FASHION)
    assert [text.toPlainText() for text in win.map_panel.class_labels] == list(FASHION)
    # the drawing pad's class list and the activations' output
    assert [win.drawing_panel.class_combo.itemText(i) for i in range(10)] == list(FASHION)
    show(qtbot, win, "activations")
    win.activations_panel.show_snapshot(win.last_snapshot)
    qtbot.waitUntil(lambda: "predicted" in win.activations_panel.softmax_label.text, timeout=TIMEOUT_MS)
    assert any(f"<b>{name}</b>" in win.activations_panel.softmax_label.text for name in FASHION)
    # the report names them
    _, json_path = export_report(win, win.last_snapshot, tmp_path / "report")
    assert json.loads(json_path.read_text())["class_names"] == list(FASHION)
    win.close()


def test_class_templates_are_named(qtbot, named):
    win = open_window(qtbot, named, steps=2, hidden="")
    show(qtbot, win, "weights")
    win.weights_panel.show_snapshot(win.last_snapshot)
    qtbot.waitUntil(lambda: win.weights_panel.templates and len(win.weights_panel._labels) == 10, timeout=TIMEOUT_MS)
    assert [label.toPlainText() for label in win.weights_panel._labels] == list(FASHION)
    win.close()


def test_mnist_keeps_its_digits(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist, steps=2, hidden="32")
    show(qtbot, win, "softmax")
    assert axis_labels(win.softmax_panel.plot) == [str(d) for d in range(10)]
    assert not win.softmax_panel.plot.getAxis("bottom").turned  # digits fit side by side
    assert win.gallery.cell_size.width() == 70
    win.close()


def test_long_names_turn_to_fit(qtbot, named):
    """Names that do not fit side by side under the bars are drawn turned, and the axis grows for them."""
    win = open_window(qtbot, named, steps=2, hidden="32")
    show(qtbot, win, "softmax")
    axis = win.softmax_panel.plot.getAxis("bottom")
    win.softmax_panel.resize(320, 400)
    qtbot.waitUntil(lambda: axis.turned, timeout=TIMEOUT_MS)
    assert axis.shown_labels() == list(FASHION)
    assert axis.height() > 60  # room for "T-shirt/top" read upwards
    image = win.softmax_panel.plot_widget.grab().toImage()
    assert not image.isNull()
    win.close()


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
def test_fashion_mnist_is_named_without_a_classes_file(qtbot):
    data = nn.data.load_mnist(FASHION_DIR).subset(3000, 1000)
    win = open_window(qtbot, data, steps=2, hidden="32")
    assert win.last_snapshot.class_names == FASHION
    assert "Fashion-MNIST" in win.windowTitle() or win.dataset.source.startswith("Fashion-MNIST")
    win.close()
