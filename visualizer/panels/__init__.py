"""Panels: small widgets that each render one view of a training :class:`nn.trainer.Snapshot`.

Every panel is a :class:`Panel`. Panels never train or reach into the trainer; what is not a
panel (styling, throttling, export menus) lives outside this package.
"""

from typing import Protocol, runtime_checkable

from .class_probs import ClassProbabilityPanel
from .curves import AccuracyPanel, LossPanel
from .softmax import SoftmaxPanel
from .weights import WeightsPanel


@runtime_checkable
class Panel(Protocol):
    """What the main window asks of every panel (see :mod:`visualizer.panel_table`)."""

    def show_snapshot(self, snap) -> None:
        """Render ``snap``; cheap, called up to ~15 times a second (a costly panel throttles itself)."""

    def clear(self) -> None:
        """A new run starts: forget the old one's curves and marks."""

    def apply_theme(self) -> None:
        """Repaint in :func:`visualizer.theme.current`, which has just changed."""


__all__ = ["AccuracyPanel", "ClassProbabilityPanel", "LossPanel", "Panel", "SoftmaxPanel", "WeightsPanel"]
