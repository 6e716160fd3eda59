"""The main window's dock widgets, built from the panel table, and its layouts.

The controls dock (not a panel: it shows no snapshot) sits on the left; the table's "bottom"
panels side by side under the curves, each the first tab of its group.
"""

from __future__ import annotations

from PyQt6.QtCore import QPoint, QRect, Qt
from PyQt6.QtWidgets import QDockWidget, QFrame, QLabel, QMainWindow, QScrollArea, QStackedWidget, QTabBar, QWidget

from . import style
from .panel_table import DOCKED

CONTROLS = ("controls", "Controls", "Network, hyperparameters and Start/Pause/Step/Reset")
CONTROLS_WIDTH = 300
BOTTOM_HEIGHT = 520


class DataSlot(QStackedWidget):
    """Holds a panel that needs the data; says so until the data has loaded."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.message = QLabel("Loading MNIST…")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        style.themed_css(self.message, "color: $muted;")
        self.addWidget(self.message)
        self.panel = None

    def install(self, panel: QWidget) -> None:
        if self.panel is not None:
            self.removeWidget(self.panel)
            self.panel.deleteLater()
        self.panel = panel
        self.addWidget(panel)
        self.setCurrentWidget(panel)


def panel_in(dock: QDockWidget):
    """The panel a dock shows, or None (the controls, or a panel still waiting for the data)."""
    widget = dock.widget()
    if isinstance(widget, DataSlot):
        return widget.panel
    return None if isinstance(widget, QScrollArea) else widget


def _dock(window: QMainWindow, name: str, title: str, widget: QWidget, tip: str) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)  # saveState/restoreState find docks by name
    dock.setWidget(widget)
    dock.setToolTip(tip)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    return dock


def _scrolling(controls: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidget(controls)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # Wide enough for every field and button, plus a vertical scroll bar on small screens.
    scroll.setMinimumWidth(controls.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    return scroll


def build_docks(window: QMainWindow, controls: QWidget, widgets: dict[str, QWidget]) -> dict[str, QDockWidget]:
    """The controls' dock and one dock per docked panel (``widgets`` by name), in their default
    places; returns the docks by name, in the order of the View menu."""
    docks = {CONTROLS[0]: _dock(window, CONTROLS[0], CONTROLS[1], _scrolling(controls), CONTROLS[2])}
    for spec in DOCKED:
        docks[spec.name] = _dock(window, spec.name, spec.title, widgets[spec.name], spec.tip)
    window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks[CONTROLS[0]])
    bottom = [spec for spec in DOCKED if spec.place == "bottom"]
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, docks[bottom[0].name])
    for left, right in zip(bottom, bottom[1:]):
        window.splitDockWidget(docks[left.name], docks[right.name], Qt.Orientation.Horizontal)
    # Each group is tabified onto its first dock (Qt misplaces a dock tabified onto a dock that
    # is itself a non-first tab), one group after the other.
    for first in bottom:
        for spec in DOCKED:
            if spec.place == first.name:
                window.tabifyDockWidget(docks[first.name], docks[spec.name])
                # Lay out each step: otherwise Qt (6.11) leaves the tab bar of the group before
                # this step behind, visible, drawn over the status bar.
                window.layout().activate()
    raise_first_tabs(docks)
    window.resizeDocks([docks[CONTROLS[0]]], [CONTROLS_WIDTH], Qt.Orientation.Horizontal)
    window.resizeDocks([docks[s.name] for s in bottom], [s.width for s in bottom], Qt.Orientation.Horizontal)
    window.resizeDocks([docks[bottom[0].name]], [BOTTOM_HEIGHT], Qt.Orientation.Vertical)
    return docks


def raise_first_tabs(docks: dict[str, QDockWidget]) -> None:
    for spec in DOCKED:
        if spec.place == "bottom":
            docks[spec.name].raise_()


def restore_layout(window: QMainWindow, docks: dict[str, QDockWidget], state) -> bool:
    """``restoreState``, then hide the tab bars of the layout it replaced: Qt (6.11) gives the
    restored tab groups new tab bars but leaves the old ones visible, in their old places
    (e.g. over the status bar)."""
    before = [bar for bar in window.findChildren(QTabBar) if bar.parent() is window and not bar.isHidden()]
    restored = window.restoreState(state)
    window.layout().activate()
    groups = set()
    for dock in docks.values():
        tabbed = window.tabifiedDockWidgets(dock)
        if tabbed and not dock.isFloating():
            groups.add(frozenset(d.windowTitle() for d in (dock, *tabbed)))

    def tabs(bar):
        return frozenset(bar.tabText(i) for i in range(bar.count()))

    newer = {tabs(bar) for bar in window.findChildren(QTabBar) if bar.parent() is window and bar not in before}
    for bar in before:
        # Left behind: its group is gone, or the group has a newer bar. Otherwise Qt uses it.
        if tabs(bar) not in groups or tabs(bar) in newer:
            bar.hide()
    return restored


def on_screen(window: QMainWindow, widget: QWidget) -> bool:
    """Whether a person can see ``widget``: Qt keeps the docks of inactive tabs "visible" but
    moves them outside the window, so their geometry tells."""
    if not widget.isVisible():
        return False
    if widget.window() is not window:  # a floating dock: its own window
        return True
    return window.rect().intersects(QRect(widget.mapTo(window, QPoint(0, 0)), widget.size()))
