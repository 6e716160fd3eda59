"""What the two panels that explain the math share: the digit they follow, the network copy they
compute on, and two small painted widgets (a matrix of coloured cells and a row of class bars),
each with a tooltip for the cell or bar under the mouse.

The panels compute nothing themselves: :mod:`nn.explain` does, on a float64 copy of the live
network (:mod:`visualizer.network_copy`) that they ask for only while on screen.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.trainer import Snapshot

from . import style, theme
from .network_copy import NetworkCopy

SOURCES = ("selected test digit", "drawn digit")


def signed_rgb(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Values as diverging colours (blue negative, white 0, red positive), divided by ``scale``
    (default: their largest |value|, so the strongest cell is fully coloured)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    top = float(np.abs(v).max(initial=0.0)) if scale is None else float(scale)
    return style.diverging_rgb(v / top if top > 0 else v)


def sequential_rgb(values: np.ndarray) -> np.ndarray:
    """Values >= 0 as white-to-blue colours, scaled by their largest value."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, None)
    top = float(v.max(initial=0.0))
    scaled = v / top if top > 0 else v
    return style.SEQUENTIAL_LUT[np.rint(scaled * 255).astype(np.intp)]


def grid(values: np.ndarray, cols: int) -> np.ndarray:
    """A vector as a (rows, cols) grid, NaN in the cells past its end."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    rows = max(1, -(-len(v) // cols))
    out = np.full(rows * cols, np.nan)
    out[: len(v)] = v
    return out.reshape(rows, cols)


def fmt(value: float, digits: int = 4) -> str:
    """A number for a formula: 4 significant digits, a real minus sign."""
    text = f"{float(value):.{digits}g}"
    return text.replace("-", "−")


def short(value: float, digits: int = 3) -> str:
    """A number for a narrow cell: ``digits`` significant digits and a short exponent (1.34e−7,
    not 1.34e-07)."""
    text = f"{float(value):.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", "−")


def fitted(values, width: int, metrics: QtGui.QFontMetrics, digits: int = 3) -> list[str]:
    """``values`` as :func:`short` texts with as many significant digits (``digits`` down to 1)
    as let every one of them fit ``width`` pixels: a column of a table that would otherwise cut
    them to "1.34e…" (the cell's tooltip gives the full number)."""
    for d in range(digits, 0, -1):
        texts = [short(v, d) for v in values]
        if max((metrics.horizontalAdvance(t) for t in texts), default=0) <= width:
            return texts
    return texts


class MatrixView(QtWidgets.QWidget):
    """An (rows, cols, 3) uint8 image drawn as cells, with optional row labels on the left and
    frames around marked rows. Hovering a cell shows ``tip_for(row, col)``.

    ``square``: cells are square (images of digits, grids of units); otherwise each row is
    ``row_height`` pixels and the columns share the width (a 10 x 128 weight matrix)."""

    def __init__(self, tip_for: Callable[[int, int], str] | None = None, square: bool = False,
                 row_height: int = 13, max_cell: int = 18, parent=None):
        super().__init__(parent)
        self.tip_for = tip_for
        self.square, self.row_height, self.max_cell = square, row_height, max_cell
        self.rgb = np.zeros((0, 0, 3), dtype=np.ubyte)
        self.row_labels: tuple[str, ...] = ()
        self.marks: dict[int, str] = {}  # row -> colour of its frame
        self._image: QtGui.QImage | None = None
        policy = QtWidgets.QSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMouseTracking(True)

    def set_image(self, rgb: np.ndarray, row_labels=(), marks: dict | None = None) -> None:
        rgb = np.ascontiguousarray(rgb, dtype=np.ubyte)
        reshaped = rgb.shape[:2] != self.rgb.shape[:2] or tuple(row_labels) != self.row_labels
        self.rgb, self.row_labels, self.marks = rgb, tuple(row_labels), dict(marks or {})
        h, w = rgb.shape[:2]
        self._image = QtGui.QImage(self.rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888) if h and w else None
        if reshaped:
            self.updateGeometry()
        self.update()

    # -- geometry --------------------------------------------------------------------------------
    def _label_width(self) -> int:
        if not self.row_labels:
            return 0
        metrics = QtGui.QFontMetrics(style.small_font(8))
        return max(metrics.horizontalAdvance(text) for text in self.row_labels) + 6

    def _cell_size(self, width: int) -> tuple[float, float]:
        rows, cols = self.rgb.shape[:2]
        if not rows or not cols:
            return 0.0, 0.0
        cell_w = max(1.0, (width - self._label_width() - 2) / cols)
        if self.square:
            side = min(cell_w, float(self.max_cell))
            return side, side
        return cell_w, float(self.row_height)

    def _content_rect(self) -> QtCore.QRectF:
        cell_w, cell_h = self._cell_size(self.width())
        rows, cols = self.rgb.shape[:2]
        return QtCore.QRectF(self._label_width() + 1, 1, cell_w * cols, cell_h * rows)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return int(np.ceil(self._cell_size(width)[1] * self.rgb.shape[0])) + 2

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(240, self.heightForWidth(240))

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(24, 4)

    def cell_at(self, pos: QtCore.QPointF) -> tuple[int, int] | None:
        rect = self._content_rect()
        if self._image is None or not rect.contains(pos):
            return None
        rows, cols = self.rgb.shape[:2]
        r = int((pos.y() - rect.top()) / rect.height() * rows)
        c = int((pos.x() - rect.left()) / rect.width() * cols)
        return min(r, rows - 1), min(c, cols - 1)

    # -- painting and hovering --------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        if self._image is None:
            return
        painter = QtGui.QPainter(self)
        rect = self._content_rect()
        painter.drawImage(rect, self._image)  # nearest neighbour: crisp cells
        rows = self.rgb.shape[0]
        cell_h = rect.height() / rows
        t = theme.current()
        if self.row_labels:
            painter.setFont(style.small_font(8))
            painter.setPen(QtGui.QColor(t.foreground))
            for r, text in enumerate(self.row_labels):
                box = QtCore.QRectF(0, rect.top() + r * cell_h, rect.left() - 4, cell_h)
                painter.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter),
                                 text)
        for r, color in self.marks.items():
            painter.setPen(QtGui.QPen(QtGui.QColor(color), 2))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawRect(QtCore.QRectF(rect.left(), rect.top() + r * cell_h, rect.width(), cell_h))
        painter.setPen(QtGui.QPen(QtGui.QColor(t.frame), 1))
        painter.drawRect(rect)
        painter.end()

    def event(self, event) -> bool:
        if event.type() == QtCore.QEvent.Type.ToolTip and self.tip_for is not None:
            cell = self.cell_at(QtCore.QPointF(event.pos()))
            if cell is not None:
                QtWidgets.QToolTip.showText(event.globalPos(), self.tip_for(*cell), self)
                return True
        return super().event(event)


