"""The main window: it creates the worker, the controls and the panels, and wires them together.

No math happens here: controls emit commands, the worker applies them to the trainer, and each
snapshot the worker publishes is handed to every panel.
"""

from __future__ import annotations

import time

from PyQt6.QtCore import QThread, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QProgressBar,
                             QPushButton, QScrollArea, QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from nn import __version__

from .controls import ControlPanel
from .panels.class_probs import ClassProbabilityPanel
from .panels.curves import AccuracyPanel, LossPanel
from .panels.weights import WeightsPanel
from .worker import State, TrainingWorker

STATE_COLOURS = {
    State.LOADING: "#607d8b", State.IDLE: "#607d8b", State.TRAINING: "#2e7d32", State.PAUSED: "#b26a00",
    State.FINISHED: "#1565c0", State.DIVERGED: "#c62828", State.NO_DATA: "#c62828",
}
MNIST_ATTRIBUTION = "MNIST database, Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0)."


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class MessageBanner(QFrame):
    """A dismissable line above the panels for errors and divergence: visible, never modal."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.details_button.setToolTip("Show the technical details of this error")
        self.details_button.clicked.connect(self._show_details)
        close = QPushButton("Dismiss")
        close.setToolTip("Hide this message")
        close.clicked.connect(self.hide)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(close)
        self._details = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error", details: str = "") -> None:
        colours = {"error": ("#fdecea", "#c62828"), "warning": ("#fff4e5", "#b26a00"), "info": ("#e8f1fb", "#1565c0")}
        background, border = colours[kind]
        self.setStyleSheet(f"#banner {{ background: {background}; border: 1px solid {border}; border-radius: 4px; }}")
        self.text.setText(text)
        self._details = details
        self.details_button.setVisible(bool(details))
        self.show()

    def _show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Error details", self.text.text(), parent=self)
        box.setDetailedText(self._details)
        box.exec()


class MainWindow(QMainWindow):
    # Commands to the worker; queued across threads because the worker lives in its own QThread.
    cmd_load = pyqtSignal(object)
    cmd_reset = pyqtSignal(object)
    cmd_start = pyqtSignal()
    cmd_pause = pyqtSignal()
    cmd_step = pyqtSignal()
    cmd_lr = pyqtSignal(float)
    cmd_momentum = pyqtSignal(float)
    cmd_batch = pyqtSignal(object)
    cmd_length = pyqtSignal(object, object)
    cmd_probes = pyqtSignal(object)
    cmd_report = pyqtSignal()
    cmd_shutdown = pyqtSignal()

    snapshot_shown = pyqtSignal(object)  # after every panel has rendered a snapshot (tests, scripts)

    def __init__(self, preset: str = "fast", data=None, autostart: bool = False):
        """``data``: a folder of MNIST-format files, None for the bundled MNIST, or a Dataset."""
        super().__init__()
        self.setWindowTitle("Softmax Visualizer")
        self.resize(1560, 960)
        self.autostart = autostart
        self.dataset = None
        self.state = State.LOADING
        self.last_snapshot = None
        self._closing = False

        self.controls = ControlPanel()
        if preset != "fast":
            self.controls.load_preset(preset)
        self.loss_panel = LossPanel()
        self.accuracy_panel = AccuracyPanel()
        self.class_panel = ClassProbabilityPanel()
        self.weights_panel = WeightsPanel()
        self.softmax_panel = None  # needs the data's images; created when the data has loaded
        self.banner = MessageBanner()
        self._build_layout()
        self._build_status_bar()
        self._build_menus()
        self._start_worker(data)
        self._wire_controls()

    # -- layout ---------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(290)
        scroll.setMaximumWidth(360)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        self.softmax_slot = QStackedWidget()
        loading = QLabel("Loading MNIST…")
        loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.softmax_slot.addWidget(loading)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.loss_panel)
        top.addWidget(self.accuracy_panel)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.softmax_slot, self.class_panel, self.weights_panel):
            bottom.addWidget(w)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 3)
        bottom.setStretchFactor(2, 3)
        panels = QSplitter(Qt.Orientation.Vertical)
        panels.addWidget(top)
        panels.addWidget(bottom)
        panels.setStretchFactor(0, 4)
        panels.setStretchFactor(1, 5)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 6, 6, 0)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(panels, 1)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setCollapsible(0, False)
        self.setCentralWidget(main)

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

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.setToolTip("Quit Softmax Visualizer (Ctrl+Q)")
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        training = self.menuBar().addMenu("&Training")
        c = self.controls
        for a in (c.toggle_action, c.step_action, c.reset_action):
            training.addAction(a)
            self.addAction(a)  # shortcuts work wherever the focus is in the window
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

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
                             (self.cmd_momentum, w.set_momentum), (self.cmd_batch, w.set_batch_size),
                             (self.cmd_length, w.set_run_length), (self.cmd_probes, w.set_probes),
                             (self.cmd_report, w.report_metrics), (self.cmd_shutdown, w.shutdown)):
            signal.connect(slot)
        w.data_loaded.connect(self._on_data_loaded)
        w.snapshot_available.connect(self._on_snapshot_available)
        w.state_changed.connect(self._on_state_changed)
        w.error.connect(self._on_error)
        w.config_applied.connect(self._on_config_applied)
        self.training_thread.start()
        self.cmd_load.emit(data)

    def _wire_controls(self) -> None:
        c = self.controls
        c.start_requested.connect(self._start)
        c.pause_requested.connect(self.cmd_pause)
        c.resume_requested.connect(self._start)
        c.step_requested.connect(self.cmd_step)
        c.reset_requested.connect(self._reset)
        c.structure_edited.connect(self._structure_edited)
        c.lr_changed.connect(self.cmd_lr)
        c.momentum_changed.connect(self.cmd_momentum)
        c.batch_size_changed.connect(self.cmd_batch)
        c.run_length_changed.connect(self.cmd_length)

    def _start(self) -> None:
        self.banner.hide()
        self.cmd_start.emit()

    def _reset(self, config) -> None:
        self.banner.hide()
        self.cmd_reset.emit(config)

    def _structure_edited(self, config) -> None:
        # Nothing trained yet: apply at once, so what is shown always matches the fields.
        if self.state == State.IDLE and (self.last_snapshot is None or self.last_snapshot.step == 0):
            self.cmd_reset.emit(config)

    # -- worker events ---------------------------------------------------------------------------
    def _on_data_loaded(self, dataset) -> None:
        from .panels.softmax import SoftmaxPanel

        self.dataset = dataset
        self.softmax_panel = SoftmaxPanel(dataset)
        self.softmax_slot.addWidget(self.softmax_panel)
        self.softmax_slot.setCurrentWidget(self.softmax_panel)
        self.softmax_panel.digit_changed.connect(lambda index: self.cmd_probes.emit([index]))
        self.cmd_probes.emit([self.softmax_panel.selected_index])
        self.controls.set_data_shape(dataset.n_features, dataset.n_classes, len(dataset.train_y))
        self.statusBar().showMessage(f"Data: {dataset.source}", 4000)
        config = self.controls.current_config()
        if config is not None:
            self.cmd_reset.emit(config)
            if self.autostart:
                self.cmd_start.emit()

    def _on_config_applied(self, config) -> None:
        self.controls.set_applied_config(config)

    def _panels(self):
        panels = [self.loss_panel, self.accuracy_panel, self.class_panel, self.weights_panel]
        return panels + ([self.softmax_panel] if self.softmax_panel is not None else [])

    def _on_snapshot_available(self) -> None:
        snap = self.worker.take_snapshot()
        if snap is None or self._closing:
            return
        if self.last_snapshot is None or snap.run_id != self.last_snapshot.run_id:
            for panel in self._panels():  # a new run: its curves start empty
                panel.clear()
        self.last_snapshot = snap
        for panel in self._panels():
            panel.show_snapshot(snap)
        self._show_counters(snap)
        self.controls.set_progress(snap.step > 0)
        if snap.diverged and self.state == State.DIVERGED:
            self.banner.show_message(snap.diverged, "error")
        self.snapshot_shown.emit(snap)

    def _on_state_changed(self, state: str) -> None:
        self.state = state
        self.controls.set_state(state)
        self._show_state(state)
        if state == State.DIVERGED and self.last_snapshot is not None and self.last_snapshot.diverged:
            self.banner.show_message(self.last_snapshot.diverged, "error")

    def _on_error(self, message: str, details: str) -> None:
        self.banner.show_message(message, "error", details)

    # -- status bar ------------------------------------------------------------------------------
    def _show_state(self, state: str) -> None:
        colour = STATE_COLOURS.get(state, "#607d8b")
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
        self._closing = True
        self.worker.request_stop()
        self.cmd_shutdown.emit()
        self.training_thread.quit()
        if not self.training_thread.wait(3000):
            self.training_thread.terminate()
            self.training_thread.wait()
        super().closeEvent(event)
