"""Is it still learning? Per-layer signals of learning over training, and the weights' spread.

``snap.learning`` (an :class:`nn.inspection.LearningStats`) carries, against training samples
seen: each layer's gradient norm and update-to-weight ratio (log scale, one curve per layer),
and per hidden layer the share of dead ReLU units (never active on a probe batch) or of
saturated sigmoid/tanh activations. Shrinking gradients and update ratios far below ~1e-3 mean
learning has slowed down; a growing dead share means units stopped learning for good.
The second tab shows one layer's weight distribution now over the one at initialisation.

The curves re-render when their lengths change (at most ~4 times a second); the histogram when
the engine publishes a new one. A render changes the curves only: the x axis grows in coarse
steps, the y axes by whole decades, and the axes are painted from cached pictures.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.trainer import Snapshot

from .. import style, theme
from ..export_menu import add_export_menu
from ..throttle import RenderThrottle
from ..tips import AXIS_TIPS
from .curves import COARSE_STEPS, nice_ceiling

MIN_INTERVAL_S = 0.25  # curves re-render at most ~4 times per second
TYPICAL_RATIO = 1e-3  # a common rule of thumb for a healthy update/weight ratio
INITIAL_ALPHA = 90  # of 255: the histogram at initialisation stays in the background
_EMPTY = np.zeros(0)

_TOOLTIP = ("Is it still learning? Per layer, over training samples seen:\n"
            "gradient norm ||dL/dW||, update-to-weight ratio ||ΔW||/||W|| (both log scale; ~1e-3 is a common "
            "healthy ratio, much lower means learning has slowed down),\nand the share of dead ReLU units "
            "(never active on 500 test digits) or saturated sigmoid/tanh activations.\n"
            "Second tab: a layer's weight distribution now over the one at initialisation.")


def layer_color(i: int) -> str:
    colors = theme.current().series
    return colors[i % len(colors)]


def positive(y: np.ndarray) -> np.ndarray:
    """y for a log axis: values <= 0 (or not finite) become NaN, i.e. gaps in the curve."""
    y = np.asarray(y, dtype=np.float64)
    bad = ~(y > 0) | ~np.isfinite(y)
    return np.where(bad, np.nan, y) if bad.any() else y


def decade_label(k: int) -> str:
    return f"{10.0 ** k:g}" if -2 <= k <= 3 else f"1e{k}"


def _compact_plot(plot: pg.PlotItem, y_label: str, show_x: bool, short: str) -> None:
    """``short``: the left axis' label (the title says the rest); its tip is ``y_label``'s."""
    style.style_plot(plot)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=False, y=False)
    plot.showGrid(x=True, y=True, alpha=theme.current().grid_alpha)
    plot.vb.disableAutoRange(pg.ViewBox.XAxis)  # the panel moves the x range itself, in coarse steps
    style.axis_label(plot, "left", short, tip=AXIS_TIPS.get(y_label, ""))
    left = plot.getAxis("left")
    left.setWidth(58)
    left.enableAutoSIPrefix(False)
    left.setStyle(hideOverlappingLabels=False)
    bottom = plot.getAxis("bottom")
    bottom.enableAutoSIPrefix(True)
    if show_x:
        style.axis_label(plot, "bottom", "samples seen")
    else:
        bottom.setStyle(showValues=False)
        bottom.setHeight(6)


def _curve_key(stats) -> tuple:
    """What changes when the curves gain points."""
    g, i = stats.gradient_samples, stats.inactive_samples
    return len(g), float(g[-1]) if len(g) else 0.0, len(i), float(i[-1]) if len(i) else 0.0


class LearningPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(320, 320)
        self._names: tuple[str, ...] | None = None
        self._hidden_names: tuple[str, ...] = ()
        self._curve_key = None
        self._histograms = None
        self.grad_curves: list[pg.PlotDataItem] = []
        self.ratio_curves: list[pg.PlotDataItem] = []
        self.inactive_curves: list[pg.PlotDataItem] = []

        # -- tab 1: curves over training
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(theme.current().background)
        self.graphics.ci.setContentsMargins(2, 2, 8, 2)
        self.graphics.ci.setSpacing(2)
        self.grad_plot = self.graphics.addPlot(row=0, col=0)
        self.ratio_plot = self.graphics.addPlot(row=1, col=0)
        self.inactive_plot = self.graphics.addPlot(row=2, col=0)
        # Short axis labels: each plot's title says what it shows, and three stacked plots leave
        # each too little height for a longer label (they ran into each other).
        _compact_plot(self.grad_plot, "gradient norm", False, "norm")
        _compact_plot(self.ratio_plot, "update / weight", False, "ratio")
        _compact_plot(self.inactive_plot, "dead (%)", True, "%")
        for plot in (self.grad_plot, self.ratio_plot):
            plot.setLogMode(y=True)
        for plot in (self.ratio_plot, self.inactive_plot):
            plot.setXLink(self.grad_plot)
        self.inactive_plot.setYRange(-4, 104, padding=0)
        self.inactive_plot.getAxis("left").setTicks([[(v, str(v)) for v in (0, 25, 50, 75, 100)], []])
        self.typical_line = pg.InfiniteLine(math.log10(TYPICAL_RATIO), angle=0, label="~1e-3 typical",
                                            labelOpts={"position": 0.98, "anchors": [(1, 1), (1, 1)]})
        style.themed_pen(self.typical_line, "reference", 1.0, QtCore.Qt.PenStyle.DashLine)
        style.theme_text(self.typical_line.label, "muted")
        self.ratio_plot.addItem(self.typical_line)
        self.legend = QtWidgets.QLabel()
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setFont(style.small_font(8))
        self.legend.setToolTip("One colour per layer, the same in every plot")
        self.inactive_text = style.themed_text("", "muted", anchor=(0.5, 0.5))
        self.inactive_text.setFont(style.small_font(9))
        self.inactive_plot.addItem(self.inactive_text)
        self.export_menu = add_export_menu(self.graphics, self.graphics, "learning signals")

        # -- tab 2: weight distributions
        self.layer_combo = QtWidgets.QComboBox()
        self.layer_combo.setToolTip("Which layer's weights to show")
        self.layer_combo.currentIndexChanged.connect(self._show_histogram)
        self.hist_widget = style.plot_widget()
        self.hist_plot: pg.PlotItem = self.hist_widget.getPlotItem()
        self.hist_plot.setMenuEnabled(False)
        self.hist_plot.hideButtons()
        self.hist_plot.setMouseEnabled(x=False, y=False)
        self.hist_plot.showGrid(x=True, y=True, alpha=theme.current().grid_alpha)
        style.axis_label(self.hist_plot, "bottom", "weight")
        style.axis_label(self.hist_plot, "left", "count")
        self.hist_plot.getAxis("left").enableAutoSIPrefix(True)
        self.hist_legend = style.add_legend(self.hist_plot, offset=(-4, 4))
        self.hist_initial = pg.PlotDataItem(stepMode="center", fillLevel=0, name="at initialisation")
        style.themed_pen(self.hist_initial, "reference", 1.0)
        self.hist_now = pg.PlotDataItem(stepMode="center", pen=style.pen(layer_color(0), 2.0), name="now")
        self.hist_plot.addItem(self.hist_initial)
        self.hist_plot.addItem(self.hist_now)
        self._paint_initial_fill()
        self.export_menu_histogram = add_export_menu(self.hist_widget, self.hist_plot, "weight distribution")
        self.hist_empty = style.themed_text("", "muted", anchor=(0.5, 0.5))
        self.hist_empty.setFont(style.small_font(10))
        self.hist_plot.addItem(self.hist_empty)
        weights_tab = QtWidgets.QWidget()
        style.paint_background(weights_tab)
        combo_row = QtWidgets.QHBoxLayout()
        combo_row.setContentsMargins(4, 4, 4, 0)
        combo_row.addWidget(QtWidgets.QLabel("Weights of"))
        combo_row.addWidget(self.layer_combo, 1)
        tab_layout = QtWidgets.QVBoxLayout(weights_tab)
        tab_layout.setContentsMargins(0, 0, 0, 0)
        tab_layout.setSpacing(2)
        tab_layout.addLayout(combo_row)
        tab_layout.addWidget(self.hist_widget, 1)

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        curves_tab = QtWidgets.QWidget()
        style.paint_background(curves_tab)
        curves_layout = QtWidgets.QVBoxLayout(curves_tab)
        curves_layout.setContentsMargins(6, 4, 0, 0)
        curves_layout.setSpacing(0)
        curves_layout.addWidget(self.legend)
        curves_layout.addWidget(self.graphics, 1)
        self.tabs.addTab(curves_tab, "Over training")
        self.tabs.addTab(weights_tab, "Weight distribution")
        self.tabs.setTabToolTip(0, "Gradient norms, update ratios and dead/saturated units over training")
        self.tabs.setTabToolTip(1, "A layer's weight histogram now over the one at initialisation")

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tabs)

        self._throttle = RenderThrottle(self, MIN_INTERVAL_S,
                                        lambda snap: self._render_curves(snap.learning, snap.planned_samples))
        self.clear()

    # -- API -------------------------------------------------------------------------------------
    def clear(self) -> None:
        self._throttle.reset()
        self._curve_key = None
        self._histograms = None
        self._x_max = None
        for curve in self.grad_curves + self.ratio_curves + self.inactive_curves:
            curve.setData(_EMPTY, _EMPTY)
        self.grad_plot._decades = self.ratio_plot._decades = None
        # Empty log axes: whole decades as with data (pyqtgraph's own log ticks pile up: 2 3 4 ...)
        self._decade_range(self.grad_plot, np.array([1e-3, 10.0]))
        self._decade_range(self.ratio_plot, np.array([1e-5, 1e-1]))
        self.hist_now.setData(_EMPTY, _EMPTY)  # stepMode needs len(x) == len(y) + 1 only with data
        self.hist_initial.setData(_EMPTY, _EMPTY)
        self.hist_empty.setText("no network yet")
        self.hist_empty.setVisible(True)
        self.hist_empty.setPos(0.5, 0.5)
        self.hist_plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current`, the layers' curves in its colours."""
        style.restyle(self)
        self._paint_initial_fill()
        for curves in (self.grad_curves, self.ratio_curves, self.inactive_curves):
            for i, curve in enumerate(curves):
                curve.setPen(style.pen(layer_color(i), 1.0))
        self._show_layer_legend()
        self.hist_now.setPen(style.pen(layer_color(max(self.layer_combo.currentIndex(), 0)), 2.0))

    def _paint_initial_fill(self) -> None:
        fill = QtGui.QColor(theme.current().reference)
        fill.setAlpha(INITIAL_ALPHA)
        self.hist_initial.setBrush(pg.mkBrush(fill))

    def _show_layer_legend(self) -> None:
        self.legend.setText(" &nbsp; ".join(f"<span style='color:{layer_color(i)}'>■</span> {name}"
                                            for i, name in enumerate(self._names or ())))

    def show_snapshot(self, snap: Snapshot) -> None:
        stats = snap.learning
        if stats is None:
            return
        if stats.layer_names != self._names:
            self._build(stats)
        if stats.histograms is not self._histograms:
            self._histograms = stats.histograms
            self._show_histogram()
        if _curve_key(stats) == self._curve_key:
            return
        urgent = self._curve_key is None or snap.finished or snap.diverged is not None
        self._throttle.offer(snap, urgent)

    # -- rendering -------------------------------------------------------------------------------

    def _build(self, stats) -> None:
        self._names = tuple(stats.layer_names)
        self._hidden_names = tuple(stats.hidden_names)
        for plot, curves in ((self.grad_plot, self.grad_curves), (self.ratio_plot, self.ratio_curves),
                             (self.inactive_plot, self.inactive_curves)):
            for curve in curves:
                plot.removeItem(curve)
            curves.clear()
        self._show_layer_legend()
        for i in range(len(self._names)):
            pen = style.pen(layer_color(i), 1.0)  # (1 px: Qt's fast path for antialiased lines)
            g = pg.PlotDataItem(pen=pen, connect="finite")
            r = pg.PlotDataItem(pen=pen, connect="finite")
            self.grad_plot.addItem(g)
            self.ratio_plot.addItem(r)
            self.grad_curves.append(g)
            self.ratio_curves.append(r)
        for i, _ in enumerate(self._hidden_names):
            c = pg.PlotDataItem(pen=style.pen(layer_color(i), 1.0), connect="finite")
            self.inactive_plot.addItem(c)
            self.inactive_curves.append(c)
        style.axis_label(self.inactive_plot, "left", "%", tip=AXIS_TIPS["dead (%)" if stats.inactive_label.startswith(
            "dead") else "saturated (%)"])
        self._inactive_title = stats.inactive_label
        style.set_title(self.inactive_plot, stats.inactive_label, size="8pt")
        style.set_title(self.grad_plot, "gradient norm per layer", size="8pt")
        style.set_title(self.ratio_plot, "update-to-weight ratio", size="8pt")
        self.inactive_text.setText("" if self._hidden_names else "no hidden layer")
        self.inactive_text.setVisible(not self._hidden_names)
        self.inactive_text.setPos(0.5, 50)
        current = self.layer_combo.currentIndex()
        blocked = self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItems(list(self._names))
        self.layer_combo.setCurrentIndex(current if 0 <= current < len(self._names) else 0)
        self.layer_combo.blockSignals(blocked)

    def _render_curves(self, stats, planned: float = 0.0) -> None:
        """``planned``: the samples the run will have seen at its end (the x axis stops there, as
        the loss and accuracy plots' do, not at the next coarse step past it)."""
        self._curve_key = _curve_key(stats)
        x = np.asarray(stats.gradient_samples, dtype=np.float64)
        for i, (g, r) in enumerate(zip(self.grad_curves, self.ratio_curves)):
            if len(x):
                g.setData(x, positive(stats.gradient_norms[:, i]))
                r.setData(x, positive(stats.update_ratios[:, i]))
            else:
                g.setData(_EMPTY, _EMPTY)
                r.setData(_EMPTY, _EMPTY)
        for plot, values in ((self.grad_plot, stats.gradient_norms), (self.ratio_plot, stats.update_ratios)):
            self._decade_range(plot, values)
        x_max = nice_ceiling(float(x[-1]) * 1.03, COARSE_STEPS) if len(x) else 1.0
        if len(x) and planned >= x[-1]:
            x_max = min(x_max, float(planned))
        if x_max != self._x_max:  # (the three plots share the x axis)
            self._x_max = x_max
            self.grad_plot.setXRange(0, x_max, padding=0)
        xi = np.asarray(stats.inactive_samples, dtype=np.float64)
        for i, c in enumerate(self.inactive_curves):
            if len(xi) and i < stats.inactive_fraction.shape[1]:
                c.setData(xi, np.asarray(stats.inactive_fraction[:, i], dtype=np.float64) * 100.0)
            else:
                c.setData(_EMPTY, _EMPTY)
        if not self._hidden_names:
            self.inactive_text.setPos(float(x[-1]) / 2 if len(x) else 0.5, 50)
        elif len(xi):
            now = ", ".join(f"{v * 100:.0f} %" for v in stats.inactive_fraction[-1])
            style.set_title(self.inactive_plot, f"{self._inactive_title} · now {now}", size="8pt")

    @staticmethod
    def _decade_range(plot: pg.PlotItem, values: np.ndarray) -> None:
        """A log axis spanning whole decades around the data (clean labels, calm while it moves)."""
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v) & (v > 0)]
        if not v.size:
            return
        lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
        if hi <= lo:
            hi = lo + 1
        if (lo, hi) != getattr(plot, "_decades", None):
            plot._decades = (lo, hi)
            plot.setYRange(lo - 0.15, hi + 0.15, padding=0)  # room for the end labels
            every = max(1, math.ceil((hi - lo) / 5))
            plot.getAxis("left").setTicks([[(k, decade_label(k)) for k in range(lo, hi + 1, every)], []])

    def _show_histogram(self, *_) -> None:
        histograms = self._histograms
        i = self.layer_combo.currentIndex()
        if not histograms or not 0 <= i < len(histograms):
            return
        h = histograms[i]
        edges = np.asarray(h.edges, dtype=np.float64)
        self.hist_initial.setData(edges, np.asarray(h.initial_counts, dtype=np.float64))
        self.hist_now.setData(edges, np.asarray(h.counts, dtype=np.float64))
        self.hist_now.setPen(style.pen(layer_color(i), 2.0))
        self.hist_empty.setVisible(False)
        top = float(max(np.max(h.counts, initial=0), np.max(h.initial_counts, initial=0), 1))
        self.hist_plot.setRange(xRange=(edges[0], edges[-1]), yRange=(0, top * 1.08), padding=0.02)
