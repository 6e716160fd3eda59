"""The panels render real snapshots of a real trainer: what they show must be what the snapshot says."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
import pytest  # noqa: E402

import nn.data  # noqa: E402
from nn.config import TrainConfig  # noqa: E402
from nn.trainer import Trainer  # noqa: E402

pytest.importorskip("pytestqt")

import visualizer.panels  # noqa: E402
from visualizer.panel_table import DOCKED, PANELS  # noqa: E402
from visualizer.panels import (  # noqa: E402
    AccuracyPanel,
    ClassProbabilityPanel,
    LossPanel,
    Panel,
    SoftmaxPanel,
    WeightsPanel,
)
from visualizer.panels import weights as weights_module  # noqa: E402
from visualizer.panels.confusion import ConfusionMatrixPanel  # noqa: E402
from visualizer.panels.gallery import MistakesGallery  # noqa: E402
from visualizer.panels.pins import PinnedDigitsPanel  # noqa: E402

CONFIG = TrainConfig(hidden=(32,), activation="relu", optimizer="adam", lr=0.003, batch_size=64,
                     epochs=1.0, iterations=None)
PROBES = [3, 17]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def data(small_mnist) -> nn.data.Dataset:
    return small_mnist


@pytest.fixture(scope="module")
def run(data):
    """(trainer, [snapshots]) of a short run with two live changes and two test evaluations."""
    trainer = Trainer(data, CONFIG)
    trainer.set_probes(PROBES)
    snaps = []
    trainer.run(max_steps=10)
    trainer.evaluate_test()
    snaps.append(trainer.snapshot())
    trainer.set_lr(0.001)
    trainer.run(max_steps=15)
    trainer.set_batch_size(32)
    trainer.run(max_steps=15)
    trainer.evaluate_test()
    snaps.append(trainer.snapshot())
    return trainer, snaps


def _data(item):
    x, y = item.getData()
    return (np.zeros(0) if x is None else np.asarray(x)), (np.zeros(0) if y is None else np.asarray(y))


def _original(item):
    """A PlotDataItem's full data (getData() may be clipped/downsampled to the view)."""
    return np.asarray(item.xData), np.asarray(item.yData)


# -- curves -------------------------------------------------------------------------------------

def test_loss_panel_shows_curves_and_event_marks(qtbot, run):
    _, snaps = run
    panel = LossPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(snaps[0])
    assert len(panel.event_lines) == 0
    snap = snaps[1]
    panel.show_snapshot(snap)
    x, y = _original(panel.train_item)
    np.testing.assert_array_equal(x, snap.train_curve.samples)
    np.testing.assert_array_equal(y, snap.train_curve.loss)
    x, y = _original(panel.test_item)
    np.testing.assert_array_equal(x, snap.test_curve.samples)
    np.testing.assert_array_equal(y, snap.test_curve.loss)
    assert len(snap.events) == 2
    assert [line.value() for line in panel.event_lines] == [e.samples_seen for e in snap.events]
    assert [line.label.toPlainText() for line in panel.event_lines] == [e.text for e in snap.events]
    assert "lr 0.003 -> 0.001" in panel.event_lines[0].label.toPlainText()
    lines_in_plot = [i for i in panel.plot.items if i in panel.event_lines]
    assert len(lines_in_plot) == 2
    # the same events again: no duplicate lines
    panel.show_snapshot(snap)
    assert len(panel.event_lines) == 2
    title = panel.title.text()
    assert "Loss" in title and f"{snap.test_curve.loss[-1]:.3f}" in title
    assert panel.epoch_axis.n_train == snap.n_train

    panel.clear()
    assert panel.event_lines == []
    assert not [i for i in panel.plot.items if isinstance(i, pg.InfiniteLine)]
    assert len(_data(panel.train_item)[0]) == 0 and len(_data(panel.test_item)[0]) == 0
    panel.show_snapshot(snap)  # a new run drawn again after clear()
    assert len(panel.event_lines) == 2


