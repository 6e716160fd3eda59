"""The main window's dock widgets, built from the panel table, and its layouts.

The controls dock (not a panel: it shows no snapshot) sits on the left; the table's "bottom"
panels side by side under the curves, each the first tab of its group.

The layout adapts to the screen: the window starts at most as large as the screen's available
area; on a screen narrower than :data:`WIDE_SCREEN` the last group of tabs joins the first, so
the columns that remain fit (the window's minimum size fits 1280 x 800 and 1366 x 768); the
panels under the curves take at most :data:`BOTTOM_SHARE` of the height, so the curves keep
theirs. A remembered layout that no longer fits the screen gives way to the default one.
"""

from __future__ import annotations

from PyQt6.QtCore import QPoint, QRect, QSize, Qt
from PyQt6.QtWidgets import QDockWidget, QFrame, QLabel, QMainWindow, QScrollArea, QStackedWidget, QTabBar, QWidget

from . import style
from .panel_table import DOCKED

CONTROLS = ("controls", "Controls", "Network, hyperparameters and Start/Pause/Step/Reset")
CONTROLS_WIDTH = 300
BOTTOM_HEIGHT = 520
START_SIZE = QSize(1560, 960)  # on a screen that has room for it
WIDE_SCREEN = 1400  # narrower screens (in device-independent pixels) stack the bottom panels in fewer columns
BOTTOM_SHARE = 0.45  # of the height below the menus, at most, for the panels under the curves


class DataSlot(QStackedWidget):
    """Holds a panel that is built later (once the data has loaded, or just after the window's
    first paint); says so until then."""

    def __init__(self, message: str = "Loading MNIST…", parent=None):
        super().__init__(parent)
        self.message = QLabel(message)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        style.themed_css(self.message, "color: $muted;")
        self.addWidget(self.message)
        self.panel = None

    def install(self, panel: QWidget) -> None:
        if self.panel is not None:
            self.removeWidget(self.panel)
            self.panel.deleteLater()
        self.panel = panel
        keep_layout_minimum(panel)
        self.addWidget(panel)
        self.setCurrentWidget(panel)


def keep_layout_minimum(widget: QWidget) -> None:
    """A panel's explicit minimum size never below what its layout needs: a dock squeezed to it
    would draw the panel's widgets over each other (e.g. Draw's preview over its prediction)."""
    widget.setMinimumSize(widget.minimumSize().expandedTo(widget.minimumSizeHint()))


def panel_in(dock: QDockWidget):
    """The panel a dock shows, or None (the controls, or a panel still waiting for the data)."""
    widget = dock.widget()
    if isinstance(widget, DataSlot):
        return widget.panel
    return None if isinstance(widget, QScrollArea) else widget


def _dock(window: QMainWindow, name: str, title: str, widget: QWidget, tip: str) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)  # saveState/restoreState find docks by name
    if not isinstance(widget, (DataSlot, QScrollArea)):
        keep_layout_minimum(widget)
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


def available_size(window: QMainWindow) -> QSize:
    """The screen's area for windows (without task bars), where ``window`` is or will be shown."""
    screen = window.screen()
    return screen.availableGeometry().size() if screen is not None else START_SIZE


def start_size(available: QSize) -> QSize:
    """The window's first size: :data:`START_SIZE`, or the screen's available area if smaller."""
    return START_SIZE.boundedTo(available)


def build_docks(window: QMainWindow, controls: QWidget, widgets: dict[str, QWidget]) -> dict[str, QDockWidget]:
    """The controls' dock and one dock per docked panel (``widgets`` by name), in their default
    places for the screen (the window is sized to it first); returns the docks by name, in the
    order of the View menu."""
    docks = {CONTROLS[0]: _dock(window, CONTROLS[0], CONTROLS[1], _scrolling(controls), CONTROLS[2])}
    for spec in DOCKED:
        docks[spec.name] = _dock(window, spec.name, spec.title, widgets[spec.name], spec.tip)
    window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.resize(start_size(available_size(window)))
    arrange_default(window, docks)
    return docks


