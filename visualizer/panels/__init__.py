"""Panels: small widgets that each render one view of a training :class:`nn.trainer.Snapshot`.

Every panel has ``show_snapshot(snap)`` (cheap; called up to ~25 times per second) and
``clear()`` (a new run starts). Panels never train or reach into the trainer.
"""

from .class_probs import ClassProbabilityPanel
from .curves import AccuracyPanel, LossPanel
from .softmax import SoftmaxPanel
from .weights import WeightsPanel

__all__ = ["AccuracyPanel", "ClassProbabilityPanel", "LossPanel", "SoftmaxPanel", "WeightsPanel"]
