"""Metric curves of bounded size.

A run of 100,000 steps must not grow memory without bound, yet its curve should keep its shape.
:class:`MetricHistory` keeps at most ``capacity`` points: when full, neighbouring points are
merged pairwise (averaged, weighted by how many samples each stands for) and from then on every
new point stands for twice as many steps. Merging depends only on the step count, never on
timing, so the same run gives the same history in the GUI and headless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLUMNS = ("step", "samples", "loss", "accuracy", "weight")


@dataclass(frozen=True)
class Curve:
    """An immutable copy of a history: one array per column, all the same length."""

    step: np.ndarray
    samples: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray

    def __len__(self) -> int:
        return len(self.step)

    @staticmethod
    def empty() -> "Curve":
        return Curve(*(np.zeros(0) for _ in range(4)))


class MetricHistory:
    def __init__(self, capacity: int = 4096):
        if capacity < 4 or capacity % 2:
            raise ValueError("capacity must be an even number >= 4")
        self.capacity = capacity
        self._data = np.zeros((len(COLUMNS), capacity), dtype=np.float64)
        self._count = 0
        self._bucket = 1  # steps merged into one point
        self._pending = np.zeros(len(COLUMNS))  # the bucket being filled
        self._pending_steps = 0

    def __len__(self) -> int:
        return self._count

    def add(self, step: int, samples: int, loss: float, accuracy: float, weight: float) -> None:
        pending = self._pending
        pending[0], pending[1] = step, samples
        pending[2] += loss * weight
        pending[3] += accuracy * weight
        pending[4] += weight
        self._pending_steps += 1
        if self._pending_steps < self._bucket:
            return
        if self._count == self.capacity:
            self._merge_pairs()
        w = pending[4]
        self._data[:, self._count] = (pending[0], pending[1], pending[2] / w, pending[3] / w, w)
        self._count += 1
        pending[:] = 0
        self._pending_steps = 0

    def _merge_pairs(self) -> None:
        d = self._data
        w_even, w_odd = d[4, 0::2], d[4, 1::2]
        w = w_even + w_odd
        merged = np.empty((len(COLUMNS), self.capacity // 2))
        merged[0:2] = d[0:2, 1::2]  # a merged point sits at the end of what it covers
        merged[2:4] = (d[2:4, 0::2] * w_even + d[2:4, 1::2] * w_odd) / w
        merged[4] = w
        d[:, : self.capacity // 2] = merged
        self._count = self.capacity // 2
        self._bucket *= 2

    def curve(self) -> Curve:
        n = self._count
        arrays = [self._data[i, :n].copy() for i in range(4)]
        for a in arrays:
            a.flags.writeable = False
        return Curve(*arrays)

    # -- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "data": self._data[:, : self._count].copy(),
            "bucket": self._bucket,
            "pending": self._pending.copy(),
            "pending_steps": self._pending_steps,
        }

    def load_state(self, state: dict) -> None:
        data = np.asarray(state["data"], dtype=np.float64)
        if data.ndim != 2 or data.shape[0] != len(COLUMNS) or data.shape[1] > self.capacity:
            raise ValueError(f"history of shape {data.shape} does not fit ({len(COLUMNS)}, <= {self.capacity})")
        self._data[:] = 0
        self._data[:, : data.shape[1]] = data
        self._count = data.shape[1]
        self._bucket = int(state["bucket"])
        self._pending = np.asarray(state["pending"], dtype=np.float64).copy()
        self._pending_steps = int(state["pending_steps"])


class SeriesHistory:
    """Several values per point (e.g. one per layer) against samples seen, bounded like
    :class:`MetricHistory`: when full, neighbouring points are averaged pairwise and from then on
    every recorded point stands for twice as many records.
    """

    def __init__(self, n_series: int, capacity: int = 1024):
        if capacity < 4 or capacity % 2:
            raise ValueError("capacity must be an even number >= 4")
        self.capacity = capacity
        self._x = np.zeros(capacity)
        self._values = np.zeros((capacity, n_series))
        self._count = 0
        self._bucket = 1
        self._pending = np.zeros(n_series)
        self._pending_n = 0

    def __len__(self) -> int:
        return self._count

    def add(self, x: float, values) -> None:
        self._pending += values
        self._pending_n += 1
        if self._pending_n < self._bucket:
            return
        if self._count == self.capacity:
            half = self.capacity // 2
            self._x[:half] = self._x[1::2]
            self._values[:half] = (self._values[0::2] + self._values[1::2]) / 2
            self._count = half
            self._bucket *= 2
        self._x[self._count] = x
        self._values[self._count] = self._pending / self._pending_n
        self._count += 1
        self._pending[:] = 0
        self._pending_n = 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, values) copies: shapes (n,) and (n, n_series), read-only."""
        x, values = self._x[: self._count].copy(), self._values[: self._count].copy()
        x.flags.writeable = values.flags.writeable = False
        return x, values
