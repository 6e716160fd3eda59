"""Shared look of the panels: pens, fonts, themed widgets and items, colour maps and small builders.

Everything here is styling only: no panel state, no training logic, and no colours of its own
beyond the colour maps: those come from :func:`visualizer.theme.current`. Panels style their own
widgets with these helpers instead of changing pyqtgraph's global configuration (other parts of
the application may rely on its defaults), except antialiasing, which is harmless everywhere.

Panels register what they style once (backgrounds, axes, labels, text items, pens) through the
helpers below, so :func:`restyle` can repaint it all when the theme changes. The heat-map colour
maps are the same in both themes: text drawn on a map cell takes its colour from the cell
(:func:`text_color_on`), never from the theme.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from . import theme

pg.setConfigOptions(antialias=True)

TITLE_SIZE = "10pt"
LABEL_FONT_PT = 9
INK = "#222222"  # text on light map cells, in both themes
PAPER_INK = "#ffffff"  # text on dark map cells


# -- pens and fonts --------------------------------------------------------------------------------

def pen(color, width: float = 1.5, style: QtCore.Qt.PenStyle = QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    p = pg.mkPen(color, width=width)
    p.setStyle(style)
    p.setCosmetic(True)
    return p


# Width 1 keeps Qt's fast path for a long antialiased curve (wider pens paint much slower).
def train_pen() -> QtGui.QPen:
    return pen(theme.current().train, 1.0)


def test_pen() -> QtGui.QPen:
    return pen(theme.current().test, 2.0)


def event_pen() -> QtGui.QPen:
    return pen(theme.current().event, 1.0, QtCore.Qt.PenStyle.DashLine)


def diverged_pen() -> QtGui.QPen:
    return pen(theme.current().diverged, 2.0)


def legend_brush() -> QtGui.QBrush:
    return pg.mkBrush(*theme.current().legend_fill)


def small_font(point_size: float = LABEL_FONT_PT, bold: bool = False) -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


# -- themed widgets and items ----------------------------------------------------------------------
# What these register is repainted by :func:`restyle`: a Qt property on widgets, an attribute on
# graphics items (pyqtgraph's items are Python objects; the scene hands back the same ones).
_PANEL = "theme_panel"
_CSS = "theme_css"


def paint_background(widget: QtWidgets.QWidget) -> None:
    """The plot background behind a whole panel, so the controls under a plot sit on its colour."""
    widget.setProperty(_PANEL, True)
    palette = widget.palette()
    palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(theme.current().background))
    palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(theme.current().foreground))
    palette.setColor(QtGui.QPalette.ColorRole.Base, QtGui.QColor(theme.current().field))
    widget.setPalette(palette)
    widget.setAutoFillBackground(True)


def themed_css(widget: QtWidgets.QWidget, template: str) -> None:
    """A style sheet with ``$name`` for the theme's colours (e.g. ``"color: $muted;"``).

    A widget keeps the palette it had when it got a style sheet, even after the sheet is removed,
    so a colour that comes and goes (errors, pending marks) is better set with :func:`set_colors`."""
    if not template and not widget.styleSheet():
        widget.setProperty(_CSS, None)
        return
    css = _css(template)
    widget.setProperty(_CSS, template)
    if css != widget.styleSheet():  # setting a style sheet re-polishes the widget: only on a change
        widget.setStyleSheet(css)


def set_colors(widget: QtWidgets.QWidget, **roles: str) -> None:
    """Give ``widget`` these palette colours (e.g. ``WindowText="#b26a00"``); none: inherit all of
    its palette again. The other roles keep following the application's palette."""
    palette = QtGui.QPalette()  # sets nothing: the roles set below are the only ones it overrides
    for role, color in roles.items():
        palette.setColor(getattr(QtGui.QPalette.ColorRole, role), QtGui.QColor(color))
    widget.setPalette(palette)


def _css(template: str) -> str:
    from string import Template

    return Template(template).safe_substitute(theme.current().css())


def themed_text(text: str = "", role: str = "foreground", fill: bool = False, **kwargs) -> pg.TextItem:
    """A TextItem in one of the theme's colours, optionally on the legend background."""
    item = pg.TextItem(text, **kwargs)
    theme_text(item, role, fill)
    return item


