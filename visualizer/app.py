"""Launching the app: ``softmax-visualizer`` or ``python -m visualizer``.

``--autostart``, ``--quit-after``, ``--screenshot`` and ``--metrics-out`` make it scriptable for
demos, benchmarks and checks: train at once, stop after N seconds of training (or when the run
ends), save a picture of the window and write the final figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtWidgets import QApplication

from nn.config import PRESETS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="softmax-visualizer",
                                     description="Watch a from-scratch softmax network learn MNIST.")
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="starting configuration (default: the settings of the last session, else fast)")
    parser.add_argument("--data-dir", help="folder with the four MNIST-format IDX files (default: bundled MNIST)")
    parser.add_argument("--autostart", action="store_true", help="start training as soon as the data is loaded")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="quit after this many seconds of training (or when the run ends)")
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window just before quitting")
    parser.add_argument("--metrics-out", metavar="JSON", help="write the final metrics as JSON when quitting")
    return parser


class Autopilot(QObject):
    """Ends a scripted session: waits for enough training, then reports, screenshots and quits."""

    def __init__(self, window, quit_after: float | None, screenshot: str | None, metrics_out: str | None):
        super().__init__(window)
        self.window, self.quit_after = window, quit_after
        self.screenshot, self.metrics_out = screenshot, metrics_out
        self._reporting = False
        window.snapshot_shown.connect(self._check)
        window.worker.state_changed.connect(self._on_state)
        window.worker.metrics_ready.connect(self._finish)

    def _on_state(self, state) -> None:
        from .worker import State

        if state in (State.FINISHED, State.DIVERGED, State.NO_DATA):
            QTimer.singleShot(100, self._report)

    def _check(self, snap) -> None:
        if self.quit_after is not None and snap.train_seconds >= self.quit_after:
            self._report()

    def _report(self) -> None:
        if not self._reporting:
            self._reporting = True
            self.window.commands.report_metrics()

    def _finish(self, metrics: dict) -> None:
        # Let the last snapshot render before the picture is taken.
        QTimer.singleShot(150, lambda: self._write_and_quit(metrics))

    def _write_and_quit(self, metrics: dict) -> None:
        if self.metrics_out:
            clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
            Path(self.metrics_out).write_text(json.dumps(clean, indent=2) + "\n")
        if self.screenshot:
            self.window.grab().save(self.screenshot)
        self.window.close()


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.quit_after is not None and not (math.isfinite(args.quit_after) and args.quit_after >= 0):
        build_parser().error("--quit-after: must be a number of seconds >= 0")
    started = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Softmax Visualizer")
    app.setOrganizationName("Softmax Visualizer")
    from .main_window import MainWindow

    scripted = args.quit_after is not None or bool(args.screenshot or args.metrics_out)
    window = MainWindow(preset=args.preset, data=args.data_dir,
                        autostart=args.autostart or args.quit_after is not None,
                        ask_to_save=not scripted, autosave=not scripted)
    if args.quit_after is not None or args.screenshot or args.metrics_out:
        Autopilot(window, args.quit_after, args.screenshot, args.metrics_out)
    window.show()
    window.startup_seconds = time.perf_counter() - started
    code = app.exec()
    from .commands import orphaned_threads_running

    if orphaned_threads_running():  # still in a long NumPy call: nothing left to save or show
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def entry_point() -> None:
    sys.exit(main())
