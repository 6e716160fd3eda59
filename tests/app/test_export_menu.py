"""Right-click a plot: "Export as PNG…" / "Export as SVG…" write valid files of the plot's size."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.config import TrainConfig
from nn.trainer import Trainer
from visualizer.export_menu import PlotExportMenu
from visualizer.main_window import MainWindow
from visualizer.panels import LossPanel
from visualizer.worker import State

TIMEOUT_MS = 30_000
CONFIG = TrainConfig(hidden=(16,), activation="relu", optimizer="adam", lr=0.003, batch_size=64,
                     epochs=None, iterations=30)


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


@pytest.fixture
def loss_panel(qtbot, small_mnist):
    trainer = Trainer(small_mnist, CONFIG)
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    panel = LossPanel()
    qtbot.addWidget(panel)
    panel.resize(520, 340)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_snapshot(trainer.snapshot())
    return panel


def test_right_click_on_a_plot_offers_png_and_svg_export(qtbot, loss_panel, save_as, tmp_path):
    view = loss_panel.plot_widget
    menu = view.export_menu
    assert [a.text() for a in menu.menu.actions()] == ["Export as PNG…", "Export as SVG…"]
    assert not menu.menu.isVisible()
    qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.RightButton, pos=view.viewport().rect().center())
    qtbot.waitUntil(menu.menu.isVisible, timeout=3000)  # the right-click opened it
    menu.menu.hide()
    key = QtGui.QContextMenuEvent(QtGui.QContextMenuEvent.Reason.Keyboard, QtCore.QPoint(5, 5))
    QtWidgets.QApplication.sendEvent(view, key)  # so does the menu key
    qtbot.waitUntil(menu.menu.isVisible, timeout=3000)
    menu.menu.hide()

    save_as.extend([tmp_path / "loss", tmp_path / "loss.svg"])  # a name without extension gets one
    with qtbot.waitSignal(menu.exported, timeout=5000) as written:
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
    assert len(exported) == 14  # two curves, two runs plots, two learning tabs and one per other panel
    assert win.statusBar().currentMessage().startswith("Exported the ")  # the status tip reached the window
    win.close()
