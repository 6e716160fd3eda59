"""Looking inside the network: what its hidden layers do, and whether it is still learning.

All of it is computed here, in the engine, and travels to the GUI in snapshots as read-only
arrays: the GUI draws, it does not compute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network

SATURATION = 0.98  # sigmoid below 1-0.98 or above 0.98 (tanh |a| above 0.98): gradient nearly 0
TOP_UNITS = 8  # first-layer units whose input contributions are shown for a digit
HISTOGRAM_BINS = 60


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def layer_names(layer_sizes: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"layer {i + 1} ({a}→{b})" for i, (a, b) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])))


def confusion_counts(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """(classes, classes) int64: row t, column p counts the samples of true class t predicted as
    p (labels or predictions outside 0..n_classes-1 are left out)."""
    labels, predictions = np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    keep = (labels >= 0) & (labels < n_classes) & (predictions >= 0) & (predictions < n_classes)
    cells = labels[keep] * n_classes + predictions[keep]
    return np.bincount(cells, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def inactive_fractions(net: Network, x: np.ndarray) -> np.ndarray:
    """Per hidden layer: for ReLU the share of dead units (never active on ``x``); for sigmoid
    and tanh the share of activations that are saturated (where the gradient all but vanishes).
    """
    fractions = []
    for a in net.hidden_activations(x):
        if net.activation == "relu":
            fractions.append(float(np.count_nonzero(~(a > 0).any(axis=0))) / a.shape[1])
        elif net.activation == "sigmoid":
            fractions.append(float(np.count_nonzero((a < 1 - SATURATION) | (a > SATURATION))) / a.size)
        else:
            fractions.append(float(np.count_nonzero(np.abs(a) > SATURATION)) / a.size)
    return np.array(fractions)


def inactive_label(activation: str) -> str:
    return "dead units (never active)" if activation == "relu" else "saturated activations"


@dataclass(frozen=True)
class WeightHistogram:
    """One layer's weights now and at initialisation, counted on the same bins."""

    edges: np.ndarray  # (bins + 1,)
    counts: np.ndarray  # (bins,)
    initial_counts: np.ndarray  # (bins,)


def weight_histograms(weights, initial_weights, bins: int = HISTOGRAM_BINS) -> tuple[WeightHistogram, ...]:
    result = []
    for w, w0 in zip(weights, initial_weights):
        finite = np.isfinite(w)
        lo = float(min(w[finite].min(initial=0.0), w0.min()))
        hi = float(max(w[finite].max(initial=0.0), w0.max()))
        if hi <= lo:
            hi = lo + 1e-6
        edges = np.linspace(lo, hi, bins + 1)
        counts, _ = np.histogram(w[finite], bins=edges)
        initial, _ = np.histogram(w0, bins=edges)
        result.append(WeightHistogram(_frozen(edges), _frozen(counts), _frozen(initial)))
    return tuple(result)


@dataclass(frozen=True)
class LearningStats:
    """Curves over training (x = samples seen) and the current weight distributions."""

    layer_names: tuple[str, ...]
    hidden_names: tuple[str, ...]
    inactive_label: str  # what inactive_fraction measures for this activation
    gradient_samples: np.ndarray  # (n,)
    gradient_norms: np.ndarray  # (n, layers): ||dL/dW, dL/db|| per layer
    update_ratios: np.ndarray  # (n, layers): ||ΔW|| / ||W|| per layer
    inactive_samples: np.ndarray  # (m,)
    inactive_fraction: np.ndarray  # (m, hidden layers)
    histograms: tuple[WeightHistogram, ...]


@dataclass(frozen=True)
class DigitDetail:
    """The path from pixels to softmax for one input (a test digit or a drawing)."""

    image: np.ndarray  # (features,) the input the network sees
    probs: np.ndarray  # (classes,)
    hidden: tuple[np.ndarray, ...]  # each hidden layer's activations (units,)
    top_units: np.ndarray  # (k,) first-layer units with the largest activation
    contributions: np.ndarray  # (k, features): input x weight of those units


def digit_detail(net: Network, x: np.ndarray) -> DigitDetail:
    x = np.asarray(x, dtype=net.dtype).reshape(1, -1)
    hidden = [h[0].copy() for h in net.hidden_activations(x)]
    probs = net.predict_proba(x)[0]
    if hidden:
        k = min(TOP_UNITS, len(hidden[0]))
        top = np.argsort(hidden[0])[::-1][:k]
    else:  # no hidden layer: the "units" are the class templates, ranked by probability
        k = min(TOP_UNITS, len(probs))
        top = np.argsort(probs)[::-1][:k]
    contributions = x[0][None, :] * net.first_layer_weights(top)
    return DigitDetail(_frozen(x[0].copy()), _frozen(probs), tuple(_frozen(h) for h in hidden),
                       _frozen(top.copy()), _frozen(contributions))


@dataclass(frozen=True)
class ActivationMap:
    """A 2-D map (PCA, or t-SNE on request) of the last hidden layer's activations for a fixed
    sample of test digits."""

    step: int
    indices: np.ndarray  # (n,) test-set indices
    coords: np.ndarray  # (n, 2)
    labels: np.ndarray  # (n,)
    predictions: np.ndarray  # (n,)
    explained_variance: np.ndarray  # (2,) share of variance along each axis (PCA only; zeros for t-SNE)
    layer: str  # which layer was mapped
    method: str = "PCA"  # or "t-SNE"


def map_features(net: Network, x: np.ndarray) -> tuple[np.ndarray, str, np.ndarray]:
    """(the last hidden layer's activations as float64, that layer's name, the predictions) for
    the rows of ``x``; with no hidden layer, the output's log-probabilities stand in."""
    hidden = net.hidden_activations(x)
    probs = net.predict_proba(x)
    features = hidden[-1] if hidden else np.log(np.maximum(probs, 1e-30))
    layer = f"hidden layer {len(hidden)}" if hidden else "output log-probabilities (no hidden layer)"
    return np.asarray(features, dtype=np.float64), layer, probs.argmax(axis=1)


def activation_map(net: Network, x: np.ndarray, indices: np.ndarray, labels: np.ndarray, step: int) -> ActivationMap:
    from sklearn.decomposition import PCA

    features, layer, predictions = map_features(net, x)
    if features.shape[1] >= 2 and np.ptp(features, axis=0).max() > 0:
        # The covariance route is exact and fastest when units <= digits; for a very wide layer its
        # units x units matrix would not fit in memory, so a randomized SVD instead.
        wide = features.shape[1] > features.shape[0]
        pca = PCA(n_components=2, svd_solver="randomized" if wide else "covariance_eigh", random_state=0)
        coords = pca.fit_transform(features)
        explained = pca.explained_variance_ratio_
    else:  # a collapsed layer (e.g. every unit dead) has nothing to project
        coords = np.zeros((len(x), 2))
        explained = np.zeros(2)
    return ActivationMap(step, _frozen(np.asarray(indices).copy()), _frozen(coords), _frozen(np.asarray(labels).copy()),
                         _frozen(predictions), _frozen(np.asarray(explained, dtype=np.float64)), layer)
