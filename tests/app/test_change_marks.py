"""Issue 15.6: change marks keep their labels beside their lines and inside the plot as the axis
grows, and clear of the legend."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import QPointF  # noqa: E402

from nn.config import PRESETS  # noqa: E402
from nn.trainer import Trainer  # noqa: E402
from visualizer.panels.curves import AccuracyPanel, LossPanel  # noqa: E402


def settle(qtbot):
    qtbot.wait(30)


def check(panel):
    view = panel.plot.vb.sceneBoundingRect()
    legend = panel.legend.sceneBoundingRect()
    for line in panel.event_lines:
        x = panel.plot.vb.mapViewToScene(QPointF(line.value(), 0)).x()
        label = line.label.sceneBoundingRect()
        assert abs(label.left() - x) < 3 or abs(label.right() - x) < 3, "beside its line"
        assert view.contains(label), "inside the plot"
        assert not label.intersects(legend), "clear of the legend"


def test_labels_follow_their_lines_as_the_axis_grows(qtbot, small_mnist):
    trainer = Trainer(small_mnist, PRESETS["fast"].replace(epochs=50))
    panels = [LossPanel(), AccuracyPanel()]
    for panel in panels:
        qtbot.addWidget(panel)
        panel.resize(640, 300)
        panel.show()
    for lr in (0.001, 0.002, 0.0005, 0.001):
        trainer.run(max_steps=3)
        trainer.set_lr(lr)
    trainer.run(max_steps=1)
    trainer.evaluate_test()
    for panel in panels:
        panel.show_snapshot(trainer.snapshot())
    settle(qtbot)
    last = panels[0].event_lines[-1]
    assert last.label.anchors[0][0] == 1  # near the right edge: left of its line
    for panel in panels:
        check(panel)
    trainer.run(max_steps=300)
    trainer.evaluate_test()
    for panel in panels:
        panel.show_snapshot(trainer.snapshot())
    settle(qtbot)
    assert last.label.anchors[0][0] == 0  # the axis grew: right of its line again
    for panel in panels:
        check(panel)
