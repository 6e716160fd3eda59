"""The trainer: advances training in small chunks and hands out immutable snapshots.

A GUI thread may read any snapshot while training goes on, because a snapshot holds only copies
(or arrays that are never written again). Learning rate, momentum and batch size can change
between chunks; structural settings need a new trainer.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .augment import Augmentation, augment
from .config import ConfigError, TrainConfig, format_number, validate
from .data import ink_extents
from .fast.alongside import EvaluationsAlongside, copy_limit, spare_core
from .fast.batches import BatchGatherer, evaluate_in_ink_order
from .fast.blas import use_training_threads
from .history import Curve, MetricHistory, SeriesHistory
from .inspection import (
    ActivationMap,
    DigitDetail,
    LearningStats,
    activation_map,
    digit_detail,
    inactive_fractions,
    inactive_label,
    layer_names,
    map_features,
    weight_histograms,
)
from .network import Network
from .optimizers import make_optimizer

if TYPE_CHECKING:  # nn.data imports scikit-learn, slow to load; the GUI must not wait for it to show a window
    from .data import Dataset

EVAL_BUDGET = 0.10  # test evaluation may cost at most this share of training time
# Evaluated beside training (see run), an evaluation's cost is the spare core's: this share of
# training time, in CPU time of the evaluating thread.
EVAL_BUDGET_ALONGSIDE = 0.25
# An evaluation beside training still running after this long had no core to spare: it is made
# in place instead (see nn.fast.alongside).
STARVED_S = 0.5
MIN_EVAL_INTERVAL_S = 0.2  # ... and runs at most this often
# Besides, a test evaluation after each of these steps, spaced geometrically (1, 2, 3, 4, 6, 8,
# 11, 16, 23, 32, 45, 64): a network learns most in its first steps, where a time budget alone
# would leave the test curve a straight line. (Up to step 64: twelve points early, and then the
# budget's. Each of these is a whole test-set evaluation outside the budget: up to step 512, as
# before, they cost the first epoch about a third of its time on a slow machine.)
EARLY_EVALUATION_STEPS = frozenset(int(round(2 ** (k / 2))) for k in range(13))
MAX_PINS = 8
MAX_PIN_POINTS = 2048  # per pinned digit; older points are thinned out beyond this
STATS_EVERY = 8  # mini-batch steps between gradient-norm records (full batch: every step)
PROBE_BATCH = 500  # test digits on which dead/saturated units are counted
MAP_SAMPLE = 1000  # test digits in the PCA map
HISTOGRAM_INTERVAL_S = 1.0
_LOOK_UP = object()  # see Trainer._evaluate_split
_last_run_id = 0


def _next_run_id() -> int:
    global _last_run_id
    _last_run_id += 1
    return _last_run_id


def reserve_run_ids(up_to: int) -> None:
    """Make new runs' ids larger than ``up_to`` (ids of runs restored from a saved session)."""
    global _last_run_id
    _last_run_id = max(_last_run_id, int(up_to))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass
class _Window:
    """Training since the last snapshot: the running train loss and accuracy, and throughput
    (``seconds`` include test evaluations made in place, which are part of training's cost, and
    any wait for those made beside training)."""

    loss_sum: float = 0.0
    correct: int = 0
    samples: int = 0
    seconds: float = 0.0

    def add(self, loss: float, correct: int, n: int, seconds: float) -> None:
        self.loss_sum += loss * n
        self.correct += correct
        self.samples += n
        self.seconds += seconds

    @property
    def mean_loss(self) -> float | None:
        return self.loss_sum / self.samples if self.samples else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.samples if self.samples else None

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Evaluation:
    """The network's outputs on a whole split at one moment. Arrays are read-only."""

    step: int
    samples_seen: int
    loss: float
    accuracy: float
    probs: np.ndarray  # (n, classes) softmax outputs
    predictions: np.ndarray  # (n,) argmax
    confidences: np.ndarray  # (n,) probability of the predicted class
    class_mean_probs: np.ndarray  # (classes, classes): row t = mean softmax over samples of class t

    @classmethod
    def from_probs(cls, step, samples_seen, loss, accuracy, probs, labels, n_classes) -> "Evaluation":
        predictions = probs.argmax(axis=1)
        confidences = probs[np.arange(len(probs)), predictions]
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        class_mean = class_sums(probs, labels, n_classes) / np.maximum(counts, 1)[:, None]
        return cls(step, samples_seen, float(loss), float(accuracy), _frozen(probs), _frozen(predictions),
                   _frozen(confidences), _frozen(class_mean))


