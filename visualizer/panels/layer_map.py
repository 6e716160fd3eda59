"""The map of the last hidden layer with a choice of method: PCA (live, the default) or t-SNE.

PCA is what :class:`ActivationMapPanel` shows: the engine recomputes it every few seconds while
training. t-SNE shows the same 1,000 test digits placed so that digits the layer sees alike sit
together; it takes seconds, so it is computed only when asked for ("Compute"), in a process of
its own (:mod:`visualizer.tsne_map`), with a progress bar and a Cancel button, and shows the
network as it was at that step. A new run forgets the t-SNE map (and stops one under way).
"""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from .. import style
from .pca_map import ActivationMapPanel

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
        style.axis_label(self.plot, "bottom", "t-SNE 1" if tsne else "PC1")
        style.axis_label(self.plot, "left", "t-SNE 2" if tsne else "PC2")

    def _show_nothing(self, text: str = _TSNE_EMPTY) -> None:
        ActivationMapPanel.clear(self)
        if self.method == "t-SNE":
            self.title.setText("t-SNE map of the last hidden layer")
            self._show_empty(text)

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
