"""Helpers for tests that write MNIST-format (IDX) files: their encoding, random and real data.

Kept out of conftest.py: test files import them by name, and a second conftest.py (tests/app/)
would make ``from conftest import ...`` ambiguous.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

import nn.data

REPO_ROOT = Path(__file__).resolve().parent.parent


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """The IDX encoding of a uint8 array: big-endian magic, one 32-bit size per dimension, data.

    ``magic`` overrides the standard one (0x0801 for 1-d, 0x0803 for 3-d), to write bad files.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x00000800 | array.ndim
    header = int(magic).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(path: Path | str, array: np.ndarray, gz: bool = False, magic: int | None = None) -> Path:
    """Write ``array`` as an IDX file at ``path`` (``.gz`` appended when ``gz``); return the path."""
    path = Path(path)
    content = idx_bytes(array, magic)
    if gz:
        if path.suffix != ".gz":
            path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(content, compresslevel=1))
    else:
        path.write_bytes(content)
    return path


def random_idx_arrays(n_train: int = 200, n_test: int = 50, shape: tuple[int, int] = (28, 28),
                      n_classes: int = 10, seed: int = 0):
    """Random (train_images, train_labels, test_images, test_labels) with every class present."""
    rng = np.random.default_rng(seed)
    train_labels = (np.arange(n_train) % n_classes).astype(np.uint8)
    test_labels = (np.arange(n_test) % n_classes).astype(np.uint8)
    rng.shuffle(train_labels)
    rng.shuffle(test_labels)
    train_images = rng.integers(0, 256, size=(n_train, *shape), dtype=np.uint8)
    test_images = rng.integers(0, 256, size=(n_test, *shape), dtype=np.uint8)
    return train_images, train_labels, test_images, test_labels


def write_mnist_subset(folder: Path, dataset: nn.data.Dataset, n_train: int, n_test: int,
                       gz: bool = False) -> Path:
    """Write the first samples of ``dataset`` as an MNIST-format folder; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / nn.data.TRAIN_IMAGES, dataset.train_images[:n_train], gz=gz)
    write_idx(folder / nn.data.TRAIN_LABELS, dataset.train_y[:n_train].astype(np.uint8), gz=gz)
    write_idx(folder / nn.data.TEST_IMAGES, dataset.test_images[:n_test], gz=gz)
    write_idx(folder / nn.data.TEST_LABELS, dataset.test_y[:n_test].astype(np.uint8), gz=gz)
    return folder
