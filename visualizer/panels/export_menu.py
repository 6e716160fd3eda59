"""Right-click a plot: "Export as PNG…" or "Export as SVG…".

pyqtgraph's own context menu is switched off in the panels (its view and axis options would fight
the ranges the panels set), so this small menu takes its place for exporting. It writes through
:func:`visualizer.export.export_plot`, the same code as File > Export: atomic files, PNG at the
plot's size on screen, SVG with a pixel size. Success is reported as a status tip (the main
window's status bar shows it); a failure in a message box, never an exception.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

FORMATS = {".png": "PNG image (*.png)", ".svg": "SVG image (*.svg)"}


class PlotExportMenu(QtCore.QObject):
    """The export menu of one plot view. ``source`` is what :func:`export_plot` exports (a
    PlotItem, or the view itself for a layout of several plots); ``name`` names it in titles and
    the suggested file name."""

    exported = QtCore.pyqtSignal(str)  # the path written

    def __init__(self, view: pg.GraphicsView, source, name: str):
        super().__init__(view)
        self.view, self.source, self.name = view, source, name
        self.menu = QtWidgets.QMenu(view)
        self.png_action = self.menu.addAction("Export as PNG…")
        self.png_action.setToolTip(f"Save the {name} plot as a PNG image, at its size on screen")
        self.png_action.triggered.connect(lambda: self.ask(".png"))
        self.svg_action = self.menu.addAction("Export as SVG…")
        self.svg_action.setToolTip(f"Save the {name} plot as an SVG vector image")
        self.svg_action.triggered.connect(lambda: self.ask(".svg"))
        view.scene().sigMouseClicked.connect(self._clicked)
        view.installEventFilter(self)  # the menu key (or Shift+F10) opens it too
        view.export_menu = self  # found by tests and by anyone who wants to extend the menu

    def _clicked(self, event) -> None:
        # A click (not a drag: right-drag still zooms where zooming is on) that no item took.
        if event.button() != QtCore.Qt.MouseButton.RightButton or event.isAccepted():
            return
        event.accept()
        self.menu.popup(event.screenPos().toPoint())

    def eventFilter(self, watched, event) -> bool:
        if (watched is self.view and event.type() == QtCore.QEvent.Type.ContextMenu
                and event.reason() == QtGui.QContextMenuEvent.Reason.Keyboard):
            self.menu.popup(self.view.mapToGlobal(self.view.rect().center()))
            return True
        return False

    def ask(self, suffix: str) -> Path | None:
        """Ask where to save the plot as ``suffix`` (".png" or ".svg"), then export it there."""
        settings = QtCore.QSettings()
        settings.setFallbacksEnabled(False)  # the folder File > Export used last, this app's only
        folder = Path(str(settings.value("last_folder", str(Path.home()))))
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "plot"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.view.window(), f"Export the {self.name} plot as {suffix[1:].upper()}",
            str(folder / f"{slug}{suffix}"), FORMATS[suffix])
        if not path:
            return None
        target = Path(path)
        if target.suffix.lower() not in FORMATS:
            target = target.with_name(target.name + suffix)
        settings.setValue("last_folder", str(target.parent))
        return self.export_to(target)

    def export_to(self, path: str | Path) -> Path | None:
        from ..export import export_plot

        try:
            written = export_plot(self.source, path)
        except Exception as exc:  # noqa: BLE001 - any failure to write is shown, the app goes on
            QtWidgets.QMessageBox.warning(self.view.window(), "Export failed",
                                          f"Could not export the {self.name} plot: {exc}")
            return None
        QtWidgets.QApplication.sendEvent(self.view, QtGui.QStatusTipEvent(f"Exported the {self.name} plot: {written}"))
        self.exported.emit(str(written))
        return written


def add_export_menu(view: pg.GraphicsView, source, name: str) -> PlotExportMenu:
    """Give ``view`` the right-click export menu (see :class:`PlotExportMenu`)."""
    return PlotExportMenu(view, source, name)
