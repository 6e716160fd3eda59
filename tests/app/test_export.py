"""Exports of real panels and a real run: plot images, the metric history as CSV, the report."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nn  # noqa: E402
import nn.data  # noqa: E402
from nn.config import TrainConfig  # noqa: E402
from nn.history import Curve  # noqa: E402
from nn.trainer import Trainer  # noqa: E402

pytest.importorskip("pytestqt")

from PyQt6 import QtGui, QtWidgets  # noqa: E402

from visualizer.export import (  # noqa: E402
    ExportError,
    export_history_csv,
    export_plot,
    export_report,
    read_history_csv,
)
from visualizer.panels import LossPanel  # noqa: E402

CONFIG = TrainConfig(hidden=(16,), activation="relu", optimizer="adam", lr=0.003, batch_size=64,
                     epochs=None, iterations=30)


@pytest.fixture(scope="module")
def data(request) -> nn.data.Dataset:
    try:
        return request.getfixturevalue("small_mnist")
    except pytest.FixtureLookupError:
        return nn.data.load_mnist().subset(3000, 1000)


@pytest.fixture(scope="module")
def snap(data):
    """A snapshot with test evaluations at steps that do and do not have a train point."""
    trainer = Trainer(data, CONFIG)
    trainer.evaluate_test()  # step 0: no training point there
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    return trainer.snapshot()


@pytest.fixture
def loss_panel(qtbot, snap):
    panel = LossPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 320)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_snapshot(snap)
    return panel


def test_png_of_a_real_panel_has_the_plot_size(loss_panel, tmp_path):
    view = loss_panel.plot_widget
    path = export_plot(loss_panel, tmp_path / "loss.png")
    assert path == tmp_path / "loss.png"
    image = QtGui.QImage(str(path))
    assert not image.isNull()
    rect = loss_panel.plot.sceneBoundingRect()
    assert (image.width(), image.height()) == (int(rect.width()), int(rect.height()))
    assert abs(image.width() - view.width()) <= 4 and abs(image.height() - view.height()) <= 4
    # not blank: the curves and axes were drawn
    pixels = QtGui.QImage(image).convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    values = np.frombuffer(pixels.constBits().asstring(pixels.sizeInBytes()), np.uint8)
    assert values.min() < 100 and values.max() > 200


def test_png_at_a_given_width_keeps_the_aspect_ratio(loss_panel, tmp_path):
    path = export_plot(loss_panel.plot_widget, tmp_path / "wide.PNG", width=1000)
    image = QtGui.QImage(str(path))
    rect = loss_panel.plot.sceneBoundingRect()
    assert image.width() == 1000
    assert abs(image.height() - 1000 * rect.height() / rect.width()) <= 1


def test_svg_of_a_plot_item_parses_and_has_a_size(loss_panel, tmp_path):
    path = export_plot(loss_panel.plot, tmp_path / "loss.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    rect = loss_panel.plot.sceneBoundingRect()
    assert root.get("width") == f"{int(round(rect.width()))}px"
    assert root.get("height") == f"{int(round(rect.height()))}px"
    assert "viewBox" in root.attrib
    assert len(list(root.iter())) > 20  # axes, curves, labels


def test_export_plot_refuses_unsupported_or_unwritable_paths(loss_panel, tmp_path):
    with pytest.raises(ValueError, match="loss.jpg"):
        export_plot(loss_panel, tmp_path / "loss.jpg")
    with pytest.raises(ValueError, match="missing"):
        export_plot(loss_panel, tmp_path / "missing" / "loss.png")
    with pytest.raises(ExportError):
        export_plot(QtWidgets.QLabel("not a plot"), tmp_path / "x.png")
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(ValueError, match="locked"):
                export_plot(loss_panel, locked / "loss.png")
        finally:
            locked.chmod(0o700)
    assert not list(tmp_path.rglob("*.tmp"))


def test_history_csv_round_trips(snap, tmp_path):
    path = export_history_csv(snap, tmp_path / "history.csv")
    train, test = read_history_csv(path)
    for got, want in ((train, snap.train_curve), (test, snap.test_curve)):
        assert isinstance(got, Curve)
        for name in ("step", "samples", "loss", "accuracy"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    lines = path.read_text().splitlines()
    assert lines[0] == "step,samples,epoch,train_loss,train_accuracy,test_loss,test_accuracy"
    # merged by step: one row per step; the step-0 evaluation has no training columns
    steps = sorted(set(snap.train_curve.step) | set(snap.test_curve.step))
    assert len(lines) - 1 == len(steps)
    first = lines[1].split(",")
    assert first[0] == "0" and first[3] == first[4] == "" and first[5] and first[6]
    last = lines[-1].split(",")
    assert all(last)  # a training step with a test evaluation: every column filled
    assert float(last[2]) == snap.samples_seen / snap.n_train


def test_report_writes_a_screenshot_and_the_configuration(qtbot, snap, tmp_path):
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    window.resize(420, 260)
    QtWidgets.QVBoxLayout(window).addWidget(QtWidgets.QLabel("Softmax Visualizer"))
    window.show()
    qtbot.waitExposed(window)
    png, js = export_report(window, snap, tmp_path / "report", data_source="bundled MNIST")
    assert (png, js) == (tmp_path / "report.png", tmp_path / "report.json")
    image = QtGui.QImage(str(png))
    ratio = window.devicePixelRatioF()
    assert (image.width(), image.height()) == (round(420 * ratio), round(260 * ratio))
    report = json.loads(js.read_text())
    assert report["config"] == snap.config.to_dict()
    assert report["layer_sizes"] == list(snap.layer_sizes)
    assert report["data_source"] == "bundled MNIST"
    assert report["app_version"] == nn.__version__
    assert report["timestamp"]
    metrics = report["metrics"]
    assert metrics["step"] == snap.step and metrics["samples_seen"] == snap.samples_seen
    assert metrics["test_accuracy"] == snap.test.accuracy and metrics["test_loss"] == snap.test.loss
    assert metrics["train_loss"] == snap.train_loss
    assert "seconds_to_98" in metrics and metrics["train_seconds"] == snap.train_seconds

    # a folder: the files get a dated name
    png2, js2 = export_report(window, snap, tmp_path)
    assert png2.parent == tmp_path and png2.stem == js2.stem and png2.stem.startswith("softmax-report-")
    with pytest.raises(ValueError):
        export_report(window, snap, tmp_path / "missing" / "report")


def test_svg_falls_back_to_qt_when_pyqtgraph_fails(loss_panel, tmp_path, monkeypatch):
    import pyqtgraph.exporters

    def broken(self, *args, **kwargs):
        raise ValueError("not enough values to unpack")

    monkeypatch.setattr(pyqtgraph.exporters.SVGExporter, "export", broken)
    path = export_plot(loss_panel, tmp_path / "fallback.svg")
    root = ET.parse(path).getroot()
    rect = loss_panel.plot.sceneBoundingRect()
    assert root.get("width") == f"{int(round(rect.width()))}px"
    assert len(list(root.iter())) > 20


def test_closed_svg_paths_become_lines_back_to_the_start():
    from visualizer.export import _close_as_lines

    assert _close_as_lines("M0,0 L4,0 L4,3 Z M5,5 L6,6Z") == "M0,0 L4,0 L4,3 L0,0 M5,5 L6,6 L5,5"
    assert _close_as_lines("M1,2 C3,4 5,6 7,8") == "M1,2 C3,4 5,6 7,8"
