"""Mini-batches and whole-split evaluations that follow the ink.

A batch is gathered from the uint8 images and scaled exactly as ``train_x`` was made (a quarter
of the bytes to fetch from scattered rows). With an input layout, it holds only the active
inputs in the stored order ("compact rows"), its rows sorted by how far their ink reaches
(``nn.data.ActivePixels``), and it is cut after its last inked column; the network then skips
the zeros below the cut too (``row_blocks``). Reordering the rows of a batch changes nothing
but the rounding order of its sums.
"""

from __future__ import annotations

import numpy as np

from ..data import scale_pixels
from .reductions import row_argmax

EVAL_BLOCK = 512  # rows per block when a whole split is evaluated in the order of its ink's extent


def scaled_rows(pixels: np.ndarray, idx: np.ndarray, width: int, pixel_buffer: np.ndarray,
                x_buffer: np.ndarray) -> np.ndarray:
    """``pixels[idx, :width]`` scaled to the engine's inputs (see ``scale_pixels``), as a
    contiguous (len(idx), width) view of ``x_buffer``; ``pixel_buffer`` holds the gathered rows.
    Both buffers have at least len(idx) rows of pixels.shape[1]."""
    rows = np.take(pixels, idx, axis=0, out=pixel_buffer[:len(idx)], mode="clip")  # "raise" copies twice
    x = x_buffer.reshape(-1)[:len(idx) * width].reshape(len(idx), width)
    return scale_pixels(rows[:, :width], out=x)


class BatchGatherer:
    """Gathers training batches into reused buffers.

    ``pixels``: the training images' uint8 pixels, one row each (compact rows when ``extents``,
    the rows' ink extents, are given); ``targets``: the one-hot training targets.
    """

    def __init__(self, pixels: np.ndarray, extents: np.ndarray | None, targets: np.ndarray, dtype):
        self.pixels, self.extents, self.targets = pixels, extents, targets
        self.dtype = np.dtype(dtype)
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def gather(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(inputs, one-hot targets, the rows' indices in batch order, their extents or None)."""
        size = len(idx)
        buffers = self._buffers.get(size)
        if buffers is None:
            if len(self._buffers) >= 4:  # the batch size and the epoch's last batch, mostly
                self._buffers.clear()
            width = self.pixels.shape[1]
            buffers = self._buffers[size] = (np.empty((size, width), self.dtype),
                                             np.empty((size, self.targets.shape[1]), self.targets.dtype),
                                             np.empty((size, width), self.pixels.dtype))
        x, Y, pixel_buffer = buffers
        extents = None
        if self.extents is not None:
            extents = self.extents[idx]
            by_extent = np.argsort(extents, kind="stable")
            idx, extents = idx[by_extent], extents[by_extent]
        width = self.pixels.shape[1] if extents is None else max(1, int(extents[-1]))
        x = scaled_rows(self.pixels, idx, width, pixel_buffer, x)
        np.take(self.targets, idx, axis=0, out=Y, mode="clip")
        return x, Y, idx, extents


def evaluate_in_ink_order(net, pixels: np.ndarray, by_extent: np.ndarray, extents: np.ndarray,
                          labels: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(mean loss, accuracy, softmax outputs in the split's own order) of a whole split whose
    ``pixels`` are in the network's stored input order, taken in the order ``by_extent`` in
    blocks each only as wide as its rows' ink (``net.internal_outputs``)."""
    n, width = pixels.shape
    probs = np.empty((n, net.layer_sizes[-1]), dtype=net.dtype)
    pixel_block = np.empty((min(EVAL_BLOCK, n), width), dtype=pixels.dtype)
    x_block = np.empty((min(EVAL_BLOCK, n), width), dtype=net.dtype)
    loss_sum = 0.0
    for start in range(0, n, EVAL_BLOCK):
        idx = by_extent[start:start + EVAL_BLOCK]
        x = scaled_rows(pixels, idx, max(1, int(extents[idx[-1]])), pixel_block, x_block)
        outputs, part = net.internal_outputs(x, labels[idx], extents[idx])
        probs[idx] = outputs
        loss_sum += part
    accuracy = float(np.count_nonzero(row_argmax(probs) == labels)) / n
    return loss_sum / n, accuracy, probs
