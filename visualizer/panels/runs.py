"""Runs: compare the runs of this session — did lr 0.5 beat lr 0.1?

A sortable table lists the live run (first row, marked "current") and every earlier run the
worker kept (``worker.runs_changed`` -> :meth:`RunsPanel.set_runs`), with its settings and key
figures. Below it two plots overlay the loss and the accuracy of every run whose "show" box is
ticked, over training samples seen: test curves solid, training-batch curves faint, one colour per
run (stable for its ``run_id``) and a legend naming what differs between the shown runs.

The panel never edits runs itself: ticking "show", renaming (double-click the name) and deleting
(button or the Delete key) emit :attr:`RunsPanel.hidden_changed`, :attr:`RunsPanel.rename_requested`
and :attr:`RunsPanel.delete_requested`, which the main window routes to the worker; the worker
answers with ``runs_changed``. (Hiding and renaming show at once, before the answer arrives.)

Cost: the table's current row and the current run's curves follow ``show_snapshot`` at most
:attr:`RunsPanel.REFRESH_S` apart; the other runs' curves are rebuilt only when the set of runs,
their visibility or their names change.
"""

from __future__ import annotations

import csv
import io
import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from nn.files import format_duration
from nn.runs import RunRecord, difference_labels, run_labels
from nn.trainer import Snapshot

from .. import style, theme
from ..export_menu import add_export_menu
from ..naming import data_name
from ..runs_import import run_status
from .curves import nice_ceiling

_LEFT_ALIGNED = ("show", "name", "layers", "optimizer", "data")
SORT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
RUN_ID_ROLE = QtCore.Qt.ItemDataRole.UserRole + 2
_EMPTY = np.zeros(0)
MESSAGE_MS = 10_000  # "Deleted …", "Exported …" fade back to the hint after this
LEGEND_MARGIN = 16  # px the legend needs besides its own size inside the plot (its offset from the corner)
LEGEND_CHARS = 30  # longer labels take two lines in the legend, then are cut short

# (key, header, tooltip): the figures first, so they are in view in a narrow panel
COLUMNS = (
    ("show", "show", "Overlay this run's curves on the plots (its colour in the plots)"),
    ("name", "run", "The run's name (double-click to rename), or what sets it apart from the others; "
                    "hover for all of it"),
    ("final", "final %", "Test accuracy at the latest evaluation"),
    ("best", "best %", "Best test accuracy of any evaluation during the run"),
    ("time", "time", "Training time (without test evaluations)"),
    ("lr", "lr", "Learning rate (the base rate, before any decay), and each value it was changed to live"),
    ("batch", "batch", "Batch size (full = the whole training set per step), and each value it was changed to live"),
    ("layers", "layers", "Layer sizes: inputs - hidden - classes"),
    ("optimizer", "optimiser", "Optimiser"),
    ("steps", "steps", "Training steps (batches) done"),
    ("epochs", "epochs", "Passes over the training set"),
    ("data", "data", "The dataset the run trained on"),
)
COL = {key: i for i, (key, _, _) in enumerate(COLUMNS)}

_HINT = "Press Reset to start another run (e.g. with another learning rate): this one stays here to compare."
_EMPTY_HINT = "No runs yet. Train, then press Reset: each run stays here to compare with the next."


def run_color(run_id: int) -> str:
    """A run's colour: the theme's run colours (tab10 without grey, and without the red that means
    "diverged" here), kept for its run_id."""
    colors = theme.current().runs
    return colors[run_id % len(colors)]


def record_from_snapshot(snap: Snapshot) -> RunRecord:
    """The live run as a :class:`RunRecord` (as the worker will archive it), from its snapshot."""
    test = snap.test_curve
    return RunRecord(
        run_id=snap.run_id, name="", config=snap.config, layer_sizes=tuple(snap.layer_sizes), steps=snap.step,
        samples_seen=snap.samples_seen, epochs=snap.epoch, train_seconds=snap.train_seconds,
        final_test_accuracy=None if snap.test is None else snap.test.accuracy,
        best_test_accuracy=float(test.accuracy.max()) if len(test) else None,
        final_test_loss=None if snap.test is None else snap.test.loss,
        train_curve=snap.train_curve, test_curve=test, diverged=snap.diverged,
        changes=tuple(e.text for e in snap.events))


