"""The math, live: one digit through the output layer and back, number by number.

For the selected test digit (or the drawn one), from a float64 copy of the live network
(:mod:`visualizer.network_copy`), with every number computed by :func:`nn.explain.digit_math`,
which reads them off :mod:`nn.reference`'s own ``forward`` and ``backward``:

* Forward: the last hidden layer's activations a and the output weights W (true and predicted
  rows framed), then per class z = W a + b, z − max z, e^(z − max z), p = e / Σe, and the loss
  −log p_true. Hovering any cell shows its formula with the actual numbers. A display-only
  temperature shows softmax(z / T) beside p: training always uses T = 1.
* Backward: dL/dz = p − y (the tutorial's result) as signed bars, dL/db = p − y, dL/dW = (p − y) aᵀ
  as an image, the update −lr · dL/dW at the current learning rate, and for each hidden layer
  dL/da and dL/dz per unit as tiles.
* Try it: one gradient step on this digit alone, on the copy (p before and after), and a gradient
  check of the whole backward pass against finite differences (:func:`nn.explain.gradient_check`).

Each equation names the function of :mod:`nn.reference` that computes it. The panel renders only
on screen, and updates its items in place (table cells, images, bars).
"""

from __future__ import annotations

import time

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.explain import digit_math, gradient_check, one_step, softmax_at_temperature

from .. import style, theme
from ..explain_widgets import (
    BarsView,
    ExplainPanel,
    MatrixView,
    caption,
    fitted,
    fmt,
    grid,
    section_title,
    sequential_rgb,
    signed_rgb,
)
from ..network_copy import NetworkCopy

CHECK_SAMPLES = 16  # test digits the gradient check averages its loss over
STEP_MULTIPLIERS = (1, 10, 100)
T_RANGE = (-1.0, 1.0)  # log10 of the temperature slider's ends: 0.1 ... 10
TABLE_CELL_PADDING = 4  # pixels a table cell keeps free on each side of its text
COLUMNS = (
    ("z =\nW·a + b", "The logits: z_k = Σ_j W_kj a_j + b_k (nn.reference.forward: Z = A_prev Wᵀ + b)"),
    ("z −\nmax z", "Each logit minus the largest: the probabilities do not change, and exp cannot overflow "
                  "(nn.reference.softmax)"),
    ("e^(z −\nmax z)", "The exponential of the shifted logit: the largest is e^0 = 1 (nn.reference.softmax)"),
    ("p =\ne / Σe", "The softmax output: each exponential divided by their sum (nn.reference.softmax)"),
    ("p at\nT", "softmax(z / T) at the temperature below: display only, training uses T = 1"),
    ("dL/dz =\np − y", "The gradient of the loss for each logit: prediction minus target "
                      "(nn.reference.backward: dZ = (P − Y) / n, n = 1 here)"),
)

_TOOLTIP = ("The math of one digit, live: forward through the output layer number by number, then backward.\n"
            "Hover any number, cell or bar for its formula with the actual numbers.\n"
            "Everything is computed by nn.reference on a copy of the network: training is not touched.")


def _code(name: str) -> str:
    return f"<span style='font-family: monospace'>{name}</span>"


def grid_cols(units: int) -> int:
    """Columns of a grid of unit tiles."""
    return max(1, min(units, 16 if units >= 64 else 10))


