"""Hostile and damaged files (issue 18): every reader checks declared sizes before it allocates or
decompresses, every problem is one line naming the file with exit 2, labels far outside the
classes are refused, damaged checkpoints never reach the trainer, resuming on other pixels is
refused, and empty file names are refused.

The hostile files are built small (see ``forgery``), whatever they claim. Memory and time are
measured in a child process: peak RSS may grow by less than 200 MB over the child's baseline, and
the command may take less than 5 s (a bound only a hang or a full decompression would break).
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from forgery import (
    DEFLATED,
    deflated_zeros,
    gzip_bomb,
    idx_header,
    npy_bytes,
    npz_with,
    run_measured,
)
from idx_files import idx_bytes, random_idx_arrays, write_mnist_subset

from nn.checkpoint import checkpoint_arrays, load_checkpoint, load_session, save_checkpoint
from nn.cli import main
from nn.config import ConfigError, TrainConfig, validate
from nn.data import IMAGE_MAGIC, LABEL_MAGIC, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, DataError, load_mnist, read_idx
from nn.limits import MAX_CLASSES
from nn.model_io import ModelFileError, load_model, meta_array, save_model
from nn.network import Network
from nn.trainer import Trainer

MB = 1 << 20
GB = 1 << 30
MEMORY_BOUND = 200 * MB
TIME_BOUND = 5.0


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(map(str, argv)), out, err)
    return code, out.getvalue(), err.getvalue()


def assert_one_line(err: str, *fragments) -> None:
    assert err.startswith("softmax-train: error: "), err
    assert err.count("\n") == 1 and err.endswith("\n"), repr(err)
    assert "Traceback" not in err
    for fragment in fragments:
        assert str(fragment) in err, f"{fragment!r} not in {err!r}"


def assert_bounded(report: dict) -> None:
    assert report["grown"] < MEMORY_BOUND, f"peak RSS grew by {report['grown'] / MB:.0f} MB"
    assert report["seconds"] < TIME_BOUND, f"took {report['seconds']:.1f} s"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A small valid model for MNIST's 784 inputs and 10 classes."""
    path = tmp_path_factory.mktemp("model") / "model.npz"
    save_model(path, Network.initialized((784, 16, 10), "relu", "he", seed=1))
    return path


# -- 1. bounded memory on every input ---------------------------------------------------------------

def test_an_extra_3gb_compressed_member_is_never_read(tmp_path, model_file, small_mnist_dir):
    """A model file of a few MB with one more member that inflates to 3 GB: only the members the
    format defines are read, so evaluate works as if it were not there."""
    bomb = ("junk.npy", deflated_zeros(3 * GB), DEFLATED, 3 * GB, 0)
    hostile = npz_with(tmp_path / "bomb.npz", model_file, add=[bomb])
    assert hostile.stat().st_size < 5 * MB
    report, out, err = run_measured(tmp_path, "evaluate", hostile, "--data-dir", small_mnist_dir)
    assert report["code"] == 0, err
    assert out.startswith("Train Accuracy: ") and err == ""
    assert_bounded(report)


def test_a_defined_member_declaring_3gb_is_refused_before_it_is_inflated(tmp_path, model_file, small_mnist_dir):
    bomb = ("W1.npy", deflated_zeros(3 * GB), DEFLATED, 3 * GB, 0)
    hostile = npz_with(tmp_path / "bomb.npz", model_file, replace={"W1.npy": bomb})
    report, out, err = run_measured(tmp_path, "evaluate", hostile, "--data-dir", small_mnist_dir)
    assert report["code"] == 2
    assert_one_line(err, hostile, "'W1'", "3.0 GB")
    assert_bounded(report)