def columns(width: int) -> dict[str, str]:
    """For a screen ``width`` pixels wide: the bottom column each docked panel goes into (by
    name: the first dock of its column)."""
    bottom = [spec.name for spec in DOCKED if spec.place == "bottom"]
    column = {spec.name: spec.name if spec.place == "bottom" else spec.place for spec in DOCKED}
    if width >= WIDE_SCREEN or len(bottom) < 3:
        return column
    kept, dropped = bottom[:-1], bottom[-1]
    # the last column's tabs are dealt out to the others in turn, so no column gets them all
    members = [name for name in column if column[name] == dropped]
    column.update({name: kept[k % len(kept)] for k, name in enumerate(members)})
    return column


def arrange_default(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Every dock shown, in its default place for the screen the window is on and its size."""
    before = _tab_bars(window)
    column = columns(available_size(window).width())
    firsts = list(dict.fromkeys(column.values()))
    for dock in docks.values():
        dock.setFloating(False)
        dock.show()
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks[CONTROLS[0]])
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, docks[firsts[0]])
    for left, right in zip(firsts, firsts[1:]):
        window.splitDockWidget(docks[left], docks[right], Qt.Orientation.Horizontal)
    # Each group is tabified onto its first dock (Qt misplaces a dock tabified onto a dock that
    # is itself a non-first tab), one group after the other.
    for first in firsts:
        for spec in DOCKED:
            if column[spec.name] == first and spec.name != first:
                window.tabifyDockWidget(docks[first], docks[spec.name])
                # Lay out each step: otherwise Qt (6.11) leaves the tab bar of the group before
                # this step behind, visible, drawn over the status bar.
                window.layout().activate()
    raise_first_tabs(window, docks)
    _hide_left_behind(window, docks, before)
    width = window.width()
    height = window.height() - window.menuBar().sizeHint().height() - window.statusBar().sizeHint().height()
    window.resizeDocks([docks[CONTROLS[0]]], [CONTROLS_WIDTH], Qt.Orientation.Horizontal)
    share = (width - CONTROLS_WIDTH) // len(firsts)
    window.resizeDocks([docks[f] for f in firsts], [share] * len(firsts), Qt.Orientation.Horizontal)
    window.resizeDocks([docks[firsts[0]]], [min(BOTTOM_HEIGHT, int(height * BOTTOM_SHARE))], Qt.Orientation.Vertical)


def fits_screen(window: QMainWindow) -> bool:
    """Whether the window's layout fits the screen's available area."""
    needed, available = window.minimumSizeHint(), available_size(window)
    return needed.width() <= available.width() and needed.height() <= available.height()


def raise_first_tabs(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """The first dock of each column on top of its tabs, for the window's screen (on a narrow one,
    a column dealt out to the others has no tab of its own to raise)."""
    heads = set(columns(available_size(window).width()).values())
    for spec in DOCKED:
        if spec.place == "bottom" and spec.name in heads:
            docks[spec.name].raise_()


def restore_layout(window: QMainWindow, docks: dict[str, QDockWidget], state) -> bool:
    """``restoreState``, then hide the tab bars of the layout it replaced: Qt (6.11) gives the
    restored tab groups new tab bars but leaves the old ones visible, in their old places
    (e.g. over the status bar). A layout that does not fit the screen (remembered on a larger
    one) gives way to the default layout."""
    before = _tab_bars(window)
    restored = window.restoreState(state)
    window.layout().activate()
    _hide_left_behind(window, docks, before)
    if restored and not fits_screen(window):
        arrange_default(window, docks)
        return False
    return restored


def _tab_bars(window: QMainWindow) -> list[QTabBar]:
    return [bar for bar in window.findChildren(QTabBar) if bar.parent() is window and not bar.isHidden()]


def _hide_left_behind(window: QMainWindow, docks: dict[str, QDockWidget], before: list[QTabBar]) -> None:
    window.layout().activate()
    for bar in _tab_bars(window):  # whole titles, scrolled when they do not fit ("So…", "W…" say nothing)
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)
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


def on_screen(window: QMainWindow, widget: QWidget) -> bool:
    """Whether a person can see ``widget``: Qt keeps the docks of inactive tabs "visible" but
    moves them outside the window, so their geometry tells."""
    if not widget.isVisible():
        return False
    if widget.window() is not window:  # a floating dock: its own window
        return True
    return window.rect().intersects(QRect(widget.mapTo(window, QPoint(0, 0)), widget.size()))