def _delete_layout(layout: QtWidgets.QLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().deleteLater()
    layout.setParent(None)


class MathPanel(ExplainPanel):
    def __init__(self, dataset, parent=None):
        super().__init__(dataset, parent)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(320, 320)
        self.math = None  # the nn.explain.DigitMath shown
        self.network_shown: NetworkCopy | None = None
        self.temperature = 1.0
        self.tempered = np.zeros(self.n_classes)
        self.step_result = None  # (p before, p after, label, lr, step, digit identity)
        self.check_result = None  # nn.explain.GradientCheck
        self._structure = None
        self._hidden_views: list[tuple[QtWidgets.QLabel, MatrixView, MatrixView]] = []

        header = self._header("The digit explained, its true and predicted class, and the training step of the "
                              "network copy the numbers come from")

        body = QtWidgets.QWidget()
        style.paint_background(body)
        self.body = QtWidgets.QVBoxLayout(body)
        self.body.setContentsMargins(8, 0, 8, 8)
        self.body.setSpacing(3)
        self._build_forward()
        self._build_backward()
        self._build_try_it()
        self.body.addStretch(1)
        self._assemble(body, header)
        self.clear()

    # -- construction ---------------------------------------------------------------------------
    def _build_forward(self) -> None:
        b = self.body
        b.addWidget(section_title("Forward: the output layer"))
        self.forward_caption = caption()
        b.addWidget(self.forward_caption)
        self.a_view = MatrixView(self._a_tip, row_height=12)
        self.a_view.setToolTip("a: the activations that enter the output layer (darker: larger)")
        self.w_view = MatrixView(self._w_tip, row_height=13)
        self.w_view.setToolTip("W: the output layer's weights, one row per class, one column per unit of a "
                               "(red positive, blue negative).\nFramed: the true class (green) and a wrong "
                               "prediction (red). Hover a cell for W·a.")
        b.addWidget(self.a_view)
        b.addWidget(self.w_view)
        self.table = QtWidgets.QTableWidget(self.n_classes, len(COLUMNS))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.table.setFont(style.small_font(8.5))
        self.table.setToolTip("Per class: the logit z, shifted, exponentiated, normalised into p, and the "
                              "gradient p − y.\nHover a number for its formula with the actual numbers.")
        for c, (name, tip) in enumerate(COLUMNS):
            item = QtWidgets.QTableWidgetItem(name)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(c, item)
        for r in range(self.n_classes):
            header = QtWidgets.QTableWidgetItem(self.class_names[r])
            header.setToolTip(f"class {self.class_names[r]}")
            self.table.setVerticalHeaderItem(r, header)
            for c in range(len(COLUMNS)):
                item = QtWidgets.QTableWidgetItem("")
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self._table_columns = None  # the numbers shown, per column (see _fit_table_numbers)
        self._refit = QtCore.QTimer(self, singleShot=True, interval=0)
        self._refit.timeout.connect(self._fit_table_numbers)
        h.sectionResized.connect(lambda *_: self._refit.start())
        h.setFont(style.small_font(8))
        h.setMinimumSectionSize(40)
        v = self.table.verticalHeader()
        v.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        v.setDefaultSectionSize(19)
        v.setFont(style.small_font(8.5))
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setFixedHeight(h.sizeHint().height() + 19 * self.n_classes + 4)
        b.addWidget(self.table)
        self.loss_label = caption()
        self.loss_label.setToolTip("The sum of the exponentials (the softmax's denominator) and the loss: "
                                   "cross-entropy against the one-hot target y")
        b.addWidget(self.loss_label)

        row = QtWidgets.QHBoxLayout()
        self.t_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.t_slider.setRange(0, 200)
        self.t_slider.setValue(100)
        self.t_slider.setToolTip("Temperature T of the 'p at T' column, 0.1 to 10: softmax(z / T).\n"
                                 "T > 1 flattens the output, T < 1 sharpens it. Display only: training "
                                 "always uses T = 1 and is not affected. Try 0.3 and 3.")
        self.t_slider.valueChanged.connect(self._temperature_changed)
        t_label = QtWidgets.QLabel("Temperature")
        t_label.setToolTip(self.t_slider.toolTip())
        self.t_value = QtWidgets.QLabel("T = 1")
        self.t_value.setMinimumWidth(52)
        self.t_value.setToolTip(self.t_slider.toolTip())
        row.addWidget(t_label)
        row.addWidget(self.t_slider, 1)
        row.addWidget(self.t_value)
        b.addLayout(row)
        note = caption("Display only: the temperature changes the <i>p at T</i> column, never training "
                       "(which always uses T = 1).", 8)
        style.themed_css(note, "color: $muted;")
        b.addWidget(note)

    def _build_backward(self) -> None:
        b = self.body
        b.addWidget(section_title("Backward: the gradient of the loss for this digit"))
        b.addWidget(caption(
            "<b>dL/dz = p − y</b>: the tutorial's result, dL/dZ = A − Y. Softmax and cross-entropy "
            "together differentiate to <i>prediction minus target</i>: the true class's bar is p − 1 "
            f"(negative: its score goes up), every other class's is its p (its score goes down). "
            f"{_code('nn.reference.backward')}"))
        self.dz_bars = BarsView(self._dz_tip, signed=True, height=104)
        self.dz_bars.setToolTip("dL/dz = p − y per class (red positive, blue negative), scaled to the largest "
                                "|p − y|. Hover a bar for its numbers.")
        self.dz_bars.scale_note = True
        b.addWidget(self.dz_bars)
        b.addWidget(caption("<b>dL/db = p − y</b>: the same numbers, since b adds straight into z."))
        self.dw_caption = caption()
        b.addWidget(self.dw_caption)
        self.dw_view = MatrixView(self._dw_tip, row_height=13)
        self.dw_view.setToolTip("dL/dW = (p − y) aᵀ: row k is a times p_k − y_k (red positive, blue negative). "
                                "Hover a cell for its numbers and its update.")
        b.addWidget(self.dw_view)
        self.update_label = caption()
        self.update_label.setToolTip("The change one gradient-descent step would make to the output weights for "
                                     "this digit alone, at the current learning rate")
        b.addWidget(self.update_label)
        self.hidden_title = caption()
        b.addWidget(self.hidden_title)
        self.hidden_box = QtWidgets.QVBoxLayout()
        self.hidden_box.setSpacing(2)
        b.addLayout(self.hidden_box)

    def _build_try_it(self) -> None:
        b = self.body
        b.addWidget(section_title("Try it"))
        row = QtWidgets.QHBoxLayout()
        self.step_button = QtWidgets.QPushButton("One step on this digit")
        self.step_button.setToolTip("Take one gradient-descent step on this digit alone, on a copy of the network, "
                                    "and compare p before and after.\nTraining is not touched. "
                                    "nn.explain.one_step (forward and backward of nn.reference)")
        self.step_button.clicked.connect(self.take_one_step)
        self.step_size = QtWidgets.QComboBox()
        for m in STEP_MULTIPLIERS:
            self.step_size.addItem("lr" if m == 1 else f"{m} × lr", m)
        self.step_size.setToolTip("Step size of the one step: the current learning rate, or 10 or 100 times it.\n"
                                  "A step on one digit alone moves it far more than its share of a batch's step "
                                  "(a batch averages the gradients of its digits).")
        size_label = QtWidgets.QLabel("step size")
        size_label.setToolTip(self.step_size.toolTip())
        row.addWidget(self.step_button)
        row.addWidget(size_label)
        row.addWidget(self.step_size)
        row.addStretch(1)
        b.addLayout(row)
        self.step_bars = BarsView(self._step_tip, height=96)
        self.step_bars.setToolTip("p before (grey) and after (coloured) one step on this digit")
        b.addWidget(self.step_bars)
        self.change_bars = BarsView(self._step_tip, signed=True, height=76)
        self.change_bars.setToolTip("The change of each class's p in that step (after − before), scaled to the "
                                    "largest: green gained, red lost")
        b.addWidget(caption("change of p in the step (after − before), scaled to the largest", 8))
        self.change_bars.scale_note = True
        b.addWidget(self.change_bars)
        self.step_label = caption()
        b.addWidget(self.step_label)
        row = QtWidgets.QHBoxLayout()
        self.check_button = QtWidgets.QPushButton("Gradient check")
        self.check_button.setToolTip(
            f"Compare the engine's backward pass with central finite differences, (L(w + ε) − L(w − ε)) / 2ε, on a "
            f"few weights of every layer, for {CHECK_SAMPLES} test digits.\nOn a float64 copy: training is not "
            "touched. nn.explain.gradient_check")
        self.check_button.clicked.connect(self.run_gradient_check)
        row.addWidget(self.check_button)
        row.addStretch(1)
        b.addLayout(row)
        self.check_label = caption()
        b.addWidget(self.check_label)

    def _build_hidden(self, layer_sizes: tuple[int, ...]) -> None:
        for label, _, _ in self._hidden_views:
            label.deleteLater()
        while self.hidden_box.count():
            item = self.hidden_box.takeAt(0)
            if item.layout() is not None:
                _delete_layout(item.layout())
        self._hidden_views = []
        hidden = layer_sizes[1:-1]
        for layer in reversed(range(len(hidden))):  # backward order: the last hidden layer first
            label = caption()
            da = MatrixView(lambda r, c, layer=layer: self._hidden_tip(layer, r, c), square=True, max_cell=14)
            dz = MatrixView(lambda r, c, layer=layer: self._hidden_tip(layer, r, c), square=True, max_cell=14)
            da.setToolTip(f"dL/da of each unit of layer {layer + 1} (red positive, blue negative; scaled by the "
                          "largest |value|)")
            dz.setToolTip(f"dL/dz of each unit of layer {layer + 1}: dL/da times the activation's slope g′(z)")
            row = QtWidgets.QGridLayout()
            row.setHorizontalSpacing(8)
            row.setVerticalSpacing(0)
            row.addWidget(caption("dL/da", 8), 0, 0)
            row.addWidget(caption("dL/dz", 8), 0, 1)
            row.addWidget(da, 1, 0)
            row.addWidget(dz, 1, 1)
            self.hidden_box.addWidget(label)
            self.hidden_box.addLayout(row)
            self._hidden_views.append((label, da, dz))
        self._hidden_views.reverse()  # indexed by layer

    # -- API ------------------------------------------------------------------------------------
    def settings_key(self) -> tuple:
        return (self.temperature,)

    def clear(self) -> None:
        super().clear()
        self.math, self.network_shown = None, None
        self.step_result, self.check_result = None, None
        self.title.setText("<b>The math</b>")

    def _temperature_changed(self, position: int) -> None:
        low, high = T_RANGE
        self.temperature = float(f"{10 ** (low + (high - low) * position / 200):.2g}")
        self.t_value.setText(f"T = {self.temperature:g}")
        self.refresh()

    def take_one_step(self) -> None:
        """One gradient step on the digit, on the copy: p before and after (training untouched)."""
        digit, network = self.digit(), self.network_shown
        if digit is None or network is None:
            return
        x, label, _, identity = digit
        lr = network.lr * self.step_size.currentData()
        before, after = one_step(network.params, network.activation, x, label, lr)
        self.step_result = (before, after, label, lr, network.step, identity)
        self._show_step()

    def run_gradient_check(self) -> None:
        network = self.network_shown
        if network is None:
            return
        started = time.perf_counter()
        x, labels = self.dataset.test_x[:CHECK_SAMPLES], self.dataset.test_y[:CHECK_SAMPLES]
        writable = [np.array(p) for p in network.params]  # gradient_check moves weights in place and back
        self.check_result = gradient_check(writable, network.activation, x, labels)
        seconds = time.perf_counter() - started
        check, t = self.check_result, theme.current()
        cells = " · ".join(f"{name} <b>{error:.1e}</b>" for name, error in zip(check.layers, check.relative_errors))
        verdict = (f"<b style='color:{t.correct}'>backprop agrees with finite differences</b>" if check.passed
                   else f"<b style='color:{t.wrong}'>backprop and finite differences disagree</b>")
        self.check_label.setText(
            f"Worst relative error per layer: {cells}<br>{verdict} (below 1e-5 agrees) · "
            f"{check.samples_per_layer} weights per layer, {CHECK_SAMPLES} test digits, float64 copy at step "
            f"{network.step:,} · {seconds:.2f} s")

    # -- rendering ------------------------------------------------------------------------------
    def _render_digit(self, network: NetworkCopy, x: np.ndarray, label: int, title: str) -> None:
        structure = network.layer_sizes
        if structure != self._structure:
            self._structure = structure
            self._build_hidden(structure)
        m = digit_math(network.params, network.activation, x, label)
        self.math, self.network_shown = m, network
        self.tempered = softmax_at_temperature(m.logits, self.temperature)
        t, names = theme.current(), self.class_names
        right = m.predicted == m.label
        verdict = (f"<b style='color:{t.correct}'>{names[m.predicted]}</b>" if right
                   else f"<b style='color:{t.wrong}'>{names[m.predicted]}</b> ✗")
        self.title.setText(f"<b>{title}</b> · true <b style='color:{t.correct}'>{names[m.label]}</b> · predicted "
                           f"{verdict} ({m.probabilities[m.predicted] * 100:.1f}&nbsp;%) · network at step "
                           f"{network.step:,}")
        hidden = len(structure) > 2
        units = len(m.hidden)
        what = (f"the last hidden layer's {units} activations (layer {len(structure) - 2})" if hidden
                else f"the {units} input pixels (no hidden layer)")
        self.forward_caption.setText(
            f"<b>a</b>: {what}; <b>W</b>: the output weights ({len(m.bias)}&nbsp;×&nbsp;{units}), one row per class. "
            f"<b>z = W a + b</b>, then the softmax: {_code('nn.reference.forward')}, "
            f"{_code('nn.reference.softmax')}")
        marks = {m.label: t.correct}
        if not right:
            marks[m.predicted] = t.wrong
        a_rgb = signed_rgb(m.hidden[None, :]) if network.activation == "tanh" and hidden else sequential_rgb(
            m.hidden[None, :])
        self.a_view.set_image(a_rgb, ("a",))
        self.w_view.set_image(signed_rgb(m.weights), names, marks)
        self._fill_table(m, t)
        self.loss_label.setText(
            f"Σe = {fmt(m.exp_sum)} · <b>loss = −log p<sub>{names[m.label]}</sub></b> = −log "
            f"{fmt(m.probabilities[m.label])} = <b>{fmt(m.loss)}</b> {_code('nn.reference.cross_entropy')}")

        colors = [t.wrong if v > 0 else t.train for v in m.dL_dz]
        self.dz_bars.set_series([m.dL_dz], [colors], names, {m.label: t.correct})
        self.dw_caption.setText(
            f"<b>dL/dW = (p − y) aᵀ</b>: row k is a scaled by p<sub>k</sub> − y<sub>k</sub> "
            f"({len(m.bias)}&nbsp;×&nbsp;{units}). {_code('nn.reference.backward')}: dW = dZᵀ A_prev")
        self.dw_view.set_image(signed_rgb(m.dL_dW), names, marks)
        update = m.update(network.lr)
        k, j = np.unravel_index(int(np.argmax(np.abs(update))), update.shape)
        self.update_label.setText(
            f"<b>Update ΔW = −lr · dL/dW</b> at the current learning rate {fmt(network.lr)}: the largest change is "
            f"{fmt(update[k, j], 3)} (W<sub>{names[k]},{j}</sub>); the true class's row moves toward a, the "
            "others away from it.")
        self._fill_hidden(m, network)
        self._show_step()

    def _fill_table(self, m, t) -> None:
        self._table_columns = (m.logits, m.shifted, m.exps, m.probabilities, self.tempered, m.dL_dz)
        bold = QtGui.QFont(self.table.font())
        bold.setBold(True)
        self._fit_table_numbers()
        for r in range(self.n_classes):
            for c in range(len(self._table_columns)):
                item = self.table.item(r, c)
                item.setToolTip(self._cell_tip(r, c))
                item.setFont(bold if r == m.label else self.table.font())
            header = self.table.verticalHeaderItem(r)
            color = t.correct if r == m.label else t.wrong if r == m.predicted else t.foreground
            header.setForeground(QtGui.QColor(color))
            header.setFont(bold if r in (m.label, m.predicted) else self.table.font())
            header.setToolTip(f"class {self.class_names[r]}" + (" (the true class)" if r == m.label else "")
                              + (" (predicted)" if r == m.predicted else ""))

    def _fit_table_numbers(self) -> None:
        """Each column's numbers with as many digits as its width shows whole (a narrow panel
        would otherwise cut 1.34e−07 to "1.34e…"); again whenever the columns change width."""
        if self._table_columns is None:
            return
        bold = QtGui.QFont(self.table.font())
        bold.setBold(True)
        metrics = QtGui.QFontMetrics(bold)  # (the true class's row is bold: the widest)
        for c, values in enumerate(self._table_columns):
            width = self.table.columnWidth(c) - 2 * TABLE_CELL_PADDING
            for r, text in enumerate(fitted(values[: self.n_classes], width, metrics)):
                item = self.table.item(r, c)
                if item.text() != text:
                    item.setText(text)

    def _fill_hidden(self, m, network: NetworkCopy) -> None:
        n_hidden = len(m.hidden_dL_dz)
        if not n_hidden:
            self.hidden_title.setText("No hidden layer: the gradient stops at the output weights.")
            return
        self.hidden_title.setText(
            "<b>Hidden layers</b>, backward from the output: per unit, "
            "<b>dL/da = W<sub>next</sub>ᵀ dL/dz<sub>next</sub></b> (left) and "
            "<b>dL/dz = dL/da ⊙ g′(z)</b> (right), each scaled by its largest |value|. "
            f"{_code('nn.reference.backward')}: dA_prev = dZ W, dZ_prev = dA_prev ⊙ g′")
        for layer in range(n_hidden):
            da, dz = m.hidden_dL_da[layer], m.hidden_dL_dz[layer]
            label, da_view, dz_view = self._hidden_views[layer]
            cols = grid_cols(len(da))
            da_view.set_image(signed_rgb(grid(da, cols)))
            dz_view.set_image(signed_rgb(grid(dz, cols)))
            text = (f"layer {layer + 1} · {len(da)} units · largest |dL/da| {fmt(np.abs(da).max(initial=0), 2)}, "
                    f"|dL/dz| {fmt(np.abs(dz).max(initial=0), 2)}")
            if network.activation == "relu":
                off = int(np.count_nonzero((dz == 0) & (da != 0)))
                text += f" · {off} units pass no gradient (their ReLU is off: g′ = 0)"
            label.setText(text)

    def _show_step(self) -> None:
        result, digit = self.step_result, self.digit()
        t, names = theme.current(), self.class_names
        if result is None or digit is None or result[5] != digit[3]:
            self.step_result = None
            self.step_bars.set_series([np.zeros(self.n_classes)], [t.waiting], names)
            self.change_bars.set_series([np.zeros(self.n_classes)], [t.waiting], names)
            self.step_label.setText("Press <i>One step on this digit</i>: one gradient-descent step on this digit "
                                    "alone, on a copy of the network; training is not touched.")
            return
        before, after, label, lr, step, _ = result
        self.step_bars.set_series([before, after], [t.reference, t.train], names, {label: t.correct}, scale=1.0)
        moved = after - before
        self.change_bars.set_series([moved], [[t.correct if v > 0 else t.wrong for v in moved]], names,
                                    {label: t.correct})
        change = after[label] - before[label]
        self.step_label.setText(
            f"p<sub>{names[label]}</sub> (the true class): {fmt(before[label])} → <b>{fmt(after[label])}</b> "
            f"({'+' if change >= 0 else '−'}{fmt(abs(change))}) after one step with lr {fmt(lr)} on the copy at "
            f"step {step:,}; predicted {names[int(np.argmax(before))]} → {names[int(np.argmax(after))]}. "
            "The training network is unchanged.")

    # -- formulas with numbers (tooltips) --------------------------------------------------------------
    def _cell_tip(self, k: int, column: int) -> str:
        m, names = self.math, self.class_names
        if m is None:
            return ""
        name = names[k]
        if column == 0:
            terms = m.weights[k] * m.hidden
            top = np.argsort(np.abs(terms))[::-1][:3]
            shown = " + ".join(f"W[{name},{j}]·a[{j}] ({fmt(m.weights[k, j], 3)} × {fmt(m.hidden[j], 3)})" for j in top)
            return (f"z[{name}] = Σ_j W[{name},j]·a[j] + b[{name}]\n= {shown} + … ({len(terms) - len(top)} more terms)"
                    f" + b[{name}] ({fmt(m.bias[k])})\n= {fmt(m.logits[k])}\n"
                    "nn.reference.forward: Z = A_prev Wᵀ + b")
        if column == 1:
            top = int(np.argmax(m.logits))
            return (f"z[{name}] − max z = {fmt(m.logits[k])} − {fmt(m.logits[top])} (z[{names[top]}], the largest)\n"
                    f"= {fmt(m.shifted[k])}\nThe same shift for every class changes no probability, and keeps exp "
                    "from overflowing. nn.reference.softmax")
        if column == 2:
            return f"e^(z[{name}] − max z) = e^({fmt(m.shifted[k])}) = {fmt(m.exps[k])}\nnn.reference.softmax"
        if column == 3:
            return (f"p[{name}] = e[{name}] / Σe = {fmt(m.exps[k])} / {fmt(m.exp_sum)} = {fmt(m.probabilities[k])}\n"
                    "nn.reference.softmax")
        if column == 4:
            return (f"softmax(z / T)[{name}] at T = {self.temperature:g}: {fmt(self.tempered[k])} "
                    f"(at T = 1: {fmt(m.probabilities[k])})\nDisplay only: training always uses T = 1. "
                    "nn.explain.softmax_at_temperature")
        return self._dz_tip(k)

    def _dz_tip(self, k: int) -> str:
        m, names = self.math, self.class_names
        if m is None:
            return ""
        y = 1 if k == m.label else 0
        why = ("the true class: y = 1, so its score goes up" if y
               else f"y = 0 (the true class is {names[m.label]}), so its score goes down")
        return (f"dL/dz[{names[k]}] = p − y = {fmt(m.probabilities[k])} − {y} = {fmt(m.dL_dz[k])}\n{why}.\n"
                f"dL/db[{names[k]}] is the same number. The tutorial's result dL/dZ = A − Y; nn.reference.backward")

    def _a_tip(self, _row: int, j: int) -> str:
        m = self.math
        if m is None or j >= len(m.hidden):
            return ""
        return f"a[{j}] = {fmt(m.hidden[j])}"

    def _w_tip(self, k: int, j: int) -> str:
        m, names = self.math, self.class_names
        if m is None or j >= len(m.hidden):
            return ""
        return (f"W[{names[k]},{j}] = {fmt(m.weights[k, j])}, a[{j}] = {fmt(m.hidden[j])}\n"
                f"W·a = {fmt(m.weights[k, j] * m.hidden[j])}, one of the {len(m.hidden)} terms of "
                f"z[{names[k]}] = {fmt(m.logits[k])}")

    def _dw_tip(self, k: int, j: int) -> str:
        m, network, names = self.math, self.network_shown, self.class_names
        if m is None or network is None or j >= len(m.hidden):
            return ""
        return (f"dL/dW[{names[k]},{j}] = (p − y)[{names[k]}] · a[{j}] = {fmt(m.dL_dz[k])} × {fmt(m.hidden[j])} "
                f"= {fmt(m.dL_dW[k, j])}\nupdate −lr · dL/dW = −{fmt(network.lr)} × {fmt(m.dL_dW[k, j])} = "
                f"{fmt(m.update(network.lr)[k, j])}\nnn.reference.backward: dW = dZᵀ A_prev")

    def _hidden_tip(self, layer: int, r: int, c: int) -> str:
        m = self.math
        if m is None or layer >= len(m.hidden_dL_da):
            return ""
        unit = r * grid_cols(len(m.hidden_dL_da[layer])) + c
        if unit >= len(m.hidden_dL_da[layer]):
            return ""
        da, dz = m.hidden_dL_da[layer][unit], m.hidden_dL_dz[layer][unit]
        return (f"layer {layer + 1}, unit {unit}\ndL/da = {fmt(da)}\ndL/dz = dL/da · g′(z) = {fmt(dz)}"
                + ("\n(g′ = 0: this unit is off for this digit and passes no gradient)" if dz == 0 and da != 0 else ""))

    def _step_tip(self, k: int) -> str:
        if self.step_result is None:
            return ""
        before, after = self.step_result[0], self.step_result[1]
        return f"p[{self.class_names[k]}]: {fmt(before[k])} before, {fmt(after[k])} after one step"

