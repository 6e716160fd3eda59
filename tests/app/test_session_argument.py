"""``softmax-visualizer [SESSION.npz]`` (issue 17.1): a session given on the command line opens
once the data has loaded."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_window import open_window  # noqa: E402

from visualizer.app import EXIT_FILE_ERROR, build_parser, main, open_session_at_start  # noqa: E402
from visualizer.main_window import MainWindow  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


@pytest.fixture
def saved_session(qtbot, small_mnist, tmp_path):
    """A session of three steps of the fast preset with 64-32 hidden units, saved to a file."""
    win = open_window(qtbot, small_mnist, steps=3, hidden="64, 32")
    path = tmp_path / "three-steps.npz"
    with qtbot.waitSignal(win.worker.saved, timeout=TIMEOUT_MS):
        win.files.save_to("session", str(path))
    win.close()
    return path


def test_the_session_argument_is_optional():
    assert build_parser().parse_args([]).session is None
    args = build_parser().parse_args(["run.npz", "--preset", "tutorial"])
    assert args.session == "run.npz" and args.preset == "tutorial"


def test_a_missing_session_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere.npz")]) == EXIT_FILE_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"softmax-visualizer: error: {tmp_path / 'nowhere.npz'}: no such session file"]


@pytest.mark.parametrize("autostart", [False, True])
def test_the_session_opens_once_the_data_is_there(qtbot, small_mnist, saved_session, autostart):
    win = MainWindow(preset="fast", data=small_mnist, ask_to_save=False, autosave=False, autostart=autostart)
    qtbot.addWidget(win)
    # The fields take the session's settings on ``opened``. Its snapshot may be shown a moment
    # before: a notice of an older snapshot, still queued, takes the newest from the mailbox.
    with qtbot.waitSignal(win.worker.opened, timeout=TIMEOUT_MS):
        open_session_at_start(win, str(saved_session))
        win.show()
    qtbot.waitUntil(lambda: win.last_snapshot is not None and win.last_snapshot.step >= 3, timeout=TIMEOUT_MS)
    assert win.last_snapshot.layer_sizes == (784, 64, 32, 10)
    assert win.controls.hidden.text() == "64, 32"
    if autostart:  # a scripted start continues the session
        qtbot.waitUntil(lambda: win.last_snapshot.step > 3 and win.state in (State.TRAINING, State.FINISHED),
                        timeout=TIMEOUT_MS)
        win.commands.pause()
    else:
        assert win.last_snapshot.step == 3 and win.state == State.PAUSED
    assert win.worker.runs == []  # the fresh run the window began with is not kept: it never trained
    win.close()


def test_the_session_waits_for_the_windows_own_reset_onto_the_data(qtbot):
    """Seen once in CI under load: the worker had set its data but not yet told the window, the
    session opened first, and the window's Reset onto the data then replaced it (the window
    showed step 0 for good). The session opens only once the window has taken the data in."""
    from types import SimpleNamespace

    from PyQt6.QtCore import QObject, pyqtSignal

    class Worker(QObject):
        data_loaded = pyqtSignal(object)

    opened = []
    worker = Worker()
    worker.dataset = object()  # the worker has it ...
    window = SimpleNamespace(autostart=False, dataset=None, worker=worker,  # ... the window not yet
                             files=SimpleNamespace(open_from=lambda kind, path: opened.append((kind, path))))
    open_session_at_start(window, "run.npz")
    qtbot.wait(50)
    assert opened == []
    window.dataset = worker.dataset  # the window's data_loaded handler (and its Reset) ran
    worker.data_loaded.emit(worker.dataset)
    qtbot.waitUntil(lambda: opened == [("session", "run.npz")], timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert opened == [("session", "run.npz")]  # once
