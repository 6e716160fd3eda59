"""Shared look of the panels: a readable light theme, the train/test colours and the colour maps.

Everything here is styling only: no panel state, no training logic. Panels style their own
widgets with these helpers instead of changing pyqtgraph's global configuration (other parts of
the application may rely on its defaults), except antialiasing, which is harmless everywhere.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

pg.setConfigOptions(antialias=True)

# -- colours -------------------------------------------------------------------------------------
BACKGROUND = "#ffffff"
FOREGROUND = "#222222"  # axes, tick labels, titles
MUTED = "#8a8a8a"  # secondary text (empty states, hints)
GRID_ALPHA = 0.15

TRAIN_COLOR = "#1f77b4"  # blue
TEST_COLOR = "#ff7f0e"  # orange
EVENT_COLOR = "#555555"  # hyperparameter-change marks
DIVERGED_COLOR = "#d62728"  # red
CORRECT_COLOR = "#2ca02c"  # green: the true class / a right prediction
WRONG_COLOR = "#d62728"  # red: a wrong prediction
BAR_COLOR = "#a9bfd6"  # the other classes' bars
WAITING_COLOR = "#dddddd"  # bars while no probabilities are known
GAP_COLOR = (150, 150, 150)  # between weight tiles

TITLE_SIZE = "10pt"
LABEL_FONT_PT = 9


def pen(color, width: float = 1.5, style: QtCore.Qt.PenStyle = QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    p = pg.mkPen(color, width=width)
    p.setStyle(style)
    p.setCosmetic(True)
    return p


# Width 1 keeps Qt's fast path for a long antialiased curve (a 1.2 px pen paints ~3x slower).
TRAIN_PEN = pen(TRAIN_COLOR, 1.0)
TEST_PEN = pen(TEST_COLOR, 2.0)
EVENT_PEN = pen(EVENT_COLOR, 1.0, QtCore.Qt.PenStyle.DashLine)
DIVERGED_PEN = pen(DIVERGED_COLOR, 2.0)


def small_font(point_size: float = LABEL_FONT_PT, bold: bool = False) -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def plot_widget(**kwargs) -> pg.PlotWidget:
    """A PlotWidget on a white background with dark axes."""
    widget = pg.PlotWidget(background=BACKGROUND, **kwargs)
    style_plot(widget.getPlotItem())
    return widget


def style_plot(plot: pg.PlotItem) -> None:
    for name in ("left", "bottom", "top", "right"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(FOREGROUND, width=1))
        axis.setTextPen(pg.mkPen(FOREGROUND))
        axis.setTickFont(small_font())
    plot.titleLabel.setAttr("color", FOREGROUND)
    plot.titleLabel.setAttr("size", TITLE_SIZE)


def set_title(plot: pg.PlotItem, text: str, size: str = TITLE_SIZE) -> None:
    plot.setTitle(text, color=FOREGROUND, size=size)


def paint_background(widget: "QtWidgets.QWidget") -> None:
    """White panel background, so the controls under a plot sit on the plot's colour."""
    palette = widget.palette()
    palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(BACKGROUND))
    palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(FOREGROUND))
    widget.setPalette(palette)
    widget.setAutoFillBackground(True)


def title_label(text: str = "") -> "QtWidgets.QLabel":
    """A centred, word-wrapping title above a plot (a PlotItem title never wraps and would force
    a narrow panel wider than its window)."""
    label = QtWidgets.QLabel(text)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setFont(small_font(10))
    label.setStyleSheet(f"color: {FOREGROUND}; background: {BACKGROUND}; padding: 4px 2px 0px 2px;")
    label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    return label


def axis_label(plot: pg.PlotItem, side: str, text: str, units: str | None = None) -> None:
    plot.setLabel(side, text, units=units, **{"color": FOREGROUND, "font-size": f"{LABEL_FONT_PT}pt"})


