"""nn.sweep: grids of runs, in parallel worker processes, that survive failed and diverged runs."""

from __future__ import annotations

import numpy as np
import pytest

from nn.config import ConfigError, TrainConfig
from nn.model_io import ModelFileError
from nn.sweep import grid, load_sweep, run_one, run_sweep, save_sweep, split_values

BASE = TrainConfig(hidden=(16,), activation="relu", optimizer="sgd", lr=0.1, batch_size=50, iterations=30, seed=1)


def test_the_grid_is_every_combination():
    configs = grid(BASE, {"lr": "0.01,0.1,0.5", "batch-size": "32,full"})
    assert len(configs) == 6
    assert [(c.lr, c.batch_size) for c in configs[:3]] == [(0.01, 32), (0.01, None), (0.1, 32)]
    hidden = grid(BASE, {"hidden": "50;128,64;none"})
    assert [c.hidden for c in hidden] == [(50,), (128, 64), ()]
    epochs = grid(BASE, {"epochs": "1,2"})
    assert all(c.iterations is None for c in epochs) and [c.epochs for c in epochs] == [1.0, 2.0]
    assert grid(BASE, {}) == [BASE]


@pytest.mark.parametrize("options,words", [
    ({"lr": "0.1,,0.5"}, "empty value"),
    ({"lr": "fast"}, "learning rate"),
    ({"lr": "-1"}, "learning rate"),
    ({"activation": "relu,softplus"}, "softplus"),
    ({"hidden": "50;;64"}, "empty alternative"),
    ({"colour": "red"}, "cannot be swept"),
    ({"lr": "0.1,0.1"}, "twice"),
    ({"seed": ",".join(map(str, range(40))), "lr": ",".join(str(0.001 * (k + 1)) for k in range(30))}, "at most"),
])
def test_bad_grids_are_refused_with_one_line(options, words):
    with pytest.raises(ConfigError) as caught:
        grid(BASE, options)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_split_values():
    assert split_values("lr", " 0.1, 0.2 ") == ["0.1", "0.2"]
    assert split_values("hidden", "128,64") == ["128,64"]


def test_a_run_that_fails_or_diverges_is_recorded_as_such(small_mnist_dir):
    ok = run_one(0, BASE, str(small_mnist_dir))
    assert ok.status == "ok" and ok.record.steps == 30 and ok.record.final_test_accuracy is not None
    diverged = run_one(1, BASE.replace(lr=1e4), str(small_mnist_dir))
    assert diverged.status == "diverged" and "diverged" in diverged.message
    failed = run_one(2, BASE, "/nonexistent/folder")
    assert failed.status == "failed" and failed.message and failed.record.steps == 0


def test_a_sweep_on_two_workers_writes_every_run(small_mnist_dir, tmp_path):
    configs = grid(BASE, {"lr": "0.05,0.2,1e4", "seed": "1,2"})
    seen = []
    results = run_sweep(configs, str(small_mnist_dir), jobs=2, on_result=seen.append)
    assert [r.index for r in results] == list(range(6)) and len(seen) == 6
    assert [r.status for r in results] == ["ok", "ok", "ok", "ok", "diverged", "diverged"]
    # the same configuration trains to the same weights in a worker as in this process
    here = run_one(0, configs[0], str(small_mnist_dir))
    np.testing.assert_array_equal(results[0].record.test_curve.accuracy, here.record.test_curve.accuracy)
    path = tmp_path / "sweep.npz"
    save_sweep(path, results, "mnist subset", 1.0)
    back = load_sweep(path)
    assert [r.status for r in back] == [r.status for r in results]
    assert [r.record.config for r in back] == configs
    np.testing.assert_array_equal(back[1].record.test_curve.accuracy, results[1].record.test_curve.accuracy)


def test_damaged_sweep_files_are_refused_in_one_line(small_mnist_dir, tmp_path):
    import zipfile

    result = run_one(0, BASE, str(small_mnist_dir))
    good = tmp_path / "good.npz"
    save_sweep(good, [result], "x", 1.0)
    with zipfile.ZipFile(good) as z:
        members = {name: z.read(name) for name in z.namelist()}
    variants = {
        "no meta": {k: v for k, v in members.items() if k != "meta.npy"},
        "no curve": {k: v for k, v in members.items() if k != "run0_test.npy"},
    }
    for name, content in variants.items():
        path = tmp_path / f"{name.replace(' ', '_')}.npz"
        with zipfile.ZipFile(path, "w") as z:
            for member, data in content.items():
                z.writestr(member, data)
        with pytest.raises(ModelFileError) as caught:
            load_sweep(path)
        assert str(path) in str(caught.value) and "\n" not in str(caught.value), name
    model = tmp_path / "model.npz"
    from nn.model_io import save_model
    from nn.network import Network

    save_model(model, Network((784, 10)), BASE.to_dict())
    with pytest.raises(ModelFileError, match="not a sweep file|format"):
        load_sweep(model)
