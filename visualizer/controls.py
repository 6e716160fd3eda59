"""The control column: preset, network structure, hyperparameters, and Start/Pause/Step/Reset.

Controls never talk to the trainer. They validate what the person types (with the same parsers
as the CLI, so both accept and refuse the same things), show problems at the field, and emit
commands. Learning rate, momentum, batch size and run length apply live; structure (layers,
activation, optimiser, seed) applies at Reset, and until then the field shows it is pending.

One rule for when a live value applies: on Enter, when the field loses focus, on a spin step or
a choice from a list, or after a short pause in typing; never at an intermediate value of a
number being typed ("1", "12" on the way to "128"). A value that would end the run (a run length
the run has already passed) applies only on Enter or focus-out, never at a pause in typing.
Before the first step, live fields apply like the others: the run starts with their values.
"""

from __future__ import annotations

import math

from PyQt6 import sip
from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nn.activations import ACTIVATIONS
from nn.config import (
    MAX_EPOCHS,
    PRESETS,
    ConfigError,
    TrainConfig,
    format_number,
    parse_batch_size,
    parse_hidden,
    parse_int,
    parse_positive_float,
    validate,
)
from nn.network import INITS
from nn.optimizers import OPTIMIZERS

from . import style, theme
from .regularization import build_regularization, regularization_values, show_regularization
from .worker import State

LR_MIN, LR_MAX = 1e-5, 100.0
LIVE_APPLY_DELAY_MS = 350  # a dragged slider applies once it rests, not at every pixel
TYPING_PAUSE_MS = 900  # a typed live value applies after this long without a keystroke
LIVE = ("lr", "lr_decay", "batch", "momentum", "length")
STRUCTURAL = ("hidden", "activation", "optimizer", "seed", "init", "l2")
UNTIL_PAUSED = "until paused"  # a run length: the longest run there is (MAX_EPOCHS epochs)
SPEEDS = ((0.0, "full speed"), (100.0, "100 steps/s"), (30.0, "30 steps/s"), (10.0, "10 steps/s"),
          (3.0, "3 steps/s"), (1.0, "1 step/s"))
OPTIMIZER_LABELS = {"gd": "gd (plain gradient descent)", "sgd": "sgd (plain, mini-batch)",
                    "momentum": "momentum", "adam": "adam"}


def _nice_ladder() -> list[float]:
    """1, 2, 5 x powers of ten: the values the learning-rate arrows step through."""
    values = []
    for exponent in range(-5, 3):
        for mantissa in (1, 2, 3, 5):
            v = float(f"{mantissa}e{exponent}")
            if LR_MIN <= v <= LR_MAX:
                values.append(v)
    return values


class LogSpinBox(QDoubleSpinBox):
    """A spin box for values spanning decades: shows '0.001' not '0.00', steps 1-2-3-5 x 10^k."""

    LADDER = _nice_ladder()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(8)
        self.setRange(LR_MIN, LR_MAX)
        self.setKeyboardTracking(False)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)

    def textFromValue(self, value: float) -> str:
        return format_number(float(f"{value:.4g}"))

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        from PyQt6.QtGui import QValidator

        try:
            value = float(text)
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        ok = math.isfinite(value) and LR_MIN <= value <= LR_MAX
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def stepBy(self, steps: int) -> None:
        ladder, value = self.LADDER, self.value()
        if steps > 0:
            above = [v for v in ladder if v > value * (1 + 1e-9)]
            self.setValue(above[min(steps, len(above)) - 1] if above else ladder[-1])
        elif steps < 0:
            below = [v for v in ladder if v < value * (1 - 1e-9)]
            self.setValue(below[max(steps, -len(below))] if below else ladder[0])