def class_sums(probs: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(classes, classes) float64: row t is the sum of ``probs`` over the rows labelled t. (As
    ``np.add.at(sums, labels, probs)``, which is slow: the rows sorted by label, summed per run.)"""
    sums = np.zeros((n_classes, probs.shape[1]))
    if len(labels) == 0:
        return sums
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    present = np.flatnonzero(np.bincount(labels, minlength=n_classes))
    starts = np.searchsorted(ordered, present)
    sums[present] = np.add.reduceat(probs[order].astype(np.float64), starts, axis=0)
    return sums


@dataclass(frozen=True)
class Event:
    """A live hyperparameter change, to be marked on the curves."""

    step: int
    samples_seen: int
    text: str  # e.g. "lr 0.1 -> 0.03"


@dataclass(frozen=True)
class PinCurve:
    """How sure the network was of a pinned test digit's true class, at each test evaluation."""

    index: int  # into the test set; negative for a drawn digit
    label: int
    samples: np.ndarray
    true_class_prob: np.ndarray
    image: np.ndarray | None = None  # a drawn digit's input (features,); None for test digits


@dataclass(frozen=True)
class Snapshot:
    run_id: int  # distinct for every Trainer in this process: tells one run's snapshots from the next's
    config: TrainConfig
    layer_sizes: tuple[int, ...]
    image_shape: tuple[int, ...]
    n_train: int
    step: int
    epoch: float  # samples seen / training set size
    samples_seen: int
    train_seconds: float
    samples_per_s: float  # over the chunks since the previous snapshot
    progress: float  # 0..1 of the configured run
    finished: bool
    diverged: str | None
    train_loss: float | None  # running mean over the batches since the previous snapshot
    train_accuracy: float | None
    test: Evaluation | None  # the latest test evaluation
    train_curve: Curve
    test_curve: Curve
    events: tuple[Event, ...]
    probe_indices: tuple[int, ...]
    probe_probs: np.ndarray  # (len(probe_indices), classes)
    first_layer_weights: np.ndarray  # (units, features) copy
    seconds_to_98: float | None  # training seconds until a test evaluation first reached 98 %
    pins: tuple[PinCurve, ...] = ()
    train_evaluation: Evaluation | None = None  # the latest on-demand evaluation of the training set
    learning: LearningStats | None = None  # gradient norms, update ratios, dead units, histograms
    probe_detail: DigitDetail | None = None  # pixels -> hidden layers -> softmax for the first probe
    drawn: DigitDetail | None = None  # the same for the digit drawn on the pad, if any
    activation_map: ActivationMap | None = None  # the latest PCA map of the last hidden layer
    class_names: tuple[str, ...] = ()  # what to call each class (the data's names, or digits)

    @property
    def planned_samples(self) -> float:
        """Samples seen when the configured run ends (at the current batch size)."""
        if self.config.iterations is None:
            return float(self.config.epochs * self.n_train)
        batch = self.n_train if self.config.batch_size is None else min(self.config.batch_size, self.n_train)
        return float(self.samples_seen + max(0, self.config.iterations - self.step) * batch)

    @property
    def eta_seconds(self) -> float | None:
        if self.progress <= 0 or self.finished or self.train_seconds <= 0:
            return None
        return self.train_seconds * (1 - self.progress) / self.progress


@dataclass(frozen=True)
class _TestRequest:
    """A test evaluation asked for: of which moment, and what it includes besides the test set."""

    step: int
    samples_seen: int
    train_seconds: float
    rows: tuple | None  # the test set in ink order (see Trainer._ink_sorted_rows), or None
    drawn: tuple  # the pinned drawings, (input, label) each
    histograms: bool  # also the weight histograms
    budgeted: bool


@dataclass(frozen=True)
class _TestResult:
    request: _TestRequest
    evaluation: Evaluation
    inactive: np.ndarray | None  # per hidden layer, the share of dead or saturated units
    drawn: tuple[float, ...]  # each of the request's drawings' true-class probability
    histograms: tuple | None


class Trainer:
    def __init__(self, dataset: "Dataset", config: TrainConfig, probe_indices: Sequence[int] = ()):
        validate(config, dataset.n_features, dataset.n_classes, len(dataset.train_y))
        use_training_threads()
        self.dataset = dataset
        self.config = config
        self.run_id = _next_run_id()
        self.layer_sizes = config.layer_sizes(dataset.n_features, dataset.n_classes)
        # Mini-batches hold only the inputs that are nonzero somewhere in the training set, cut
        # after the last column any of their images inks (see nn.fast.batches).
        active = dataset.active_pixels()
        self._active_columns = active.columns
        self.net = Network.initialized(self.layer_sizes, config.activation, config.init, config.seed,
                                       config.dtype, active_inputs=active.columns)
        self.optimizer = make_optimizer(config.optimizer, self.net.storage.params, config.lr, config.momentum)
        self.train_Y, self.test_x, self.test_Y = dataset.targets_and_test(config.dtype)
        if self.net.storage.layout is not None:
            self._batches = BatchGatherer(active.pixels, active.extents, self.train_Y, config.dtype)
        else:
            pixels = dataset.train_images.reshape(len(dataset.train_y), -1)
            self._batches = BatchGatherer(pixels, None, self.train_Y, config.dtype)
        self.train_y, self.test_y = dataset.train_y, dataset.test_y
        self.n_train = len(self.train_y)
        # Data order has its own stream, so reshuffling never disturbs the initial weights' seed.
        self.rng = np.random.default_rng(config.seed)
        self.order: np.ndarray | None = None
        self.position = 0  # next index into self.order within the current epoch
        self.step_count = 0
        self.samples_seen = 0
        self.train_seconds = 0.0
        self.eval_seconds = 0.0
        self.train_history = MetricHistory()
        self.test_history = MetricHistory(capacity=1024)
        self.events: list[Event] = []
        self.diverged: str | None = None
        self.last_test: Evaluation | None = None
        self.seconds_to_98: float | None = None
        self._last_eval_time = -math.inf
        self._last_eval_cost = 0.0
        self._unbudgeted_eval_seconds = 0.0  # the first evaluation's and the early steps'
        self._alongside: EvaluationsAlongside | None = None  # evaluations beside training, see run
        self._sorted_rows: dict[str, tuple] = {}  # see _ink_sorted_rows
        self._window = _Window()  # training since the last snapshot
        # Cross-entropy is computed stably, so a runaway network rarely reaches NaN: its loss
        # climbs to 1e10 instead. 10x the loss of a uniform guess (23 nats for 10 classes, i.e.
        # the true class gets e^-23 on average) is far beyond a healthy run, so it counts too.
        self.divergence_loss = 10 * math.log(dataset.n_classes)
        self.probe_indices: tuple[int, ...] = ()
        self.set_probes(probe_indices)
        self.pins: tuple[int, ...] = ()
        self._pin_points: dict[int, list[tuple[int, float]]] = {}
        self.drawn_pins: list[tuple[np.ndarray, int]] = []  # (input, label) of pinned drawings
        self.last_train_eval: Evaluation | None = None
        # Looking inside: curves of how learning goes, per layer.
        self.initial_weights = [w.copy() for w in self.net.weights]
        n_layers, n_hidden = self.net.n_layers, max(1, self.net.n_layers - 1)
        self.gradient_history = SeriesHistory(n_layers)
        self.update_history = SeriesHistory(n_layers)
        self.inactive_history = SeriesHistory(n_hidden)
        self._histograms = weight_histograms(self.net.weights, self.initial_weights)
        self._histograms_time = -math.inf
        self.drawn_input: np.ndarray | None = None
        self.last_map: ActivationMap | None = None
        self._ink_sorted_rows("test")  # now, not in the first evaluation (or a training process: see there)

    @property
    def train_x(self) -> np.ndarray:
        """The whole training set as rows (full-batch steps, training-set evaluations); made
        when first needed, as mini-batches are gathered from the uint8 images."""
        return self.dataset.train_inputs(self.config.dtype)

    # -- live hyperparameters -----------------------------------------------------------------
    def _record(self, name: str, old, new) -> None:
        self.events.append(Event(self.step_count, self.samples_seen,
                                 f"{name} {format_number(old) if old is not None else 'full'} -> "
                                 f"{format_number(new) if new is not None else 'full'}"))

    def set_lr(self, lr: float) -> None:
        validate(self.config.replace(lr=float(lr)))
        if float(lr) != self.config.lr:
            self._record("lr", self.config.lr, float(lr))
            self.config = self.config.replace(lr=float(lr))
            self.optimizer.lr = float(lr)

    def set_momentum(self, momentum: float) -> None:
        validate(self.config.replace(momentum=float(momentum)))
        if float(momentum) != self.config.momentum:
            self._record("momentum", self.config.momentum, float(momentum))
            self.config = self.config.replace(momentum=float(momentum))
            if hasattr(self.optimizer, "momentum"):
                self.optimizer.momentum = float(momentum)

    def set_dropout(self, rate: float) -> None:
        validate(self.config.replace(dropout=float(rate)))
        if float(rate) != self.config.dropout:
            self._record("dropout", self.config.dropout, float(rate))
            self.config = self.config.replace(dropout=float(rate))

    def set_augmentation(self, shift: int, rotation: float, noise: float) -> None:
        """Shifts (pixels), rotations (degrees) and noise for the training batches from now on."""
        changes = {"augment_shift": int(shift), "augment_rotation": float(rotation), "augment_noise": float(noise)}
        candidate = self.config.replace(**changes)
        validate(candidate, self.dataset.n_features, self.dataset.n_classes, self.n_train)
        for name, label in (("augment_shift", "shift"), ("augment_rotation", "rotation"), ("augment_noise", "noise")):
            if getattr(candidate, name) != getattr(self.config, name):
                self._record(label, getattr(self.config, name), getattr(candidate, name))
        self.config = candidate

    def set_lr_decay(self, decay: float) -> None:
        validate(self.config.replace(lr_decay=float(decay)))
        if float(decay) != self.config.lr_decay:
            self._record("lr decay", self.config.lr_decay, float(decay))
            self.config = self.config.replace(lr_decay=float(decay))

    @property
    def current_lr(self) -> float:
        """The learning rate in effect now: the configured one, decayed per epoch if asked."""
        if self.config.lr_decay == 1:
            return self.config.lr
        return self.config.lr * self.config.lr_decay ** (self.samples_seen / self.n_train)

    def set_batch_size(self, batch_size: int | None) -> None:
        candidate = self.config.replace(batch_size=batch_size)
        validate(candidate, self.dataset.n_features, self.dataset.n_classes, self.n_train)
        if batch_size != self.config.batch_size:
            self._record("batch", self.config.batch_size, batch_size)
            self.config = candidate

    def set_run_length(self, epochs: float | None = None, iterations: int | None = None) -> None:
        self.config = validate(self.config.replace(epochs=epochs, iterations=iterations))

    def set_probes(self, indices: Sequence[int]) -> None:
        indices = tuple(int(i) for i in indices)
        for i in indices:
            if not 0 <= i < len(self.test_y):
                raise ConfigError(f"digit index {i} is outside the test set (0-{len(self.test_y) - 1})")
        self.probe_indices = indices

    def set_pins(self, indices: Sequence[int]) -> None:
        """Track these test digits' true-class probability at every test evaluation (at most 8)."""
        indices = tuple(dict.fromkeys(int(i) for i in indices))
        if len(indices) + len(getattr(self, "drawn_pins", ())) > MAX_PINS:
            raise ConfigError(f"at most {MAX_PINS} digits can be pinned, got {len(indices)} "
                              f"and {len(self.drawn_pins)} drawn")
        for i in indices:
            if not 0 <= i < len(self.test_y):
                raise ConfigError(f"digit index {i} is outside the test set (0-{len(self.test_y) - 1})")
        self._pin_points = {i: self._pin_points.get(i, []) for i in indices}
        self.pins = indices
        # (with an evaluation running beside training, its result gives new pins their first point)
        if self.last_test is not None and not self._evaluation_running():
            for i in indices:
                if not self._pin_points[i]:
                    self._record_pin(i, self.last_test)

    def _record_pin(self, index: int, evaluation: Evaluation) -> None:
        points = self._pin_points[index]
        points.append((evaluation.samples_seen, float(evaluation.probs[index, self.test_y[index]])))
        if len(points) > MAX_PIN_POINTS:
            del points[1::2]  # keep the curve's shape with half the points

    # -- progress -----------------------------------------------------------------------------
    @property
    def epoch(self) -> float:
        return self.samples_seen / self.n_train

    @property
    def progress(self) -> float:
        if self.config.iterations is not None:
            return min(1.0, self.step_count / self.config.iterations)
        return min(1.0, self.samples_seen / (self.config.epochs * self.n_train))

    @property
    def finished(self) -> bool:
        return self.progress >= 1.0

    @property
    def can_step(self) -> bool:
        return self.diverged is None

    # -- training -----------------------------------------------------------------------------
    def _next_batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(inputs, one-hot targets, labels, and for compact rows their extents; see _gather)."""
        if self.config.batch_size is None or self.config.batch_size >= self.n_train:
            if self.order is not None and 0 < self.position < self.n_train:
                # switched to full batch mid-epoch: first finish the epoch's remainder
                return self._gather(self.n_train - self.position)
            self.order, self.position = None, 0
            return self.train_x, self.train_Y, self.train_y, None
        return self._gather(self.config.batch_size)

    def _gather(self, size: int):
        if self.order is None or self.position >= self.n_train:
            self.order = self.rng.permutation(self.n_train)
            self.position = 0
        size = min(size, self.n_train - self.position)
        if self.config.epochs is not None:  # stop exactly at a fractional epoch count
            remaining = int(round(self.config.epochs * self.n_train)) - self.samples_seen
            size = max(1, min(size, remaining))
        idx = self.order[self.position: self.position + size]
        self.position += size
        if self.config.augmented:  # whole images, moved: the ink may leave the usual pixels
            config = self.config
            augmentation = Augmentation(config.augment_shift, config.augment_rotation, config.augment_noise)
            x = augment(self.dataset.train_images[idx], self.rng, augmentation, self.net.dtype)
            return x, self.train_Y[idx], self.train_y[idx], None
        x, Y, idx, extents = self._batches.gather(idx)
        return x, Y, self.train_y[idx], extents

    def _dropout_masks(self, n: int) -> list[np.ndarray] | None:
        """One mask per hidden layer for this step: 0 for a dropped unit, 1 / keep for a kept one."""
        rate = self.config.dropout
        if rate == 0 or self.net.n_layers < 2:
            return None
        keep = 1.0 - rate
        scale = self.net.dtype.type(1 / keep)
        return [(self.rng.random((n, units), dtype=np.float32) < keep) * scale for units in self.layer_sizes[1:-1]]

    def step(self) -> float | None:
        """One iteration (one batch). Returns the batch loss, or None if training cannot go on."""
        if not self.can_step:
            return None
        started = time.perf_counter()
        x, Y, labels, extents = self._next_batch()
        n = x.shape[0]
        whole = x is self.dataset.train_inputs(self.config.dtype) if n == self.n_train else False
        record = whole or (self.step_count + 1) % STATS_EVERY == 0
        self.optimizer.lr = self.current_lr
        # Between statistics records (which need the gradient itself), momentum and plain descent
        # make their update inside backprop's products (see SGD.gradient_target).
        stored = self.net.storage
        target = None if record else self.optimizer.gradient_target(stored.params)
        with np.errstate(all="ignore"):  # divergence is detected below; no warning floods
            loss, correct = self.net.loss_and_gradients(x, Y, labels, self.config.l2, target=target,
                                                        max_loss=self.divergence_loss, extents=extents,
                                                        dropout=self._dropout_masks(n))
            exploded = not loss <= self.divergence_loss  # (or NaN): then no gradient was written
            if not exploded and target is not None:
                self.optimizer.finish_step(stored.params)
            elif not exploded:
                before = self._gradient_norms() if record else None
                self.optimizer.step(stored.params, stored.grads)
                if record:
                    self._record_update(*before, n)
        if whole:
            self.position = 0
        elif self.position >= self.n_train:
            self.order = None  # the epoch is complete; reshuffle at the next batch
        elapsed = time.perf_counter() - started
        self.train_seconds += elapsed
        if exploded:
            what = (f"became {'NaN' if math.isnan(loss) else 'infinite'}" if not math.isfinite(loss)
                    else f"exploded to {loss:.3g}")
            self.diverged = (
                f"Training diverged at step {self.step_count + 1}: the loss {what} with learning rate "
                f"{format_number(self.config.lr)}. Lower the learning rate and press Reset."
            )
            return None
        self.step_count += 1
        self.samples_seen += n
        accuracy = correct / n
        self.train_history.add(self.step_count, self.samples_seen, loss, accuracy, n)
        self._window.add(loss, correct, n, elapsed)
        return loss

    def _gradient_norms(self) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Per-layer gradient norms, and copies of the weights to measure the update by, unless
        the optimiser keeps the update itself. Called before the optimiser step, which scales
        the gradients in place."""
        grads = self.net.storage.grads  # (norms are the same in any storage layout)
        norms = np.array([math.sqrt(float(np.vdot(grads[2 * i], grads[2 * i]))
                                    + float(np.vdot(grads[2 * i + 1], grads[2 * i + 1])))
                          for i in range(self.net.n_layers)])
        # Momentum's velocity is its update, plain SGD's scaled gradient is: no copy needed
        # (copying every weight is a noticeable share of a mini-batch epoch).
        weights = self.net.storage.weights
        return norms, None if self.optimizer.keeps_updates else [w.copy() for w in weights]

    def _record_update(self, norms: np.ndarray, weights_before: list[np.ndarray] | None, n: int) -> None:
        if weights_before is None:
            changes = self.optimizer.last_updates()[0::2]
        else:
            changes = weights_before
            for w, w0 in zip(self.net.storage.weights, weights_before):
                w0 -= w  # w0 now holds -(the update)
        ratios = [math.sqrt(float(np.vdot(change, change))) / max(math.sqrt(float(np.vdot(w, w))), 1e-30)
                  for change, w in zip(changes, self.net.storage.weights)]
        samples = self.samples_seen + n
        self.gradient_history.add(samples, norms)
        self.update_history.add(samples, np.array(ratios))

    def run(self, max_steps: int | None = None, max_seconds: float | None = None,
            evaluate_alongside: bool = False) -> int:
        """Train until ``max_steps`` steps or ``max_seconds`` have passed, the run is finished, or
        training diverged; test evaluations happen along the way on their budget. Returns steps done.

        ``evaluate_alongside``: run those evaluations in a thread beside the steps, on a copy of
        the parameters, where the machine has a core to spare (``nn.fast.alongside``). Their
        results are recorded as they finish, in order; any still running when this returns are
        recorded by the next ``run``, by :meth:`evaluate_test` or by :meth:`settle_evaluations`.
        The numbers are the same either way, and training is too.
        """
        alongside = evaluate_alongside and spare_core()
        started = time.perf_counter()
        done = 0
        self._take_finished_evaluations()
        while not self.finished and self.can_step:
            if max_steps is not None and done >= max_steps:
                break
            if max_seconds is not None and done > 0 and time.perf_counter() - started >= max_seconds:
                break
            self.step()
            done += 1 if self.can_step else 0
            self._take_finished_evaluations()
            if self.finished:
                self.evaluate_test()
            elif self._evaluation_due(alongside):
                # The first evaluation and the early ones come many to a second, more than a
                # spare core (in the app: the window's) can take: they are evaluated in place.
                early = self.last_test is None or self.step_count in EARLY_EVALUATION_STEPS
                if not early and self._evaluation_running():
                    self.settle_evaluations()  # (starved: made in place now)
                elif alongside and not early and self._thread_free():
                    self._evaluate_alongside()
                else:
                    self.evaluate_test()
        if not alongside:
            self.settle_evaluations()
        return done

    def _evaluation_due(self, alongside: bool = False) -> bool:
        asked = self._newest_evaluation_step()
        if asked == self.step_count:
            return False
        if asked is None or self.step_count in EARLY_EVALUATION_STEPS:
            return True
        if self._evaluation_running():
            return self._alongside.running_longer_than(STARVED_S)  # past the early points, one at a time
        if time.perf_counter() - self._last_eval_time < MIN_EVAL_INTERVAL_S:
            return False
        # The first evaluation pays one-time costs (buffers, caches) and the early steps' are
        # extra: leave both out of the budget, or they would silence the test curve for seconds.
        cost = self.eval_seconds - self._unbudgeted_eval_seconds + self._last_eval_cost
        if cost <= EVAL_BUDGET * self.train_seconds:
            return True
        # (where no thread may run, evaluations are made in place: the in-place budget above)
        return alongside and cost <= EVAL_BUDGET_ALONGSIDE * self.train_seconds and self._thread_free()

    def _evaluation_running(self) -> bool:
        """Whether a test evaluation asked for beside training is still to be recorded."""
        return self._alongside is not None and self._alongside.pending

    def _thread_free(self) -> bool:
        """Whether an evaluation may start beside training now."""
        return self._alongside is None or self._alongside.has_room

    def _newest_evaluation_step(self) -> int | None:
        """The step of the newest test evaluation, recorded or still running."""
        if self._evaluation_running():
            return self._alongside.pending_context.step
        return None if self.last_test is None else self.last_test.step

    def evaluate_test(self, budgeted: bool = True) -> Evaluation:
        """Evaluate on the whole test set now (skipped if nothing changed since the last one).
        ``budgeted=False``: an evaluation asked for besides the schedule (after a single step, or
        while the app trains in slow motion) leaves the scheduled ones' time budget alone."""
        self.settle_evaluations()
        if self.last_test is not None and self.last_test.step == self.step_count:
            return self.last_test
        started = time.perf_counter()
        measured = self._measure_test(self.net, self._test_request())
        finished = time.perf_counter()
        self._record_test(measured, finished - started, finished, budgeted=budgeted, in_place=True)
        self.train_seconds += finished - started
        self._window.seconds += finished - started
        return self.last_test

    def _evaluate_alongside(self) -> None:
        """Ask for a test evaluation of the parameters as they are now, in the thread beside."""
        started = time.perf_counter()
        if self._alongside is None:
            self._alongside = EvaluationsAlongside(self._network_copy, self._copy_parameters,
                                                   copy_limit(self.net.storage.flat_params.nbytes))
        self._alongside.submit(self._measure_test, self._test_request())
        elapsed = time.perf_counter() - started  # copying the parameters
        self.train_seconds += elapsed
        self._window.seconds += elapsed

    def settle_evaluations(self) -> None:
        """Record the test evaluation running beside training now: as the thread made it if it
        is done, else made in place from the same parameters."""
        if not self._evaluation_running():
            return
        started = time.perf_counter()
        self._record_evaluation(self._alongside.take())
        elapsed = time.perf_counter() - started
        self.train_seconds += elapsed
        self._window.seconds += elapsed

    def _take_finished_evaluations(self) -> None:
        if self._evaluation_running():
            finished = self._alongside.finished()
            if finished is not None:
                self._record_evaluation(finished)

    def _record_evaluation(self, evaluation) -> None:
        """Record an evaluation made beside training (or taken over), or raise its error."""
        if evaluation.error is not None:
            raise evaluation.error
        self._record_test(evaluation.result, evaluation.seconds, evaluation.finished_at,
                          budgeted=evaluation.context.budgeted, in_place=evaluation.made_here)

    def _test_request(self, budgeted: bool = True) -> "_TestRequest":
        """What a test evaluation of this moment needs besides the network, fixed now: the
        evaluation itself may run later, beside training."""
        histograms = time.perf_counter() - self._histograms_time >= HISTOGRAM_INTERVAL_S
        if histograms:
            self._histograms_time = time.perf_counter()
        return _TestRequest(self.step_count, self.samples_seen, self.train_seconds, self._ink_sorted_rows("test"),
                            tuple(self.drawn_pins), histograms, budgeted)

    def _measure_test(self, net: Network, request: "_TestRequest") -> "_TestResult":
        """Evaluate ``net`` (the trainer's own network, or a copy of it in another thread) on
        the test set: reads the network, the data and ``request``, and writes nothing else."""
        with np.errstate(all="ignore"):
            loss, accuracy, probs = self._evaluate_split("test", net, request.rows)
            evaluation = Evaluation.from_probs(request.step, request.samples_seen, loss, accuracy, probs,
                                               self.test_y, self.dataset.n_classes)
            inactive = inactive_fractions(net, self.test_x[:PROBE_BATCH]) if net.n_layers > 1 else None
            drawn = tuple(float(net.predict_proba(image[None, :])[0, label]) for image, label in request.drawn)
            histograms = weight_histograms(net.weights, self.initial_weights) if request.histograms else None
        return _TestResult(request, evaluation, inactive, drawn, histograms)

    def _record_test(self, result: "_TestResult", seconds: float, finished_at: float, budgeted: bool,
                     in_place: bool) -> None:
        evaluation = self.last_test = result.evaluation
        if self.seconds_to_98 is None and evaluation.accuracy >= 0.98:
            # training time at the evaluated step, and the evaluation's own where it held training up
            self.seconds_to_98 = result.request.train_seconds + (seconds if in_place else 0.0)
        self.test_history.add(evaluation.step, evaluation.samples_seen, evaluation.loss, evaluation.accuracy, 1)
        for i in self.pins:
            self._record_pin(i, evaluation)
        if result.inactive is not None:
            self.inactive_history.add(evaluation.samples_seen, result.inactive)
        for k, pin in enumerate(self.drawn_pins):
            points = self._pin_points.setdefault(-1 - k, [])
            for asked, prob in zip(result.request.drawn, result.drawn):
                # (a drawing pinned after the evaluation was asked for has a newer first point)
                if asked is pin and (not points or points[-1][0] < evaluation.samples_seen):
                    points.append((evaluation.samples_seen, prob))
        if result.histograms is not None:
            self._histograms = result.histograms
        if not budgeted or self.eval_seconds == 0 or evaluation.step in EARLY_EVALUATION_STEPS:
            self._unbudgeted_eval_seconds += seconds
        self.eval_seconds += seconds
        self._last_eval_cost = seconds
        self._last_eval_time = finished_at

    def _network_copy(self) -> Network:
        """A network of this one's structure and storage layout, sharing nothing with it."""
        return Network(self.layer_sizes, self.config.activation, self.net.params, self.config.dtype,
                       active_inputs=self._active_columns)

    def _copy_parameters(self, copy: Network, source: Network | None = None) -> None:
        np.copyto(copy.storage.flat_params, (source or self.net).storage.flat_params)

    def evaluate_train(self) -> Evaluation:
        """Evaluate on the whole training set now (on demand: it is six times the test set)."""
        if self.last_train_eval is not None and self.last_train_eval.step == self.step_count:
            return self.last_train_eval
        with np.errstate(all="ignore"):
            loss, accuracy, probs = self._evaluate_split("train")
        self.last_train_eval = Evaluation.from_probs(self.step_count, self.samples_seen, loss, accuracy, probs,
                                                     self.train_y, self.dataset.n_classes)
        return self.last_train_eval

    def _evaluate_split(self, split: str, net: Network | None = None,
                        rows: object = _LOOK_UP) -> tuple[float, float, np.ndarray]:
        """(mean loss, accuracy, softmax outputs) of ``net`` (the trainer's own by default) on
        the whole training or test set; ``rows``: :meth:`_ink_sorted_rows` of the split, if
        already looked up (another thread may not: the lookup fills a cache).

        With an input layout, the rows go through the network in the order of their ink's
        extent, in blocks each only as wide as its rows need (see nn.fast.batches): the test
        curve gets more points for the same share of training time.
        """
        net = self.net if net is None else net
        labels = self.test_y if split == "test" else self.train_y
        rows = self._ink_sorted_rows(split) if rows is _LOOK_UP else rows
        if rows is None:
            return net.evaluate(self.test_x if split == "test" else self.train_x, labels)
        return evaluate_in_ink_order(net, *rows, labels)

    def _ink_sorted_rows(self, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(uint8 pixels in the network's internal input order, the rows' order by extent, the
        extents) of a split, worked out once; None without an InputLayout."""
        layout = self.net.storage.layout
        if layout is None:
            return None
        cached = self._sorted_rows.get(split)
        if cached is None or cached[0] is not layout:
            if split == "train":  # inputs past the active ones are zero in every training image
                active = self.dataset.active_pixels()
                pixels, extents = active.pixels, active.extents
            else:
                flat = self.dataset.test_images.reshape(len(self.test_y), -1)
                pixels = np.take(flat, layout.order, axis=1)
                extents = ink_extents(pixels)
            cached = self._sorted_rows[split] = (layout, pixels, np.argsort(extents, kind="stable"), extents)
        return cached[1:]

    def _pin_curves(self) -> tuple[PinCurve, ...]:
        curves = []
        for i in self.pins:
            points = np.array(self._pin_points[i], dtype=np.float64).reshape(-1, 2)
            curves.append(PinCurve(i, int(self.test_y[i]), _frozen(points[:, 0].copy()), _frozen(points[:, 1].copy())))
        for k, (image, label) in enumerate(self.drawn_pins):
            points = np.array(self._pin_points.get(-1 - k, []), dtype=np.float64).reshape(-1, 2)
            curves.append(PinCurve(-1 - k, label, _frozen(points[:, 0].copy()), _frozen(points[:, 1].copy()),
                                   _frozen(image.copy())))
        return tuple(curves)

    # -- looking inside ---------------------------------------------------------------------------
    def set_drawn_input(self, image: np.ndarray | None) -> None:
        """The digit drawn on the pad (features,), or None: snapshots carry its detail."""
        if image is not None:
            image = np.asarray(image, dtype=self.net.dtype).reshape(-1)
            if image.shape != (self.dataset.n_features,):
                raise ConfigError(f"a drawing must have {self.dataset.n_features} pixels, got {image.size}")
        self.drawn_input = image

    def pin_drawn(self, image: np.ndarray, label: int) -> None:
        """Track a drawn digit's true-class probability like a pinned test digit."""
        image = np.asarray(image, dtype=self.net.dtype).reshape(-1)
        if image.shape != (self.dataset.n_features,):
            raise ConfigError(f"a drawing must have {self.dataset.n_features} pixels, got {image.size}")
        if not 0 <= int(label) < self.dataset.n_classes:
            raise ConfigError(f"class {label} is outside 0-{self.dataset.n_classes - 1}")
        if len(self.pins) + len(self.drawn_pins) >= MAX_PINS:
            raise ConfigError(f"at most {MAX_PINS} digits can be pinned; unpin one first")
        self.drawn_pins.append((image.copy(), int(label)))
        if self.last_test is not None:
            prob = float(self.net.predict_proba(image[None, :])[0, int(label)])
            self._pin_points[-len(self.drawn_pins)] = [(self.samples_seen, prob)]

    def unpin_drawn(self, pin_id: int) -> None:
        """Remove the drawn pin ``pin_id`` (-1 for the first, -2 for the second, ...)."""
        k = -1 - int(pin_id)
        if not 0 <= k < len(self.drawn_pins):
            raise ConfigError(f"no drawn pin {pin_id}")
        points = [self._pin_points.pop(-1 - j, []) for j in range(len(self.drawn_pins))]
        del self.drawn_pins[k], points[k]
        for j, p in enumerate(points):
            self._pin_points[-1 - j] = p

    def map_sample(self) -> np.ndarray:
        """The test digits every activation map shows: a fixed sample, the same in every run."""
        n = min(MAP_SAMPLE, len(self.test_y))
        return np.sort(np.random.default_rng(0).choice(len(self.test_y), size=n, replace=False))

    def compute_map(self) -> ActivationMap:
        """PCA of the last hidden layer on the map's sample of test digits."""
        indices = self.map_sample()
        with np.errstate(all="ignore"):
            self.last_map = activation_map(self.net, self.test_x[indices], indices, self.test_y[indices],
                                           self.step_count)
        return self.last_map

    def map_features(self) -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
        """(the map sample's indices, their last-hidden-layer activations, that layer's name,
        the predictions): the input of a t-SNE map (see nn.tsne)."""
        indices = self.map_sample()
        with np.errstate(all="ignore"):
            features, layer, predictions = map_features(self.net, self.test_x[indices])
        return indices, features, layer, predictions

    def learning_stats(self) -> LearningStats:
        g_x, g = self.gradient_history.arrays()
        _, u = self.update_history.arrays()
        i_x, i = self.inactive_history.arrays()
        names = layer_names(self.layer_sizes)
        return LearningStats(names, names[:-1], inactive_label(self.config.activation), g_x, g, u, i_x, i,
                             self._histograms)

    # -- snapshots ----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        window, self._window = self._window, _Window()
        if self.probe_indices:
            with np.errstate(all="ignore"):
                probe_probs = self.net.predict_proba(self.test_x[list(self.probe_indices)])
        else:
            probe_probs = np.zeros((0, self.dataset.n_classes), dtype=self.net.dtype)
        return Snapshot(
            run_id=self.run_id,
            config=self.config,
            layer_sizes=self.layer_sizes,
            image_shape=self.dataset.image_shape,
            n_train=self.n_train,
            step=self.step_count,
            epoch=self.epoch,
            samples_seen=self.samples_seen,
            train_seconds=self.train_seconds,
            samples_per_s=window.samples_per_s,
            progress=self.progress,
            finished=self.finished,
            diverged=self.diverged,
            train_loss=window.mean_loss,
            train_accuracy=window.accuracy,
            test=self.last_test,
            train_curve=self.train_history.curve(),
            test_curve=self.test_history.curve(),
            events=tuple(self.events),
            probe_indices=self.probe_indices,
            probe_probs=_frozen(probe_probs),
            first_layer_weights=_frozen(self.net.first_layer_weights()),
            seconds_to_98=self.seconds_to_98,
            pins=self._pin_curves(),
            train_evaluation=self.last_train_eval,
            learning=self.learning_stats(),
            probe_detail=self._detail(self.test_x[self.probe_indices[0]]) if self.probe_indices else None,
            drawn=self._detail(self.drawn_input) if self.drawn_input is not None else None,
            activation_map=self.last_map,
            class_names=self.dataset.class_names,
        )

    def _detail(self, x: np.ndarray) -> DigitDetail:
        with np.errstate(all="ignore"):
            return digit_detail(self.net, x)
