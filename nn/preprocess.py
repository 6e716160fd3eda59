"""Turning a drawn digit into an MNIST-like input, the way MNIST itself was made.

MNIST's digits were size-normalised to fit a 20x20 box (keeping their aspect ratio, with
anti-aliasing), then centred by their centre of mass in a 28x28 frame. Doing the same to a
drawing makes the network see it as it saw its training data.
"""

from __future__ import annotations

import numpy as np

INK_THRESHOLD = 0.05  # pixels fainter than this do not count as ink when cropping


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix averaging the input cells each output cell covers (box filter)."""
    scale = n_in / n_out
    weights = np.zeros((n_out, n_in))
    for o in range(n_out):
        lo, hi = o * scale, (o + 1) * scale
        for i in range(int(np.floor(lo)), min(int(np.ceil(hi)), n_in)):
            weights[o, i] = min(hi, i + 1) - max(lo, i)
    return weights / scale


def resize_area(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample ``image`` to ``shape`` by area averaging: anti-aliased when shrinking."""
    rows = _area_weights(image.shape[0], shape[0])
    cols = _area_weights(image.shape[1], shape[1])
    return rows @ image @ cols.T


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    ys, xs = np.indices(image.shape)
    return float((ys * image).sum() / total), float((xs * image).sum() / total)


def mnist_style(drawing: np.ndarray, frame: tuple[int, int] = (28, 28), box: int | None = None) -> np.ndarray:
    """An MNIST-like float32 image in [0, 1] from a drawing (ink = high values, any size).

    Crop to the ink, scale the longer side to ``box`` pixels keeping the aspect ratio
    (anti-aliased), then translate so the centre of mass sits at the frame's centre.
    ``box`` defaults to MNIST's proportion, 20 of 28, of the frame's shorter side.
    An empty drawing gives an empty frame.
    """
    if box is None:
        box = max(1, round(min(frame) * 20 / 28))
    drawing = np.asarray(drawing, dtype=np.float64)
    if drawing.ndim != 2:
        raise ValueError(f"a drawing must be a 2-D image, got shape {drawing.shape}")
    peak = drawing.max(initial=0.0)
    out = np.zeros(frame, dtype=np.float32)
    if peak <= 0:
        return out
    ink = drawing / peak
    ys, xs = np.nonzero(ink > INK_THRESHOLD)
    if len(ys) == 0:
        return out
    cropped = ink[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    height, width = cropped.shape
    scale = box / max(height, width)
    new_shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    digit = np.clip(resize_area(cropped, new_shape), 0.0, 1.0)
    # Place the digit so its centre of mass lands on the frame's centre (integer shift, as MNIST).
    cy, cx = centre_of_mass(digit)
    top = int(round((frame[0] - 1) / 2 - cy))
    left = int(round((frame[1] - 1) / 2 - cx))
    top = min(max(top, 0), frame[0] - new_shape[0])
    left = min(max(left, 0), frame[1] - new_shape[1])
    out[top: top + new_shape[0], left: left + new_shape[1]] = digit
    return out