def theme_text(item: pg.TextItem, role: str = "foreground", fill: bool = False) -> None:
    item._theme_text = (role, fill)
    _paint_text(item)


def _paint_text(item: pg.TextItem) -> None:
    role, fill = item._theme_text
    item.setColor(getattr(theme.current(), role))
    if fill:
        item.fill = legend_brush()
        item.update()


def themed_pen(item, role: str, width: float = 1.5, style: QtCore.Qt.PenStyle = QtCore.Qt.PenStyle.SolidLine) -> None:
    """``item.setPen`` in one of the theme's colours, kept in that role."""
    item._theme_pen = (role, width, style)
    item.setPen(pen(getattr(theme.current(), role), width, style))


def plot_widget(**kwargs) -> pg.PlotWidget:
    """A PlotWidget on the theme's background with its axes in the theme's foreground."""
    widget = pg.PlotWidget(background=theme.current().background, **kwargs)
    style_plot(widget.getPlotItem())
    return widget


def style_axis(axis: pg.AxisItem) -> None:
    axis.setPen(pg.mkPen(theme.current().foreground, width=1))  # also the grid lines' colour
    axis.setTextPen(pg.mkPen(theme.current().foreground))


def style_axes(plot: pg.PlotItem) -> None:
    """All four axes of ``plot`` (or of a colour bar) in the theme's foreground."""
    for name in ("left", "bottom", "top", "right"):
        style_axis(plot.getAxis(name))


def style_plot(plot: pg.PlotItem) -> None:
    style_axes(plot)
    for name in ("left", "bottom", "top", "right"):
        plot.getAxis(name).setTickFont(small_font())
        # Painted from a cached picture: a plot whose data changes ten times a second repaints its
        # axes (their text, and the grid lines they draw over the plot) only when their ticks do.
        plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plot.titleLabel.setAttr("color", theme.current().foreground)
    plot.titleLabel.setAttr("size", TITLE_SIZE)


def style_legend(legend: pg.LegendItem) -> None:
    legend.setBrush(legend_brush())
    legend.setPen(pg.mkPen(theme.current().frame))
    legend.setLabelTextColor(theme.current().foreground)


def add_legend(plot: pg.PlotItem, **kwargs) -> pg.LegendItem:
    legend = plot.addLegend(labelTextSize="8pt", **kwargs)
    style_legend(legend)
    return legend


def set_title(plot: pg.PlotItem, text: str, size: str = TITLE_SIZE) -> None:
    plot.setTitle(text, color=theme.current().foreground, size=size)


def title_label(text: str = "") -> QtWidgets.QLabel:
    """A centred, word-wrapping title above a plot (a PlotItem title never wraps and would force
    a narrow panel wider than its window)."""
    label = QtWidgets.QLabel(text)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setFont(small_font(10))
    themed_css(label, "color: $foreground; background: $background; padding: 4px 2px 0px 2px;")
    label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    return label


def axis_label(plot: pg.PlotItem, side: str, text: str, units: str | None = None, tip: str = "") -> None:
    """Label an axis; its tooltip is ``tip``, else the label's entry in :data:`visualizer.tips.AXIS_TIPS`."""
    from .tips import AXIS_TIPS

    plot.setLabel(side, text, units=units, **{"color": theme.current().foreground, "font-size": f"{LABEL_FONT_PT}pt"})
    plot.getAxis(side).setToolTip(tip or AXIS_TIPS.get(text, ""))


def restyle(root: QtWidgets.QWidget) -> None:
    """Repaint ``root`` and its children in the current theme: panel backgrounds, themed style
    sheets, and in every plot the background, axes, labels, legends and themed items and pens.
    Colours a panel sets while rendering (curve titles, bars) are the panel's to redraw."""
    for widget in (root, *root.findChildren(QtWidgets.QWidget)):
        if widget.property(_PANEL):
            paint_background(widget)
        template = widget.property(_CSS)
        if template:
            widget.setStyleSheet(_css(template))  # even if unchanged: re-polished in the new palette
        if isinstance(widget, pg.GraphicsView):
            _restyle_view(widget)


