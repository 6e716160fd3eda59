"""One test digit and the network's softmax output for it.

The panel owns the digit selection (spin box, Prev/Next, Random). When the user picks a digit it
emits :attr:`SoftmaxPanel.digit_changed`; the main window then asks the trainer to probe that
digit, and the bars fill in as soon as a snapshot carries its probabilities
(``snap.probe_indices`` / ``snap.probe_probs``). Until then the bars stay empty: the panel never
shows another digit's numbers.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from nn.data import Dataset
from nn.trainer import Snapshot

from .. import style, theme
from ..class_axis import class_axis_items, class_ticks
from ..export_menu import add_export_menu
from ..naming import class_name

_TOOLTIP = ("The selected test digit and the network's softmax output for it: one bar per class, "
            "its height the probability.\nGreen: the true class (a green bar is a right prediction); "
            "red: a wrong prediction.")


class SoftmaxPanel(QtWidgets.QWidget):
    digit_changed = QtCore.pyqtSignal(int)

    def __init__(self, dataset: Dataset, parent=None):
        super().__init__(parent)
        self.dataset = dataset
        self.n_test = len(dataset.test_y)
        self.n_classes = int(dataset.n_classes)
        self._index = 0
        self._probs: np.ndarray | None = None  # the probabilities shown (for self._index)
        self._rng = np.random.default_rng(12345)
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(300, 300)

        # -- selection controls
        self.spin = QtWidgets.QSpinBox()
        self.spin.setRange(0, self.n_test - 1)
        self.spin.setWrapping(True)
        self.spin.setPrefix("#")
        self.spin.setKeyboardTracking(False)
        self.spin.setAccelerated(True)
        self.spin.setToolTip(f"Index of the test digit to inspect (0-{self.n_test - 1}); "
                             "type a number or use the arrow keys")
        self.prev_button = QtWidgets.QToolButton(text="◀")
        self.prev_button.setToolTip("Previous test digit")
        self.prev_button.setAutoRepeat(True)
        self.next_button = QtWidgets.QToolButton(text="▶")
        self.next_button.setToolTip("Next test digit")
        self.next_button.setAutoRepeat(True)
        self.random_button = QtWidgets.QPushButton("Random")
        self.random_button.setToolTip("Pick a random test digit")
        self.spin.valueChanged.connect(self._on_index)
        self.prev_button.clicked.connect(lambda: self.select_digit((self._index - 1) % self.n_test))
        self.next_button.clicked.connect(lambda: self.select_digit((self._index + 1) % self.n_test))
        self.random_button.clicked.connect(self.select_random)

        label = QtWidgets.QLabel("Test digit")
        label.setToolTip(self.spin.toolTip())
        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 4, 4, 0)
        controls.addWidget(label)
        controls.addWidget(self.spin, 1)
        controls.addWidget(self.prev_button)
        controls.addWidget(self.next_button)
        controls.addWidget(self.random_button)

        # -- header: the digit's image beside its description
        self.image_widget = pg.GraphicsLayoutWidget()
        self.image_widget.setBackground(theme.current().background)
        self.image_widget.ci.setContentsMargins(1, 1, 1, 1)
        self.image_widget.ci.layout.setSpacing(0)
        self.image_widget.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.image_view = self.image_widget.addViewBox(lockAspect=True, enableMouse=False, enableMenu=False)
        self.image_view.disableAutoRange()
        self.image_view.invertY(True)
        self.image_view.setBorder(pg.mkPen("#bbbbbb"))  # the paper's edge: the same in both themes
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setLookupTable(style.INK_LUT)  # dark ink on white paper
        self.image_view.addItem(self.image_item)
        self.image_widget.setFixedSize(84, 84)
        self.image_widget.setToolTip("The selected test digit (pixels as stored in the data)")

        self.title = QtWidgets.QLabel()
        self.title.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.title.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.title.setToolTip("Index, true class and the network's prediction with its probability")
        header = QtWidgets.QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.image_widget)
        header.addWidget(self.title, 1)

        # -- bar chart of the softmax output
        self.plot_widget = style.plot_widget(axisItems=class_axis_items())
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.showGrid(y=True, alpha=theme.current().grid_alpha)
        self.plot.setXRange(-0.6, self.n_classes - 0.4, padding=0)
        self.plot.setYRange(0, 112, padding=0)
        self.plot.getAxis("bottom").setTicks(class_ticks(dataset.class_names))
        self.plot.getAxis("left").setTicks([[(v, str(v)) for v in (0, 25, 50, 75, 100)], []])
        style.axis_label(self.plot, "bottom", "class")
        style.axis_label(self.plot, "left", "probability (%)")
        self.plot_widget.setToolTip(_TOOLTIP)
        self.export_menu = add_export_menu(self.plot_widget, self.plot, "softmax output")
        self.bars, self.bar_labels, self.waiting_text = style.probability_bars(
            self.plot, self.n_classes, "waiting for the network...", 56, waiting_pt=10)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addLayout(header)
        layout.addWidget(self.plot_widget, 1)

        self._show_image()
        self._show_probs(None)

    # -- selection -------------------------------------------------------------------------------
    @property
    def selected_index(self) -> int:
        return self._index

    def select_digit(self, index: int) -> None:
        """Select test digit ``index`` (clamped to the test set) and emit :attr:`digit_changed`."""
        index = int(min(max(int(index), 0), self.n_test - 1))
        blocked = self.spin.blockSignals(True)
        self.spin.setValue(index)
        self.spin.blockSignals(blocked)
        self._on_index(index)

    def select_random(self) -> None:
        if self.n_test > 1:
            index = int(self._rng.integers(self.n_test - 1))
            self.select_digit(index + 1 if index >= self._index else index)  # never the current one

    def _on_index(self, index: int) -> None:
        self._index = int(index)
        self._show_image()
        self._show_probs(None)
        self.digit_changed.emit(self._index)

    # -- API -------------------------------------------------------------------------------------
    def clear(self) -> None:
        """A new run: keep the selected digit, forget the old network's probabilities."""
        self._show_probs(None)

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current` (the digit stays ink on paper)."""
        style.restyle(self)
        self._show_probs(self._probs)

    def show_snapshot(self, snap: Snapshot) -> None:
        try:
            k = snap.probe_indices.index(self._index)
        except ValueError:
            return  # not probed (yet): keep what is shown for this digit
        row = snap.probe_probs[k]
        if self._probs is not None and np.array_equal(row, self._probs):
            return
        self._show_probs(np.array(row, dtype=np.float64))

    # -- rendering -------------------------------------------------------------------------------
    def _show_image(self) -> None:
        image = self.dataset.test_images[self._index]
        self.image_item.setImage(image, levels=(0, 255), autoLevels=False)
        self.image_view.setRange(xRange=(0, image.shape[1]), yRange=(0, image.shape[0]), padding=0)

    def _show_probs(self, probs: np.ndarray | None) -> None:
        self._probs = probs
        t = theme.current()
        true = int(self.dataset.test_y[self._index])
        names = self.dataset.class_names
        head = f"<b>Digit #{self._index}</b><br>true <b style='color:{t.correct}'>{class_name(names, true)}</b>"
        if probs is None or not np.all(np.isfinite(probs)):
            self.bars.setOpts(height=np.zeros(self.n_classes), brushes=None, brush=t.waiting,
                              pens=None, pen=None)
            for text in self.bar_labels:
                text.setText("")
            self.waiting_text.setText("waiting for the network..." if probs is None
                                      else "no probabilities (the network diverged)")
            self.waiting_text.setVisible(True)
            self.title.setText(f"{head} · predicted –")
            return
        self.waiting_text.setVisible(False)
        predicted = int(np.argmax(probs))
        percent = probs * 100.0
        brushes = [pg.mkBrush(t.bar)] * self.n_classes
        pens = [pg.mkPen(None)] * self.n_classes
        brushes[predicted] = pg.mkBrush(t.correct if predicted == true else t.wrong)
        pens[true] = pg.mkPen(t.correct, width=2.5)
        self.bars.setOpts(height=percent, brushes=brushes, pens=pens)
        for c, text in enumerate(self.bar_labels):
            p = percent[c]
            text.setText(f"{p:.1f}" if p >= 0.95 else ("<1" if c in (true, predicted) else ""))
            text.setColor(t.wrong if c == predicted and c != true else t.correct if c == true else t.foreground)
            text.setPos(c, p)
        color = t.correct if predicted == true else t.wrong
        verdict = "" if predicted == true else " ✗"
        self.title.setText(f"{head} · predicted <b style='color:{color}'>{class_name(names, predicted)}</b> "
                           f"({percent[predicted]:.1f} %){verdict}")
