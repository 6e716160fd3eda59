"""nn.tsne: a t-SNE map in its own process, with progress, and cancellable."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nn.config import TrainConfig
from nn.trainer import Trainer
from nn.tsne import TsneJob


def clusters(n_per=40, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 12)) * 8
    features = np.concatenate([c + rng.normal(size=(n_per, 12)) for c in centres])
    return features, np.repeat(np.arange(3), n_per)


def test_a_map_separates_clusters_and_reports_progress():
    features, labels = clusters()
    job = TsneJob(features, perplexity=10, max_iter=300)
    fractions = []
    deadline = time.monotonic() + 120
    progress = job.poll()
    while not progress.done and time.monotonic() < deadline:
        fractions.append(progress.fraction)
        time.sleep(0.02)
        progress = job.poll()
    assert progress.error is None and progress.coords.shape == (120, 2)
    assert fractions == sorted(fractions) and any(0 < f < 1 for f in fractions)
    centres = np.array([progress.coords[labels == k].mean(axis=0) for k in range(3)])
    spread = max(np.linalg.norm(progress.coords[labels == k] - centres[k], axis=1).mean() for k in range(3))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > 2 * spread  # three well-separated groups


def test_cancel_stops_the_process():
    features, _ = clusters(n_per=300)
    job = TsneJob(features, max_iter=5000)
    job.cancel()
    progress = job.poll()
    assert progress.done and progress.error == "cancelled" and not job.running


def test_bad_input_is_refused_and_errors_come_back():
    with pytest.raises(ValueError):
        TsneJob(np.zeros((3, 2)))
    job = TsneJob(np.full((20, 4), np.nan))
    progress = job.wait(120)
    assert progress.done and progress.error and progress.coords is None


def test_the_trainer_gives_the_map_sample_features(small_mnist):
    trainer = Trainer(small_mnist, TrainConfig(hidden=(16, 8), activation="relu", optimizer="adam", lr=0.01,
                                               batch_size=50, iterations=20))
    trainer.run()
    indices, features, layer, predictions = trainer.map_features()
    np.testing.assert_array_equal(indices, trainer.map_sample())
    assert features.shape == (len(indices), 8) and layer == "hidden layer 2"
    np.testing.assert_array_equal(predictions, trainer.net.predict_proba(trainer.test_x[indices]).argmax(axis=1))
    assert trainer.compute_map().indices.tolist() == indices.tolist()