def test_curve_x_axis_spans_an_epoch_then_grows_in_coarse_steps_up_to_the_planned_end(qtbot, data, run):
    trainer, snaps = run
    panel = AccuracyPanel()
    qtbot.addWidget(panel)
    snap = snaps[1]
    assert snap.planned_samples == CONFIG.epochs * snap.n_train
    panel.show_snapshot(snap)
    (x_low, x_high), _ = panel.plot.vb.viewRange()
    assert x_low == 0 and x_high == pytest.approx(snap.n_train)  # the whole 1-epoch run, at once

    long_run = Trainer(data, CONFIG.replace(epochs=None, iterations=400, batch_size=100))
    assert long_run.snapshot().planned_samples == 400 * 100
    long_run.run(max_steps=35)
    long_run.evaluate_test()
    panel.clear()
    panel.show_snapshot(long_run.snapshot())  # 3 500 samples: one epoch of 3 000 is too short
    (_, x_high), _ = panel.plot.vb.viewRange()
    assert x_high == pytest.approx(5000)  # the next of 1, 2, 3, 5 x 10^k
    long_run.set_batch_size(50)  # the planned end moves with the batch size
    assert long_run.snapshot().planned_samples == 3500 + (400 - 35) * 50


def test_loss_panel_log_scale(qtbot, run):
    panel = LossPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(run[1][1])
    panel.log_check.setChecked(True)
    assert panel.plot.ctrl.logYCheck.isChecked()
    panel.log_check.setChecked(False)
    assert not panel.plot.ctrl.logYCheck.isChecked()


def test_accuracy_panel_in_percent(qtbot, run):
    snap = run[1][1]
    panel = AccuracyPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(snap)
    np.testing.assert_allclose(_original(panel.train_item)[1], snap.train_curve.accuracy * 100)
    np.testing.assert_allclose(_original(panel.test_item)[1], snap.test_curve.accuracy * 100)
    assert f"{snap.test.accuracy * 100:.1f} %" in panel.title.text()
    assert len(panel.event_lines) == 2


def test_curve_panel_marks_divergence_once(qtbot, run):
    # A real snapshot marked as diverged (whether a given lr diverges is the trainer's business).
    snap = dataclasses.replace(run[1][1], diverged="Training diverged at step 41: the loss became NaN")
    panel = LossPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(snap)
    panel.show_snapshot(snap)
    assert panel.diverged_line is not None
    assert panel.diverged_line.label.toPlainText() == "diverged"
    assert sum(1 for i in panel.plot.items if i is panel.diverged_line) == 1
    panel.clear()
    assert panel.diverged_line is None


# -- softmax ------------------------------------------------------------------------------------

def test_softmax_panel_shows_selected_digit_and_probabilities(qtbot, data, run):
    snap = run[1][1]
    panel = SoftmaxPanel(data)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.digit_changed) as blocker:
        panel.select_digit(PROBES[1])
    assert blocker.args == [PROBES[1]]
    assert panel.selected_index == PROBES[1] and panel.spin.value() == PROBES[1]
    np.testing.assert_array_equal(panel.image_item.image, data.test_images[PROBES[1]])
    # no probabilities yet: empty bars and a waiting message, never another digit's numbers
    assert np.all(panel.bars.opts["height"] == 0)
    assert panel.waiting_text.isVisible() or panel.waiting_text.textItem.toPlainText()

    panel.show_snapshot(snap)
    probs = snap.probe_probs[1]
    np.testing.assert_allclose(panel.bars.opts["height"], probs * 100)
    predicted = int(np.argmax(probs))
    true = int(data.test_y[PROBES[1]])
    title = panel.title.text()
    assert f"#{PROBES[1]}" in title and f">{true}<" in title and f">{predicted}<" in title
    assert f"{probs[predicted] * 100:.1f} %" in title
    brushes = panel.bars.opts["brushes"]
    others = [c for c in range(10) if c != predicted]
    assert all(brushes[c].color() != brushes[predicted].color() for c in others)
    assert panel.bar_labels[predicted].textItem.toPlainText() == f"{probs[predicted] * 100:.1f}"

    # a digit that is not probed: the image changes at once, the bars wait
    panel.select_digit(500)
    np.testing.assert_array_equal(panel.image_item.image, data.test_images[500])
    panel.show_snapshot(snap)
    assert np.all(panel.bars.opts["height"] == 0)
    assert "waiting" in panel.waiting_text.textItem.toPlainText()