# -- colour maps ---------------------------------------------------------------------------------
# Diverging (ColorBrewer RdBu, reversed): negative = blue, 0 = white, positive = red.
DIVERGING = pg.ColorMap(
    np.array([0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0]),
    np.array([(5, 48, 97), (67, 147, 195), (209, 229, 240), (255, 255, 255),
              (253, 219, 199), (214, 96, 77), (103, 0, 31)], dtype=np.ubyte),
    name="weights (blue - white - red)",
)

# Sequential (ColorBrewer Blues): 0 = white, 1 = dark blue.
SEQUENTIAL = pg.ColorMap(
    np.linspace(0.0, 1.0, 9),
    np.array([(247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225), (107, 174, 214),
              (66, 146, 198), (33, 113, 181), (8, 81, 156), (8, 48, 107)], dtype=np.ubyte),
    name="probability (white - blue)",
)

DIVERGING_LUT = DIVERGING.getLookupTable(0.0, 1.0, 256, alpha=False)  # (256, 3) uint8
SEQUENTIAL_LUT = SEQUENTIAL.getLookupTable(0.0, 1.0, 256, alpha=False)
INK_LUT = np.repeat(np.linspace(255, 0, 256).round().astype(np.ubyte)[:, None], 3, axis=1)  # 0 = white paper


def diverging_rgb(values: np.ndarray, gap_color=GAP_COLOR) -> np.ndarray:
    """Values in [-1, 1] (NaN = gap) as an (h, w, 3) uint8 image through :data:`DIVERGING_LUT`."""
    nan = np.isnan(values)
    index = np.nan_to_num(values, nan=0.0)
    index = np.clip(np.rint((index + 1.0) * 127.5), 0, 255).astype(np.intp)
    rgb = DIVERGING_LUT[index]
    rgb[nan] = gap_color
    return rgb


def css_rgb(color) -> str:
    r, g, b = (int(c) for c in color[:3])
    return f"rgb({r}, {g}, {b})"


def text_color_on(value: float) -> str:
    """Dark text on light cells of :data:`SEQUENTIAL`, white on dark ones (value in 0..1)."""
    return "#ffffff" if value >= 0.5 else FOREGROUND


def probability_bars(plot: pg.PlotItem, n_classes: int, waiting: str, waiting_y: float,
                     waiting_pt: float = 9):
    """The class-probability bars shared by the softmax and drawing panels: (bars, one value label
    per bar, the text shown while no probabilities are known)."""
    bars = pg.BarGraphItem(x=np.arange(n_classes), height=np.zeros(n_classes), width=0.75,
                           brush=WAITING_COLOR, pen=None)
    plot.addItem(bars)
    labels = []
    for c in range(n_classes):
        text = pg.TextItem("", color=FOREGROUND, anchor=(0.5, 1.0))
        text.setFont(small_font(8))
        text.setPos(c, 0)
        plot.addItem(text)
        labels.append(text)
    waiting_text = pg.TextItem(waiting, color=MUTED, anchor=(0.5, 0.5))
    waiting_text.setFont(small_font(waiting_pt))
    waiting_text.setPos((n_classes - 1) / 2, waiting_y)
    plot.addItem(waiting_text)
    return bars, labels, waiting_text


def digit_pixmap(gray: np.ndarray, size: int) -> QtGui.QPixmap:
    """A digit (uint8, 0 = background) as dark ink on white, scaled nearest-neighbour (crisp)."""
    pixels = np.ascontiguousarray(255 - np.asarray(gray), dtype=np.uint8)
    h, w = pixels.shape[:2]
    image = QtGui.QImage(pixels.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8)
    image = image.scaled(size, size, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                         QtCore.Qt.TransformationMode.FastTransformation)
    return QtGui.QPixmap.fromImage(image)  # copies the pixels


def class_matrix_plot() -> tuple[pg.PlotWidget, pg.PlotItem]:
    """A fixed, square plot for a classes x classes matrix: true class down, predicted across."""
    widget = plot_widget()
    plot = widget.getPlotItem()
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=False, y=False)
    plot.vb.setAspectLocked(True)
    plot.vb.invertY(True)
    axis_label(plot, "bottom", "predicted class")
    axis_label(plot, "left", "true class")
    return widget, plot