def _restyle_view(view: pg.GraphicsView) -> None:
    view.setBackground(theme.current().background)
    for item in view.scene().items():
        if isinstance(item, pg.PlotItem):
            item.showGrid(alpha=theme.current().grid_alpha)  # only the grids that are on
        elif isinstance(item, pg.AxisItem):
            style_axis(item)
        elif isinstance(item, pg.LegendItem):
            style_legend(item)
        elif isinstance(item, pg.LabelItem):
            item.setText(item.text, color=theme.current().foreground)
        if hasattr(item, "_theme_text"):
            _paint_text(item)
        if hasattr(item, "_theme_pen"):
            themed_pen(item, *item._theme_pen)


# -- colour maps (the same in both themes) ---------------------------------------------------------
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


def diverging_rgb(values: np.ndarray, gap_color=None) -> np.ndarray:
    """Values in [-1, 1] (NaN = gap, in ``gap_color`` or the theme's tile gap) as an (h, w, 3)
    uint8 image through :data:`DIVERGING_LUT`."""
    nan = np.isnan(values)
    index = np.nan_to_num(values, nan=0.0)
    index = np.clip(np.rint((index + 1.0) * 127.5), 0, 255).astype(np.intp)
    rgb = DIVERGING_LUT[index]
    rgb[nan] = theme.current().tile_gap if gap_color is None else gap_color
    return rgb


def css_rgb(color) -> str:
    r, g, b = (int(c) for c in color[:3])
    return f"rgb({r}, {g}, {b})"


def text_color_on(value: float) -> str:
    """Dark text on light cells of :data:`SEQUENTIAL`, white on dark ones (value in 0..1). The
    cell decides, not the theme: the map looks the same in both."""
    return PAPER_INK if value >= 0.5 else INK


def probability_bars(plot: pg.PlotItem, n_classes: int, waiting: str, waiting_y: float,
                     waiting_pt: float = 9):
    """The class-probability bars shared by the softmax and drawing panels: (bars, one value label
    per bar, the text shown while no probabilities are known)."""
    bars = pg.BarGraphItem(x=np.arange(n_classes), height=np.zeros(n_classes), width=0.75,
                           brush=theme.current().waiting, pen=None)
    plot.addItem(bars)
    labels = []
    for c in range(n_classes):
        text = pg.TextItem("", color=theme.current().foreground, anchor=(0.5, 1.0))
        text.setFont(small_font(8))
        text.setPos(c, 0)
        plot.addItem(text)
        labels.append(text)
    waiting_text = themed_text(waiting, "muted", anchor=(0.5, 0.5))
    waiting_text.setFont(small_font(waiting_pt))
    waiting_text.setPos((n_classes - 1) / 2, waiting_y)
    plot.addItem(waiting_text)
    return bars, labels, waiting_text


def digit_pixmap(gray: np.ndarray, size: int, ratio: float = 1.0) -> QtGui.QPixmap:
    """A digit (uint8, 0 = background) as dark ink on white, scaled nearest-neighbour (crisp).

    ``ratio``: the device pixel ratio of the screen it is shown on. The pixmap then has
    ``size * ratio`` pixels and is drawn ``size`` pixels wide, so a 2x screen gets 2x the detail
    instead of a blown-up low-resolution picture."""
    pixels = np.ascontiguousarray(255 - np.asarray(gray), dtype=np.uint8)
    h, w = pixels.shape[:2]
    ratio = float(ratio) if ratio and ratio > 0 else 1.0
    device = max(1, round(size * ratio))
    image = QtGui.QImage(pixels.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8)
    image = image.scaled(device, device, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                         QtCore.Qt.TransformationMode.FastTransformation)
    pixmap = QtGui.QPixmap.fromImage(image)  # copies the pixels
    pixmap.setDevicePixelRatio(device / size)
    return pixmap


def class_matrix_plot() -> tuple[pg.PlotWidget, pg.PlotItem]:
    """A fixed, square plot for a classes x classes matrix: true class down, predicted across
    (class names turned upwards when they do not fit side by side)."""
    from .class_axis import class_axis_items

    widget = plot_widget(axisItems=class_axis_items())
    plot = widget.getPlotItem()
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=False, y=False)
    plot.vb.setAspectLocked(True)
    plot.vb.invertY(True)
    axis_label(plot, "bottom", "predicted class")
    axis_label(plot, "left", "true class")
    return widget, plot
