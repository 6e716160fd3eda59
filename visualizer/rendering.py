"""Which panels render a snapshot, and when.

The worker signals that a snapshot is waiting; :class:`RenderScheduler` takes it when the GUI
thread's budget allows (:class:`visualizer.pacing.RenderPacer`) and hands it to the panels on
screen. While training, what a person watches closely (the table's ``watched`` panels: the
curves, the softmax of the selected digit, the drawing's prediction) renders every cycle, up to
``WATCHED_RATE`` times a second within the pacer's budget; after them, the other panels take
turns, the longest unrendered first, up to as many per cycle as give each a turn every
``OTHERS_INTERVAL_S``, as long as their own, smaller budget of GUI-thread time lasts
(:class:`visualizer.pacing.RenderBudget`): with many costly panels open they refresh less
often, never at training's expense. One panel at a time, each on a timer of its own. When training is not
running, every snapshot is shown at once. A panel that is not on screen renders nothing; it
catches up when it is shown.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import pyqtgraph as pg
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from .pacing import SEPARATE_DUTY, SEPARATE_OTHERS_DUTY, RenderBudget, RenderPacer

WATCHED_RATE = 10  # the watched panels' renders a second (pacer allowing) the turns are planned for
OTHERS_INTERVAL_S = 0.45  # ... and each of the others takes a turn this often
PANEL_GAP_MS = 1  # between two panels' renders in a cycle


class RenderScheduler(QObject):
    shown = pyqtSignal(object)  # every panel on screen shows this snapshot now

    def __init__(self, worker, panels: Callable[[], list], on_screen: Callable[[object], bool],
                 watched: Callable[[], tuple], taken: Callable[[object], None], parent=None):
        """``worker``: where snapshots wait (``take_snapshot``, ``defer_snapshots``).
        ``panels()``: every panel built so far; ``on_screen(panel)``: whether a person can see it;
        ``watched()``: the panels that render every cycle while training; ``taken(snap)``: called
        with each snapshot taken, before the panels render it (status bar, controls)."""
        super().__init__(parent)
        self.worker = worker
        self._panels, self._on_screen, self._watched, self._taken = panels, on_screen, watched, taken
        if getattr(worker, "use_training_process", False):  # drawing takes no time from training
            self.pacer, self.budget = RenderPacer(SEPARATE_DUTY), RenderBudget(SEPARATE_OTHERS_DUTY)
        else:
            self.pacer = RenderPacer()  # the cycles: the watched panels (and status bar)
            self.budget = RenderBudget()  # the other panels' turns
        self.last_snapshot = None  # the snapshot every panel on screen shows
        self.training = False
        self.stopped = False
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.on_snapshot_available)
        self._queue: list = []  # watched panels still to show self._rendering (while training)
        self._others: list = []  # then the other panels whose turn it is, budget allowing
        self._cpu_mark: float | None = None  # thread time when the other panel rendering now began
        self._pacing = False  # a cycle's watched panels are being rendered (the pacer measures them)
        self._warming = False  # the next cycle is the first of a run, or after a pause: not measured
        self._charged = False  # this cycle's renders count against the budgets
        self._generation = 0
        self._rendering = None  # the snapshot the panels are being given (while training)
        self._shown_at: dict[int, float] = {}  # id(panel): when it last rendered while training
        self._turns_due = 0.0  # other panels' turns owed, fractions carried from cycle to cycle
        self._scenes: dict[int, list] = {}  # id(panel): the scenes of its plots (see _show)

    def on_snapshot_available(self) -> None:
        if self.stopped:
            return
        training = self.training
        if training:
            # Within the GUI thread's CPU budget (see pacing.py); meanwhile the newest snapshot
            # waits in the worker's mailbox, replaced by newer ones, and the timer comes back for it.
            wait = self.pacer.wait_s()
            if wait > 0:
                if not self._timer.isActive():
                    self._timer.start(max(1, round(wait * 1000)))
                    self.worker.defer_snapshots(time.monotonic() + wait)
                return
        snap = self.worker.take_snapshot()
        if snap is None:
            return
        # The first render of a run (or after a pause) draws new ranges, axes and matrices: unlike
        # the ones that follow, and counting it would hold the next renders back for a second.
        self._charged = training and not self._warming
        self._warming = False
        if self._charged:
            self.pacer.started()
        self._pacing = self._charged
        previous = self._rendering or self.last_snapshot
        if previous is None or snap.run_id != previous.run_id:
            self._scenes.clear()  # (a panel may build other plots for the new run)
            for panel in self._panels():  # a new run: its curves start empty
                panel.clear()
        # last_snapshot becomes ``snap`` once every panel on screen shows it (see _finish)
        self._rendering = snap
        self._taken(snap)  # the status bar and controls at once (cheap, and what commands depend on)
        # Rendering what nobody sees would only take time from training.
        panels = [panel for panel in self._panels() if self._on_screen(panel)]
        if training:
            watched = self._watched()
            # One panel per pass of the event loop, each painted before the next renders: the
            # GUI never stops for the whole window's render at once (clicks and keys get in).
            self._queue = [p for p in panels if p in watched]
            self._others = self._turn([p for p in panels if p not in watched])
            self._cpu_mark = None
            self._generation += 1
            generation = self._generation  # (the first panel too in an event of its own, after the status bar's)
            QTimer.singleShot(PANEL_GAP_MS, lambda: self._render_next(generation))
            return
        self._queue, self._others = [], []
        self._generation += 1  # a staggered render still under way is superseded
        for panel in panels:
            panel.show_snapshot(snap)
        self._finish(snap)

    def _turn(self, others: list) -> list:
        """The panels that are not watched whose turn it may be: the longest unrendered first, at
        most as many as give each a turn every OTHERS_INTERVAL_S at the pacer's pace (their cost
        is held by their own budget, not by the pacer's)."""
        interval = max(self.pacer.interval_s, 1 / WATCHED_RATE)
        # (the fraction is carried, not rounded up: each panel's turn comes every
        # OTHERS_INTERVAL_S on average, not up to half as often again)
        self._turns_due = min(len(others), self._turns_due + len(others) * interval / OTHERS_INTERVAL_S)
        per_cycle = int(self._turns_due)
        self._turns_due -= per_cycle
        return sorted(others, key=lambda p: self._shown_at.get(id(p), -math.inf))[:per_cycle]

    def _render_next(self, generation: int) -> None:
        if generation != self._generation or self.stopped:
            return  # a newer snapshot took over
        snap = self._rendering
        if self._cpu_mark is not None:  # an other panel's render and paint are over: its cost
            self.budget.spend(time.thread_time() - self._cpu_mark)
            self._cpu_mark = None
        if self._queue:
            self._show(self._queue.pop(0), snap)
        else:
            if self._pacing:  # the watched panels are done, their paint included
                self._pacing = False
                self.pacer.finished()
            if not (self._others and self.budget.available_s() > 0):
                self._finish(snap)
                return
            panel = self._others.pop(0)
            self._shown_at[id(panel)] = time.monotonic()
            self._cpu_mark = time.thread_time() if self._charged else None
            self._show(panel, snap)
        # The next panel (or the end) after this one's paint event, so that it is measured; on a
        # timer of 1 ms, not 0: zero-time calls and paints queue up and run back to back, while a
        # timer lets the event loop's other timers and input in between every two panels.
        QTimer.singleShot(PANEL_GAP_MS, lambda: self._render_next(generation))

    def _show(self, panel, snap) -> None:
        """One panel renders ``snap``; then its plots work out their new view transforms and
        axes now, not in their paint: pyqtgraph does that in the paint event, and what it
        changes there asks for a second paint of the whole plot (measured: 2 paints a render
        instead of 1)."""
        panel.show_snapshot(snap)
        scenes = self._scenes.get(id(panel))
        if scenes is None:
            scenes = self._scenes[id(panel)] = [view.scene() for view in panel.findChildren(pg.GraphicsView)]
        try:
            for scene in scenes:
                scene.prepareForPaint()
        except RuntimeError:  # a plot the panel has since replaced (its C++ side is gone)
            del self._scenes[id(panel)]

    def _finish(self, snap) -> None:
        self.last_snapshot = snap
        self._rendering = None
        self.shown.emit(snap)

    @property
    def holding_back(self) -> bool:
        """Whether a snapshot waits for the pacer's interval to pass."""
        return self._timer.isActive()

    def set_training(self, training: bool) -> None:
        """The worker's state changed: renders are paced only while it trains."""
        self.training = training
        self._warming = training
        if not training:
            self.pacer.reset()  # renders are immediate again, and the next run is measured afresh
            self.worker.defer_snapshots(0.0)
            if self._timer.isActive():  # a held-back snapshot: show it now
                self._timer.stop()
                QTimer.singleShot(0, self.on_snapshot_available)

    def catch_up(self, panel) -> None:
        """Show the latest snapshot in a panel that has just come on screen."""
        if panel is not None and self.last_snapshot is not None:
            panel.show_snapshot(self.last_snapshot)

    def forget(self) -> None:
        """The data changed: the snapshots shown and being shown fit none of the new panels."""
        self._queue = []
        self._generation += 1  # a staggered render still under way ends
        self._rendering = None
        self.last_snapshot = None

    def stop(self) -> None:
        """The window is closing: render nothing more."""
        self.stopped = True
        self._timer.stop()