def test_softmax_panel_controls(qtbot, data):
    panel = SoftmaxPanel(data)
    qtbot.addWidget(panel)
    seen = []
    panel.digit_changed.connect(seen.append)
    panel.spin.setValue(5)  # the user typing an index
    panel.next_button.click()
    panel.prev_button.click()
    panel.prev_button.click()
    assert seen == [5, 6, 5, 4]
    panel.random_button.click()
    assert seen[-1] == panel.selected_index != 4
    panel.select_digit(10**6)  # clamped
    assert panel.selected_index == len(data.test_y) - 1
    panel.select_digit(panel.selected_index)  # same index: still announced (the window probes it)
    assert seen[-1] == seen[-2] == len(data.test_y) - 1
    for widget in (panel, panel.spin, panel.prev_button, panel.next_button, panel.random_button):
        assert widget.toolTip()


def test_softmax_panel_wrong_prediction_is_red(qtbot, data, run):
    trainer, snaps = run
    evaluation = snaps[1].test
    wrong = np.flatnonzero(evaluation.predictions != data.test_y)
    assert len(wrong)
    index = int(wrong[0])
    trainer.set_probes([index])
    snap = trainer.snapshot()
    trainer.set_probes(PROBES)
    panel = SoftmaxPanel(data)
    qtbot.addWidget(panel)
    panel.select_digit(index)
    panel.show_snapshot(snap)
    predicted = int(np.argmax(snap.probe_probs[0]))
    assert predicted != data.test_y[index]
    assert panel.bars.opts["brushes"][predicted].color().name() == "#d62728"
    assert panel.bars.opts["pens"][int(data.test_y[index])].color().name() == "#2ca02c"


# -- class probabilities ------------------------------------------------------------------------

def test_class_probability_panel(qtbot, run, data):
    trainer, snaps = run
    panel = ClassProbabilityPanel()
    qtbot.addWidget(panel)
    empty = Trainer(data, CONFIG).snapshot()
    panel.show_snapshot(empty)
    assert panel.matrix is None and panel.empty_text.isVisible()

    snap = snaps[1]
    panel.show_snapshot(snap)
    np.testing.assert_array_equal(panel.image_item.image, snap.test.class_mean_probs)
    assert tuple(panel.image_item.levels) == (0.0, 1.0)
    cell = panel.cell_text(3, 3)
    assert cell == f"{snap.test.class_mean_probs[3, 3] * 100:.0f}"
    tiny = np.argwhere(snap.test.class_mean_probs < 0.01)
    if len(tiny):
        t, p = tiny[0]
        assert panel.cell_text(t, p) == ""
    # unchanged evaluation: no re-render
    marker = panel.image_item.image
    panel.show_snapshot(snaps[1])
    assert panel.image_item.image is marker
    panel.clear()
    assert panel.matrix is None and panel.empty_text.isVisible()


# -- weights ------------------------------------------------------------------------------------

