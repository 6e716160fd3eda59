"""The app remembers how it was left: layout, geometry, configuration, recent files. And the
tests never touch what the person running them has saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtWidgets import QApplication, QTabBar

from visualizer.guide import dock_tip
from visualizer.main_window import MainWindow
from visualizer.panel_table import DOCKED
from visualizer.session_files import app_data_dir
from visualizer.worker import State

REPO = Path(__file__).resolve().parents[2]
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
    weights_tabs = sorted(s.title for s in DOCKED if "weights" in (s.name, s.place) and s.name != "pins")
    assert weights_tabs in groups and bars == groups
    again.restore_default_layout()
    QApplication.processEvents()
    groups, bars = tab_groups_and_bars(again)
    assert len(groups) == 3 and bars == groups
    qtbot.waitUntil(lambda: again.state == State.IDLE, timeout=TIMEOUT_MS)
    again.close()


def test_docks_and_the_view_menu_come_from_the_panel_table(qtbot, small_mnist):
    win = shown_now(qtbot, small_mnist)
    assert list(win.docks) == ["controls"] + [spec.name for spec in DOCKED]
    view = next(a.menu() for a in win.menuBar().actions() if a.text() == "&View")
    titles = [a.text() for a in view.actions() if not a.isSeparator()]
    assert titles[: len(win.docks)] == ["Controls"] + [spec.title for spec in DOCKED]
    for spec in DOCKED:
        dock = win.docks[spec.name]
        assert dock.objectName() == spec.name and dock.windowTitle() == spec.title
        assert dock.toolTip() == dock_tip(spec.name, spec.tip)  # the table's tip, and the guide's experiment
    qtbot.waitUntil(lambda: win.state == State.IDLE, timeout=TIMEOUT_MS)
    win.close()


# -- the person's own settings ------------------------------------------------------------------------

def test_settings_and_app_data_live_in_the_tests_own_folder(qtbot, small_mnist, test_root, users_own_dirs):
    win = open_window(qtbot, small_mnist)
    win.close()  # remembers the layout and the configuration
    settings = Path(win.settings.fileName())
    assert settings.exists() and settings.is_relative_to(test_root)
    assert Path(QSettings().fileName()) == settings
    assert app_data_dir().is_relative_to(test_root) and Path.home().is_relative_to(test_root)
    home = users_own_dirs["HOME"] or os.path.expanduser("~")
    own_config = Path(users_own_dirs["XDG_CONFIG_HOME"] or Path(home, ".config"))
    own_data = Path(users_own_dirs["XDG_DATA_HOME"] or Path(home, ".local", "share"))
    assert not settings.is_relative_to(own_config) and not app_data_dir().is_relative_to(own_data)


def write_odd_settings(home: Path) -> None:
    """What a person may have left in the app: a network that diverges at once, the dark theme,
    a broken layout, recent files that are gone, and a crash's leftovers."""
    odd = {"hidden": [3], "activation": "sigmoid", "optimizer": "sgd", "lr": 100.0, "batch_size": 10,
           "epochs": 0.5, "iterations": None, "seed": 3}
    for org in ("Softmax Visualizer", "python", "pytest-qt-qapp"):
        for app in ("Softmax Visualizer", "python", "pytest-qt-qapp", "python3"):
            settings = QSettings(str(home / ".config" / org / f"{app}.conf"), QSettings.Format.IniFormat)
            settings.setValue("last_config", json.dumps(odd))
            settings.setValue("theme", "dark")
            settings.setValue("window_state", b"not a layout")
            settings.setValue("geometry", b"not a geometry")
            settings.setValue("recent_files", [["session", str(home / "gone.npz")]])
            settings.setValue("last_folder", str(home / "gone"))
            settings.sync()
    data = home / ".local" / "share" / "Softmax Visualizer" / "Softmax Visualizer"
    data.mkdir(parents=True)
    (data / "running.marker").write_text("1")
    (data / "autosave-session.npz").write_bytes(b"not a session")


@pytest.mark.slow
def test_odd_settings_in_the_users_home_change_neither_the_tests_nor_themselves(tmp_path):
    home = tmp_path / "someone"
    write_odd_settings(home)
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    tests = ["tests/app/test_app.py::test_scripted_run_writes_metrics_and_screenshot",
             "tests/app/test_settings.py::test_settings_survive_a_restart",
             "tests/app/test_app_files.py::test_autosave_and_recovery_after_a_crash"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before
