"""The mistakes gallery: every digit the network gets wrong, as crisp thumbnails.

Each thumbnail is captioned ``true → predicted`` with the network's probability for the class it
predicted. The list comes from the latest evaluation in the snapshot (``snap.test``, or
``snap.train_evaluation`` for the training set, which the main window has the worker compute on
request: see :attr:`MistakesGallery.train_evaluation_requested`).

Only visible thumbnails are painted: a list model holds the mistakes' indices and a delegate draws
each one from a small cache of pixmaps (nearest-neighbour scaling, no blur). New evaluations are
applied at most about once a second, keeping the selected digit and the scroll position, so the
gallery can be browsed while training runs (and stands still once training is paused).
"""

from __future__ import annotations

import csv
import io
import math
import os
import time

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.files import atomic_write
from nn.trainer import Evaluation, Snapshot

from .. import style, theme
from ..naming import ARROW, class_name, confusion_caption, digits_only

MIN_INTERVAL_S = 1.0  # apply a new evaluation at most this often
TRAIN_REQUEST_INTERVAL_S = 2.0  # ask for a training-set evaluation at most this often
TRAIN_MAX_AGE_S = 1.0  # of training: an older training-set evaluation is refreshed
THUMB = 56  # thumbnail side in pixels for 28 x 28 images (an integer multiple of the image: crisp)
CELL_W, CELL_H = 70, 94  # one gallery item
PIXMAP_CACHE = 1500  # thumbnails kept (about 4 MB)

SORTS = {
    "confident": "most confidently wrong",
    "unsure": "least confident",
    "index": "by index",
}
SOURCES = {"test": "test set", "train": "training set"}
DIGIT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1

_TOOLTIP = ("The digits the network gets wrong. Caption: true class → predicted class, and the "
            "network's probability for the class it predicted.\nClick a digit (or press Enter) to "
            "show its softmax output; press P to pin it and watch whether the network learns it.")


def cell_layout(image_shape, names) -> tuple[int, QtCore.QSize]:
    """(thumbnail side, gallery cell size) for images of ``image_shape`` and classes ``names``: the
    thumbnail a whole multiple of the image (crisp), the cell wide enough for the class names and
    a line taller when a caption may need two ("Shirt" over "→ T-shirt/top")."""
    side = max(int(s) for s in image_shape)
    thumb = max(1, round(THUMB / side)) * side
    width, height = max(CELL_W, thumb + 14), CELL_H - THUMB + thumb
    if not digits_only(names):
        metrics = QtGui.QFontMetrics(style.small_font(9, bold=True))
        widest = max(metrics.horizontalAdvance(str(n)) for n in names)
        width = max(width, min(130, widest + metrics.horizontalAdvance(ARROW.lstrip()) + 12))
        height += metrics.height()
    return thumb, QtCore.QSize(width, height)


def _count(n: int) -> str:
    return f"{n:,}"


