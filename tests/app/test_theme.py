"""Light and dark: the plots follow the application's palette, live, and the choice is remembered."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication

from visualizer import style, theme
from visualizer.main_window import MainWindow
from visualizer.worker import State

TIMEOUT_MS = 30_000


@pytest.fixture(autouse=True)
def platform_look_afterwards():
    """Whatever a test switches to, the next test starts with the platform's look and light plots."""
    yield
    theme.apply_choice("system")
    theme.set_current(theme.LIGHT)


def open_window(qtbot, dataset, steps: int = 0) -> MainWindow:
    win = MainWindow(data=dataset, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    for _ in range(steps):
        win.controls.step_action.trigger()
    if steps:
        qtbot.waitUntil(lambda: win.last_snapshot.step == steps and win.last_snapshot.test is not None,
                        timeout=TIMEOUT_MS)
    return win


def plot_views(win: MainWindow) -> list[pg.GraphicsView]:
    """Every pyqtgraph view in every panel (the digit image of the softmax panel included)."""
    views = []
    for panel in win.panels():
        views += panel.findChildren(pg.GraphicsView)
    return views


def lightness(color) -> int:
    return QColor(color).lightness()


def assert_plots_look(win: MainWindow, dark: bool) -> None:
    views = plot_views(win)
    assert len(views) >= 14  # curves x2, softmax x2, probabilities, confusion, weights, activations, ...
    for view in views:
        background = lightness(view.backgroundBrush().color())
        assert (background < 60) if dark else (background > 240), (type(view.parent()).__name__, background)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem) and item.isVisible():
                text = lightness(item.textPen().color())
                line = lightness(item.pen().color())
                # light text on dark, dark text on light, and far apart from the background
                assert (text > 180) if dark else (text < 60), (type(view.parent()).__name__, text)
                assert abs(text - background) > 150 and abs(line - background) > 150
    for panel in win.panels():  # the panel behind the plot (controls, captions) matches
        window = lightness(panel.palette().color(QPalette.ColorRole.Window))
        words = lightness(panel.palette().color(QPalette.ColorRole.WindowText))
        assert ((window < 60 and words > 180) if dark else (window > 240 and words < 60)), type(panel).__name__


def test_dark_then_light_restyles_every_plot_live(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist, steps=3)
    for name in ("mistakes", "confusion", "draw"):  # some data panels on screen, some hidden
        win.docks[name].raise_()
    assert win.theme_choice == "system" and theme.current() is theme.LIGHT
    assert_plots_look(win, dark=False)

    win.theme_actions["dark"].trigger()  # View > Theme > Dark
    assert win.theme_actions["dark"].isChecked() and not win.theme_actions["system"].isChecked()
    assert lightness(QApplication.palette().color(QPalette.ColorRole.Window)) < 80
    assert theme.current() is theme.DARK
    assert_plots_look(win, dark=True)
    # colours drawn from the snapshot follow too: curves, their title, the legend box
    t = theme.DARK
    assert win.loss_panel.train_item.opts["pen"].color().name() == t.train
    assert t.train in win.loss_panel.title.text()
    assert lightness(win.loss_panel.legend.opts["brush"].color()) < 60
    step = win.last_snapshot.step
    win.controls.step_action.trigger()  # and what is drawn after the switch is dark as well
    qtbot.waitUntil(lambda: win.last_snapshot.step == step + 1, timeout=TIMEOUT_MS)
    assert win.loss_panel.test_item.opts["pen"].color().name() == t.test
    assert_plots_look(win, dark=True)

    win.theme_actions["light"].trigger()
    assert theme.current() is theme.LIGHT
    assert_plots_look(win, dark=False)
    assert win.loss_panel.train_item.opts["pen"].color().name() == theme.LIGHT.train
    win.close()


def test_the_desktop_switching_palette_is_followed_on_system(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    assert win.theme_choice == "system"
    QApplication.setPalette(theme.dark_palette())  # what a desktop switching to dark does
    qtbot.waitUntil(lambda: theme.current() is theme.DARK, timeout=5000)  # via the PaletteChange event
    assert_plots_look(win, dark=True)
    QApplication.setPalette(QPalette())
    qtbot.waitUntil(lambda: theme.current() is theme.LIGHT, timeout=5000)
    assert_plots_look(win, dark=False)
    win.close()


def test_theme_choice_survives_a_restart(qtbot, small_mnist):
    platform_style = QApplication.style().name()
    win = open_window(qtbot, small_mnist)
    win.set_theme_choice("dark")
    win.close()
    theme.apply_choice("system")  # as a fresh process would start: the platform's look
    theme.set_current(theme.LIGHT)

    again = open_window(qtbot, small_mnist)
    assert again.theme_choice == "dark" and again.theme_actions["dark"].isChecked()
    assert theme.current() is theme.DARK
    assert_plots_look(again, dark=True)
    again.set_theme_choice("system")  # back to the platform's own style and palette
    assert QApplication.style().name() == platform_style
    assert theme.current() is theme.LIGHT
    again.settings.setValue("theme", "purple")  # a value from elsewhere: the platform's look
    again.close()

    third = open_window(qtbot, small_mnist)
    assert third.theme_choice == "system" and third.theme_actions["system"].isChecked()
    assert theme.current() is theme.LIGHT
    third.close()


def test_theme_colours_read_on_their_background():
    """Text, and in the dark theme every line and marker colour, has a clear contrast with its background."""

    def luminance(color: str) -> float:
        c = QColor(color)
        channels = []
        for v in (c.redF(), c.greenF(), c.blueF()):
            channels.append(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    def contrast(a: str, b: str) -> float:
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    for t in (theme.LIGHT, theme.DARK):
        assert contrast(t.foreground, t.background) >= 7, t.name
        assert contrast(t.muted, t.background) >= 3, t.name
    # The light theme keeps tab10 (on white since the start); the dark one lightens what needs it.
    t = theme.DARK
    for name in ("train", "test", "event", "diverged", "correct", "wrong", "reference", "select", "warning", "ring"):
        assert contrast(getattr(t, name), t.background) >= 3.5, name
    for color in t.categorical:
        assert contrast(color, t.background) >= 3.5, color
    # text on the heat maps takes its colour from the cell, not the theme
    assert style.text_color_on(0.1) == style.INK and style.text_color_on(0.9) == style.PAPER_INK
