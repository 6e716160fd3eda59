"""How often the window may render while training runs: as often as the worker sends snapshots
(12 times a second), and no more often than the GUI thread's own CPU cost allows.

Why a budget (where training runs in a thread of the app; see SEPARATE_DUTY otherwise):
Python's GIL serialises the GUI thread's rendering with the training thread. pyqtgraph paints
in Python and PyQt keeps the GIL during Qt's drawing, while the trainer needs the GIL between
its NumPy calls; so every millisecond the GUI thread computes is, nearly, a millisecond training
waits (benchmarks/README.md has the figures). Keeping the GUI thread busy
for at most ``duty`` of wall time bounds that loss, on any machine and with any set of panels
on screen: a slow machine or many open panels get fewer frames per second, not slower training.
What a person watches closely (the curves, the selected digit's softmax) and the other panels
have budgets of their own (:class:`RenderPacer`, :class:`RenderBudget`), so that many costly
panels on screen slow their own turns, not the curves.
"""

from __future__ import annotations

import time
from typing import Callable

DUTY = 0.05  # while training, the GUI thread may compute for 5 % of wall time on the watched panels
OTHERS_DUTY = 0.025  # ... and for another 2.5 % on the other panels' turns
OTHERS_BURST_S = 0.05  # (saved up while they have nothing to render, for at most this much)
# With training in a process of its own (nn.training_process) drawing takes nothing from it but
# a core training does not use (it runs one BLAS thread): the budgets only keep the GUI thread
# free enough for clicks and keys.
SEPARATE_DUTY = 0.35
SEPARATE_OTHERS_DUTY = 0.3
MIN_INTERVAL_S = 1 / 15  # at most 15 renders a second (the worker sends 12: the pacer never holds one back)
MAX_INTERVAL_S = 1.0  # at least one render a second, however costly, so the window stays alive
SMOOTHING = 0.3  # weight of the newest cycle in the running cost estimate


class RenderPacer:
    """Spaces renders so that the GUI thread's CPU time for rendering stays within ``duty`` of
    wall time.

    Call :meth:`wait_s` before rendering (0: go ahead), :meth:`started` when a render begins and
    :meth:`finished` when it is over, paint events included. Only the render itself is measured:
    whatever else the GUI thread does between renders (a person dragging a slider) is not a
    render's cost, and counting it would make the interval grow with itself.
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
        self._cost_s: float | None = None  # running estimate of one render's CPU time
        self._last_start: float | None = None
        self._start_cpu: float | None = None

    @property
    def interval_s(self) -> float:
        """The current spacing between render starts."""
        if self._cost_s is None:
            return self.min_interval_s
        return min(self.max_interval_s, max(self.min_interval_s, self._cost_s / self.duty))

    @property
    def render_cost_s(self) -> float | None:
        """The running estimate of one render's GUI-thread CPU time (None before the first)."""
        return self._cost_s

    def wait_s(self) -> float:
        """Seconds until the next render may start (0 when it may start now)."""
        if self._last_start is None:
            return 0.0
        return max(0.0, self._last_start + self.interval_s - self._clock())

    def started(self) -> None:
        self._last_start, self._start_cpu = self._clock(), self._cpu_clock()

    def finished(self) -> None:
        """The render that :meth:`started` is over: add its CPU time to the estimate."""
        if self._start_cpu is None:
            return
        cost = max(0.0, self._cpu_clock() - self._start_cpu)
        self._start_cpu = None
        self._cost_s = cost if self._cost_s is None else (1 - SMOOTHING) * self._cost_s + SMOOTHING * cost

    def reset(self) -> None:
        """Training paused or stopped: the next render may start at once (the estimate stays)."""
        self._last_start = None
        self._start_cpu = None


class RenderBudget:
    """GUI-thread time for the renders that may wait (the panels that are not watched): ``duty``
    of wall time, saved up for at most ``burst_s``. Spend what a render cost once it is over;
    while :meth:`available_s` is not positive, such renders wait for a later cycle. A render
    costlier than that (a panel's first) leaves a debt of at most ``burst_s``: the other panels
    wait a second or two for it, not longer."""

    def __init__(self, duty: float = OTHERS_DUTY, burst_s: float = OTHERS_BURST_S,
                 clock: Callable[[], float] = time.monotonic):
        if not 0 < duty <= 1:
            raise ValueError("duty must be in (0, 1]")
        self.duty, self.burst_s = duty, burst_s
        self._clock = clock
        self._left = burst_s
        self._at = clock()

    def available_s(self) -> float:
        now = self._clock()
        self._left = min(self.burst_s, self._left + (now - self._at) * self.duty)
        self._at = now
        return self._left

    def spend(self, cpu_s: float) -> None:
        self.available_s()
        self._left = max(-self.burst_s, self._left - max(0.0, cpu_s))
