"""Run records: what differs between runs, and their key figures."""

from __future__ import annotations

from nn.config import PRESETS, TrainConfig
from nn.runs import difference_labels, record_from_trainer, run_labels
from nn.trainer import Trainer


def test_labels_name_only_what_differs():
    a = TrainConfig(lr=0.5)
    b = TrainConfig(lr=0.1)
    assert difference_labels([a, b]) == ["lr 0.5", "lr 0.1"]
    c = TrainConfig(lr=0.1, hidden=(128, 64), batch_size=32)
    assert difference_labels([a, c]) == ["hidden 50, lr 0.5, batch full", "hidden 128-64, lr 0.1, batch 32"]
    assert difference_labels([a, a]) == ["", ""]


def test_record_and_labels_of_runs(small_mnist):
    config = PRESETS["fast"].replace(hidden=(16,), epochs=None, iterations=6)
    runs = []
    for lr in (0.01, 0.001):
        trainer = Trainer(small_mnist, config.replace(lr=lr))
        trainer.run()
        runs.append(record_from_trainer(trainer))
    assert run_labels(runs) == ["lr 0.01", "lr 0.001"]
    assert run_labels([runs[0].replace(name="mine"), runs[1]]) == ["mine", "lr 0.001"]
    summary = runs[0].summary()
    assert summary["steps"] == 6 and summary["lr"] == 0.01 and summary["layers"] == "784-16-10"
    assert summary["final_test_accuracy"] == runs[0].final_test_accuracy is not None
    assert runs[0].best_test_accuracy >= runs[0].final_test_accuracy


def test_a_run_records_its_data_set_and_keeps_it_in_a_session(small_mnist):
    from nn.runs import runs_from_arrays, runs_to_arrays

    trainer = Trainer(small_mnist, PRESETS["fast"].replace(hidden=(8,), epochs=None, iterations=3))
    trainer.run()
    record = record_from_trainer(trainer)
    assert record.data == small_mnist.source and record.summary()["data"] == small_mnist.source
    arrays, meta = runs_to_arrays([record])
    (back,) = runs_from_arrays(arrays, meta)
    assert back.data == small_mnist.source
    del meta[0]["data"]  # sessions saved before runs named their data still open
    assert runs_from_arrays(arrays, meta)[0].data == ""
