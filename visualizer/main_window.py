"""The main window: it creates the worker, the controls and the panels, and wires them together.

No math happens here: controls call the worker's commands, the worker applies them to the
trainer, and each snapshot it publishes goes to the panels (:mod:`visualizer.rendering`). The
panels are listed in :mod:`visualizer.panel_table` and live in dock widgets
(:mod:`visualizer.docks`), so a person can show, hide and rearrange them; files, autosave and
crash recovery are :mod:`visualizer.session_files`, File > Export :mod:`visualizer.export_menu`.
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QMainWindow, QSplitter, QVBoxLayout, QWidget

from nn.config import format_number

from . import long_lived, style, theme
from .banner import MessageBanner
from .commands import WorkerCommands, create_worker, stop_worker
from .controls import ControlPanel
from .datasets_menu import DatasetFiles
from .docks import (
    DataSlot,
    arrange_default,
    build_docks,
    fits_screen,
    on_screen,
    panel_in,
    raise_first_tabs,
    restore_layout,
)
from .export_menu import FileExports
from .hints_bar import attach_hints
from .menus import build_menus
from .panel_table import DOCKED, PANELS
from .rendering import RenderScheduler
from .runs_import import RunsImport
from .session_files import SessionFiles
from .settings import (
    app_settings,
    forget_settings,
    remember_config,
    remember_smoothing,
    remembered_config,
    remembered_smoothing,
)
from .status_bar import StatusFigures
from .tsne_map import TsneMaps
from .worker import State

STRUCTURE_APPLY_DELAY_MS = 300  # typing "200" applies one network, not 2, 20 and then 200
DEFERRED_BUILD_DELAY_MS = 100  # the deferred panels are built this long after the window shows


class MainWindow(QMainWindow):
    snapshot_shown = pyqtSignal(object)  # after every panel on screen has rendered a snapshot (tests, scripts)
    state_shown = pyqtSignal(object)  # the worker's State, once the window has taken it in (scripts)

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
        self.applied_config = None
        self.pins: list[int] = []
        self._structure_timer = QTimer(self, singleShot=True, interval=STRUCTURE_APPLY_DELAY_MS)
        self._structure_timer.timeout.connect(self._apply_structure_edit)
        self._pending_structure = None
        self._map_asked = None  # (run, step) whose layer map was asked for (_after_training)
        self._newest = None  # the snapshot taken last (panels may still be rendering it)
        self._runs = None  # the worker's earlier runs, last told (for a runs panel built later)
        self.settings = app_settings()
        # The look first, so every panel is built in the right colours.
        self.theme_choice = theme.apply_choice(self.settings.value("theme", theme.DEFAULT))
        theme.follow_palette()

        self.controls = ControlPanel()
        remembered = remembered_config(self.settings) if preset is None else None
        if remembered is not None:
            self.controls.show_config(remembered)
        elif preset not in (None, "fast"):
            self.controls.load_preset(preset)
        # Panels that show the data's digits are built once it has loaded; meanwhile a slot says so.
        # Deferred panels are built just after the first paint (_build_deferred).
        for spec in PANELS:
            setattr(self, spec.attr, None if spec.needs_data or spec.deferred else spec.build())
        self.slots = {spec.name: DataSlot() if spec.needs_data else DataSlot("Loading…")
                      for spec in PANELS if spec.needs_data or spec.deferred}
        self.banner = MessageBanner()
        self.training_thread, self.worker = create_worker(self)
        self.commands = WorkerCommands(self.worker)
        self.rendering = RenderScheduler(self.worker, self.panels, self.on_screen, self._watched_panels,
                                         self._on_snapshot_taken, self)
        self.rendering.shown.connect(self.snapshot_shown)
        self._build_central()
        docked = {s.name: self.slots.get(s.name) or getattr(self, s.attr) for s in DOCKED}
        self.docks = build_docks(self, self.controls, docked)
        for dock in self.docks.values():
            dock.visibilityChanged.connect(lambda visible, d=dock: visible and self.rendering.catch_up(panel_in(d)))
        self.status = StatusFigures(self.statusBar())
        self.exports = FileExports(self)
        self.files = SessionFiles(self, autosave)
        self.datasets = DatasetFiles(self, data)
        self.runs_import = RunsImport(self)
        self.tsne = TsneMaps(self)
        build_menus(self)
        self._default_layout = self.saveState()
        self._restore_window_settings()
        self._start_worker(data)
        self._wire_controls()
        self._built = True

    @property
    def last_snapshot(self):
        """The snapshot every panel on screen shows (None before the first)."""
        return self.rendering.last_snapshot

    def panels(self) -> list:
        """Every panel built so far, in the table's order."""
        return [panel for panel in (getattr(self, spec.attr) for spec in PANELS) if panel is not None]

    def _watched_panels(self) -> tuple:
        return tuple(getattr(self, spec.attr) for spec in PANELS if spec.watched)

    def on_screen(self, widget: QWidget) -> bool:
        return on_screen(self, widget)

    # -- layout ---------------------------------------------------------------------------------
    def _build_central(self) -> None:
        curves = QSplitter(Qt.Orientation.Horizontal)
        for spec in PANELS:
            if spec.place == "central":
                curves.addWidget(getattr(self, spec.attr))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner)
        layout.addWidget(curves, 1)
        self.hints_bar = attach_hints(self, layout)  # under the banner
        self.setCentralWidget(central)

    # -- remembered layout ---------------------------------------------------------------------------
    def _restore_window_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("window_state")
        if state is not None:
            restore_layout(self, self.docks, state)

    def _remember_window_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        remember_config(self.settings, self.controls.current_config())
        self.settings.sync()

    def restore_default_settings(self) -> None:
        """Back to a first start: the fast preset in the fields (applied as any edit is), the
        system theme, the default layout; nothing remembered from earlier launches."""
        forget_settings(self.settings)
        self.controls.load_preset("fast")
        self.set_theme_choice(theme.DEFAULT)
        self.restore_default_layout()
        self.statusBar().showMessage("Default settings restored: the fast preset applies at Reset.", 5000)

    def restore_default_layout(self) -> None:
        restore_layout(self, self.docks, self._default_layout)
        for dock in self.docks.values():
            dock.show()
        raise_first_tabs(self, self.docks)

    # -- theme ---------------------------------------------------------------------------------------
    def set_theme_choice(self, choice: str) -> None:
        """"system", "light" or "dark" (anything else is "system"): applied now and remembered."""
        self.theme_choice = theme.apply_choice(choice)
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
        if not theme.follow_palette():
            return
        self.controls.apply_theme()
        self.banner.apply_theme()
        self.status.show_state(self.state)
        for slot in self.slots.values():
            style.restyle(slot.message)
        for panel in self.panels():
            panel.apply_theme()
            # Redraw what the snapshot carries in the new colours; hidden panels catch up when shown.
            if self.last_snapshot is not None and self.on_screen(panel):
                panel.show_snapshot(self.last_snapshot)

    # -- worker and controls ---------------------------------------------------------------------------
    def _start_worker(self, data) -> None:
        w = self.worker
        w.data_loaded.connect(self._on_data_loaded)
        w.snapshot_available.connect(self.rendering.on_snapshot_available)
        w.state_changed.connect(self._on_state_changed)
        w.error.connect(lambda message, details: self.banner.show_message(message, "error", details))
        w.config_applied.connect(self._on_config_applied)
        w.opened.connect(self._on_opened)
        w.runs_changed.connect(self._on_runs_changed)
        w.network_copied.connect(self._on_network_copied)
        self.training_thread.start()
        self.commands.load_data(data)

    def _wire_controls(self) -> None:
        c, commands = self.controls, self.commands
        c.start_requested.connect(self._start)
        c.pause_requested.connect(commands.pause)
        c.resume_requested.connect(self._start)
        c.step_requested.connect(self._step)
        c.reset_requested.connect(self._reset)
        c.structure_edited.connect(self._structure_edited)
        c.lr_changed.connect(commands.set_lr)
        c.lr_decay_changed.connect(commands.set_lr_decay)
        c.momentum_changed.connect(commands.set_momentum)
        c.batch_size_changed.connect(commands.set_batch_size)
        c.run_length_changed.connect(commands.set_run_length)
        c.dropout_changed.connect(commands.set_dropout)
        c.augmentation_changed.connect(commands.set_augmentation)
        c.speed_changed.connect(self._set_speed)
        # One smoothing for both train curves, remembered with the other settings.
        for panel in (self.loss_panel, self.accuracy_panel):
            panel.set_smoothing(remembered_smoothing(self.settings, panel.smoothing))
            panel.smoothing_changed.connect(self._set_smoothing)

    def _set_smoothing(self, weight: float) -> None:
        for panel in (self.loss_panel, self.accuracy_panel):
            panel.set_smoothing(weight)
        remember_smoothing(self.settings, weight)

    def _set_speed(self, steps_per_s: float) -> None:
        self.status.speed_limit = steps_per_s
        self.commands.set_speed(steps_per_s)

    def _continuation(self) -> str:
        """What Start adds to a run that has ended: "4 more epochs" (the run length last set)."""
        epochs, iterations = self.worker.continue_length
        if epochs is None and iterations is None and self.applied_config is not None:
            epochs, iterations = self.applied_config.epochs, self.applied_config.iterations
        if epochs is not None:
            return f"{format_number(epochs)} more epoch{'' if epochs == 1 else 's'}"
        return f"{iterations or 0:,} more step{'' if iterations == 1 else 's'}"

    def _start(self) -> None:
        ended = self.state == State.FINISHED
        if ended:
            self.statusBar().showMessage(f"The run goes on: {self._continuation()}.", 5000)
        else:  # (a passing message, e.g. the data's name, would hide the run's state and counters)
            self.statusBar().clearMessage()
        self.banner.hide()
        self.controls.commit_typing()
        self._apply_structure_edit()  # the network in the fields, even if typed a moment ago
        if ended:
            self.commands.continue_run()
        else:
            self.commands.start()

    def _step(self) -> None:
        self.controls.commit_typing()
        self._apply_structure_edit()
        self.commands.step()

    def _reset(self, config) -> None:
        self.banner.hide()
        self._structure_timer.stop()
        self._pending_structure = None  # ``config`` is the newer one
        self.commands.reset(config)

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
            self.commands.reset(config)

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

    def _room_for_a_pin(self, pinned: int) -> bool:
        from nn.trainer import MAX_PINS

        if pinned >= MAX_PINS:
            self.statusBar().showMessage(f"At most {MAX_PINS} digits can be pinned: unpin one first.", 4000)
        return pinned < MAX_PINS

    def pin_digit(self, index: int) -> None:
        if index in self.pins:
            self.statusBar().showMessage(f"Digit #{index} is already pinned.", 3000)
        elif self._room_for_a_pin(len(self.pins)):
            self.set_pins(self.pins + [index])
            # the gallery (or wherever it was pinned from) stays in view; the Pins tab follows it
            self.statusBar().showMessage(f"Pinned #{index}: the Pins tab follows it while training goes on.", 4000)

    def set_pins(self, indices) -> None:
        """Pinned digits: test digits (index >= 0) and drawings (-1, -2, ...) left pinned."""
        indices = [int(i) for i in indices]
        drawn_now = [p.index for p in self.last_snapshot.pins if p.index < 0] if self.last_snapshot else []
        for pin_id in sorted(drawn_now):  # most negative first, so the others keep their ids
            if pin_id not in indices:
                self.commands.unpin_drawn(pin_id)
        self.pins = [i for i in indices if i >= 0]
        self.commands.set_pins(self.pins)
        if self.gallery is not None:
            self.gallery.set_pinned(self.pins)

    def _pin_drawing(self, image, label: int) -> None:
        if self._room_for_a_pin(len(self.last_snapshot.pins) if self.last_snapshot else 0):
            self.commands.pin_drawn(image, int(label))
            self.docks["pins"].raise_()

    # -- deferred panels -------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if any(getattr(self, spec.attr) is None for spec in PANELS if spec.deferred):
            QTimer.singleShot(DEFERRED_BUILD_DELAY_MS, self._build_deferred)

    def _build_deferred(self) -> None:
        """Build the deferred panels (once): after the first paint, or when first needed."""
        if self.rendering.stopped:
            return  # the window closed first
        built = False
        for spec in PANELS:
            if spec.deferred and getattr(self, spec.attr) is None:
                built = True
                panel = spec.build()
                setattr(self, spec.attr, panel)
                self.slots[spec.name].install(panel)
                if panel is self.runs_panel:
                    self._wire_runs_panel()
                if self.on_screen(panel):
                    self.rendering.catch_up(panel)
        if built and not fits_screen(self):
            # A layout remembered on a larger screen fitted while these panels were placeholders.
            arrange_default(self, self.docks)

    def _wire_runs_panel(self) -> None:
        """The runs panel's edits go to the worker; it shows the runs and data told before it was built."""
        panel = self.runs_panel
        panel.rename_requested.connect(self.commands.rename_run)
        panel.hidden_changed.connect(self.commands.set_run_hidden)
        panel.delete_requested.connect(self.commands.delete_run)
        if self._runs is not None:
            panel.set_runs(self._runs)
        if self.dataset is not None:
            panel.set_data_name(self.dataset.source)

    def _on_runs_changed(self, runs) -> None:
        self._runs = runs
        if self.runs_panel is not None:
            self.runs_panel.set_runs(runs)

    # -- worker events ---------------------------------------------------------------------------
    def _on_data_loaded(self, dataset) -> None:
        long_lived.unsettle()  # (other data: the old data's panels are about to go)
        self.dataset = dataset
        self._build_deferred()
        self.rendering.forget()  # after a dataset change (File > Open dataset…): the old data's snapshots
        for spec in PANELS:
            if spec.needs_data:
                panel = spec.build(dataset)
                setattr(self, spec.attr, panel)
                self.slots[spec.name].install(panel)
        commands = self.commands
        self.drawing_panel.drawing_changed.connect(commands.set_drawn_input)
        self.drawing_panel.drawing_changed.connect(
            lambda image: image is not None and self.activations_panel.set_source("drawn"))
        self.drawing_panel.pin_requested.connect(self._pin_drawing)
        self.map_panel.digit_selected.connect(self.select_digit)
        self.map_panel.refresh_requested.connect(commands.refresh_map)
        self.tsne.attach(self.map_panel)
        self.softmax_panel.digit_changed.connect(lambda index: commands.set_probes([index]))
        self.gallery.digit_selected.connect(self.select_digit)
        self.gallery.pin_requested.connect(self.pin_digit)
        self.gallery.train_evaluation_requested.connect(commands.evaluate_train)
        self.confusion_panel.cell_selected.connect(self._filter_gallery)
        self.confusion_panel.cell_cleared.connect(self.gallery.clear_cell_filter)
        self.gallery.cell_filter_cleared.connect(self.confusion_panel.clear_selection)
        self.pins_panel.pins_edited.connect(self.set_pins)
        for panel in (self.math_panel, self.gradient_panel):  # they compute on a copy of the network
            panel.network_wanted.connect(commands.copy_network)
            self.drawing_panel.drawing_changed.connect(
                lambda image, p=panel: image is not None and p.set_source("drawn"))
        commands.set_probes([self.softmax_panel.selected_index])
        self.controls.set_data_shape(dataset.n_features, dataset.n_classes, len(dataset.train_y))
        self.controls.augmented_strip.set_dataset(dataset)
        if not self.autostart:  # (the run's state and counters come first)
            self.statusBar().showMessage(f"Data: {dataset.source}", 4000)
        long_lived.settle()  # every panel is built: the window's objects stay out of full collections
        config = self.controls.current_config()
        if config is not None:
            commands.reset(config)
            if self.autostart:
                commands.start()

    def _on_network_copied(self, network) -> None:
        """The worker's copy of the network, for the panels that explain its math (they asked)."""
        for panel in (self.math_panel, self.gradient_panel):
            if panel is not None:
                panel.set_network(network)

    def _filter_gallery(self, true_class: int, predicted: int) -> None:
        self.gallery.set_cell_filter(true_class, predicted)
        self.docks["mistakes"].raise_()

    def _on_config_applied(self, config) -> None:
        self.applied_config = config
        self.controls.set_applied_config(config)

    def _on_opened(self, kind: str, path: str) -> None:
        if self.applied_config is not None:
            self.controls.show_config(self.applied_config)
        self.pins = list(self.worker.trainer.pins) if self.worker.trainer is not None else self.pins

    def _on_snapshot_taken(self, snap) -> None:
        self._newest = snap
        self.status.show_counters(snap, self.state)
        self.controls.set_progress(snap.step, snap.epoch)
        self._after_training(snap)

    def _after_training(self, snap) -> None:
        """Once training has stopped, whichever comes last of the snapshot and the new state: a
        divergence is explained; a layer map older than the snapshot (it is recomputed every few
        seconds while training) is recomputed, so every panel shows the final state."""
        if snap is None or self.state == State.TRAINING:
            return
        if snap.diverged and self.state == State.DIVERGED:
            self.banner.show_message(snap.diverged, "error")
        stale = snap.activation_map is not None and snap.activation_map.step != snap.step
        if stale and self._map_asked != (snap.run_id, snap.step):
            self._map_asked = (snap.run_id, snap.step)
            self.commands.refresh_map()

    def _on_state_changed(self, state: State) -> None:
        self.state = state
        self.state_shown.emit(state)
        self.rendering.set_training(state == State.TRAINING)
        self.controls.set_state(state)
        ended = state == State.FINISHED
        self.status.show_state(state, f"Continue trains {self._continuation()}" if ended else "")
        self._after_training(self._newest)

    # -- closing ------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self.ask_to_save and self.files.has_unsaved_progress and not self.files.save_before_quit():
            event.ignore()
            return
        self._remember_window_settings()
        self.controls.shut_down()
        self.rendering.stop()
        self._structure_timer.stop()
        self.tsne.cancel()
        stop_worker(self.training_thread, self.commands)
        self.files.close()
        super().closeEvent(event)
