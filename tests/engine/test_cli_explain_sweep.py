"""`python -m nn explain` and `python -m nn sweep`: output checked against independent computations."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from nn.cli import main
from nn.data import load_mnist
from nn.model_io import load_model
from nn.sweep import load_sweep

QUICK = ["--hidden", "16", "--activation", "tanh", "--optimizer", "adam", "--lr", "0.01", "--batch-size", "50",
         "--iterations", "40"]


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def model(small_mnist_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "model.npz"
    code, _, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--quiet", "--save", str(path), *QUICK)
    assert code == 0, err
    return path


def independent(path, data_dir, index, split):
    """The same numbers, by hand: float64 forward pass of the saved weights."""
    net, _ = load_model(path)
    data = load_mnist(data_dir)
    images, labels = (data.test_images, data.test_y) if split == "test" else (data.train_images, data.train_y)
    x = images[index].reshape(-1).astype(np.float32) / np.float32(255)
    W1, b1, W2, b2 = (np.asarray(p, np.float64) for p in net.params)
    z = W2 @ np.tanh(W1 @ x + b1) + b2
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    y = np.eye(len(p))[labels[index]]
    return int(labels[index]), z, p, -np.log(p[labels[index]]), p - y


@pytest.mark.parametrize("split,index", [("test", 0), ("test", 17), ("train", 3)])
def test_explain_json_equals_an_independent_computation(model, small_mnist_dir, split, index):
    code, out, err = run_cli("explain", str(model), "--index", str(index), "--split", split, "--json",
                             "--data-dir", str(small_mnist_dir))
    assert code == 0 and err == ""
    report = json.loads(out)
    assert set(report) == {"index", "split", "true_class", "predicted_class", "logits", "probabilities", "loss",
                           "dL_dz"}
    label, z, p, loss, dz = independent(model, small_mnist_dir, index, split)
    assert report["index"] == index and report["split"] == split and report["true_class"] == label
    assert report["predicted_class"] == int(np.argmax(p))
    np.testing.assert_allclose(report["logits"], z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(report["probabilities"], p, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(report["dL_dz"], dz, rtol=1e-5, atol=1e-7)
    assert report["loss"] == pytest.approx(loss, rel=1e-5)


def test_explain_text_names_the_classes_and_marks_true_and_predicted(model, small_mnist_dir):
    code, out, err = run_cli("explain", str(model), "--index", "2", "--data-dir", str(small_mnist_dir))
    assert code == 0 and err == ""
    label, _, p, loss, _ = independent(model, small_mnist_dir, 2, "test")
    lines = out.splitlines()
    assert lines[0].startswith(f"test sample 2: true class {label}, predicted {int(np.argmax(p))}")
    assert f"{loss:.6g}" in lines[1]
    assert sum("<- true" in line for line in lines) == 1
    assert len([line for line in lines if line.strip()[:1].isdigit()]) == 10


@pytest.mark.parametrize("argv,fragment", [
    (["--index", "100000"], "outside the test set"),
    (["--index", "-1"], "index"),
    (["--index", "x"], "index"),
    (["--split", "validation", "--index", "1"], "invalid choice"),
])
def test_explain_bad_indices_are_one_line_errors(model, small_mnist_dir, argv, fragment):
    code, out, err = run_cli("explain", str(model), *argv, "--data-dir", str(small_mnist_dir))
    assert code == 2 and out == "" and err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_explain_refuses_a_bad_model_file(tmp_path, small_mnist_dir):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    code, out, err = run_cli("explain", str(bad), "--index", "0", "--data-dir", str(small_mnist_dir))
    assert code == 2 and err.count("\n") == 1 and str(bad) in err


def test_a_sweep_writes_every_run_and_shows_one_line_per_run(small_mnist_dir, tmp_path):
    out_file = tmp_path / "sweep.npz"
    code, out, err = run_cli("sweep", "--data-dir", str(small_mnist_dir), "--hidden", "16", "--optimizer", "sgd",
                             "--batch-size", "50", "--iterations", "20", "--lr", "0.05,1e4", "--seed", "1,2",
                             "--jobs", "2", "--out", str(out_file))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("sweep: 4 runs") and len([ln for ln in lines if ln.startswith("run ")]) == 4
    assert sum("DIVERGED" in ln for ln in lines) == 2
    assert lines[-1].startswith("sweep: 2 ok, 2 diverged, 0 failed")
    results = load_sweep(out_file)
    assert [r.record.config.lr for r in results] == [0.05, 0.05, 1e4, 1e4]
    assert [r.status for r in results] == ["ok", "ok", "diverged", "diverged"]
    assert all(len(r.record.test_curve) > 0 for r in results[:2])


@pytest.mark.parametrize("argv,fragment", [
    (["--lr", "0.1,,0.2"], "empty value"),
    (["--lr", "abc"], "learning rate"),
    (["--activation", "relu,swish"], "swish"),
    (["--lr", "0.1", "--backend", "nonexistent"], "backend"),
    (["--batch-size", "100000"], "batch size"),
])
def test_bad_grids_exit_2_with_one_line(small_mnist_dir, tmp_path, argv, fragment):
    code, out, err = run_cli("sweep", "--data-dir", str(small_mnist_dir), *argv, "--out", str(tmp_path / "s.npz"))
    assert code == 2 and err.count("\n") == 1 and fragment in err and "Traceback" not in err, err
    assert not (tmp_path / "s.npz").exists()


def test_train_with_dropout_and_augmentation_and_resume_changing_them(small_mnist_dir, tmp_path):
    session = tmp_path / "session.npz"
    code, out, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--quiet", *QUICK, "--dropout", "0.2",
                             "--shift", "1", "--rotation", "5", "--noise", "0.05", "--save-checkpoint", str(session))
    assert code == 0, err
    assert "Test Accuracy:" in out
    from nn.checkpoint import load_checkpoint

    trainer, _ = load_checkpoint(session, load_mnist(str(small_mnist_dir)))
    config = trainer.config
    assert (config.dropout, config.augment_shift, config.augment_rotation, config.augment_noise) == (0.2, 1, 5, 0.05)
    code, out, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--quiet", "--resume", str(session),
                             "--iterations", "50", "--dropout", "0", "--shift", "0", "--save-checkpoint", str(session))
    assert code == 0, err
    trainer, _ = load_checkpoint(session, load_mnist(str(small_mnist_dir)))
    config = trainer.config
    assert (config.dropout, config.augment_shift, config.augment_rotation) == (0.0, 0, 5.0)
    assert trainer.step_count == 50
    code, _, err = run_cli("train", "--data-dir", str(small_mnist_dir), *QUICK, "--dropout", "0.95")
    assert code == 2 and "dropout" in err and err.count("\n") == 1