def test_weights_panel_mosaic(qtbot, run):
    snap = run[1][1]
    panel = WeightsPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(snap)
    units = snap.first_layer_weights.shape[0]
    assert panel.n_tiles == units == 32
    rows, cols = panel.grid
    assert rows * cols >= 32
    h, w = snap.image_shape
    gap = weights_module.GAP
    assert panel.mosaic.shape == (rows * (h + gap) - gap, cols * (w + gap) - gap)
    assert np.count_nonzero(~np.isnan(panel.mosaic)) == 32 * h * w
    unit = 9
    r, c = divmod(unit, cols)
    tile = panel.mosaic[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w]
    weights = snap.first_layer_weights[unit].astype(np.float64)
    np.testing.assert_allclose(tile, (weights / np.abs(weights).max()).reshape(h, w))
    assert panel.tile_at(c * (w + gap) + 3, r * (h + gap) + 3) == unit
    assert panel.tile_at(c * (w + gap) + w + 0.5, r * (h + gap) + 3) is None  # in a gap
    assert "32 units" in panel.title.text()
    image = panel.image_item.image
    assert image.shape == (*panel.mosaic.shape, 3) and image.dtype == np.uint8
    panel.clear()
    assert panel.mosaic is None


def test_weights_panel_shows_first_64_units(qtbot, data):
    trainer = Trainer(data, CONFIG.replace(hidden=(100,)))
    panel = WeightsPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(trainer.snapshot())
    assert panel.n_tiles == 64 and panel.grid == (8, 8)
    assert "first 64 of 100 units" in panel.title.text()


def test_weights_panel_class_templates(qtbot, data):
    trainer = Trainer(data, CONFIG.replace(hidden=()))
    trainer.run(max_steps=5)
    panel = WeightsPanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(trainer.snapshot())
    assert panel.templates and panel.n_tiles == 10 and panel.grid == (2, 5)
    assert "Class templates (no hidden layer)" in panel.title.text()
    assert [label.textItem.toPlainText() for label in panel._labels] == [str(i) for i in range(10)]


def test_weights_panel_throttles_but_draws_the_last_snapshot(qtbot, data):
    trainer = Trainer(data, CONFIG)
    panel = WeightsPanel()
    qtbot.addWidget(panel)
    trainer.run(max_steps=1)
    panel.show_snapshot(trainer.snapshot())  # first after clear(): drawn at once
    first = panel.mosaic.copy()
    trainer.run(max_steps=3)
    last = trainer.snapshot()
    panel.show_snapshot(last)  # within the throttle interval: deferred
    if panel._throttle._pending is last:
        np.testing.assert_array_equal(panel.mosaic, first)
    qtbot.waitUntil(lambda: panel._key is not None and panel._key[0] == last.step, timeout=TIMEOUT_MS)
    assert not np.array_equal(panel.mosaic, first)


# -- common API -----------------------------------------------------------------------------------

def test_every_panel_has_the_common_api(qtbot, data, run):
    snap = run[1][1]
    for panel in (LossPanel(), AccuracyPanel(), SoftmaxPanel(data), ClassProbabilityPanel(), WeightsPanel(),
                  MistakesGallery(data), ConfusionMatrixPanel(data), PinnedDigitsPanel(data)):
        qtbot.addWidget(panel)
        assert panel.toolTip()
        assert 250 <= panel.minimumWidth() <= 420 and 200 <= panel.minimumHeight() <= 360
        panel.show_snapshot(snap)
        panel.clear()
        panel.show_snapshot(snap)


def test_every_panel_of_the_table_is_a_panel_and_every_panel_is_in_the_table(qtbot, data, run):
    snap = run[1][1]
    for spec in PANELS:
        panel = spec.build(data)
        qtbot.addWidget(panel)
        assert isinstance(panel, Panel), spec.name
        panel.show_snapshot(snap)
        panel.clear()
        panel.apply_theme()
        panel.show_snapshot(snap)
    # panels/ holds panels only: styling, throttling and export menus live outside it
    modules = {path.stem for path in Path(visualizer.panels.__file__).parent.glob("*.py")} - {"__init__"}
    assert modules == {spec.widget.split(".")[0] for spec in PANELS}
    # Saved layouts find docks by these names: they never change.
    assert [spec.name for spec in DOCKED] == ["softmax", "class_probs", "confusion", "weights", "mistakes", "pins",
                                             "draw", "activations", "learning", "pca", "runs", "math", "make"]
