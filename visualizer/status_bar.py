"""The status bar's figures: what the trainer is doing, epochs and steps, speed, time, progress."""

from __future__ import annotations

import time

from PyQt6.QtWidgets import QLabel, QProgressBar, QStatusBar

from nn.config import MAX_EPOCHS, format_number
from nn.files import format_duration

from . import theme
from .worker import State

COUNTERS_INTERVAL_S = 0.25  # while training, the counters change at most this often (readable, and cheap)


class StatusFigures:
    def __init__(self, bar: QStatusBar):
        self.state_label = QLabel()
        self.state_label.setToolTip("What the trainer is doing")
        self.step_label = QLabel()
        self.step_label.setToolTip("Epochs (passes over the training set) and steps (batches) so far")
        self.speed_label = QLabel()
        self.speed_label.setToolTip("Training throughput, samples per second")
        self.time_label = QLabel()
        self.time_label.setToolTip("Training time so far (pauses not counted)")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setMaximumWidth(260)
        self.progress.setToolTip("Progress of the configured run (epochs or iterations)")
        for w in (self.state_label, self.step_label, self.speed_label, self.time_label):
            bar.addWidget(w)
        bar.addPermanentWidget(self.progress)
        self.speed_limit = 0.0  # slow motion: steps per second (0: full speed)
        self._counted = 0.0  # when the counters last changed (time.monotonic())
        self.show_state(State.LOADING)
        self.show_counters(None, State.LOADING)

    def show_state(self, state: State, note: str = "") -> None:
        """``note``: what comes next, after the state (e.g. what Start does when a run has ended)."""
        colours = theme.STATE_COLOURS[theme.current().name]
        colour = colours.get(state.value, colours[State.IDLE.value])
        note = f" · {note}" if note else ""
        self.state_label.setText(f"<span style='color:{colour}; font-weight:600'>● {state.value}</span>{note}")

    def show_counters(self, snap, state: State) -> None:
        if snap is None:
            self.step_label.setText("epoch 0 · step 0")
            self.speed_label.setText("")
            self.time_label.setText("")
            self.progress.setValue(0)
            return
        now = time.monotonic()
        if state == State.TRAINING and now - self._counted < COUNTERS_INTERVAL_S and self.speed_limit == 0:
            return  # (the snapshot shown once training stops comes in another state)
        self._counted = now
        # the step that diverged is the one after the last one done (the banner names it)
        failed = f" · diverged at step {snap.step + 1:,}" if snap.diverged else ""
        self.step_label.setText(f"epoch {snap.epoch:.2f} · step {snap.step:,}{failed}")
        if snap.step == 0:
            self.speed_label.setText("")  # a new run: no speed yet (not the last run's)
        elif state == State.TRAINING and self.speed_limit > 0:
            self.speed_label.setText(f"slow motion: {format_number(self.speed_limit)} steps/s")
        elif state == State.TRAINING and snap.samples_per_s > 0:
            self.speed_label.setText(f"{snap.samples_per_s:,.0f} samples/s")
        self.time_label.setText(f"trained {format_duration(snap.train_seconds)}")
        if snap.config.epochs is not None and snap.config.epochs >= MAX_EPOCHS:
            self.progress.setValue(0)
            self.progress.setFormat("until paused")
        else:
            self._set_progress(round(snap.progress * 1000), f"{snap.progress * 100:.0f} %")

    def _set_progress(self, value: int, text: str) -> None:
        """Like ``QProgressBar.setValue``, but painted with the window's next paint: setValue
        repaints at once, and a repaint at once paints everything else waiting to be painted too,
        in the middle of a render."""
        if value == self.progress.value() and text == self.progress.format():
            return
        self.progress.setUpdatesEnabled(False)
        self.progress.setValue(value)
        self.progress.setFormat(text)
        self.progress.setUpdatesEnabled(True)  # (schedules an ordinary update)
