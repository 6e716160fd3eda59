"""Regularisation in the control column: dropout and data augmentation, both applied live.

Dropout (``TrainConfig.dropout``) drops that share of the hidden units at every training step;
augmentation (``augment_shift``, ``augment_rotation``, ``augment_noise``) moves, turns and
noises every training image a little at every step (never the test images; it needs
mini-batches). Both are live fields of :class:`visualizer.controls.ControlPanel` under its one
rule for when a live value applies, and the trainer records each change as an event on the curves.

Under the fields, :class:`AugmentedStrip` shows a few training images as the data holds them and
as augmentation with the fields' values turns them, so a person sees what the settings do
(drawn with a random stream of its own: training's is never touched).
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QSpinBox, QToolButton, QVBoxLayout, QWidget

from nn.config import MAX_DROPOUT, MAX_NOISE, MAX_ROTATION, MAX_SHIFT

from . import style

EXAMPLES = 6  # images in the strip
THUMB = 34  # their side in pixels
TYPING_PAUSE_MS = 900  # as the other live fields


def _spin(kind, maximum: float, step: float, decimals: int = 2, suffix: str = ""):
    spin = kind()
    spin.setRange(0, maximum)
    spin.setSingleStep(step)
    if kind is QDoubleSpinBox:
        spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setKeyboardTracking(False)  # a value applies on Enter, focus-out or a step (or a pause in typing)
    spin.setSpecialValueText("off")  # 0
    return spin


def build_regularization(panel) -> QGroupBox:
    """The "Regularisation" box of ``panel`` (a ControlPanel): its fields become ``panel.dropout``,
    ``panel.shift``, ``panel.rotation`` and ``panel.noise`` (live fields "dropout" and
    "augment"), and ``panel.augmented_strip``."""
    box = QGroupBox("Regularisation (applies live)")
    form = panel._form(box)
    panel.dropout = _spin(QDoubleSpinBox, MAX_DROPOUT, 0.05)
    panel._add(form, "dropout", "Dropout", panel.dropout,
               "Share of hidden units switched off at every training step (inverted dropout; never when "
               "evaluating). Needs a hidden layer. Applies live.")
    panel.shift = _spin(QSpinBox, MAX_SHIFT, 1, suffix=" px")
    panel._add(form, "shift", "Shift", panel.shift,
               "Augmentation: every training image moves by up to this many pixels each way, at random. "
               "Needs mini-batches. Applies live.")
    panel.rotation = _spin(QDoubleSpinBox, MAX_ROTATION, 5, 0, suffix=" °")
    panel._add(form, "rotation", "Rotation", panel.rotation,
               "Augmentation: every training image turns by up to this many degrees either way, at random. "
               "Needs mini-batches. Applies live.")
    panel.noise = _spin(QDoubleSpinBox, MAX_NOISE, 0.05)
    panel._add(form, "noise", "Noise", panel.noise,
               "Augmentation: Gaussian noise of this standard deviation (pixels in 0..1) on every training "
               "image. Needs mini-batches. Applies live.")
    panel.augmented_strip = AugmentedStrip()
    form.addRow(panel.augmented_strip)
    panel.regularization_spins = (panel.dropout, panel.shift, panel.rotation, panel.noise)
    for name, spins in (("dropout", (panel.dropout,)), ("augment", (panel.shift, panel.rotation, panel.noise))):
        timer = panel._typing[name] = QTimer(panel, singleShot=True, interval=TYPING_PAUSE_MS)
        timer.timeout.connect(lambda name=name: panel._commit(name, typing=True))
        for spin in spins:
            spin.valueChanged.connect(lambda _, name=name: panel._commit(name))
            spin.lineEdit().textEdited.connect(lambda _, timer=timer: timer.start())
    for spin in (panel.shift, panel.rotation, panel.noise):
        spin.valueChanged.connect(lambda _: panel.augmented_strip.set_augmentation(*augmentation_of(panel)))
    return box


def augmentation_of(panel) -> tuple[int, float, float]:
    return int(panel.shift.value()), round(float(panel.rotation.value()), 4), round(float(panel.noise.value()), 4)


def regularization_values(panel) -> dict:
    """The TrainConfig fields the box shows."""
    shift, rotation, noise = augmentation_of(panel)
    return {"dropout": round(float(panel.dropout.value()), 4), "augment_shift": shift,
            "augment_rotation": rotation, "augment_noise": noise}


def show_regularization(panel, config) -> None:
    """Show ``config``'s dropout and augmentation (the caller holds back the live signals)."""
    panel.dropout.setValue(config.dropout)
    panel.shift.setValue(config.augment_shift)
    panel.rotation.setValue(config.augment_rotation)
    panel.noise.setValue(config.augment_noise)
    panel.augmented_strip.set_augmentation(*augmentation_of(panel))


