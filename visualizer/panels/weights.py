"""The first layer's weights as images: what each hidden unit (or, without a hidden layer, each
class) looks for in a digit.

Each row of ``snap.first_layer_weights`` is reshaped to the image shape and drawn as one tile,
scaled by its own largest |w| so every tile uses the whole colour range: red = positive weight,
blue = negative, white = 0. All tiles go into one mosaic image (one ImageItem) with grey gaps.
Rendering is throttled to about 10 per second; the last snapshot is always drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from nn.trainer import Snapshot

from .. import style
from ..export_menu import add_export_menu
from ..naming import class_name
from ..throttle import RenderThrottle

MAX_TILES = 64
GAP = 2  # pixels between tiles
MIN_INTERVAL_S = 0.1  # render at most ~10 times per second

_TOOLTIP = ("First-layer weights, one tile per unit, shaped like the input image.\n"
            "Red: positive weight (ink there excites the unit), blue: negative, white: 0.\n"
            "Each tile is scaled by its own largest |w|. Hover a tile for its unit and scale.")


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) for ``n`` tiles: 10 class templates as 2 x 5, otherwise nearly square."""
    if n == 10:
        return 2, 5
    cols = max(1, math.ceil(math.sqrt(n)))
    return math.ceil(n / cols), cols


