"""Pinned test digits: does the network learn them?

For each pinned digit (``snap.pins``, at most 8) a row shows its thumbnail, index and true class,
and the network's latest probability for the true class; one plot draws every pinned digit's
curve of that probability over the training samples seen, in the row's colour. The trainer records
the curves at each test evaluation and restarts them after Reset; this panel only draws them.
Unpinning emits :attr:`PinnedDigitsPanel.pins_edited` with the new list; the main window passes it
to the worker, and the next snapshot carries the new pins.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.trainer import MAX_PINS, Snapshot

from .. import style, theme
from ..export_menu import add_export_menu
from ..naming import class_name

THUMB = 28
_EMPTY_TEXT = ("No pinned digits.\n\nSelect a digit in the mistakes gallery and press P "
               "(or right-click it → Pin) to follow how sure the network is of its true class "
               "while training goes on.")
_TOOLTIP = ("Pinned test digits and the network's probability for each one's true class, at every "
            "test evaluation (x: training samples seen).\nAbove 50 % the digit is surely read right.")


def pin_color(k: int) -> str:
    """The colour of the ``k``-th pin (the theme's series: distinct, one per pin)."""
    colors = theme.current().series
    return colors[k % len(colors)]


class _PinRow(QtWidgets.QWidget):
    def __init__(self, panel: "PinnedDigitsPanel", index: int, label: int, color: str):
        super().__init__()
        self.index, self.label = index, label
        self.class_name = class_name(panel.dataset.class_names, label)
        self.swatch = swatch = QtWidgets.QLabel()
        swatch.setFixedSize(6, THUMB)
        swatch.setToolTip("The colour of this digit's curve")
        thumb = QtWidgets.QLabel()
        thumb.setPixmap(panel.thumbnail(index))
        thumb.setFixedSize(THUMB + 2, THUMB + 2)
        thumb.setStyleSheet("border: 1px solid #cccccc;")
        what = f"Test digit #{index}" if index >= 0 else f"Your drawing {-index}"
        thumb.setToolTip(what)
        self.title = f"#{index}" if index >= 0 else f"drawing {-index}"
        self.name = QtWidgets.QLabel()
        self.name.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.name.setFont(style.small_font(8))
        self.name.setToolTip(f"{what}, true class {self.class_name}")
        self.prob = QtWidgets.QLabel("–")
        self.prob.setFont(style.small_font(9, bold=True))
        self.prob.setToolTip(f"The network's latest probability for class {self.class_name} (the true class)")
        text = QtWidgets.QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.setSpacing(0)
        text.addWidget(self.name)
        text.addWidget(self.prob)
        self.unpin_button = QtWidgets.QToolButton(text="Unpin")
        self.unpin_button.setToolTip(f"Stop following digit #{index}")
        self.unpin_button.clicked.connect(lambda: panel.unpin(index))
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(2, 1, 2, 1)
        layout.setSpacing(5)
        layout.addWidget(swatch)
        layout.addWidget(thumb)
        layout.addLayout(text, 1)
        layout.addWidget(self.unpin_button)
        self.set_color(color)

    def set_color(self, color: str) -> None:
        """This row's curve colour, and the theme's muted text."""
        self.swatch.setStyleSheet(f"background: {color}; border-radius: 2px;")
        self.name.setText(f"{self.title} <span style='color:{theme.current().muted}'>(true {self.class_name})</span>")


class PinnedDigitsPanel(QtWidgets.QWidget):
    pins_edited = QtCore.pyqtSignal(object)  # the new list of pinned test-digit indices

    def __init__(self, dataset, parent=None):
        super().__init__(parent)
        self.dataset = dataset
        self._pins: tuple[int, ...] = ()  # indices shown, in the snapshot's order
        self._key = None
        self._rows: dict[int, _PinRow] = {}
        self.curves: dict[int, pg.PlotDataItem] = {}  # digit index -> its curve
        self._pixmaps: dict[tuple[int, float], QtGui.QPixmap] = {}
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(300, 220)

        self.rows_widget = QtWidgets.QWidget()
        style.paint_background(self.rows_widget)
        self.rows_layout = QtWidgets.QVBoxLayout(self.rows_widget)
        self.rows_layout.setContentsMargins(2, 2, 2, 2)
        self.rows_layout.setSpacing(2)
        self.rows_layout.addStretch(1)
        self.scroll = scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.rows_widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(165)  # then as wide as the rows need (_fit_rows)
        self.clear_button = QtWidgets.QPushButton("Clear pins")
        self.clear_button.setToolTip("Unpin every digit")
        self.clear_button.clicked.connect(self.clear_pins)
        self.message_label = QtWidgets.QLabel()
        self.message_label.setFont(style.small_font(8))
        self.message_label.setWordWrap(True)
        style.themed_css(self.message_label, "color: $wrong;")
        self.message_label.setToolTip("Why the last pin was not added")
        left = QtWidgets.QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.setSpacing(2)
        left.addWidget(scroll, 1)
        left.addWidget(self.message_label)
        left.addWidget(self.clear_button)

        self.plot_widget = style.plot_widget()
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.disableAutoRange()  # the x range is the run's (show_snapshot), never a previous run's
        self.plot.showGrid(x=True, y=True, alpha=theme.current().grid_alpha)
        self.plot.setYRange(0, 1.0, padding=0.03)
        self.plot.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)], []])
        self.plot.getAxis("bottom").enableAutoSIPrefix(True)
        style.axis_label(self.plot, "bottom", "samples seen")
        style.axis_label(self.plot, "left", "P(true class)")
        half = pg.InfiniteLine(0.5, angle=0)
        style.themed_pen(half, "reference", 1.0, QtCore.Qt.PenStyle.DashLine)
        self.plot.addItem(half)
        self.plot_widget.setToolTip(_TOOLTIP)
        self.export_menu = add_export_menu(self.plot_widget, self.plot, "pinned digits")

        content = QtWidgets.QWidget()
        body = QtWidgets.QHBoxLayout(content)
        body.setContentsMargins(4, 0, 0, 4)
        body.setSpacing(4)
        body.addLayout(left)
        body.addWidget(self.plot_widget, 1)
        self.empty_label = QtWidgets.QLabel(_EMPTY_TEXT)
        self.empty_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setFont(style.small_font(10))
        style.themed_css(self.empty_label, "color: $muted; background: $background; padding: 12px;")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(content)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.title = style.title_label("Pinned digits: does the network learn them?")
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)
        self.clear()

    # -- API -------------------------------------------------------------------------------------
    def pinned_indices(self) -> list[int]:
        return list(self._pins)

    def clear(self) -> None:
        """A new run: the trainer's curves restart; show what the next snapshot carries."""
        self._key = None
        for curve in self.curves.values():
            curve.setData([], [])
        self.plot.setXRange(0, 1, padding=0.02)
        self._set_pins(())

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current`, each pin's row and curve in its colour there."""
        style.restyle(self)
        for k, index in enumerate(self._pins):
            color = pin_color(k)
            self._rows[index].set_color(color)
            self.curves[index].setPen(style.pen(color, 2.0))
            self.curves[index].setSymbolBrush(color)

    def show_snapshot(self, snap: Snapshot) -> None:
        pins = snap.pins
        key = tuple((pc.index, len(pc.samples), float(pc.samples[-1]) if len(pc.samples) else -1.0,
                     float(pc.true_class_prob[-1]) if len(pc.true_class_prob) else -1.0) for pc in pins)
        if key == self._key:
            return
        self._key = key
        indices = tuple(pc.index for pc in pins)
        # Drawn digits (negative indices) bring their own pixels.
        self._drawn = {pc.index: pc.image for pc in pins if pc.image is not None}
        if indices != self._pins:
            self._set_pins(indices, {pc.index: pc.label for pc in pins})
        for pc in pins:
            few = len(pc.samples) <= 60  # dots while a curve is short (one point has no line)
            self.curves[pc.index].setData(np.asarray(pc.samples, dtype=np.float64),
                                          np.asarray(pc.true_class_prob, dtype=np.float64),
                                          symbol="o" if few else None)
            row = self._rows[pc.index]
            row.prob.setText(f"{pc.true_class_prob[-1] * 100:.0f} %" if len(pc.true_class_prob) else "–")
        seen = max((float(pc.samples[-1]) for pc in pins if len(pc.samples)), default=0.0)
        self.plot.setXRange(0, max(seen, 1.0), padding=0.02)

    def request_pin(self, index: int) -> bool:
        """Add test digit ``index`` to the pins (emits :attr:`pins_edited`); False if it cannot be."""
        index = int(index)
        if index in self._pins:
            self.message_label.setText(f"#{index} is already pinned.")
            return False
        if len(self._pins) >= MAX_PINS:
            self.message_label.setText(f"At most {MAX_PINS} digits can be pinned: unpin one first.")
            return False
        self.message_label.setText("")
        self.pins_edited.emit(list(self._pins) + [index])
        return True

    def unpin(self, index: int) -> None:
        self.message_label.setText("")
        self.pins_edited.emit([i for i in self._pins if i != int(index)])

    def clear_pins(self) -> None:
        self.message_label.setText("")
        if self._pins:
            self.pins_edited.emit([])

    def row_widget(self, index: int) -> _PinRow:
        return self._rows[index]

    # -- rendering -------------------------------------------------------------------------------
    def thumbnail(self, index: int) -> QtGui.QPixmap:
        ratio = self.devicePixelRatioF()  # crisp on high-DPI screens
        pixmap = self._pixmaps.get((index, ratio)) if index >= 0 else None  # drawn pins renumber: no cache
        if pixmap is None:
            if index >= 0:
                gray = self.dataset.test_images[index]
            else:
                drawn = getattr(self, "_drawn", {}).get(index)
                shape = self.dataset.image_shape
                gray = (np.zeros(shape) if drawn is None
                        else np.clip(np.asarray(drawn).reshape(shape) * 255, 0, 255))
            pixmap = style.digit_pixmap(gray, THUMB, ratio)
            if len(self._pixmaps) > 64:
                self._pixmaps.clear()
            if index >= 0:
                self._pixmaps[(index, ratio)] = pixmap
        return pixmap

    def _set_pins(self, indices: tuple[int, ...], labels: dict[int, int] | None = None) -> None:
        for row in self._rows.values():
            self.rows_layout.removeWidget(row)
            row.hide()
            row.setParent(None)
            row.deleteLater()
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self._rows, self.curves = {}, {}
        self._pins = tuple(indices)
        for k, index in enumerate(indices):
            color = pin_color(k)
            label = labels[index] if labels and index in labels else int(self.dataset.test_y[index])
            row = _PinRow(self, index, label, color)
            self.rows_layout.insertWidget(k, row)
            self._rows[index] = row
            curve = pg.PlotDataItem(pen=style.pen(color, 2.0), symbol="o", symbolSize=4,
                                    symbolBrush=color, symbolPen=None, name=f"#{index}")
            self.plot.addItem(curve)
            self.curves[index] = curve
        self.clear_button.setEnabled(bool(indices))
        self.stack.setCurrentIndex(1 if indices else 0)
        self._fit_rows()

    def _fit_rows(self) -> None:
        """The list as wide as its widest row (a fixed width cut the Unpin buttons off with
        larger fonts or on a high-DPI screen), so the plot gets the rest."""
        rows = max((row.sizeHint().width() for row in self._rows.values()), default=0)
        margins = self.rows_layout.contentsMargins()
        width = rows + margins.left() + margins.right() + self.scroll.verticalScrollBar().sizeHint().width()
        self.scroll.setFixedWidth(max(165, width))
