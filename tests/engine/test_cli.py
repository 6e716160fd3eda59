"""The command line: ``python -m nn train|evaluate`` (nn.cli.main returns the exit code)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time

import background_runs
import pytest
from idx_files import REPO_ROOT, random_idx_arrays

from nn.cli import main
from nn.data import TRAIN_LABELS

ACCURACY_LINES = re.compile(r"Train Accuracy: (\d{1,3}\.\d\d)\nTest Accuracy: (\d{1,3}\.\d\d)\n\Z")
QUICK = ["--hidden", "16", "--optimizer", "adam", "--lr", "0.01", "--batch-size", "100", "--epochs", "2",
         "--activation", "relu"]


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_cli(*argv, out=None):
    out = out if out is not None else io.StringIO()
    err = io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def final_accuracies(output: str) -> tuple[str, str]:
    match = ACCURACY_LINES.search(output)
    assert match, f"output does not end with the two accuracy lines:\n{output}"
    return match.group(1), match.group(2)


def assert_one_line_error(err: str, *fragments):
    assert err.startswith("softmax-train: ")
    assert err.count("\n") == 1 and err.endswith("\n"), repr(err)
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv,fragment", [
    (["train", "--hidden", "abc"], "hidden"),
    (["train", "--hidden", "0"], "hidden"),
    (["train", "--hidden", "50,-3"], "hidden"),
    (["train", "--lr", "-1"], "learning rate"),
    (["train", "--lr", "0"], "learning rate"),
    (["train", "--lr", "nan"], "learning rate"),
    (["train", "--batch-size", "0"], "batch size"),
    (["train", "--batch-size", "many"], "batch size"),
    (["train", "--seed", "x"], "seed"),
    (["train", "--seed", "-1"], "seed"),
    (["train", "--epochs", "0"], "epochs"),
    (["train", "--iterations", "2.5"], "iterations"),
    (["train", "--epochs", "1", "--iterations", "5"], "not allowed"),
    (["train", "--momentum", "1.5"], "momentum"),
    (["train", "--l2", "-0.1"], "L2"),
    (["train", "--activation", "softplus"], "activation"),
    (["train", "--optimizer", "rmsprop"], "optimizer"),
    (["train", "--data-dir", "/missing"], "/missing"),
    (["train", "--bogus"], "--bogus"),
    (["fly"], "fly"),
    ([], "command"),
    (["evaluate", "/missing/model.npz"], "/missing/model.npz"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_arguments_exit_2_with_one_line(argv, fragment):
    code, out, err = run_cli(*argv)
    assert code == 2
    assert_one_line_error(err, fragment)
    assert "Accuracy" not in out


def test_batch_size_larger_than_the_data(small_mnist_dir):
    code, out, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--batch-size", "5000", "--quiet")
    assert code == 2
    assert_one_line_error(err, "batch size", "5000")


def test_damaged_data_file_is_named(tmp_path, mnist_subset_dir):
    folder = mnist_subset_dir(300, 100)
    labels = folder / TRAIN_LABELS
    labels.write_bytes(labels.read_bytes()[:-5])
    code, out, err = run_cli("train", "--data-dir", str(folder), "--iterations", "2")
    assert code == 2
    assert_one_line_error(err, str(labels), "truncated")


def test_save_into_a_missing_folder_fails_before_training(tmp_path, small_mnist_dir):
    target = tmp_path / "nowhere" / "model.npz"
    started = time.perf_counter()
    code, out, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--save", str(target), *QUICK)
    assert code == 2
    assert_one_line_error(err, str(target))
    assert out == ""  # no training happened
    assert time.perf_counter() - started < 5


def test_evaluate_refuses_a_model_that_does_not_fit_the_data(tmp_path, small_mnist_dir, tmp_idx_dir):
    model = tmp_path / "model.npz"
    assert run_cli("train", "--data-dir", str(small_mnist_dir), "--save", str(model), "--quiet", *QUICK)[0] == 0
    assert run_cli("evaluate", str(model), "--data-dir", str(tmp_idx_dir()))[0] == 0  # any 28x28, 10 classes
    other = tmp_idx_dir(*random_idx_arrays(shape=(10, 12)))
    code, out, err = run_cli("evaluate", str(model), "--data-dir", str(other))
    assert code == 2
    assert_one_line_error(err, str(model), "784 inputs", "120 inputs")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"")
    code, out, err = run_cli("evaluate", str(junk), "--data-dir", str(small_mnist_dir))
    assert code == 2
    assert_one_line_error(err, str(junk))


# -- a short real run -----------------------------------------------------------------------------

def test_short_run_prints_two_final_lines_and_evaluate_agrees(tmp_path, small_mnist_dir):
    model = tmp_path / "model.npz"
    code, out, err = run_cli("train", "--data-dir", str(small_mnist_dir), *QUICK)
    assert code == 0, err
    assert err == ""
    train_acc, test_acc = final_accuracies(out)
    assert float(test_acc) > 80

    code, out_saved, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--save", str(model), *QUICK)
    assert code == 0, err
    assert out_saved.splitlines()[-1] == f"Saved model to {model}"
    saved_lines = out_saved.splitlines()[-3:-1]
    assert saved_lines == [f"Train Accuracy: {train_acc}", f"Test Accuracy: {test_acc}"]  # same seed, same run
    assert model.is_file()

    code, out_eval, err = run_cli("evaluate", str(model), "--data-dir", str(small_mnist_dir))
    assert code == 0, err
    assert out_eval == f"Train Accuracy: {train_acc}\nTest Accuracy: {test_acc}\n"


def test_quiet_prints_only_the_two_lines(small_mnist_dir, tmp_path):
    code, out, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--quiet", "--save",
                             str(tmp_path / "m.npz"), *QUICK)
    assert code == 0, err
    assert ACCURACY_LINES.fullmatch(out), out


def test_non_tty_output_is_plain_lines(small_mnist_dir):
    code, out, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--hidden", "32", "--iterations", "60")
    assert code == 0, err
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert lines[0].startswith("Training 784-32-10 on ")
    assert any(line.startswith("step ") for line in lines[1:-2])  # some progress is shown
    final_accuracies(out)


def test_tty_output_redraws_one_line(small_mnist_dir):
    code, out, err = run_cli("train", "--data-dir", str(small_mnist_dir), "--hidden", "32", "--iterations", "60",
                             out=TTY())
    assert code == 0, err
    assert "\r" in out
    final_accuracies(out)


def test_divergence_exits_3_with_one_line(small_mnist_dir):
    code, out, err = run_cli("train", "--preset", "fast", "--lr", "1000", "--optimizer", "sgd",
                             "--data-dir", str(small_mnist_dir), "--epochs", "1")
    assert code == 3
    assert_one_line_error(err, "diverged", "1000")
    assert "Press Reset" not in err and "press Reset" not in err
    assert "Accuracy" not in out


def test_tutorial_preset_with_a_huge_learning_rate_exits_3(small_mnist_dir):
    code, out, err = run_cli("train", "--lr", "1000", "--optimizer", "sgd", "--iterations", "100",
                             "--data-dir", str(small_mnist_dir))
    assert code == 3
    assert_one_line_error(err, "diverged", "1000")
    assert "Accuracy" not in out


def test_module_entry_point_runs(small_mnist_dir):
    """``python -m nn`` works as a program: a short run, and a bad argument."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "nn", "train", "--data-dir", str(small_mnist_dir), *QUICK],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    final_accuracies(done.stdout)
    assert "\r" not in done.stdout
    bad = subprocess.run([sys.executable, "-m", "nn", "train", "--hidden", "abc"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    assert_one_line_error(bad.stderr, "hidden")
    helped = subprocess.run([sys.executable, "-m", "nn", "--help"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert helped.returncode == 0 and "train" in helped.stdout


# -- the real thing (slow) ------------------------------------------------------------------------

@pytest.mark.slow
def test_tutorial_run_reproduces_the_known_accuracies(request):
    """``python -m nn train`` (the tutorial preset), run in a process of its own from the start of
    the session (tests/background_runs.py)."""
    code, out, err = background_runs.result(request.node.nodeid)
    assert code == 0, err
    assert out.splitlines()[-2:] == ["Train Accuracy: 89.31", "Test Accuracy: 89.89"]


@pytest.mark.slow
def test_fast_preset_reaches_98_percent():
    code, out, err = run_cli("train", "--preset", "fast", "--quiet")
    assert code == 0, err
    _, test_acc = final_accuracies(out)
    assert float(test_acc) >= 98.0, out
