"""A map of what the network has learned: test digits placed by their last hidden layer.

``snap.activation_map`` holds a 2-D PCA of the last hidden layer's activations for a fixed sample
of test digits (the engine computes it every few seconds while training and on demand). Each digit
is a dot coloured by its true class; dots the network gets wrong have a black ring. As training
goes on, the classes pull apart into clusters. Hovering a dot shows the digit; clicking it emits
:attr:`ActivationMapPanel.digit_selected` (its test index), so every panel can show it.
"Refresh" emits :attr:`ActivationMapPanel.refresh_requested`. The scatter is rebuilt only when
the ActivationMap object changes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.trainer import Snapshot

from .. import style, theme
from ..export_menu import add_export_menu

DOT_SIZE = 6
WRONG_SIZE = 8
THUMB = 42

_TOOLTIP = ("Test digits placed by the first two principal components of the last hidden layer's "
            "activations, coloured by true class; a ring marks a digit the network gets wrong.\n"
            "Well-separated clusters mean the layer tells the classes apart. Hover a dot to see the digit, "
            "click it to select it everywhere.")


def class_color(c: int) -> str:
    colors = theme.current().classes
    return colors[int(c) % len(colors)]


class ActivationMapPanel(QtWidgets.QWidget):
    digit_selected = QtCore.pyqtSignal(int)  # a test-set index
    refresh_requested = QtCore.pyqtSignal()

    def __init__(self, dataset, parent=None):
        super().__init__(parent)
        self.dataset = dataset
        self.n_classes = int(dataset.n_classes)
        self._map = None  # the ActivationMap shown
        self._order = np.zeros(0, dtype=int)  # scatter point j shows map entry self._order[j]
        self._hovered: int | None = None
        self._selected: int | None = None  # the test index ringed on the map
        self._pixmaps: dict[tuple[int, float], QtGui.QPixmap] = {}
        self._make_pens()
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(320, 300)

        self.title = style.title_label("Map of the last hidden layer")
        self.plot_widget = style.plot_widget()
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=theme.current().grid_alpha)
        style.axis_label(self.plot, "bottom", "PC1")
        style.axis_label(self.plot, "left", "PC2")
        for name in ("left", "bottom"):
            self.plot.getAxis(name).setStyle(showValues=False)  # PCA units mean nothing to a person
        self.scatter = pg.ScatterPlotItem(pxMode=True, hoverable=False)
        self.scatter.sigClicked.connect(self._clicked)
        self.plot.addItem(self.scatter)
        self.selected_ring = pg.ScatterPlotItem(pxMode=True, size=16, brush=None)
        self.selected_ring.setZValue(10)
        self.plot.addItem(self.selected_ring)
        self.class_labels = []
        for c in range(self.n_classes):
            text = pg.TextItem(str(c), anchor=(0.5, 0.5))
            text.setFont(style.small_font(11, bold=True))
            text.setZValue(5)
            text.setVisible(False)
            self.plot.addItem(text)
            self.class_labels.append(text)
        self.empty_text = style.themed_text("", "muted", anchor=(0.5, 0.5))
        self.empty_text.setFont(style.small_font(10))
        self.plot.addItem(self.empty_text)
        self.export_menu = add_export_menu(self.plot_widget, self.plot, "PCA map")
        self._paint_class_labels()

        self._wrong_text = "wrong"
        self.legend = legend = QtWidgets.QLabel()
        legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        legend.setFont(style.small_font(8))
        legend.setWordWrap(True)  # "23 of 1000 wrong" goes to a second line rather than under Refresh
        legend.setToolTip("Dot colour: the digit's true class; a ring: the network predicts another class")
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.setToolTip("Recompute the map for the network as it is now "
                                       "(it also refreshes every few seconds while training)")
        self.refresh_button.clicked.connect(self.refresh_requested)
        top = QtWidgets.QHBoxLayout()
        top.setContentsMargins(6, 0, 4, 0)
        top.addWidget(legend, 1)
        top.addWidget(self.refresh_button)

        self.thumb = QtWidgets.QLabel()
        self.thumb.setFixedSize(THUMB + 2, THUMB + 2)
        style.themed_css(self.thumb, "border: 1px solid $frame;")  # the digit brings its own paper
        self.thumb.setToolTip("The digit under the mouse pointer")
        self.readout = QtWidgets.QLabel()
        self.readout.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.readout.setFont(style.small_font(9))
        self.readout.setToolTip("The digit under the mouse pointer: test index, true class and prediction")
        bottom = QtWidgets.QHBoxLayout()
        bottom.setContentsMargins(6, 0, 4, 4)
        bottom.addWidget(self.thumb)
        bottom.addWidget(self.readout, 1)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(top)
        layout.addLayout(bottom)

        self._proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved)
        self.clear()

    # -- API -------------------------------------------------------------------------------------
    def clear(self) -> None:
        self._map = None
        self._order = np.zeros(0, dtype=int)
        self.scatter.clear()
        self.selected_ring.clear()
        for text in self.class_labels:
            text.setVisible(False)
        self.title.setText("Map of the last hidden layer")
        self._set_legend("wrong")
        self._show_empty("no map yet: press Refresh\n(it updates every few seconds while training)")
        self._hover_index(None)

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current`: the dots, rings and class labels in its colours."""
        style.restyle(self)
        self._make_pens()
        self._paint_class_labels()
        self._set_legend(self._wrong_text)
        if self._map is not None:
            self._render(self._map)
        else:
            self._hover_index(None)

    def _make_pens(self) -> None:
        t = theme.current()
        self._brushes = [pg.mkBrush(class_color(c)) for c in range(max(self.n_classes, 1))]
        background = QtGui.QColor(t.background)
        background.setAlpha(160)
        self._right_pen = pg.mkPen(background, width=0.5)  # a thin edge in the background's colour
        self._wrong_pen = pg.mkPen(t.ring, width=1.6)

    def _paint_class_labels(self) -> None:
        self.selected_ring.setPen(pg.mkPen(theme.current().foreground, width=2.0))
        for c, text in enumerate(self.class_labels):
            text.setColor(class_color(c))
            text.fill = style.legend_brush()
            text.update()

    def show_snapshot(self, snap: Snapshot) -> None:
        amap = snap.activation_map
        if amap is self._map:
            return
        if amap is None:
            self.clear()
            return
        self._render(amap)

    def shown_indices(self) -> list[int]:
        """Test indices of the dots, in the map's order."""
        return [] if self._map is None else [int(i) for i in self._map.indices]

    def wrong_indices(self) -> list[int]:
        """Test indices of the ringed (misclassified) dots."""
        if self._map is None:
            return []
        wrong = np.asarray(self._map.predictions) != np.asarray(self._map.labels)
        return [int(i) for i in np.asarray(self._map.indices)[wrong]]

    def click_point(self, k: int) -> None:
        """Click map entry ``k`` (the same path as a mouse click on its dot)."""
        j = int(np.flatnonzero(self._order == int(k))[0])
        self._clicked(self.scatter, [self.scatter.points()[j]], None)

    def select_index(self, index: int) -> None:
        """Ring the dot of test digit ``index`` if it is on the map (no signal)."""
        self._selected = int(index)
        self._show_selected()

    # -- rendering -------------------------------------------------------------------------------
    def _render(self, amap) -> None:
        self._map = amap
        coords = np.asarray(amap.coords, dtype=np.float64)
        labels = np.asarray(amap.labels, dtype=int)
        wrong = np.asarray(amap.predictions) != labels
        self._order = np.argsort(wrong, kind="stable")  # wrong dots drawn last, on top
        o = self._order
        brushes = [self._brushes[c % len(self._brushes)] for c in labels[o]]
        pens = [self._wrong_pen if w else self._right_pen for w in wrong[o]]
        sizes = np.where(wrong[o], WRONG_SIZE, DOT_SIZE)
        self.scatter.setData(x=coords[o, 0], y=coords[o, 1], brush=brushes, pen=pens, size=sizes, data=o)
        self.empty_text.setVisible(False)
        for c, text in enumerate(self.class_labels):
            mine = coords[labels == c]
            text.setVisible(len(mine) > 0)
            if len(mine):
                text.setPos(*np.median(mine, axis=0))
        ev = np.asarray(amap.explained_variance, dtype=np.float64)
        self.title.setText(f"PCA of {amap.layer} at step {amap.step:,} · PC1 {ev[0] * 100:.0f} %, "
                           f"PC2 {ev[1] * 100:.0f} %")
        self._set_legend(f"{int(wrong.sum())} of {len(labels)} wrong")
        self.plot.enableAutoRange()
        self._show_selected()
        if self._hovered is not None:
            self._hover_index(self._hovered)

    def _set_legend(self, wrong: str) -> None:
        self._wrong_text = wrong
        classes = " ".join(f"<span style='color:{class_color(c)}'>●</span>{c}" for c in range(self.n_classes))
        self.legend.setText(f"{classes} &nbsp; <span style='color:{theme.current().ring}'>◯</span> {wrong}")

    def _show_selected(self) -> None:
        index = self._selected
        if self._map is None or index is None:
            self.selected_ring.clear()
            return
        hits = np.flatnonzero(np.asarray(self._map.indices) == index)
        if len(hits):
            x, y = self._map.coords[hits[0]]
            self.selected_ring.setData([x], [y])
        else:
            self.selected_ring.clear()

    def _show_empty(self, text: str) -> None:
        self.empty_text.setText(text)
        self.empty_text.setPos(0.5, 0.5)
        self.empty_text.setVisible(True)
        self.plot.disableAutoRange()
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    # -- interaction -----------------------------------------------------------------------------
    def _clicked(self, item, points, event) -> None:
        if self._map is None or not len(points):
            return
        k = int(points[0].data())
        index = int(self._map.indices[k])
        self._selected = index
        self._show_selected()
        self._hover_index(k)
        self.digit_selected.emit(index)

    def _mouse_moved(self, event) -> None:
        if self._map is None:
            return
        pos = event[0]
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        view_pos = self.plot.vb.mapSceneToView(pos)
        points = self.scatter.pointsAt(view_pos)
        if len(points):
            self._hover_index(int(points[-1].data()))

    def _hover_index(self, k: int | None) -> None:
        """Show map entry ``k`` (its thumbnail and classes) in the readout; None clears it."""
        self._hovered = k
        if k is None or self._map is None or not 0 <= k < len(self._map.indices):
            self.thumb.clear()
            self.readout.setText(f"<span style='color:{theme.current().muted}'>hover a dot to see the digit · "
                                 "click it to select it</span>")
            return
        index = int(self._map.indices[k])
        true, predicted = int(self._map.labels[k]), int(self._map.predictions[k])
        self.thumb.setPixmap(self.thumbnail(index))
        t = theme.current()
        color = t.correct if true == predicted else t.wrong
        self.readout.setText(f"<b>#{index}</b> &nbsp;true <b style='color:{class_color(true)}'>{true}</b> → "
                             f"predicted <b style='color:{color}'>{predicted}</b>"
                             + ("" if true == predicted else " ✗")
                             + f"<br><span style='color:{t.muted}'>(at step {self._map.step:,}) "
                               "click to select it</span>")

    def thumbnail(self, index: int) -> QtGui.QPixmap:
        ratio = self.devicePixelRatioF()
        pixmap = self._pixmaps.get((index, ratio))
        if pixmap is None:
            pixmap = style.digit_pixmap(self.dataset.test_images[index], THUMB, ratio)
            if len(self._pixmaps) > 256:
                self._pixmaps.clear()
            self._pixmaps[(index, ratio)] = pixmap
        return pixmap
