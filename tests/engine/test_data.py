"""The IDX reader, the bundled MNIST, and the Dataset the trainer uses."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from idx_files import idx_bytes, random_idx_arrays

import nn.data
from nn.config import TrainConfig
from nn.data import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, DataError, load_mnist
from nn.trainer import Trainer

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def assert_data_error_names(excinfo, path):
    message = str(excinfo.value)
    assert str(path) in message, f"message does not name {path}: {message}"
    assert "\n" not in message


# -- the bundled copy -------------------------------------------------------------------------

def test_bundled_mnist_passes_its_checks_and_has_the_known_counts(mnist):
    assert mnist.source == "bundled MNIST"
    assert len(mnist.train_y) == len(mnist.train_x) == len(mnist.train_Y) == len(mnist.train_images) == 60000
    assert len(mnist.test_y) == len(mnist.test_x) == len(mnist.test_Y) == len(mnist.test_images) == 10000
    assert mnist.n_classes == 10
    assert mnist.image_shape == (28, 28)
    assert mnist.n_features == 784
    assert np.bincount(mnist.train_y, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.test_y, minlength=10).tolist() == TEST_COUNTS


def test_bundled_mnist_arrays(mnist):
    for x, Y, y, images in ((mnist.train_x, mnist.train_Y, mnist.train_y, mnist.train_images),
                            (mnist.test_x, mnist.test_Y, mnist.test_y, mnist.test_images)):
        assert x.dtype == np.float32 and x.shape == (len(y), 784)
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
        assert images.dtype == np.uint8
        np.testing.assert_array_equal(x[:100], images[:100].reshape(100, -1) / np.float32(255))
        assert Y.dtype == np.float32 and Y.shape == (len(y), 10)
        assert set(np.unique(Y).tolist()) == {0.0, 1.0}
        np.testing.assert_array_equal(Y.sum(axis=1), 1)
        np.testing.assert_array_equal(Y.argmax(axis=1), y)
        assert not x.flags.writeable and not Y.flags.writeable


def test_dataset_arrays_in_float64_are_cached(small_mnist):
    train_x, train_Y, test_x, test_Y = small_mnist.arrays("float64")
    assert train_x.dtype == train_Y.dtype == test_x.dtype == test_Y.dtype == np.float64
    np.testing.assert_allclose(train_x, small_mnist.train_x, rtol=1e-7)
    np.testing.assert_array_equal(test_Y, small_mnist.test_Y)
    assert small_mnist.arrays(np.float64)[0] is train_x
    assert small_mnist.arrays("float32")[0] is small_mnist.train_x


def test_subset(small_mnist, mnist):
    assert len(small_mnist.train_y) == 3000 and len(small_mnist.test_y) == 1000
    assert small_mnist.train_x.shape == (3000, 784) and small_mnist.test_Y.shape == (1000, 10)
    np.testing.assert_array_equal(small_mnist.train_y, mnist.train_y[:3000])
    assert small_mnist.n_classes == 10 and small_mnist.image_shape == (28, 28)


@pytest.fixture
def bundled_copy(tmp_path, monkeypatch):
    """A copy of the bundled folder that load_mnist() takes for the bundled one."""
    folder = tmp_path / "bundled"
    shutil.copytree(nn.data.bundled_mnist_dir(), folder)
    monkeypatch.setattr(nn.data, "bundled_mnist_dir", lambda: folder)
    return folder


def test_unchanged_copy_of_the_bundled_data_passes_the_sha_check(bundled_copy):
    # Decompressed and re-stored raw: the check covers the content, not the gzip container.
    labels = bundled_copy / f"{TRAIN_LABELS}.gz"
    (bundled_copy / TRAIN_LABELS).write_bytes(gzip.decompress(labels.read_bytes()))
    labels.unlink()
    data = load_mnist()
    assert data.source == "bundled MNIST" and len(data.train_y) == 60000


@pytest.mark.parametrize("name", [TRAIN_LABELS, TEST_IMAGES])
def test_modified_copy_of_the_bundled_data_fails_the_sha_check(bundled_copy, name):
    path = bundled_copy / f"{name}.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[-1] = (content[-1] + 1) % 10  # still a perfectly valid IDX file (a label 0-9 / a pixel)
    path.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataError, match="SHA-256") as excinfo:
        load_mnist()
    assert_data_error_names(excinfo, path)
    # The very same folder loads as a user folder (no SHA check there).
    assert len(load_mnist(bundled_copy).train_y) == 60000


def test_bundled_sha_table_is_what_is_checked(monkeypatch):
    monkeypatch.setitem(nn.data.BUNDLED_SHA256, TEST_LABELS, "0" * 64)
    with pytest.raises(DataError, match="SHA-256") as excinfo:
        load_mnist()
    assert TEST_LABELS in str(excinfo.value)


# -- reading user folders ---------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True, {TRAIN_IMAGES, TEST_LABELS}], ids=["raw", "gz", "mixed"])
def test_raw_and_gz_both_load(tmp_idx_dir, gz):
    arrays = random_idx_arrays(n_train=120, n_test=30)
    data = load_mnist(tmp_idx_dir(*arrays, gz=gz))
    np.testing.assert_array_equal(data.train_images, arrays[0])
    np.testing.assert_array_equal(data.train_y, arrays[1])
    np.testing.assert_array_equal(data.test_images, arrays[2])
    np.testing.assert_array_equal(data.test_y, arrays[3])
    np.testing.assert_allclose(data.train_x, arrays[0].reshape(120, -1) / 255.0, rtol=1e-6)
    assert data.source != "bundled MNIST"


def test_gzip_is_detected_by_content_not_by_name(tmp_idx_dir):
    arrays = random_idx_arrays(n_train=40, n_test=20)
    folder = tmp_idx_dir(*arrays)
    raw = folder / TRAIN_IMAGES
    raw.write_bytes(gzip.compress(raw.read_bytes()))  # gzip content under the raw name
    np.testing.assert_array_equal(load_mnist(folder).train_images, arrays[0])


def learnable_arrays(n_train, n_test, shape, seed=0):
    """Images whose brightest row is the label (plus noise): easy to learn."""
    rng = np.random.default_rng(seed)

    def make(n):
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        images = rng.integers(0, 60, size=(n, *shape), dtype=np.uint8)
        images[np.arange(n), labels, :] = 255
        return images, labels

    train, test = make(n_train), make(n_test)
    return train[0], train[1], test[0], test[1]


def test_image_size_comes_from_the_header(tmp_idx_dir):
    arrays = learnable_arrays(5000, 500, (10, 12))
    data = load_mnist(tmp_idx_dir(*arrays, gz=True))
    assert data.image_shape == (10, 12)
    assert data.n_features == 120
    assert data.train_x.shape == (5000, 120) and data.test_x.shape == (500, 120)
    assert data.n_classes == 10
    config = TrainConfig(hidden=(16,), activation="relu", optimizer="adam", lr=0.01, batch_size=100,
                         epochs=2, iterations=None, init="he")
    trainer = Trainer(data, config)
    assert trainer.layer_sizes == (120, 16, 10)
    trainer.run()
    snap = trainer.snapshot()
    assert snap.finished and snap.image_shape == (10, 12)
    assert snap.first_layer_weights.shape == (16, 120)
    assert trainer.evaluate_test().accuracy > 0.9


def test_fewer_classes_are_allowed(tmp_idx_dir):
    arrays = list(random_idx_arrays(n_train=60, n_test=20, n_classes=3))
    data = load_mnist(tmp_idx_dir(*arrays))
    assert data.n_classes == 3 and data.train_Y.shape == (60, 3)


# -- every kind of bad file names the file --------------------------------------------------

@pytest.mark.parametrize("name", [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS])
def test_bad_magic(tmp_idx_dir, name):
    wrong = 0x00000801 if "images" in name else 0x00000803
    folder = tmp_idx_dir(magic={name: wrong})
    with pytest.raises(DataError, match="magic") as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, folder / name)


def test_labels_file_given_as_images(tmp_idx_dir):
    folder = tmp_idx_dir()
    (folder / TRAIN_IMAGES).write_bytes((folder / TRAIN_LABELS).read_bytes())
    with pytest.raises(DataError, match="magic") as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, folder / TRAIN_IMAGES)


@pytest.mark.parametrize("name", [TRAIN_IMAGES, TEST_LABELS])
@pytest.mark.parametrize("keep", [3, 10, -1], ids=["inside-magic", "inside-header", "last-byte-missing"])
def test_truncated_file(tmp_idx_dir, name, keep):
    folder = tmp_idx_dir()
    path = folder / name
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(DataError) as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, path)
    assert "short" in str(excinfo.value) or "truncated" in str(excinfo.value)


@pytest.mark.parametrize("name", [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS])
def test_extra_trailing_bytes(tmp_idx_dir, name):
    folder = tmp_idx_dir()
    path = folder / name
    path.write_bytes(path.read_bytes() + b"\x00\x01")
    with pytest.raises(DataError, match="2 unexpected bytes") as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, path)


@pytest.mark.parametrize("split", ["train", "test"])
def test_image_and_label_counts_must_match(tmp_idx_dir, split):
    train_images, train_labels, test_images, test_labels = random_idx_arrays(n_train=100, n_test=40)
    if split == "train":
        folder = tmp_idx_dir(train_images, train_labels[:99], test_images, test_labels)
        images, labels = folder / TRAIN_IMAGES, folder / TRAIN_LABELS
    else:
        folder = tmp_idx_dir(train_images, train_labels, test_images[:39], test_labels)
        images, labels = folder / TEST_IMAGES, folder / TEST_LABELS
    with pytest.raises(DataError) as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, images)
    assert_data_error_names(excinfo, labels)


def test_test_labels_outside_the_training_range(tmp_idx_dir):
    train_images, train_labels, test_images, test_labels = random_idx_arrays(n_train=100, n_test=40, n_classes=5)
    test_labels = test_labels.copy()
    test_labels[7] = 7
    folder = tmp_idx_dir(train_images, train_labels, test_images, test_labels)
    with pytest.raises(DataError, match="label 7") as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, folder / TEST_LABELS)


def test_single_class_is_refused(tmp_idx_dir):
    arrays = list(random_idx_arrays(n_train=20, n_test=5))
    arrays[1] = np.zeros(20, np.uint8)
    arrays[3] = np.zeros(5, np.uint8)
    folder = tmp_idx_dir(*arrays)
    with pytest.raises(DataError) as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, folder / TRAIN_LABELS)


def test_train_and_test_image_sizes_must_agree(tmp_idx_dir):
    train_images, train_labels, _, _ = random_idx_arrays(n_train=50, shape=(28, 28))
    _, _, test_images, test_labels = random_idx_arrays(n_test=10, shape=(20, 20))
    folder = tmp_idx_dir(train_images, train_labels, test_images, test_labels)
    with pytest.raises(DataError) as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, folder / TEST_IMAGES)


def test_empty_files_are_refused(tmp_idx_dir):
    folder = tmp_idx_dir()
    (folder / TEST_IMAGES).write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    with pytest.raises(DataError, match="count is 0") as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, folder / TEST_IMAGES)


@pytest.mark.parametrize("name", [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS])
def test_missing_file_in_data_dir(tmp_idx_dir, name):
    folder = tmp_idx_dir(skip=(name,))
    with pytest.raises(DataError, match="missing") as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, folder)
    assert name in str(excinfo.value)
    for other in {TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS} - {name}:
        assert other not in str(excinfo.value)


def test_missing_or_wrong_data_dir(tmp_path):
    with pytest.raises(DataError, match="not found") as excinfo:
        load_mnist(tmp_path / "nowhere")
    assert_data_error_names(excinfo, tmp_path / "nowhere")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(DataError) as excinfo:
        load_mnist(a_file)
    assert_data_error_names(excinfo, a_file)


def test_folder_in_place_of_a_file(tmp_idx_dir):
    folder = tmp_idx_dir(skip=(TEST_LABELS,))
    (folder / TEST_LABELS).mkdir()
    with pytest.raises(DataError) as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, folder)


@pytest.mark.parametrize("damage", ["truncated", "corrupted", "bad-crc"])
def test_damaged_gzip(tmp_idx_dir, damage):
    folder = tmp_idx_dir(gz=True)
    path = folder / f"{TRAIN_IMAGES}.gz"
    content = bytearray(path.read_bytes())
    if damage == "truncated":
        content = content[: len(content) // 2]
    elif damage == "corrupted":
        for i in range(20, 60):
            content[i] ^= 0xFF
    else:
        content[-8] ^= 0xFF  # the CRC-32 of the uncompressed data
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match="gzip") as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, path)


@pytest.mark.parametrize("layout", ["two-members", "zero-padding"])
def test_gzip_with_several_members_or_zero_padding_loads(tmp_idx_dir, layout):
    """A gzip file may hold several members one after the other, and be padded with zeros."""
    arrays = random_idx_arrays(n_train=40, n_test=20)
    folder = tmp_idx_dir(*arrays)
    path = folder / TRAIN_IMAGES
    content = path.read_bytes()
    if layout == "two-members":
        packed = gzip.compress(content[:1000]) + gzip.compress(content[1000:])
    else:
        packed = gzip.compress(content) + bytes(512)
    path.write_bytes(packed)
    np.testing.assert_array_equal(load_mnist(folder).train_images, arrays[0])


def test_garbage_after_the_gzip_data_is_refused(tmp_idx_dir):
    folder = tmp_idx_dir()
    path = folder / TRAIN_LABELS
    path.write_bytes(gzip.compress(path.read_bytes()) + b"garbage")
    with pytest.raises(DataError, match="unexpected bytes after the gzip data") as excinfo:
        load_mnist(folder)
    assert_data_error_names(excinfo, path)
