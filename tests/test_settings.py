"""The app remembers how it was left: layout, geometry, configuration, recent files."""

from __future__ import annotations

import os

from PyQt6.QtCore import Qt

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
