"""Exports: plots as PNG/SVG, the current run's metric history as CSV, and a run report.

Plain functions with no widgets of their own, used by the main window's File > Export menu and by
panels. Every file is written atomically (:func:`nn.files.atomic_write`), so a failed export
never leaves half a file where a good one was. Failures raise
:class:`ExportError` (a ``ValueError`` naming the path) for the caller to show inline.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PyQt6 import QtCore, QtGui, QtWidgets

from nn import __version__
from nn.files import atomic_write
from nn.history import Curve

PLOT_FORMATS = (".png", ".svg")

# Columns of :func:`export_history_csv`, in order.
HISTORY_COLUMNS = ("step", "samples", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy")


class ExportError(ValueError):
    """An export that could not be written; the message names the path and the reason."""


# -- writing files ---------------------------------------------------------------------------------

def _check_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"Cannot write {path}: the folder {folder} does not exist.")
    if path.is_dir():
        raise ExportError(f"Cannot write {path}: it is a folder.")


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`nn.files.atomic_write`); an
    :class:`ExportError` naming the path if it cannot be written."""
    path = Path(path)
    _check_folder(path)
    try:
        return atomic_write(path, data)
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}") from exc


def png_bytes(image: QtGui.QImage) -> bytes | None:
    """``image`` encoded as PNG, or None if it cannot be (a null image)."""
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if image.isNull() or not image.save(buffer, "PNG"):
        return None
    return bytes(buffer.data())


def _image_bytes(image: QtGui.QImage, path: Path) -> bytes:
    data = png_bytes(image)
    if data is None:
        raise ExportError(f"Cannot write {path}: the image could not be encoded as PNG.")
    return data


# -- plots -----------------------------------------------------------------------------------------

def _export_source(target):
    """The PlotItem (or, for several plots, the scene) that ``target`` shows."""
    if isinstance(target, (pg.PlotItem, QtWidgets.QGraphicsScene)):
        return target
    if isinstance(target, pg.PlotWidget):
        return target.getPlotItem()
    if isinstance(target, pg.GraphicsLayoutWidget):
        plots = [i for i in target.ci.items if isinstance(i, pg.PlotItem)]
        return plots[0] if len(plots) == 1 else target.scene()
    if isinstance(target, pg.GraphicsView):
        return target.scene()
    for name in ("plot", "plot_item"):  # panels keep their PlotItem as .plot
        item = getattr(target, name, None)
        if isinstance(item, pg.PlotItem):
            return item
    if isinstance(target, QtWidgets.QWidget):
        views = target.findChildren(pg.GraphicsView)
        if len(views) == 1:
            return _export_source(views[0])
        if views:
            raise ExportError(f"{type(target).__name__} holds {len(views)} plots: pass the one to export.")
    raise ExportError(f"Cannot export {type(target).__name__}: it is not a pyqtgraph plot.")


