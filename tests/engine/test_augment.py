"""nn.augment: shifts, rotations and noise do what they say to a batch of images."""

from __future__ import annotations

import numpy as np
import pytest

from nn.augment import Augmentation, augment


def square_images(n=4):
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 10:18, 12:16] = 255  # an upright bar, off the centre line
    return images


def test_no_augmentation_is_plain_scaling():
    images = square_images()
    x = augment(images, np.random.default_rng(0), Augmentation())
    np.testing.assert_array_equal(x, images.reshape(4, -1).astype(np.float32) / np.float32(255))
    assert not Augmentation().active and Augmentation(noise=0.1).active


def test_shifts_move_the_ink_by_whole_pixels():
    images = square_images(50)
    x = augment(images, np.random.default_rng(1), Augmentation(shift=2)).reshape(50, 28, 28)
    moved = 0
    for image in x:
        ink = np.argwhere(image > 0.5)
        dr, dc = ink.min(axis=0) - (10, 12)
        assert abs(dr) <= 2 and abs(dc) <= 2
        assert image.sum() == pytest.approx(32, abs=1e-4)  # the bar moved whole: no ink lost or made
        moved += (dr, dc) != (0, 0)
    assert moved > 30


def test_rotations_turn_the_ink_about_the_centre():
    images = np.zeros((1, 28, 28), np.uint8)
    images[0, 4:24, 13:15] = 255  # a vertical bar through the centre
    turned = augment(np.repeat(images, 200, axis=0), np.random.default_rng(2), Augmentation(rotation=30))
    turned = turned.reshape(200, 28, 28)
    angles = []
    for image in turned:
        rows, cols = np.nonzero(image > 0.3)
        slope = np.polyfit(rows, cols, 1)[0]
        angles.append(np.degrees(np.arctan(slope)))
        assert abs(image.sum() - 40) < 4  # bilinear: area roughly kept
    angles = np.abs(angles)
    assert angles.max() <= 31 and angles.max() > 20 and np.median(angles) > 5


def test_noise_has_the_asked_spread_and_stays_in_range():
    images = np.full((20, 28, 28), 128, np.uint8)
    x = augment(images, np.random.default_rng(3), Augmentation(noise=0.1), dtype=np.float64)
    assert x.dtype == np.float64 and x.min() >= 0 and x.max() <= 1
    assert (x - 128 / 255).std() == pytest.approx(0.1, rel=0.05)


def test_the_same_seed_gives_the_same_batch():
    images = square_images()
    settings = Augmentation(shift=2, rotation=10, noise=0.05)
    a = augment(images, np.random.default_rng(7), settings)
    b = augment(images, np.random.default_rng(7), settings)
    np.testing.assert_array_equal(a, b)
