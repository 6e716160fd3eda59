"""Inside the network for one digit: from pixels through the hidden layers to the softmax.

For the selected test digit (``snap.probe_detail``) or the digit drawn on the pad
(``snap.drawn``), top to bottom:

* input × weight of the first layer's most active units (``DigitDetail.top_units`` /
  ``contributions``), each tile shaped like the image: red pixels push the unit up, blue ones
  down (scaled per tile, symmetric around 0). Their sum (plus the bias) is the unit's input.
* every hidden layer's activations, one cell per unit (wrapped into a grid), colour = activation;
  the units whose tiles are shown are framed in the first layer.
* the softmax output as a small bar strip.

Without a hidden layer the "units" are the class templates: each tile is what the input adds to
that class's score. The panel only draws what the engine computed; it re-renders when the
DigitDetail object changes, at most ~10 times a second.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.trainer import Snapshot

from .. import style, theme
from ..class_axis import class_axis_items, class_ticks
from ..export_menu import add_export_menu
from ..naming import class_name, digits_only

MIN_INTERVAL_S = 0.1  # at most ~10 renders per second
CELL = 5  # image pixels per unit cell
CELL_GAP = 1
TILE_GAP = 3
TILE_CAPTION_PX = 24  # the two 7-pt lines under each tile, in screen pixels whatever the tiles' size
SOURCES = ("selected test digit", "drawn digit")

_TOOLTIP = ("The path from pixels to softmax for one digit.\nTop: input × weight of the most active first-layer "
            "units (red: ink there raises the unit, blue: lowers it).\nMiddle: every hidden unit's activation "
            "(framed: the units shown on top).\nBottom: the softmax output.")


def grid_columns(max_units: int) -> int:
    """Columns of the unit grids: a wide strip (about 8:1), the same for every layer."""
    if max_units <= 16:
        return max(1, max_units)
    return min(max_units, max(16, math.ceil(math.sqrt(max_units * 8))))


def cell_grid(rgb_cells: np.ndarray, cols: int, marked=()) -> np.ndarray:
    """(n, 3) cell colours as a (rows*(CELL+GAP)+GAP, cols*(CELL+GAP)+GAP, 3) image with gaps;
    ``marked`` cells get a frame (black, or white in the dark theme)."""
    t = theme.current()
    n = len(rgb_cells)
    rows = max(1, math.ceil(n / cols))
    step = CELL + CELL_GAP
    out = np.empty((rows * step + CELL_GAP, cols * step + CELL_GAP, 3), dtype=np.ubyte)
    out[:] = t.cell_gap
    cells = np.empty((rows * cols, 3), dtype=np.ubyte)
    cells[:] = t.cell_unused
    cells[:n] = rgb_cells
    block = np.repeat(np.repeat(cells.reshape(rows, cols, 1, 1, 3), CELL, axis=2), CELL, axis=3)
    inner = out[CELL_GAP:, CELL_GAP:].reshape(rows, step, cols, step, 3)
    inner[:, :CELL, :, :CELL] = block.transpose(0, 2, 1, 3, 4)
    for unit in marked:
        r, c = divmod(int(unit), cols)
        out[r * step: r * step + step + CELL_GAP, c * step: c * step + step + CELL_GAP] = t.cell_mark
        y, x = r * step + CELL_GAP, c * step + CELL_GAP
        out[y: y + CELL, x: x + CELL] = cells[unit]
    return out


def activation_colors(values: np.ndarray, activation: str) -> tuple[np.ndarray, str]:
    """(n, 3) colours of activations and the scale's description."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    if activation == "tanh":
        return style.diverging_rgb(np.clip(v, -1.0, 1.0)), "−1 … 1"
    if activation == "sigmoid":
        top = 1.0
    else:
        top = float(v.max(initial=0.0))
    scaled = np.clip(v / top, 0.0, 1.0) if top > 0 else np.zeros_like(v)
    index = np.rint(scaled * 255).astype(np.intp)
    return style.SEQUENTIAL_LUT[index], ("0 … 1" if activation == "sigmoid" else f"0 … {top:.3g}")