class AugmentedStrip(QWidget):
    """A few training images: as stored (top row) and as augmentation changes them (bottom row)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.images: np.ndarray | None = None  # (EXAMPLES, rows, cols) uint8, picked from the training set
        self.augmented: np.ndarray | None = None  # the same, augmented (uint8)
        self.augmentation = (0, 0.0, 0.0)
        self._draws = 0  # each "new examples" draws afresh
        self.caption = QLabel("Loading the data…")
        self.caption.setFont(style.small_font(8))
        self.caption.setWordWrap(True)
        style.themed_css(self.caption, "color: $muted;")
        self.again_button = QToolButton(text="↻")
        self.again_button.setToolTip("Other images, augmented afresh")
        self.again_button.clicked.connect(self.new_examples)
        self.cells: list[list[QLabel]] = [[], []]
        grid = QGridLayout()
        grid.setSpacing(2)
        grid.setContentsMargins(0, 0, 0, 0)
        for row in range(2):
            for k in range(EXAMPLES):
                cell = QLabel()
                cell.setFixedSize(THUMB, THUMB)
                cell.setToolTip("A training image as stored" if row == 0 else
                                "The same image as training sees it, augmented")
                grid.addWidget(cell, row, k)
                self.cells[row].append(cell)
        grid.addWidget(self.again_button, 0, EXAMPLES, 2, 1, Qt.AlignmentFlag.AlignVCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(grid)
        layout.addWidget(self.caption)
        self.setToolTip("What augmentation does: top, training images as stored; bottom, as training sees them "
                        "with these settings (each step draws new moves)")

    def set_dataset(self, dataset) -> None:
        self._train_images = dataset.train_images
        self._draws = 0
        self.new_examples()

    def set_augmentation(self, shift: int, rotation: float, noise: float) -> None:
        augmentation = (int(shift), float(rotation), float(noise))
        if augmentation != self.augmentation:
            self.augmentation = augmentation
            self._augment()

    def new_examples(self) -> None:
        images = getattr(self, "_train_images", None)
        if images is None or not len(images):
            return
        picker = np.random.default_rng(1000 + self._draws)
        self._draws += 1
        self.images = images[np.sort(picker.choice(len(images), size=min(EXAMPLES, len(images)), replace=False))]
        self._augment()

    def _augment(self) -> None:
        from nn.augment import Augmentation, augment

        if self.images is None:
            return
        shift, rotation, noise = self.augmentation
        rng = np.random.default_rng(self._draws * 7919 + 17)  # its own stream: training's is never touched
        moved = augment(self.images, rng, Augmentation(shift, rotation, noise))
        self.augmented = np.clip(np.rint(moved * 255), 0, 255).astype(np.uint8).reshape(self.images.shape)
        ratio = self.devicePixelRatioF()
        for row, images in enumerate((self.images, self.augmented)):
            for k, cell in enumerate(self.cells[row]):
                if k < len(images):
                    cell.setPixmap(style.digit_pixmap(images[k], THUMB, ratio))
                else:
                    cell.clear()
        parts = [f"shift ±{shift} px" if shift else "", f"rotation ±{rotation:g}°" if rotation else "",
                 f"noise {noise:g}" if noise else ""]
        described = ", ".join(p for p in parts if p)
        self.caption.setText(f"Augmented: {described} (bottom row)" if described
                             else "Augmentation off: training sees the images as stored")