class MistakesModel(QtCore.QAbstractListModel):
    """The mistakes listed, in display order: their digit indices, classes and confidences."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.indices = np.zeros(0, dtype=np.intp)
        self.true = np.zeros(0, dtype=np.intp)
        self.predicted = np.zeros(0, dtype=np.intp)
        self.confidence = np.zeros(0)
        self.names: tuple[str, ...] = ()  # the classes' names (the data's)

    def set_rows(self, indices, true, predicted, confidence) -> None:
        self.beginResetModel()
        self.indices, self.true, self.predicted, self.confidence = indices, true, predicted, confidence
        self.endResetModel()

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.indices)

    def data(self, index: QtCore.QModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole):
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self.indices):
            return None
        if role == DIGIT_ROLE:
            return int(self.indices[row])
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return confusion_caption(self.names, self.true[row], self.predicted[row])
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            return (f"Digit #{self.indices[row]}: true {class_name(self.names, self.true[row])}, read as "
                    f"{class_name(self.names, self.predicted[row])} "
                    f"with probability {self.confidence[row] * 100:.1f} %\n"
                    "Click or Enter: show its softmax output · P: pin it")
        return None

    def row_of(self, digit: int) -> int | None:
        rows = np.flatnonzero(self.indices == digit)
        return int(rows[0]) if len(rows) else None


class ThumbnailDelegate(QtWidgets.QStyledItemDelegate):
    """Paints one mistake: the digit (dark ink on white, nearest-neighbour) above its caption."""

    def __init__(self, gallery: "MistakesGallery"):
        super().__init__(gallery)
        self.gallery = gallery
        self.caption_font = style.small_font(9, bold=True)
        self.percent_font = style.small_font(8)

    def sizeHint(self, option, index) -> QtCore.QSize:  # noqa: N802 (Qt API)
        return self.gallery.cell_size

    def paint(self, painter: QtGui.QPainter, option, index: QtCore.QModelIndex) -> None:
        model: MistakesModel = index.model()
        row = index.row()
        if not 0 <= row < len(model.indices):
            return
        rect = option.rect
        selected = bool(option.state & QtWidgets.QStyle.StateFlag.State_Selected)
        t = theme.current()  # read at each paint: a theme change only needs a repaint
        highlight, muted = QtGui.QColor(t.select), QtGui.QColor(t.muted)
        painter.save()
        if selected:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), QtGui.QColor(t.select_fill))
            painter.setPen(QtGui.QPen(highlight, 3))
            painter.drawRect(rect.adjusted(2, 2, -2, -2))
        thumb = self.gallery.thumb
        x = rect.x() + (rect.width() - thumb) // 2
        y = rect.y() + 5
        digit = int(model.indices[row])
        painter.drawPixmap(x, y, self.gallery.thumbnail(digit))
        painter.setPen(QtGui.QPen(highlight if selected else QtGui.QColor(t.frame), 1))
        painter.drawRect(x - 1, y - 1, thumb + 1, thumb + 1)
        if digit in self.gallery.pinned and self.gallery._source == "test":  # a pin mark, top right
            painter.setBrush(highlight)
            painter.setPen(QtGui.QPen(QtGui.QColor("white"), 1.5))
            painter.drawEllipse(QtCore.QRectF(x + thumb - 9, y - 3, 11, 11))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        # caption: "4 → 9" (true in green, predicted in red), then the confidence; names that do
        # not fit on one line take two: "Shirt" over "→ T-shirt/top"
        painter.setFont(self.caption_font)
        metrics = painter.fontMetrics()
        true, predicted = class_name(model.names, model.true[row]), class_name(model.names, model.predicted[row])
        room = rect.width() - 6
        if metrics.horizontalAdvance(true + ARROW + predicted) <= room:
            lines = [[(true, t.correct), (ARROW, t.muted), (predicted, t.wrong)]]
        else:
            arrow = ARROW.lstrip()
            elide = QtCore.Qt.TextElideMode.ElideRight
            lines = [[(metrics.elidedText(true, elide, room), t.correct)],
                     [(arrow, t.muted), (metrics.elidedText(predicted, elide, room - metrics.horizontalAdvance(arrow)),
                                         t.wrong)]]
        ty = y + thumb + 4 + metrics.ascent()
        for k, parts in enumerate(lines):
            ty += k * metrics.height()
            tx = rect.x() + (rect.width() - sum(metrics.horizontalAdvance(s) for s, _ in parts)) // 2
            for text, color in parts:
                painter.setPen(QtGui.QColor(color))
                painter.drawText(tx, ty, text)
                tx += metrics.horizontalAdvance(text)
        painter.setFont(self.percent_font)
        painter.setPen(muted)
        percent_rect = QtCore.QRect(rect.x(), ty + 3, rect.width(), painter.fontMetrics().height())
        painter.drawText(percent_rect, QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop,
                         f"{model.confidence[row] * 100:.0f} %")
        painter.restore()


class _GridView(QtWidgets.QListView):
    """The thumbnail grid; Enter selects the current digit, P pins it."""

    enter_pressed = QtCore.pyqtSignal(QtCore.QModelIndex)
    pin_pressed = QtCore.pyqtSignal(QtCore.QModelIndex)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt API)
        key = event.key()
        if key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.enter_pressed.emit(self.currentIndex())
            event.accept()
        elif key == QtCore.Qt.Key.Key_P and not event.modifiers() and self.currentIndex().isValid():
            self.pin_pressed.emit(self.currentIndex())
            event.accept()
        else:
            super().keyPressEvent(event)


class MistakesGallery(QtWidgets.QWidget):
    digit_selected = QtCore.pyqtSignal(int, str)  # digit index, "test" or "train"
    pin_requested = QtCore.pyqtSignal(int)  # a test digit to pin
    train_evaluation_requested = QtCore.pyqtSignal()  # please evaluate the training set
    cell_filter_cleared = QtCore.pyqtSignal()  # the person removed the confusion-cell filter

    def __init__(self, dataset, parent=None):
        super().__init__(parent)
        self.dataset = dataset
        self.n_classes = int(dataset.n_classes)
        self.names = dataset.class_names
        self.thumb, self.cell_size = cell_layout(dataset.image_shape, self.names)
        self._source = "test"
        self.pinned: frozenset[int] = frozenset()  # test digits pinned: marked on their thumbnails
        self._sort = "confident"
        self._true_filter: int | None = None
        self._predicted_filter: int | None = None
        self._cell: tuple[int, int] | None = None
        self._evaluation: Evaluation | None = None  # the evaluation listed
        self._snap: Snapshot | None = None  # the latest snapshot received
        self._pending = False  # a newer evaluation waits for the throttle
        self._last_apply = -math.inf
        self._last_train_request = -math.inf
        self._wrong = np.zeros(0, dtype=np.intp)  # all mistakes of the evaluation (unfiltered)
        self._pixmaps: dict[tuple[str, int, float], QtGui.QPixmap] = {}
        style.paint_background(self)
        self.setToolTip(_TOOLTIP)
        self.setMinimumSize(300, 300)

        # -- controls
        self.source_combo = QtWidgets.QComboBox()
        for key, text in SOURCES.items():
            self.source_combo.addItem(text, key)
        self.source_combo.setToolTip("Show the mistakes on the test set, or on the training set "
                                     "(evaluated on request: it is 6x larger)")
        self.sort_combo = QtWidgets.QComboBox()
        for key, text in SORTS.items():
            self.sort_combo.addItem(text, key)
        self.sort_combo.setToolTip("Order of the mistakes: the network's probability for its wrong "
                                   "answer, high to low or low to high, or the digits' index")
        self.true_combo = self._class_combo("true", "Show only mistakes on digits of this true class")
        self.predicted_combo = self._class_combo("read as", "Show only digits the network read as this class")
        self.cell_chip = QtWidgets.QPushButton()
        self.cell_chip.setToolTip("Showing one cell of the confusion matrix; click to show all mistakes")
        style.themed_css(self.cell_chip,
                         "QPushButton { background: $select_fill; border: 1px solid $select; border-radius: 9px; "
                         "padding: 1px 8px; color: $select_text; font-weight: 600; }"
                         "QPushButton:hover { border-width: 2px; }")
        self.cell_chip.setVisible(False)
        self.source_combo.currentIndexChanged.connect(lambda _: self.set_source(self.source_combo.currentData()))
        self.sort_combo.currentIndexChanged.connect(lambda _: self.set_sort(self.sort_combo.currentData()))
        self.true_combo.currentIndexChanged.connect(lambda _: self._combo_filter_changed())
        self.predicted_combo.currentIndexChanged.connect(lambda _: self._combo_filter_changed())
        self.cell_chip.clicked.connect(self._chip_clicked)

        row1 = QtWidgets.QHBoxLayout()
        row1.setContentsMargins(4, 4, 4, 0)
        row1.setSpacing(4)
        row1.addWidget(self.source_combo)
        row1.addWidget(self.sort_combo, 1)
        row2 = QtWidgets.QHBoxLayout()
        row2.setContentsMargins(4, 0, 4, 0)
        row2.setSpacing(4)
        for text, combo in (("true", self.true_combo), ("read as", self.predicted_combo)):
            label = QtWidgets.QLabel(text)
            label.setToolTip(combo.toolTip())
            row2.addWidget(label)
            row2.addWidget(combo)
        row2.addWidget(self.cell_chip)
        row2.addStretch(1)

        self.count_label = QtWidgets.QLabel()
        self.count_label.setFont(style.small_font())
        style.themed_css(self.count_label, "color: $foreground; padding: 0px 4px;")
        self.count_label.setToolTip("Mistakes listed, mistakes in the evaluation shown, and its accuracy")

        # -- the grid (only visible items are painted) and the empty state
        self.model = MistakesModel(self)
        self.model.names = self.names
        self.view = _GridView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(ThumbnailDelegate(self))
        self.view.setViewMode(QtWidgets.QListView.ViewMode.ListMode)
        self.view.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.view.setWrapping(True)
        self.view.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.view.setMovement(QtWidgets.QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setSpacing(0)
        self.view.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.verticalScrollBar().setSingleStep(CELL_H // 3)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        style.themed_css(self.view, "QListView { background: $background; border: 1px solid $frame; }")
        self.view.setToolTip(_TOOLTIP)
        self.view.clicked.connect(self._activate)
        self.view.enter_pressed.connect(self._activate)
        self.view.pin_pressed.connect(self._pin)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.empty_label = QtWidgets.QLabel()
        self.empty_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setFont(style.small_font(10))
        style.themed_css(self.empty_label, "color: $muted; background: $background;")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.view)

        # -- export
        self.png_button = QtWidgets.QPushButton("Save image…")
        self.png_button.setToolTip("Save the visible part of the gallery as a PNG image")
        self.csv_button = QtWidgets.QPushButton("Export CSV…")
        self.csv_button.setToolTip("Save the mistakes listed (in this order and filter) as CSV: index, "
                                   "true, predicted, confidence and all class probabilities")
        self.png_button.clicked.connect(self._save_png_dialog)
        self.csv_button.clicked.connect(self._save_csv_dialog)
        self.message_label = QtWidgets.QLabel()
        self.message_label.setFont(style.small_font(8))
        self.message_label.setWordWrap(True)
        self.message_label.setToolTip("The result of the last export")
        bottom = QtWidgets.QHBoxLayout()
        bottom.setContentsMargins(4, 0, 4, 4)
        bottom.addWidget(self.message_label, 1)
        bottom.addWidget(self.png_button)
        bottom.addWidget(self.csv_button)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(style.title_label("Mistakes"))
        layout.addLayout(row1)
        layout.addLayout(row2)
        if not digits_only(self.names):  # the cell chip ("Shirt → T-shirt/top  ✕") gets a row of its own
            row2.removeWidget(self.cell_chip)
            chip_row = QtWidgets.QHBoxLayout()
            chip_row.setContentsMargins(4, 0, 4, 0)
            chip_row.addWidget(self.cell_chip)
            chip_row.addStretch(1)
            layout.addLayout(chip_row)
        layout.addWidget(self.count_label)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bottom)

        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        self.clear()

    def _class_combo(self, what: str, tooltip: str) -> QtWidgets.QComboBox:
        combo = QtWidgets.QComboBox()
        combo.addItem("any", None)
        for c in range(self.n_classes):
            combo.addItem(class_name(self.names, c), c)
        combo.setToolTip(tooltip)
        combo.setAccessibleName(f"filter by {what} class")
        return combo

    # -- thumbnails ---------------------------------------------------------------------------------
    def _images(self, source: str | None = None) -> np.ndarray:
        return self.dataset.test_images if (source or self._source) == "test" else self.dataset.train_images

    def _labels(self, source: str | None = None) -> np.ndarray:
        return self.dataset.test_y if (source or self._source) == "test" else self.dataset.train_y

    def thumbnail(self, digit: int) -> QtGui.QPixmap:
        """The digit as dark ink on white, scaled nearest-neighbour to THUMB px (cached), with the
        screen's pixel density (crisp on high-DPI screens)."""
        ratio = self.devicePixelRatioF()
        key = (self._source, digit, ratio)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            pixmap = style.digit_pixmap(self._images()[digit], self.thumb, ratio)
            if len(self._pixmaps) >= PIXMAP_CACHE:
                for old in list(self._pixmaps)[: PIXMAP_CACHE // 4]:  # the oldest quarter
                    del self._pixmaps[old]
            self._pixmaps[key] = pixmap
        return pixmap

    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current` (the thumbnails stay ink on paper)."""
        style.restyle(self)
        self.view.viewport().update()

    # -- API: snapshots -------------------------------------------------------------------------
    def clear(self) -> None:
        """A new run: forget the old network's evaluations (the person's sort and filters stay)."""
        self._timer.stop()
        self._snap = None
        self._evaluation = None
        self._pending = False
        self._last_apply = -math.inf
        self._last_train_request = -math.inf
        self._wrong = np.zeros(0, dtype=np.intp)
        self.model.set_rows(*self._empty_rows())
        self._show_count()
        self._show_empty("waiting for the first evaluation…")

    def show_snapshot(self, snap: Snapshot) -> None:
        self._snap = snap
        evaluation = self._source_evaluation(snap)
        if self._source == "train":
            self._maybe_request_train(snap)
        if evaluation is self._evaluation:
            if self._pending:  # the newer evaluation was replaced by this very one again
                self._pending = False
            if evaluation is None:
                self._show_state()  # e.g. "evaluating the training set…"
            return
        wait = MIN_INTERVAL_S - (time.monotonic() - self._last_apply)
        if self._evaluation is None or evaluation is None or wait <= 0:
            self._apply()
        else:
            self._pending = True
            if not self._timer.isActive():
                self._timer.start(max(1, int(wait * 1000)))

    def _source_evaluation(self, snap: Snapshot | None) -> Evaluation | None:
        if snap is None:
            return None
        evaluation = snap.test if self._source == "test" else snap.train_evaluation
        if evaluation is not None and len(evaluation.predictions) != len(self._labels()):
            return None  # not this data set's evaluation
        return evaluation

    def _train_evaluation_stale(self, snap: Snapshot) -> bool:
        evaluation = snap.train_evaluation
        if evaluation is None:
            return True
        if evaluation.step == snap.step or snap.samples_seen <= 0:
            return False
        seconds_per_sample = snap.train_seconds / snap.samples_seen
        return (snap.samples_seen - evaluation.samples_seen) * seconds_per_sample > TRAIN_MAX_AGE_S

    def _maybe_request_train(self, snap: Snapshot) -> None:
        if snap.diverged is not None or not self._train_evaluation_stale(snap):
            return
        wait = TRAIN_REQUEST_INTERVAL_S - (time.monotonic() - self._last_train_request)
        if wait <= 0:
            self._last_train_request = time.monotonic()
            self.train_evaluation_requested.emit()
        elif not self._timer.isActive():  # paused: no snapshot may come to ask again
            self._timer.start(max(1, int(wait * 1000)))

    def _on_timer(self) -> None:
        if self._pending:
            self._apply()
        if self._source == "train" and self._snap is not None:
            self._maybe_request_train(self._snap)

    # -- API: browsing ------------------------------------------------------------------------
    def set_pinned(self, indices) -> None:
        """Mark these test digits as pinned (a pin mark on their thumbnails)."""
        self.pinned = frozenset(int(i) for i in indices)
        self.view.viewport().update()

    def shown_indices(self) -> list[int]:
        return [int(i) for i in self.model.indices]

    def selected_index(self) -> int | None:
        current = self.view.currentIndex()
        if not current.isValid() or not self.view.selectionModel().isSelected(current):
            return None
        return current.data(DIGIT_ROLE)

    def set_sort(self, name: str) -> None:
        if name not in SORTS:
            name = next((k for k, v in SORTS.items() if v == name), None)
            if name is None:
                raise ValueError(f"unknown sort {name!r}; one of {list(SORTS)}")
        self._set_combo(self.sort_combo, name)
        if name != self._sort:
            self._sort = name
            self._refresh()

    def set_true_filter(self, c: int | None) -> None:
        self._set_class_filters(c, self._predicted_filter)

    def set_predicted_filter(self, c: int | None) -> None:
        self._set_class_filters(self._true_filter, c)

    def set_cell_filter(self, true_class: int, predicted_class: int) -> None:
        """Show only the digits of ``true_class`` read as ``predicted_class`` (a confusion cell)."""
        cell = (int(true_class), int(predicted_class))
        self._true_filter = self._predicted_filter = None
        self._set_combo(self.true_combo, None)
        self._set_combo(self.predicted_combo, None)
        self._cell = cell
        self.cell_chip.setText(f"{confusion_caption(self.names, *cell)}  ✕")
        self.cell_chip.setVisible(True)
        self._refresh()

    def clear_cell_filter(self) -> None:
        if self._cell is not None:
            self._cell = None
            self.cell_chip.setVisible(False)
            self._refresh()

    def set_source(self, source: str) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be 'test' or 'train', not {source!r}")
        self._set_combo(self.source_combo, source)
        if source == self._source:
            return
        self._source = source
        self._evaluation = None
        self._pending = False
        self._timer.stop()
        self.model.set_rows(*self._empty_rows())
        self._wrong = np.zeros(0, dtype=np.intp)
        if self._snap is not None:
            self.show_snapshot(self._snap)
        self._show_count()
        self._show_state()

    def select_index(self, i: int) -> bool:
        """Select digit ``i`` if it is listed (no signal); returns whether it is."""
        row = self.model.row_of(int(i))
        if row is None:
            return False
        index = self.model.index(row)
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        return True

    # -- filters and sorting -----------------------------------------------------------------------
    @staticmethod
    def _set_combo(combo: QtWidgets.QComboBox, data) -> None:
        i = combo.findData(data)
        if i >= 0 and i != combo.currentIndex():
            blocked = combo.blockSignals(True)
            combo.setCurrentIndex(i)
            combo.blockSignals(blocked)

    def _set_class_filters(self, true_class, predicted_class) -> None:
        true_class = None if true_class is None else int(true_class)
        predicted_class = None if predicted_class is None else int(predicted_class)
        self._set_combo(self.true_combo, true_class)
        self._set_combo(self.predicted_combo, predicted_class)
        changed = (true_class, predicted_class) != (self._true_filter, self._predicted_filter)
        self._true_filter, self._predicted_filter = true_class, predicted_class
        if self._cell is not None:  # a class filter replaces the confusion cell
            self._cell = None
            self.cell_chip.setVisible(False)
            self.cell_filter_cleared.emit()
            changed = True
        if changed:
            self._refresh()

    def _combo_filter_changed(self) -> None:
        self._set_class_filters(self.true_combo.currentData(), self.predicted_combo.currentData())

    def _chip_clicked(self) -> None:
        self.clear_cell_filter()
        self.cell_filter_cleared.emit()

    def _empty_rows(self):
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, empty, np.zeros(0)

    def _listed(self, evaluation: Evaluation):
        """(indices, true, predicted, confidence) of the mistakes listed, in display order."""
        labels = self._labels()
        wrong = self._wrong
        true, predicted = labels[wrong], evaluation.predictions[wrong]
        keep = np.ones(len(wrong), dtype=bool)
        t, p = self._cell if self._cell is not None else (self._true_filter, self._predicted_filter)
        if t is not None:
            keep &= true == t
        if p is not None:
            keep &= predicted == p
        idx = wrong[keep]
        confidence = evaluation.confidences[idx].astype(np.float64)
        if self._sort == "confident":
            order = np.argsort(-confidence, kind="stable")
        elif self._sort == "unsure":
            order = np.argsort(confidence, kind="stable")
        else:
            order = np.arange(len(idx))  # already ascending
        idx = idx[order]
        return idx, labels[idx].astype(np.intp), evaluation.predictions[idx].astype(np.intp), confidence[order]

    # -- rendering -----------------------------------------------------------------------------------
    def _apply(self) -> None:
        """List the mistakes of the latest snapshot's evaluation."""
        self._timer.stop()
        self._pending = False
        self._last_apply = time.monotonic()
        evaluation = self._source_evaluation(self._snap)
        self._evaluation = evaluation
        if evaluation is None:
            self._wrong = np.zeros(0, dtype=np.intp)
        else:
            self._wrong = np.flatnonzero(evaluation.predictions != self._labels())
        self._refresh()
        if self._source == "train" and self._snap is not None:
            self._maybe_request_train(self._snap)

    def _refresh(self) -> None:
        """Rebuild the list from the evaluation shown, keeping the selection and scroll position."""
        evaluation = self._evaluation
        selected = self.selected_index()
        anchor = self._anchor()
        rows = self._listed(evaluation) if evaluation is not None else self._empty_rows()
        if len(rows[0]) == len(self.model.indices) and np.array_equal(rows[0], self.model.indices) \
                and np.array_equal(rows[3], self.model.confidence) and np.array_equal(rows[2], self.model.predicted):
            self._show_count()
            self._show_state()
            return  # nothing visible changed: no reset, no flicker
        updates = self.view.updatesEnabled()
        self.view.setUpdatesEnabled(False)
        try:
            self.model.set_rows(*rows)
            self._show_state()
            self._restore(selected, anchor)
        finally:
            self.view.setUpdatesEnabled(updates)
        self._show_count()

    def _anchor(self) -> tuple[int, int] | None:
        """(digit, its top in the viewport) of the selected digit if visible, else the top-left one."""
        if not len(self.model.indices) or self.stack.currentWidget() is not self.view:
            return None
        viewport = self.view.viewport().rect()
        current = self.view.currentIndex()
        if current.isValid():
            rect = self.view.visualRect(current)
            if rect.intersects(viewport):
                return current.data(DIGIT_ROLE), rect.top()
        top = self.view.indexAt(QtCore.QPoint(CELL_W // 2, CELL_H // 2))
        if top.isValid():
            return top.data(DIGIT_ROLE), self.view.visualRect(top).top()
        return None

    def _restore(self, selected: int | None, anchor: tuple[int, int] | None) -> None:
        self.view.doItemsLayout()
        bar = self.view.verticalScrollBar()
        if selected is not None:
            row = self.model.row_of(selected)
            if row is not None:
                self.view.selectionModel().setCurrentIndex(
                    self.model.index(row), QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if anchor is not None:
            row = self.model.row_of(anchor[0])
            if row is not None:
                top = self.view.visualRect(self.model.index(row)).top()
                bar.setValue(bar.value() + top - anchor[1])
                return
        # the anchor left the list: stay where the list was (Qt clamps to the new range)

    def _show_state(self) -> None:
        if len(self.model.indices):
            self.stack.setCurrentWidget(self.view)
            return
        if self._evaluation is None:
            if self._source == "train" and self._snap is not None:
                text = ("evaluating the training set…" if self._snap.diverged is None
                        else "the network diverged: no evaluation")
            else:
                text = "waiting for the first evaluation…"
        elif not len(self._wrong):
            text = "No mistakes!"
        else:
            text = "No mistakes match the filter."
        self._show_empty(text)

    def _show_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.stack.setCurrentWidget(self.empty_label)

    def _show_count(self) -> None:
        evaluation = self._evaluation
        if evaluation is None:
            self.count_label.setText("")
            return
        total = len(evaluation.predictions)
        text = f"{_count(len(self._wrong))} wrong of {_count(total)} ({evaluation.accuracy * 100:.2f} % right)"
        filtered = self._cell is not None or self._true_filter is not None or self._predicted_filter is not None
        if filtered:
            text = f"{_count(len(self.model.indices))} shown · {text}"
        if self._source == "train":
            text += " · training set"
            if self._snap is not None and evaluation.step != self._snap.step:
                text += f", step {evaluation.step:,}"
        self.count_label.setText(text)

    # -- interaction ---------------------------------------------------------------------------------
    def _activate(self, index: QtCore.QModelIndex) -> None:
        digit = index.data(DIGIT_ROLE)
        if digit is not None:
            self.digit_selected.emit(int(digit), self._source)

    def _pin(self, index: QtCore.QModelIndex) -> None:
        digit = index.data(DIGIT_ROLE)
        if digit is None:
            return
        if self._source != "test":
            self._message("Only test digits can be pinned: switch to the test set.", error=True)
            return
        self.pin_requested.emit(int(digit))
        self._message(f"Pinned #{digit}.")

    def _context_menu(self, pos: QtCore.QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        self.view.setCurrentIndex(index)
        digit = index.data(DIGIT_ROLE)
        menu = QtWidgets.QMenu(self)
        show = menu.addAction(f"Show softmax of #{digit}")
        pin = menu.addAction(f"Pin #{digit}  (P)")
        pin.setEnabled(self._source == "test")
        chosen = menu.exec(self.view.viewport().mapToGlobal(pos))
        if chosen is show:
            self._activate(index)
        elif chosen is pin:
            self._pin(index)

    def _message(self, text: str, error: bool = False) -> None:
        style.themed_css(self.message_label, "color: $wrong;" if error else "color: $muted;")
        self.message_label.setText(text)

    # -- export ----------------------------------------------------------------------------------------
    def export_png(self, path) -> bool:
        """Save the visible grid as a PNG (atomically). Returns False (and says why) on failure."""
        from ..export import png_bytes

        image = self.stack.currentWidget().grab().toImage()
        return self._write_atomically(path, lambda: png_bytes(image) or _raise("could not encode the image"))

    def export_csv(self, path) -> bool:
        """Save the mistakes listed (display order) as CSV: index, true, predicted, confidence,
        p0..p(n-1). Written atomically; returns False (and says why) on failure."""
        evaluation = self._evaluation
        indices, true, predicted, confidence = (self.model.indices, self.model.true, self.model.predicted,
                                                self.model.confidence)
        n_classes = evaluation.probs.shape[1] if evaluation is not None else self.n_classes

        def text() -> str:
            out = io.StringIO(newline="")
            writer = csv.writer(out)
            writer.writerow(["index", "true", "predicted", "confidence"] + [f"p{c}" for c in range(n_classes)]
                            + ["true_name", "predicted_name"])
            for k, digit in enumerate(indices):
                probs = evaluation.probs[digit]
                writer.writerow([int(digit), int(true[k]), int(predicted[k]), f"{confidence[k]:.9g}"]
                                + [f"{float(v):.9g}" for v in probs]
                                + [class_name(self.names, true[k]), class_name(self.names, predicted[k])])
            return out.getvalue()

        return self._write_atomically(path, text, f"{len(indices):,} mistakes")

    def _write_atomically(self, path, content, what: str = "image") -> bool:
        """Write what ``content()`` returns (bytes or text) with :func:`nn.files.atomic_write`."""
        name = os.path.basename(os.fspath(path))
        try:
            atomic_write(path, content())
        except Exception as exc:  # noqa: BLE001 - reported inline; the app stays usable
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._message(f"Could not save {name}: {reason}", error=True)
            return False
        self._message(f"Saved {what} to {name}.")
        return True

    def _save_png_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the gallery as an image", "mistakes.png",
                                                        "PNG images (*.png)")
        if path:
            self.export_png(path)

    def _save_csv_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export the mistakes as CSV", "mistakes.csv",
                                                        "CSV files (*.csv)")
        if path:
            self.export_csv(path)


def _raise(message: str):
    raise OSError(0, message)