class LearningRateControl(QWidget):
    """A logarithmic slider and a spin box that stay in step; emits ``value_changed`` at rest.

    The slider's positions are the spin box's 1-2-3-5 ladder: every decade gets the same length,
    and each position is a round value (0.5, 1, 2, never 9.12)."""

    value_changed = pyqtSignal(float)
    validity_changed = pyqtSignal(str)  # "" when valid, else the message

    LADDER = LogSpinBox.LADDER

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, len(self.LADDER) - 1)
        self.slider.setPageStep(len([v for v in self.LADDER if 1 <= v < 10]))  # a decade
        self.slider.setToolTip("Learning rate on a logarithmic scale (1e-5 to 100). Applies live.")
        self.spin = LogSpinBox()
        self.spin.setToolTip("Learning rate: type a value or use the arrows (1, 2, 3, 5 x 10^k). Applies live.")
        self.spin.setMinimumWidth(82)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self._syncing = False
        self._emit_timer = QTimer(self, singleShot=True, interval=LIVE_APPLY_DELAY_MS)
        self._emit_timer.timeout.connect(self._emit_value)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)
        self.spin.lineEdit().textEdited.connect(self._check_text)

    def _emit_value(self) -> None:
        if not (sip.isdeleted(self) or sip.isdeleted(self.spin) or sip.isdeleted(self.slider)):
            self.value_changed.emit(self.value())

    def hideEvent(self, event) -> None:
        self._emit_timer.stop()  # a closed control has nothing more to say
        super().hideEvent(event)

    def value(self) -> float:
        return self.spin.value()

    def set_value(self, value: float, emit: bool = False) -> None:
        self._syncing = True
        self.spin.setValue(value)
        self.slider.setValue(self._to_slider(value))
        self._syncing = False
        self.validity_changed.emit("")
        if emit:
            self._emit_timer.start()

    def _to_slider(self, value: float) -> int:
        """The ladder's position nearest to ``value`` (on the log scale)."""
        return min(range(len(self.LADDER)), key=lambda i: abs(math.log10(self.LADDER[i] / value)))

    def _from_slider(self, position: int) -> None:
        if self._syncing:
            return
        self._syncing = True
        self.spin.setValue(self.LADDER[position])
        self._syncing = False
        self._emit_timer.start()

    def _from_spin(self, value: float) -> None:
        self.validity_changed.emit("")
        if self._syncing:
            return
        self._syncing = True
        self.slider.setValue(self._to_slider(value))
        self._syncing = False
        self._emit_timer.start()

    def _check_text(self, text: str) -> None:
        try:
            value = parse_positive_float(text, "learning rate")
            if not LR_MIN <= value <= LR_MAX:
                raise ConfigError(f"learning rate: must be between {LR_MIN:g} and {LR_MAX:g}")
            self.validity_changed.emit("")
        except ConfigError as exc:
            self.validity_changed.emit(str(exc))


def _live_value(name: str, config: TrainConfig):
    return {"lr": config.lr, "momentum": config.momentum, "lr_decay": config.lr_decay, "batch": config.batch_size,
            "length": (config.epochs, config.iterations), "dropout": config.dropout,
            "augment": (config.augment_shift, config.augment_rotation, config.augment_noise)}[name]


def _parse_l2(text: str) -> float:
    """The L2 field: empty is 0 (off); validate() checks the range."""
    try:
        return float(text.strip() or "0")
    except ValueError:
        raise ConfigError(f"L2: {text.strip()!r} is not a number") from None


class _Field:
    """A row of the form: its widget, the label (which marks pending changes) and an error line."""

    def __init__(self, name: str, title: str, widget: QWidget, error: QLabel, label: QLabel):
        self.name, self.title, self.widget, self.error, self.label = name, title, widget, error, label
        self.message, self.pending = "", False
        self.tip = label.toolTip()  # what the field is; a pending mark adds to it

    def show_error(self, message: str) -> None:
        self.message = message
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.paint()

    def mark_pending(self, pending: bool) -> None:
        self.pending = pending
        self.label.setText(f"{self.title} •" if pending else self.title)
        self.label.setToolTip(f"{self.tip}\n\nChanged: applies when you press Reset" if pending else self.tip)
        self.paint()

    def paint(self) -> None:
        """Colours of the error and pending marks in the current theme (palettes, not style
        sheets: a style sheet would freeze the field's other colours when the theme changes)."""
        t = theme.current()
        target = self.widget.spin if isinstance(self.widget, LearningRateControl) else self.widget
        style.set_colors(target, **({"Base": t.error_fill} if self.message else {}))
        style.set_colors(self.error, WindowText=t.diverged)
        style.set_colors(self.label, **({"WindowText": t.warning} if self.pending else {}))
        font = self.label.font()
        font.setBold(self.pending)
        self.label.setFont(font)