class BarsView(QtWidgets.QWidget):
    """One bar (or a pair of bars) per class, with the class names below. Signed values grow up
    and down from a zero line; ``set_series`` takes one or two arrays, their colours per bar, and
    ``tip_for(k)`` for the tooltip of class ``k``."""

    def __init__(self, tip_for: Callable[[int], str] | None = None, signed: bool = False, height: int = 110,
                 parent=None):
        super().__init__(parent)
        self.tip_for, self.signed = tip_for, signed
        self.series: list[np.ndarray] = []
        self.colors: list[list[str]] = []
        self.labels: tuple[str, ...] = ()
        self.label_colors: dict[int, str] = {}
        self.scale = 1.0
        self.value_text = True
        self.scale_note = False  # write the value of a full bar in the corner (bars scaled to their largest)
        self.setFixedHeight(height)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)

    def set_series(self, series, colors, labels, label_colors: dict | None = None, scale: float | None = None) -> None:
        """``series``: arrays of equal length; ``colors``: per series, one colour or one per bar;
        ``scale``: the value of a full bar (default: the largest |value|, at least 1e-12)."""
        self.series = [np.nan_to_num(np.asarray(s, dtype=np.float64)) for s in series]
        self.colors = [[c] * len(self.series[0]) if isinstance(c, str) else list(c) for c in colors]
        self.labels = tuple(labels)
        self.label_colors = dict(label_colors or {})
        top = max((float(np.abs(s).max(initial=0.0)) for s in self.series), default=0.0)
        self.scale = float(scale) if scale else max(top, 1e-12)
        self.update()

    def _layout(self) -> tuple[float, float, float, float]:
        """(left, slot width, zero line y, full bar height in pixels)."""
        n = max(1, len(self.labels))
        label_h = 14
        top, bottom = 12, self.height() - label_h
        slot = (self.width() - 4) / n
        if self.signed:  # room for a value above the highest bar and below the lowest
            zero = (top + bottom) / 2
            return 2.0, slot, zero, (bottom - top) / 2 - 12
        return 2.0, slot, float(bottom), float(bottom - top)

    def bar_at(self, x: float) -> int | None:
        left, slot, _, _ = self._layout()
        k = int((x - left) // slot)
        return k if 0 <= k < len(self.labels) else None

    def paintEvent(self, event) -> None:  # noqa: N802
        if not self.series:
            return
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        t = theme.current()
        left, slot, zero, full = self._layout()
        n_series = len(self.series)
        width = slot * 0.72 / n_series
        font = style.small_font(7.5)
        painter.setFont(font)
        for k in range(len(self.labels)):
            x0 = left + k * slot + slot * 0.14
            for s, values in enumerate(self.series):
                v = values[k] / self.scale
                h = max(-1.0, min(1.0, v)) * full
                x = x0 + s * width
                painter.fillRect(QtCore.QRectF(x, zero - max(h, 0), width, abs(h)), QtGui.QColor(self.colors[s][k]))
            if self.value_text:
                v = self.series[-1][k]
                text = fmt(v, 2) if abs(v) >= 0.05 * self.scale else ""
                painter.setPen(QtGui.QColor(t.foreground))
                h = max(-1.0, min(1.0, v / self.scale)) * full
                y = zero - h - 11 if h >= 0 else zero - h + 1
                painter.drawText(QtCore.QRectF(left + k * slot, y, slot, 10), int(QtCore.Qt.AlignmentFlag.AlignCenter),
                                 text)
            painter.setPen(QtGui.QColor(self.label_colors.get(k, t.foreground)))
            painter.drawText(QtCore.QRectF(left + k * slot, self.height() - 14, slot, 14),
                             int(QtCore.Qt.AlignmentFlag.AlignCenter), self.labels[k])
        if self.scale_note:
            painter.setPen(QtGui.QColor(t.muted))
            painter.drawText(QtCore.QRectF(left, 0, self.width() - left, 11), int(QtCore.Qt.AlignmentFlag.AlignLeft),
                             f"full bar = {fmt(self.scale, 2)}")
        painter.setPen(QtGui.QPen(QtGui.QColor(t.frame), 1))
        painter.drawLine(QtCore.QPointF(left, zero), QtCore.QPointF(left + slot * len(self.labels), zero))
        painter.end()

    def event(self, event) -> bool:
        if event.type() == QtCore.QEvent.Type.ToolTip and self.tip_for is not None and self.series:
            k = self.bar_at(event.pos().x())
            if k is not None:
                QtWidgets.QToolTip.showText(event.globalPos(), self.tip_for(k), self)
                return True
        return super().event(event)


def caption(text: str = "", size: float = 8.5) -> QtWidgets.QLabel:
    """A wrapping rich-text line under or above a figure."""
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    label.setFont(style.small_font(size))
    return label


def section_title(text: str) -> QtWidgets.QLabel:
    label = caption(f"<b>{text}</b>", 10)
    label.setContentsMargins(0, 6, 0, 0)
    return label


class ExplainPanel(QtWidgets.QWidget):
    """The base of the panels that explain one digit's math: follows the selected test digit or
    the drawn one, asks for a copy of the network whenever it shows a snapshot (only panels on
    screen are given snapshots), and renders when the digit, the network or a setting changes.

    While training, the copy that arrives answers the request of the previous render, so the
    render itself happens inside :meth:`show_snapshot`, within the window's render budget; a copy
    of exactly the snapshot's step (paused, stepped) or the first copy of a run renders at once.
    Subclasses lay themselves out with :meth:`_header` and :meth:`_assemble`, and implement
    :meth:`_render_digit`."""

    network_wanted = QtCore.pyqtSignal()  # ask the worker for a NetworkCopy (set_network answers)

    def __init__(self, dataset, parent=None):
        super().__init__(parent)
        self.dataset = dataset
        self.n_classes = int(dataset.n_classes)
        self.class_names = tuple(getattr(dataset, "class_names", ()) or (str(k) for k in range(self.n_classes)))
        self.snap: Snapshot | None = None
        self.network: NetworkCopy | None = None
        self._rendered_key = None
        self._rendered_run = None
        self._asked = False  # a snapshot was shown (so the panel is on screen) and its copy not yet in
        self._source = 0
        style.paint_background(self)
        self.source_combo = QtWidgets.QComboBox()
        self.source_combo.addItems(SOURCES)
        self.source_combo.setToolTip("Which digit to explain: the test digit selected in the Softmax panel (or "
                                     "the Mistakes gallery, the PCA map), or the digit on the drawing pad")
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.drawn_label = QtWidgets.QComboBox()
        self.drawn_label.addItems(self.class_names)
        self.drawn_label.setToolTip("What your drawing is meant to be: the loss and its gradient are taken "
                                    "against this class")
        self.drawn_label.currentIndexChanged.connect(lambda _: self.refresh())
        self.drawn_label.setVisible(False)

    def _header(self, title_tip: str) -> QtWidgets.QHBoxLayout:
        """The panel's first row: its title (``self.title``) and the choice of digit."""
        self.title = caption("", 10)
        self.title.setToolTip(title_tip)
        header = QtWidgets.QHBoxLayout()
        header.setContentsMargins(6, 4, 4, 0)
        header.addWidget(self.title, 1)
        show = QtWidgets.QLabel("show:")
        show.setToolTip(self.source_combo.toolTip())
        header.addWidget(show)
        header.addWidget(self.source_combo)
        header.addWidget(self.drawn_label)
        return header

    def _assemble(self, body: QtWidgets.QWidget, *rows: QtWidgets.QLayout) -> None:
        """Lay the panel out: ``rows`` (its header, its controls) above ``body`` in a vertical
        scroll area, which a message replaces while there is nothing to explain."""
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidget(body)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.empty_label = caption("", 10)
        self.empty_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        style.themed_css(self.empty_label, "color: $muted; background: $background; padding: 12px;")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.scroll)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for row in rows:
            layout.addLayout(row)
        layout.addWidget(self.stack, 1)

    def _show_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.stack.setCurrentWidget(self.empty_label)

    # -- the Panel protocol ---------------------------------------------------------------------
    def show_snapshot(self, snap: Snapshot) -> None:
        self.snap = snap
        self._asked = True
        self.network_wanted.emit()
        self.refresh()

    def set_network(self, network: NetworkCopy) -> None:
        """The worker's answer to :attr:`network_wanted` (of this panel, or of another: then it is
        only kept, since this panel may not be on screen)."""
        self.network = network
        snap, asked, self._asked = self.snap, self._asked, False
        if asked and snap is not None and network.run_id == snap.run_id and (
                network.step == snap.step or self._rendered_run != snap.run_id):
            self.refresh()

    def clear(self) -> None:
        self.snap, self.network = None, None
        self._rendered_key, self._rendered_run = None, None
        self._show_empty("no network yet")

    def apply_theme(self) -> None:
        style.restyle(self)
        self.refresh(force=True)

    # -- the digit ------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return "drawn" if self._source == 1 else "probe"

    def set_source(self, source: str) -> None:
        """Explain the selected test digit ("probe") or the drawn digit ("drawn")."""
        self.source_combo.setCurrentIndex(1 if source == "drawn" else 0)

    def _source_changed(self, index: int) -> None:
        self._source = int(index)
        self.drawn_label.setVisible(self._source == 1)
        self.refresh()

    def digit(self) -> tuple[np.ndarray, int, str, object] | None:
        """(input x, the class the loss is taken against, a title, an identity) of the digit
        followed, or None."""
        snap = self.snap
        if snap is None:
            return None
        if self._source == 1:
            if snap.drawn is None:
                return None
            label = self.drawn_label.currentIndex()
            return np.asarray(snap.drawn.image), label, "Your drawing", ("drawn", snap.drawn.image.tobytes())
        if not snap.probe_indices:
            return None
        index = int(snap.probe_indices[0])
        label = int(self.dataset.test_y[index])
        return np.asarray(self.dataset.test_x[index]), label, f"Test digit #{index}", ("test", index)

    def usable_network(self) -> NetworkCopy | None:
        network, snap = self.network, self.snap
        if network is None or snap is None or network.run_id != snap.run_id:
            return None
        if network.layer_sizes != tuple(snap.layer_sizes):
            return None
        return network

    def settings_key(self) -> tuple:
        """What else decides the picture (subclasses: their own controls)."""
        return ()

    def refresh(self, force: bool = False) -> None:
        """Render the digit followed with the latest network copy, if anything changed."""
        digit, network = self.digit(), self.usable_network()
        if self.snap is None:
            return
        if digit is None:
            self._rendered_key = None
            self._show_empty("Draw a digit on the drawing pad (Draw tab) to explain it." if self._source == 1
                             else "Select a test digit in the Softmax panel.")
            return
        if network is None:
            if self._rendered_key is None or self._rendered_run != self.snap.run_id:
                self._show_empty("waiting for the network…")
            return
        if not all(np.isfinite(p).all() for p in network.params):
            self._rendered_key = None
            self._show_empty("The network diverged: its weights are no longer finite numbers. "
                             "Lower the learning rate and press Reset.")
            return
        x, label, title, identity = digit
        key = (network.run_id, network.step, network.lr, identity, label, self.settings_key())
        if key == self._rendered_key and not force:
            return
        self._rendered_key, self._rendered_run = key, network.run_id
        self.stack.setCurrentWidget(self.scroll)
        self._render_digit(network, x, label, title)

    def _render_digit(self, network: NetworkCopy, x: np.ndarray, label: int, title: str) -> None:
        raise NotImplementedError