def value_history(record: RunRecord, name: str) -> list[str]:
    """The values ``name`` ("lr" or "batch") took during the run, in order: its first value, then
    each live change's (e.g. ['0.1', '0.5', '2'])."""
    values = []
    for text in record.changes:
        if not text.startswith(f"{name} ") or " -> " not in text:
            continue
        old, new = text[len(name) + 1:].split(" -> ", 1)
        values += [old, new] if not values else [new]
    if not values:
        value = record.config.lr if name == "lr" else record.config.batch_size
        values = [f"{value:g}" if name == "lr" else "full" if value is None else str(value)]
    return values


def compact_tick_strings(values, scale, spacing) -> list[str]:
    """Tick labels for counts in a narrow plot: 500, 20k, 1.5M."""
    def text(v: float) -> str:
        for unit, size in (("M", 1e6), ("k", 1e3)):
            if abs(v) >= size:
                return f"{v / size:.3g}{unit}"
        return f"{v:.3g}"

    return [text(v * scale) for v in values]


def _percent(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:.2f}"


def _swatch(color: str, faded: bool, ratio: float = 1.0) -> QtGui.QIcon:
    size = max(14, round(14 * ratio))  # drawn at the screen's density: crisp on high-DPI screens
    pixmap = QtGui.QPixmap(size, size)
    pixmap.setDevicePixelRatio(size / 14)
    pixmap.fill(QtGui.QColor(0, 0, 0, 0))
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    c = QtGui.QColor(color)
    if faded:
        c.setAlpha(60)
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.setBrush(c)
    painter.drawRoundedRect(QtCore.QRectF(1, 4, 12, 6), 2, 2)
    painter.end()
    return QtGui.QIcon(pixmap)


class _Row:
    __slots__ = ("record", "current", "label")

    def __init__(self, record: RunRecord, current: bool, label: str = ""):
        self.record, self.current, self.label = record, current, label


