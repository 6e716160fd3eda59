"""A horizontal axis of class names: "0" .. "9" side by side, or "T-shirt/top", "Trouser", ...
turned to read upwards when they do not fit side by side.

``ClassAxis`` takes its labels through the usual ``setTicks`` and draws them itself: across when
every label fits the room between its neighbours, else turned by 90 degrees, with the axis as
tall as the longest label needs. (pyqtgraph draws tick labels only across, where long class
names run into each other.)
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PyQt6 import QtCore, QtGui

GAP_PX = 4  # between two labels side by side
MAX_TURNED_PX = 110  # a turned label longer than this is cut short with "…"


class ClassAxis(pg.AxisItem):
    """A bottom (or top) axis whose tick labels are class names (see the module docstring)."""

    def __init__(self, orientation: str = "bottom", **kwargs):
        super().__init__(orientation, **kwargs)
        self.labels: list[tuple[float, str]] = []  # (position, text) of the first tick level
        self.turned = False  # whether the labels are drawn reading upwards
        self._turned_specs: list[tuple[QtCore.QPointF, float, str]] = []
        self.setStyle(autoExpandTextSpace=False)  # this axis sets its own text height

    def setTicks(self, ticks):  # noqa: N802 (pyqtgraph's API)
        """As ``AxisItem.setTicks``; the first level's labels are drawn by this axis."""
        self.labels = [(float(v), str(t)) for v, t in ticks[0]] if ticks else []
        blank = None if ticks is None else [[(v, "") for v, _ in level] for level in ticks]
        super().setTicks(blank)

    def _metrics(self) -> QtGui.QFontMetricsF:
        return QtGui.QFontMetricsF(self.style["tickFont"] or self.font())

    def generateDrawSpecs(self, p):  # noqa: N802 (pyqtgraph's API)
        axis_spec, tick_specs, _ = super().generateDrawSpecs(p)  # tick marks only (blank labels)
        self._turned_specs = []
        view = self.linkedView()
        if not self.style["showValues"] or not self.labels or view is None:
            return axis_spec, tick_specs, []
        metrics = self._metrics()
        bounds = self.mapRectFromParent(self.geometry())
        placed = []
        for value, text in self.labels:
            x = self.mapFromScene(view.mapViewToScene(QtCore.QPointF(value, 0))).x()
            if bounds.left() - 0.5 <= x <= bounds.right() + 0.5:
                placed.append((x, text, metrics.horizontalAdvance(text)))
        # Turned only where two neighbours would touch: a wide last label ("recall" beside a
        # confusion matrix's digits) has the room of its narrow neighbour's half too.
        ordered = sorted(placed)
        turned = any(b[0] - a[0] < (a[2] + b[2]) / 2 + GAP_PX for a, b in zip(ordered, ordered[1:]))
        offset = max(0, self.style["tickLength"]) + self.style["tickTextOffset"][1]
        top = bounds.top() + offset if self.orientation == "bottom" else bounds.bottom() - offset
        specs = []
        if turned:
            longest = 0.0
            for x, text, width in placed:
                if width > MAX_TURNED_PX:
                    text = metrics.elidedText(text, QtCore.Qt.TextElideMode.ElideRight, MAX_TURNED_PX)
                    width = metrics.horizontalAdvance(text)
                longest = max(longest, width)
                self._turned_specs.append((QtCore.QPointF(x, top), width, text))
            needed = math.ceil(longest) + 2
        else:
            height = metrics.height()
            for x, text, width in placed:
                left = min(max(x - width / 2, bounds.left()), bounds.right() - width)  # inside the axis
                y = top if self.orientation == "bottom" else top - height
                specs.append((QtCore.QRectF(left, y, width, height),
                              QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop, text))
            needed = math.ceil(height)
        self.turned = turned
        if self.style["tickTextHeight"] != needed:
            self.setStyle(tickTextHeight=needed)  # the axis grows or shrinks to hold its labels
        return axis_spec, tick_specs, specs

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802, N803 (pyqtgraph's API)
        super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
        if not self._turned_specs:
            return
        height = self._metrics().height()
        for point, width, text in self._turned_specs:
            p.save()
            p.translate(point)
            p.rotate(-90)  # reading upwards; its end at the axis
            if self.orientation == "bottom":
                rect = QtCore.QRectF(-width, -height / 2, width, height)
                flags = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
            else:
                rect = QtCore.QRectF(0, -height / 2, width, height)
                flags = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
            p.drawText(rect, int(flags), text)
            p.restore()

    def shown_labels(self) -> list[str]:
        """The labels as drawn at the last paint (tests)."""
        return [text for _, _, text in self._turned_specs] if self.turned else [text for _, text in self.labels]


def class_axis_items() -> dict:
    """``axisItems`` for a plot whose bottom axis names classes."""
    return {"bottom": ClassAxis("bottom")}


def class_ticks(names, positions=None) -> list:
    """Tick levels naming every class at ``positions`` (default 0, 1, 2, ...)."""
    positions = range(len(names)) if positions is None else positions
    return [[(p, str(name)) for p, name in zip(positions, names)], []]
