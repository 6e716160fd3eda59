"""The confusion matrix of the latest test evaluation: which digits are read as which.

Row t, column p: how many test digits of true class t the network predicted as p. Right answers
(the diagonal) dwarf the mistakes, so the two get separate colours: the diagonal in a neutral
green, the off-diagonal cells on their own red scale (the colour bar) from 0 to the largest
mistake count. Per-class recall (right column) and precision (bottom row) sit alongside.
Clicking an off-diagonal cell selects it (the mistakes gallery then shows exactly those digits);
clicking it again, or Clear, deselects it. Re-rendered only when a new test evaluation arrives.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from nn.inspection import confusion_counts
from nn.trainer import Snapshot

from .. import style, theme
from ..cell_text import CellTexts, class_ticks, text_cells
from ..export_menu import add_export_menu
from ..naming import class_name
from ..tips import AXIS_TIPS

TITLE = "Confusion matrix (test set)"
GAP = 0.25  # between the matrix and the recall / precision margins, in cells
# The cells look the same in both themes (like the colour map); the margins follow the theme.
DIAGONAL_FILL = (217, 240, 211)  # pale green: right answers, not on the mistakes' scale
DIAGONAL_TEXT = "#1b5e20"

# ColorBrewer Reds: 0 mistakes = white, the most frequent mistake = dark red.
MISTAKES = pg.ColorMap(
    np.linspace(0.0, 1.0, 9),
    np.array([(255, 245, 240), (254, 224, 210), (252, 187, 161), (252, 146, 114), (251, 106, 74),
              (239, 59, 44), (203, 24, 29), (165, 15, 21), (103, 0, 13)], dtype=np.ubyte),
    name="mistakes (white - red)",
)
MISTAKES_LUT = MISTAKES.getLookupTable(0.0, 1.0, 256, alpha=False)

_TOOLTIP = ("Row t, column p: how many test digits of true class t the network read as p.\n"
            "Green diagonal: right answers. Red cells: mistakes, coloured on their own scale "
            "(colour bar).\nRight column: recall (share of class t found); bottom row: precision "
            "(share of predictions p that are right). Numbers show when the cells are large enough.\n"
            "Click a red cell to see those digits in the mistakes gallery; click it again to show all.")


class ConfusionMatrixPanel(QtWidgets.QWidget):
    cell_selected = QtCore.pyqtSignal(int, int)  # true class, predicted class
    cell_cleared = QtCore.pyqtSignal()

    def __init__(self, dataset, parent=None):
        super().__init__(parent)
        self.dataset = dataset
        self.n_classes = int(dataset.n_classes)
        self._evaluation = None  # the snap.test shown (compared by identity)
        self._matrix: np.ndarray | None = None
        self._selected: tuple[int, int] | None = None
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(300, 300)

        self.plot_widget, self.plot = style.class_matrix_plot()
        # Room above for the colour bar's top label, and "recall" may reach past the axis' end.
        self.plot.setContentsMargins(0, 8, 0, 0)
        self.plot.getAxis("bottom").setStyle(hideOverlappingLabels=False)
        # the mistakes (diagonal at 0) on the colour bar's scale; the diagonal and margins on top
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setLookupTable(MISTAKES_LUT)
        self.plot.addItem(self.image_item)
        self.overlay_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.overlay_item)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=MISTAKES, interactive=False,
                                        width=10, colorMapMenu=False, orientation="vertical")
        self.colorbar.setImageItem(self.image_item, insert_in=self.plot)
        bar_axis = self.colorbar.getAxis("right")
        style.style_axes(self.colorbar)
        bar_axis.setTickFont(style.small_font(8))
        bar_axis.setStyle(hideOverlappingLabels=False)
        bar_axis.setLabel("mistakes per cell", **{"color": theme.current().foreground, "font-size": "8pt"})
        bar_axis.setToolTip(AXIS_TIPS["mistakes per cell"])
        self.selection_rect = QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        style.themed_pen(self.selection_rect, "select", 3.0)
        self.selection_rect.setZValue(20)
        self.selection_rect.setVisible(False)
        self.plot.addItem(self.selection_rect, ignoreBounds=True)
        self.empty_text = style.themed_text("", "muted", anchor=(0.5, 0.5))
        self.empty_text.setFont(style.small_font(10))
        self.plot.addItem(self.empty_text, ignoreBounds=True)
        self.plot.scene().sigMouseClicked.connect(self._mouse_clicked)

        self.hint = QtWidgets.QLabel()
        self.hint.setFont(style.small_font(8))
        style.themed_css(self.hint, "color: $muted;")
        self.hint.setToolTip("Click a red cell to filter the mistakes gallery by it")
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.clear_button.setToolTip("Deselect the cell: the gallery shows all mistakes again")
        self.clear_button.clicked.connect(self._clear_clicked)
        bottom = QtWidgets.QHBoxLayout()
        bottom.setContentsMargins(4, 0, 4, 4)
        bottom.addWidget(self.hint, 1)
        bottom.addWidget(self.clear_button)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.title = style.title_label(TITLE)
        layout.addWidget(self.title)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(bottom)
        self.export_menu = add_export_menu(self.plot_widget, self.plot, "confusion matrix")

        self._setup_grid(self.n_classes)
        self.clear()

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current`: the margins, labels and selection (the cells keep their map)."""
        style.restyle(self)
        self._paint_overlay()
        self._show_hint()

    def _setup_grid(self, n: int) -> None:
        self.n_classes = n
        edge = n + GAP + 1  # the recall column / precision row ends here
        margin = n + GAP + 0.5
        names = self.dataset.class_names
        self.plot.getAxis("bottom").setTicks(class_ticks(n, ((margin, "recall"),), names))
        self.plot.getAxis("left").setTicks(class_ticks(n, ((margin, "precision"),), names))
        self.plot.vb.setDefaultPadding(0.02)
        self.plot.setXRange(0, edge, padding=0.02)
        self.plot.setYRange(0, edge, padding=0.02)
        # Numbers only for a readable number of classes, each group sized to its cells on screen:
        # the diagonal (bold), the mistakes (off-diagonal, row-major), recall and precision.
        self.diagonal_texts = CellTexts(self.plot, text_cells(n, [(c + 0.5, c + 0.5) for c in range(n)]), bold=True)
        self.mistake_texts = CellTexts(self.plot, text_cells(n, [(p + 0.5, t + 0.5) for t in range(n)
                                                                 for p in range(n) if p != t]))
        self.recall_texts = CellTexts(self.plot, text_cells(n, [(margin, c + 0.5) for c in range(n)]),
                                      role="foreground")
        self.precision_texts = CellTexts(self.plot, text_cells(n, [(c + 0.5, margin) for c in range(n)]),
                                         role="foreground")
        corner = style.themed_text("in %" if self.recall_texts.items else "", "muted", anchor=(0.5, 0.5))
        corner.setFont(style.small_font(7))
        corner.setPos(margin, margin)
        self.plot.addItem(corner, ignoreBounds=True)
        self.empty_text.setPos(n / 2, n / 2)
        self._paint_overlay()

    def _paint_overlay(self) -> None:
        """Green diagonal, margins in the theme's fill, transparent elsewhere (drawn once per grid)."""
        n = self.n_classes
        size = int(np.ceil((n + GAP + 1) / GAP))  # in quarter cells, so the gap can be part of the image
        q = int(round(1 / GAP))
        overlay = np.zeros((size, size, 4), dtype=np.ubyte)
        for c in range(n):
            overlay[c * q:(c + 1) * q, c * q:(c + 1) * q] = (*DIAGONAL_FILL, 255)
        margin = n * q + 1  # the recall column / precision row start one quarter cell after the matrix
        fill = (*theme.current().margin_fill, 255)
        overlay[: n * q, margin:] = fill
        overlay[margin:, : n * q] = fill
        self.overlay_item.setImage(overlay, levels=(0, 255), autoLevels=False)
        self.overlay_item.setRect(QtCore.QRectF(0, 0, size * GAP, size * GAP))

    # -- API -------------------------------------------------------------------------------------
    def matrix(self) -> np.ndarray | None:
        """The counts shown (rows = true, columns = predicted), or None before an evaluation."""
        return None if self._matrix is None else self._matrix.copy()

    def recall(self) -> np.ndarray | None:
        """Per true class: right answers / digits of that class (NaN for an absent class)."""
        if self._matrix is None:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self._matrix) / self._matrix.sum(axis=1)

    def precision(self) -> np.ndarray | None:
        """Per predicted class: right answers / predictions of that class (NaN if never predicted)."""
        if self._matrix is None:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self._matrix) / self._matrix.sum(axis=0)

    def cell_text(self, t: int, p: int) -> str:
        """The number written in cell (true ``t``, predicted ``p``); "" if none."""
        if t == p:
            texts, index = self.diagonal_texts, t
        else:
            texts, index = self.mistake_texts, t * (self.n_classes - 1) + (p if p < t else p - 1)
        return texts.texts()[index] if texts.items else ""

    @property
    def selected_cell(self) -> tuple[int, int] | None:
        return self._selected

    def clear(self) -> None:
        self._evaluation = None
        self._matrix = None
        self.image_item.setImage(np.zeros((self.n_classes, self.n_classes)), levels=(0.0, 1.0), autoLevels=False)
        self.image_item.setRect(QtCore.QRectF(0, 0, self.n_classes, self.n_classes))
        self._set_cells(None)
        self.empty_text.setText("no test evaluation yet")
        self.empty_text.setVisible(True)
        self._show_hint()

    def show_snapshot(self, snap: Snapshot) -> None:
        evaluation = snap.test
        if evaluation is self._evaluation:
            return
        if evaluation is None:
            self.clear()
            return
        labels = self.dataset.test_y
        if len(labels) != len(evaluation.predictions):
            return  # not this data set's evaluation
        self._evaluation = evaluation
        n = self.n_classes
        matrix = confusion_counts(labels, evaluation.predictions, n)
        self._matrix = matrix
        mistakes = matrix.astype(np.float64)
        np.fill_diagonal(mistakes, 0.0)
        top = max(1.0, float(mistakes.max()))
        self.image_item.setImage(mistakes, levels=(0.0, top), autoLevels=False)
        self.image_item.setRect(QtCore.QRectF(0, 0, n, n))
        self.colorbar.setLevels((0.0, top))
        bar_ticks = sorted({0, int(top // 2), int(top)}) if top >= 2 else [0, 1]
        self.colorbar.getAxis("right").setTicks([[(v, str(v)) for v in bar_ticks], []])
        self.empty_text.setVisible(False)
        self._set_cells(matrix, top)
        self._show_hint()

    def click_cell(self, t: int, p: int) -> None:
        """What a click on cell (true ``t``, predicted ``p``) does: select an off-diagonal cell,
        or deselect it if it was selected."""
        t, p = int(t), int(p)
        if not (0 <= t < self.n_classes and 0 <= p < self.n_classes):
            return
        if self._selected == (t, p):
            self._clear_clicked()
        elif t != p:
            self._select((t, p))
            self.cell_selected.emit(t, p)

    def clear_selection(self) -> None:
        """Deselect the cell without a signal (e.g. the gallery's cell filter was removed there)."""
        self._select(None)

    # -- interaction -------------------------------------------------------------------------------
    def _mouse_clicked(self, event) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        point = self.plot.vb.mapSceneToView(event.scenePos())
        x, y = point.x(), point.y()
        if 0 <= x < self.n_classes and 0 <= y < self.n_classes:
            event.accept()
            self.click_cell(int(y), int(x))

    def _clear_clicked(self) -> None:
        if self._selected is not None:
            self._select(None)
            self.cell_cleared.emit()

    def _select(self, cell: tuple[int, int] | None) -> None:
        self._selected = cell
        if cell is None:
            self.selection_rect.setVisible(False)
        else:
            t, p = cell
            self.selection_rect.setRect(QtCore.QRectF(p, t, 1, 1))
            self.selection_rect.setVisible(True)
        self._show_hint()

    def _show_hint(self) -> None:
        self.clear_button.setEnabled(self._selected is not None)
        if self._selected is not None:
            t, p = self._selected
            count = "" if self._matrix is None else f": {int(self._matrix[t, p]):,} digits"
            names = self.dataset.class_names
            self.hint.setText(f"<b style='color:{theme.current().select}'>{class_name(names, t)} read as "
                              f"{class_name(names, p)}</b>{count}")
        elif self._matrix is not None:
            self.hint.setText("Click a red cell to see those digits")
        else:
            self.hint.setText("")

    # -- rendering -------------------------------------------------------------------------------
    def _set_cells(self, matrix: np.ndarray | None, top: float = 1.0) -> None:
        if not self.diagonal_texts.items:
            return  # too many classes for numbers: the colours say it
        n = self.n_classes
        counts = np.zeros((n, n), dtype=np.int64) if matrix is None else matrix
        for c in range(n):
            count = int(counts[c, c])
            self.diagonal_texts.set(c, str(count) if count else "", DIAGONAL_TEXT)
        off = counts[~np.eye(n, dtype=bool)].tolist()  # row-major, as the mistake texts
        for i, count in enumerate(off):
            color = style.PAPER_INK if count / top >= 0.55 else style.INK
            self.mistake_texts.set(i, str(count) if count else "", color if count else "")
        for texts, values in ((self.recall_texts, self.recall()), (self.precision_texts, self.precision())):
            for c in range(n):
                texts.set(c, "" if values is None else _percent(values[c]))
        for texts in (self.diagonal_texts, self.mistake_texts, self.recall_texts, self.precision_texts):
            texts.fit()


def _percent(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value * 100:.0f}"
