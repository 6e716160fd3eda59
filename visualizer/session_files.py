"""Session and model files in the app: save, open, recent files, autosave and crash recovery.

The worker does the writing and reading (atomic files, see ``nn.files``); this module asks where,
remembers what was saved, keeps a crash-safe copy of the session in the user's data folder every
few minutes, and marks the data folder while the app runs. Both are per instance, named by its
process id (``autosave-<pid>.npz``, ``running-<pid>.marker``), so two instances never share
them: a mark whose process is no longer running means that session did not end normally, and its
autosave is offered for recovery; a clean exit removes only its own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from PyQt6.QtCore import QEventLoop, QObject, QStandardPaths, QTimer
from PyQt6.QtWidgets import QFileDialog, QMenu, QMessageBox

from .settings import last_folder, remember_folder

AUTOSAVE_INTERVAL_MS = 3 * 60 * 1000
SAVE_BEFORE_QUIT_TIMEOUT_MS = 30_000
MAX_RECENT = 8
FILE_FILTER = {"session": "Sessions (*.npz)", "model": "Models (*.npz)"}


def app_data_dir() -> Path:
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def instance_files(pid: int, folder: Path | None = None) -> tuple[Path, Path]:
    """(the running marker, the autosave) of the instance with process id ``pid``."""
    folder = app_data_dir() if folder is None else folder
    return folder / f"running-{pid}.marker", folder / f"autosave-{pid}.npz"


_OWN_MARKERS: set[Path] = set()  # the marks this process wrote (one per window that autosaves)


def _process_running(pid: int, marker: Path) -> bool:
    if pid == os.getpid():
        return marker in _OWN_MARKERS  # else left by an earlier process that had our id
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def stale_autosaves(folder: Path | None = None) -> list[Path]:
    """Autosaves of instances that did not end normally (their process is gone), newest first.
    Also finds the single marker and autosave of versions before per-instance files."""
    folder = app_data_dir() if folder is None else folder
    found = []
    for marker in folder.glob("running*.marker"):
        match = re.fullmatch(r"running-(\d+)\.marker", marker.name)
        autosave = folder / (f"autosave-{match[1]}.npz" if match else "autosave-session.npz")
        try:
            pid = int(match[1] if match else marker.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if autosave.is_file() and not (pid > 0 and _process_running(pid, marker)):
            found.append(autosave)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _marker_of(autosave: Path) -> Path:
    match = re.fullmatch(r"autosave-(\d+)\.npz", autosave.name)
    return autosave.with_name(f"running-{match[1]}.marker" if match else "running.marker")


class SessionFiles(QObject):
    """The files of one main window (its ``settings``, ``commands``, ``worker``, ``banner`` and
    ``last_snapshot``). ``autosave``: keep the crash-safe copy and the running mark."""

    def __init__(self, window, autosave: bool):
        super().__init__(window)
        self.window = window
        self.settings = window.settings
        self.recent_menu: QMenu | None = None
        self.running_marker, self.autosave_path = instance_files(os.getpid())
        self._recovering: Path | None = None  # a dead instance's autosave being restored
        self._saved_at = None  # (run_id, step) of the last save by the person
        self._autosaved_at = None
        window.worker.saved.connect(self._on_saved)
        window.worker.opened.connect(self._on_opened)
        self._offer_crash_recovery()
        self._autosave_timer = QTimer(self, interval=AUTOSAVE_INTERVAL_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._owns_marker = autosave
        if autosave:
            self.running_marker.write_text(str(os.getpid()))
            _OWN_MARKERS.add(self.running_marker)
            self._autosave_timer.start()

    @property
    def has_unsaved_progress(self) -> bool:
        snap = self.window.last_snapshot
        return snap is not None and snap.step > 0 and self._saved_at != (snap.run_id, snap.step)

    # -- asking where ------------------------------------------------------------------------------
    def ask_save(self, kind: str) -> None:
        default = str(last_folder(self.settings) / f"softmax-{kind}.npz")
        path, _ = QFileDialog.getSaveFileName(self.window, f"Save {kind}", default, FILE_FILTER[kind])
        if path:
            self.save_to(kind, path)

    def ask_open(self, kind: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, f"Open {kind}", str(last_folder(self.settings)),
                                              FILE_FILTER[kind])
        if path:
            self.open_from(kind, path)

    def save_to(self, kind: str, path: str) -> None:
        if not path.endswith(".npz"):
            path += ".npz"
        self.window.commands.save(kind, path)

    def open_from(self, kind: str, path: str) -> None:
        self.window.banner.hide()
        self.window.commands.open(kind, path)

    def _on_saved(self, kind: str, path: str, step: int) -> None:
        if Path(path) == self.autosave_path:
            return
        if kind == "session" and self.window.last_snapshot is not None:
            self._saved_at = (self.window.last_snapshot.run_id, step)
        self._remember(kind, path)
        self.window.statusBar().showMessage(f"Saved {kind} to {path}", 5000)

    def _on_opened(self, kind: str, path: str) -> None:
        if self._recovering is not None and Path(path) == self._recovering:
            # Recovered: the dead instance's files are ours now (kept in our own autosave from here on).
            _remove(_marker_of(self._recovering), self._recovering)
            self._recovering = None
        elif Path(path) != self.autosave_path:
            self._remember(kind, path)
        self.window.statusBar().showMessage(f"Opened {kind} {path}", 5000)

    # -- recent files ------------------------------------------------------------------------------
    def _remember(self, kind: str, path: str) -> None:
        remember_folder(self.settings, path)
        recent = [r for r in self.recent() if r != [kind, path]]
        self.settings.setValue("recent_files", [[kind, path]] + recent[: MAX_RECENT - 1])
        self.update_recent_menu()

    def recent(self) -> list[list[str]]:
        value = self.settings.value("recent_files", []) or []
        return [list(r) for r in value if isinstance(r, (list, tuple)) and len(r) == 2]

    def update_recent_menu(self) -> None:
        if self.recent_menu is None:
            return
        self.recent_menu.clear()
        recent = self.recent()
        for kind, path in recent:
            action = self.recent_menu.addAction(f"{Path(path).name}  ({kind})")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, k=kind, p=path: self.open_from(k, p))
        self.recent_menu.setEnabled(bool(recent))

    # -- autosave, crash recovery, quitting ---------------------------------------------------------
    def autosave(self) -> None:
        snap = self.window.last_snapshot
        if snap is not None and snap.step > 0 and self._autosaved_at != (snap.run_id, snap.step):
            self._autosaved_at = (snap.run_id, snap.step)
            self.window.commands.save("session", str(self.autosave_path))

    def _offer_crash_recovery(self) -> None:
        stale = stale_autosaves()
        if stale:
            self.window.banner.show_message(
                "An earlier session did not end normally. Its autosaved state can be restored.", "info",
                action=("Restore", lambda: self._recover(stale[0])))

    def _recover(self, autosave: Path) -> None:
        self._recovering = autosave
        self.open_from("session", str(autosave))

    def save_before_quit(self) -> bool:
        """Ask what to do with unsaved progress; False if the person cancels quitting."""
        answer = QMessageBox.question(
            self.window, "Unsaved progress",
            "The current run has progress that is not saved. Save the session first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            path, _ = QFileDialog.getSaveFileName(self.window, "Save session",
                                                  str(last_folder(self.settings) / "softmax-session.npz"),
                                                  FILE_FILTER["session"])
            if not path:
                return False
            loop = QEventLoop()
            self.window.worker.saved.connect(loop.quit)
            self.window.worker.error.connect(loop.quit)
            QTimer.singleShot(SAVE_BEFORE_QUIT_TIMEOUT_MS, loop.quit)
            self.window.commands.pause()
            self.save_to("session", path)
            loop.exec()
            if self.has_unsaved_progress:
                return False  # the save failed; the banner says why
        return True

    def close(self) -> None:
        """The window closes cleanly: nothing to recover next time."""
        self._autosave_timer.stop()
        if self._owns_marker:
            _remove(self.running_marker, self.autosave_path)
            _OWN_MARKERS.discard(self.running_marker)


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass
