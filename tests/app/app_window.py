"""A main window for a test, and training steps through its Step button."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from visualizer.main_window import MainWindow  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


def step(qtbot, win, steps: int = 1) -> None:
    """Press Step ``steps`` times, each time waiting for the snapshot of the step."""
    for _ in range(steps):
        before = win.last_snapshot.step
        win.controls.step_action.trigger()
        qtbot.waitUntil(lambda before=before: win.last_snapshot is not None and win.last_snapshot.step == before + 1,
                        timeout=TIMEOUT_MS)


def open_window(qtbot, data, steps: int = 0, hidden: str | None = None, **kwargs) -> MainWindow:
    """A MainWindow on ``data`` with the fast preset (``hidden`` layers if given), shown, with its
    first snapshot, after ``steps`` training steps. It never asks to save or autosaves (unless
    ``kwargs`` say otherwise); qtbot closes it after the test."""
    win = MainWindow(data=data, **{"preset": "fast", "ask_to_save": False, "autosave": False, **kwargs})
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    if hidden is not None:
        win.controls.hidden.setText(hidden)
    step(qtbot, win, steps)
    return win