class RunsModel(QtCore.QAbstractTableModel):
    """Rows: the current run (if any, first) then the archived runs, in the worker's order."""

    hidden_toggled = QtCore.pyqtSignal(int, bool, bool)  # run_id, hidden, is the current run
    rename_edited = QtCore.pyqtSignal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[_Row] = []
        self._bold = style.small_font(bold=True)
        self.pixel_ratio = 1.0  # of the screen the table is on (the panel keeps it current)

    # -- Qt model API --------------------------------------------------------------------------------
    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if orientation != QtCore.Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][2]
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            side = QtCore.Qt.AlignmentFlag.AlignLeft if COLUMNS[section][0] in _LEFT_ALIGNED \
                else QtCore.Qt.AlignmentFlag.AlignRight
            return int(side | QtCore.Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index):
        flags = QtCore.Qt.ItemFlag.ItemIsEnabled | QtCore.Qt.ItemFlag.ItemIsSelectable
        if index.column() == COL["show"]:
            flags |= QtCore.Qt.ItemFlag.ItemIsUserCheckable
        if index.column() == COL["name"] and not self.rows[index.row()].current:
            flags |= QtCore.Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        R = QtCore.Qt.ItemDataRole
        if role == R.DisplayRole:
            return self._text(row, key)
        if role == SORT_ROLE:
            return self._sort_value(row, key)
        if role == RUN_ID_ROLE:
            return row.record.run_id
        if role == R.CheckStateRole and key == "show":
            return QtCore.Qt.CheckState.Unchecked if row.record.hidden else QtCore.Qt.CheckState.Checked
        if role == R.DecorationRole and key == "show":
            return _swatch(run_color(row.record.run_id), row.record.hidden, self.pixel_ratio)
        if role == R.EditRole and key == "name":
            return row.record.name or row.label
        if role == R.FontRole and row.current:
            return self._bold
        if role == R.ForegroundRole:
            if key in ("final", "best") and row.record.diverged:
                return QtGui.QColor(theme.current().diverged)
            if key == "name" and row.current:
                color = QtGui.QColor(run_color(row.record.run_id))
                return color if theme.current().dark else color.darker(130)  # deeper to read on white
        if role == R.TextAlignmentRole and key not in _LEFT_ALIGNED:
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if role == R.ToolTipRole:
            return self._tooltip(row)
        return None

    def setData(self, index, value, role=QtCore.Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid():
            return False
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == QtCore.Qt.ItemDataRole.CheckStateRole and key == "show":
            hidden = QtCore.Qt.CheckState(value) != QtCore.Qt.CheckState.Checked
            if hidden == row.record.hidden:
                return False
            row.record = row.record.replace(hidden=hidden)  # shown at once; the worker confirms
            self.dataChanged.emit(index, index)
            self.hidden_toggled.emit(row.record.run_id, hidden, row.current)
            return True
        if role == QtCore.Qt.ItemDataRole.EditRole and key == "name" and not row.current:
            name = str(value).strip()
            if name == row.record.name or (not row.record.name and name == row.label):
                return False  # unchanged: keep following what differs
            row.record = row.record.replace(name=name)
            row.label = name or row.label  # "" = name it by what differs: the panel relabels it
            self.dataChanged.emit(index, index)
            self.rename_edited.emit(row.record.run_id, name)
            return True
        return False

    # -- contents ------------------------------------------------------------------------------------
    def _text(self, row: _Row, key: str) -> str:
        r = row.record
        if key == "show":
            return ""
        if key == "name":
            return f"{row.label} (current)" if row.current else row.label
        if key == "layers":
            return "-".join(map(str, r.layer_sizes))
        if key == "optimizer":
            return r.config.optimizer
        if key in ("lr", "batch"):
            return " → ".join(value_history(r, key))
        if key == "steps":
            return f"{r.steps:,}".replace(",", "\u202f")
        if key == "epochs":
            return f"{r.epochs:.2f}"
        if key == "best":
            return _percent(r.best_test_accuracy)
        if key == "final":
            if r.diverged and r.final_test_accuracy is None:
                return run_status(r)  # "diverged", or "failed" (a sweep's run that never trained)
            return _percent(r.final_test_accuracy)
        if key == "data":
            return data_name(r.data)
        if key == "time":
            return format_duration(r.train_seconds)
        return ""

    @staticmethod
    def _sort_value(row: _Row, key: str):
        r = row.record
        values = {
            "show": 0 if r.hidden else 1,
            "name": (row.label or "").lower(),
            "layers": tuple(r.layer_sizes),
            "optimizer": r.config.optimizer,
            "lr": r.config.lr,
            "batch": math.inf if r.config.batch_size is None else r.config.batch_size,
            "steps": r.steps,
            "epochs": r.epochs,
            "best": r.best_test_accuracy,
            "final": r.final_test_accuracy,
            "time": r.train_seconds,
            "data": data_name(r.data).lower(),
        }
        return values[key]

    @staticmethod
    def _tooltip(row: _Row) -> str:
        r = row.record
        settings = ", ".join(f"{k} {v}" for k, v in r.config.to_dict().items() if v is not None)
        lines = [("Current run (still training or ready to train)" if row.current else f"Run {r.run_id}")
                 + (f": {r.name or row.label}" if r.name or row.label else ""), settings]
        if r.changes:
            lines.append("changed live: " + ", ".join(r.changes))
        if r.final_test_loss is not None:
            lines.append(f"final test loss {r.final_test_loss:.4f}")
        if r.data:
            lines.append(f"data: {r.data}")
        if r.diverged:
            lines.append(r.diverged if run_status(r) == "failed" else f"diverged: {r.diverged}")
        if not row.current:
            lines.append("Double-click the name to rename; Delete removes the run.")
        return "\n".join(lines)

    # -- updates -------------------------------------------------------------------------------------
    def set_rows(self, rows: list[_Row]) -> None:
        old_ids = [(r.record.run_id, r.current) for r in self.rows]
        new_ids = [(r.record.run_id, r.current) for r in rows]
        if old_ids == new_ids:  # same runs: update in place (keeps selection, editors, scroll)
            self.rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def update_current(self, record: RunRecord, label: str) -> bool:
        """Refresh the current row's figures; False when there is no current row for this run."""
        if not self.rows or not self.rows[0].current or self.rows[0].record.run_id != record.run_id:
            return False
        row = self.rows[0]
        row.record = record.replace(hidden=row.record.hidden)
        row.label = label
        self.dataChanged.emit(self.index(0, 0), self.index(0, len(COLUMNS) - 1))
        return True


def _elide(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip(" ,") + "…"


def _legend_text(text: str, n: int = LEGEND_CHARS) -> str:
    """A long label on two lines, broken after a comma (the legend must stay inside the plot)."""
    if len(text) <= n:
        return text
    parts, lines = text.split(", "), [""]
    for part in parts:
        candidate = f"{lines[-1]}, {part}" if lines[-1] else part
        if len(candidate) <= n or not lines[-1]:
            lines[-1] = candidate
        elif len(lines) < 2:
            lines.append(part)
        else:
            lines[-1] = candidate
    return "<br>".join(_elide(line, n) for line in lines)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class RunsSortProxy(QtCore.QSortFilterProxyModel):
    """Numeric sorting on :data:`SORT_ROLE`; unknown values (None) last; the current run stays on top."""

    def lessThan(self, left, right) -> bool:
        model = self.sourceModel()
        ascending = self.sortOrder() == QtCore.Qt.SortOrder.AscendingOrder
        l_current, r_current = model.rows[left.row()].current, model.rows[right.row()].current
        if l_current != r_current:
            return l_current == ascending
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        a_missing, b_missing = _missing(a), _missing(b)
        if a_missing or b_missing:
            if a_missing == b_missing:
                return left.row() < right.row()
            return b_missing == ascending
        if a == b:
            return left.row() < right.row()
        return a < b


class _Overlay:
    """The four curves of one run: loss and accuracy, test (solid) and train (faint)."""

    def __init__(self, panel: "RunsPanel", record: RunRecord, label: str):
        color = run_color(record.run_id)
        faint = QtGui.QColor(color)
        faint.setAlpha(theme.current().faint_alpha)  # the noisy batch curves stay in the background
        train_pen, test_pen = style.pen(faint, 1.0), style.pen(color, 2.0)
        self.color, self.bold = color, False
        self.items = []
        for plot in (panel.loss_plot, panel.acc_plot):
            train = pg.PlotDataItem(_EMPTY, _EMPTY, pen=train_pen)
            test = pg.PlotDataItem(_EMPTY, _EMPTY, pen=test_pen, symbolBrush=color, symbolPen=None, symbolSize=5)
            for item in (train, test):
                item.setClipToView(True)
                item.setDownsampling(auto=True, method="peak")
            train.setZValue(-10)
            test.setToolTip(label)
            plot.addItem(train)
            plot.addItem(test)
            self.items.append((train, test))
        self.set_curves(record)

    @property
    def loss_items(self):
        return self.items[0]

    @property
    def accuracy_items(self):
        return self.items[1]

    def set_curves(self, record: RunRecord) -> None:
        train, test = record.train_curve, record.test_curve
        for (train_item, test_item), scale, attr in ((self.items[0], 1.0, "loss"), (self.items[1], 100.0, "accuracy")):
            train_item.setData(train.samples, getattr(train, attr) * scale)
            test_item.setData(test.samples, getattr(test, attr) * scale)
            test_item.setSymbol("o" if 0 < len(test) <= 30 else None)

    def set_bold(self, bold: bool) -> None:
        self.bold = bold
        for _, test in self.items:
            test.setPen(style.pen(self.color, 3.5 if bold else 2.0))
            test.setZValue(5 if bold else 0)

    def remove(self, panel: "RunsPanel") -> None:
        for plot, pair in zip((panel.loss_plot, panel.acc_plot), self.items):
            for item in pair:
                plot.removeItem(item)


class RunsPanel(QtWidgets.QWidget):
    """The runs of this session: a table to compare their figures and overlaid curves."""

    hidden_changed = QtCore.pyqtSignal(int, bool)  # run_id, hidden (archived runs only)
    rename_requested = QtCore.pyqtSignal(int, str)  # run_id, new name ("" = name it by what differs)
    delete_requested = QtCore.pyqtSignal(int)  # run_id (archived runs only)

    REFRESH_S = 0.5  # the current run's row and curves: at most ~2 updates per second

    def __init__(self, parent=None):
        super().__init__(parent)
        style.paint_background(self)
        self.setMinimumSize(360, 260)
        self._runs: tuple[RunRecord, ...] = ()
        self._current: RunRecord | None = None
        self._current_hidden = False
        self._data = ""  # the dataset the current run trains on (Dataset.source)
        self._pending: Snapshot | None = None
        self._last_render = -math.inf
        self._overlays: dict[int, _Overlay] = {}
        self._overlay_key = None
        self._follow = True
        self._timer = QtCore.QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.flush)
        self._rebuild_soon = QtCore.QTimer(self, singleShot=True, interval=0)  # after a click's setData
        self._rebuild_soon.timeout.connect(self._rebuild)
        self._message_timer = QtCore.QTimer(self, singleShot=True, interval=MESSAGE_MS)
        self._message_timer.timeout.connect(self._message_expired)

        # -- table ---------------------------------------------------------------------------------
        self.model = RunsModel(self)
        self.model.hidden_toggled.connect(self._on_hidden_toggled)
        self.model.rename_edited.connect(self._on_renamed)
        self.proxy = RunsSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setDynamicSortFilter(True)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        self.table.setFont(style.small_font())
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, QtCore.Qt.SortOrder.AscendingOrder)  # the worker's order until clicked
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.DoubleClicked
                                   | QtWidgets.QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(QtGui.QFontMetrics(self.table.font()).height() + 6)
        header = self.table.horizontalHeader()
        header.setFont(style.small_font())
        header.setHighlightSections(False)
        header.setMinimumSectionSize(24)
        # Columns fit their contents when the runs change, not on every live update (cheaper, and
        # the columns do not jitter while the current run's figures change).
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL["name"], QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.model.modelReset.connect(self._fit_columns)
        header.sortIndicatorChanged.connect(lambda *_: self._fit_columns())
        header.setDefaultAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.table.setToolTip("Runs of this session. Click a column title to sort; double-click a name to "
                              "rename; Delete removes the selected runs.")
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.installEventFilter(self)  # the Delete key deletes the selected runs

        # -- buttons and the inline message -----------------------------------------------------
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected runs from the list (Delete key). The current run "
                                      "cannot be deleted.")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button = QtWidgets.QPushButton("Export CSV…")
        self.export_button.setToolTip("Save this table (every run, with its settings and figures) as CSV")
        self.export_button.clicked.connect(self._ask_export)
        for button in (self.delete_button, self.export_button):
            button.setFont(style.small_font())
            button.setAutoDefault(False)
        self.message = QtWidgets.QLabel()
        self.message.setFont(style.small_font())
        self.message.setWordWrap(True)
        self.message.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.message.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.message, 1)
        bar.addWidget(self.delete_button)
        bar.addWidget(self.export_button)

        # -- plots ---------------------------------------------------------------------------------
        self.loss_widget = style.plot_widget()
        self.acc_widget = style.plot_widget()
        self.loss_plot: pg.PlotItem = self.loss_widget.getPlotItem()
        self.acc_plot: pg.PlotItem = self.acc_widget.getPlotItem()
        for plot, title, y_label in ((self.loss_plot, "Loss", "cross-entropy"),
                                     (self.acc_plot, "Accuracy", "accuracy (%)")):
            style.set_title(plot, title)
            style.axis_label(plot, "bottom", "samples seen")
            style.axis_label(plot, "left", y_label)
            plot.getAxis("bottom").tickStrings = compact_tick_strings  # "1M 2M 3M", never "1e+062e+06"
            plot.showGrid(x=False, y=True, alpha=theme.current().grid_alpha)
            plot.getAxis("left").setStyle(maxTickLevel=0)  # grid lines at labelled ticks only
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.vb.disableAutoRange()
            plot.vb.setLimits(xMin=0)
            plot.vb.sigRangeChangedManually.connect(self._user_moved_view)
        self.loss_widget.setToolTip("Loss of every shown run over training samples seen: test set solid, "
                                    "training batches faint.\nDrag/scroll to zoom; double-click to fit again.")
        self.acc_widget.setToolTip("Accuracy of every shown run over training samples seen: test set solid, "
                                   "training batches faint.\nDrag/scroll to zoom; double-click to fit again.")
        for widget in (self.loss_widget, self.acc_widget):
            widget.scene().sigMouseClicked.connect(self._plot_clicked)
        # Bottom right of the accuracy plot: accuracy rises away from there.
        self.legend = style.add_legend(self.acc_plot, offset=(-8, -8), verSpacing=-4)
        self.acc_plot.vb.sigResized.connect(self._fit_legend)
        self.export_menus = (add_export_menu(self.loss_widget, self.loss_plot, "runs' loss"),
                             add_export_menu(self.acc_widget, self.acc_plot, "runs' accuracy"))
        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        plots.addWidget(self.loss_widget)
        plots.addWidget(self.acc_widget)
        plots.setChildrenCollapsible(False)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        layout.addWidget(plots, 1)
        self._rebuild()
        self._fit_columns()

    # -- API ---------------------------------------------------------------------------------------
    def apply_theme(self) -> None:
        """Repaint in :func:`theme.current`: the plots, every run's curves in its colour there, the table."""
        style.restyle(self)
        self._overlay_key = None  # rebuild the overlays in the new colours
        self._rebuild()
        self.table.viewport().update()

    def set_data_name(self, source: str) -> None:
        """The dataset the current run trains on (``Dataset.source``), for its "data" column."""
        self._data = str(source)

    def set_runs(self, runs) -> None:
        """The archived runs, from ``worker.runs_changed`` (a tuple of :class:`RunRecord`)."""
        self._runs = tuple(runs)
        self._rebuild()

    def show_snapshot(self, snap: Snapshot) -> None:
        """Follow the live run: its row and curves update at most every :attr:`REFRESH_S` seconds."""
        self._pending = snap
        new_run = self._current is None or self._current.run_id != snap.run_id
        wait = self.REFRESH_S - (time.perf_counter() - self._last_render)
        if new_run or wait <= 0:
            self.flush()
        elif not self._timer.isActive():
            self._timer.start(max(1, int(wait * 1000)))

    def flush(self) -> None:
        """Show the latest snapshot now (the throttle otherwise shows it within REFRESH_S)."""
        self._timer.stop()
        snap, self._pending = self._pending, None
        if snap is None:
            return
        self._last_render = time.perf_counter()
        record = record_from_snapshot(snap).replace(hidden=self._current_hidden, data=self._data)
        same_run = self._current is not None and self._current.run_id == record.run_id
        self._current = record
        labels = self._labels()
        current_overlay = self._overlays.get(record.run_id)
        if (same_run and current_overlay is not None and self._overlay_key == self._make_overlay_key()
                and self.model.update_current(record, labels.get(record.run_id, ""))):
            current_overlay.set_curves(record)  # the cheap path: only the live run's data changed
            self._update_range()
        else:
            self._rebuild()

    def clear(self) -> None:
        """A new run begins: forget the current one (the archived runs stay)."""
        self._timer.stop()
        self._pending = None
        self._current = None
        self._rebuild()

    def runs(self) -> list[RunRecord]:
        """Every run in the table, the current one first (as last shown)."""
        return [row.record for row in self.model.rows]

    def labels(self) -> dict[int, str]:
        """run_id -> what the table calls the run."""
        return {row.record.run_id: row.label for row in self.model.rows}

    def legend_labels(self) -> list[str]:
        return [label.text.replace("<br>", " ") for _, label in self.legend.items]

    def overlay(self, run_id: int) -> _Overlay | None:
        return self._overlays.get(run_id)

    def set_shown(self, run_id: int, shown: bool) -> None:
        """Tick or untick a run's "show" box, as a click would."""
        for r, row in enumerate(self.model.rows):
            if row.record.run_id == run_id:
                state = QtCore.Qt.CheckState.Checked if shown else QtCore.Qt.CheckState.Unchecked
                self.model.setData(self.model.index(r, COL["show"]), state.value,
                                   QtCore.Qt.ItemDataRole.CheckStateRole)
                return

    def rename(self, run_id: int, name: str) -> None:
        """Rename an archived run, as editing its name would."""
        for r, row in enumerate(self.model.rows):
            if row.record.run_id == run_id:
                self.model.setData(self.model.index(r, COL["name"]), name, QtCore.Qt.ItemDataRole.EditRole)
                return

    def select_runs(self, run_ids) -> None:
        selection = QtCore.QItemSelection()
        for r, row in enumerate(self.model.rows):
            if row.record.run_id in run_ids:
                index = self.proxy.mapFromSource(self.model.index(r, 0))
                selection.select(index, index)
        self.table.selectionModel().select(
            selection, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QtCore.QItemSelectionModel.SelectionFlag.Rows)

    def selected_run_ids(self) -> list[int]:
        rows = sorted(self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows())
        return [self.model.rows[r].record.run_id for r in rows]

    def delete_selected(self) -> None:
        """Ask to delete the selected archived runs (the current run cannot be deleted)."""
        deletable = [row for row in self.model.rows
                     if row.record.run_id in self.selected_run_ids() and not row.current]
        if not deletable:
            if self.model.rows:
                self._say("Select an earlier run to delete (the current run cannot be deleted).")
            return
        names = ", ".join(f"“{row.label}”" for row in deletable)
        gone = {row.record.run_id for row in deletable}
        self._runs = tuple(r for r in self._runs if r.run_id not in gone)  # gone at once; the worker agrees
        self._rebuild()
        for row in deletable:
            self.delete_requested.emit(row.record.run_id)
        self._say(f"Deleted {names}.")

    def export_csv(self, path) -> bool:
        """Write the table (every run, the current one first) as CSV; False (and a message) on failure.

        Columns: the keys of :meth:`RunRecord.summary` (accuracies as fractions in 0..1, full
        precision), then ``label`` (what the table calls the run) and ``current`` (True for the
        live run). The file is written atomically.
        """
        from ..export import ExportError, write_atomic

        if self._pending is not None:
            self.flush()
        rows = self.model.rows
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns = list(RunRecord.summary(rows[0].record).keys()) if rows else list(_SUMMARY_KEYS)
        writer.writerow(columns + ["label", "current"])
        for row in rows:
            summary = row.record.summary()
            writer.writerow([_csv_value(summary[k]) for k in columns] + [row.label, row.current])
        try:
            write_atomic(path, out.getvalue())
        except (ExportError, OSError) as exc:
            self._say(str(exc), error=True)
            return False
        self._say(f"Exported {len(rows)} run{'s' if len(rows) != 1 else ''} to {path}.")
        return True

    # -- rendering ---------------------------------------------------------------------------------
    def _all_runs(self) -> list[RunRecord]:
        archived = list(self._runs)
        current = self._current
        if current is not None and all(r.run_id != current.run_id for r in archived):
            return [current] + archived
        return archived

    def _labels(self) -> dict[int, str]:
        runs = self._all_runs()
        return {r.run_id: label for r, label in zip(runs, run_labels(runs))}

    def _shown(self) -> list[RunRecord]:
        return [r for r in self._all_runs() if not r.hidden]

    def _legend_labels(self, shown: list[RunRecord]) -> list[str]:
        """run_labels over the shown runs (what differs among them only), falling back to the
        table's label when nothing sets a run apart from the other shown ones (e.g. it is alone)."""
        table = self._labels()
        return [r.name or difference or table.get(r.run_id) or f"run {r.run_id}"
                for r, difference in zip(shown, difference_labels([r.config for r in shown]))]

    def _make_overlay_key(self):
        shown = self._shown()
        labels = self._legend_labels(shown)
        current_id = self._current.run_id if self._current is not None else None
        return tuple((r.run_id, label, r.run_id == current_id or id(r.train_curve), len(r.test_curve) > 0)
                     for r, label in zip(shown, labels))

    def _rebuild(self) -> None:
        """Refill the table and, if the shown runs or their names changed, the overlays."""
        self._rebuild_soon.stop()
        self.model.pixel_ratio = self.devicePixelRatioF()
        runs = self._all_runs()
        labels = run_labels(runs)
        current_id = self._current.run_id if self._current is not None else None
        selected = self.selected_run_ids()
        self.model.set_rows([_Row(r, r.run_id == current_id and r is self._current, label)
                             for r, label in zip(runs, labels)])
        if selected and not self.table.selectionModel().hasSelection():  # the model was reset
            self.select_runs(selected)
        key = self._make_overlay_key()
        if key != self._overlay_key:
            self._overlay_key = key
            for overlay in self._overlays.values():
                overlay.remove(self)
            self._overlays = {}
            self.legend.clear()
            shown = self._shown()
            for record, label in zip(shown, self._legend_labels(shown)):
                text = f"{label} (current)" if record.run_id == current_id else label
                overlay = _Overlay(self, record, text)
                self._overlays[record.run_id] = overlay
                self.legend.addItem(overlay.accuracy_items[1], _legend_text(text))
            self._fit_legend()
            self._highlight_selected()
        elif self._current is not None and current_id in self._overlays:
            self._overlays[current_id].set_curves(self._current)
        self._update_range()
        self._update_buttons()
        self._fit_table()
        self._show_hint()

    def _fit_legend(self, *_) -> None:
        """The legend where it fits inside the accuracy plot, with room to spare; where it does not
        (many runs, long names, a small dock), none: the table's colour swatches name the curves,
        and a legend cut off at the plot's edge would name none of them."""
        room = self.acc_plot.vb.boundingRect()
        size = self.legend.boundingRect()
        fits = size.width() + LEGEND_MARGIN <= room.width() and size.height() + LEGEND_MARGIN <= room.height()
        self.legend.setVisible(len(self._overlays) > 1 and fits)  # one run: the table names it

    def _update_range(self) -> None:
        if not self._follow:
            return
        shown = [r for r in self._shown() if len(r.train_curve) or len(r.test_curve)]
        x_max, loss_hi, acc_lo = 0.0, 0.0, 100.0
        for r in shown:
            for curve, weight in ((r.test_curve, None), (r.train_curve, 5)):
                if not len(curve):
                    continue
                x_max = max(x_max, float(curve.samples[-1]))
                loss = curve.loss[np.isfinite(curve.loss)]
                acc = curve.accuracy[np.isfinite(curve.accuracy)] * 100
                if len(loss):  # the faint batch curves' spikes do not set the scale
                    loss_hi = max(loss_hi, float(loss.max() if weight is None else np.percentile(loss, 100 - weight)))
                if len(acc):
                    acc_lo = min(acc_lo, float(acc.min() if weight is None else np.percentile(acc, weight)))
        x_max = nice_ceiling(x_max * 1.02) if x_max > 0 else 1.0
        loss_hi = nice_ceiling(loss_hi * 1.05) if loss_hi > 0 else 2.5
        acc_lo = max(0.0, math.floor(acc_lo / 10) * 10) if shown else 0.0
        self.loss_plot.setRange(xRange=(0, x_max), yRange=(0, loss_hi), padding=0)
        self.acc_plot.setRange(xRange=(0, x_max), yRange=(acc_lo, 100.5), padding=0)

    def _fit_columns(self) -> None:
        """Each column as wide as its contents and title; only the sorted column reserves room for
        the sort arrow (Qt's own fit reserves it in every column, which wastes ~20 px each)."""
        header = self.table.horizontalHeader()
        metrics = QtGui.QFontMetrics(header.font())
        sorted_column = header.sortIndicatorSection() if header.isSortIndicatorShown() else -1
        for column in range(len(COLUMNS)):
            if column == COL["name"]:
                continue
            if column == sorted_column:
                title = header.sectionSizeHint(column)
            else:
                title = metrics.horizontalAdvance(COLUMNS[column][1]) + 12
            header.resizeSection(column, min(max(self.table.sizeHintForColumn(column), title), 140))

    def _fit_table(self) -> None:
        """The table as tall as its rows (2 to 6 of them; more scroll), the plots get the rest."""
        rows = min(max(self.model.rowCount(), 2), 6)
        height = (self.table.horizontalHeader().sizeHint().height()
                  + rows * self.table.verticalHeader().defaultSectionSize() + 2 * self.table.frameWidth())
        if self.table.horizontalScrollBar().isVisible():
            height += self.table.horizontalScrollBar().sizeHint().height()
        if self.table.height() != height:
            self.table.setFixedHeight(height)

    def _user_moved_view(self, *_) -> None:
        self._follow = False

    def _plot_clicked(self, event) -> None:
        if event.double():
            self._follow = True
            self._update_range()

    # -- user actions --------------------------------------------------------------------------------
    def _on_hidden_toggled(self, run_id: int, hidden: bool, current: bool) -> None:
        if current:
            self._current_hidden = hidden
            if self._current is not None:
                self._current = self._current.replace(hidden=hidden)
        else:
            self._runs = tuple(r.replace(hidden=hidden) if r.run_id == run_id else r for r in self._runs)
            self.hidden_changed.emit(run_id, hidden)
        self._rebuild_soon.start()  # not inside the model's setData

    def _on_renamed(self, run_id: int, name: str) -> None:
        self._runs = tuple(r.replace(name=name) if r.run_id == run_id else r for r in self._runs)
        self.rename_requested.emit(run_id, name)
        self._rebuild_soon.start()

    def eventFilter(self, watched, event) -> bool:
        if (watched is self.table and event.type() == QtCore.QEvent.Type.KeyPress
                and event.key() in (QtCore.Qt.Key.Key_Delete, QtCore.Qt.Key.Key_Backspace)
                and self.table.state() != QtWidgets.QAbstractItemView.State.EditingState):
            self.delete_selected()
            return True
        return super().eventFilter(watched, event)

    def _double_clicked(self, index) -> None:
        if index.column() not in (COL["name"], COL["show"]):
            name_index = index.siblingAtColumn(COL["name"])
            if name_index.flags() & QtCore.Qt.ItemFlag.ItemIsEditable:
                self.table.edit(name_index)

    def _update_buttons(self, *_) -> None:
        current_id = self._current.run_id if self._current is not None else None
        self.delete_button.setEnabled(any(i != current_id for i in self.selected_run_ids()))
        self._highlight_selected()

    def _highlight_selected(self) -> None:
        """The selected runs' test curves drawn bolder and on top: which curve is this row?"""
        selected = set(self.selected_run_ids())
        for run_id, overlay in self._overlays.items():
            bold = run_id in selected
            if overlay.bold != bold:
                overlay.set_bold(bold)

    def _ask_export(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export runs as CSV", "runs.csv", "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def _say(self, text: str, error: bool = False, sticky: bool = True) -> None:
        """An inline message; a sticky one stays until the next (errors) or MESSAGE_MS passed."""
        style.themed_css(self.message, "color: $diverged;" if error else "color: $muted;")
        self.message.setText(text)
        self.message.setToolTip(text)
        self.message.setProperty("sticky", sticky and bool(text))
        self._message_timer.stop()
        if sticky and text and not error:
            self._message_timer.start()

    def _message_expired(self) -> None:
        self.message.setProperty("sticky", False)
        self._show_hint()

    def _show_hint(self) -> None:
        if not self.message.property("sticky"):
            hint = "" if self._runs else _HINT if self._current is not None else _EMPTY_HINT
            self._say(hint, sticky=False)


_SUMMARY_KEYS = ("run", "name", "layers", "activation", "optimizer", "lr", "momentum", "batch_size", "seed", "steps",
                 "epochs", "train_seconds", "final_test_accuracy", "best_test_accuracy", "final_test_loss", "diverged",
                 "data")


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
