"""The main window's panels, in one table: the window builds its docks, the View menu and the
render schedule from it (:mod:`visualizer.docks`, :mod:`visualizer.rendering`).

A panel that needs the data set is built once the data has loaded; until then its dock says so.
A deferred panel (costly to build, and with nothing to show before the first run) is built just
after the window's first paint, so that the window shows sooner.
Panel classes are named, not imported, here: the panels that show the data's digits import
scikit-learn and the like, which the worker thread has loaded by the time they are built, while
the window's first paint should not wait for them.
"""

from __future__ import annotations

import dataclasses
import importlib


@dataclasses.dataclass(frozen=True)
class PanelSpec:
    name: str  # the dock's object name: saved layouts find docks by it, so it never changes
    title: str  # the dock's title and its entry in the View menu
    attr: str  # the window's attribute holding the panel
    widget: str  # "module.Class" in visualizer.panels
    place: str  # "central"; "bottom" (side by side, in table order); or the dock whose tabs it joins
    tip: str = ""
    width: int = 0  # default width of a "bottom" dock
    needs_data: bool = False  # built with the data set, once loaded
    watched: bool = False  # rendered at every cycle while training: what a person watches closely
    deferred: bool = False  # built just after the window first shows (it costs the first paint time)

    def panel_class(self) -> type:
        module, _, name = self.widget.rpartition(".")
        return getattr(importlib.import_module(f"visualizer.panels.{module}"), name)

    def build(self, dataset=None):
        return self.panel_class()(dataset) if self.needs_data else self.panel_class()()


# In the order of the View menu (after the controls); the central curves are not docks.
PANELS = (
    PanelSpec("loss", "Loss", "loss_panel", "curves.LossPanel", "central", watched=True),
    PanelSpec("accuracy", "Accuracy", "accuracy_panel", "curves.AccuracyPanel", "central", watched=True),
    PanelSpec("softmax", "Softmax", "softmax_panel", "softmax.SoftmaxPanel", "bottom",
              "The network's output for one test digit", width=400, needs_data=True, watched=True),
    PanelSpec("class_probs", "Probabilities", "class_panel", "class_probs.ClassProbabilityPanel", "bottom",
              "Mean softmax output per true class: where the network hesitates", width=430, deferred=True),
    PanelSpec("confusion", "Confusion", "confusion_panel", "confusion.ConfusionMatrixPanel", "class_probs",
              "Counts of true vs predicted class; click a cell to list those digits", needs_data=True),
    PanelSpec("weights", "Weights", "weights_panel", "weights.WeightsPanel", "bottom",
              "The first layer's weights as images", width=430),
    PanelSpec("mistakes", "Mistakes", "gallery", "gallery.MistakesGallery", "weights",
              "The digits the network gets wrong", needs_data=True),
    PanelSpec("pins", "Pins", "pins_panel", "pins.PinnedDigitsPanel", "weights",
              "Digits you pinned, tracked while training", needs_data=True),
    PanelSpec("draw", "Draw", "drawing_panel", "drawing.DrawingPanel", "softmax",
              "Draw a digit and see what the network makes of it, live", needs_data=True, watched=True),
    PanelSpec("activations", "Activations", "activations_panel", "activations.ActivationsPanel", "softmax",
              "From pixels to softmax: hidden activations for the selected or drawn digit", deferred=True),
    PanelSpec("learning", "Learning", "learning_panel", "learning.LearningPanel", "class_probs",
              "Is it still learning? Gradient norms, update ratios, dead units, weights", deferred=True),
    PanelSpec("pca", "Map", "map_panel", "pca_map.LayerMapPanel", "weights",
              "The last hidden layer's view of the test digits, in 2-D: PCA (live) or t-SNE (on request)",
              needs_data=True),
    PanelSpec("runs", "Runs", "runs_panel", "runs.RunsPanel", "class_probs",
              "Earlier runs of this session, to compare (kept at Reset)", deferred=True),
    PanelSpec("math", "Math", "math_panel", "math_view.MathPanel", "class_probs",
              "The selected digit's softmax and its gradient, number by number: forward, backward, one step, "
              "gradient check. Hover any number for its formula", needs_data=True),
    PanelSpec("make", "Make it a…", "gradient_panel", "input_gradient.InputGradientPanel", "weights",
              "What would make this digit a 7? The input gradient over the digit, and a nudge that follows it",
              needs_data=True),
)

DOCKED = tuple(spec for spec in PANELS if spec.place != "central")
