"""Launching the app: ``softmax-visualizer [SESSION.npz]`` or ``python -m visualizer [SESSION.npz]``
(a session given is opened once the data has loaded).

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
    parser.add_argument("session", nargs="?", metavar="SESSION.npz",
                        help="a saved session to open (with --data-dir if it trained on other data)")
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="starting configuration (default: the settings of the last session, else fast)")
    parser.add_argument("--data-dir", help="folder with the four MNIST-format IDX files (default: bundled MNIST)")
    parser.add_argument("--autostart", action="store_true", help="start training as soon as the data is loaded")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="quit after this many seconds of training (or when the run ends)")
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window just before quitting")
    parser.add_argument("--metrics-out", metavar="JSON", help="write the final metrics as JSON when quitting")
    return parser


EXIT_FILE_ERROR = 2  # as the CLI: bad input, or a file that cannot be read or written
OPEN_RETRY_MS = 10  # a session given at start waits this long at a time for the window to take its data in


def output_problem(path: str, what: str) -> str | None:
    """Why ``path`` cannot be written (one line naming it), or None: checked before training, so
    a scripted run never trains for nothing."""
    target = Path(path)
    if not path or target.is_dir():
        return f"{what} {path!r}: not a file name"
    folder = target.parent
    if not folder.is_dir():
        return f"{what} {path}: no such folder {folder}"
    if not os.access(folder, os.W_OK):
        return f"{what} {path}: the folder {folder} cannot be written"
    if what == "--screenshot":
        from PyQt6.QtGui import QImageWriter

        formats = {bytes(f).decode() for f in QImageWriter.supportedImageFormats()}
        if target.suffix[1:].lower() not in formats:
            return f"{what} {path}: name an image file (.png, .jpg, .bmp)"
    return None


class Autopilot(QObject):
    """Ends a scripted session: waits for enough training, then reports, screenshots and quits.
    ``exit_code`` says how it ended: 0 done, 2 no data or a file that could not be written (one
    line on stderr)."""

    def __init__(self, window, quit_after: float | None, screenshot: str | None, metrics_out: str | None):
        super().__init__(window)
        self.window, self.quit_after = window, quit_after
        self.screenshot, self.metrics_out = screenshot, metrics_out
        self._reporting = False
        self.exit_code = 0
        window.snapshot_shown.connect(self._check)
        # The window's own signal, on this thread: a state the worker reached before this
        # connection was made (no data, at once) still arrives, as the window itself hears it.
        window.state_shown.connect(self._on_state)
        window.worker.metrics_ready.connect(self._finish)
        self._on_state(window.state)

    def _on_state(self, state) -> None:
        from .worker import State

        if state == State.NO_DATA:  # the banner says why, once the worker's message has arrived
            QTimer.singleShot(100, lambda: self._fail(self.window.banner.text.text() or "no data to train on"))
        elif state in (State.FINISHED, State.DIVERGED):
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
            try:
                Path(self.metrics_out).write_text(json.dumps(clean, indent=2) + "\n")
            except OSError as exc:
                return self._fail(f"--metrics-out {self.metrics_out}: {exc.strerror or exc}")
        if self.screenshot and not self.window.grab().save(self.screenshot):
            return self._fail(f"--screenshot {self.screenshot}: could not be written as an image")
        self.window.close()

    def _fail(self, message: str) -> None:
        """Quit at once with one line on stderr and exit code 2."""
        if self.exit_code == 0:
            print(f"softmax-visualizer: error: {message}", file=sys.stderr, flush=True)
            self.exit_code = EXIT_FILE_ERROR
            QTimer.singleShot(0, self.window.close)


def open_session_at_start(window, path: str) -> None:
    """Open the session ``path`` as soon as the window has its data (after its first Reset onto
    it); a scripted start (--autostart) then continues the session rather than a new run."""
    autostart, window.autostart = window.autostart, False
    done = []

    def open_it(*_) -> None:
        if done:
            return
        if window.dataset is None:
            # The worker has the data but the window has not taken it in (its Reset onto it is
            # still to come, and would replace the session): once it has.
            QTimer.singleShot(OPEN_RETRY_MS, open_it)
            return
        done.append(True)
        window.worker.data_loaded.disconnect(open_it)
        window.files.open_from("session", path)
        if autostart:
            window.commands.start()

    window.worker.data_loaded.connect(open_it)  # (after the window's own handler: it runs first)
    if window.worker.dataset is not None:  # loaded before this listened: open after the window's Reset
        QTimer.singleShot(0, open_it)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.session is not None and not os.path.isfile(args.session):
        print(f"softmax-visualizer: error: {args.session}: no such session file", file=sys.stderr)
        return EXIT_FILE_ERROR
    if args.quit_after is not None and not (math.isfinite(args.quit_after) and args.quit_after >= 0):
        build_parser().error("--quit-after: must be a number of seconds >= 0")
    for path, what in ((args.metrics_out, "--metrics-out"), (args.screenshot, "--screenshot")):
        problem = None if path is None else output_problem(path, what)
        if problem:
            print(f"softmax-visualizer: error: {problem}", file=sys.stderr)
            return EXIT_FILE_ERROR
    started = time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Softmax Visualizer")
    app.setOrganizationName("Softmax Visualizer")
    from .main_window import MainWindow

    scripted = args.quit_after is not None or bool(args.screenshot or args.metrics_out)
    window = MainWindow(preset=args.preset, data=args.data_dir,
                        autostart=args.autostart or args.quit_after is not None,
                        ask_to_save=not scripted, autosave=not scripted)
    if args.session is not None:
        open_session_at_start(window, args.session)
    autopilot = Autopilot(window, args.quit_after, args.screenshot, args.metrics_out) if scripted else None
    window.show()
    window.startup_seconds = time.perf_counter() - started
    code = app.exec() or (autopilot.exit_code if autopilot is not None else 0)
    from .commands import orphaned_threads_running

    if orphaned_threads_running():  # still in a long NumPy call: nothing left to save or show
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def entry_point() -> None:
    sys.exit(main())
