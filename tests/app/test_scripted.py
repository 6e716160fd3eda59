"""Scripted app mode (issue 18.6): every path of --quit-after, --metrics-out and --screenshot ends,
with exit code 0 when it did what was asked and 2 with one line on stderr when it could not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_app(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "visualizer", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if "propagateSizeHints" not in line]


def test_no_data_with_quit_after_ends_with_one_line(tmp_path):
    """The "no data" state comes before the window is shown: it must still end the run."""
    for _ in range(3):
        result = run_app("--data-dir", str(tmp_path / "nonexistent"), "--quit-after", "2")
        assert result.returncode == 2
        assert error_lines(result) == [f"softmax-visualizer: error: {tmp_path / 'nonexistent'}: data folder not found"]


@pytest.mark.parametrize("option, name", [("--metrics-out", "x.json"), ("--screenshot", "x.png"),
                                          ("--screenshot", "x.txt")])
def test_unwritable_outputs_are_refused_before_training(tmp_path, option, name):
    target = tmp_path / ("nonexistent" if name != "x.txt" else "") / name
    result = run_app("--quit-after", "2", option, str(target))
    assert result.returncode == 2
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"softmax-visualizer: error: {option} {target}: ")
    assert "Traceback" not in result.stderr and not target.exists()


def test_an_output_that_fails_at_the_end_gives_exit_2(tmp_path, qtbot, small_mnist):
    """The folder was there at the start and gone at the end: one line, exit 2, the window closes."""
    from visualizer.app import Autopilot
    from visualizer.main_window import MainWindow

    folder = tmp_path / "gone"
    window = MainWindow(preset="fast", data=small_mnist, ask_to_save=False, autosave=False)
    qtbot.addWidget(window)
    pilot = Autopilot(window, None, None, str(folder / "m.json"))
    window.show()
    with qtbot.waitSignal(window.worker.metrics_ready, timeout=30_000):
        qtbot.waitUntil(lambda: window.worker.trainer is not None, timeout=30_000)
        window.commands.report_metrics()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert pilot.exit_code == 2
