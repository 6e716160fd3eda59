"""Plain-language hints from what the trainer already records, each with the figure behind it.

Each rule reads a snapshot's curves and learning statistics and, when it fires, says what it
saw in numbers and offers one change of setting (``Hint.changes``, TrainConfig field names) that
a person can apply with one click. The rules are deliberately few and conservative: a hint that
fires on a healthy run teaches the wrong lesson.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import format_number

MIN_STEPS = 40  # no hint before a run has this many steps
RISING_FACTOR = 1.25  # the recent training loss this much above the best recent level
OVERFIT_DROP = 0.01  # test accuracy this far below its best (1 point) ...
OVERFIT_TRAIN_GAIN = 0.005  # ... while the training accuracy rose at least this much since then
INACTIVE_SHARE = 0.5  # dead (ReLU) or saturated (sigmoid, tanh) units in a layer
TINY_UPDATE_RATIO = 1e-4  # ||update|| / ||W||; about 1e-3 is a healthy step


@dataclass(frozen=True)
class Hint:
    key: str  # which rule: diverged, loss_rising, overfitting, dead_units, saturated_units, tiny_updates
    message: str  # what was measured, and what it suggests
    action: str  # the button's text
    changes: dict = field(default_factory=dict)  # TrainConfig fields to set, e.g. {"lr": 0.03}


def _nice(value: float) -> float:
    """A suggested value with two significant digits (0.15, not 0.15000000000000002)."""
    return float(f"{value:.2g}")


def _smoothed(values: np.ndarray, blocks: int) -> np.ndarray:
    """Means of ``blocks`` equal consecutive blocks (the last values that fit)."""
    size = len(values) // blocks
    return values[len(values) - size * blocks:].reshape(blocks, size).mean(axis=1)


def _loss_rising(train_curve, config) -> Hint | None:
    loss = np.asarray(train_curve.loss, dtype=np.float64)
    if len(loss) < MIN_STEPS or not np.isfinite(loss[-MIN_STEPS:]).all():
        return None
    levels = _smoothed(loss[-min(len(loss), 400):], 8)
    best, now = float(levels.min()), float(levels[-1])
    if now > RISING_FACTOR * best and levels[-1] > levels[-2] > levels[-3]:
        lr = config.lr
        return Hint("loss_rising",
                    f"Loss rising: the training loss climbed from {best:.3g} to {now:.3g} over the last "
                    f"{int(train_curve.step[-1] - train_curve.step[-min(len(loss), 400)])} steps. "
                    f"The learning rate ({format_number(lr)}) may be too high.",
                    f"Lower learning rate to {format_number(_nice(lr * 0.3))}", {"lr": _nice(lr * 0.3)})
    return None


def _overfitting(train_curve, test_curve, config) -> Hint | None:
    accuracy = np.asarray(test_curve.accuracy, dtype=np.float64)
    if len(accuracy) < 4 or len(train_curve) < MIN_STEPS:
        return None
    best_at = int(np.argmax(accuracy))
    best, now = float(accuracy[best_at]), float(accuracy[-1])
    if best - now < OVERFIT_DROP or best_at == len(accuracy) - 1:
        return None
    train_steps = np.asarray(train_curve.step)
    train_accuracy = np.asarray(train_curve.accuracy, dtype=np.float64)
    around_best = train_accuracy[(train_steps <= test_curve.step[best_at])][-50:]
    recent = train_accuracy[-50:]
    if len(around_best) == 0 or recent.mean() - around_best.mean() < OVERFIT_TRAIN_GAIN:
        return None
    l2 = 1e-4 if config.l2 == 0 else _nice(config.l2 * 3)
    return Hint("overfitting",
                f"Overfitting: test accuracy fell from {best * 100:.1f} % to {now * 100:.1f} % while training "
                f"accuracy rose to {recent.mean() * 100:.1f} %. Weight decay (L2) pulls the weights back.",
                f"Set L2 to {format_number(l2)}", {"l2": l2})


def _inactive_units(learning, config) -> Hint | None:
    if learning is None or len(learning.inactive_fraction) == 0:
        return None
    latest = np.asarray(learning.inactive_fraction[-1], dtype=np.float64)
    layer = int(np.argmax(latest))
    share = float(latest[layer])
    if not share >= INACTIVE_SHARE:
        return None
    name = learning.hidden_names[layer] if layer < len(learning.hidden_names) else f"layer {layer + 1}"
    lr = config.lr
    if config.activation == "relu":
        changes = {"lr": _nice(lr * 0.3)}
        if config.init not in ("he", "auto"):
            changes["init"] = "he"
        return Hint("dead_units",
                    f"Dead units: {share * 100:.0f} % of {name}'s ReLU units output 0 for every probe digit, so "
                    f"they no longer learn. A lower learning rate (or He initialisation) keeps them alive.",
                    f"Lower learning rate to {format_number(_nice(lr * 0.3))}"
                    + (" and use He init" if "init" in changes else ""), changes)
    return Hint("saturated_units",
                f"Saturated units: {share * 100:.0f} % of {name}'s {config.activation} units sit at the flat ends "
                f"of the curve, where their gradient is almost 0. Smaller steps keep them in the middle.",
                f"Lower learning rate to {format_number(_nice(lr * 0.3))}", {"lr": _nice(lr * 0.3)})


def _tiny_updates(learning, config) -> Hint | None:
    if learning is None or len(learning.update_ratios) < 8:
        return None
    recent = np.asarray(learning.update_ratios[-8:], dtype=np.float64)
    ratio = float(np.median(recent))
    if not 0 < ratio < TINY_UPDATE_RATIO:
        return None
    lr = config.lr
    return Hint("tiny_updates",
                f"Updates tiny: each step changes the weights by about {ratio:.1e} of their size (around 1e-3 "
                f"is typical). The learning rate ({format_number(lr)}) may be too small.",
                f"Raise learning rate to {format_number(_nice(lr * 3))}", {"lr": _nice(lr * 3)})


def _diverged(diverged: str | None, config) -> Hint | None:
    """The trainer stopped a run whose loss exploded; its message has the figure (the loss and
    the step). An order of magnitude lower is the usual cure."""
    if not diverged:
        return None
    lr = _nice(config.lr * 0.1)
    return Hint("diverged", f"{diverged} Try a learning rate ten times lower.",
                f"Lower learning rate to {format_number(lr)}", {"lr": lr})


def hints(train_curve, test_curve, learning, config, step: int) -> tuple[Hint, ...]:
    """The hints that apply now to a run at ``step`` (a snapshot's curves, ``learning`` and
    ``config``)."""
    if step < MIN_STEPS:
        return ()
    found = (_loss_rising(train_curve, config), _overfitting(train_curve, test_curve, config),
             _inactive_units(learning, config), _tiny_updates(learning, config))
    return tuple(h for h in found if h is not None)


def snapshot_hints(snapshot) -> tuple[Hint, ...]:
    """The hints for a snapshot; a diverged run gets that hint alone (its curves stop there)."""
    diverged = _diverged(snapshot.diverged, snapshot.config)
    if diverged is not None:
        return (diverged,)
    return hints(snapshot.train_curve, snapshot.test_curve, snapshot.learning, snapshot.config, snapshot.step)