class ControlPanel(QWidget):
    reset_requested = pyqtSignal(object)  # TrainConfig from the fields
    structure_edited = pyqtSignal(object)  # TrainConfig, when a structural field changed validly
    lr_changed = pyqtSignal(float)
    lr_decay_changed = pyqtSignal(float)
    momentum_changed = pyqtSignal(float)
    batch_size_changed = pyqtSignal(object)  # int or None (full batch)
    run_length_changed = pyqtSignal(object, object)  # epochs, iterations
    speed_changed = pyqtSignal(float)  # steps per second, 0 for full speed
    dropout_changed = pyqtSignal(float)
    augmentation_changed = pyqtSignal(int, float, float)  # shift (pixels), rotation (degrees), noise
    start_requested = pyqtSignal()
    pause_requested = pyqtSignal()
    resume_requested = pyqtSignal()
    step_requested = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._data_shape: tuple[int, int, int] | None = None  # features, classes, training samples
        self._applied: TrainConfig | None = None
        self._has_progress = False
        self._state = State.LOADING
        self._loading_preset = False
        self._errors: dict[str, str] = {}
        self._fields: dict[str, _Field] = {}
        self._position = (0, 0.0)  # the run's step and epoch
        self._typing: dict[str, QTimer] = {}  # live fields being typed into: apply at a pause
        self._live_sent: dict[str, object] = {}  # live values sent since the trainer's config came
        self._build_actions()
        self._build_form()
        self.load_preset("fast")
        self.set_state(State.LOADING)

    # -- construction ---------------------------------------------------------------------------
    def _build_actions(self) -> None:
        def action(text, shortcut, tip, slot):
            a = QAction(text, self)
            a.setToolTip(tip)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
                a.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
            a.triggered.connect(slot)
            return a

        # Space toggles start/pause/resume. It is its own action because a disabled action (Start,
        # while training) would swallow the shortcut.
        self.toggle_action = action("Start / Pause", "Space", "Start, pause or resume training", self._start_or_pause)
        self.start_action = action("Start", "", "Start training with these settings (Space)", self.start_requested)
        self.pause_action = action("Pause", "", "Pause or resume training (Space)", self._pause_or_resume)
        self.step_action = action("Step", "S", "Train exactly one iteration (one batch), then evaluate",
                                  self.step_requested)
        self.reset_action = action("Reset", "Ctrl+R", "Build a new network from the fields; the current run is cleared",
                                   self._request_reset)

    def _build_form(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.setSpacing(10)

        buttons = QHBoxLayout()
        for a in (self.start_action, self.pause_action, self.step_action, self.reset_action):
            b = QToolButton()
            b.setDefaultAction(a)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setMinimumHeight(30)
            buttons.addWidget(b)
        self.start_button = buttons.itemAt(0).widget()
        style.themed_css(self.start_button, "QToolButton:enabled { font-weight: 600; }")

        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, "custom"])
        self.preset.setToolTip("fast: a ReLU network with Adam that passes 98 % in seconds.\n"
                               "tutorial: the classic 784-50-10 sigmoid network, full-batch gradient descent.")
        self.preset.activated.connect(lambda _: self._alive() and self.load_preset(self.preset.currentText()))

        network = QGroupBox("Network (applies at Reset)")
        network_form = self._form(network)
        self.hidden = QLineEdit()
        self.hidden.setPlaceholderText("empty = softmax regression")
        self._add(network_form, "hidden", "Hidden layers", self.hidden,
                  'Hidden layer sizes, e.g. "50" or "128, 64". Empty: no hidden layer (softmax regression).\n'
                  "Try empty, then 50, then 256, 128: how much does each layer buy?")
        self.activation = QComboBox()
        self.activation.addItems(list(ACTIVATIONS))
        self._add(network_form, "activation", "Activation", self.activation,
                  "Hidden-layer activation function: sigmoid (the tutorial's), tanh or ReLU.\n"
                  "Try sigmoid and relu on the same network and compare the Learning tab.")
        self.optimizer = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer.addItem(OPTIMIZER_LABELS[name], name)
        self._add(network_form, "optimizer", "Optimiser", self.optimizer,
                  "Update rule. gd and sgd are plain gradient descent; momentum and Adam keep state.\n"
                  "Try sgd at learning rate 0.1 against adam at 0.001.")
        self.seed = QLineEdit()
        self._add(network_form, "seed", "Seed", self.seed,
                  "Random seed for the initial weights and the data order. Try two seeds: how far apart do the "
                  "runs end?")
        self.init = QComboBox()
        self.init.addItems(list(INITS))
        self._add(network_form, "init", "Initialisation", self.init,
                  "How the first weights are drawn: auto (He for ReLU, else the tutorial's randn / √fan-in), "
                  "tutorial, he or xavier. Try he for a deep ReLU network whose units die.")
        self.l2 = QLineEdit()
        self.l2.setPlaceholderText("0 = off")
        self._add(network_form, "l2", "L2 (weight decay)", self.l2,
                  "Adds L2 × ½||W||² to the loss, pulling every weight toward 0 at each step. 0 = off. "
                  "Try 1e-4 when test accuracy falls while training accuracy rises (overfitting).")

        live = QGroupBox("Training (applies live)")
        live_form = self._form(live)
        self.lr = LearningRateControl()
        self._add(live_form, "lr", "Learning rate", self.lr,
                  "Step size of gradient descent; applies at once. Try ten times higher mid-run and watch the loss.")
        self.lr_decay = QDoubleSpinBox()
        self.lr_decay.setRange(0.05, 1.0)
        self.lr_decay.setSingleStep(0.05)
        self.lr_decay.setDecimals(2)
        self.lr_decay.setKeyboardTracking(False)
        self._add(live_form, "lr_decay", "LR decay / epoch", self.lr_decay,
                  "The learning rate is multiplied by this once per epoch (smoothly). 1 = constant. Applies live.\n"
                  "Try 0.5: big steps early, fine ones late.")
        self.batch = QComboBox()
        self.batch.setEditable(True)
        self.batch.addItems(["full", "32", "64", "128", "256", "512", "1024"])
        self._add(live_form, "batch", "Batch size", self.batch,
                  "Samples per step: a number, or 'full' for full-batch gradient descent. Applies live.\n"
                  "Try 32 against full: noisier steps, but many more of them.")
        self.momentum = QDoubleSpinBox()
        self.momentum.setRange(0.0, 0.999)
        self.momentum.setSingleStep(0.05)
        self.momentum.setDecimals(3)
        self.momentum.setKeyboardTracking(False)
        self._add(live_form, "momentum", "Momentum", self.momentum,
                  "Momentum coefficient (momentum optimiser only): the share of the last update carried into the "
                  "next. Try 0.9 against 0.")
        length_row = QWidget()
        length_layout = QHBoxLayout(length_row)
        length_layout.setContentsMargins(0, 0, 0, 0)
        self.length_value = QLineEdit()
        self.length_unit = QComboBox()
        self.length_unit.addItems(["epochs", "iterations", UNTIL_PAUSED])
        self.length_unit.setToolTip("Count the run in passes over the training set or in steps, "
                                    "or train until you pause")
        length_layout.addWidget(self.length_value, 1)
        length_layout.addWidget(self.length_unit)
        self._add(live_form, "length", "Run length", length_row,
                  "How long the run lasts; can be extended live. When it has ended, Start (then named "
                  "Continue) goes on for as long again.")
        self._fields["length"].widget = self.length_value
        self.speed = QComboBox()
        for steps_per_s, text in SPEEDS:
            self.speed.addItem(text, steps_per_s)
        self._add(live_form, "speed", "Speed", self.speed,
                  "Slow motion: at most this many training steps a second, to watch the first steps one by "
                  "one. Full speed trains as fast as the computer can. Applies live.")
        self.speed.activated.connect(lambda _: self.speed_changed.emit(self.speed_value))

        self.pending_note = QLabel("• changed: press Reset (Ctrl+R) to apply")
        style.set_colors(self.pending_note, WindowText=theme.current().warning)
        self.pending_note.setWordWrap(True)
        self.pending_note.setToolTip("Fields marked • changed since this network was built: Reset (Ctrl+R) builds "
                                     "a new network with them")
        self.pending_note.hide()

        preset_row = QFormLayout()
        preset_label = QLabel("Preset")
        preset_label.setToolTip(self.preset.toolTip())
        preset_row.addRow(preset_label, self.preset)
        outer.addLayout(buttons)
        outer.addLayout(preset_row)
        outer.addWidget(network)
        outer.addWidget(live)
        outer.addWidget(build_regularization(self))
        outer.addWidget(self.pending_note)
        outer.addStretch(1)

        self.hidden.textChanged.connect(lambda _: self._edited("hidden"))
        self.activation.currentIndexChanged.connect(lambda _: self._edited("activation"))
        self.optimizer.currentIndexChanged.connect(lambda _: self._edited("optimizer"))
        self.seed.textChanged.connect(lambda _: self._edited("seed"))
        self.init.currentIndexChanged.connect(lambda _: self._edited("init"))
        self.l2.textChanged.connect(lambda _: self._edited("l2"))
        self.lr.validity_changed.connect(lambda message: self._set_error("lr", message))
        # Live fields: every change is checked at once (_edited); it applies when committed.
        self.batch.currentTextChanged.connect(lambda _: self._edited("batch"))
        self.length_value.textChanged.connect(lambda _: self._edited("length"))
        # committed: at rest (slider), Enter, focus-out or a spin step (spin boxes without
        # keyboard tracking), a choice from a list
        self.lr.value_changed.connect(lambda _: self._commit("lr"))
        self.momentum.valueChanged.connect(lambda _: self._commit("momentum"))
        self.lr_decay.valueChanged.connect(lambda _: self._commit("lr_decay"))
        self.batch.activated.connect(lambda _: self._commit("batch"))
        self.batch.lineEdit().editingFinished.connect(lambda: self._commit("batch"))
        self.length_value.editingFinished.connect(lambda: self._commit("length"))
        self.length_unit.activated.connect(lambda _: self._commit("length"))
        self.length_unit.currentIndexChanged.connect(self._length_unit_changed)
        # ... or at a pause in typing
        for name, editor in (("lr", self.lr.spin.lineEdit()), ("momentum", self.momentum.lineEdit()),
                             ("lr_decay", self.lr_decay.lineEdit()), ("batch", self.batch.lineEdit()),
                             ("length", self.length_value)):
            timer = self._typing[name] = QTimer(self, singleShot=True, interval=TYPING_PAUSE_MS)
            timer.timeout.connect(lambda name=name: self._commit(name, typing=True))
            editor.textEdited.connect(lambda _, timer=timer: timer.start())

    def _form(self, box: QGroupBox) -> QFormLayout:
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(4)
        return form

    def _add(self, form: QFormLayout, name: str, title: str, widget: QWidget, tip: str) -> None:
        label = QLabel(title)
        widget.setToolTip(widget.toolTip() or tip)
        label.setToolTip(tip)
        error = QLabel()
        error.setWordWrap(True)
        error.hide()
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(2)
        column_layout.addWidget(widget)
        column_layout.addWidget(error)
        form.addRow(label, column)
        self._fields[name] = _Field(name, title, widget, error, label)

    # -- reading the fields -----------------------------------------------------------------------
    def _parse(self) -> tuple[TrainConfig | None, dict[str, str]]:
        """The config the fields describe, and the error message of every invalid field."""
        errors: dict[str, str] = {}
        values: dict = {}

        def read(name, fn):
            try:
                return fn()
            except ConfigError as exc:
                errors[name] = str(exc)
                return None

        values["hidden"] = read("hidden", lambda: parse_hidden(self.hidden.text()))
        values["seed"] = read("seed", lambda: parse_int(self.seed.text(), "seed", 0))
        values["l2"] = read("l2", lambda: _parse_l2(self.l2.text()))
        values["batch_size"] = read("batch", lambda: parse_batch_size(self.batch.currentText()))
        if self.length_unit.currentText() == UNTIL_PAUSED:
            values["epochs"], values["iterations"] = float(MAX_EPOCHS), None
        elif self.length_unit.currentText() == "epochs":
            values["epochs"] = read("length", lambda: parse_positive_float(self.length_value.text(), "epochs"))
            values["iterations"] = None
        else:
            values["iterations"] = read("length", lambda: parse_int(self.length_value.text(), "iterations", 1))
            values["epochs"] = None
        if "lr" in self._errors:
            errors["lr"] = self._errors["lr"]
        if errors:
            return None, errors
        base = self._applied or PRESETS["fast"]
        config = base.replace(hidden=values["hidden"], activation=self.activation.currentText(),
                              optimizer=self.optimizer.currentData(), seed=values["seed"],
                              lr=self.lr.value(), momentum=self.momentum.value(),
                              lr_decay=round(self.lr_decay.value(), 4),
                              batch_size=values["batch_size"], epochs=values["epochs"],
                              iterations=values["iterations"], **regularization_values(self))
        init = self.init.currentText()
        if init == base.init and (config.hidden != base.hidden or config.activation != base.activation):
            init = "auto"  # the preset's init was chosen for its own network (one picked in the field stays)
        config = config.replace(init=init, l2=values["l2"])
        try:
            shape = self._data_shape or (None, None, None)
            validate(config, *shape)
        except ConfigError as exc:
            message = str(exc)
            field = {"hidden layers": "hidden", "batch size": "batch", "seed": "seed", "L2": "l2", "init": "init",
                     "epochs": "length", "iterations": "length", "dropout": "dropout", "shift": "shift",
                     "rotation": "rotation", "noise": "noise"}.get(message.split(":")[0], "hidden")
            return None, {field: message}
        return config, {}

    def current_config(self) -> TrainConfig | None:
        return self._parse()[0]

    @property
    def is_valid(self) -> bool:
        return self.current_config() is not None

    # -- reacting to edits --------------------------------------------------------------------------
    def _set_error(self, name: str, message: str) -> None:
        if message:
            self._errors[name] = message
        else:
            self._errors.pop(name, None)
        self._refresh()

    def _alive(self) -> bool:
        """False once the window is closing (``shut_down``) or the fields are being destroyed: a
        combo box emptied or a field losing focus on its way out must not reach its siblings."""
        return not (self.signalsBlocked() or sip.isdeleted(self) or sip.isdeleted(self.length_value))

    def _length_unit_changed(self, _index: int) -> None:
        if self._alive():
            self.length_value.setEnabled(self.length_unit.currentText() != UNTIL_PAUSED)

    def _edited(self, name: str) -> None:
        if self._loading_preset or not self._alive():
            return
        self._refresh()
        config = self.current_config()
        if config is None or self._applied is None:
            return
        if name in STRUCTURAL:
            self.structure_edited.emit(config)
        if name != "preset":
            self._sync_preset_name(config)

    def _commit(self, name: str, typing: bool = False) -> None:
        """Apply live field ``name`` (see the module docstring for when)."""
        if not self._alive():
            return
        self._typing[name].stop()
        if typing:  # the spin boxes take in what was typed (a valueChanged commits it)
            for spin in (self.lr.spin, self.momentum, self.lr_decay, *self.regularization_spins):
                if spin.hasFocus():
                    spin.interpretText()
        if self._loading_preset:
            return
        self._refresh()
        config = self.current_config()
        if config is None or self._applied is None:
            return
        if not self._has_progress:  # nothing trained yet: the run starts with this value
            if config != self._applied:
                self.structure_edited.emit(config)
            self._sync_preset_name(config)
            return
        if typing and name == "length" and self._would_end_run(config):
            return  # "1" on the way to "1500": wait for Enter or focus-out
        value, applied = (_live_value(name, c) for c in (config, self._applied))
        # once per value (Enter in a list field is both "activated" and "editingFinished")
        if value != self._live_sent.get(name, applied):
            self._live_sent[name] = value
            signal = {"lr": self.lr_changed, "momentum": self.momentum_changed, "lr_decay": self.lr_decay_changed,
                      "batch": self.batch_size_changed, "length": self.run_length_changed,
                      "dropout": self.dropout_changed, "augment": self.augmentation_changed}[name]
            signal.emit(*value) if name in ("length", "augment") else signal.emit(value)
        self._sync_preset_name(config)

    def _would_end_run(self, config: TrainConfig) -> bool:
        step, epoch = self._position
        return config.iterations <= step if config.epochs is None else config.epochs <= epoch

    def shut_down(self) -> None:
        """The window is closing: nothing more is emitted (a field losing focus as the window is
        destroyed would otherwise commit into a half-destroyed panel)."""
        for timer in self._typing.values():
            timer.stop()
        for child in self.findChildren(QObject):
            child.blockSignals(True)
        self.blockSignals(True)

    def commit_typing(self) -> None:
        """Apply what is being typed into a live field now (e.g. Start was pressed)."""
        for name, timer in self._typing.items():
            if timer.isActive():
                self._commit(name, typing=True)

    def _sync_preset_name(self, config: TrainConfig) -> None:
        for index, preset in enumerate(PRESETS.values()):
            if config.replace(init=preset.init) == preset:
                self.preset.setCurrentIndex(index)
                return
        self.preset.setCurrentIndex(self.preset.count() - 1)

    def apply_theme(self) -> None:
        """The error and pending marks in the colours of :func:`theme.current`."""
        style.restyle(self)  # re-polishes the widgets with a style sheet in the new palette
        for field in self._fields.values():
            field.paint()
        style.set_colors(self.pending_note, WindowText=theme.current().warning)

    def _refresh(self) -> None:
        config, errors = self._parse()
        for name, field in self._fields.items():
            field.show_error(errors.get(name, ""))
        pending = []
        if config is not None and self._applied is not None and self._has_progress:
            shown = {"init": self.init.currentText()}  # (a changed network may take "auto": not the person's change)
            pending = [name for name in STRUCTURAL
                       if shown.get(name, getattr(config, name)) != getattr(self._applied, name)]
        for name in STRUCTURAL:
            self._fields[name].mark_pending(name in pending)
        self.pending_note.setVisible(bool(pending))
        self.momentum.setEnabled(self.optimizer.currentData() == "momentum")
        self._update_actions(config is not None)

    # -- called by the main window ----------------------------------------------------------------
    def load_preset(self, name: str) -> None:
        if name not in PRESETS:
            return
        config = PRESETS[name]
        self._fill(config)
        self.preset.setCurrentText(name)
        parsed = self.current_config()
        if parsed is not None and self._applied is not None:
            self.structure_edited.emit(config if parsed.replace(init=config.init) == config else parsed)

    def show_config(self, config: TrainConfig) -> None:
        """Make the fields show ``config`` (e.g. of an opened session) without applying anything."""
        self._fill(config)
        self._sync_preset_name(config)

    def _fill(self, config: TrainConfig) -> None:
        self._loading_preset = True
        self.hidden.setText(", ".join(str(h) for h in config.hidden))
        self.activation.setCurrentText(config.activation)
        self.optimizer.setCurrentIndex(self.optimizer.findData(config.optimizer))
        self.seed.setText(str(config.seed))
        self.init.setCurrentText(config.init)
        self.l2.setText(format_number(config.l2))
        self.lr.set_value(config.lr)
        self.batch.setCurrentText("full" if config.batch_size is None else str(config.batch_size))
        self.momentum.setValue(config.momentum)
        self.lr_decay.setValue(config.lr_decay)
        self._show_length(config)
        show_regularization(self, config)
        self._loading_preset = False
        self._refresh()

    def _show_length(self, config: TrainConfig) -> None:
        if config.epochs is not None and config.epochs >= MAX_EPOCHS:
            self.length_unit.setCurrentText(UNTIL_PAUSED)  # (the number typed before stays for later)
        elif config.epochs is not None:
            self.length_unit.setCurrentText("epochs")
            self.length_value.setText(format_number(config.epochs))
        else:
            self.length_unit.setCurrentText("iterations")
            self.length_value.setText(str(config.iterations))
        self.length_value.setEnabled(self.length_unit.currentText() != UNTIL_PAUSED)

    @property
    def speed_value(self) -> float:
        """The speed chosen: steps per second, 0 for full speed."""
        return float(self.speed.currentData())

    def apply_changes(self, changes: dict) -> None:
        """Set fields to these TrainConfig values (a hint's action) as a person would: the learning
        rate applies at once, the initialisation and L2 are marked pending until Reset."""
        for name, value in changes.items():
            if name == "lr":
                self.lr.set_value(float(value))
                self._commit("lr")
            elif name == "l2":
                self.l2.setText(format_number(float(value)))
            elif name == "init":
                self.init.setCurrentText(str(value))
            else:
                raise ValueError(f"no control for the setting {name!r}")

    def set_data_shape(self, n_features: int, n_classes: int, n_train: int) -> None:
        self._data_shape = (n_features, n_classes, n_train)
        self._refresh()

    def set_applied_config(self, config: TrainConfig) -> None:
        """The trainer now runs ``config``; live fields follow it (e.g. after a preset Reset)."""
        previous = self._applied
        shown = self.current_config()
        if (previous is not None and shown is not None and _live_value("length", config) != _live_value(
                "length", previous) and _live_value("length", shown) == _live_value("length", previous)):
            self._loading_preset = True  # a run continued by Start: the field shows its new length
            self._show_length(config)
            self._loading_preset = False
        self._applied = config
        self._live_sent = {}
        blocked = self.init.blockSignals(True)  # the initialisation it was built with ("auto" after a change)
        self.init.setCurrentText(config.init)
        self.init.blockSignals(blocked)
        self._refresh()

    def set_progress(self, step: int, epoch: float) -> None:
        """Where the run is: live values that would end it wait for Enter; before the first
        step, structural fields are not pending (they apply by themselves)."""
        self._position = (step, epoch)
        has_progress = step > 0
        if has_progress != self._has_progress:
            self._has_progress = has_progress
            self._refresh()

    def set_state(self, state: State) -> None:
        self._state = state
        self.pause_action.setText("Resume" if state == State.PAUSED else "Pause")
        # A run that has ended goes on at Start, for its run length again.
        self.start_action.setText("Continue" if state == State.FINISHED else "Start")
        self._update_actions(self.is_valid)

    def _update_actions(self, valid: bool) -> None:
        state, ready = self._state, self._applied is not None
        self.toggle_action.setEnabled(ready and state in (State.IDLE, State.TRAINING, State.PAUSED, State.FINISHED))
        self.start_action.setEnabled(ready and valid and state in (State.IDLE, State.FINISHED))
        self.pause_action.setEnabled(state in (State.TRAINING, State.PAUSED))
        self.step_action.setEnabled(ready and valid and state in (State.IDLE, State.PAUSED))
        self.reset_action.setEnabled(valid and state not in (State.LOADING, State.NO_DATA))

    # -- actions ----------------------------------------------------------------------------------
    def _start_or_pause(self) -> None:
        """Space: start when idle (or continue a run that has ended), otherwise pause/resume."""
        if self._state in (State.IDLE, State.FINISHED):
            if self.is_valid:
                self.start_requested.emit()
        else:
            self._pause_or_resume()

    def _pause_or_resume(self) -> None:
        if self._state == State.TRAINING:
            self.pause_requested.emit()
        elif self._state == State.PAUSED:
            self.resume_requested.emit()

    def _request_reset(self) -> None:
        config = self.current_config()
        if config is not None:
            self.reset_requested.emit(config)
