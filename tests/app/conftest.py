"""Fixtures of the app's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def open_window(qtbot):
    """Factory: ``open_window(data, **kwargs)`` shows a MainWindow (preset "fast", no questions on
    quit, no autosave, unless ``kwargs`` say otherwise) once it is idle with its first snapshot;
    every window still open is closed at the end of the test."""
    from app_window import open_window as show

    windows = []

    def make(data, **kwargs):
        win = show(qtbot, data, **kwargs)
        windows.append(win)
        return win

    yield make
    for win in windows:
        if win.isVisible():
            win.close()
