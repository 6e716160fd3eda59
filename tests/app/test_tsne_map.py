"""The t-SNE map beside PCA (issue 17.5): computed on request in a process of its own, with
progress, cancellable, on the same test digits as the PCA map, which stays the live default."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_window import open_window  # noqa: E402

TIMEOUT_MS = 30_000
TSNE_TIMEOUT_MS = 180_000  # starting a Python process and scikit-learn, then 250 iterations
SMALL_ITER = 250  # scikit-learn's least


@pytest.fixture
def window(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist, steps=1)
    win.tsne.max_iter = SMALL_ITER
    win.docks["pca"].raise_()
    qtbot.waitUntil(lambda: win.map_panel.shown_indices() != [], timeout=TIMEOUT_MS)
    return win


def start_tsne(qtbot, window):
    """Choose t-SNE and press Compute; wait for its process to start."""
    window.map_panel.set_method("t-SNE")
    window.map_panel.refresh_button.click()
    qtbot.waitUntil(lambda: window.tsne.job is not None, timeout=TIMEOUT_MS)
    return window.tsne.job


def test_pca_is_the_default_and_tsne_is_computed_on_request(qtbot, window, monkeypatch):
    panel = window.map_panel
    assert panel.method == "PCA" and panel.title.text().startswith("PCA of")
    pca_indices = panel.shown_indices()
    progress = []
    original = panel.show_tsne_progress
    monkeypatch.setattr(panel, "show_tsne_progress", lambda f, s: (progress.append((f, s)), original(f, s)))
    panel.method_buttons["t-SNE"].click()
    assert panel.shown_indices() == [] and panel.refresh_button.text() == "Compute"
    panel.refresh_button.click()
    assert panel.progress_row.isVisible() and not panel.refresh_button.isEnabled()
    qtbot.waitUntil(lambda: panel._tsne_map is not None, timeout=TSNE_TIMEOUT_MS)
    amap = panel._tsne_map
    assert amap.method == "t-SNE" and np.asarray(amap.coords).shape == (len(pca_indices), 2)
    assert np.all(np.isfinite(amap.coords))
    assert panel.shown_indices() == pca_indices  # the same fixed test digits
    assert panel.title.text().startswith("t-SNE of") and f"step {window.last_snapshot.step}" in panel.title.text()
    assert not panel.progress_row.isVisible() and panel.refresh_button.isEnabled()
    assert progress and progress[0] == (0.0, "reading the hidden layer")
    assert window.tsne.job is None
    # hover and click work on the t-SNE map as on the PCA map
    panel.click_point(0)
    assert window.softmax_panel.selected_index == pca_indices[0]
    # back to PCA: the live map again
    panel.method_buttons["PCA"].click()
    assert panel.title.text().startswith("PCA of")
    window.controls.step_action.trigger()
    qtbot.waitUntil(lambda: window.last_snapshot.step == 2, timeout=TIMEOUT_MS)
    window.map_panel.refresh_button.click()
    qtbot.waitUntil(lambda: window.map_panel._map.step == 2, timeout=TIMEOUT_MS)
    assert panel._map.method == "PCA"


def test_tsne_can_be_cancelled(qtbot, window):
    panel = window.map_panel
    job = start_tsne(qtbot, window)
    panel.cancel_button.click()
    assert window.tsne.job is None and not job.running
    assert not panel.progress_row.isVisible() and panel.refresh_button.isEnabled()
    assert "cancelled" in panel.empty_text.toPlainText()
    assert panel._tsne_map is None


def test_a_new_run_stops_the_old_networks_tsne(qtbot, window):
    panel = window.map_panel
    job = start_tsne(qtbot, window)
    window.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: window.last_snapshot.step == 0 and not window.tsne.running, timeout=TIMEOUT_MS)
    assert not job.running and panel._tsne_map is None and panel.method == "t-SNE"
    assert panel.shown_indices() == []
