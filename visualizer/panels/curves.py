"""Learning curves: loss and accuracy of the training batches and the test set over samples seen.

x is the number of training samples seen; a second axis on top counts epochs. Live
hyperparameter changes (``snap.events``) are marked by labelled dashed vertical lines, and a run
that diverged by a red line. Hovering shows samples, epoch and the values under the cursor.

The train curve can be smoothed as TensorBoard does (an exponential moving average, debiased at
the start) with the raw batches faint behind; smoothing changes what is drawn, never the history.

The curves redraw ten times a second while training, so a render does little: the view moves in
coarse steps, the axes are cached pictures (style.style_plot), the title changes a few times a
second at most, and nothing is created per render.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from nn.trainer import Snapshot

from .. import style, theme
from ..export_menu import add_export_menu

_EMPTY = np.zeros(0)
DEFAULT_SMOOTHING = 0.6  # TensorBoard's default
MAX_SMOOTHING = 0.99
TITLE_INTERVAL_S = 0.3  # the title's numbers change at most about 3 times a second
RAW_ALPHA = 60  # of 255: the raw batches behind a smoothed train curve


class Smoother:
    """TensorBoard's smoothing of a growing curve: m_i = w m_(i-1) + (1 - w) v_i from m = 0,
    shown debiased as m_i / (1 - w^k) after k finite values (so the start is not pulled to 0).
    A value that is not finite is shown as it is and leaves the average alone. Only the points
    added since the last call are computed (the history only grows, until it merges pairs of
    points or a new run begins: then it starts over)."""

    def __init__(self, weight: float = 0.0):
        self.weight = float(weight)
        self.reset()

    def reset(self) -> None:
        self._source: np.ndarray = _EMPTY  # the values smoothed so far (the caller's array)
        self._out = np.zeros(0)
        self._mean = 0.0
        self._finite = 0

    def smooth(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        n, done = len(values), len(self._source)
        if n < done or (done and not _same(values[done - 1], self._source[done - 1])):
            self.reset()
            done = 0
        if n > len(self._out):
            out = np.empty(max(n, 2 * len(self._out)))
            out[:done] = self._out[:done]
            self._out = out
        w, mean, finite, out = self.weight, self._mean, self._finite, self._out
        for i in range(done, n):
            v = float(values[i])
            if math.isfinite(v):
                mean = w * mean + (1.0 - w) * v
                finite += 1
                out[i] = mean / (1.0 - w ** finite)
            else:
                out[i] = v
        self._mean, self._finite, self._source = mean, finite, values
        return out[:n]


class EpochAxis(pg.AxisItem):
    """An axis over samples seen whose ticks sit at round numbers of epochs."""

    def __init__(self, orientation: str = "top"):
        super().__init__(orientation)
        self.n_train = 0

    def tickValues(self, minVal, maxVal, size):
        if self.n_train <= 0 or maxVal <= 1.0:  # no sample seen yet (the empty view): no epochs
            return []
        n = float(self.n_train)
        levels = super().tickValues(minVal / n, maxVal / n, size)
        return [(spacing * n, [v * n for v in values]) for spacing, values in levels]

    def tickStrings(self, values, scale, spacing):
        if self.n_train <= 0:
            return ["" for _ in values]
        return [f"{v / self.n_train:.4g}" for v in values]


FINE_STEPS = (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
COARSE_STEPS = (1, 2, 3, 5, 10)


TITLE_BATCHES = 20  # the title's train figure: mean of the last this many batches of the history


def nice_ceiling(x: float, steps: tuple = FINE_STEPS) -> float:
    """The smallest of ``steps`` (times a power of ten) that is >= x."""
    if not x > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(x))
    for m in steps:
        if m * power >= x * (1 - 1e-12):
            return m * power
    return 10 * power


def _format_samples(x: float) -> str:
    return f"{int(round(x)):,}".replace(",", "\u202f")  # thin space: 12 345


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)  # (NaN is the same as NaN)


class _CurvePanel(QtWidgets.QWidget):
    """Train and test curve of one metric, with event marks and a hover readout."""

    smoothing_changed = QtCore.pyqtSignal(float)  # the person moved the smoothing slider

    NAME = ""
    UNIT = ""
    EMPTY_Y_RANGE = (0.0, 1.0)
    DIGITS = 3
    LEGEND_OFFSET = (-10, 10)
    LABEL_HEIGHTS = (0.8, 0.7, 0.6, 0.5)  # event labels, staggered so nearby ones do not overlap
    TOOLTIP = ""

    def __init__(self, parent=None):
        super().__init__(parent)
        style.paint_background(self)
        self.setToolTip(self.TOOLTIP)
        self.setMinimumSize(320, 220)

        self.epoch_axis = EpochAxis("top")
        self.plot_widget = style.plot_widget(axisItems={"top": self.epoch_axis})
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.showAxis("top")
        style.style_plot(self.plot)
        style.axis_label(self.plot, "bottom", "samples seen")
        style.axis_label(self.plot, "top", "epochs")
        style.axis_label(self.plot, "left", self.y_label())
        self.plot.getAxis("bottom").enableAutoSIPrefix(True)
        # Horizontal grid lines at major ticks only: a full alpha-blended grid costs several ms per
        # repaint, and the curves repaint with every snapshot.
        self.plot.showGrid(x=False, y=True, alpha=theme.current().grid_alpha)
        self.plot.getAxis("left").setStyle(maxTickLevel=0)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.vb.setLimits(xMin=0)
        # The panel sets the view range itself, in coarse steps: pyqtgraph's auto-range would move
        # it on every snapshot, and each move re-lays the axes' ticks and repaints twice.
        self.plot.vb.disableAutoRange()
        self.plot.vb.sigRangeChangedManually.connect(self._user_moved_view)
        self._follow = True
        self._view = None  # (x max, y low, y high) last set

        self.legend = style.add_legend(self.plot, offset=self.LEGEND_OFFSET, colCount=2)
        # train_item: the batches as recorded; smooth_item: their moving average, drawn over them
        self.train_item = self.plot.plot(_EMPTY, _EMPTY, pen=style.train_pen())
        self.smooth_item = self.plot.plot(_EMPTY, _EMPTY, pen=style.train_pen())
        self.test_item = self.plot.plot(_EMPTY, _EMPTY, pen=style.test_pen(),
                                        symbol=None, symbolBrush=theme.current().test, symbolPen=None)
        for item in (self.train_item, self.smooth_item, self.test_item):
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        self._test_symbols = False
        self.smoother = Smoother()
        self._train_x = self._train_y = self._test_x = self._test_y = self._smooth_y = _EMPTY
        self._title_time = -math.inf
        self._title_timer = QtCore.QTimer(self, singleShot=True)
        self._title_timer.timeout.connect(self._flush_title)

        self.readout = QtWidgets.QLabel()
        self.readout.setFont(style.small_font())
        style.themed_css(self.readout, "color: $foreground;")
        self.readout.setToolTip("Values under the mouse pointer: samples seen, epoch, train and test")
        self.readout.setTextFormat(QtCore.Qt.TextFormat.RichText)

        self.controls = QtWidgets.QHBoxLayout()
        self.controls.setContentsMargins(4, 0, 4, 0)
        self._add_smoothing(self.controls)
        self._add_controls(self.controls)
        self.controls.addStretch(1)
        self.controls.addWidget(self.readout)

        # The title (with the latest figures) is a label above the plot, not the plot's own title:
        # a new PlotItem title re-lays the whole plot, several ms at every change. One line, of a
        # fixed height, so that new figures never move the plot.
        self.title = style.title_label(f"{self.NAME} — no data yet")
        self.title.setWordWrap(False)
        self.title.setFixedHeight(self.title.sizeHint().height())
        # (its width follows the panel's: long figures are cut, never widen it)
        self.title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(self.controls)

        self.event_lines: list[pg.InfiniteLine] = []
        self.diverged_line: pg.InfiniteLine | None = None
        self._train_x = self._train_y = self._test_x = self._test_y = _EMPTY
        self._train_key = self._test_key = None
        self._title = None
        self._n_train = 0
        self._snap: Snapshot | None = None  # the last shown, to redraw the title in a new theme
        self.export_menu = add_export_menu(self.plot_widget, self.plot, self.NAME.lower(), self.title.text)
        self._proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._mouse_clicked)
        self.clear()

    # -- overridable -----------------------------------------------------------------------------
    def y_label(self) -> str:
        return self.NAME

    def _add_controls(self, layout: QtWidgets.QHBoxLayout) -> None:
        pass

    def _values(self, curve) -> np.ndarray:
        raise NotImplementedError

    def _latest_train(self, snap: Snapshot) -> float | None:
        """The title's train figure: the mean of the last batches in the history, so a run that
        has ended keeps its figures (whatever snapshot shows it, a reopened session too)."""
        return float(np.mean(self._train_y[-TITLE_BATCHES:])) if len(self._train_y) else None

    def _format(self, value: float | None) -> str:
        return "–" if value is None or not math.isfinite(value) else f"{value:.{self.DIGITS}f}{self.UNIT}"

    # -- API -------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the run: empty curves, no marks, no values."""
        self.train_item.setData(_EMPTY, _EMPTY)
        self.smooth_item.setData(_EMPTY, _EMPTY)
        self.test_item.setData(_EMPTY, _EMPTY)
        self._train_x = self._train_y = self._test_x = self._test_y = self._smooth_y = _EMPTY
        self.smoother.reset()
        self._title_timer.stop()
        self._train_key = self._test_key = None
        self._set_test_symbols(False)
        for line in self.event_lines:
            self.plot.removeItem(line)
        self.event_lines = []
        if self.diverged_line is not None:
            self.plot.removeItem(self.diverged_line)
            self.diverged_line = None
        self._n_train = 0
        self._planned = 0.0
        self.epoch_axis.n_train = 0
        self.epoch_axis.picture = None
        self.epoch_axis.update()
        self._snap = None
        self._set_title(f"{self.NAME} — no data yet")
        self.readout.setText("")
        self._follow = True
        self._view = None
        self.plot.setRange(xRange=(0, 1), yRange=self.EMPTY_Y_RANGE, padding=0)

    def show_snapshot(self, snap: Snapshot) -> None:
        if len(snap.events) < len(self.event_lines) or len(snap.train_curve) < len(self._train_x):
            self.clear()  # a new run began without clear(): start over rather than mix runs
        if snap.n_train != self._n_train:
            self._n_train = snap.n_train
            self.epoch_axis.n_train = snap.n_train
            self.epoch_axis.picture = None
            self.epoch_axis.update()

        train, test = snap.train_curve, snap.test_curve
        key = (len(train), float(train.step[-1]) if len(train) else None)
        if key != self._train_key:
            self._train_key = key
            self._train_x, self._train_y = train.samples, self._values(train)
            self.train_item.setData(self._train_x, self._train_y)
            self._show_smoothed()
        key = (len(test), float(test.step[-1]) if len(test) else None)
        test_changed = key != self._test_key
        if test_changed:
            self._test_key = key
            self._test_x, self._test_y = test.samples, self._values(test)
            self.test_item.setData(self._test_x, self._test_y)
            self._set_test_symbols(len(test) == 1)  # a lone point needs a mark; a line shows the rest

        self._planned = snap.planned_samples
        if self._follow:
            self._update_range()

        for event in snap.events[len(self.event_lines):]:
            self._add_event_line(event.samples_seen, event.text)
        if snap.diverged and self.diverged_line is None:
            self.diverged_line = self._mark(snap.samples_seen, "diverged", "diverged", 0.5, snap.diverged)
        self._snap = snap
        # (the test value at once; the running train value, which changes with every snapshot,
        # a few times a second: each new title re-lays the plot)
        self._show_title(at_once=test_changed or snap.finished or snap.diverged is not None)

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current` (curves, marks, legend, title)."""
        style.restyle(self)
        t = theme.current()
        self._pen_train_curves()
        self.test_item.setPen(style.test_pen())
        self.test_item.setSymbolBrush(t.test)
        if self._snap is not None:
            self._show_title(at_once=True)

    def _show_title(self, at_once: bool = True) -> None:
        t, snap = theme.current(), self._snap
        if snap is None:
            return
        test_value = float(self._test_y[-1]) if len(self._test_y) else None
        text = (f"{self.NAME} — <span style='color:{t.train}'>train "
                f"{self._format(self._latest_train(snap))}</span> · "
                f"<span style='color:{t.test}'>test {self._format(test_value)}</span>")
        if text == self._title:
            return
        wait = self._title_time + TITLE_INTERVAL_S - time.monotonic()
        if at_once or wait <= 0:
            self._title_timer.stop()
            self._title_time = time.monotonic()
            self._set_title(text)
        elif not self._title_timer.isActive():
            self._title_timer.start(max(1, round(wait * 1000)))

    def _flush_title(self) -> None:
        self._show_title(at_once=True)

    # -- smoothing -------------------------------------------------------------------------------
    def _add_smoothing(self, layout: QtWidgets.QHBoxLayout) -> None:
        label = QtWidgets.QLabel("smoothing")
        label.setFont(style.small_font())
        self.smoothing_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, round(MAX_SMOOTHING * 100))
        self.smoothing_slider.setFixedWidth(90)
        self.smoothing_value = QtWidgets.QLabel()
        self.smoothing_value.setFont(style.small_font())
        self.smoothing_value.setMinimumWidth(self.smoothing_value.fontMetrics().horizontalAdvance("0.00") + 2)
        tip = ("Smoothing of the train curve, as in TensorBoard: an exponential moving average of the batches "
               "(weight 0 = off, 0.99 = very smooth), debiased at the start; the raw batches stay faint "
               "behind it. Only the drawing changes, not the recorded history.")
        for widget in (label, self.smoothing_slider, self.smoothing_value):
            widget.setToolTip(tip)
            layout.addWidget(widget)
        self.smoothing_slider.valueChanged.connect(self._slider_moved)
        self.set_smoothing(DEFAULT_SMOOTHING)

    @property
    def smoothing(self) -> float:
        return self.smoother.weight

    def set_smoothing(self, weight: float) -> None:
        """Smooth the train curve with this EMA weight (0: off, up to 0.99); no signal."""
        weight = min(max(float(weight), 0.0), MAX_SMOOTHING)
        blocked = self.smoothing_slider.blockSignals(True)
        self.smoothing_slider.setValue(round(weight * 100))
        self.smoothing_slider.blockSignals(blocked)
        self._apply_smoothing(round(weight * 100) / 100)

    def _slider_moved(self, position: int) -> None:
        self._apply_smoothing(position / 100)
        self.smoothing_changed.emit(self.smoothing)

    def _apply_smoothing(self, weight: float) -> None:
        self.smoothing_value.setText(f"{weight:.2f}")
        if weight == self.smoother.weight and self.legend.items:
            return
        self.smoother = Smoother(weight)
        self._pen_train_curves()
        self.legend.clear()  # the legend names the line drawn in full: the batches, or their average
        self.legend.addItem(self.smooth_item if weight else self.train_item,
                            "train (batches, smoothed)" if weight else "train (batches)")
        self.legend.addItem(self.test_item, "test set")
        self.smooth_item.setVisible(weight > 0)
        self._show_smoothed()

    def _pen_train_curves(self) -> None:
        """The raw batches in full, or faint behind their average."""
        self.smooth_item.setPen(style.train_pen())
        pen = style.train_pen()
        if self.smoothing > 0:
            color = pen.color()
            color.setAlpha(RAW_ALPHA)
            pen.setColor(color)
        self.train_item.setPen(pen)

    def _show_smoothed(self) -> None:
        if self.smoothing > 0 and len(self._train_y):
            self._smooth_y = self.smoother.smooth(self._train_y)
            self.smooth_item.setData(self._train_x, self._smooth_y)
        elif len(self._smooth_y):
            self._smooth_y = _EMPTY
            self.smooth_item.setData(_EMPTY, _EMPTY)

    # -- view range ------------------------------------------------------------------------------
    def _user_moved_view(self, *args) -> None:
        self._follow = False  # the user zoomed or panned: leave the view alone until double-click
        self.readout.setText("double-click the plot to follow the run again")

    def _mouse_clicked(self, event) -> None:
        if event.double() and not self._follow:
            self._follow = True
            self._view = None
            self._update_range()

    def _y_transform(self, values: np.ndarray) -> np.ndarray:
        return values  # values in view coordinates (log10 on a log axis)

    def _update_range(self) -> None:
        xs = [a[-1] for a in (self._train_x, self._test_x) if len(a)]
        ys = [a for a in (self._train_y, self._test_y) if len(a)]
        if not xs:
            return
        # The x axis grows with the run in coarse steps (1, 2, 3, 5 x 10^k samples) up to its
        # planned end: the first steps fill the plot instead of a sliver of the first epoch, and
        # the axes are re-laid (most of a render's cost) about a dozen times a run, not at every
        # snapshot.
        seen = max(xs)
        x_max = nice_ceiling(seen * 1.03, COARSE_STEPS)
        if self._planned >= seen:
            x_max = min(x_max, self._planned)
        y = self._y_transform(np.concatenate(ys))
        y = y[np.isfinite(y)]
        view = self._view
        if len(y):
            lo, hi = float(y.min()), float(y.max())
            if view is not None and view[1] <= lo and hi <= view[2] and (hi - lo) >= 0.6 * (view[2] - view[1]):
                lo, hi = view[1], view[2]  # the data still fits well: keep the view (no re-layout)
            else:
                margin = max((hi - lo) * 0.06, 1e-3 * max(abs(hi), 1.0))
                lo, hi = self._clamp_y(lo - margin, hi + margin)
        elif view is not None:
            lo, hi = view[1], view[2]
        else:
            lo, hi = self.EMPTY_Y_RANGE
        if view != (x_max, lo, hi):
            self._view = (x_max, lo, hi)
            self.plot.setRange(xRange=(0, x_max), yRange=(lo, hi), padding=0)
            for line in self.event_lines + ([self.diverged_line] if self.diverged_line else []):
                self._place_label(line)

    def _clamp_y(self, lo: float, hi: float) -> tuple[float, float]:
        return lo, hi

    # -- helpers ---------------------------------------------------------------------------------
    def _set_title(self, text: str) -> None:
        if text != self._title:
            self._title = text
            self.title.setText(text)

    def _set_test_symbols(self, on: bool) -> None:
        if on != self._test_symbols:
            self._test_symbols = on
            self.test_item.setSymbol("o" if on else None)
            self.test_item.setSymbolSize(5)

    def _add_event_line(self, samples: float, text: str) -> None:
        height = self.LABEL_HEIGHTS[len(self.event_lines) % len(self.LABEL_HEIGHTS)]
        line = self._mark(samples, text, "event", height,
                          f"Changed while training at {_format_samples(samples)} samples: {text}")
        self.event_lines.append(line)

    def _mark(self, x: float, text: str, role: str, height: float, tooltip: str) -> pg.InfiniteLine:
        """A vertical line with a label, in the theme's ``role`` colour ("event" or "diverged")."""
        line = pg.InfiniteLine(pos=float(x), angle=90, movable=False, label=text,
                               labelOpts={"position": height, "anchors": [(0, 0.5), (0, 0.5)], "movable": False})
        self._place_label(line)
        if role == "event":
            style.themed_pen(line, role, 1.0, QtCore.Qt.PenStyle.DashLine)
        else:
            style.themed_pen(line, role, 2.0)
        style.theme_text(line.label, role, fill=True)
        line.label.setFont(style.small_font(8))
        line.setToolTip(tooltip)
        line.setZValue(-5)
        self.plot.addItem(line, ignoreBounds=True)
        return line

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._clear_readout()
        super().leaveEvent(event)

    def _clear_readout(self) -> None:
        self.readout.setText("" if self._follow else "double-click the plot to follow the run again")

    def _place_label(self, line: pg.InfiniteLine) -> None:
        """Each time the view changes (not only when the mark is made): the label right of its
        line, or left of it in the right part of the plot, so it stays beside its line and inside."""
        x_max = self._view[0] if self._view else 0.0
        side = 1 if x_max and line.value() > 0.7 * x_max else 0
        if line.label.anchors[0][0] != side:
            line.label.anchors = [(side, 0.5), (side, 0.5)]
            line.label.updatePosition()

    def _mouse_moved(self, event) -> None:
        pos = event[0]
        # (a rate-limited move may arrive after the mouse has left: it clears, too)
        if not self.plot.sceneBoundingRect().contains(pos) or not len(self._train_x) \
                or not self.plot_widget.underMouse():
            self._clear_readout()
            return
        x = self.plot.vb.mapSceneToView(pos).x()
        parts = [f"samples {_format_samples(max(x, 0))}"]
        if self._n_train:
            parts.append(f"epoch {max(x, 0) / self._n_train:.2f}")
        t = theme.current()
        for name, color, xs, ys in (("train", t.train, self._train_x, self._train_y),
                                    ("test", t.test, self._test_x, self._test_y)):
            if len(xs):
                i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
                if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
                    i -= 1
                value = self._format(float(ys[i]))
                if name == "train" and len(self._smooth_y) == len(ys):
                    value += f" (smoothed {self._format(float(self._smooth_y[i]))})"
                parts.append(f"<span style='color:{color}'>{name} {value}</span>")
        self.readout.setText(" · ".join(parts))


class LossPanel(_CurvePanel):
    """Cross-entropy of the training batches and of the test set, optionally on a log scale."""

    NAME = "Loss"
    DIGITS = 3
    LEGEND_OFFSET = (-10, 10)  # top right: the loss falls away from there
    LABEL_HEIGHTS = (0.7, 0.6, 0.5, 0.4)  # below the legend (top right)
    TOOLTIP = ("Cross-entropy loss over training samples seen (top axis: epochs).\n"
               "Blue: mean loss of each training batch. Orange: loss on the whole test set.\n"
               "Dashed lines mark hyperparameters changed while training; hover for values.")

    def y_label(self) -> str:
        return "cross-entropy"

    def _add_controls(self, layout):
        self.log_check = QtWidgets.QCheckBox("log scale")
        self.log_check.setFont(style.small_font())
        self.log_check.setToolTip("Show the loss on a logarithmic axis (small losses become visible)")
        self.log_check.toggled.connect(self._set_log)
        layout.addWidget(self.log_check)

    def _set_log(self, on: bool) -> None:
        self.plot.setLogMode(y=on)
        self._view = None
        self._follow = True
        self._update_range()

    def _y_transform(self, values):
        if not self.log_check.isChecked():
            return values
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(values)

    def _clamp_y(self, lo, hi):
        return (lo, hi) if self.log_check.isChecked() else (max(lo, 0.0), hi)

    def _values(self, curve) -> np.ndarray:
        return curve.loss



class AccuracyPanel(_CurvePanel):
    """Accuracy (%) of the training batches and of the test set."""

    NAME = "Accuracy"
    UNIT = " %"
    DIGITS = 1
    LEGEND_OFFSET = (-10, -10)  # bottom right: accuracy rises away from there
    LABEL_HEIGHTS = (0.7, 0.6, 0.5, 0.4)  # above the legend (bottom right)
    TOOLTIP = ("Share of correctly classified digits over training samples seen (top axis: epochs).\n"
               "Blue: accuracy of each training batch. Orange: accuracy on the whole test set.\n"
               "Dashed lines mark hyperparameters changed while training; hover for values.")

    EMPTY_Y_RANGE = (0.0, 100.0)

    def y_label(self) -> str:
        return "accuracy (%)"

    def _clamp_y(self, lo, hi):
        return max(lo, 0.0), min(hi, 101.0)

    def _values(self, curve) -> np.ndarray:
        return curve.accuracy * 100.0

