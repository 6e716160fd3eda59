"""The export menus: right-click a plot ("Export as PNG…", "Export as SVG…"), and File > Export.

pyqtgraph's own context menu is switched off in the panels (its view and axis options would fight
the ranges the panels set), so this small menu takes its place for exporting. It writes through
:func:`visualizer.export.export_plot`, the same code as File > Export: atomic files, PNG at the
plot's size on screen, SVG with a pixel size. Success is reported as a status tip (the main
window's status bar shows it); a failure in a message box, never an exception.

File > Export (:class:`FileExports`) writes the curves, the metric history, the runs table and a
report; there, success shows in the status bar and a failure in the window's banner.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from .settings import app_settings, last_folder, remember_folder

FORMATS = {".png": "PNG image (*.png)", ".svg": "SVG image (*.svg)"}


class PlotExportMenu(QtCore.QObject):
    """The export menu of one plot view. ``source`` is what :func:`export_plot` exports (a
    PlotItem, or the view itself for a layout of several plots); ``name`` names it in titles and
    the suggested file name."""

    exported = QtCore.pyqtSignal(str)  # the path written

    def __init__(self, view: pg.GraphicsView, source, name: str, title: Callable[[], str] | None = None):
        super().__init__(view)
        self.view, self.source, self.name, self.title = view, source, name, title
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
        settings = app_settings()  # the folder File > Export used last
        folder = last_folder(settings)
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "plot"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.view.window(), f"Export the {self.name} plot as {suffix[1:].upper()}",
            str(folder / f"{slug}{suffix}"), FORMATS[suffix])
        if not path:
            return None
        target = Path(path)
        if target.suffix.lower() not in FORMATS:
            target = target.with_name(target.name + suffix)
        remember_folder(settings, target)
        return self.export_to(target)

    def export_to(self, path: str | Path) -> Path | None:
        from .export import export_plot

        try:
            written = export_plot(self.source, path, title=self.title() if self.title else None)
        except Exception as exc:  # noqa: BLE001 - any failure to write is shown, the app goes on
            QtWidgets.QMessageBox.warning(self.view.window(), "Export failed",
                                          f"Could not export the {self.name} plot: {exc}")
            return None
        QtWidgets.QApplication.sendEvent(self.view, QtGui.QStatusTipEvent(f"Exported the {self.name} plot: {written}"))
        self.exported.emit(str(written))
        return written


def add_export_menu(view: pg.GraphicsView, source, name: str, title: Callable[[], str] | None = None) -> PlotExportMenu:
    """Give ``view`` the right-click export menu (see :class:`PlotExportMenu`); ``title()``, if
    given, is the title drawn above the plot in the file."""
    return PlotExportMenu(view, source, name, title)


class FileExports:
    """File > Export of one main window (its ``settings``, ``banner``, ``last_snapshot``,
    ``runs_panel``, ``docks`` and ``dataset``)."""

    def __init__(self, window):
        self.window = window

    def add_actions(self, menu: QtWidgets.QMenu, action) -> None:
        """Fill ``menu``; ``action(text, slot, shortcut=None, tip="")`` makes each QAction."""
        w = self.window
        for title, panel in (("Loss plot", w.loss_panel), ("Accuracy plot", w.accuracy_panel)):
            menu.addAction(action(f"{title} as PNG or SVG…", lambda _=False, p=panel, t=title: self.ask_plot(p, t)))
        menu.addAction(action("Metric history as CSV…", self.ask_history))
        menu.addAction(action("Runs table as CSV…", self.ask_runs))
        menu.addAction(action("Report (window PNG + JSON)…", self.ask_report, "Ctrl+E",
                              "A picture of the whole window and the configuration and final figures"))

    def _path(self, title: str, name: str, filters: str) -> str:
        settings = self.window.settings
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, str(last_folder(settings) / name), filters)
        if path:
            remember_folder(settings, path)
        return path

    def _exporting(self, what: str, write) -> None:
        """Run an export; success in the status bar, failure in the banner, never a crash."""
        try:
            written = write()
        except Exception as exc:  # noqa: BLE001 - any failure to write is shown, the app goes on
            self.window.banner.show_message(f"Could not export {what}: {exc}", "error")
            return
        self.window.statusBar().showMessage(f"Exported {what}: {written}", 5000)

    def ask_plot(self, panel, title: str) -> None:
        from .export import export_plot

        path = self._path(f"Export {title.lower()}", f"{title.lower().replace(' ', '-')}.png",
                          "PNG image (*.png);;SVG image (*.svg)")
        if path:
            self._exporting(title.lower(), lambda: export_plot(panel.plot, path, title=panel.title.text()))

    def ask_history(self) -> None:
        from .export import export_history_csv

        snap = self.window.last_snapshot
        if snap is None:
            return
        path = self._path("Export metric history", "metric-history.csv", "CSV (*.csv)")
        if path:
            self._exporting("the metric history", lambda: export_history_csv(snap, path))

    def ask_runs(self) -> None:
        w = self.window
        w.docks["runs"].raise_()  # show what is exported (and bring its current row up to date)
        if w.last_snapshot is not None:
            w.runs_panel.show_snapshot(w.last_snapshot)
        path = self._path("Export runs", "runs.csv", "CSV (*.csv)")
        if path:
            self._exporting("the runs table", lambda: w.runs_panel.export_csv(path) and path)

    def ask_report(self) -> None:
        from .export import export_report

        w, snap = self.window, self.window.last_snapshot
        if snap is None:
            return
        path = self._path("Export report", "softmax-report", "Report (*.png *.json)")
        if path:
            source = w.dataset.source if w.dataset is not None else None
            stem = path.removesuffix(".png").removesuffix(".json")
            self._exporting("the report", lambda: ", ".join(map(str, export_report(w, snap, stem, source))))
