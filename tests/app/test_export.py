"""Exports of real panels and a real run: plot images, the metric history as CSV, the report
(visualizer/export.py); and the menus that ask for them: right-click any plot, "Export as PNG…" /
"Export as SVG…", which write valid files of the plot's size (visualizer/export_menu.py)."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets

import nn
import nn.data
from nn.config import TrainConfig
from nn.history import Curve
from nn.trainer import Trainer
from visualizer.export import (
    ExportError,
    export_history_csv,
    export_plot,
    export_report,
    read_history_csv,
)
from visualizer.export_menu import PlotExportMenu
from visualizer.main_window import MainWindow
from visualizer.panels import LossPanel
from visualizer.worker import State

TIMEOUT_MS = 30_000
CONFIG = TrainConfig(hidden=(16,), activation="relu", optimizer="adam", lr=0.003, batch_size=64,
                     epochs=None, iterations=30)


@pytest.fixture(scope="module")
def data(small_mnist) -> nn.data.Dataset:
    return small_mnist


@pytest.fixture(scope="module")
def snap(data):
    """A snapshot with test evaluations at steps that do and do not have a train point."""
    trainer = Trainer(data, CONFIG)
    trainer.evaluate_test()  # step 0: no training point there
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    return trainer.snapshot()


@pytest.fixture
def loss_panel(qtbot, snap):
    panel = LossPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 320)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_snapshot(snap)
    return panel


def test_png_of_a_real_panel_has_the_plot_size(loss_panel, tmp_path):
    view = loss_panel.plot_widget
    path = export_plot(loss_panel, tmp_path / "loss.png")
    assert path == tmp_path / "loss.png"
    image = QtGui.QImage(str(path))
    assert not image.isNull()
    rect = loss_panel.plot.sceneBoundingRect()
    assert (image.width(), image.height()) == (int(rect.width()), int(rect.height()))
    assert abs(image.width() - view.width()) <= 4 and abs(image.height() - view.height()) <= 4
    # not blank: the curves and axes were drawn
    pixels = QtGui.QImage(image).convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    values = np.frombuffer(pixels.constBits().asstring(pixels.sizeInBytes()), np.uint8)
    assert values.min() < 100 and values.max() > 200


def test_png_at_a_given_width_keeps_the_aspect_ratio(loss_panel, tmp_path):
    path = export_plot(loss_panel.plot_widget, tmp_path / "wide.PNG", width=1000)
    image = QtGui.QImage(str(path))
    rect = loss_panel.plot.sceneBoundingRect()
    assert image.width() == 1000
    assert abs(image.height() - 1000 * rect.height() / rect.width()) <= 1


def test_svg_of_a_plot_item_parses_and_has_a_size(loss_panel, tmp_path):
    path = export_plot(loss_panel.plot, tmp_path / "loss.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    rect = loss_panel.plot.sceneBoundingRect()
    assert root.get("width") == f"{int(round(rect.width()))}px"
    assert root.get("height") == f"{int(round(rect.height()))}px"
    assert "viewBox" in root.attrib
    assert len(list(root.iter())) > 20  # axes, curves, labels


def test_export_plot_refuses_unsupported_or_unwritable_paths(loss_panel, tmp_path):
    with pytest.raises(ValueError, match="loss.jpg"):
        export_plot(loss_panel, tmp_path / "loss.jpg")
    with pytest.raises(ValueError, match="missing"):
        export_plot(loss_panel, tmp_path / "missing" / "loss.png")
    with pytest.raises(ExportError):
        export_plot(QtWidgets.QLabel("not a plot"), tmp_path / "x.png")
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(ValueError, match="locked"):
                export_plot(loss_panel, locked / "loss.png")
        finally:
            locked.chmod(0o700)
    assert not list(tmp_path.rglob("*.tmp"))


def test_history_csv_round_trips(snap, tmp_path):
    path = export_history_csv(snap, tmp_path / "history.csv")
    train, test = read_history_csv(path)
    for got, want in ((train, snap.train_curve), (test, snap.test_curve)):
        assert isinstance(got, Curve)
        for name in ("step", "samples", "loss", "accuracy"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    lines = path.read_text().splitlines()
    assert lines[0] == "step,samples,epoch,train_loss,train_accuracy,test_loss,test_accuracy"
    # merged by step: one row per step; the step-0 evaluation has no training columns
    steps = sorted(set(snap.train_curve.step) | set(snap.test_curve.step))
    assert len(lines) - 1 == len(steps)
    first = lines[1].split(",")
    assert first[0] == "0" and first[3] == first[4] == "" and first[5] and first[6]
    last = lines[-1].split(",")
    assert all(last)  # a training step with a test evaluation: every column filled
    assert float(last[2]) == snap.samples_seen / snap.n_train


def test_report_writes_a_screenshot_and_the_configuration(qtbot, snap, tmp_path):
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    window.resize(420, 260)
    QtWidgets.QVBoxLayout(window).addWidget(QtWidgets.QLabel("Softmax Visualizer"))
    window.show()
    qtbot.waitExposed(window)
    png, js = export_report(window, snap, tmp_path / "report", data_source="bundled MNIST")
    assert (png, js) == (tmp_path / "report.png", tmp_path / "report.json")
    image = QtGui.QImage(str(png))
    ratio = window.devicePixelRatioF()
    assert (image.width(), image.height()) == (round(420 * ratio), round(260 * ratio))
    report = json.loads(js.read_text())
    assert report["config"] == snap.config.to_dict()
    assert report["layer_sizes"] == list(snap.layer_sizes)
    assert report["data_source"] == "bundled MNIST"
    assert report["app_version"] == nn.__version__
    assert report["timestamp"]
    metrics = report["metrics"]
    assert metrics["step"] == snap.step and metrics["samples_seen"] == snap.samples_seen
    assert metrics["test_accuracy"] == snap.test.accuracy and metrics["test_loss"] == snap.test.loss
    assert metrics["train_loss"] == snap.train_loss
    assert "seconds_to_98" in metrics and metrics["train_seconds"] == snap.train_seconds

    # a folder: the files get a dated name
    png2, js2 = export_report(window, snap, tmp_path)
    assert png2.parent == tmp_path and png2.stem == js2.stem and png2.stem.startswith("softmax-report-")
    with pytest.raises(ValueError):
        export_report(window, snap, tmp_path / "missing" / "report")


def test_svg_falls_back_to_qt_when_pyqtgraph_fails(loss_panel, tmp_path, monkeypatch):
    import pyqtgraph.exporters

    def broken(self, *args, **kwargs):
        raise ValueError("not enough values to unpack")

    monkeypatch.setattr(pyqtgraph.exporters.SVGExporter, "export", broken)
    path = export_plot(loss_panel, tmp_path / "fallback.svg")
    root = ET.parse(path).getroot()
    rect = loss_panel.plot.sceneBoundingRect()
    assert root.get("width") == f"{int(round(rect.width()))}px"
    assert len(list(root.iter())) > 20


def test_closed_svg_paths_become_lines_back_to_the_start():
    from visualizer.export import _close_as_lines

    assert _close_as_lines("M0,0 L4,0 L4,3 Z M5,5 L6,6Z") == "M0,0 L4,0 L4,3 L0,0 M5,5 L6,6 L5,5"
    assert _close_as_lines("M1,2 C3,4 5,6 7,8") == "M1,2 C3,4 5,6 7,8"


# -- the export menus -------------------------------------------------------------------------------

class Answers(list):
    """The paths the save dialog answers with, in order ("" once they run out: cancelled), and
    what each dialog was asked (title, suggested path, filters)."""

    def __init__(self):
        super().__init__()
        self.asked = []


@pytest.fixture
def save_as(monkeypatch):
    answers = Answers()

    def dialog(parent, title, default, filters):
        answers.asked.append((title, default, filters))
        return (str(answers.pop(0)) if answers else "", "")

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", staticmethod(dialog))
    return answers


def source_size(menu: PlotExportMenu) -> tuple[int, int]:
    """The pixel size export_plot gives a PNG of what ``menu`` exports."""
    source = menu.source
    if isinstance(source, pg.PlotItem):
        rect = source.sceneBoundingRect()
    else:
        items = [i for i in source.ci.items if isinstance(i, pg.PlotItem)]
        rect = items[0].sceneBoundingRect() if len(items) == 1 else source.viewRect()  # what is on screen
    return int(rect.width()), int(rect.height())


def check_png(path, size) -> None:
    image = QtGui.QImage(str(path))
    assert not image.isNull(), path
    assert (image.width(), image.height()) == size, path
    gray = image.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    values = np.frombuffer(gray.constBits().asstring(gray.sizeInBytes()), np.uint8)
    assert values.max() - values.min() > 100, path  # something was drawn, not a blank rectangle


def check_svg(path, size) -> None:
    root = ET.parse(path).getroot()  # valid XML
    assert root.tag.endswith("svg"), path
    assert (root.get("width"), root.get("height")) == (f"{size[0]}px", f"{size[1]}px"), path
    tags = [element.tag.rsplit("}", 1)[-1] for element in root.iter()]
    drawn = [t for t in tags if t in ("path", "polyline", "polygon", "image", "text")]
    assert len(drawn) >= 3, (path, tags)  # a body that draws, not only the header and empty groups
    images = [e for e in root.iter() if e.tag.endswith("image")]
    for image in images:  # embedded pictures (weights, heat maps) carry their pixels
        href = image.get("{http://www.w3.org/1999/xlink}href") or image.get("href") or ""
        assert href.startswith("data:image/png;base64,") and len(href) > 200, path


def test_right_click_on_a_plot_offers_png_and_svg_export(qtbot, loss_panel, save_as, tmp_path):
    view = loss_panel.plot_widget
    menu = view.export_menu
    assert [a.text() for a in menu.menu.actions()] == ["Export as PNG…", "Export as SVG…"]
    assert not menu.menu.isVisible()
    qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.RightButton, pos=view.viewport().rect().center())
    qtbot.waitUntil(menu.menu.isVisible, timeout=TIMEOUT_MS)  # the right-click opened it
    menu.menu.hide()
    key = QtGui.QContextMenuEvent(QtGui.QContextMenuEvent.Reason.Keyboard, QtCore.QPoint(5, 5))
    QtWidgets.QApplication.sendEvent(view, key)  # so does the menu key
    qtbot.waitUntil(menu.menu.isVisible, timeout=TIMEOUT_MS)
    menu.menu.hide()

    save_as.extend([tmp_path / "loss", tmp_path / "loss.svg"])  # a name without extension gets one
    with qtbot.waitSignal(menu.exported, timeout=TIMEOUT_MS) as written:
        menu.png_action.trigger()
    assert written.args == [str(tmp_path / "loss.png")]
    check_png(tmp_path / "loss.png", source_size(menu))
    menu.svg_action.trigger()
    check_svg(tmp_path / "loss.svg", source_size(menu))
    title, default, filters = save_as.asked[0]
    assert "PNG" in title and default.endswith("loss.png") and "*.png" in filters
    assert "*.svg" in save_as.asked[1][2]
    # the next dialog opens where the last file went (the folder File > Export uses too)
    save_as.extend([""])
    menu.png_action.trigger()
    assert save_as.asked[-1][1] == str(tmp_path / "loss.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "loss.svg"]  # no temporary files left


def test_a_failed_export_is_shown_not_raised(loss_panel, save_as, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", staticmethod(lambda *args: warnings.append(args[2])))
    menu = loss_panel.plot_widget.export_menu
    save_as.extend([tmp_path / "missing" / "loss.png"])
    menu.png_action.trigger()
    assert len(warnings) == 1 and "missing" in warnings[0]
    assert not (tmp_path / "missing").exists()
    save_as.extend([""])  # cancelled: nothing happens
    menu.svg_action.trigger()
    assert len(warnings) == 1


def test_every_plot_in_the_window_exports_png_and_svg(qtbot, small_mnist, save_as, tmp_path):
    win = MainWindow(data=small_mnist, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    win.pin_digit(3)
    yy, xx = np.mgrid[0:28, 0:28]
    win.drawing_panel.set_drawing((np.abs(np.hypot(yy - 14, xx - 14) - 8) < 2).astype(float))
    for _ in range(4):
        win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 4 and win.last_snapshot.test is not None
                    and win.last_snapshot.activation_map is not None, timeout=TIMEOUT_MS)

    exported = []
    for panel in win.panels():
        dock = panel
        while dock is not None and not isinstance(dock, QtWidgets.QDockWidget):
            dock = dock.parentWidget()
        if dock is not None:  # the curves sit in the middle of the window, the rest in tabbed docks
            dock.raise_()
            qtbot.wait(30)
        for view in panel.findChildren(pg.GraphicsView):
            if view is getattr(panel, "image_widget", None):
                continue  # the softmax panel's digit: a picture, not a plot
            menu = getattr(view, "export_menu", None)
            assert isinstance(menu, PlotExportMenu), f"{type(panel).__name__} has a plot without the menu"
            stem = tmp_path / menu.name.replace(" ", "-").replace("'", "")
            save_as.extend([f"{stem}.png", f"{stem}.svg"])
            menu.png_action.trigger()
            menu.svg_action.trigger()
            check_png(f"{stem}.png", source_size(menu))
            check_svg(f"{stem}.svg", source_size(menu))
            exported.append(menu.name)
    assert len(exported) == 15  # two curves, two runs plots, two learning tabs and one per other panel (with one)
    assert win.statusBar().currentMessage().startswith("Exported the ")  # the status tip reached the window
    win.close()


def test_a_curve_panels_export_carries_its_title_and_leaves_the_plot_untitled(loss_panel, tmp_path):
    """The curve panels show their figures in a label above the plot; the exported file has them
    above the plot (drawn for the export only)."""
    title = loss_panel.title.text()
    assert "train" in title and "test" in title
    path = loss_panel.export_menu.export_to(tmp_path / "titled.svg")
    figures = re.findall(r"\d+\.\d{3}", title)  # the train and test losses it shows
    assert len(figures) == 2
    svg = path.read_text()
    assert all(figure in svg for figure in figures)
    untitled = export_plot(loss_panel.plot, tmp_path / "untitled.svg").read_text()
    assert not any(figure in untitled for figure in figures)
    assert not loss_panel.plot.titleLabel.isVisible()  # the plot on screen has no title of its own
