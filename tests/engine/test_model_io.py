"""Saving and loading models: round trip, atomic writes, and strict refusal of bad files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from nn.model_io import (
    FORMAT_VERSION,
    MODEL_FORMAT,
    ModelFileError,
    check_fits_data,
    check_writable,
    load_model,
    meta_array,
    save_model,
)
from nn.network import Network

SIZES = (12, 7, 5, 4)


def make_net(dtype="float32", activation="tanh", seed=2) -> Network:
    net = Network.initialized(SIZES, activation, "xavier", seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    params = net.params
    net.load_params([p if k % 2 == 0 else rng.normal(size=p.shape) for k, p in enumerate(params)])
    return net


def good_meta(**changes) -> dict:
    meta = {"format": MODEL_FORMAT, "version": FORMAT_VERSION, "layer_sizes": list(SIZES),
            "activation": "tanh", "dtype": "float32", "config": {}, "metrics": {}}
    meta.update(changes)
    return meta


def good_arrays(dtype=np.float32) -> dict[str, np.ndarray]:
    net = make_net(np.dtype(dtype).name)
    arrays = {}
    for i, (w, b) in enumerate(zip(net.weights, net.biases), start=1):
        arrays[f"W{i}"], arrays[f"b{i}"] = w, b
    return arrays


def write_npz(path, meta: dict | None = None, **arrays):
    contents = dict(good_arrays())
    if meta is not None:
        contents["meta"] = meta_array(meta)
    contents.update(arrays)
    np.savez(path, **{k: v for k, v in contents.items() if v is not None})
    return path


def assert_refused(path, *fragments):
    with pytest.raises(ModelFileError) as excinfo:
        load_model(path)
    message = str(excinfo.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- round trip -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_round_trip_gives_identical_predictions(tmp_path, dtype, activation):
    net = make_net(dtype, activation)
    path = tmp_path / "model.npz"
    save_model(path, net, config={"lr": 0.1, "hidden": [7, 5]}, metrics={"test_accuracy": 0.9})
    loaded, meta = load_model(path)
    assert loaded.layer_sizes == net.layer_sizes
    assert loaded.activation == activation
    assert loaded.dtype == np.dtype(dtype)
    for a, b in zip(net.params, loaded.params):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).normal(size=(30, SIZES[0])).astype(dtype)
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    assert meta["config"] == {"lr": 0.1, "hidden": [7, 5]}
    assert meta["metrics"] == {"test_accuracy": 0.9}
    assert meta["format"] == MODEL_FORMAT
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


def test_round_trip_of_a_trained_mnist_model(tmp_path, small_mnist):
    from nn.config import TrainConfig
    from nn.trainer import Trainer

    trainer = Trainer(small_mnist, TrainConfig(hidden=(16,), iterations=5))
    trainer.run()
    path = tmp_path / "mnist.npz"
    save_model(path, trainer.net, trainer.config.to_dict())
    loaded, meta = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(small_mnist.test_x),
                                  trainer.net.predict_proba(small_mnist.test_x))
    assert TrainConfig.from_dict(meta["config"]) == trainer.config
    check_fits_data(loaded, 784, 10, path, "MNIST")
    with pytest.raises(ModelFileError, match="120 inputs"):
        check_fits_data(loaded, 120, 10, path, "a 10x12 data set")


def test_saving_replaces_an_existing_file(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, make_net(seed=1))
    second = make_net(seed=5)
    save_model(path, second)
    loaded, _ = load_model(path)
    np.testing.assert_array_equal(loaded.params[0], second.params[0])


# -- atomic writes ----------------------------------------------------------------------------

@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_failing_write_leaves_the_previous_file_intact(tmp_path, monkeypatch, error):
    path = tmp_path / "model.npz"
    original = make_net(seed=1)
    save_model(path, original)
    before = path.read_bytes()

    real_savez = np.savez

    def savez_that_fails_halfway(file, *args, **kwargs):
        real_savez(file, *args, **kwargs)
        file.seek(0)
        file.truncate(len(before) // 2)  # a half-written file ...
        raise error  # ... and then the disk fills up (or the user hits Ctrl+C)

    monkeypatch.setattr(np, "savez", savez_that_fails_halfway)
    with pytest.raises(type(error)):
        save_model(path, make_net(seed=9))
    monkeypatch.undo()
    assert path.read_bytes() == before
    loaded, _ = load_model(path)
    np.testing.assert_array_equal(loaded.params[0], original.params[0])
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # the temporary file is gone


def test_failing_first_write_leaves_no_file(tmp_path, monkeypatch):
    def failing(file, *args, **kwargs):
        file.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing)
    with pytest.raises(OSError):
        save_model(tmp_path / "new.npz", make_net())
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_missing_folder(tmp_path):
    path = tmp_path / "no" / "such" / "model.npz"
    with pytest.raises(ModelFileError) as excinfo:
        save_model(path, make_net())
    assert str(path) in str(excinfo.value)


def test_check_writable(tmp_path):
    check_writable(tmp_path / "fine.npz")
    with pytest.raises(ModelFileError, match="does not exist"):
        check_writable(tmp_path / "missing" / "x.npz")
    with pytest.raises(ModelFileError, match="is a folder"):
        check_writable(tmp_path)
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ModelFileError, match="not writable"):
            check_writable(locked / "x.npz")


# -- refusing bad files ------------------------------------------------------------------------

def test_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    evil = np.array([{"__reduce__": "os.system"}, None], dtype=object)
    np.savez(path, meta=meta_array(good_meta()), W1=evil, **{k: v for k, v in good_arrays().items() if k != "W1"})
    assert_refused(path, "pickle")


def test_pickled_meta_is_refused(tmp_path):
    path = tmp_path / "evil_meta.npz"
    np.savez(path, meta=np.array([good_meta()], dtype=object), **good_arrays())
    assert_refused(path, "pickle")


@pytest.mark.parametrize("name,shape", [("W1", (12, 7)), ("W2", (5, 8)), ("b3", (4, 1)), ("b1", ())])
def test_wrong_shapes(tmp_path, name, shape):
    path = write_npz(tmp_path / "shape.npz", good_meta(), **{name: np.zeros(shape, np.float32)})
    assert_refused(path, name, "shape")


@pytest.mark.parametrize("name", ["W1", "b2", "W3"])
def test_missing_arrays(tmp_path, name):
    path = write_npz(tmp_path / "missing.npz", good_meta(), **{name: None})
    assert_refused(path, "missing", name)


@pytest.mark.parametrize("meta,fragment", [
    (None, "meta"),
    ({"format": "something-else", "version": 1}, "format"),
    (good_meta(version=FORMAT_VERSION + 1), "newer"),
    (good_meta(layer_sizes=[12, 4]), "W2"),  # fewer layers than arrays: fine; more: missing
    (good_meta(layer_sizes=[12, 7, 5, 4, 3]), "missing"),
    (good_meta(layer_sizes="12-7-5-4"), "layer_sizes"),
    (good_meta(layer_sizes=[12, 0, 5, 4]), "layer_sizes"),
    (good_meta(layer_sizes=[12]), "layer_sizes"),
    (good_meta(activation="softplus"), "activation"),
    ([1, 2, 3], "format"),
], ids=["no-meta", "other-format", "newer-version", "sizes-mismatch", "too-many-layers", "sizes-string",
        "size-zero", "one-layer", "bad-activation", "meta-not-object"])
def test_bad_meta(tmp_path, meta, fragment):
    path = tmp_path / "meta.npz"
    if meta is None:
        write_npz(path, None)
    elif isinstance(meta, list):
        np.savez(path, meta=np.array(json.dumps(meta)), **good_arrays())
    else:
        write_npz(path, meta)
    if fragment == "W2":
        # layer_sizes 12-4 expects W1 of shape (4, 12): the stored (7, 12) is refused.
        assert_refused(path, "W1", "shape")
    else:
        assert_refused(path, fragment)


def test_meta_that_is_not_json_or_not_a_string(tmp_path):
    path = tmp_path / "notjson.npz"
    np.savez(path, meta=np.array("{not json"), **good_arrays())
    assert_refused(path, "JSON")
    path2 = tmp_path / "numbers.npz"
    np.savez(path2, meta=np.arange(3), **good_arrays())
    assert_refused(path2, "meta")


def test_non_finite_or_integer_or_mixed_arrays(tmp_path):
    arrays = good_arrays()
    bad = arrays["W2"].copy()
    bad[0, 0] = np.nan
    assert_refused(write_npz(tmp_path / "nan.npz", good_meta(), W2=bad), "W2", "NaN")
    assert_refused(write_npz(tmp_path / "int.npz", good_meta(), b1=np.zeros(7, np.int64)), "b1", "dtype")
    assert_refused(write_npz(tmp_path / "mixed.npz", good_meta(), b1=np.zeros(7, np.float64)), "mix")


def test_not_a_zip(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("this is not a model\n")
    assert_refused(path)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    assert_refused(empty, "not a valid .npz")


@pytest.mark.parametrize("content", [b"this is not a model\n", bytes(range(256)) * 4], ids=["text", "binary"])
def test_not_a_zip_is_reported_as_such(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    message = assert_refused(path)
    assert "pickle" not in message


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_file(tmp_path, fraction):
    good = tmp_path / "good.npz"
    save_model(good, make_net())
    content = good.read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(content[: int(len(content) * fraction)])
    assert_refused(path)


def test_missing_file_or_folder(tmp_path):
    assert_refused(tmp_path / "nope.npz", "not found")
    assert_refused(tmp_path, "folder")
