"""Class names: classes.txt beside the IDX files, known data sets by the SHA-256 of their label
files, digits otherwise; and images of any size."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import nn.data
from nn.cli import main
from nn.config import TrainConfig
from nn.data import DataError, KnownDataset, load_mnist
from nn.trainer import Trainer

FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_digits_unless_the_data_names_its_classes(tmp_idx_dir):
    assert load_mnist(tmp_idx_dir()).class_names == tuple("0123456789")


def test_classes_txt_names_the_classes(tmp_idx_dir):
    folder = tmp_idx_dir()
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    (folder / "classes.txt").write_text("\n".join(names) + "\n\n", encoding="utf-8")
    data = load_mnist(folder)
    assert data.class_names == tuple(names)
    assert data.subset(10, 5).class_names == tuple(names)


@pytest.mark.parametrize("text,words", [
    ("a\nb\nc\n", "has 3 names"),
    ("\n".join(["x"] * 10), "same name"),
    ("\n".join(["a", "", "c", "d", "e", "f", "g", "h", "i", "j"]), "line 2 is empty"),
    ("\n".join(["y" * 80] + [str(k) for k in range(9)]), "line 1"),
])
def test_bad_class_name_files_are_named_in_one_line(tmp_idx_dir, text, words):
    folder = tmp_idx_dir()
    (folder / "classes.txt").write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_mnist(folder)
    assert "classes.txt" in str(caught.value) and words in str(caught.value) and "\n" not in str(caught.value)


def test_a_known_data_set_is_recognised_by_its_label_files(tmp_idx_dir, monkeypatch):
    folder = tmp_idx_dir(gz=True)
    digest = hashlib.sha256((folder / "train-labels-idx1-ubyte.gz").read_bytes()).hexdigest()
    names = tuple(f"class {k}" for k in range(10))
    monkeypatch.setattr(nn.data, "KNOWN_DATASETS", (KnownDataset("Test-MNIST", names, frozenset({digest})),))
    data = load_mnist(folder)
    assert data.class_names == names and data.source.startswith("Test-MNIST")
    (folder / "classes.txt").write_text("\n".join("abcdefghij"), encoding="utf-8")  # the folder's own names win
    assert load_mnist(folder).class_names == tuple("abcdefghij")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_trains_with_its_class_names_in_the_cli(tmp_path):
    data = load_mnist(FASHION)
    assert data.source.startswith("Fashion-MNIST") and data.class_names[6] == "Shirt"
    model = tmp_path / "fashion.npz"
    out, err = io.StringIO(), io.StringIO()
    code = main(["train", "--data-dir", str(FASHION), "--preset", "fast", "--iterations", "60", "--quiet",
                 "--save", str(model)], out, err)
    assert code == 0, err.getvalue()
    out = io.StringIO()
    assert main(["explain", str(model), "--index", "0", "--data-dir", str(FASHION)], out, io.StringIO()) == 0
    assert "true class Ankle boot" in out.getvalue()  # test image 0 of Fashion-MNIST is an ankle boot
    out = io.StringIO()
    main(["explain", str(model), "--index", "0", "--json", "--data-dir", str(FASHION)], out, io.StringIO())
    assert json.loads(out.getvalue())["true_class"] == 9


@pytest.mark.parametrize("shape", [(20, 20), (32, 32)])
def test_images_of_any_size_train(tmp_idx_dir, shape):
    rng = np.random.default_rng(0)
    train = (rng.random((120, *shape)) * 255).astype(np.uint8)
    test = (rng.random((30, *shape)) * 255).astype(np.uint8)
    labels = np.arange(120) % 10
    folder = tmp_idx_dir(train, labels.astype(np.uint8), test, (np.arange(30) % 10).astype(np.uint8))
    data = load_mnist(folder)
    assert data.image_shape == shape and data.n_features == shape[0] * shape[1]
    trainer = Trainer(data, TrainConfig(hidden=(8,), optimizer="adam", lr=0.01, batch_size=20, iterations=12,
                                        augment_shift=1, augment_rotation=5))
    trainer.run()
    snap = trainer.snapshot()
    assert snap.image_shape == shape and snap.first_layer_weights.shape == (8, shape[0] * shape[1])


@pytest.mark.parametrize("frame,box", [((28, 28), 20), ((20, 20), 14), ((32, 32), 23)])
def test_drawings_are_scaled_to_the_data_sets_image_size(frame, box):
    from nn.preprocess import mnist_style

    drawing = np.zeros((200, 200))
    drawing[20:180, 90:110] = 1.0  # a tall stroke
    image = mnist_style(drawing, frame)
    assert image.shape == frame
    rows = np.nonzero(image.max(axis=1) > 0.05)[0]
    assert rows.max() - rows.min() + 1 == box
