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
from ..naming import class_name

DOT_SIZE = 6
WRONG_SIZE = 8
THUMB = 42

_TOOLTIP = ("Test digits placed by the first two principal components of the last hidden layer's "
            "activations, coloured by true class; a ring marks a digit the network gets wrong.\n"
            "Well-separated clusters mean the layer tells the classes apart. Hover a dot to see the digit, "
            "click it to select it everywhere.")


LABEL_GAP_PX = 2  # between two class labels moved apart


def class_color(c: int) -> str:
    colors = theme.current().classes
    return colors[int(c) % len(colors)]


def spread_labels(points: np.ndarray, sizes: np.ndarray, area: tuple[float, float, float, float] | None = None,
                  iterations: int = 100) -> np.ndarray:
    """Label centres near ``points`` (n, 2, screen pixels) whose boxes of ``sizes`` (n, 2: width,
    height) do not overlap: each overlapping pair in turn is pushed apart, half each, along the
    axis where they overlap least, until none overlaps (or ``iterations`` rounds); centres stay
    inside ``area`` (left, top, right, bottom). Two classes whose digits share a middle would
    otherwise put one name on top of the other. (Plain floats: a few dozen pairs, and NumPy's
    per-call cost would make a round 50 times slower.)"""
    xy = [[float(x), float(y)] for x, y in np.asarray(points, dtype=np.float64).reshape(-1, 2)]
    half = [(float(w) / 2, float(h) / 2) for w, h in np.asarray(sizes, dtype=np.float64).reshape(-1, 2)]
    n = len(xy)
    bounds = None
    if area is not None:
        left, top, right, bottom = area
        bounds = [((left + w, max(left + w, right - w)), (top + h, max(top + h, bottom - h))) for w, h in half]
    for _ in range(iterations):
        moved = False
        for i in range(n):
            for j in range(i + 1, n):
                a, b = xy[i], xy[j]
                overlap = [half[i][k] + half[j][k] + LABEL_GAP_PX - abs(b[k] - a[k]) for k in (0, 1)]
                if overlap[0] <= 0 or overlap[1] <= 0:
                    continue
                k = 0 if overlap[0] < overlap[1] else 1
                step = overlap[k] / 2 if b[k] >= a[k] else -overlap[k] / 2  # (in one place: j goes right or down)
                a[k] -= step
                b[k] += step
                moved = True
        if bounds is not None:
            for (x_range, y_range), c in zip(bounds, xy):
                c[0] = min(max(c[0], x_range[0]), x_range[1])
                c[1] = min(max(c[1], y_range[0]), y_range[1])
        if not moved:
            break
    return np.array(xy, dtype=np.float64).reshape(-1, 2)


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
            text = pg.TextItem(class_name(dataset.class_names, c), anchor=(0.5, 0.5))
            text.setFont(style.small_font(11, bold=True))
            text.setZValue(5)
            text.setVisible(False)
            self.plot.addItem(text, ignoreBounds=True)  # (placed from the view's range: not part of it)
            self.class_labels.append(text)
        self._label_anchors = np.zeros((0, 2))  # the classes' medians on the map (view coordinates)
        self.plot.vb.sigRangeChanged.connect(self._place_class_labels)
        self.plot.vb.sigResized.connect(self._place_class_labels)
        self.empty_text = style.themed_text("", "muted", anchor=(0.5, 0.5))
        self.empty_text.setFont(style.small_font(10))
        self.plot.addItem(self.empty_text)
        self.export_menu = add_export_menu(self.plot_widget, self.plot, "layer map")
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
        self._label_anchors = np.zeros((0, 2))
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
        anchors = np.full((len(self.class_labels), 2), np.nan)
        for c, text in enumerate(self.class_labels):
            mine = coords[labels == c]
            text.setVisible(len(mine) > 0)
            if len(mine):
                anchors[c] = np.median(mine, axis=0)
        self._label_anchors = anchors
        ev = np.asarray(amap.explained_variance, dtype=np.float64)
        self.title.setText(f"PCA of {amap.layer} at step {amap.step:,} · PC1 {ev[0] * 100:.0f} %, "
                           f"PC2 {ev[1] * 100:.0f} %")
        self._set_legend(f"{int(wrong.sum())} of {len(labels)} wrong")
        self.plot.enableAutoRange()
        self._place_class_labels()
        self._show_selected()
        if self._hovered is not None:
            self._hover_index(self._hovered)

    def _place_class_labels(self, *_) -> None:
        """Each class's name at the middle of its digits, moved apart on screen where two would
        overlap (again whenever the view's range or size changes)."""
        shown = [c for c in range(len(self._label_anchors)) if np.isfinite(self._label_anchors[c]).all()]
        if not shown:
            return
        vb = self.plot.vb
        scene = [vb.mapViewToScene(QtCore.QPointF(*self._label_anchors[c])) for c in shown]
        points = np.array([[p.x(), p.y()] for p in scene])
        boxes = [self.class_labels[c].boundingRect() for c in shown]
        sizes = np.array([[b.width(), b.height()] for b in boxes])
        box = vb.sceneBoundingRect()
        placed = spread_labels(points, sizes, (box.left(), box.top(), box.right(), box.bottom()))
        for c, (x, y) in zip(shown, placed):
            at = vb.mapSceneToView(QtCore.QPointF(x, y))
            self.class_labels[c].setPos(at.x(), at.y())

    def _set_legend(self, wrong: str) -> None:
        self._wrong_text = wrong
        names = self.dataset.class_names
        classes = " ".join(f"<span style='color:{class_color(c)}'>●</span>{class_name(names, c)}"
                           for c in range(self.n_classes))
        wrong = wrong.replace(" ", "&nbsp;")  # (one piece: "of 1000 wrong" alone on a line read badly)
        self.legend.setText(f"{classes} &nbsp; <span style='color:{theme.current().ring}'>◯</span>&nbsp;{wrong}")

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
        names = self.dataset.class_names
        self.readout.setText(f"<b>#{index}</b> &nbsp;true <b style='color:{class_color(true)}'>"
                             f"{class_name(names, true)}</b> → "
                             f"predicted <b style='color:{color}'>{class_name(names, predicted)}</b>"
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


# -- PCA or t-SNE -------------------------------------------------------------------------------
METHODS = ("PCA", "t-SNE")
_PCA_TIP = ("Recompute the map for the network as it is now "
            "(it also refreshes every few seconds while training)")
_TSNE_TIP = ("Compute a t-SNE map of the network as it is now: a few seconds, in a separate process "
             "(training goes on)")
_TSNE_EMPTY = "t-SNE places digits the layer sees alike close together.\nPress Compute (takes a few seconds)."


def _find_layout(layout: QtWidgets.QLayout, widget: QtWidgets.QWidget) -> QtWidgets.QLayout | None:
    """The (sub)layout of ``layout`` that holds ``widget``."""
    if layout.indexOf(widget) >= 0:
        return layout
    for i in range(layout.count()):
        child = layout.itemAt(i).layout()
        found = child is not None and _find_layout(child, widget)
        if found:
            return found
    return None


class LayerMapPanel(ActivationMapPanel):
    """The map with a choice of method: PCA (live, the default) or t-SNE.

    PCA is what :class:`ActivationMapPanel` shows: the engine recomputes it every few seconds while
    training. t-SNE shows the same 1,000 test digits placed so that digits the layer sees alike sit
    together; it takes seconds, so it is computed only when asked for ("Compute"), in a process of
    its own (:mod:`visualizer.tsne_map`), with a progress bar and a Cancel button, and shows the
    network as it was at that step. A new run forgets the t-SNE map (and stops one under way).
    """

    tsne_requested = QtCore.pyqtSignal()  # compute a t-SNE map of the network as it is now
    tsne_cancel_requested = QtCore.pyqtSignal()

    def __init__(self, dataset, parent=None):
        super().__init__(dataset, parent)
        self.method = "PCA"
        self._pca_map = None  # the latest PCA map received
        self._tsne_map = None
        self.computing = False

        self.method_group = QtWidgets.QButtonGroup(self)
        self.method_buttons: dict[str, QtWidgets.QToolButton] = {}
        for name, tip in zip(METHODS, ("PCA: the two directions of largest variance; live while training",
                                       "t-SNE: neighbours stay neighbours; computed on request")):
            button = QtWidgets.QToolButton(text=name, checkable=True)
            button.setToolTip(tip)
            button.setFont(style.small_font())
            self.method_group.addButton(button)
            self.method_buttons[name] = button
        self.method_buttons["PCA"].setChecked(True)
        self.method_group.buttonClicked.connect(lambda button: self.set_method(button.text()))
        top = _find_layout(self.layout(), self.refresh_button)
        at = top.indexOf(self.refresh_button)
        for k, name in enumerate(METHODS):
            top.insertWidget(at + k, self.method_buttons[name])
        self.refresh_button.clicked.disconnect()
        self.refresh_button.clicked.connect(self._refresh_clicked)

        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFormat("t-SNE %p %")
        self.progress.setToolTip("t-SNE's progress (its optimisation's iterations)")
        self.stage_label = QtWidgets.QLabel()
        self.stage_label.setFont(style.small_font(8))
        style.themed_css(self.stage_label, "color: $muted;")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop computing the t-SNE map")
        self.cancel_button.clicked.connect(self.tsne_cancel_requested)
        self.progress_row = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self.progress_row)
        row.setContentsMargins(6, 0, 4, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.stage_label)
        row.addWidget(self.cancel_button)
        self.progress_row.hide()
        self.layout().insertWidget(self.layout().indexOf(self.plot_widget) + 1, self.progress_row)
        self._update_controls()

    # -- API ---------------------------------------------------------------------------------------
    def set_method(self, method: str) -> None:
        """Show the PCA map (live) or the t-SNE map (the last one computed)."""
        if method not in METHODS:
            raise ValueError(f"unknown map method {method!r}; one of {METHODS}")
        self.method = method
        self.method_buttons[method].setChecked(True)
        shown = self._pca_map if method == "PCA" else self._tsne_map
        if shown is not None:
            self._render(shown)
        else:
            self._show_nothing()
        self._update_controls()

    def show_snapshot(self, snap) -> None:
        self._pca_map = snap.activation_map
        if self.method == "PCA":
            super().show_snapshot(snap)

    def clear(self) -> None:
        """A new run: its maps are yet to come (a t-SNE map under way is of the old network)."""
        if getattr(self, "computing", False):
            self.tsne_cancel_requested.emit()
        self._pca_map = self._tsne_map = None
        super().clear()
        if getattr(self, "method", "PCA") != "PCA":
            self._show_nothing()

    def show_tsne_progress(self, fraction: float, stage: str) -> None:
        self.computing = True
        self.progress.setValue(round(100 * min(max(fraction, 0.0), 1.0)))
        self.stage_label.setText(stage[:40])
        self.stage_label.setToolTip(stage)
        self._update_controls()

    def show_tsne(self, amap) -> None:
        """A finished t-SNE map (shown now if t-SNE is the method chosen)."""
        self.computing = False
        self._tsne_map = amap
        if self.method == "t-SNE":
            self._render(amap)
        self._update_controls()

    def show_tsne_stopped(self, why: str) -> None:
        """The computation ended without a map: "cancelled", or "failed: <reason>"."""
        self.computing = False
        self.stage_label.setText("")
        if self.method == "t-SNE" and self._tsne_map is None:
            self._show_nothing(f"t-SNE {why}.\nPress Compute to try again.")
        self._update_controls()

    # -- rendering ---------------------------------------------------------------------------------
    def _render(self, amap) -> None:
        super()._render(amap)
        tsne = amap.method == "t-SNE"
        if tsne:
            self.title.setText(f"t-SNE of {amap.layer} at step {amap.step:,}")
        self._label_axes(tsne)

    def _show_nothing(self, text: str = _TSNE_EMPTY) -> None:
        ActivationMapPanel.clear(self)
        tsne = self.method == "t-SNE"
        if tsne:
            self.title.setText("t-SNE map of the last hidden layer")
            self._show_empty(text)
        self._label_axes(tsne)

    def _label_axes(self, tsne: bool) -> None:
        for side, k in (("bottom", 1), ("left", 2)):
            if tsne:
                style.axis_label(self.plot, side, f"t-SNE {k}", tip="t-SNE's axes have no meaning of their own: "
                                 "what counts is which digits sit close together")
            else:
                style.axis_label(self.plot, side, f"PC{k}")

    def _update_controls(self) -> None:
        tsne = self.method == "t-SNE"
        self.refresh_button.setText("Compute" if tsne else "Refresh")
        self.refresh_button.setToolTip(_TSNE_TIP if tsne else _PCA_TIP)
        self.refresh_button.setEnabled(not (tsne and self.computing))
        self.progress_row.setVisible(self.computing)

    def _refresh_clicked(self) -> None:
        if self.method == "t-SNE":
            self.tsne_requested.emit()
        else:
            self.refresh_requested.emit()