def export_plot(plot, path: str | os.PathLike, width: int | None = None, title: str | None = None) -> Path:
    """Export a plot as PNG or SVG (chosen by the extension of ``path``).

    ``plot`` may be a ``pg.PlotItem``, a ``PlotWidget``, a ``GraphicsLayoutWidget`` (its only
    PlotItem, or its whole scene), or a panel that keeps its PlotItem as ``.plot`` (the curve
    panels). A PNG has the plot's size on screen unless ``width`` (pixels) is given, in which case
    the height keeps the aspect ratio. The SVG carries ``width``/``height`` attributes in pixels.
    ``title`` (rich text): drawn above a PlotItem in the file only (the curve panels show theirs
    in a label above the plot, which the plot's own image would leave out).
    Raises :class:`ExportError` (a ValueError naming the path) for an unsupported extension, a
    missing folder or an unwritable file. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise ExportError(f"Cannot export a plot to {path}: use a .png or .svg file name.")
    _check_folder(path)
    source = _export_source(plot)
    if title and isinstance(source, pg.PlotItem):
        with _titled(source, title):
            return _export(source, path, suffix, width)
    return _export(source, path, suffix, width)


@contextlib.contextmanager
def _titled(plot: pg.PlotItem, title: str):
    """``plot`` with ``title`` above it, laid out, until the block ends."""
    from . import style

    style.set_title(plot, title)
    plot.layout.activate()
    try:
        yield
    finally:
        plot.setTitle(None)
        plot.layout.activate()


def _export(source, path: Path, suffix: str, width: int | None) -> Path:
    if suffix == ".png":
        exporter = pg.exporters.ImageExporter(source)
        if width is not None:
            exporter.parameters()["width"] = int(width)  # the exporter keeps the aspect ratio
        if int(exporter.parameters()["width"]) <= 0 or int(exporter.parameters()["height"]) <= 0:
            raise ExportError(f"Cannot export a plot to {path}: the plot has no size yet.")
        image = exporter.export(toBytes=True)
        return write_atomic(path, _image_bytes(image, path))
    exporter = pg.exporters.SVGExporter(source)
    params = exporter.parameters()
    if width is not None:
        ratio = params["height"] / params["width"] if params["width"] else 1.0
        params["width"], params["height"] = float(width), float(width) * ratio
    try:
        with _svg_closed_paths_fix():
            svg = exporter.export(toBytes=True).decode("utf-8")
    except Exception:  # pyqtgraph's SVG post-processing failed: let Qt write the SVG itself
        svg = _qt_svg(source, params["width"], params["height"])
    return write_atomic(path, _svg_with_size(svg, params["width"], params["height"]))


@contextlib.contextmanager
def _svg_closed_paths_fix():
    """pyqtgraph 0.14's SVG exporter cannot parse the "Z" (close path) that recent Qt versions
    write into path data (pyqtgraph issue #3495). While exporting, closing commands are rewritten
    as a line back to the subpath's start, which the exporter understands and which draws the same."""
    module = sys.modules.get("pyqtgraph.exporters.SVGExporter")
    original = getattr(module, "correctCoordinates", None)
    if original is None:
        yield
        return

    def correct(node, *args, **kwargs):
        for element in node.getElementsByTagName("path"):
            d = element.getAttribute("d")
            if "Z" in d or "z" in d:
                element.setAttribute("d", _close_as_lines(d))
        return original(node, *args, **kwargs)

    module.correctCoordinates = correct
    try:
        yield
    finally:
        module.correctCoordinates = original


def _close_as_lines(d: str) -> str:
    out, start = [], None
    for token in d.split():
        closes = token[-1] in "Zz"
        token = token.rstrip("Zz")
        if token:
            if token[0] == "M":
                start = token[1:]
            out.append(token)
        if closes and start is not None:
            out.append("L" + start)
    return " ".join(out)


def _qt_svg(source, width: float, height: float) -> str:
    """The plot rendered by Qt's own SVG generator (SVG 1.1, with clipping, where available)."""
    from PyQt6 import QtSvg

    scene = source if isinstance(source, QtWidgets.QGraphicsScene) else source.scene()
    if isinstance(source, QtWidgets.QGraphicsScene):
        # What the view shows, as pyqtgraph's exporters take it: the scene rect can reach far
        # beyond (infinite lines, far-off labels).
        views = scene.views()
        rect = views[0].viewRect() if views and hasattr(views[0], "viewRect") else scene.sceneRect()
    else:
        rect = source.sceneBoundingRect()
    version = getattr(getattr(QtSvg.QSvgGenerator, "SvgVersion", None), "Svg11", None)
    generator = QtSvg.QSvgGenerator(version) if version is not None else QtSvg.QSvgGenerator()
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    generator.setOutputDevice(buffer)
    generator.setSize(QtCore.QSize(int(width), int(height)))  # whole pixels, as the PNG export takes them
    generator.setViewBox(QtCore.QRectF(0, 0, width, height))
    painter = QtGui.QPainter(generator)
    try:
        scene.render(painter, QtCore.QRectF(0, 0, width, height), rect)
    finally:
        painter.end()
    return bytes(buffer.data()).decode("utf-8")


def _svg_with_size(svg: str, width: float, height: float) -> str:
    """pyqtgraph writes only a viewBox (and Qt a size in mm); viewers and ``<img>`` want pixels."""
    match = re.search(r"<svg\b[^>]*>", svg)
    if match is None:
        return svg
    tag = re.sub(r'\s(width|height)\s*=\s*"[^"]*"', "", match.group(0)).replace("viewBox =", "viewBox=")
    tag = tag[:4] + f' width="{int(width)}px" height="{int(height)}px"' + tag[4:]
    return svg[: match.start()] + tag + svg[match.end():]


# -- metric history ----------------------------------------------------------------------------------

def _cell(value: float) -> str:
    return repr(float(value))  # shortest text that reads back as the same float


def export_history_csv(snapshot, path: str | os.PathLike) -> Path:
    """Write the current run's metric history as one CSV table, merged by step.

    Columns: ``step, samples, epoch, train_loss, train_accuracy, test_loss, test_accuracy``, one
    row per step at which either curve has a point (sorted by step). The train columns come from
    ``snapshot.train_curve`` (mean of the batches a point stands for), the test columns from
    ``snapshot.test_curve``; a column is empty where that curve has no point at that step (the
    test set is evaluated only now and then). Accuracies are fractions in 0..1 (not percent);
    ``epoch`` is samples / training-set size. Numbers are written with ``repr`` so they read back
    as the very same floats: :func:`read_history_csv` rebuilds both curves exactly.
    """
    train, test = snapshot.train_curve, snapshot.test_curve
    n_train = max(int(snapshot.n_train), 1)
    rows = []
    # A sorted merge on step; two points at one step (e.g. two test evaluations without training
    # between them) pair up in order and any extra gets its own row, so nothing is lost.
    i = j = 0
    while i < len(train) or j < len(test):
        t_step = train.step[i] if i < len(train) else math.inf
        e_step = test.step[j] if j < len(test) else math.inf
        if t_step == e_step:
            use_train, use_test = True, bool(train.samples[i] == test.samples[j])
        else:
            use_train, use_test = t_step < e_step, e_step < t_step
        step = t_step if use_train else e_step
        samples = train.samples[i] if use_train else test.samples[j]
        row = [str(int(step)), str(int(samples)), _cell(samples / n_train)]
        row += [_cell(train.loss[i]), _cell(train.accuracy[i])] if use_train else ["", ""]
        row += [_cell(test.loss[j]), _cell(test.accuracy[j])] if use_test else ["", ""]
        rows.append(row)
        i += use_train
        j += use_test
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    writer.writerows(rows)
    return write_atomic(path, out.getvalue())


def read_history_csv(path: str | os.PathLike) -> tuple[Curve, Curve]:
    """Read a file of :func:`export_history_csv` back as ``(train_curve, test_curve)``."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(HISTORY_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ExportError(f"{path} is not a metric history: no column {', '.join(sorted(missing))}.")
        columns = {kind: ([], [], [], []) for kind in ("train", "test")}
        for row in reader:
            for kind in ("train", "test"):
                if row[f"{kind}_loss"] != "":
                    for target, value in zip(columns[kind], (row["step"], row["samples"], row[f"{kind}_loss"],
                                                             row[f"{kind}_accuracy"])):
                        target.append(float(value))
    return tuple(Curve(*(np.asarray(c, dtype=np.float64) for c in columns[kind])) for kind in ("train", "test"))


# -- report ------------------------------------------------------------------------------------------

def _finite(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _report_stem(folder_or_stem: str | os.PathLike) -> Path:
    target = Path(folder_or_stem)
    if target.is_dir():
        return target / f"softmax-report-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    if target.suffix.lower() in (".png", ".json"):
        return target.with_suffix("")
    return target


def report_metrics(snapshot) -> dict:
    """The figures of :func:`export_report`'s JSON, as plain JSON values (NaN/inf become null)."""
    test = snapshot.test
    return {
        "step": int(snapshot.step),
        "samples_seen": int(snapshot.samples_seen),
        "epochs": _finite(snapshot.epoch),
        "train_seconds": _finite(snapshot.train_seconds),
        "train_loss": _finite(snapshot.train_loss),
        "train_accuracy": _finite(snapshot.train_accuracy),
        "test_loss": None if test is None else _finite(test.loss),
        "test_accuracy": None if test is None else _finite(test.accuracy),
        "test_step": None if test is None else int(test.step),
        "best_test_accuracy": _finite(snapshot.test_curve.accuracy.max()) if len(snapshot.test_curve) else None,
        "seconds_to_98": _finite(snapshot.seconds_to_98),
        "diverged": snapshot.diverged,
    }


def export_report(window_widget: QtWidgets.QWidget, snapshot, folder_or_stem: str | os.PathLike,
                  data_source: str | None = None) -> tuple[Path, Path]:
    """Write ``<stem>.png`` (a screenshot of ``window_widget``) and ``<stem>.json``.

    ``folder_or_stem``: an existing folder (the files are then named
    ``softmax-report-<date>-<time>``) or a path without extension (a ``.png``/``.json`` one is
    stripped). The JSON holds ``app_version``, ``timestamp`` (ISO 8601, local time with offset),
    ``data_source`` (if given), ``config`` (``TrainConfig.to_dict()``), ``layer_sizes``,
    ``n_train``, ``class_names`` (what each class is called, in label order) and ``metrics``
    (see :func:`report_metrics`; accuracies are fractions in 0..1).
    Returns ``(png_path, json_path)``; raises :class:`ExportError` when a file cannot be written.
    """
    stem = _report_stem(folder_or_stem)
    png_path, json_path = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".json")
    _check_folder(png_path)
    report = {
        "app": "Softmax Visualizer",
        "app_version": __version__,
        "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
        "data_source": None if data_source is None else str(data_source),
        "config": snapshot.config.to_dict(),
        "layer_sizes": [int(n) for n in snapshot.layer_sizes],
        "n_train": int(snapshot.n_train),
        "class_names": [str(name) for name in snapshot.class_names],
        "metrics": report_metrics(snapshot),
        "screenshot": png_path.name,
    }
    text = json.dumps(report, indent=2, allow_nan=False) + "\n"
    image = window_widget.grab().toImage()
    write_atomic(png_path, _image_bytes(image, png_path))
    write_atomic(json_path, text)
    return png_path, json_path
