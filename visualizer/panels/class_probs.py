"""Mean softmax output per true class on the test set, as a heatmap.

Row t, column p: the probability the network gives class p, averaged over the test digits whose
true class is t. A good network has a dark diagonal; off-diagonal cells show which digits it
confuses. Re-rendered only when a new test evaluation arrives.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from nn.trainer import Snapshot

from .. import style
from ..cell_text import CellTexts, class_ticks, text_cells
from ..export_menu import add_export_menu

TITLE = "Mean softmax output per true class (test set)"
_TOOLTIP = ("Row t, column p: the network's probability for class p, averaged over all test digits "
            "of true class t.\nA dark diagonal means confident, right answers; off-diagonal cells "
            "show which digits it confuses. Numbers are percent (shown from 1 %, when the cells are large enough).")


class ClassProbabilityPanel(QtWidgets.QWidget):
    def __init__(self, parent=None, n_classes: int = 10):
        super().__init__(parent)
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(300, 300)
        self._evaluation = None  # the snap.test shown (compared by identity)
        self.cell_texts: CellTexts | None = None
        self.matrix: np.ndarray | None = None  # what the image shows (classes x classes)
        self.class_names: tuple[str, ...] = ()  # the data's, from the snapshots

        self.plot_widget, self.plot = style.class_matrix_plot()
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setLookupTable(style.SEQUENTIAL_LUT)
        self.image_item.setLevels((0.0, 1.0))
        self.plot.addItem(self.image_item)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=style.SEQUENTIAL, interactive=False,
                                        width=10, colorMapMenu=False, orientation="horizontal")
        self.colorbar.setImageItem(self.image_item, insert_in=self.plot)
        bar_axis = self.colorbar.getAxis("bottom")
        style.style_axes(self.colorbar)
        bar_axis.setTickFont(style.small_font(8))
        bar_axis.setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)], []])
        self.empty_text = style.themed_text("", "muted", anchor=(0.5, 0.5))
        self.empty_text.setFont(style.small_font(10))
        self.plot.addItem(self.empty_text, ignoreBounds=True)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.title = style.title_label(TITLE)
        layout.addWidget(self.title)
        layout.addWidget(self.plot_widget, 1)
        self.export_menu = add_export_menu(self.plot_widget, self.plot, "class probabilities")

        self._setup_grid(n_classes)
        self.clear()

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current`. The map and the numbers on it look the same in both."""
        style.restyle(self)

    def _setup_grid(self, n: int) -> None:
        if self.cell_texts is not None:
            self.cell_texts.remove()
        self.n_classes = n
        ticks = class_ticks(n, names=self.class_names)
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.vb.setDefaultPadding(0.02)
        self.plot.vb.enableAutoRange()  # fits the image, centred (aspect locked)
        # row t, column p at index t * n + p
        self.cell_texts = CellTexts(self.plot, text_cells(n, [(p + 0.5, t + 0.5) for t in range(n) for p in range(n)]))
        self.empty_text.setPos(n / 2, n / 2)

    # -- API -------------------------------------------------------------------------------------
    def clear(self) -> None:
        self._evaluation = None
        self.matrix = None
        self.image_item.setImage(np.zeros((self.n_classes, self.n_classes)), levels=(0.0, 1.0), autoLevels=False)
        self._set_cells(None)
        self.empty_text.setText("no test evaluation yet")
        self.empty_text.setVisible(True)

    def cell_text(self, t: int, p: int) -> str:
        """The number written in cell (true ``t``, predicted ``p``); "" if none."""
        return self.cell_texts.texts()[t * self.n_classes + p] if self.cell_texts.items else ""

    def show_snapshot(self, snap: Snapshot) -> None:
        evaluation = snap.test
        n = len(snap.class_names) if evaluation is None else len(evaluation.class_mean_probs)
        if n != self.n_classes or tuple(snap.class_names) != self.class_names:  # other data
            self.class_names = tuple(snap.class_names)
            self._setup_grid(n)
            self._evaluation = None
        if evaluation is self._evaluation:
            return
        if evaluation is None:
            self.clear()
            return
        self._evaluation = evaluation
        matrix = np.asarray(evaluation.class_mean_probs, dtype=np.float64)
        self.matrix = matrix
        self.image_item.setImage(matrix, levels=(0.0, 1.0), autoLevels=False)
        self.empty_text.setVisible(False)
        self._set_cells(matrix)

    def _set_cells(self, matrix: np.ndarray | None) -> None:
        if not self.cell_texts.items:
            return
        for i, value in enumerate([None] * self.n_classes ** 2 if matrix is None else matrix.ravel().tolist()):
            string = "" if value is None or not value >= 0.01 else f"{value * 100:.0f}"
            self.cell_texts.set(i, string, style.text_color_on(value) if string else "")
        self.cell_texts.fit()
