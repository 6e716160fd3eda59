"""Datasets in the app (issue 17.1 and 17.3): File > Open dataset…, recent datasets, back to the
bundled MNIST, the Runs panel naming each run's data, and panels that follow any image size.

The data sets are small IDX folders written by the tests (20x20 and 32x32 images, named classes),
so every test runs in seconds on any machine.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PyQt6.QtWidgets import QFileDialog

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_window import open_window, step  # noqa: E402
from idx_files import random_idx_arrays  # noqa: E402

from visualizer.naming import data_name  # noqa: E402
from visualizer.panels.runs import COL  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000
NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.fixture
def window(qtbot, small_mnist):
    return open_window(qtbot, small_mnist)


def idx_folder(tmp_idx_dir, shape, names=NAMES, name=None):
    """An MNIST-format folder of random ``shape`` images (300 train / 100 test), its classes named."""
    folder = tmp_idx_dir(*random_idx_arrays(300, 100, shape=shape), name=name)
    if names:
        (folder / "classes.txt").write_text("\n".join(names) + "\n")
    return folder


def open_dataset(qtbot, win, monkeypatch, folder):
    """File > Open dataset… and pick ``folder`` in the dialog."""
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))
    win.datasets.open_action.trigger()


def wait_for_data(qtbot, win, shape):
    qtbot.waitUntil(lambda: win.dataset.image_shape == shape and win.last_snapshot is not None
                    and tuple(win.last_snapshot.image_shape) == shape, timeout=TIMEOUT_MS)


def test_open_dataset_resets_onto_it_and_runs_name_their_data(qtbot, window, tmp_idx_dir, monkeypatch):
    step(qtbot, window, 2)
    old_run = window.last_snapshot.run_id
    folder = idx_folder(tmp_idx_dir, (20, 20), name="tiny-shapes")
    open_dataset(qtbot, window, monkeypatch, folder)
    wait_for_data(qtbot, window, (20, 20))
    snap = window.last_snapshot
    assert snap.run_id != old_run and snap.step == 0 and snap.class_names == NAMES
    assert snap.layer_sizes[0] == 400  # the network takes the new images
    assert window.state == State.IDLE
    assert "tiny-shapes" in window.windowTitle()
    # the run that ended stays in the Runs panel, which names each run's data
    window.docks["runs"].raise_()
    qtbot.waitUntil(lambda: len(window.runs_panel.runs()) == 2, timeout=TIMEOUT_MS)
    column = COL["data"]
    texts = {row.record.run_id: window.runs_panel.model.index(r, column).data()
             for r, row in enumerate(window.runs_panel.model.rows)}
    assert texts[old_run] == "MNIST"
    assert texts[snap.run_id] == "tiny-shapes"
    # it trains on the new data
    step(qtbot, window)
    assert window.last_snapshot.test is not None and len(window.last_snapshot.test.predictions) == 100
    # and the folder is offered again under Recent datasets
    recent = [a.toolTip() for a in window.datasets.recent_menu.actions()]
    assert recent == [str(folder.resolve())]


def test_data_that_cannot_be_loaded_changes_nothing(qtbot, window, tmp_idx_dir, monkeypatch):
    step(qtbot, window)
    before_snap, before_data = window.last_snapshot, window.dataset
    broken = tmp_idx_dir(skip=("t10k-labels-idx1-ubyte",), name="broken")
    open_dataset(qtbot, window, monkeypatch, broken)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=TIMEOUT_MS)
    message = window.banner.text.text()
    assert message.startswith("Could not open the dataset:") and "broken" in message
    assert window.dataset is before_data and window.worker.dataset is before_data
    assert window.worker.trainer.run_id == before_snap.run_id and window.worker.trainer.step_count == 1
    assert window.state == State.PAUSED
    assert window.datasets.recent() == [] and not window.datasets.recent_menu.isEnabled()
    step(qtbot, window)  # training goes on as before
    assert window.last_snapshot.run_id == before_snap.run_id


def test_recent_datasets_and_back_to_the_bundled_mnist(qtbot, window, tmp_idx_dir, monkeypatch):
    first = idx_folder(tmp_idx_dir, (20, 20), name="first")
    second = idx_folder(tmp_idx_dir, (32, 32), name="second")
    open_dataset(qtbot, window, monkeypatch, first)
    wait_for_data(qtbot, window, (20, 20))
    open_dataset(qtbot, window, monkeypatch, second)
    wait_for_data(qtbot, window, (32, 32))
    actions = window.datasets.recent_menu.actions()
    assert [a.toolTip() for a in actions] == [str(second.resolve()), str(first.resolve())]  # newest first
    actions[1].trigger()
    wait_for_data(qtbot, window, (20, 20))
    assert "first" in window.dataset.source
    window.datasets.bundled_action.trigger()
    qtbot.waitUntil(lambda: window.dataset.source == "bundled MNIST" and window.last_snapshot is not None,
                    timeout=TIMEOUT_MS)
    assert window.last_snapshot.class_names == tuple("0123456789")
    assert window.windowTitle() == "Softmax Visualizer"
    assert len(window.dataset.train_y) == 60_000


@pytest.mark.parametrize("shape", [(20, 20), (32, 32)])
def test_every_view_of_images_follows_the_image_size(qtbot, window, tmp_idx_dir, monkeypatch, shape):
    """Weight tiles, galleries, pins, the activations view and the draw pad's input take the
    data's rows x columns, not 28 x 28."""
    open_dataset(qtbot, window, monkeypatch, idx_folder(tmp_idx_dir, shape))
    wait_for_data(qtbot, window, shape)
    window.set_pins([3])
    step(qtbot, window, 2)
    for name in ("weights", "mistakes", "pins", "activations", "draw", "softmax"):
        window.docks[name].show()
        window.docks[name].raise_()
        qtbot.waitUntil(lambda name=name: window.on_screen(window.docks[name].widget()), timeout=TIMEOUT_MS)
    window.rendering.catch_up(window.weights_panel)
    snap = window.last_snapshot
    # weights: one tile per hidden unit, each of the image's shape
    assert window.weights_panel.tile_shape == shape
    # the softmax panel shows the test image itself
    assert window.softmax_panel.image_item.image.shape == shape
    # the gallery lists mistakes with thumbnails of the image
    window.gallery.show_snapshot(snap)
    qtbot.waitUntil(lambda: len(window.gallery.shown_indices()) > 0, timeout=TIMEOUT_MS)
    assert window.gallery.thumbnail(window.gallery.shown_indices()[0]).width() > 0
    # a pinned image's thumbnail
    assert not window.pins_panel.thumbnail(3).isNull()
    # the draw pad makes inputs of the data's size, in the box that MNIST's 20 of 28 pixels suggests
    pad = window.drawing_panel
    assert pad.image_shape == shape and pad.box == round(min(shape) * 20 / 28)
    stroke = np.zeros((100, 100))
    stroke[10:90, 45:55] = 1.0  # a "1"
    pad.set_drawing(stroke)
    assert pad.network_input().shape == shape
    qtbot.waitUntil(lambda: window.last_snapshot.drawn is not None, timeout=TIMEOUT_MS)
    assert window.last_snapshot.drawn.image.shape == (shape[0] * shape[1],)
    # the activations view shows the drawn input's first-layer contributions as images of that shape
    window.activations_panel.set_source("drawn")
    window.activations_panel.show_snapshot(window.last_snapshot)
    qtbot.waitUntil(lambda: getattr(window.activations_panel, "tiles", None) is not None, timeout=TIMEOUT_MS)
    assert window.activations_panel.tiles.shape[1:] == shape


def test_data_name_is_short():
    assert data_name("bundled MNIST") == "MNIST"
    assert data_name("bundled MNIST (first 3000 train / 1000 test)") == "MNIST"
    assert data_name("Fashion-MNIST (/usr/share/datasets/fashion-mnist)") == "Fashion-MNIST"
    assert data_name("/tmp/somewhere/kmnist-small") == "kmnist-small"
    assert data_name("") == ""


def test_image_arrays_are_not_square_only(tmp_idx_dir):
    """(The IDX writer used above writes what it is given: a check of the test's own helper.)"""
    import nn.data

    folder = idx_folder(tmp_idx_dir, (20, 20))
    data = nn.data.load_mnist(folder)
    assert data.image_shape == (20, 20) and data.class_names == NAMES
    assert np.asarray(data.train_images).shape == (300, 20, 20)
