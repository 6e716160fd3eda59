"""Issue 15.3: a layout that adapts to the screen. On 1280 x 800 and 1366 x 768 the window and
every dock's minimum size fit, no two visible docks overlap, every dock gets at least its minimum
size (nothing cut off), and the curves keep priority height; "Restore default layout" and a
layout remembered on a larger screen give the same."""

from __future__ import annotations

import itertools
import os

import pytest
from PyQt6.QtCore import QPoint, QRect, QSize

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from visualizer import docks as docks_module  # noqa: E402

TITLE_BAR = 32  # a window manager's title bar, inside the screen's available height
SMALL_SCREENS = [QSize(1280, 800), QSize(1366, 768)]


def visible_docks(win):
    return {name: dock for name, dock in win.docks.items() if not dock.isFloating() and win.on_screen(dock)}


def check_fits(win, screen: QSize) -> None:
    needed = win.minimumSizeHint()
    assert needed.width() <= screen.width() and needed.height() <= screen.height() - TITLE_BAR, needed
    shown = visible_docks(win)
    assert len(shown) >= 3  # the controls and the bottom columns' first tabs
    rects = {name: QRect(dock.mapTo(win, QPoint(0, 0)), dock.size()) for name, dock in shown.items()}
    for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
        assert not ra.intersects(rb), f"{a} {ra} overlaps {b} {rb}"
    for name, dock in shown.items():
        hint = dock.minimumSizeHint()
        assert hint.width() <= screen.width() and hint.height() <= screen.height() - TITLE_BAR
        assert dock.width() >= hint.width() and dock.height() >= hint.height(), f"{name} is cut off"
        assert win.rect().contains(rects[name]), f"{name} is outside the window"
    curves = win.centralWidget()
    bottom = max(rect.height() for name, rect in rects.items() if name != "controls")
    assert curves.height() >= 0.4 * (curves.height() + bottom)  # the curves keep priority height (was ~100 px)


@pytest.mark.parametrize("screen", SMALL_SCREENS, ids=lambda s: f"{s.width()}x{s.height()}")
def test_the_window_fits_small_screens(qtbot, open_window, small_mnist, monkeypatch, screen):
    monkeypatch.setattr(docks_module, "available_size", lambda window: screen)
    win = open_window(small_mnist)
    qtbot.wait(50)
    assert win.size() == screen  # the start size, clamped to the screen
    check_fits(win, screen)
    # each column shows its first tab: the selected digit's softmax, not a tab dealt in from the
    # column that a small screen has no room for
    assert win.on_screen(win.softmax_panel) and win.on_screen(win.class_panel)
    win.docks["pca"].raise_()  # another tab of a merged column
    win.resize(screen.width() - 60, screen.height() - 40)
    win.restore_default_layout()
    qtbot.wait(50)
    check_fits(win, screen)
    assert win.on_screen(win.softmax_panel) and not win.on_screen(win.map_panel)
    win.close()


def test_a_layout_remembered_on_a_large_screen_gives_way_on_a_small_one(qtbot, open_window, small_mnist,
                                                                        monkeypatch):
    large, small = QSize(1920, 1080), SMALL_SCREENS[0]
    monkeypatch.setattr(docks_module, "available_size", lambda window: large)
    win = open_window(small_mnist)
    assert win.size() == docks_module.START_SIZE
    assert win.minimumSizeHint().width() > small.width()  # three columns: too wide for the small screen
    win.close()
    monkeypatch.setattr(docks_module, "available_size", lambda window: small)
    again = open_window(small_mnist)
    again.resize(small)  # the window manager keeps it on the screen
    qtbot.wait(50)
    check_fits(again, small)
    again.close()
