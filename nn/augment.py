"""Data augmentation for training batches: small random shifts, rotations and pixel noise.

Each training image of a batch is moved by a random whole-pixel shift of up to ``shift`` pixels
in each direction and rotated by a random angle of up to ``rotation`` degrees about its centre
(bilinear interpolation, ink outside the frame is lost), then Gaussian noise of standard
deviation ``noise`` is added and the pixels are clipped to 0..1. Test data is never augmented.
A network that sees digits a little off-centre and askew learns features that do not depend
on where exactly the ink is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Augmentation:
    shift: int = 0  # pixels, in each direction
    rotation: float = 0.0  # degrees, either way
    noise: float = 0.0  # standard deviation of the added noise, in pixel units (0..1)

    @property
    def active(self) -> bool:
        return self.shift > 0 or self.rotation > 0 or self.noise > 0


def augment(images: np.ndarray, rng: np.random.Generator, augmentation: Augmentation, dtype=np.float32) -> np.ndarray:
    """(n, rows * cols) inputs in 0..1 from uint8 ``images`` (n, rows, cols), each moved, turned
    and noised at random as ``augmentation`` says."""
    n, rows, cols = images.shape
    pixels = images.astype(np.float32) / np.float32(255)
    if augmentation.shift > 0 or augmentation.rotation > 0:
        pixels = _move(pixels, rng, augmentation)
    if augmentation.noise > 0:
        pixels += rng.normal(0.0, augmentation.noise, size=pixels.shape).astype(np.float32)
        np.clip(pixels, 0.0, 1.0, out=pixels)
    return pixels.reshape(n, rows * cols).astype(dtype, copy=False)


def _move(pixels: np.ndarray, rng: np.random.Generator, augmentation: Augmentation) -> np.ndarray:
    """Every image shifted and rotated by its own random amount, in one interpolation call."""
    from scipy.ndimage import map_coordinates

    n, rows, cols = pixels.shape
    angles = np.deg2rad(rng.uniform(-augmentation.rotation, augmentation.rotation, size=n))
    shifts = rng.integers(-augmentation.shift, augmentation.shift + 1, size=(n, 2))
    centre_r, centre_c = (rows - 1) / 2, (cols - 1) / 2
    r, c = np.meshgrid(np.arange(rows) - centre_r, np.arange(cols) - centre_c, indexing="ij")
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    # where each output pixel comes from: rotate back, then undo the shift
    source_r = cos * r[None] + sin * c[None] + centre_r - shifts[:, 0, None, None]
    source_c = -sin * r[None] + cos * c[None] + centre_c - shifts[:, 1, None, None]
    image = np.broadcast_to(np.arange(n)[:, None, None], source_r.shape)
    coordinates = np.stack([image, source_r, source_c])
    return map_coordinates(pixels, coordinates, order=1, mode="constant", cval=0.0).astype(np.float32)
