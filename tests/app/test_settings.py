"""The app remembers how it was left: layout, geometry, configuration, recent files."""

from __future__ import annotations

import os

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QTabBar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from visualizer.main_window import MainWindow  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


def open_window(qtbot, dataset, **kwargs):
    win = MainWindow(data=dataset, ask_to_save=False, autosave=False, **kwargs)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    return win


def test_settings_survive_a_restart(qtbot, small_mnist, monkeypatch):
    win = open_window(qtbot, small_mnist)
    win.controls.load_preset("tutorial")
    win.controls.hidden.setText("30, 20")
    win.controls.lr.set_value(0.3)
    win.docks["weights"].hide()
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, win.docks["pins"])
    win.resize(1500, 900)
    qtbot.wait(50)
    win.close()
    saved_geometry = bytes(win.saveGeometry())
    restored = []
    original = MainWindow.restoreGeometry
    monkeypatch.setattr(MainWindow, "restoreGeometry",
                        lambda self, g: restored.append(bytes(g)) or original(self, g))

    again = open_window(qtbot, small_mnist)
    config = again.controls.current_config()
    assert config.hidden == (30, 20) and config.lr == 0.3 and config.activation == "sigmoid"
    assert again.worker.trainer.config.hidden == (30, 20)  # the network built is the remembered one
    assert not again.docks["weights"].isVisibleTo(again)
    assert again.dockWidgetArea(again.docks["pins"]) == Qt.DockWidgetArea.RightDockWidgetArea
    # (The offscreen screen is 800x800, so Qt clamps the size; the geometry itself comes back.)
    assert restored == [saved_geometry]
    again.restore_default_layout()
    assert again.docks["weights"].isVisibleTo(again)
    assert again.dockWidgetArea(again.docks["pins"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    again.close()

    explicit = open_window(qtbot, small_mnist, preset="fast")  # an explicit preset wins
    assert explicit.controls.current_config().optimizer == "adam"
    explicit.close()


def tab_groups_and_bars(win):
    """(the tab groups of docks, the visible tab bars' tabs): each as a sorted list of title sets."""
    groups = set()
    for dock in win.docks.values():
        tabbed = win.tabifiedDockWidgets(dock)
        if tabbed:
            groups.add(frozenset(d.windowTitle() for d in (dock, *tabbed)))
    bars = [frozenset(bar.tabText(i) for i in range(bar.count()))
            for bar in win.findChildren(QTabBar) if bar.parent() is win and bar.isVisible()]
    return sorted(map(sorted, groups)), sorted(map(sorted, bars))


def shown_now(qtbot, dataset):
    """A window right after show(): what the first frames show, before the data changes the layout."""
    win = MainWindow(data=dataset, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    QApplication.processEvents()
    return win


def test_one_tab_bar_per_tab_group_after_restarts_and_restores(qtbot, small_mnist):
    """Qt leaves a replaced layout's tab bars on screen (over the status bar); the window hides them."""
    win = shown_now(qtbot, small_mnist)
    groups, bars = tab_groups_and_bars(win)
    assert len(groups) == 3 and bars == groups
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, win.docks["pins"])
    qtbot.wait(20)
    win.close()

    again = shown_now(qtbot, small_mnist)  # the remembered layout: pins on the right
    groups, bars = tab_groups_and_bars(again)
    assert ["Mistakes", "PCA map", "Weights"] in groups and bars == groups
    again.restore_default_layout()
    QApplication.processEvents()
    groups, bars = tab_groups_and_bars(again)
    assert len(groups) == 3 and bars == groups
    qtbot.waitUntil(lambda: again.state == State.IDLE, timeout=TIMEOUT_MS)
    again.close()