def contribution_mosaic(contributions: np.ndarray, image_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(tiles (k, h, w) each divided by its own max |value|, the scales)."""
    c = np.nan_to_num(np.asarray(contributions, dtype=np.float64))
    scale = np.abs(c).max(axis=1) if c.size else np.zeros(len(c))
    tiles = c / np.where(scale > 0, scale, 1.0)[:, None]
    return tiles.reshape(len(c), *image_shape), scale


def _legend_pixmap(lut: np.ndarray, width: int = 90, height: int = 10) -> QtGui.QPixmap:
    index = np.linspace(0, len(lut) - 1, width).round().astype(np.intp)
    rgb = np.ascontiguousarray(np.repeat(lut[index][None, :, :], height, axis=0), dtype=np.ubyte)
    image = QtGui.QImage(rgb.data, width, height, width * 3, QtGui.QImage.Format.Format_RGB888)
    return QtGui.QPixmap.fromImage(image.copy())


def _view(widget: pg.GraphicsLayoutWidget, row: int) -> pg.ViewBox:
    view = widget.addViewBox(row=row, col=0, lockAspect=True, enableMouse=False, enableMenu=False)
    view.invertY(True)
    view.setDefaultPadding(0.0)
    return view


class ActivationsPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(320, 320)
        self._source = 0  # 0: selected test digit, 1: drawn digit
        self._detail = None  # the DigitDetail shown
        self._structure = None
        self._last_render = -math.inf
        self._pending: Snapshot | None = None
        self.cells: list[np.ndarray] = []  # per hidden layer: the activations shown (units,)
        self.tiles = np.zeros((0, 0, 0))  # contributions as shown, each scaled to [-1, 1]
        self.tile_scales = np.zeros(0)
        self.tile_units = np.zeros(0, dtype=int)
        self.probs: np.ndarray | None = None

        self.title = QtWidgets.QLabel()
        self.title.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.title.setFont(style.small_font(10))
        self.title.setWordWrap(True)  # beside the source box it is cut off in a narrow panel
        self.source_combo = QtWidgets.QComboBox()
        self.source_combo.addItems(SOURCES)
        self.source_combo.setToolTip("Which digit to follow through the network: the one selected in the "
                                     "softmax panel, or the one drawn on the drawing pad")
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        show = QtWidgets.QLabel("show:")
        show.setToolTip(self.source_combo.toolTip())
        header = QtWidgets.QHBoxLayout()
        header.setContentsMargins(6, 4, 4, 0)
        header.addWidget(self.title, 1)
        header.addWidget(show)
        header.addWidget(self.source_combo)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(theme.current().background)
        self.graphics.ci.setContentsMargins(4, 2, 4, 2)
        self.export_menu = add_export_menu(self.graphics, self.graphics, "activations")
        self.graphics.ci.setSpacing(1)

        self.empty_label = QtWidgets.QLabel()
        self.empty_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setFont(style.small_font(10))
        style.themed_css(self.empty_label, "color: $muted; background: $background; padding: 12px;")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.graphics)

        self.legend_bar = QtWidgets.QLabel()
        self.legend_text = QtWidgets.QLabel()
        self.legend_text.setFont(style.small_font(8))
        self.legend_text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        negative, positive = (style.css_rgb(style.DIVERGING_LUT[i]) for i in (25, 230))
        tiles_legend = QtWidgets.QLabel(f"tiles: <span style='color:{positive}'>■</span> raises "
                                        f"<span style='color:{negative}'>■</span> lowers")
        tiles_legend.setFont(style.small_font(8))
        tiles_legend.setToolTip("Input × weight, each tile scaled by its own largest |value|")
        # Two short rows: in one, the tiles' key was cut off in a panel of the usual width.
        cells = QtWidgets.QHBoxLayout()
        cells.setSpacing(4)
        cells.addWidget(QtWidgets.QLabel("activation:", font=style.small_font(8)))
        cells.addWidget(self.legend_bar)
        cells.addWidget(self.legend_text)
        cells.addStretch(1)
        legend = QtWidgets.QVBoxLayout()
        legend.setContentsMargins(6, 0, 6, 4)
        legend.setSpacing(0)
        legend.addLayout(cells)
        legend.addWidget(tiles_legend)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        layout.addLayout(legend)

        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._render_pending)
        self._last_snap: Snapshot | None = None
        self.clear()

    # -- API -------------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return "drawn" if self._source == 1 else "probe"

    def set_source(self, source: str) -> None:
        """Follow the selected test digit ("probe") or the drawn digit ("drawn")."""
        self.source_combo.setCurrentIndex(1 if source == "drawn" else 0)

    def clear(self) -> None:
        self._timer.stop()
        self._pending = None
        self._last_snap = None
        self._detail = None
        self._last_render = -math.inf
        self.cells, self.probs = [], None
        self.title.setText("Activations")
        self._show_empty("no network yet")

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current`: the grids and bars are rebuilt in its colours."""
        style.restyle(self)
        self._structure = None
        if self._last_snap is not None:
            self._render(self._last_snap)

    def show_snapshot(self, snap: Snapshot) -> None:
        self._last_snap = snap
        detail = snap.drawn if self._source == 1 else snap.probe_detail
        if detail is self._detail:
            return
        if self._detail is None or detail is None or time.monotonic() - self._last_render >= MIN_INTERVAL_S:
            self._render(snap)
        else:  # draw it later unless a newer snapshot comes first
            self._pending = snap
            if not self._timer.isActive():
                wait = MIN_INTERVAL_S - (time.monotonic() - self._last_render)
                self._timer.start(max(1, int(wait * 1000)))

    # -- rendering -------------------------------------------------------------------------------
    def _source_changed(self, index: int) -> None:
        self._source = int(index)
        self._detail = None
        if self._last_snap is not None:
            self._render(self._last_snap)
        else:
            self._show_empty("no network yet")

    def _render_pending(self) -> None:
        snap, self._pending = self._pending, None
        if snap is not None:
            self._render(snap)

    def _render(self, snap: Snapshot) -> None:
        self._timer.stop()
        self._pending = None
        self._last_render = time.monotonic()
        detail = snap.drawn if self._source == 1 else snap.probe_detail
        self._detail = detail
        if self._source == 1:
            self.title.setText("<b>Your drawing</b> through the network")
        elif snap.probe_indices:
            self.title.setText(f"<b>Test digit #{snap.probe_indices[0]}</b> through the network")
        else:
            self.title.setText("Activations")
        if detail is None:
            self._show_empty("Draw a digit on the drawing pad to follow it through the network."
                             if self._source == 1 else "Select a test digit in the softmax panel.")
            return
        shape = tuple(int(s) for s in snap.image_shape)
        structure = (tuple(snap.layer_sizes), snap.config.activation, shape, tuple(snap.class_names))
        if structure != self._structure:
            self._build(structure)
        self.stack.setCurrentWidget(self.graphics)
        activation = snap.config.activation
        hidden = len(detail.hidden) > 0

        # contributions of the top units
        units = np.asarray(detail.top_units, dtype=int)
        tiles, scales = contribution_mosaic(detail.contributions, shape)
        self.tiles, self.tile_scales, self.tile_units = tiles, scales, units
        k = len(tiles)
        h, w = shape
        mosaic = np.full((h, self._n_tiles * (w + TILE_GAP) - TILE_GAP), np.nan)
        for i in range(k):
            mosaic[:, i * (w + TILE_GAP): i * (w + TILE_GAP) + w] = tiles[i]
        rgb = style.diverging_rgb(mosaic, gap_color=QtGui.QColor(theme.current().background).getRgb()[:3])
        self.tile_image.setImage(rgb, autoLevels=False, levels=(0, 255))
        for i, text in enumerate(self.tile_texts):
            if i >= k:
                self._set_text(text, "")
            elif hidden:
                # "#160", not "unit 160": eight of them side by side under tiles a few dozen pixels wide
                self._set_text(text, f"#{units[i]}\na={detail.hidden[0][units[i]]:.1f}")
            else:
                self._set_text(text, f"class {class_name(snap.class_names, units[i])}\n"
                                     f"p={detail.probs[units[i]] * 100:.0f} %")

        # hidden layers
        self.cells = [np.asarray(a) for a in detail.hidden]
        scale_text = ""
        for i, (a, item, label) in enumerate(zip(detail.hidden, self.grid_images, self.grid_labels)):
            colors, scale_text = activation_colors(a, activation)
            item.setImage(cell_grid(colors, self._cols, units if i == 0 else ()), autoLevels=False, levels=(0, 255))
            active = float(np.count_nonzero(np.asarray(a) > 0)) / max(len(a), 1)
            name = f"layer {i + 1}: {len(a)} units"
            if activation == "relu":
                peak = float(np.max(a, initial=0))
                self._set_text(label, f"{name} · {active * 100:.0f} % active · max a = {peak:.3g}")
            else:
                self._set_text(label, f"{name} · a in {float(np.min(a)):.2f} … {float(np.max(a)):.2f}")
        if hidden:
            self.legend_text.setText("0 … layer max" if activation == "relu" else scale_text)

        # softmax
        probs = np.nan_to_num(np.asarray(detail.probs, dtype=np.float64))
        self.probs = probs
        predicted = int(np.argmax(probs))
        brushes = [self._bar_brush] * len(probs)
        brushes[predicted] = self._top_brush
        self.bars.setOpts(height=probs * 100, brushes=brushes)
        self._set_text(self.softmax_label,
                       f"softmax output · predicted <b>{class_name(snap.class_names, predicted)}</b> "
                       f"({probs[predicted] * 100:.0f} %)")

    def _set_text(self, item, text: str) -> None:
        """setText only when the text changes (a LabelItem re-lays its row on every call)."""
        if self._texts.get(id(item)) != text:
            self._texts[id(item)] = text
            item.setText(text)

    def _build(self, structure) -> None:
        layer_sizes, activation, shape, names = structure
        self._structure = structure
        self._texts: dict[int, str] = {}
        g = self.graphics
        g.clear()
        hidden = list(layer_sizes[1:-1])
        self._cols = grid_columns(max(hidden) if hidden else 1)
        h, w = shape
        row = 0
        if hidden:
            text = f"input × weight · the {min(8, hidden[0])} most active units of layer 1 (framed)"
        else:
            text = "no hidden layer · input × class template (sum: the class score)"
        self.tiles_label = g.addLabel(text, row=row, col=0, color=theme.current().foreground, size="8pt")
        row += 1
        self.tile_view = _view(g, row)
        self._n_tiles = min(8, hidden[0] if hidden else layer_sizes[-1])
        width = self._n_tiles * (w + TILE_GAP) - TILE_GAP
        self.tile_image = pg.ImageItem(axisOrder="row-major")
        self.tile_view.addItem(self.tile_image)
        self.tile_view.setRange(xRange=(0, width), yRange=(0, h), padding=0)
        g.ci.layout.setRowStretchFactor(row, round(100 * h / width))
        row += 1
        # The captions in a row of their own, a fixed number of pixels high: inside the tiles' view
        # they would scale with the tiles, and a narrow panel cut their second line off.
        self.tile_caption_view = g.addViewBox(row=row, col=0, enableMouse=False, enableMenu=False)
        self.tile_caption_view.invertY(True)
        self.tile_caption_view.setDefaultPadding(0.0)
        self.tile_caption_view.setXLink(self.tile_view)  # (the same width on screen: the tiles' x)
        self.tile_caption_view.setYRange(0, 1, padding=0)
        self.tile_caption_view.setFixedHeight(TILE_CAPTION_PX)
        g.ci.layout.setRowFixedHeight(row, TILE_CAPTION_PX)
        self.tile_texts = []
        for i in range(self._n_tiles):
            t = style.themed_text("", "foreground", anchor=(0.5, 0.0))
            t.setFont(style.small_font(7))
            t.textItem.document().setDocumentMargin(0)
            t.setPos(i * (w + TILE_GAP) + w / 2, 0)
            self.tile_caption_view.addItem(t)
            self.tile_texts.append(t)
        row += 1
        self.grid_images, self.grid_labels = [], []
        for n in hidden:
            label = g.addLabel("", row=row, col=0, color=theme.current().foreground, size="8pt")
            row += 1
            view = _view(g, row)
            item = pg.ImageItem(axisOrder="row-major")
            view.addItem(item)
            rows = math.ceil(n / self._cols)
            step = CELL + CELL_GAP
            view.setRange(xRange=(0, self._cols * step + CELL_GAP), yRange=(0, rows * step + CELL_GAP), padding=0)
            g.ci.layout.setRowStretchFactor(row, round(100 * (rows * step + CELL_GAP) / (self._cols * step + CELL_GAP)))
            self.grid_images.append(item)
            self.grid_labels.append(label)
            row += 1
        self.softmax_label = g.addLabel("", row=row, col=0, color=theme.current().foreground, size="8pt")
        row += 1
        plot = g.addPlot(row=row, col=0, axisItems=None if digits_only(names) else class_axis_items())
        style.style_plot(plot)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.hideAxis("left")
        n_classes = layer_sizes[-1]
        plot.setXRange(-0.6, n_classes - 0.4, padding=0)
        plot.setYRange(0, 100, padding=0.02)
        plot.getAxis("bottom").setTicks(class_ticks(names if len(names) == n_classes else range(n_classes)))
        names_room = 0 if digits_only(names) else 60  # class names turned upwards under the bars
        plot.setMaximumHeight(70 + names_room)
        plot.setMinimumHeight(50 + names_room)
        t = theme.current()
        self.bars = pg.BarGraphItem(x=np.arange(n_classes), height=np.zeros(n_classes), width=0.75,
                                    brush=t.bar, pen=None)
        plot.addItem(self.bars)
        self.softmax_plot = plot
        self._bar_brush = pg.mkBrush(t.bar)
        self._top_brush = pg.mkBrush(t.train)
        lut = style.DIVERGING_LUT if activation == "tanh" else style.SEQUENTIAL_LUT
        self.legend_bar.setPixmap(_legend_pixmap(lut))
        self.legend_bar.setVisible(bool(hidden))
        self.legend_text.setText("" if hidden else "no hidden layer")
        self.legend_text.setToolTip("Colour of a unit's cell: its activation"
                                    + (", scaled by the layer's largest" if activation == "relu" else ""))

    def _show_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.stack.setCurrentWidget(self.empty_label)
