"""Tooltips of the plots' axes, in one place: what each axis measures and what to try with it.

:func:`visualizer.style.axis_label` gives an axis the tip of its label from :data:`AXIS_TIPS`
(the panels' titles live in the panel table, the controls' tips beside each field in
:mod:`visualizer.controls`).
"""

from __future__ import annotations

_SAMPLES = ("Training samples seen so far: steps × batch size. Runs with other batch sizes line up by samples, "
            "not by steps.")
_PROBABILITY = "The softmax probability, 0 to 100 %. Try an early network: its bars are nearly flat, 10 % each."

AXIS_TIPS = {
    "samples seen": _SAMPLES,
    "epochs": "Passes over the whole training set (samples seen ÷ training-set size).",
    "cross-entropy": ("The loss: −log p of the true class, averaged. 2.30 = a uniform guess over 10 classes. "
                      "Tick 'log scale' to see the late, slow progress."),
    "accuracy (%)": "The share of digits whose most probable class is the true one.",
    "class": "The ten classes the softmax spreads its probability over.",
    "probability (%)": _PROBABILITY,
    "prob. (%)": _PROBABILITY,
    "probability": "The softmax probability, 0 to 1.",
    "true class": "The digit's real class (its label in the data).",
    "predicted class": "The class the network gives the largest probability.",
    "P(true class)": ("How sure the network is of the pinned digit's true class, at each test evaluation. "
                      "A fall after a change of setting is worth a look."),
    "PC1": "The direction along which the last hidden layer's activations vary most (first principal component).",
    "PC2": "The second principal component: the most variation left, at right angles to PC1.",
    "t-SNE 1": "t-SNE keeps neighbours together: distances between far-apart clusters mean little.",
    "t-SNE 2": "t-SNE keeps neighbours together: distances between far-apart clusters mean little.",
    "weight": "The weights' values; the dashed line is their distribution at the start of the run.",
    "count": "How many weights have this value.",
    "dead (%)": ("The share of ReLU units that output 0 for every probe digit: they no longer learn. "
                 "Try learning rate 1 with SGD to watch them die."),
    "saturated (%)": ("The share of sigmoid/tanh units stuck at a flat end of their curve, where the gradient is "
                      "almost 0. A very high learning rate pushes them there."),
    "update / weight": ("||update|| / ||W|| per step and layer (log scale): about 1e-3 is healthy, 1e-5 too slow, "
                        "1e-1 too fast."),
    "gradient norm": "The size of each layer's gradient (log scale): it shrinks as the loss flattens.",
    "nudge step": "Steps of the nudge: 0 is the digit as it is.",
    "mistakes per cell": "How many test digits fall in a cell of the matrix (the colour's scale).",
}
