"""Rendering a heavy panel at most a few times a second without ever losing the last snapshot."""

from __future__ import annotations

import math
import time
from typing import Callable

from PyQt6 import QtCore


class RenderThrottle:
    """Calls ``render(snap)`` at most once per ``interval_s``. A snapshot offered too soon is kept
    and rendered by a timer when the interval is over, unless a newer one replaces it first; an
    urgent one (the first of a run, the last, a divergence) is rendered at once.
    """

    def __init__(self, parent: QtCore.QObject, interval_s: float, render: Callable[[object], None]):
        self.interval_s = interval_s
        self._render = render
        self._pending = None
        self._last = -math.inf
        self._timer = QtCore.QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._flush)

    def offer(self, snap, urgent: bool = False) -> None:
        since = time.monotonic() - self._last
        if urgent or since >= self.interval_s:
            self._timer.stop()
            self._pending = None
            self._last = time.monotonic()
            self._render(snap)
            return
        self._pending = snap
        if not self._timer.isActive():
            self._timer.start(max(1, int((self.interval_s - since) * 1000)))

    def reset(self) -> None:
        """Forget the held-back snapshot; the next offer renders at once."""
        self._timer.stop()
        self._pending = None
        self._last = -math.inf

    def _flush(self) -> None:
        snap, self._pending = self._pending, None
        if snap is not None:
            self.offer(snap)
