"""t-SNE maps beside the PCA map, computed off the GUI thread, with progress, cancellable.

The map panel asks (``tsne_requested``); the worker hands over the last hidden layer's
activations of the map's fixed 1,000 test digits (``map_features``, the same digits the PCA map
shows); :class:`nn.tsne.TsneJob` runs scikit-learn's t-SNE on them in a process of its own,
which this module polls a few times a second for progress, and the finished coordinates go to
the panel as an ``ActivationMap`` with ``method="t-SNE"``. Cancelling ends the process at once.
The PCA map stays the live default: t-SNE takes seconds and is computed only when asked for.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PyQt6.QtCore import QObject, QTimer

POLL_MS = 100


class MapFeatures(NamedTuple):
    """What a t-SNE map is made of: the worker's answer to ``map_features()``."""

    run_id: int
    step: int
    indices: np.ndarray  # (n,) test-set indices
    features: np.ndarray  # (n, units) the last hidden layer's activations
    layer: str
    labels: np.ndarray  # (n,) true classes
    predictions: np.ndarray  # (n,)


def tsne_map(features: MapFeatures, coords: np.ndarray):
    """The finished map, shown like the PCA map."""
    from nn.inspection import ActivationMap

    return ActivationMap(step=features.step, indices=np.asarray(features.indices), coords=np.asarray(coords),
                         labels=np.asarray(features.labels), predictions=np.asarray(features.predictions),
                         explained_variance=np.zeros(2), layer=features.layer, method="t-SNE")


class TsneMaps(QObject):
    """The t-SNE maps of a main window's map panel (see :meth:`attach`): one job at a time."""

    def __init__(self, window, max_iter: int | None = None):
        """``max_iter``: t-SNE's iterations (None: nn.tsne's default; tests use fewer)."""
        super().__init__(window)
        self.window = window
        self.max_iter = max_iter
        self.panel = None
        self.job = None
        self._features: MapFeatures | None = None
        self._wanted = False  # features asked for and not yet arrived
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        window.worker.map_features_ready.connect(self._start)

    def attach(self, panel) -> None:
        """Serve ``panel`` (a map panel, built anew with each data set)."""
        self.cancel()
        self.panel = panel
        panel.tsne_requested.connect(self.request)
        panel.tsne_cancel_requested.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self._wanted or self.job is not None

    def request(self) -> None:
        """A t-SNE map of the network as it is now (any job under way is replaced)."""
        self._stop_job()
        self._wanted = True
        self.panel.show_tsne_progress(0.0, "reading the hidden layer")
        self.window.commands.map_features()

    def cancel(self) -> None:
        if self.running:
            self._stop_job()
            if self.panel is not None:
                self.panel.show_tsne_stopped("cancelled")

    def _stop_job(self) -> None:
        self._wanted = False
        self._timer.stop()
        job, self.job = self.job, None
        if job is not None:
            job.cancel()

    def _start(self, features: MapFeatures) -> None:
        if not self._wanted or self.panel is None:
            return
        from nn.tsne import MAX_ITER, TsneJob

        self._wanted = False
        try:
            self.job = TsneJob(features.features, max_iter=self.max_iter or MAX_ITER)
        except (ValueError, OSError) as exc:
            self.panel.show_tsne_stopped(f"failed: {exc}")
            return
        self._features = features
        self._timer.start()

    def _poll(self) -> None:
        if self.job is None:
            self._timer.stop()
            return
        progress = self.job.poll()
        if not progress.done:
            self.panel.show_tsne_progress(progress.fraction, progress.stage)
            return
        self._timer.stop()
        self.job = None
        if progress.error is not None:
            self.panel.show_tsne_stopped(f"failed: {progress.error}")
        else:
            self.panel.show_tsne(tsne_map(self._features, progress.coords))