def normalized_tiles(weights: np.ndarray, image_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(tiles, scale): each row divided by its max |w| (an all-zero row stays 0), reshaped to
    (n, rows, cols); scale is each row's max |w|."""
    w = np.asarray(weights, dtype=np.float64)
    scale = np.abs(w).max(axis=1) if w.size else np.zeros(len(w))
    with np.errstate(invalid="ignore", divide="ignore"):
        tiles = w / np.where(scale > 0, scale, 1.0)[:, None]
    return tiles.reshape(len(w), *image_shape), scale


def mosaic(tiles: np.ndarray, rows: int, cols: int, gap: int = GAP) -> np.ndarray:
    """Tiles (n, h, w) laid out row by row in a (rows*(h+gap)-gap, cols*(w+gap)-gap) array; NaN in
    the gaps and the unused cells."""
    n, h, w = tiles.shape
    out = np.full((rows, h + gap, cols, w + gap), np.nan)
    padded = np.full((rows * cols, h, w), np.nan)
    padded[:n] = tiles
    out[:, :h, :, :w] = padded.reshape(rows, cols, h, w).transpose(0, 2, 1, 3)
    out = out.reshape(rows * (h + gap), cols * (w + gap))
    return out[: out.shape[0] - gap, : out.shape[1] - gap] if gap else out


class WeightsPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(300, 300)
        self.mosaic: np.ndarray | None = None  # normalised weights as laid out (NaN in gaps)
        self.scales = np.zeros(0)  # max |w| per shown tile
        self.n_tiles = 0
        self.grid = (0, 0)
        self.tile_shape = (0, 0)
        self.templates = False
        self._key = None
        self._title = None
        self._labels: list[pg.TextItem] = []

        self.plot_widget = style.plot_widget()
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.vb.setAspectLocked(True)
        self.plot.vb.invertY(True)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_item)
        self.empty_text = style.themed_text("", "muted", anchor=(0.5, 0.5))
        self.empty_text.setFont(style.small_font(10))
        self.plot.addItem(self.empty_text)

        self.readout = QtWidgets.QLabel()
        self.readout.setFont(style.small_font())
        style.themed_css(self.readout, "color: $foreground;")
        self.readout.setToolTip("The tile under the mouse pointer: its unit and largest |weight|")
        negative, positive = (style.css_rgb(style.DIVERGING_LUT[i]) for i in (25, 230))
        legend = QtWidgets.QLabel(
            f"<span style='color:{negative}'>■</span> negative &nbsp;"
            f"<span style='color:#999999'>□</span> 0 &nbsp;"  # mid grey: visible in both themes
            f"<span style='color:{positive}'>■</span> positive")
        legend.setFont(style.small_font())
        legend.setToolTip("Colour scale of every tile, relative to its own largest |weight|")
        bottom = QtWidgets.QHBoxLayout()
        bottom.setContentsMargins(4, 0, 4, 0)
        bottom.addWidget(legend)
        bottom.addStretch(1)
        bottom.addWidget(self.readout)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.title = style.title_label()
        layout.addWidget(self.title)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(bottom)

        self.export_menu = add_export_menu(self.plot_widget, self.plot, "weights")
        self._throttle = RenderThrottle(self, MIN_INTERVAL_S, self._render)
        self._proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved)
        self.clear()

    # -- API -------------------------------------------------------------------------------------
    def clear(self) -> None:
        self._throttle.reset()
        self._key = None
        self.mosaic = None
        self.scales = np.zeros(0)
        self.n_tiles = 0
        self.image_item.clear()
        self._set_labels([])
        self._set_title("First-layer weights")
        self._show_empty("no network yet")
        self.readout.setText("")

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current` (the gaps between tiles take the theme's colour)."""
        style.restyle(self)
        if self.mosaic is not None:
            self.image_item.setImage(style.diverging_rgb(self.mosaic), autoLevels=False, levels=(0, 255))

    @staticmethod
    def _key_of(snap: Snapshot) -> tuple:
        w = snap.first_layer_weights
        return (snap.step, snap.samples_seen, w.shape, snap.layer_sizes, snap.image_shape,
                float(w.flat[0]) if w.size else 0.0, float(w.flat[-1]) if w.size else 0.0)

    def show_snapshot(self, snap: Snapshot) -> None:
        if self._key_of(snap) == self._key:
            return
        urgent = self._key is None or snap.finished or snap.diverged is not None
        self._throttle.offer(snap, urgent)

    # -- rendering -------------------------------------------------------------------------------
    def _render(self, snap: Snapshot) -> None:
        self._key = self._key_of(snap)
        weights = snap.first_layer_weights
        shape = tuple(int(s) for s in snap.image_shape)
        units = weights.shape[0]
        if len(shape) != 2 or weights.ndim != 2 or weights.shape[1] != shape[0] * shape[1]:
            self.mosaic = None
            self.image_item.clear()
            self._set_labels([])
            self._show_empty(f"cannot show {weights.shape[1] if weights.ndim == 2 else '?'} inputs "
                             f"as {'x'.join(map(str, shape))} images")
            return
        self.templates = len(snap.layer_sizes) == 2
        self.class_names = tuple(snap.class_names)  # the templates' classes
        n = min(units, MAX_TILES)
        tiles, scales = normalized_tiles(weights[:n], shape)
        rows, cols = grid_shape(n)
        image = mosaic(tiles, rows, cols)
        relayout = (rows, cols) != self.grid or shape != self.tile_shape or self.mosaic is None
        self.mosaic, self.scales, self.n_tiles = image, scales, n
        self.grid, self.tile_shape = (rows, cols), shape
        self.image_item.setImage(style.diverging_rgb(image), autoLevels=False, levels=(0, 255))
        self.empty_text.setVisible(False)
        if self.templates:
            title = f"Class templates (no hidden layer): {n} classes"
        elif n < units:
            title = f"First-layer weights — first {n} of {units} units"
        else:
            title = f"First-layer weights — {units} units"
        self._set_title(title)
        if relayout:
            self._set_labels([class_name(self.class_names, i) for i in range(n)] if self.templates else [])
            self.plot.setRange(xRange=(0, image.shape[1]), yRange=(0, image.shape[0]), padding=0.01)

    def _set_labels(self, texts: list[str]) -> None:
        for label in self._labels:
            self.plot.removeItem(label)
        self._labels = []
        h, w = self.tile_shape
        cols = self.grid[1] or 1
        for i, text in enumerate(texts):
            label = style.themed_text(text, "foreground", fill=True, anchor=(0, 0))
            label.setFont(style.small_font(8, bold=True))
            label.setPos((i % cols) * (w + GAP), (i // cols) * (h + GAP))
            self.plot.addItem(label)
            self._labels.append(label)

    def _show_empty(self, text: str) -> None:
        self.empty_text.setText(text)
        self.empty_text.setPos(0.5, 0.5)
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.grid = (0, 0)
        self.empty_text.setVisible(True)

    def _set_title(self, text: str) -> None:
        if text != self._title:
            self._title = text
            self.title.setText(text)

    def tile_at(self, x: float, y: float) -> int | None:
        """The tile index under image coordinates (x, y), or None (gap, outside)."""
        if self.mosaic is None or not self.n_tiles:
            return None
        h, w = self.tile_shape
        col, col_off = divmod(int(math.floor(x)), w + GAP)
        row, row_off = divmod(int(math.floor(y)), h + GAP)
        if x < 0 or y < 0 or col >= self.grid[1] or row >= self.grid[0] or col_off >= w or row_off >= h:
            return None
        index = row * self.grid[1] + col
        return index if index < self.n_tiles else None

    def _mouse_moved(self, event) -> None:
        pos = event[0]
        index = None
        if self.plot.sceneBoundingRect().contains(pos):
            point = self.plot.vb.mapSceneToView(pos)
            index = self.tile_at(point.x(), point.y())
        if index is None:
            self.readout.setText("")
            return
        name = f"class {class_name(self.class_names, index)}" if self.templates else f"unit {index}"
        self.readout.setText(f"{name} · max |w| {self.scales[index]:.3g}")