def test_an_npy_header_claiming_10_to_the_12_elements_names_the_file(tmp_path, model_file, small_mnist_dir):
    """Was: 'out of memory; use smaller layers or batches', naming no file."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    hostile = npz_with(tmp_path / "claims.npz", model_file,
                       replace={"W1.npy": npy_bytes(header=header, data=bytes(4096))})
    report, out, err = run_measured(tmp_path, "evaluate", hostile, "--data-dir", small_mnist_dir)
    assert report["code"] == 2
    assert_one_line(err, hostile, "'W1'", "(1000000, 1000000)")
    assert "out of memory" not in err
    assert_bounded(report)


def hostile_data_dir(tmp_path, mnist, content: bytes):
    folder = write_mnist_subset(tmp_path / "data", mnist, 300, 100)
    (folder / TRAIN_IMAGES).unlink()
    (folder / f"{TRAIN_IMAGES}.gz").write_bytes(content)
    return folder, folder / f"{TRAIN_IMAGES}.gz"


def test_a_gzip_idx_claiming_10_to_the_9_images_is_refused_from_its_header(tmp_path, mnist):
    """2 MB of gzip that inflates to 2 GB, whose header claims 10^9 images: only the header is
    inflated (was: all of it, 11 s and 4.2 GB)."""
    folder, path = hostile_data_dir(tmp_path, mnist, gzip_bomb(idx_header(IMAGE_MAGIC, 10**9, 28, 28), 2 * GB))
    assert path.stat().st_size < 3 * MB
    report, out, err = run_measured(tmp_path, "train", "--data-dir", folder, "--iterations", "1")
    assert report["code"] == 2
    assert_one_line(err, path, "1000000000 images")
    assert_bounded(report)


def test_a_gzip_idx_holding_far_more_than_its_header_says_stops_early(tmp_path, mnist):
    """The header claims 300 images; 2 GB of zeros follow: reading stops just past the 300."""
    folder, path = hostile_data_dir(tmp_path, mnist, gzip_bomb(idx_header(IMAGE_MAGIC, 300, 28, 28), 2 * GB))
    report, out, err = run_measured(tmp_path, "train", "--data-dir", folder, "--iterations", "1")
    assert report["code"] == 2
    assert_one_line(err, path, "unexpected bytes after the 300 images")
    assert_bounded(report)


def test_a_gzip_idx_claiming_more_than_it_holds_is_truncated(tmp_path, mnist):
    content = gzip_bomb(idx_header(IMAGE_MAGIC, 60000, 28, 28), 0)
    folder, path = hostile_data_dir(tmp_path, mnist, content)
    code, out, err = run_cli("train", "--data-dir", folder, "--iterations", "1")
    assert code == 2
    assert_one_line(err, path, "truncated")


def test_a_raw_idx_claiming_more_than_the_file_holds_is_refused_before_reading(tmp_path, mnist):
    folder = write_mnist_subset(tmp_path / "data", mnist, 300, 100)
    (folder / TRAIN_IMAGES).write_bytes(idx_header(IMAGE_MAGIC, 10**9, 28, 28) + bytes(1000))
    code, out, err = run_cli("train", "--data-dir", folder, "--iterations", "1")
    assert code == 2
    assert_one_line(err, folder / TRAIN_IMAGES, "truncated", "1000000000 images")


# -- 2. labels far outside the expected classes -----------------------------------------------------

def test_one_stray_label_of_200_is_refused_not_a_201_class_network(tmp_path, tmp_idx_dir):
    train_images, train_labels, test_images, test_labels = random_idx_arrays(n_train=300, n_test=50)
    train_labels = train_labels.copy()
    train_labels[123] = 200
    folder = tmp_idx_dir(train_images, train_labels, test_images, test_labels)
    with pytest.raises(DataError) as excinfo:
        load_mnist(folder)
    message = str(excinfo.value)
    assert str(folder / TRAIN_LABELS) in message and "label 200 (sample 123)" in message
    assert "10-199" in message and "\n" not in message
    code, out, err = run_cli("train", "--data-dir", folder, "--iterations", "1")
    assert code == 2
    assert_one_line(err, folder / TRAIN_LABELS, "label 200")


def test_labels_spread_over_0_to_255_with_most_classes_empty_are_refused(tmp_idx_dir):
    train_images, train_labels, test_images, test_labels = random_idx_arrays(n_train=100, n_test=20)
    labels = np.random.default_rng(0).integers(0, 256, size=100).astype(np.uint8)
    labels[0] = 255
    folder = tmp_idx_dir(train_images, labels, test_images, test_labels)
    with pytest.raises(DataError, match="without a single training sample"):
        load_mnist(folder)


def test_a_few_empty_classes_are_allowed_as_in_emnist_letters(tmp_idx_dir):
    """EMNIST letters number their classes 1-26: class 0 has no sample, which is fine."""
    train_images, _, test_images, _ = random_idx_arrays(n_train=260, n_test=52)
    data = load_mnist(tmp_idx_dir(train_images, (np.arange(260) % 26 + 1).astype(np.uint8),
                                  test_images, (np.arange(52) % 26 + 1).astype(np.uint8)))
    assert data.n_classes == 27


def test_the_configuration_refuses_more_than_the_class_limit():
    validate(TrainConfig(), 784, MAX_CLASSES, 100)
    with pytest.raises(ConfigError, match="classes"):
        validate(TrainConfig(), 784, MAX_CLASSES + 1, 100)
    with pytest.raises(ConfigError, match="classes"):
        validate(TrainConfig(), 784, 1, 100)


# -- 3. damaged models and checkpoints: one line, never a traceback -------------------------------------

def model_meta(model_file) -> dict:
    with np.load(model_file) as npz:
        return json.loads(str(npz["meta"]))


def arrays_of(path) -> dict:
    with np.load(path) as npz:
        return {name: npz[name] for name in npz.files}


def with_meta(tmp_path, model_file, name, **changes):
    arrays = arrays_of(model_file)
    arrays["meta"] = meta_array(dict(model_meta(model_file), **changes))
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def deep_json(depth: int) -> str:
    return '{"format": "softmax-visualizer-model", "x": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("case", ["version-string", "nested-100000", "nested-40", "meta-plain", "W1-plain",
                                  "version-bool", "sizes-bool", "meta-object-array"])
def test_damaged_models_give_one_line(tmp_path, model_file, small_mnist_dir, case):
    path = tmp_path / f"{case}.npz"
    fragment = {"version-string": "version", "nested-100000": "nests deeper", "nested-40": "nests deeper",
                "meta-plain": "plain zip member", "W1-plain": "plain zip member", "version-bool": "version",
                "sizes-bool": "layer_sizes", "meta-object-array": "pickle"}[case]
    if case == "version-string":
        with_meta(tmp_path, model_file, path.name, version="2")
    elif case == "version-bool":
        with_meta(tmp_path, model_file, path.name, version=True)
    elif case == "sizes-bool":
        with_meta(tmp_path, model_file, path.name, layer_sizes=[784, True, 10])
    elif case.startswith("nested"):
        depth = int(case.split("-")[1])
        npz_with(path, model_file, replace={"meta.npy": npy_bytes(np.array(deep_json(depth)))})
    elif case == "meta-plain":
        npz_with(path, model_file, replace={"meta.npy": ("meta", json.dumps(model_meta(model_file)).encode())})
    elif case == "W1-plain":
        npz_with(path, model_file, replace={"W1.npy": ("W1", bytes(784 * 16 * 4))})
    else:
        arrays = arrays_of(model_file)
        np.savez(path, **dict(arrays, meta=np.array([model_meta(model_file)], dtype=object)))
    with pytest.raises(ModelFileError) as excinfo:
        load_model(path)
    assert str(path) in str(excinfo.value) and fragment in str(excinfo.value)
    code, out, err = run_cli("evaluate", path, "--data-dir", small_mnist_dir)
    assert code == 2
    assert_one_line(err, path, fragment)


@pytest.fixture(scope="module")
def session(small_mnist, tmp_path_factory):
    """A checkpoint of a short mini-batch run on the 2000/500 data of ``small_mnist_dir``, and the
    data set it belongs to."""
    data = small_mnist.subset(2000, 500)
    trainer = Trainer(data, TrainConfig(hidden=(16,), activation="relu", optimizer="adam", lr=0.003,
                                        batch_size=50, epochs=1.0, iterations=None, init="he"))
    trainer.run(max_steps=7)
    path = tmp_path_factory.mktemp("session") / "session.npz"
    save_checkpoint(path, trainer)
    return path, data, checkpoint_arrays(trainer)


def damaged_checkpoint(tmp_path, session, meta_changes=None, **array_changes):
    path, _, arrays = session
    arrays = dict(arrays)
    meta = json.loads(str(arrays["meta"]))
    meta.update(meta_changes or {})
    arrays.update(array_changes, meta=meta_array(meta))
    damaged = tmp_path / "damaged.npz"
    np.savez(damaged, **arrays)
    return damaged


@pytest.mark.parametrize("case,fragment", [
    ("order-too-large", "data order"),
    ("order-negative", "data order"),
    ("order-all-zeros", "data order"),
    ("position-negative", "'position'"),
    ("position-past-the-end", "'position'"),
    ("diverged-dict", "'diverged'"),
    ("version-string", "version"),
    ("events-dict", "'events'"),
    ("step-float", "'step'"),
    ("pins-strings", "'pins'"),
    ("rng-garbage", "shuffling state"),
    ("config-list", "'config'"),
    ("config-lr-text", "lr"),
    ("history-bucket-zero", "'train_history'"),
    ("samples-beyond-a-float", "'samples_seen'"),
    ("seconds-beyond-a-float", "'train_seconds'"),
    ("epochs-1e308", "epochs"),
])
def test_damaged_checkpoints_give_one_line(tmp_path, session, small_mnist_dir, case, fragment):
    order = session[2]["order"]
    changes = {
        "order-too-large": ({}, {"order": order + 60000}),
        "order-negative": ({}, {"order": order - 1}),
        "order-all-zeros": ({}, {"order": np.zeros_like(order)}),
        "position-negative": ({"position": -5}, {}),
        "position-past-the-end": ({"position": 2001}, {}),
        "diverged-dict": ({"diverged": {"why": "because"}}, {}),
        "version-string": ({"version": "2"}, {}),
        "events-dict": ({"events": {"a": 1}}, {}),
        "step-float": ({"step": 7.5}, {}),
        "pins-strings": ({"pins": ["a"]}, {}),
        "rng-garbage": ({"rng_state": {"bit_generator": "PCG64", "state": {"state": "x"}}}, {}),
        "config-list": ({"config": [1, 2]}, {}),
        "config-lr-text": ({"config": dict(TrainConfig().to_dict(), lr="fast")}, {}),
        "history-bucket-zero": ({"train_history": {"bucket": 0, "pending_steps": 0}}, {}),
        "samples-beyond-a-float": ({"samples_seen": 10**400}, {}),
        "seconds-beyond-a-float": ({"train_seconds": 10**400}, {}),
        "epochs-1e308": ({"config": dict(json.loads(str(session[2]["meta"]))["config"], epochs=1e308)}, {}),
    }[case]
    path = damaged_checkpoint(tmp_path, session, changes[0], **changes[1])
    with pytest.raises(ModelFileError) as excinfo:  # what the app's Open session calls
        load_session(path, session[1])
    assert str(path) in str(excinfo.value) and fragment in str(excinfo.value), str(excinfo.value)
    code, out, err = run_cli("train", "--resume", path, "--data-dir", small_mnist_dir, "--quiet")
    assert code == 2
    assert_one_line(err, path, fragment)


def test_the_undamaged_session_resumes(session, small_mnist_dir, tmp_path):
    trainer, _ = load_checkpoint(session[0], session[1])
    assert trainer.step_count == 7
    code, out, err = run_cli("train", "--resume", session[0], "--data-dir", small_mnist_dir, "--iterations", "9",
                             "--quiet")
    assert code == 0, err


@pytest.mark.parametrize("argv,fragment", [
    (["--epochs", "1e308"], "epochs"),
    (["--iterations", "1" + "0" * 30], "iterations"),
])
def test_run_lengths_beyond_any_real_run_are_refused(argv, fragment):
    code, out, err = run_cli("train", *argv)
    assert code == 2
    assert_one_line(err, fragment)


# -- 7. resuming on other images with the same labels ----------------------------------------------

def test_resuming_on_inverted_pixels_with_the_same_labels_is_refused(tmp_path, session, mnist):
    path, data, _ = session
    inverted = tmp_path / "inverted"
    inverted.mkdir()
    for name, array in ((TRAIN_IMAGES, 255 - data.train_images), (TRAIN_LABELS, data.train_y),
                        ("t10k-images-idx3-ubyte", 255 - data.test_images), (TEST_LABELS, data.test_y)):
        (inverted / name).write_bytes(idx_bytes(array.astype(np.uint8)))
    other = load_mnist(inverted)
    np.testing.assert_array_equal(other.train_y, data.train_y)
    with pytest.raises(ModelFileError, match="other data"):
        load_checkpoint(path, other)
    code, out, err = run_cli("train", "--resume", path, "--data-dir", inverted, "--quiet")
    assert code == 2
    assert_one_line(err, path, "other data")


def test_one_changed_pixel_changes_the_fingerprint(small_mnist):
    from nn.checkpoint import data_fingerprint

    data = small_mnist.subset(200, 50)
    images = data.train_images.copy()
    images[17, 5, 5] ^= 1
    fields = ("train_y", "test_images", "test_y", "test_x", "train_Y", "test_Y", "n_classes", "source")
    changed = type(data)(**{**{f: getattr(data, f) for f in fields}, "train_images": images})
    assert data_fingerprint(changed) != data_fingerprint(data)
    assert data_fingerprint(data) == data_fingerprint(small_mnist.subset(200, 50))


def test_checkpoints_with_the_older_labels_only_fingerprint_still_load(tmp_path, session):
    path, data, arrays = session
    from nn.checkpoint import _labels_fingerprint

    older = damaged_checkpoint(tmp_path, session, {"data": _labels_fingerprint(data)})
    trainer, _ = load_checkpoint(older, data)
    assert trainer.step_count == 7


# -- 8. empty file names ----------------------------------------------------------------------------

@pytest.mark.parametrize("argv,option", [
    (["train", "--save", ""], "--save"),
    (["train", "--save-checkpoint", ""], "--save-checkpoint"),
    (["train", "--resume", ""], "--resume"),
    (["train", "--data-dir", ""], "--data-dir"),
    (["evaluate", ""], "MODEL.npz"),
])
def test_an_empty_file_name_is_refused(argv, option):
    code, out, err = run_cli(*argv)
    assert code == 2
    assert_one_line(err, option, "empty")
    assert out == ""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_pipe_in_place_of_a_model_or_data_file_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    code, out, err = run_cli("evaluate", fifo)
    assert code == 2
    assert_one_line(err, fifo, "not a regular file")
    with pytest.raises(DataError, match="not a regular file"):
        read_idx(fifo, LABEL_MAGIC)


def test_save_and_save_checkpoint_naming_one_file_is_refused(tmp_path):
    code, out, err = run_cli("train", "--save", tmp_path / "x.npz", "--save-checkpoint", tmp_path / "x.npz")
    assert code == 2
    assert_one_line(err, "same file")
