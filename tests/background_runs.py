"""Long command-line runs that start when the session does, in a process of their own, so that
they use the machine's second core while the rest of the suite runs; the test that checks one
collects its output (or, when it runs alone, starts it and waits).

Only runs whose test was selected start (``conftest.pytest_collection_finish``). Output goes to
files, not pipes: a pipe that nobody reads for minutes would block the run once it is full.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

RUNS = {
    # the classic tutorial's full run: about two minutes of one core
    "tests/engine/test_cli.py::test_tutorial_run_reproduces_the_known_accuracies": ("train",),
}

_started: dict[str, tuple[subprocess.Popen, object, object]] = {}


def start(test_id: str) -> None:
    if test_id in _started:
        return
    out = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    err = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "nn", *RUNS[test_id]], stdout=out, stderr=err,
                               env=dict(os.environ), stdin=subprocess.DEVNULL)
    _started[test_id] = (process, out, err)


def result(test_id: str, timeout: float = 3600) -> tuple[int, str, str]:
    """(exit code, standard output, standard error) of the run for ``test_id``."""
    start(test_id)
    process, out, err = _started.pop(test_id)
    try:
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    out.seek(0)
    err.seek(0)
    texts = out.read(), err.read()
    out.close()
    err.close()
    return process.returncode, *texts


def stop_all() -> None:
    """The session ends: runs nobody collected (a test failed first, or -x) do not outlive it."""
    for test_id in list(_started):
        process, out, err = _started.pop(test_id)
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()
        err.close()
