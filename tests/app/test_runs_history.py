"""Issue 15.9 and 15.7 in the Runs panel: the figures first, full names on hover, the learning
rate's and batch size's history, kept in a session; x ticks that never run together."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6 import QtCore  # noqa: E402

from nn.config import TrainConfig  # noqa: E402
from nn.runs import record_from_trainer, runs_from_arrays, runs_to_arrays  # noqa: E402
from nn.trainer import Trainer  # noqa: E402
from visualizer.panels.runs import COL, COLUMNS, RunsPanel, compact_tick_strings  # noqa: E402

CONFIG = TrainConfig(hidden=(16,), activation="relu", optimizer="sgd", lr=0.1, batch_size=64, epochs=None,
                     iterations=40)


def test_runs_show_figures_first_and_their_history(qtbot, small_mnist):
    trainer = Trainer(small_mnist, CONFIG)
    for lr, batch in ((0.5, 64), (9.12, 128), (2.0, 128)):
        trainer.run(max_steps=2)
        trainer.set_lr(lr)
        trainer.set_batch_size(batch)
    trainer.run(max_steps=2)
    trainer.evaluate_test()
    record = record_from_trainer(trainer).replace(name="a long name that a narrow column cuts short")
    [again] = runs_from_arrays(*runs_to_arrays([record]))  # kept in a session
    assert again.changes == record.changes and len(record.changes) == 4
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.resize(420, 400)
    panel.set_runs((again,))
    keys = [key for key, _, _ in COLUMNS]
    assert keys[:5] == ["show", "name", "final", "best", "time"]  # in view without scrolling
    model = panel.model
    row = next(r for r in range(model.rowCount()) if not model.rows[r].current)

    def cell(key, role=QtCore.Qt.ItemDataRole.DisplayRole):
        return model.data(model.index(row, COL[key]), role)

    assert cell("lr") == "0.1 → 0.5 → 9.12 → 2"
    assert cell("batch") == "64 → 128"
    assert "a long name that a narrow column cuts short" in cell("name", QtCore.Qt.ItemDataRole.ToolTipRole)


def test_sample_ticks_stay_short():
    assert compact_tick_strings([1e6, 2e6, 3e6], 1.0, 1e6) == ["1M", "2M", "3M"]
    assert compact_tick_strings([0, 500, 25_000], 1.0, 500) == ["0", "500", "25k"]
