"""How often the window may render while training runs: up to 15 times a second, and no more
often than the GUI thread's own CPU cost allows.

Why a budget: Python's GIL serialises the GUI thread's rendering with the training thread.
pyqtgraph paints in Python and PyQt keeps the GIL during Qt's drawing, while the trainer needs
the GIL between its NumPy calls; so every millisecond the GUI thread computes is, nearly, a
millisecond training waits. Measured with the fast preset: 1.5 s of GUI-thread CPU during a 7 s
run cost training 1.2-1.4 s. Keeping the GUI thread busy for at most ``duty`` of wall time bounds
that loss, on any machine and with any set of panels on screen: a slow machine or many open
panels get fewer frames per second, not slower training.
"""

from __future__ import annotations

import time
from typing import Callable

DUTY = 0.06  # the GUI thread may compute for 6 % of wall time while training runs
MIN_INTERVAL_S = 1 / 15  # at most 15 renders a second (the worker sends no more anyway)
MAX_INTERVAL_S = 0.5  # at least 2 renders a second, however costly, so the window stays alive
SMOOTHING = 0.3  # weight of the newest cycle in the running cost estimate


class RenderPacer:
    """Spaces renders so that the GUI thread's CPU time stays within ``duty`` of wall time.

    Call :meth:`wait_s` before rendering (0: go ahead) and :meth:`started` when a render begins.
    The cost of a cycle is all the GUI thread's CPU time from one render's start to the next,
    so paint events that follow a render, and anything else the GUI thread did, count too.
    """

    def __init__(self, duty: float = DUTY, min_interval_s: float = MIN_INTERVAL_S,
                 max_interval_s: float = MAX_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic, cpu_clock: Callable[[], float] = time.thread_time):
        if not 0 < duty <= 1:
            raise ValueError("duty must be in (0, 1]")
        self.duty = duty
        self.min_interval_s = min_interval_s
        self.max_interval_s = max_interval_s
        self._clock, self._cpu_clock = clock, cpu_clock
        self._cost_s: float | None = None  # running estimate of one cycle's CPU time
        self._last_start: float | None = None
        self._last_cpu = 0.0

    @property
    def interval_s(self) -> float:
        """The current spacing between render starts."""
        if self._cost_s is None:
            return self.min_interval_s
        return min(self.max_interval_s, max(self.min_interval_s, self._cost_s / self.duty))

    @property
    def cycle_cost_s(self) -> float | None:
        return self._cost_s

    def wait_s(self) -> float:
        """Seconds until the next render may start (0 when it may start now)."""
        if self._last_start is None:
            return 0.0
        return max(0.0, self._last_start + self.interval_s - self._clock())

    def started(self) -> None:
        """A render starts now: close the previous cycle's cost measurement."""
        now, cpu = self._clock(), self._cpu_clock()
        if self._last_start is not None:
            cost = max(0.0, cpu - self._last_cpu)
            self._cost_s = cost if self._cost_s is None else (1 - SMOOTHING) * self._cost_s + SMOOTHING * cost
        self._last_start, self._last_cpu = now, cpu

    def reset(self) -> None:
        """Training paused or stopped: the next render may start at once, measured afresh."""
        self._last_start = None
