"""t-SNE maps of a hidden layer, computed in a process of their own: with progress, cancellable.

scikit-learn's ``TSNE`` takes seconds for 1,000 digits and offers no progress callback and no
way to stop. Run in a separate process, it leaves training and the window responsive, it can
be stopped at once (the process is ended), and its verbose log, which reports every 50th
iteration, gives the progress. The process is started with "spawn": a fork of a process that
runs Qt or BLAS threads is not safe.
"""

from __future__ import annotations

import io
import multiprocessing
import queue
import re
import sys
import time
from dataclasses import dataclass

import numpy as np

MAX_ITER = 1000
_ITERATION = re.compile(r"Iteration (\d+):")


class _LogToQueue(io.TextIOBase):
    """Stands in for the child's stdout: each line scikit-learn prints goes to the parent."""

    def __init__(self, messages):
        self.messages = messages
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            match = _ITERATION.search(line)
            if match:
                self.messages.put(("iteration", int(match.group(1))))
            elif line.startswith("[t-SNE]"):
                self.messages.put(("stage", line[len("[t-SNE]"):].strip()))
        return len(text)


def _compute(features: np.ndarray, perplexity: float, max_iter: int, seed: int, messages) -> None:
    """The child process: fit t-SNE and send the coordinates (or the error) back."""
    try:
        sys.stdout = _LogToQueue(messages)
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # the other core stays with training and the window
            tsne = TSNE(n_components=2, perplexity=min(perplexity, (len(features) - 1) / 3), max_iter=max_iter,
                        init="pca", random_state=seed, verbose=2, n_jobs=1)
            coords = tsne.fit_transform(features)
        messages.put(("done", np.asarray(coords, dtype=np.float64)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as a message
        messages.put(("error", f"{type(exc).__name__}: {exc}"[:300]))


@dataclass(frozen=True)
class TsneProgress:
    fraction: float  # 0..1 of the optimisation's iterations
    stage: str  # the latest thing t-SNE said it was doing
    coords: np.ndarray | None = None  # (n, 2) when done
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.coords is not None or self.error is not None


class TsneJob:
    """One t-SNE map of ``features`` (n samples, units), in a child process."""

    def __init__(self, features: np.ndarray, perplexity: float = 30.0, max_iter: int = MAX_ITER, seed: int = 0):
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or len(features) < 5:
            raise ValueError("t-SNE needs at least 5 samples of 1 or more features")
        context = multiprocessing.get_context("spawn")
        self._messages = context.Queue()
        self._process = context.Process(target=_compute, args=(features, perplexity, max_iter, seed,
                                                               self._messages), daemon=True)
        self._max_iter = max_iter
        self._progress = TsneProgress(0.0, "starting")
        self._process.start()

    def poll(self) -> TsneProgress:
        """The progress so far (non-blocking); when done, the coordinates or the error."""
        while not self._progress.done:
            try:
                kind, value = self._messages.get_nowait()
            except queue.Empty:
                if not self._process.is_alive() and self._process.exitcode not in (None, 0):
                    self._progress = TsneProgress(self._progress.fraction, "failed",
                                                  error=f"the t-SNE process ended with code {self._process.exitcode}")
                break
            current = self._progress
            if kind == "iteration":
                self._progress = TsneProgress(min(1.0, value / self._max_iter), "optimising")
            elif kind == "stage":
                self._progress = TsneProgress(current.fraction, value)
            elif kind == "done":
                self._progress = TsneProgress(1.0, "done", coords=value)
            elif kind == "error":
                self._progress = TsneProgress(current.fraction, "failed", error=value)
        if self._progress.done:
            self._process.join(timeout=1)
        return self._progress

    def wait(self, timeout: float) -> TsneProgress:
        """Block until done or ``timeout`` seconds have passed (for scripts and tests)."""
        self._process.join(timeout)
        deadline = time.monotonic() + 1.0
        progress = self.poll()
        while not progress.done and time.monotonic() < deadline:
            time.sleep(0.02)
            progress = self.poll()
        return progress

    def cancel(self) -> None:
        """Stop at once; nothing more will come."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=2)
        if not self._progress.done:
            self._progress = TsneProgress(self._progress.fraction, "cancelled", error="cancelled")

    @property
    def running(self) -> bool:
        return self._process.is_alive()
