"""Dropout and augmentation in the app (issue 17.4): live fields that reach the trainer and are
marked on the curves, refused with the full batch, and a strip of augmented training examples."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PyQt6.QtCore import Qt

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_window import open_window, step  # noqa: E402

from visualizer.regularization import AugmentedStrip  # noqa: E402

TIMEOUT_MS = 30_000


@pytest.fixture
def window(qtbot, small_mnist):
    return open_window(qtbot, small_mnist)


def type_into(qtbot, spin, text):
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def test_dropout_applies_live_and_is_marked(qtbot, window):
    step(qtbot, window)
    type_into(qtbot, window.controls.dropout, "0.25")
    qtbot.waitUntil(lambda: window.worker.trainer.config.dropout == 0.25, timeout=TIMEOUT_MS)
    step(qtbot, window)
    assert window.last_snapshot.events[-1].text == "dropout 0 -> 0.25"
    assert len(window.loss_panel.event_lines) == 1
    assert window.worker.trainer.step_count == 2  # the same run goes on
    # a Reset keeps what the fields say
    window.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: window.last_snapshot.step == 0, timeout=TIMEOUT_MS)
    assert window.worker.trainer.config.dropout == 0.25


def test_augmentation_applies_live_and_the_strip_shows_it(qtbot, window):
    step(qtbot, window)
    strip = window.controls.augmented_strip
    assert strip.images is not None and np.array_equal(strip.images, strip.augmented)  # off: as stored
    assert "off" in strip.caption.text()
    window.controls.shift.stepUp()  # a spin step applies at once
    type_into(qtbot, window.controls.rotation, "15")
    qtbot.waitUntil(lambda: window.worker.trainer.config.augment_rotation == 15.0, timeout=TIMEOUT_MS)
    config = window.worker.trainer.config
    assert (config.augment_shift, config.augment_noise) == (1, 0.0)
    step(qtbot, window)
    events = [e.text for e in window.last_snapshot.events]
    assert events == ["shift 0 -> 1", "rotation 0 -> 15"]
    # the strip: the same training images, moved and turned as training now moves them
    assert strip.augmentation == (1, 15.0, 0.0)
    assert strip.augmented.shape == strip.images.shape and not np.array_equal(strip.augmented, strip.images)
    assert "shift ±1 px" in strip.caption.text() and "rotation ±15°" in strip.caption.text()
    shown = strip.images.copy()
    training_stream = window.worker.trainer.rng.bit_generator.state
    strip.again_button.click()  # other images
    assert not np.array_equal(strip.images, shown)
    assert window.worker.trainer.rng.bit_generator.state == training_stream  # the strip draws from its own


def test_augmentation_needs_mini_batches(qtbot, window):
    controls = window.controls
    controls.noise.setValue(0.1)
    controls.batch.setCurrentText("full")
    controls.batch.lineEdit().editingFinished.emit()
    error = controls._fields["batch"].error
    assert error.isVisible() and "augmentation" in error.text() and "mini-batches" in error.text()
    assert not controls.start_action.isEnabled() and not controls.step_action.isEnabled()
    controls.noise.setValue(0.0)
    assert not error.isVisible() and controls.start_action.isEnabled()


def test_a_new_run_starts_with_the_fields_values(qtbot, window):
    """Before the first step, the regularisation fields apply like the others: the run starts with them."""
    window.controls.dropout.setValue(0.5)
    window.controls.noise.setValue(0.05)
    step(qtbot, window)
    config = window.worker.trainer.config
    assert (config.dropout, config.augment_noise) == (0.5, 0.05)
    assert window.last_snapshot.events == ()  # nothing changed during the run


def test_the_strip_never_touches_a_random_stream_but_its_own(qtbot, small_mnist):
    strip = AugmentedStrip()
    qtbot.addWidget(strip)
    state = np.random.get_state()[1].copy()
    strip.set_dataset(small_mnist)
    strip.set_augmentation(2, 10.0, 0.2)
    first = strip.augmented.copy()
    strip.set_augmentation(0, 0.0, 0.0)
    strip.set_augmentation(2, 10.0, 0.2)
    assert np.array_equal(strip.augmented, first)  # the same draw for the same settings: reproducible
    assert np.array_equal(np.random.get_state()[1], state)
    assert strip.cells[1][0].pixmap() is not None and not strip.cells[1][0].pixmap().isNull()
