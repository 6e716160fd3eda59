"""File > Open dataset…, the recent datasets, and back to the bundled MNIST.

A dataset is a folder with the four MNIST-format IDX files (``.gz`` or not, any image size; see
``nn.data.load_mnist``). Changing it is a Reset onto the new data: the run that ends stays in the
Runs panel, which names the data each run trained on. The worker loads the folder; if it cannot,
the banner says why and everything stays as it was. Folders that loaded are remembered (most
recent first) in the settings under ``recent_datasets``.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QFileDialog, QMenu

from .naming import data_name

MAX_RECENT = 6
SETTINGS_KEY = "recent_datasets"
_NOTHING = object()  # no dataset change under way


class DatasetFiles(QObject):
    """The datasets of a main window (its ``settings``, ``commands``, ``worker``, ``banner``).
    ``initial``: what the window loads at start (a folder, None for the bundled MNIST, or a Dataset)."""

    def __init__(self, window, initial=None):
        super().__init__(window)
        self.window = window
        self.settings = window.settings
        self.recent_menu: QMenu | None = None
        self._pending = initial if isinstance(initial, (str, Path)) else _NOTHING
        if self._pending is not _NOTHING:  # the panels' placeholders name the data being loaded
            for slot in getattr(window, "slots", {}).values():
                slot.message.setText(f"Loading {Path(initial).name}…")
        window.worker.data_loaded.connect(self._loaded)

    def add_actions(self, menu: QMenu, act) -> None:
        """Open dataset…, Recent datasets and Bundled MNIST, appended to ``menu``; ``act(text,
        slot, shortcut, tip)`` makes an action (see ``menus.make_action``)."""
        self.open_action = act("Open &dataset…", self.ask, "Ctrl+D",
                               "Train on another MNIST-format dataset: a folder with the four IDX files "
                               "(a Reset; the current run stays in the Runs panel)")
        menu.addAction(self.open_action)
        self.recent_menu = menu.addMenu("Recent data&sets")
        self.recent_menu.setToolTipsVisible(True)
        self.bundled_action = act("&Bundled MNIST", lambda: self.open(None), None,
                                  "Back to the MNIST that ships with the app (a Reset)")
        menu.addAction(self.bundled_action)
        self.update_recent_menu()

    # -- opening ---------------------------------------------------------------------------------
    def ask(self) -> None:
        start = self.recent()[0] if self.recent() else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self.window, "Open dataset: a folder with the four IDX files",
                                                  str(Path(start).parent))
        if folder:
            self.open(folder)

    def open(self, folder: str | None) -> None:
        """Train on the data in ``folder`` (None: the bundled MNIST) from now on."""
        w = self.window
        w.banner.hide()
        w.autostart = False  # a scripted start trains the data it started with, once
        w.pins = []  # the old test set's digits
        self._pending = None if folder is None else str(folder)
        w.statusBar().showMessage(f"Loading {folder or 'the bundled MNIST'}…")
        w.commands.change_data(self._pending)

    def _loaded(self, dataset) -> None:
        folder, self._pending = self._pending, _NOTHING
        if isinstance(folder, str):
            self._remember(folder)
        name = data_name(dataset.source)
        self.window.setWindowTitle(f"Softmax Visualizer — {name}" if name != "MNIST" else "Softmax Visualizer")
        if self.window.runs_panel is not None:  # (else it is built with the data's name)
            self.window.runs_panel.set_data_name(dataset.source)

    # -- recent datasets -------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value(SETTINGS_KEY, []) or []
        if isinstance(value, str):  # QSettings hands back a list of one as a plain string
            value = [value]
        return [str(v) for v in value if isinstance(v, str) and v]

    def _remember(self, folder: str) -> None:
        folder = str(Path(folder).resolve())
        recent = [r for r in self.recent() if r != folder]
        self.settings.setValue(SETTINGS_KEY, [folder] + recent[: MAX_RECENT - 1])
        self.update_recent_menu()

    def update_recent_menu(self) -> None:
        if self.recent_menu is None:
            return
        self.recent_menu.clear()
        recent = self.recent()
        for folder in recent:
            action = self.recent_menu.addAction(f"{Path(folder).name}  ({Path(folder).parent})")
            action.setToolTip(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open(f))
        self.recent_menu.setEnabled(bool(recent))
