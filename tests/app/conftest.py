"""Fixtures of the app's tests."""

from __future__ import annotations

import pytest

TIMEOUT_MS = 30_000


@pytest.fixture
def open_window(qtbot):
    """Factory: ``open_window(data, **kwargs)`` shows a MainWindow (preset "fast", no questions on
    quit, no autosave, unless ``kwargs`` say otherwise) once it is idle with its first snapshot;
    every window still open is closed at the end of the test."""
    from visualizer.main_window import MainWindow
    from visualizer.worker import State

    windows = []

    def make(data, **kwargs):
        win = MainWindow(data=data, **{"preset": "fast", "ask_to_save": False, "autosave": False, **kwargs})
        qtbot.addWidget(win)
        windows.append(win)
        win.show()
        qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
        return win

    yield make
    for win in windows:
        if win.isVisible():
            win.close()
