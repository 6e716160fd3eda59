"""Numbers written in the cells of a class x class matrix (confusion counts, mean probabilities).

The matrix itself is an image, whatever the number of classes. Text goes on top only where it
can be read: one text item per cell exists only for up to :data:`MAX_CLASSES_WITH_TEXT` classes
(a data set of 200 or 1000 classes would otherwise create 40,000 or a million items and freeze
the window), and its font follows the cell's size on screen: the largest of a few sizes at
which the widest number fits its cell, or no numbers at all when even the smallest would not.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PyQt6 import QtGui

from . import style

MAX_CLASSES_WITH_TEXT = 30
POINT_SIZES = (9.0, 8.0, 7.0, 6.0, 5.5)  # the largest that fits is used
FILL = 0.9  # of a cell's width a number may take
MAX_TICKS = 20  # class labels along an axis


def text_cells(n: int, cells: list) -> list:
    """``cells`` if a matrix of ``n`` classes gets numbers in its cells, else none."""
    return cells if n <= MAX_CLASSES_WITH_TEXT else []


def class_ticks(n: int, extra: tuple = (), names=()) -> list:
    """Tick levels for an axis of ``n`` class cells (centres at i + 0.5), labelled with the
    classes' ``names`` (their numbers without): every class up to :data:`MAX_TICKS`, else every
    2nd, 5th, 10th, ... so the labels never run together."""
    step = 1
    while n / step > MAX_TICKS:
        step = next(m * 10 ** e for e in range(7) for m in (1, 2, 5) if m * 10 ** e > step)
    label = (lambda i: str(names[i])) if len(names) == n else str
    return [[(i + 0.5, label(i)) for i in range(0, n, step)] + list(extra), []]


class CellTexts:
    """Text items at the cell centres ``positions`` (view coordinates, cells 1 x 1) of ``plot``,
    sized to the cells whenever the view changes. Pass no positions for a matrix of more than
    :data:`MAX_CLASSES_WITH_TEXT` classes (see :func:`text_cells`)."""

    def __init__(self, plot: pg.PlotItem, positions: list[tuple[float, float]], bold: bool = False,
                 role: str | None = None):
        """``role``: a theme colour for every item (margins); None for colours set per cell."""
        self.plot = plot
        self.bold = bold
        self.items: list[pg.TextItem] = []
        for x, y in positions:
            item = style.themed_text("", role, anchor=(0.5, 0.5)) if role else pg.TextItem("", anchor=(0.5, 0.5))
            item.setPos(x, y)
            plot.addItem(item, ignoreBounds=True)
            self.items.append(item)
        self._strings: list[tuple[str, str]] = [("", "")] * len(self.items)
        self.point_size: float | None = None  # the font in use; None: numbers hidden (too small)
        self._font_key: object = "unset"
        if self.items:
            plot.vb.sigResized.connect(self.fit)
            plot.vb.sigRangeChanged.connect(self.fit)

    def remove(self) -> None:
        if self.items:
            self.plot.vb.sigResized.disconnect(self.fit)
            self.plot.vb.sigRangeChanged.disconnect(self.fit)
        for item in self.items:
            self.plot.removeItem(item)
        self.items, self._strings = [], []

    def set(self, index: int, text: str, color: str = "") -> None:
        """Cell ``index`` shows ``text`` (in ``color``, unless the items have a theme role)."""
        if not self.items or self._strings[index] == (text, color):
            return
        self._strings[index] = (text, color)
        item = self.items[index]
        if text and color:
            item.setColor(color)
        item.setText(text)

    def texts(self) -> list[str]:
        return [text for text, _ in self._strings]

    def cell_pixels(self) -> float:
        """A cell's width on screen, in pixels (0 before the plot is laid out)."""
        px = self.plot.vb.viewPixelSize()[0]
        return 1.0 / px if px > 0 and math.isfinite(px) else 0.0

    def fit(self, *_) -> None:
        """The largest font at which the widest text fits its cell; hidden when none does."""
        if not self.items:
            return
        cell = self.cell_pixels()
        widest = max(self.texts(), key=len, default="") or "0"
        size = next((pt for pt in POINT_SIZES
                     if QtGui.QFontMetricsF(style.small_font(pt, self.bold)).horizontalAdvance(widest)
                     <= FILL * cell), None)
        if size == self._font_key:
            return
        self._font_key = size
        self.point_size = size
        if size is not None:
            font = style.small_font(size, self.bold)
            for item in self.items:
                item.setFont(font)
        for item in self.items:
            item.setVisible(size is not None)
