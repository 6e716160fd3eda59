"""The main window: it creates the worker, the controls and the panels, and wires them together.

No math happens here: controls emit commands, the worker applies them to the trainer, and each
snapshot the worker publishes is handed to every panel. Panels live in dock widgets, so a person
can show, hide and rearrange them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PyQt6.QtCore import QEvent, QEventLoop, QPoint, QRect, QSettings, QStandardPaths, Qt, QThread, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QActionGroup, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from nn import __version__

from . import theme as app_theme
from .controls import ControlPanel
from .pacing import RenderPacer
from .panels import style
from .panels.activations import ActivationsPanel
from .panels.class_probs import ClassProbabilityPanel
from .panels.curves import AccuracyPanel, LossPanel
from .panels.learning import LearningPanel
from .panels.runs import RunsPanel
from .panels.weights import WeightsPanel
from .worker import State, TrainingWorker

# Status-bar text on the window colour: deep shades on light, light shades on dark.
STATE_COLOURS = {
    "light": {State.LOADING: "#607d8b", State.IDLE: "#607d8b", State.TRAINING: "#2e7d32", State.PAUSED: "#b26a00",
              State.FINISHED: "#1565c0", State.DIVERGED: "#c62828", State.NO_DATA: "#c62828"},
    "dark": {State.LOADING: "#9fb3bd", State.IDLE: "#9fb3bd", State.TRAINING: "#81c784", State.PAUSED: "#ffb74d",
             State.FINISHED: "#64b5f6", State.DIVERGED: "#ef7070", State.NO_DATA: "#ef7070"},
}
# Banner (background, border) per theme and kind; its text is the palette's, light or dark.
BANNER_COLOURS = {
    "light": {"error": ("#fdecea", "#c62828"), "warning": ("#fff4e5", "#b26a00"), "info": ("#e8f1fb", "#1565c0")},
    "dark": {"error": ("#3d1f1f", "#ef5350"), "warning": ("#3d2f14", "#ffa726"), "info": ("#16283d", "#64b5f6")},
}
MNIST_ATTRIBUTION = "MNIST database, Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0)."
AUTOSAVE_INTERVAL_MS = 3 * 60 * 1000
STRUCTURE_APPLY_DELAY_MS = 300  # typing "200" applies one network, not 2, 20 and then 200
SECONDARY_EVERY = 3  # while training, panels other than the curves and softmax render every 3rd cycle
MAX_RECENT = 8
FILE_FILTER = {"session": "Sessions (*.npz)", "model": "Models (*.npz)"}
# Training threads still busy in a long NumPy call when their window closed, with their workers:
# they end on their own (see MainWindow.closeEvent); kept here so Qt never destroys them running.
_ORPHANED: list[tuple] = []


def _forget_orphan(thread, worker) -> None:
    thread.wait()  # ``finished`` comes just before the thread ends: Qt must not destroy it running
    _ORPHANED.remove((thread, worker))


def orphaned_threads_running() -> bool:
    return any(thread.isRunning() for thread, _ in _ORPHANED)


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def app_data_dir() -> Path:
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class MessageBanner(QFrame):
    """A dismissable line above the plots for errors, divergence and offers: visible, never modal."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.clicked.connect(self._run_action)
        self.details_button = QPushButton("Details…")
        self.details_button.setToolTip("Show the technical details of this error")
        self.details_button.clicked.connect(self._show_details)
        close = QPushButton("Dismiss")
        close.setToolTip("Hide this message")
        close.clicked.connect(self.hide)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(self.details_button)
        layout.addWidget(close)
        self._details = ""
        self._action = None
        self._kind = "error"
        self.hide()

    def show_message(self, text: str, kind: str = "error", details: str = "", action=None) -> None:
        """``action``: optional (button text, callable) offered next to the message."""
        self._kind = kind
        self.apply_theme()
        self.text.setText(text)
        self._details = details
        self.details_button.setVisible(bool(details))
        self._action = action
        self.action_button.setVisible(action is not None)
        if action is not None:
            self.action_button.setText(action[0])
        self.show()

    def apply_theme(self) -> None:
        background, border = BANNER_COLOURS[style.theme().name][self._kind]
        self.setStyleSheet(f"#banner {{ background: {background}; border: 1px solid {border}; border-radius: 4px; }}")

    def _run_action(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action[1]()

    def _show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Error details", self.text.text(), parent=self)
        box.setDetailedText(self._details)
        box.exec()


class DataSlot(QStackedWidget):
    """Holds a panel that needs the data; says so until the data has loaded."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.message = QLabel("Loading MNIST…")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        style.themed_css(self.message, "color: $muted;")
        self.addWidget(self.message)
        self.panel = None

    def install(self, panel: QWidget) -> None:
        if self.panel is not None:
            self.removeWidget(self.panel)
            self.panel.deleteLater()
        self.panel = panel
        self.addWidget(panel)
        self.setCurrentWidget(panel)


class MainWindow(QMainWindow):
    # Commands to the worker; queued across threads because the worker lives in its own QThread.
    cmd_load = pyqtSignal(object)
    cmd_reset = pyqtSignal(object)
    cmd_start = pyqtSignal()
    cmd_pause = pyqtSignal()
    cmd_step = pyqtSignal()
    cmd_lr = pyqtSignal(float)
    cmd_lr_decay = pyqtSignal(float)
    cmd_momentum = pyqtSignal(float)
    cmd_batch = pyqtSignal(object)
    cmd_length = pyqtSignal(object, object)
    cmd_probes = pyqtSignal(object)
    cmd_pins = pyqtSignal(object)
    cmd_eval_train = pyqtSignal()
    cmd_drawn = pyqtSignal(object)
    cmd_pin_drawn = pyqtSignal(object, int)
    cmd_unpin_drawn = pyqtSignal(int)
    cmd_map = pyqtSignal()
    cmd_rename_run = pyqtSignal(int, str)
    cmd_hide_run = pyqtSignal(int, bool)
    cmd_delete_run = pyqtSignal(int)
    cmd_save = pyqtSignal(str, str)
    cmd_open = pyqtSignal(str, str)
    cmd_report = pyqtSignal()
    cmd_ping = pyqtSignal(int)
    cmd_shutdown = pyqtSignal()

    snapshot_shown = pyqtSignal(object)  # after every panel has rendered a snapshot (tests, scripts)

    def __init__(self, preset: str | None = None, data=None, autostart: bool = False, ask_to_save: bool = True,
                 autosave: bool = True):
        """``preset``: the starting configuration; None restores the last session's settings (or
        'fast' the first time). ``data``: a folder of MNIST-format files, None for the bundled MNIST,
        or a Dataset. ``ask_to_save``: offer to save unsaved progress on quit. ``autosave``: keep a
        crash-safe copy of the session in the user's data folder every few minutes.
        """
        super().__init__()
        self.setWindowTitle("Softmax Visualizer")
        self.resize(1560, 960)
        self.autostart = autostart
        self.ask_to_save = ask_to_save
        self.dataset = None
        self.state = State.LOADING
        self.last_snapshot = None
        self.applied_config = None
        self.pins: list[int] = []
        self._closing = False
        self.render_pacer = self._pacer = RenderPacer()  # (public for benchmarks)
        self._render_timer = QTimer(self, singleShot=True)
        self._render_timer.timeout.connect(self._on_snapshot_available)
        self._render_queue: list = []  # panels still to show self.last_snapshot (while training)
        self._render_generation = 0
        self._render_cycle = 0
        self._structure_timer = QTimer(self)
        self._structure_timer.setSingleShot(True)
        self._structure_timer.setInterval(STRUCTURE_APPLY_DELAY_MS)
        self._structure_timer.timeout.connect(self._apply_structure_edit)
        self._pending_structure = None
        self._rendering = None  # the snapshot the panels are being given (while training)
        self._saved_at = None  # (run_id, step) of the last save by the person
        self._autosaved_at = None
        self.settings = QSettings()
        self.settings.setFallbacksEnabled(False)  # only this application's own settings, never another's
        # The look first, so every panel is built in the right colours.
        self.theme_choice = app_theme.apply_choice(self.settings.value("theme", app_theme.DEFAULT))
        style.set_theme(style.theme_for_palette(QApplication.palette()))

        self.controls = ControlPanel()
        remembered = self._remembered_config() if preset is None else None
        if remembered is not None:
            self.controls.show_config(remembered)
        elif preset not in (None, "fast"):
            self.controls.load_preset(preset)
        self.loss_panel = LossPanel()
        self.accuracy_panel = AccuracyPanel()
        self.class_panel = ClassProbabilityPanel()
        self.weights_panel = WeightsPanel()
        # Panels that show the data's digits are created once it has loaded.
        self.activations_panel = ActivationsPanel()
        self.learning_panel = LearningPanel()
        self.runs_panel = RunsPanel()
        self.softmax_panel = self.gallery = self.confusion_panel = self.pins_panel = None
        self.drawing_panel = self.map_panel = None
        (self.softmax_slot, self.gallery_slot, self.confusion_slot, self.pins_slot, self.drawing_slot,
         self.map_slot) = (DataSlot() for _ in range(6))
        self.banner = MessageBanner()
        self._build_central()
        self._build_docks()
        self._build_status_bar()
        self._build_menus()
        self._default_layout = self.saveState()
        self._restore_window_settings()
        self._start_worker(data)
        self._wire_controls()
        self._autosave_path = app_data_dir() / "autosave-session.npz"
        self._running_marker = app_data_dir() / "running.marker"
        self._offer_crash_recovery()
        self._autosave_timer = QTimer(self, interval=AUTOSAVE_INTERVAL_MS)
        self._autosave_timer.timeout.connect(self._autosave)
        self._owns_marker = autosave
        if autosave:
            self._running_marker.write_text(str(os.getpid()))
            self._autosave_timer.start()
        self._built = True

    # -- layout ---------------------------------------------------------------------------------
    def _build_central(self) -> None:
        curves = QSplitter(Qt.Orientation.Horizontal)
        curves.addWidget(self.loss_panel)
        curves.addWidget(self.accuracy_panel)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner)
        layout.addWidget(curves, 1)
        self.setCentralWidget(central)

    def _dock(self, name: str, title: str, widget: QWidget, tip: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState/restoreState find docks by name
        dock.setWidget(widget)
        dock.setToolTip(tip)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        dock.visibilityChanged.connect(lambda visible: visible and self._catch_up(dock))
        self.docks[name] = dock
        return dock

    def _on_screen(self, widget: QWidget) -> bool:
        """Whether a person can see ``widget``: Qt keeps the docks of inactive tabs "visible" but
        moves them outside the window, so their geometry tells."""
        if not widget.isVisible():
            return False
        if widget.window() is not self:  # a floating dock: its own window
            return True
        return self.rect().intersects(QRect(widget.mapTo(self, QPoint(0, 0)), widget.size()))

    def _catch_up(self, dock: QDockWidget) -> None:
        """Show the latest snapshot in a panel that has just become visible."""
        widget = dock.widget()
        panel = widget.panel if isinstance(widget, DataSlot) else widget
        if isinstance(widget, QScrollArea) or panel is None or self.last_snapshot is None:
            return
        panel.show_snapshot(self.last_snapshot)

    def _build_docks(self) -> None:
        self.docks: dict[str, QDockWidget] = {}
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Wide enough for every field and button, plus a vertical scroll bar on small screens.
        scroll.setMinimumWidth(self.controls.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        controls = self._dock("controls", "Controls", scroll, "Network, hyperparameters and Start/Pause/Step/Reset")
        softmax = self._dock("softmax", "Softmax", self.softmax_slot, "The network's output for one test digit")
        classes = self._dock("class_probs", "Probabilities", self.class_panel,
                             "Mean softmax output per true class: where the network hesitates")
        confusion = self._dock("confusion", "Confusion", self.confusion_slot,
                               "Counts of true vs predicted class; click a cell to list those digits")
        weights = self._dock("weights", "Weights", self.weights_panel, "The first layer's weights as images")
        mistakes = self._dock("mistakes", "Mistakes", self.gallery_slot, "The digits the network gets wrong")
        pins = self._dock("pins", "Pins", self.pins_slot, "Digits you pinned, tracked while training")
        draw = self._dock("draw", "Draw", self.drawing_slot,
                          "Draw a digit and see what the network makes of it, live")
        activations = self._dock("activations", "Activations", self.activations_panel,
                                 "From pixels to softmax: hidden activations for the selected or drawn digit")
        learning = self._dock("learning", "Learning", self.learning_panel,
                              "Is it still learning? Gradient norms, update ratios, dead units, weights")
        pca = self._dock("pca", "PCA map", self.map_slot, "The last hidden layer's view of the test digits, in 2-D")
        runs = self._dock("runs", "Runs", self.runs_panel, "Earlier runs of this session, to compare (kept at Reset)")

        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, controls)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, softmax)
        self.splitDockWidget(softmax, classes, Qt.Orientation.Horizontal)
        self.splitDockWidget(classes, weights, Qt.Orientation.Horizontal)
        # Each group is tabified onto its first dock (Qt misplaces a dock tabified onto a dock that
        # is itself a non-first tab).
        for first, others in ((softmax, (draw, activations)), (classes, (confusion, learning, runs)),
                              (weights, (mistakes, pins, pca))):
            for other in others:
                self.tabifyDockWidget(first, other)
                # Lay out each step: otherwise Qt (6.11) leaves the tab bar of the group before
                # this step behind, visible, drawn over the status bar.
                self.layout().activate()
        softmax.raise_()
        classes.raise_()
        weights.raise_()
        self.resizeDocks([controls], [300], Qt.Orientation.Horizontal)
        self.resizeDocks([softmax, classes, weights], [400, 430, 430], Qt.Orientation.Horizontal)
        self.resizeDocks([softmax], [520], Qt.Orientation.Vertical)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
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
        self._show_state(State.LOADING)
        self._show_counters(None)

    def _action(self, text: str, slot, shortcut: str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text.replace("&", "").rstrip("…"))
        action.setStatusTip(action.toolTip())
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.save_model_action = self._action("Save &model…", lambda: self._ask_save("model"), "Ctrl+S",
                                              "Save the network's parameters (.npz) to evaluate or inspect later")
        self.save_session_action = self._action("Save &session…", lambda: self._ask_save("session"), "Ctrl+Shift+S",
                                                "Save the whole run (parameters, optimiser, history) to resume later")
        self.open_session_action = self._action("&Open session…", lambda: self._ask_open("session"), "Ctrl+O",
                                                "Continue a saved session")
        self.open_model_action = self._action("Open mo&del…", lambda: self._ask_open("model"), "Ctrl+Shift+O",
                                              "Load a saved model to inspect it (training can continue from it)")
        self.recent_menu = file_menu.addMenu("Open &recent")
        for a in (self.open_session_action, self.open_model_action):
            file_menu.insertAction(self.recent_menu.menuAction(), a)
        file_menu.addSeparator()
        file_menu.addActions([self.save_session_action, self.save_model_action])
        file_menu.addSeparator()
        export = file_menu.addMenu("&Export")
        for title, panel in (("Loss plot", self.loss_panel), ("Accuracy plot", self.accuracy_panel)):
            export.addAction(self._action(f"{title} as PNG or SVG…", lambda _=False, p=panel, t=title:
                                          self._ask_export_plot(p, t)))
        export.addAction(self._action("Metric history as CSV…", self._ask_export_history))
        export.addAction(self._action("Runs table as CSV…", self._ask_export_runs))
        export.addAction(self._action("Report (window PNG + JSON)…", self._ask_export_report, "Ctrl+E",
                                      "A picture of the whole window and the configuration and final figures"))
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Quit", self.close, "Ctrl+Q", "Quit Softmax Visualizer (Ctrl+Q)"))
        self._update_recent_menu()

        view = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self._action("Restore default &layout", self.restore_default_layout, None,
                                    "Put every panel back where it started"))
        theme_menu = view.addMenu("&Theme")
        theme_menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        tips = {"system": "Follow the desktop's light or dark look", "light": "Light, whatever the desktop",
                "dark": "Dark, whatever the desktop"}
        for choice in app_theme.CHOICES:
            action = self._action(app_theme.LABELS[choice], lambda _=False, c=choice: self.set_theme_choice(c),
                                  None, tips[choice])
            action.setCheckable(True)
            action.setChecked(choice == self.theme_choice)
            group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[choice] = action

        training = self.menuBar().addMenu("&Training")
        c = self.controls
        for a in (c.toggle_action, c.step_action, c.reset_action):
            training.addAction(a)
            self.addAction(a)  # shortcuts work wherever the focus is in the window

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&Keyboard shortcuts", self._show_shortcuts))
        help_menu.addAction(self._action("&About", self._about))

    # -- remembered settings ------------------------------------------------------------------
    def _remembered_config(self):
        import json

        from nn.config import TrainConfig, validate

        text = self.settings.value("last_config", "")
        if not text:
            return None
        try:
            return validate(TrainConfig.from_dict(json.loads(text)))
        except (ValueError, TypeError):
            return None  # settings from another version, or edited by hand: start from the preset

    def _restore_window_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("window_state")
        if state is not None:
            self._restore_layout(state)

    def _restore_layout(self, state) -> bool:
        """``restoreState``, then hide the tab bars of the layout it replaced: Qt (6.11) gives the
        restored tab groups new tab bars but leaves the old ones visible, in their old places
        (e.g. over the status bar)."""
        before = [bar for bar in self.findChildren(QTabBar) if bar.parent() is self and not bar.isHidden()]
        restored = self.restoreState(state)
        self.layout().activate()
        groups = set()
        for dock in self.docks.values():
            tabbed = self.tabifiedDockWidgets(dock)
            if tabbed and not dock.isFloating():
                groups.add(frozenset(d.windowTitle() for d in (dock, *tabbed)))

        def tabs(bar):
            return frozenset(bar.tabText(i) for i in range(bar.count()))

        newer = {tabs(bar) for bar in self.findChildren(QTabBar) if bar.parent() is self and bar not in before}
        for bar in before:
            # Left behind: its group is gone, or the group has a newer bar. Otherwise Qt uses it.
            if tabs(bar) not in groups or tabs(bar) in newer:
                bar.hide()
        return restored

    def _remember_window_settings(self) -> None:
        import json

        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        config = self.controls.current_config()
        if config is not None:
            self.settings.setValue("last_config", json.dumps(config.to_dict()))
        self.settings.sync()

    def restore_default_layout(self) -> None:
        self._restore_layout(self._default_layout)
        for dock in self.docks.values():
            dock.show()
        self.docks["softmax"].raise_()
        self.docks["class_probs"].raise_()
        self.docks["weights"].raise_()

    # -- theme ---------------------------------------------------------------------------------------
    def set_theme_choice(self, choice: str) -> None:
        """"system", "light" or "dark" (anything else is "system"): applied now and remembered."""
        self.theme_choice = app_theme.apply_choice(choice)
        self.settings.setValue("theme", self.theme_choice)
        self.theme_actions[self.theme_choice].setChecked(True)
        self._follow_palette()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        # The palette changed: our own Light/Dark, or the desktop switching while on System.
        if event.type() == QEvent.Type.PaletteChange and getattr(self, "_built", False):
            self._follow_palette()

    def _follow_palette(self) -> None:
        """Give the plots the theme that suits the application's palette, if it is not theirs yet."""
        new = style.theme_for_palette(QApplication.palette())
        if new is style.theme():
            return
        style.set_theme(new)
        self.controls.apply_theme()
        self.banner.apply_theme()
        self._show_state(self.state)
        for slot in (self.softmax_slot, self.gallery_slot, self.confusion_slot, self.pins_slot, self.drawing_slot,
                     self.map_slot):
            style.restyle(slot.message)
        for panel in self._panels():
            panel.apply_theme()
            # Redraw what the snapshot carries in the new colours; hidden panels catch up when shown.
            if self.last_snapshot is not None and self._on_screen(panel):
                panel.show_snapshot(self.last_snapshot)

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", (
            "<table cellpadding=3>"
            "<tr><td><b>Space</b></td><td>start / pause / resume</td></tr>"
            "<tr><td><b>S</b></td><td>one training step</td></tr>"
            "<tr><td><b>Ctrl+R</b></td><td>reset: new network from the fields</td></tr>"
            "<tr><td><b>Ctrl+S</b>, <b>Ctrl+Shift+S</b></td><td>save model, save session</td></tr>"
            "<tr><td><b>Ctrl+O</b>, <b>Ctrl+Shift+O</b></td><td>open session, open model</td></tr>"
            "<tr><td><b>Arrows</b>, <b>Enter</b>, <b>P</b></td><td>in the mistakes gallery: move, show, pin</td></tr>"
            "<tr><td><b>Ctrl+Q</b></td><td>quit</td></tr></table>"))

    def _about(self) -> None:
        QMessageBox.about(self, "About Softmax Visualizer",
                          f"<b>Softmax Visualizer</b> {__version__}<br>"
                          "Watch a from-scratch NumPy softmax network learn MNIST.<br><br>"
                          f"Data: {MNIST_ATTRIBUTION}")

    # -- worker --------------------------------------------------------------------------------
    def _start_worker(self, data) -> None:
        self.training_thread = QThread(self)
        self.training_thread.setObjectName("training")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.training_thread)
        self.training_thread.started.connect(self.worker.initialize)
        self.training_thread.finished.connect(self.worker.deleteLater)
        w = self.worker
        for signal, slot in ((self.cmd_load, w.load_data), (self.cmd_reset, w.reset), (self.cmd_start, w.start),
                             (self.cmd_pause, w.pause), (self.cmd_step, w.step), (self.cmd_lr, w.set_lr),
                             (self.cmd_lr_decay, w.set_lr_decay),
                             (self.cmd_momentum, w.set_momentum), (self.cmd_batch, w.set_batch_size),
                             (self.cmd_length, w.set_run_length), (self.cmd_probes, w.set_probes),
                             (self.cmd_pins, w.set_pins), (self.cmd_eval_train, w.evaluate_train),
                             (self.cmd_drawn, w.set_drawn_input), (self.cmd_pin_drawn, w.pin_drawn),
                             (self.cmd_unpin_drawn, w.unpin_drawn), (self.cmd_map, w.refresh_map),
                             (self.cmd_rename_run, w.rename_run), (self.cmd_hide_run, w.set_run_hidden),
                             (self.cmd_delete_run, w.delete_run),
                             (self.cmd_save, w.save), (self.cmd_open, w.open),
                             (self.cmd_report, w.report_metrics), (self.cmd_ping, w.ping),
                             (self.cmd_shutdown, w.shutdown)):
            signal.connect(slot)
        w.data_loaded.connect(self._on_data_loaded)
        w.snapshot_available.connect(self._on_snapshot_available)
        w.state_changed.connect(self._on_state_changed)
        w.error.connect(self._on_error)
        w.config_applied.connect(self._on_config_applied)
        w.saved.connect(self._on_saved)
        w.opened.connect(self._on_opened)
        w.runs_changed.connect(self.runs_panel.set_runs)
        self.runs_panel.rename_requested.connect(self.cmd_rename_run)
        self.runs_panel.hidden_changed.connect(self.cmd_hide_run)
        self.runs_panel.delete_requested.connect(self.cmd_delete_run)
        self.training_thread.start()
        self.cmd_load.emit(data)

    def _wire_controls(self) -> None:
        c = self.controls
        c.start_requested.connect(self._start)
        c.pause_requested.connect(self.cmd_pause)
        c.resume_requested.connect(self._start)
        c.step_requested.connect(self._step)
        c.reset_requested.connect(self._reset)
        c.structure_edited.connect(self._structure_edited)
        c.lr_changed.connect(self.cmd_lr)
        c.lr_decay_changed.connect(self.cmd_lr_decay)
        c.momentum_changed.connect(self.cmd_momentum)
        c.batch_size_changed.connect(self.cmd_batch)
        c.run_length_changed.connect(self.cmd_length)

    def _start(self) -> None:
        self.banner.hide()
        self._apply_structure_edit()  # the network in the fields, even if typed a moment ago
        self.cmd_start.emit()

    def _step(self) -> None:
        self._apply_structure_edit()
        self.cmd_step.emit()

    def _reset(self, config) -> None:
        self.banner.hide()
        self._structure_timer.stop()
        self._pending_structure = None  # ``config`` is the newer one
        self.cmd_reset.emit(config)

    def _untrained(self) -> bool:
        return self.state == State.IDLE and (self.last_snapshot is None or self.last_snapshot.step == 0)

    def _structure_edited(self, config) -> None:
        # Nothing trained yet: apply (after a short pause in typing), so what is shown always
        # matches the fields. Each keystroke would otherwise build a network: 2, 20, ..., 200000.
        if self._untrained():
            self._pending_structure = config
            self._structure_timer.start()

    def _apply_structure_edit(self) -> None:
        self._structure_timer.stop()
        config, self._pending_structure = self._pending_structure, None
        if config is not None and self._untrained():
            self.cmd_reset.emit(config)

    # -- selection and pins ---------------------------------------------------------------------
    def select_digit(self, index: int, source: str = "test") -> None:
        """Show a digit everywhere: the softmax panel, the activations, the map and the gallery."""
        if source != "test":
            self.statusBar().showMessage("The softmax panel shows test digits; this is a training digit.", 4000)
            return
        if self.softmax_panel is not None:
            self.softmax_panel.select_digit(index)
            self.docks["softmax"].raise_()
        if self.map_panel is not None:
            self.map_panel.select_index(index)
        if self.gallery is not None and index in self.gallery.shown_indices():
            self.gallery.select_index(index)

    def pin_digit(self, index: int) -> None:
        from nn.trainer import MAX_PINS

        if index in self.pins:
            self.statusBar().showMessage(f"Digit #{index} is already pinned.", 3000)
            return
        if len(self.pins) >= MAX_PINS:
            self.statusBar().showMessage(f"At most {MAX_PINS} digits can be pinned: unpin one first.", 4000)
            return
        self.set_pins(self.pins + [index])
        self.docks["pins"].raise_()

    def set_pins(self, indices) -> None:
        """Pinned digits: test digits (index >= 0) and drawings (-1, -2, ...) left pinned."""
        indices = [int(i) for i in indices]
        drawn_now = [p.index for p in self.last_snapshot.pins if p.index < 0] if self.last_snapshot else []
        for pin_id in sorted(drawn_now):  # most negative first, so the others keep their ids
            if pin_id not in indices:
                self.cmd_unpin_drawn.emit(pin_id)
        self.pins = [i for i in indices if i >= 0]
        self.cmd_pins.emit(list(self.pins))

    def _pin_drawing(self, image, label: int) -> None:
        from nn.trainer import MAX_PINS

        pinned = len(self.last_snapshot.pins) if self.last_snapshot else 0
        if pinned >= MAX_PINS:
            self.statusBar().showMessage(f"At most {MAX_PINS} digits can be pinned: unpin one first.", 4000)
            return
        self.cmd_pin_drawn.emit(image, int(label))
        self.docks["pins"].raise_()

    # -- worker events ---------------------------------------------------------------------------
    def _on_data_loaded(self, dataset) -> None:
        from .panels.confusion import ConfusionMatrixPanel
        from .panels.drawing import DrawingPanel
        from .panels.gallery import MistakesGallery
        from .panels.pca_map import ActivationMapPanel
        from .panels.pins import PinnedDigitsPanel
        from .panels.softmax import SoftmaxPanel

        self.dataset = dataset
        self.softmax_panel = SoftmaxPanel(dataset)
        self.gallery = MistakesGallery(dataset)
        self.confusion_panel = ConfusionMatrixPanel(dataset)
        self.pins_panel = PinnedDigitsPanel(dataset)
        self.drawing_panel = DrawingPanel(dataset)
        self.map_panel = ActivationMapPanel(dataset)
        for slot, panel in ((self.softmax_slot, self.softmax_panel), (self.gallery_slot, self.gallery),
                            (self.confusion_slot, self.confusion_panel), (self.pins_slot, self.pins_panel),
                            (self.drawing_slot, self.drawing_panel), (self.map_slot, self.map_panel)):
            slot.install(panel)
        self.drawing_panel.drawing_changed.connect(self.cmd_drawn)
        self.drawing_panel.drawing_changed.connect(
            lambda image: image is not None and self.activations_panel.set_source("drawn"))
        self.drawing_panel.pin_requested.connect(self._pin_drawing)
        self.map_panel.digit_selected.connect(self.select_digit)
        self.map_panel.refresh_requested.connect(self.cmd_map)
        self.softmax_panel.digit_changed.connect(lambda index: self.cmd_probes.emit([index]))
        self.gallery.digit_selected.connect(self.select_digit)
        self.gallery.pin_requested.connect(self.pin_digit)
        self.gallery.train_evaluation_requested.connect(self.cmd_eval_train)
        self.confusion_panel.cell_selected.connect(self._filter_gallery)
        self.confusion_panel.cell_cleared.connect(self.gallery.clear_cell_filter)
        self.gallery.cell_filter_cleared.connect(self.confusion_panel.clear_selection)
        self.pins_panel.pins_edited.connect(self.set_pins)
        self.cmd_probes.emit([self.softmax_panel.selected_index])
        self.controls.set_data_shape(dataset.n_features, dataset.n_classes, len(dataset.train_y))
        self.statusBar().showMessage(f"Data: {dataset.source}", 4000)
        config = self.controls.current_config()
        if config is not None:
            self.cmd_reset.emit(config)
            if self.autostart:
                self.cmd_start.emit()

    def _filter_gallery(self, true_class: int, predicted: int) -> None:
        self.gallery.set_cell_filter(true_class, predicted)
        self.docks["mistakes"].raise_()

    def _on_config_applied(self, config) -> None:
        self.applied_config = config
        self.controls.set_applied_config(config)

    def _panels(self):
        panels = [self.loss_panel, self.accuracy_panel, self.class_panel, self.weights_panel,
                  self.activations_panel, self.learning_panel, self.runs_panel, self.softmax_panel, self.gallery,
                  self.confusion_panel, self.pins_panel, self.drawing_panel, self.map_panel]
        return [p for p in panels if p is not None]

    def _on_snapshot_available(self) -> None:
        if self._closing:
            return
        training = self.state == State.TRAINING
        if training:
            # Within the GUI thread's CPU budget (see pacing.py); meanwhile the newest snapshot
            # waits in the worker's mailbox, replaced by newer ones, and the timer comes back for it.
            wait = self._pacer.wait_s()
            if wait > 0:
                if not self._render_timer.isActive():
                    self._render_timer.start(max(1, round(wait * 1000)))
                    self.worker.defer_snapshots(time.monotonic() + wait)
                return
        snap = self.worker.take_snapshot()
        if snap is None:
            return
        if training:
            self._pacer.started()
        previous = self._rendering or self.last_snapshot
        if previous is None or snap.run_id != previous.run_id:
            for panel in self._panels():  # a new run: its curves start empty
                panel.clear()
        # last_snapshot becomes ``snap`` once every panel on screen shows it (see _finish_render)
        self._rendering = snap
        # The status bar and controls at once (cheap, and what commands depend on); the panels next.
        self._show_counters(snap)
        self.controls.set_progress(snap.step > 0)
        if snap.diverged and self.state == State.DIVERGED:
            self.banner.show_message(snap.diverged, "error")
        # A panel in a hidden tab or a closed dock catches up when it is shown (see _dock):
        # rendering what nobody sees would only take time from training.
        panels = [panel for panel in self._panels() if self._on_screen(panel)]
        if training:
            # What a person watches closely (the curves, the softmax of the selected digit, the
            # drawing's prediction) renders every cycle; the other panels take turns, each every
            # SECONDARY_EVERY-th cycle, so more cycles fit in the GUI thread's budget.
            self._render_cycle += 1
            primary = (self.loss_panel, self.accuracy_panel, self.softmax_panel, self.drawing_panel)
            secondary = [p for p in panels if p not in primary]
            panels = [p for p in panels if p in primary] + [
                p for k, p in enumerate(secondary) if (self._render_cycle + k) % SECONDARY_EVERY == 0]
            # One panel per pass of the event loop, each painted before the next renders: the
            # GUI never stops for the whole window's render at once (clicks and keys get in).
            self._render_queue = panels
            self._render_generation += 1
            self._render_next(self._render_generation)
            return
        self._render_queue = []
        self._render_generation += 1  # a staggered render still under way is superseded
        for panel in panels:
            panel.show_snapshot(snap)
        self._finish_render(snap)

    def _render_next(self, generation: int) -> None:
        if generation != self._render_generation or self._closing:
            return  # a newer snapshot took over
        snap = self._rendering
        if self._render_queue:
            self._render_queue.pop(0).show_snapshot(snap)
            # The next panel (or the end) after this one's paint event, so that it is measured
            QTimer.singleShot(0, lambda: self._render_next(generation))
        else:
            self._finish_render(snap)
            self._pacer.finished()

    def _finish_render(self, snap) -> None:
        self.last_snapshot = snap  # every panel on screen shows it now
        self._rendering = None
        self.snapshot_shown.emit(snap)

    def _on_state_changed(self, state: str) -> None:
        self.state = state
        if state != State.TRAINING:
            self._pacer.reset()  # renders are immediate again, and the next run is measured afresh
            self.worker.defer_snapshots(0.0)
            if self._render_timer.isActive():  # a held-back snapshot: show it now
                self._render_timer.stop()
                QTimer.singleShot(0, self._on_snapshot_available)
        self.controls.set_state(state)
        self._show_state(state)
        if state == State.DIVERGED and self.last_snapshot is not None and self.last_snapshot.diverged:
            self.banner.show_message(self.last_snapshot.diverged, "error")

    def _on_error(self, message: str, details: str) -> None:
        self.banner.show_message(message, "error", details)

    # -- files ---------------------------------------------------------------------------------------
    @property
    def has_unsaved_progress(self) -> bool:
        snap = self.last_snapshot
        return snap is not None and snap.step > 0 and self._saved_at != (snap.run_id, snap.step)

    def _ask_save(self, kind: str) -> None:
        folder = self.settings.value("last_folder", str(Path.home()))
        default = str(Path(folder) / f"softmax-{kind}.npz")
        path, _ = QFileDialog.getSaveFileName(self, f"Save {kind}", default, FILE_FILTER[kind])
        if path:
            self.save_to(kind, path)

    def _ask_open(self, kind: str) -> None:
        folder = self.settings.value("last_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, f"Open {kind}", folder, FILE_FILTER[kind])
        if path:
            self.open_from(kind, path)

    def _export_path(self, title: str, name: str, filters: str) -> str:
        folder = self.settings.value("last_folder", str(Path.home()))
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / name), filters)
        if path:
            self.settings.setValue("last_folder", str(Path(path).parent))
        return path

    def _exporting(self, what: str, write) -> None:
        """Run an export; success in the status bar, failure in the banner, never a crash."""
        try:
            written = write()
        except Exception as exc:  # noqa: BLE001 - any failure to write is shown, the app goes on
            self.banner.show_message(f"Could not export {what}: {exc}", "error")
            return
        self.statusBar().showMessage(f"Exported {what}: {written}", 5000)

    def _ask_export_plot(self, panel, title: str) -> None:
        from .export import export_plot

        path = self._export_path(f"Export {title.lower()}", f"{title.lower().replace(' ', '-')}.png",
                                 "PNG image (*.png);;SVG image (*.svg)")
        if path:
            self._exporting(title.lower(), lambda: export_plot(panel.plot, path))

    def _ask_export_history(self) -> None:
        from .export import export_history_csv

        if self.last_snapshot is None:
            return
        path = self._export_path("Export metric history", "metric-history.csv", "CSV (*.csv)")
        if path:
            self._exporting("the metric history", lambda: export_history_csv(self.last_snapshot, path))

    def _ask_export_runs(self) -> None:
        self.docks["runs"].raise_()  # show what is exported (and bring its current row up to date)
        if self.last_snapshot is not None:
            self.runs_panel.show_snapshot(self.last_snapshot)
        path = self._export_path("Export runs", "runs.csv", "CSV (*.csv)")
        if path:
            self._exporting("the runs table", lambda: self.runs_panel.export_csv(path) and path)

    def _ask_export_report(self) -> None:
        from .export import export_report

        if self.last_snapshot is None:
            return
        path = self._export_path("Export report", "softmax-report", "Report (*.png *.json)")
        if path:
            source = self.dataset.source if self.dataset is not None else None
            self._exporting("the report", lambda: ", ".join(map(str, export_report(
                self, self.last_snapshot, path.removesuffix(".png").removesuffix(".json"), source))))

    def save_to(self, kind: str, path: str) -> None:
        if not path.endswith(".npz"):
            path += ".npz"
        self.cmd_save.emit(kind, path)

    def open_from(self, kind: str, path: str) -> None:
        self.banner.hide()
        self.cmd_open.emit(kind, path)

    def _on_saved(self, kind: str, path: str, step: int) -> None:
        if Path(path) == self._autosave_path:
            return
        if kind == "session" and self.last_snapshot is not None:
            self._saved_at = (self.last_snapshot.run_id, step)
        self._remember(kind, path)
        self.statusBar().showMessage(f"Saved {kind} to {path}", 5000)

    def _on_opened(self, kind: str, path: str) -> None:
        if self.applied_config is not None:
            self.controls.show_config(self.applied_config)
        if Path(path) != self._autosave_path:
            self._remember(kind, path)
        self.pins = list(self.worker.trainer.pins) if self.worker.trainer is not None else self.pins
        self.statusBar().showMessage(f"Opened {kind} {path}", 5000)

    def _remember(self, kind: str, path: str) -> None:
        self.settings.setValue("last_folder", str(Path(path).parent))
        recent = [r for r in self._recent() if r != [kind, path]]
        self.settings.setValue("recent_files", [[kind, path]] + recent[: MAX_RECENT - 1])
        self._update_recent_menu()

    def _recent(self) -> list[list[str]]:
        value = self.settings.value("recent_files", []) or []
        return [list(r) for r in value if isinstance(r, (list, tuple)) and len(r) == 2]

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self._recent()
        for kind, path in recent:
            action = self.recent_menu.addAction(f"{Path(path).name}  ({kind})")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, k=kind, p=path: self.open_from(k, p))
        self.recent_menu.setEnabled(bool(recent))

    def _autosave(self) -> None:
        snap = self.last_snapshot
        if snap is not None and snap.step > 0 and self._autosaved_at != (snap.run_id, snap.step):
            self._autosaved_at = (snap.run_id, snap.step)
            self.cmd_save.emit("session", str(self._autosave_path))

    def _offer_crash_recovery(self) -> None:
        if self._running_marker.exists() and self._autosave_path.exists():
            self.banner.show_message("The last session did not end normally. Its autosaved state can be restored.",
                                     "info", action=("Restore", lambda: self.open_from(
                                         "session", str(self._autosave_path))))

    def _save_before_quit(self) -> bool:
        """Ask what to do with unsaved progress; False if the person cancels quitting."""
        answer = QMessageBox.question(
            self, "Unsaved progress", "The current run has progress that is not saved. Save the session first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            folder = self.settings.value("last_folder", str(Path.home()))
            path, _ = QFileDialog.getSaveFileName(self, "Save session", str(Path(folder) / "softmax-session.npz"),
                                                  FILE_FILTER["session"])
            if not path:
                return False
            loop = QEventLoop()
            self.worker.saved.connect(loop.quit)
            self.worker.error.connect(loop.quit)
            QTimer.singleShot(30_000, loop.quit)
            self.cmd_pause.emit()
            self.save_to("session", path)
            loop.exec()
            if self.has_unsaved_progress:
                return False  # the save failed; the banner says why
        return True

    # -- status bar ------------------------------------------------------------------------------
    def _show_state(self, state: str) -> None:
        colours = STATE_COLOURS[style.theme().name]
        colour = colours.get(state, colours[State.IDLE])
        self.state_label.setText(f"<span style='color:{colour}; font-weight:600'>● {state}</span>")

    def _show_counters(self, snap) -> None:
        if snap is None:
            self.step_label.setText("epoch 0 · step 0")
            self.speed_label.setText("")
            self.time_label.setText("")
            self.progress.setValue(0)
            return
        self.step_label.setText(f"epoch {snap.epoch:.2f} · step {snap.step:,}")
        if self.state == State.TRAINING and snap.samples_per_s > 0:
            self.speed_label.setText(f"{snap.samples_per_s:,.0f} samples/s")
        self.time_label.setText(f"trained {format_duration(snap.train_seconds)}")
        self.progress.setValue(round(snap.progress * 1000))
        self.progress.setFormat(f"{snap.progress * 100:.0f} %")

    # -- closing ------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self.ask_to_save and self.has_unsaved_progress and not self._save_before_quit():
            event.ignore()
            return
        self._closing = True
        self._remember_window_settings()
        self._autosave_timer.stop()
        self._render_timer.stop()
        self._structure_timer.stop()
        self.worker.request_stop()
        self.cmd_shutdown.emit()
        self.training_thread.quit()
        if not self.training_thread.wait(3000):  # (wait releases the GIL: the thread can finish)
            # Busy in one long NumPy call (nothing can interrupt it). terminate() could kill the
            # thread while it holds the GIL or a lock and hang or crash the app; instead it ends in
            # the background, owned by no window (the app exits without waiting for it: app.py).
            self.training_thread.setParent(None)
            thread, worker = self.training_thread, self.worker
            _ORPHANED.append((thread, worker))
            thread.finished.connect(lambda: _forget_orphan(thread, worker))
        if self._owns_marker:  # a clean exit: nothing to recover next time
            for path in (self._running_marker, self._autosave_path):
                try:
                    path.unlink()
                except OSError:
                    pass
        super().closeEvent(event)
