"""Draw a digit and watch the network read it, live, while it trains.

The pad is a white 280x280 image on which mouse or pen strokes paint black round-capped lines.
The strokes become an MNIST-like input the way MNIST itself was made (``nn.preprocess.mnist_style``:
cropped to the ink, scaled into a 20x20 box, centred by the centre of mass in a 28x28 frame); the
panel shows that input, enlarged, beside the pad: it is exactly what the network sees.

While drawing, :attr:`DrawingPanel.drawing_changed` carries the flattened float32 input (at most
~20 times a second during a stroke, and always when a stroke ends; None when the pad is cleared).
The main window hands it to the trainer, and each snapshot's ``snap.drawn`` brings back the
network's softmax output for it, shown as bars. "Add to pinned" emits
:attr:`DrawingPanel.pin_requested` with the input and the class the person says it is.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.preprocess import mnist_style
from nn.trainer import Snapshot

from .. import style, theme
from ..class_axis import class_axis_items, class_ticks
from ..export_menu import add_export_menu
from ..naming import class_name
from ..throttle import RenderThrottle

PAD_SIZE = 280  # pixels of the drawing (10x the MNIST frame)
DEFAULT_BRUSH = 22  # stroke width on the pad: ~2 px after scaling into MNIST's 20 px box
EMIT_INTERVAL_S = 0.05  # at most ~20 inputs per second during a stroke
MIN_RENDER_INTERVAL_S = 0.1  # the prediction re-renders at most ~10 times per second
INPUT_ZOOM = 4  # the 28x28 input is shown 4x enlarged, crisp

_TOOLTIP = ("Draw a digit with the mouse or a pen. It is turned into an MNIST-like 28x28 input "
            "(cropped, scaled into a 20x20 box, centred by its centre of mass) and shown to the network; "
            "the bars are its softmax output, updated live while it trains.")


def ink_from_gray(gray: np.ndarray) -> np.ndarray:
    """Paper pixels (255 = white, 0 = black) as ink in 0..1 (1 = black)."""
    return 1.0 - np.asarray(gray, dtype=np.float32) / 255.0


class DrawingPad(QtWidgets.QWidget):
    """A square white canvas; strokes paint black round-capped lines onto a QImage.

    Signals ``stroke_moved`` while a stroke goes on and ``stroke_finished`` when it ends.
    """

    stroke_moved = QtCore.pyqtSignal()
    stroke_finished = QtCore.pyqtSignal()

    def __init__(self, size: int = PAD_SIZE, parent=None):
        super().__init__(parent)
        self.image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_Grayscale8)
        self.image.fill(QtGui.QColor("white"))
        self.brush = DEFAULT_BRUSH
        self._last: QtCore.QPointF | None = None
        self._blank = True
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.setCursor(QtCore.Qt.CursorShape.CrossCursor)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Draw a digit here (mouse or pen). Clear starts over.")

    # -- geometry --------------------------------------------------------------------------------
    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(220, 220)

    def _square(self) -> QtCore.QRectF:
        side = min(self.width(), self.height())
        return QtCore.QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_image(self, pos: QtCore.QPointF) -> QtCore.QPointF:
        rect = self._square()
        scale = self.image.width() / max(rect.width(), 1.0)
        return QtCore.QPointF((pos.x() - rect.x()) * scale, (pos.y() - rect.y()) * scale)

    # -- content ---------------------------------------------------------------------------------
    def pixels(self) -> np.ndarray:
        """The pad as a (size, size) uint8 array (255 = white paper)."""
        w, h = self.image.width(), self.image.height()
        bits = self.image.constBits()
        bits.setsize(self.image.sizeInBytes())
        return np.frombuffer(bits, np.uint8).reshape(h, self.image.bytesPerLine())[:, :w].copy()

    def set_pixels(self, gray: np.ndarray) -> None:
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        h, w = gray.shape
        image = QtGui.QImage(gray.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8)
        self.image = image.copy()  # own the pixels
        self._blank = bool(gray.min(initial=255) == 255)
        self.update()

    def clear(self) -> None:
        self.image.fill(QtGui.QColor("white"))
        self._last = None
        self._blank = True
        self.update()

    def is_blank(self) -> bool:
        return self._blank

    def _paint_to(self, point: QtCore.QPointF) -> None:
        painter = QtGui.QPainter(self.image)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        pen = QtGui.QPen(QtGui.QColor("black"), float(self.brush), QtCore.Qt.PenStyle.SolidLine,
                         QtCore.Qt.PenCapStyle.RoundCap, QtCore.Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        if self._last is None:
            painter.drawPoint(point)
        else:
            painter.drawLine(self._last, point)
        painter.end()
        self._last = point
        self._blank = False
        self.update()

    # -- events ----------------------------------------------------------------------------------
    def _press(self, pos: QtCore.QPointF) -> None:
        self._last = None
        self._paint_to(self._to_image(pos))
        self.stroke_moved.emit()

    def _move(self, pos: QtCore.QPointF) -> None:
        if self._last is not None:
            self._paint_to(self._to_image(pos))
            self.stroke_moved.emit()

    def _release(self) -> None:
        if self._last is not None:
            self._last = None
            self.stroke_finished.emit()

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._press(event.position())

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & QtCore.Qt.MouseButton.LeftButton:
            self._move(event.position())

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._release()

    def tabletEvent(self, event: QtGui.QTabletEvent) -> None:  # noqa: N802
        kind = event.type()
        if kind == QtCore.QEvent.Type.TabletPress:
            self._press(event.position())
        elif kind == QtCore.QEvent.Type.TabletMove:
            self._move(event.position())
        elif kind == QtCore.QEvent.Type.TabletRelease:
            self._release()
        event.accept()  # no synthesized mouse events: the stroke is drawn once

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        t = theme.current()
        painter.fillRect(self.rect(), QtGui.QColor(t.background))
        rect = self._square()
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(rect, self.image)
        painter.setPen(QtGui.QPen(QtGui.QColor("#bbbbbb"), 1))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if self.is_blank():
            painter.setPen(QtGui.QColor(theme.LIGHT.muted))  # on the white paper, in both themes
            painter.setFont(style.small_font(10))
            painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, "draw a digit here")
        painter.end()


class DrawingPanel(QtWidgets.QWidget):
    drawing_changed = QtCore.pyqtSignal(object)  # (features,) float32 input, or None when cleared
    pin_requested = QtCore.pyqtSignal(object, int)  # (input, label)

    def __init__(self, dataset, parent=None):
        super().__init__(parent)
        self.dataset = dataset
        self.image_shape = tuple(int(s) for s in dataset.image_shape)
        self.n_classes = int(dataset.n_classes)
        self.class_names = dataset.class_names
        self.box = max(1, round(min(self.image_shape) * 20 / 28))  # MNIST: 20 px box in a 28 px frame
        self._input: np.ndarray | None = None  # (h, w) the network's input, None while blank
        self._detail = None  # the DigitDetail shown
        self._probs: np.ndarray | None = None
        self._label_chosen = False  # the person picked the class: do not follow the prediction
        self._last_emit = -math.inf
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(320, 320)

        # -- the pad and what the network sees
        self.pad = DrawingPad()
        self.pad.stroke_moved.connect(self._stroke_moved)
        self.pad.stroke_finished.connect(self._stroke_finished)

        self.input_label = QtWidgets.QLabel()
        h, w = self.image_shape
        self.input_label.setFixedSize(w * INPUT_ZOOM + 2, h * INPUT_ZOOM + 2)
        self.input_label.setStyleSheet("border: 1px solid #bbbbbb; background: white;")
        self.input_label.setToolTip(f"What the network sees: your drawing as a {h}x{w} MNIST-style input "
                                    "(cropped, scaled into a 20x20 box, centred by its centre of mass)")
        sees = QtWidgets.QLabel("the network sees")
        sees.setFont(style.small_font(8))
        style.themed_css(sees, "color: $muted;")
        self.prediction_label = QtWidgets.QLabel()
        self.prediction_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.prediction_label.setWordWrap(True)
        self.prediction_label.setFont(style.small_font(10))
        self.prediction_label.setToolTip("The network's prediction for your drawing and its probability")

        self.brush_spin = QtWidgets.QSpinBox()
        self.brush_spin.setRange(4, 60)
        self.brush_spin.setValue(DEFAULT_BRUSH)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setToolTip(f"Stroke width on the {PAD_SIZE}x{PAD_SIZE} pad "
                                   f"({DEFAULT_BRUSH} px becomes about MNIST's 2 px stroke)")
        self.brush_spin.valueChanged.connect(lambda v: setattr(self.pad, "brush", int(v)))
        brush_label = QtWidgets.QLabel("brush")
        brush_label.setToolTip(self.brush_spin.toolTip())
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.clear_button.setToolTip("Erase the drawing")
        self.clear_button.clicked.connect(self.clear_drawing)

        brush_row = QtWidgets.QHBoxLayout()
        brush_row.setSpacing(4)
        brush_row.addWidget(brush_label)
        brush_row.addWidget(self.brush_spin)
        side = QtWidgets.QVBoxLayout()
        side.setSpacing(4)
        side.addWidget(sees)
        side.addWidget(self.input_label)
        side.addWidget(self.prediction_label)
        side.addStretch(1)
        side.addLayout(brush_row)
        side.addWidget(self.clear_button)

        top = QtWidgets.QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        top.setSpacing(8)
        top.addWidget(self.pad, 1)
        top.addLayout(side)

        # -- softmax bars
        self.plot_widget = style.plot_widget(axisItems=class_axis_items())
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.showGrid(y=True, alpha=theme.current().grid_alpha)
        self.plot.setXRange(-0.6, self.n_classes - 0.4, padding=0)
        self.plot.setYRange(0, 128, padding=0)
        self.plot.getAxis("bottom").setTicks(class_ticks(dataset.class_names))
        self.plot.getAxis("left").setTicks([[(v, str(v)) for v in (0, 50, 100)], []])
        style.axis_label(self.plot, "left", "prob. (%)")
        self.plot_widget.setMinimumHeight(110)
        self.plot_widget.setToolTip("The network's softmax output for your drawing: one bar per class")
        self.bars, self.bar_labels, self.waiting_text = style.probability_bars(self.plot, self.n_classes, "", 57)
        self.export_menu = add_export_menu(self.plot_widget, self.plot, "drawing's softmax output")

        # -- pinning
        self.class_combo = QtWidgets.QComboBox()
        self.class_combo.addItems([class_name(dataset.class_names, c) for c in range(self.n_classes)])
        self.class_combo.setToolTip("The class your drawing shows (follows the prediction until you pick one)")
        self.class_combo.activated.connect(self._class_chosen)
        self.pin_button = QtWidgets.QPushButton("Add to pinned")
        self.pin_button.setToolTip("Follow the network's probability for this drawing's class while it trains "
                                   "(in the pinned digits panel)")
        self.pin_button.clicked.connect(self.request_pin)
        this_is = QtWidgets.QLabel("this is a:")
        this_is.setToolTip(self.class_combo.toolTip())
        pin_row = QtWidgets.QHBoxLayout()
        pin_row.setContentsMargins(4, 0, 4, 4)
        pin_row.addStretch(1)
        pin_row.addWidget(this_is)
        pin_row.addWidget(self.class_combo)
        pin_row.addWidget(self.pin_button)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top, 3)
        layout.addWidget(self.plot_widget, 2)
        layout.addLayout(pin_row)

        self._emit_timer = QtCore.QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.timeout.connect(self._emit_input)
        self._throttle = RenderThrottle(self, MIN_RENDER_INTERVAL_S, self._render)
        self._show_input()
        self._show_probs(None)

    # -- API -------------------------------------------------------------------------------------
    def network_input(self) -> np.ndarray:
        """The current input as the network sees it: (h, w) float32 in 0..1 (zeros when blank)."""
        if self._input is None:
            return np.zeros(self.image_shape, dtype=np.float32)
        return self._input.copy()

    def set_drawing(self, image: np.ndarray) -> None:
        """Put ``image`` (2-D, ink = high values in 0..1, any size) on the pad as if it had been
        drawn, and emit :attr:`drawing_changed`."""
        image = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
        size = self.pad.image.width()
        rows = (np.arange(size) * image.shape[0] // size).clip(0, image.shape[0] - 1)
        cols = (np.arange(size) * image.shape[1] // size).clip(0, image.shape[1] - 1)
        gray = np.rint(255.0 * (1.0 - image[np.ix_(rows, cols)])).astype(np.uint8)
        self.pad.set_pixels(gray)
        self._stroke_finished()

    def clear_drawing(self) -> None:
        """Erase the pad and emit ``drawing_changed(None)``."""
        self._emit_timer.stop()
        self.pad.clear()
        self._input = None
        self._label_chosen = False
        self._show_input()
        self._show_probs(None)
        self.drawing_changed.emit(None)

    def request_pin(self) -> None:
        if self._input is not None:
            self.pin_requested.emit(self._input.reshape(-1).copy(), int(self.class_combo.currentIndex()))

    def clear(self) -> None:
        """A new run: keep the drawing (the trainer keeps it too), forget the old network's output."""
        self._throttle.reset()
        self._detail = None
        self._show_probs(None)

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current` (the pad stays white paper)."""
        style.restyle(self)
        for text in self.bar_labels:
            text.setColor(theme.current().foreground)
        self.pad.update()
        self._show_probs(self._probs)

    def show_snapshot(self, snap: Snapshot) -> None:
        detail = snap.drawn
        if detail is self._detail:
            return
        urgent = self._probs is None or detail is None or snap.finished or snap.diverged is not None
        self._throttle.offer(snap, urgent)

    def _render(self, snap: Snapshot) -> None:
        detail = snap.drawn
        self._detail = detail
        if self._input is None:
            return  # the pad is blank: an older drawing's output is not shown
        if detail is None:
            if self._probs is not None:
                self._show_probs(None)
            return
        if self._probs is not None and np.array_equal(detail.probs, self._probs):
            return
        self._show_probs(np.array(detail.probs, dtype=np.float64))

    # -- drawing -----------------------------------------------------------------------------------
    def _stroke_moved(self) -> None:
        self._label_chosen = False
        wait = EMIT_INTERVAL_S - (time.monotonic() - self._last_emit)
        if wait <= 0:
            self._emit_input()
        elif not self._emit_timer.isActive():
            self._emit_timer.start(max(1, int(wait * 1000)))

    def _stroke_finished(self) -> None:
        self._label_chosen = False
        self._emit_input()

    def _emit_input(self) -> None:
        self._emit_timer.stop()
        self._last_emit = time.monotonic()
        ink = ink_from_gray(self.pad.pixels())
        x = mnist_style(ink, frame=self.image_shape, box=self.box)
        self._input = x if x.any() else None
        self._show_input()
        if self._input is None:
            self._show_probs(None)
        self.drawing_changed.emit(None if self._input is None else self._input.reshape(-1).copy())

    def _class_chosen(self, index: int) -> None:
        self._label_chosen = True

    # -- rendering -------------------------------------------------------------------------------
    def _show_input(self) -> None:
        h, w = self.image_shape
        x = np.zeros(self.image_shape, dtype=np.float32) if self._input is None else self._input
        pixels = np.ascontiguousarray(np.rint(255.0 * (1.0 - x)), dtype=np.uint8)
        image = QtGui.QImage(pixels.data, w, h, w, QtGui.QImage.Format.Format_Grayscale8)
        image = image.scaled(w * INPUT_ZOOM, h * INPUT_ZOOM, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                             QtCore.Qt.TransformationMode.FastTransformation)  # nearest neighbour: crisp
        self.input_label.setPixmap(QtGui.QPixmap.fromImage(image))
        self.pin_button.setEnabled(self._input is not None)

    def _show_probs(self, probs: np.ndarray | None) -> None:
        self._probs = probs
        t = theme.current()
        if probs is None or not np.all(np.isfinite(probs)):
            self.bars.setOpts(height=np.zeros(self.n_classes), brushes=None, brush=t.waiting, pen=None)
            for text in self.bar_labels:
                text.setText("")
            if self._input is None:
                message = "draw a digit to see what the network says"
            elif probs is None:
                message = "waiting for the network..."
            else:
                message = "no probabilities (the network diverged)"
            self.waiting_text.setText(message)
            self.waiting_text.setVisible(True)
            self.prediction_label.setText(f"<span style='color:{t.muted}'>predicted –</span>")
            return
        self.waiting_text.setVisible(False)
        predicted = int(np.argmax(probs))
        percent = probs * 100.0
        brushes = [pg.mkBrush(t.bar)] * self.n_classes
        brushes[predicted] = pg.mkBrush(t.train)
        self.bars.setOpts(height=percent, brushes=brushes)
        for c, text in enumerate(self.bar_labels):
            p = percent[c]
            text.setText(f"{p:.0f}" if p >= 1.0 else "")
            text.setPos(c, p)
        self.prediction_label.setText(f"predicted <b style='font-size:16pt; color:{t.train}'>"
                                      f"{class_name(self.class_names, predicted)}</b><br>({percent[predicted]:.0f} %)")
        if not self._label_chosen:
            self.class_combo.setCurrentIndex(predicted)

    # -- for tests -------------------------------------------------------------------------------
    def bar_heights(self) -> np.ndarray:
        """The bars' heights as fractions (0..1)."""
        return np.asarray(self.bars.opts["height"], dtype=np.float64) / 100.0
