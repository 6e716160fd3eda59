"""Inspecting mistakes in the real window: gallery, confusion matrix, selection everywhere, pins."""

from __future__ import annotations

import os

import numpy as np
from PyQt6.QtCore import Qt

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from visualizer.main_window import MainWindow  # noqa: E402
from visualizer.worker import State  # noqa: E402

TIMEOUT_MS = 30_000


def trained_window(qtbot, dataset, steps=12):
    win = MainWindow(data=dataset, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    win.docks["mistakes"].raise_()  # panels in hidden tabs are not rendered
    win.docks["confusion"].raise_()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    for _ in range(steps):
        win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == steps and win.last_snapshot.test is not None
                    and win.last_snapshot.test.step == steps, timeout=TIMEOUT_MS)
    # The gallery takes a new evaluation at most once a second; wait for the latest.
    qtbot.waitUntil(lambda: win.gallery._evaluation is win.last_snapshot.test, timeout=TIMEOUT_MS)
    return win


def test_clicking_a_mistake_shows_it_in_the_softmax_panel(qtbot, small_mnist):
    win = trained_window(qtbot, small_mnist)
    trainer = win.worker.trainer
    wrong = np.flatnonzero(trainer.net.predict_proba(small_mnist.test_x).argmax(1) != small_mnist.test_y)
    assert sorted(win.gallery.shown_indices()) == sorted(wrong.tolist())
    digit = win.gallery.shown_indices()[3]
    view = win.gallery.view
    rect = view.visualRect(win.gallery.model.index(3, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.softmax_panel.selected_index == digit
    qtbot.waitUntil(lambda: digit in win.last_snapshot.probe_indices and win.softmax_panel._probs is not None,
                    timeout=TIMEOUT_MS)
    expected = trainer.net.predict_proba(small_mnist.test_x[[digit]])[0]
    np.testing.assert_allclose(win.softmax_panel._probs, expected, rtol=1e-6, atol=1e-7)
    assert str(digit) in win.softmax_panel.title.text()
    win.close()


def test_confusion_cell_filters_the_gallery_and_p_pins(qtbot, small_mnist):
    win = trained_window(qtbot, small_mnist)
    evaluation = win.last_snapshot.test
    labels, predictions = small_mnist.test_y, evaluation.predictions
    counts = win.confusion_panel.matrix().copy()
    np.fill_diagonal(counts, 0)
    t, p = np.unravel_index(np.argmax(counts), counts.shape)
    win.confusion_panel.click_cell(int(t), int(p))
    expected = np.flatnonzero((labels == t) & (predictions == p))
    assert sorted(win.gallery.shown_indices()) == sorted(expected.tolist())
    assert win.docks["mistakes"].isVisible()
    win.confusion_panel.click_cell(int(t), int(p))  # again: the filter goes
    assert len(win.gallery.shown_indices()) == int(np.count_nonzero(labels != predictions))

    digit = win.gallery.shown_indices()[0]
    assert win.gallery.select_index(digit)
    win.gallery.view.setFocus()
    qtbot.keyClick(win.gallery.view, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: [c.index for c in win.last_snapshot.pins] == [digit], timeout=TIMEOUT_MS)
    pin = win.last_snapshot.pins[0]
    probs = win.worker.trainer.net.predict_proba(small_mnist.test_x[[digit]])[0]
    assert abs(pin.true_class_prob[-1] - probs[small_mnist.test_y[digit]]) < 1e-6
    # Pins survive Reset: the new run tracks them from its start.
    win.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 0, timeout=TIMEOUT_MS)
    win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 1 and win.last_snapshot.pins
                    and len(win.last_snapshot.pins[0].samples) >= 1, timeout=TIMEOUT_MS)
    assert [c.index for c in win.last_snapshot.pins] == [digit]
    assert win.last_snapshot.pins[0].samples[0] <= win.last_snapshot.samples_seen
    win.close()


def test_hidden_panels_are_not_rendered_and_catch_up_when_shown(qtbot, small_mnist):
    win = trained_window(qtbot, small_mnist, steps=3)
    win.docks["weights"].raise_()  # the gallery's tab is now hidden
    qtbot.waitUntil(lambda: not win.on_screen(win.gallery), timeout=TIMEOUT_MS)
    shown = []
    original = win.gallery.show_snapshot
    win.gallery.show_snapshot = lambda snap: shown.append(snap.step) or original(snap)
    win.controls.step_action.trigger()
    qtbot.waitUntil(lambda: win.last_snapshot.step == 4, timeout=TIMEOUT_MS)
    assert shown == []
    win.docks["mistakes"].raise_()
    qtbot.waitUntil(lambda: shown and shown[-1] == 4, timeout=TIMEOUT_MS)
    win.close()


def test_a_point_on_the_pca_map_selects_that_digit_everywhere(qtbot, small_mnist):
    win = trained_window(qtbot, small_mnist, steps=4)
    win.docks["pca"].raise_()
    win.commands.refresh_map()
    qtbot.waitUntil(lambda: win.last_snapshot.activation_map is not None
                    and win.last_snapshot.activation_map.step == 4
                    and len(win.map_panel.shown_indices()) > 0, timeout=TIMEOUT_MS)
    k = 7
    digit = win.map_panel.shown_indices()[k]
    win.map_panel.click_point(k)
    assert win.softmax_panel.selected_index == digit
    qtbot.waitUntil(lambda: digit in win.last_snapshot.probe_indices and win.softmax_panel._probs is not None,
                    timeout=TIMEOUT_MS)
    expected = win.worker.trainer.net.predict_proba(small_mnist.test_x[[digit]])[0]
    np.testing.assert_allclose(win.softmax_panel._probs, expected, rtol=1e-6, atol=1e-7)
    win.close()
