"""The training worker: a thin Qt adapter around :class:`nn.trainer.Trainer`.

It lives in its own ``QThread``. Commands arrive as queued slot calls and take effect between
chunks of at most ~30 ms of training. Snapshots leave at a bounded rate through a one-slot
mailbox: the worker never queues a second snapshot while the GUI has not taken the first, so
the GUI can never fall behind training, however slow a panel is.

Where it can (Linux), full-speed training runs in a forked process (:mod:`nn.training_process`),
so the window's drawing never competes with it for Python's GIL. While such a segment of
training runs, the worker only forwards: snapshot requests out, snapshots in. Every command that
touches the trainer first ends the segment, which brings its state into ``self.trainer``, and
training goes on in a new one; slow motion and single steps train in this thread.
"""

from __future__ import annotations

import enum
import functools
import threading
import time
import traceback

from PyQt6.QtCore import QObject, QSocketNotifier, QTimer, pyqtSignal, pyqtSlot

from nn.training_process import TrainingProcess, TrainingProcessError, TrainingServer
from nn.training_process import available as training_process_available

CHUNK_SECONDS = 0.03  # commands take effect within about this long (one step at the least)
SNAPSHOT_INTERVAL_S = 1 / 12  # at most 12 snapshots per second: smooth, and leaves the CPU to training
MAP_INTERVAL_S = 3.0  # the PCA map refreshes this often while training (and on demand)
MAP_SHARE = 0.05  # ... or less often, so that it takes at most 5 % of training time (wide layers)
SLOW_EVAL_INTERVAL_S = 0.25  # in slow motion, the test set is evaluated this often ...
SLOW_EVAL_MAX_RATE = 30.0  # ... at speeds up to this many steps a second (faster: as scheduled)
SEGMENT_START_DELAY_MS = 40  # Start: training goes over to its process this long after the window hears of it


class StepPace:
    """Slow motion: how many steps are due now to train at ``rate`` steps a second (0: full
    speed), and how long until the next one. A run that cannot keep up (a full-batch step may
    take longer than 1/rate) goes on at its own speed and never races to catch up later."""

    def __init__(self, clock=time.monotonic):
        self.rate = 0.0
        self._clock = clock
        self._next: float | None = None  # when the next step is due

    def set_rate(self, rate: float) -> None:
        self.rate = max(0.0, float(rate))
        self.restart()

    def restart(self) -> None:
        """Training (re)starts: the first step is due at once."""
        self._next = None

    def due(self) -> int:
        """Steps to take now: at most a chunk's worth (commands still get in between)."""
        now = self._clock()
        if self._next is None or now - self._next > 1.0:  # (fell behind: no burst to catch up)
            self._next = now
        if now < self._next:
            return 0
        return min(1 + int((now - self._next) * self.rate), max(1, int(self.rate * CHUNK_SECONDS)))

    def advance(self, steps: int) -> None:
        """``steps`` were taken: the next one is due 1/rate later."""
        if self._next is not None and steps:
            self._next += steps / self.rate

    def wait_s(self) -> float:
        return 0.0 if self._next is None else max(0.0, self._next - self._clock())


def _guarded(method):
    """Slot decorator: an exception reaches the user as an error signal, never kills the thread.
    A segment of training in its own process ends first (the command sees the trainer as it is),
    except for the commands that do not need the trainer (_KEEP_SEGMENT)."""

    keep_segment = method.__name__ in _KEEP_SEGMENT

    @functools.wraps(method)
    def wrapper(self, *args):
        try:
            if not keep_segment:
                self._settle()
            return method(self, *args)
        except Exception as exc:  # noqa: BLE001 - anything a command raises is shown; the app goes on
            self._report(exc)

    return wrapper


# Commands that leave a segment of training in its process running: they do not need the
# trainer, or, while it trains there, go to it there (_forward).
_KEEP_SEGMENT = frozenset({"rename_run", "set_run_hidden", "delete_run", "copy_network", "set_lr", "set_lr_decay",
                           "set_momentum", "set_dropout", "set_augmentation", "set_batch_size", "set_run_length",
                           "set_probes", "set_pins", "set_drawn_input"})


def _call_method(name: str, args: tuple, trainer) -> None:
    getattr(trainer, name)(*args)


def _timer_ms(wait_s: float) -> int:
    """A chunk-timer interval for a wait in seconds. A snapshot overdue (even 'at once', -inf,
    after a live change) is asked for at the next chunk; 2 ms leaves the GUI its events."""
    return max(2, round(1000 * max(0.0, wait_s)))


class MapRefresh:
    """Between two chunks of training: the PCA map of the last hidden layer, every
    MAP_INTERVAL_S, or less often so that it takes at most MAP_SHARE of training time. Plain
    values only: it goes to the training process with each segment."""

    def __init__(self, last: float = -float("inf"), cost_s: float = 0.0):
        self.last, self.cost_s = last, cost_s

    def __call__(self, trainer) -> None:
        if time.monotonic() - self.last >= max(MAP_INTERVAL_S, self.cost_s / MAP_SHARE):
            self.refresh(trainer)

    def refresh(self, trainer) -> None:
        """Now, whenever it was last done."""
        started = time.monotonic()
        trainer.compute_map()
        self.last = time.monotonic()
        self.cost_s = self.last - started


class State(enum.Enum):
    """What the worker is doing; the value is the text the status bar shows."""

    LOADING = "loading"
    IDLE = "idle"
    TRAINING = "training"
    PAUSED = "paused"
    FINISHED = "finished"
    DIVERGED = "diverged"
    NO_DATA = "no data"

    def __str__(self) -> str:
        return self.value


class TrainingWorker(QObject):
    data_loaded = pyqtSignal(object)  # nn.data.Dataset
    snapshot_available = pyqtSignal()  # take it with take_snapshot()
    state_changed = pyqtSignal(object)  # State
    error = pyqtSignal(str, str)  # one-line message, details (traceback) for the curious
    metrics_ready = pyqtSignal(object)  # dict, answer to report_metrics()
    config_applied = pyqtSignal(object)  # the TrainConfig of the trainer now in use
    saved = pyqtSignal(str, str, int)  # kind ("model" or "session"), path, step saved
    opened = pyqtSignal(str, str)  # kind ("model" or "session"), path
    runs_changed = pyqtSignal(object)  # tuple of nn.runs.RunRecord: earlier runs, to compare
    runs_imported = pyqtSignal(str, object)  # path, {"ok": n, "diverged": n, "failed": n}: answer to import_runs()
    map_features_ready = pyqtSignal(object)  # visualizer.tsne_map.MapFeatures, answer to map_features()
    pong = pyqtSignal(int)  # answer to ping(): every command queued before it has been handled
    network_copied = pyqtSignal(object)  # visualizer.network_copy.NetworkCopy, answer to copy_network()

    def __init__(self):
        super().__init__()
        self.dataset = None
        self.trainer = None
        self.state = State.LOADING
        self._timer: QTimer | None = None
        self._mailbox = None
        self._mailbox_lock = threading.Lock()
        self._last_emit = 0.0
        self._untaken_until = 0.0  # the GUI takes no snapshot before this (time.monotonic())
        self._probes: tuple[int, ...] = ()
        self._pins: tuple[int, ...] = ()
        self._drawn_pins: list[tuple] = []  # (input, label): survive Reset like test pins
        self._map = MapRefresh()  # when the PCA map was last refreshed here, and what it cost
        self.runs: list = []  # earlier runs of this session (nn.runs.RunRecord)
        self._stop = threading.Event()  # set from the GUI thread on close; checked between chunks
        self._network_copy = None  # the last copy_network() answer, handed out again while unchanged
        self._copy_asked = False  # a copy is on its way from the training process
        self.pace = StepPace()  # slow motion (set_speed); full speed by default
        self._last_slow_eval = -float("inf")
        # What Start adds to a run that has ended: the run length last set (at Reset or live).
        self.continue_length: tuple[float | None, int | None] = (None, None)
        # Full-speed training in a forked process (see the module docstring); off: in this thread.
        self.use_training_process = training_process_available()
        self.server: TrainingServer | None = None  # forked when the data has loaded (see _start_server)
        self.segment: TrainingProcess | None = None
        self._notifier: QSocketNotifier | None = None  # readable: the training process has answered
        self._snapshot_requested = False
        self.training_process_mb = 0.0  # the largest private memory of a training process so far
        self.last_segment_seconds: dict[str, float] = {}  # where its time went there (benchmarks)

    # -- plumbing -------------------------------------------------------------------------------
    @pyqtSlot()
    def initialize(self) -> None:
        """Runs in the worker thread once it starts: the chunk timer must live there."""
        self._timer = QTimer(self)
        self._timer.setInterval(0)  # run a chunk whenever the event loop is otherwise idle
        self._timer.timeout.connect(self._train_chunk)

    def take_snapshot(self):
        """Called from the GUI thread: the newest snapshot, or None if already taken."""
        with self._mailbox_lock:
            snap, self._mailbox = self._mailbox, None
        return snap

    def defer_snapshots(self, until: float) -> None:
        """Called from the GUI thread: it will not take a snapshot before ``until`` (a
        ``time.monotonic()`` time; 0 to take them as they come). Until shortly before then, the
        worker leaves the waiting snapshot as it is instead of making a newer one every 66 ms:
        each snapshot costs training time, and while training the GUI takes far fewer than 15 a
        second (see pacing.py)."""
        self._untaken_until = until

    def _publish(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.trainer is None or (not force and now - self._last_emit < SNAPSHOT_INTERVAL_S):
            return
        if not force and self._mailbox is not None and now < self._untaken_until - SNAPSHOT_INTERVAL_S:
            return  # the waiting snapshot will be replaced shortly before the GUI comes for it
        self._post(self.trainer.snapshot(), now)

    def _post(self, snap, now: float | None = None) -> None:
        self._last_emit = time.monotonic() if now is None else now
        with self._mailbox_lock:
            was_empty = self._mailbox is None
            self._mailbox = snap
        if was_empty:
            self.snapshot_available.emit()

    def _set_state(self, state: State) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
        running = state == State.TRAINING
        if self._timer is not None and running != self._timer.isActive():
            self._timer.start() if running else self._timer.stop()

    def _report(self, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, MemoryError):
            message = "Out of memory: use smaller layers or a smaller batch size."
        self.error.emit(message, "".join(traceback.format_exception(exc)))
        if self.state == State.TRAINING:
            self._set_state(State.PAUSED)

    # -- commands (queued slot calls from the GUI) -----------------------------------------------
    @pyqtSlot(object)
    @_guarded
    def load_data(self, source) -> None:
        """``source``: a folder of IDX files, None for the bundled MNIST, or a ready Dataset."""
        from nn.data import Dataset, load_mnist  # imports scikit-learn: kept off the GUI thread

        self._set_state(State.LOADING)
        try:
            dataset = source if isinstance(source, Dataset) else load_mnist(source)
        except Exception:
            self._set_state(State.NO_DATA)
            raise
        self._start_server(dataset)
        self.dataset = dataset  # (only now: the window learns of it with data_loaded, see app.open_session_at_start)
        self.data_loaded.emit(self.dataset)
        self._set_state(State.IDLE)

    @pyqtSlot(object)
    def change_data(self, source) -> None:
        """Train on other data from now on (a folder, None for the bundled MNIST, or a Dataset): a
        Reset onto it, the current run kept in the run list. Data that cannot be loaded changes
        nothing: one error says why."""
        from nn.data import Dataset, load_mnist

        try:
            dataset = source if isinstance(source, Dataset) else load_mnist(source)
        except Exception as exc:  # noqa: BLE001 - shown to the user; the app goes on as it was
            self.error.emit(f"Could not open the dataset: {exc}", "".join(traceback.format_exception(exc)))
            return
        self._settle()
        self._archive_current()
        self.trainer = None  # the window resets onto the new data as it does at start
        self._probes, self._pins, self._drawn_pins = (), (), []  # of the old data's test set and size
        with self._mailbox_lock:
            self._mailbox = None  # the old data's snapshot fits none of the new panels
        self._start_server(dataset)
        self.dataset = dataset
        self.data_loaded.emit(dataset)
        self._set_state(State.IDLE)

    @pyqtSlot(object)
    @_guarded
    def reset(self, config) -> None:
        """A new trainer with ``config`` (the old one is kept if the config is refused)."""
        from nn.trainer import Trainer

        if self.dataset is None:
            raise RuntimeError("The data is not loaded yet.")
        trainer = Trainer(self.dataset, config, self._probes)
        trainer.set_pins(self._pins)
        self._archive_current()
        for image, label in self._drawn_pins:
            trainer.pin_drawn(image, label)
        if self.trainer is not None:
            trainer.set_drawn_input(self.trainer.drawn_input)
        self.trainer = trainer
        self.continue_length = (config.epochs, config.iterations)
        self._prepare_server()
        self._refresh_map()
        self.config_applied.emit(trainer.config)
        self._set_state(State.IDLE)
        self._publish(force=True)

    def _archive_current(self) -> None:
        """Keep the run being replaced in the run list, if it trained at all."""
        from nn.runs import record_from_trainer

        if self.trainer is not None and self.trainer.step_count > 0:
            if all(r.run_id != self.trainer.run_id for r in self.runs):
                self.runs.append(record_from_trainer(self.trainer))
            self.runs_changed.emit(tuple(self.runs))

    def _edit_run(self, run_id: int, **changes) -> None:
        self.runs = [r.replace(**changes) if r.run_id == run_id else r for r in self.runs]
        self.runs_changed.emit(tuple(self.runs))

    @pyqtSlot(int, str)
    @_guarded
    def rename_run(self, run_id: int, name: str) -> None:
        self._edit_run(run_id, name=name.strip())

    @pyqtSlot(int, bool)
    @_guarded
    def set_run_hidden(self, run_id: int, hidden: bool) -> None:
        self._edit_run(run_id, hidden=bool(hidden))

    @pyqtSlot(int)
    @_guarded
    def delete_run(self, run_id: int) -> None:
        self.runs = [r for r in self.runs if r.run_id != run_id]
        self.runs_changed.emit(tuple(self.runs))

    @pyqtSlot(str)
    def import_runs(self, path: str) -> None:
        """Add the runs of a sweep file (``python -m nn sweep --out``) to the run list; a file
        that cannot be read changes nothing (one error)."""
        from nn.sweep import load_sweep
        from nn.trainer import reserve_run_ids

        from .runs_import import records_from_sweep

        try:
            results = load_sweep(path)
        except Exception as exc:  # noqa: BLE001 - shown to the user; the app goes on as it was
            self.error.emit(f"Could not import runs: {exc}", "".join(traceback.format_exception(exc)))
            return
        taken = [r.run_id for r in self.runs] + [self.trainer.run_id if self.trainer is not None else 0]
        records = records_from_sweep(results, max(taken) + 1)
        reserve_run_ids(max([r.run_id for r in records] + taken))
        self.runs.extend(records)
        self.runs_changed.emit(tuple(self.runs))
        self.runs_imported.emit(path, {s: sum(r.status == s for r in results) for s in ("ok", "diverged", "failed")})

    @pyqtSlot()
    @_guarded
    def start(self) -> None:
        if self.trainer is None or self.state in (State.TRAINING, State.DIVERGED):
            return
        if self.trainer.finished:
            self._set_state(State.FINISHED)
            return
        self.pace.restart()
        if self.use_training_process and self.pace.rate == 0 and self._timer is not None:
            # The window first shows the new state (its buttons, its status): sending the run
            # over at the same moment, the two threads would take turns at the GIL for ~50 ms.
            self._timer.setInterval(SEGMENT_START_DELAY_MS)
        self._set_state(State.TRAINING)

    @pyqtSlot()
    @_guarded
    def continue_run(self) -> None:
        """Start; a run that has ended goes on for its run length again (continue_length)."""
        if self.state == State.FINISHED and self.trainer is not None and self.trainer.finished:
            self._extend_run()
        self.start()

    def _extend_run(self) -> None:
        from nn.config import MAX_EPOCHS, MAX_ITERATIONS

        config, (epochs, iterations) = self.trainer.config, self.continue_length
        if config.epochs is not None:
            self.trainer.set_run_length(epochs=min(MAX_EPOCHS, config.epochs + (epochs or config.epochs)))
        else:
            more = iterations or config.iterations
            self.trainer.set_run_length(iterations=min(MAX_ITERATIONS, config.iterations + more))
        self.config_applied.emit(self.trainer.config)

    @pyqtSlot()
    @_guarded
    def pause(self) -> None:
        if self.state == State.TRAINING:
            self._set_state(State.PAUSED)
            self._publish(force=True)

    @pyqtSlot()
    @_guarded
    def step(self) -> None:
        """Exactly one iteration, then a fresh test evaluation so every panel shows its effect."""
        if self.trainer is None or self.state in (State.TRAINING, State.DIVERGED):
            return
        if self.trainer.finished:
            self._set_state(State.FINISHED)
            return
        self.trainer.run(max_steps=1)
        if self.trainer.diverged:
            self._set_state(State.DIVERGED)
        else:
            self.trainer.evaluate_test(budgeted=False)
            self._set_state(State.FINISHED if self.trainer.finished else State.PAUSED)
        self._publish(force=True)

    @pyqtSlot(float)
    @_guarded
    def set_lr(self, lr: float) -> None:
        self._apply_live("set_lr", lr)

    @pyqtSlot(float)
    @_guarded
    def set_lr_decay(self, decay: float) -> None:
        self._apply_live("set_lr_decay", decay)

    @pyqtSlot(float)
    @_guarded
    def set_momentum(self, momentum: float) -> None:
        self._apply_live("set_momentum", momentum)

    @pyqtSlot(float)
    @_guarded
    def set_dropout(self, rate: float) -> None:
        self._apply_live("set_dropout", rate)

    @pyqtSlot(int, float, float)
    @_guarded
    def set_augmentation(self, shift: int, rotation: float, noise: float) -> None:
        self._apply_live("set_augmentation", shift, rotation, noise)

    @pyqtSlot(object)
    @_guarded
    def set_batch_size(self, batch_size) -> None:
        self._apply_live("set_batch_size", batch_size)

    @pyqtSlot(object, object)
    @_guarded
    def set_run_length(self, epochs, iterations) -> None:
        if self.trainer is None:
            return
        # (in the training process, a run this ends finishes there: _segment_ended)
        if self._apply_live("set_run_length", epochs, iterations, publish=False):
            if self.state == State.FINISHED and not self.trainer.finished:
                self._set_state(State.PAUSED)
            self._publish(force=self.state != State.TRAINING)
        self.continue_length = (epochs, iterations)

    @pyqtSlot(float)
    @_guarded
    def set_speed(self, steps_per_s: float) -> None:
        """Slow motion: at most this many steps a second (0: full speed)."""
        self.pace.set_rate(steps_per_s)
        if self._timer is not None:
            self._timer.setInterval(0)  # the next chunk works out its own wait

    @pyqtSlot(object)
    @_guarded
    def set_probes(self, indices) -> None:
        self._probes = tuple(indices)
        self._apply_live("set_probes", self._probes, soon=True)

    @pyqtSlot(object)
    @_guarded
    def set_pins(self, indices) -> None:
        """Pinned test digits; they survive Reset (the new trainer tracks them from its start)."""
        self._pins = tuple(indices)
        self._apply_live("set_pins", self._pins, soon=True)

    @pyqtSlot(object)
    @_guarded
    def set_drawn_input(self, image) -> None:
        """The digit on the drawing pad (an MNIST-style input), or None when the pad is empty."""
        self._apply_live("set_drawn_input", image, soon=True)

    @pyqtSlot(object, int)
    @_guarded
    def pin_drawn(self, image, label: int) -> None:
        if self.trainer is not None:
            self.trainer.pin_drawn(image, label)
            self._drawn_pins = list(self.trainer.drawn_pins)
            self._publish(force=True)

    @pyqtSlot(int)
    @_guarded
    def unpin_drawn(self, pin_id: int) -> None:
        if self.trainer is not None:
            self.trainer.unpin_drawn(pin_id)
            self._drawn_pins = list(self.trainer.drawn_pins)
            self._publish(force=True)

    @pyqtSlot()
    @_guarded
    def refresh_map(self) -> None:
        """Recompute the PCA map of the last hidden layer now."""
        self._refresh_map()
        self._publish(force=True)

    @pyqtSlot()
    @_guarded
    def map_features(self) -> None:
        """Emit the last hidden layer's activations of the map's test digits (for a t-SNE map)."""
        from .tsne_map import MapFeatures

        trainer = self.trainer
        if trainer is not None:
            indices, features, layer, predictions = trainer.map_features()
            self.map_features_ready.emit(MapFeatures(trainer.run_id, trainer.step_count, indices, features, layer,
                                                     trainer.test_y[indices], predictions))

    def _refresh_map(self) -> None:
        if self.trainer is not None:
            self._map.refresh(self.trainer)

    @pyqtSlot()
    @_guarded
    def evaluate_train(self) -> None:
        """Evaluate the whole training set now (for the training-set mistakes view)."""
        if self.trainer is not None:
            self.trainer.evaluate_train()
            self._publish(force=True)

    @pyqtSlot()
    @_guarded
    def report_metrics(self) -> None:
        """Pause, evaluate the whole train and test sets, and emit the figures as a dict."""
        if self.state == State.TRAINING:
            self._set_state(State.PAUSED)
        trainer = self.trainer
        if trainer is None:
            self.metrics_ready.emit({})
            return
        metrics = {
            "preset_config": trainer.config.to_dict(),
            "steps": trainer.step_count,
            "samples_seen": trainer.samples_seen,
            "epochs": trainer.epoch,
            "training_seconds": trainer.train_seconds,
            "seconds_to_98": trainer.seconds_to_98,
            "diverged": trainer.diverged,
            "finished": trainer.finished,
        }
        if trainer.diverged is None:
            train_eval, test_eval = trainer.evaluate_train(), trainer.evaluate_test()
            metrics.update(train_accuracy=train_eval.accuracy, train_loss=train_eval.loss,
                           test_accuracy=test_eval.accuracy, test_loss=test_eval.loss)
        self._publish(force=True)
        self.metrics_ready.emit(metrics)

    @pyqtSlot(str, str)
    @_guarded
    def save(self, kind: str, path: str) -> None:
        """Save the model or the whole session; atomic, so a crash mid-save leaves no broken file."""
        from nn.checkpoint import save_checkpoint
        from nn.model_io import save_model

        trainer = self.trainer
        if trainer is None:
            raise RuntimeError("There is no network to save yet.")
        if kind == "session":
            from nn.runs import runs_to_arrays

            arrays, runs_meta = runs_to_arrays(self.runs)
            save_checkpoint(path, trainer, {"gui_state": self.state.value, "runs": runs_meta}, arrays)
        else:
            evaluation = trainer.last_test
            metrics = {} if evaluation is None else {"test_accuracy": evaluation.accuracy, "test_loss": evaluation.loss,
                                                     "steps": evaluation.step}
            save_model(path, trainer.net, trainer.config.to_dict(), metrics)
        self.saved.emit(kind, path, trainer.step_count)

    @pyqtSlot(str, str)
    @_guarded
    def open(self, kind: str, path: str) -> None:
        """Open a saved session (to continue it) or a model (to inspect it; training may go on)."""
        from nn.checkpoint import load_session
        from nn.config import TrainConfig
        from nn.model_io import check_fits_data, load_model
        from nn.runs import runs_from_arrays
        from nn.trainer import Trainer, reserve_run_ids

        if self.dataset is None:
            raise RuntimeError("The data is not loaded yet.")
        runs = None
        if kind == "session":
            trainer, meta, extra = load_session(path, self.dataset)
            try:
                runs = runs_from_arrays(extra, meta.get("runs", []))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: damaged run list ({exc})") from None
            # The session's own run takes an id above its earlier runs': a fresh process numbers
            # its first trainer 1, which may be a saved run's (then Reset would not archive it).
            trainer.run_id = max([r.run_id for r in runs] + [trainer.run_id - 1]) + 1
            reserve_run_ids(trainer.run_id)
            if self._probes:
                trainer.set_probes(self._probes)
            self._pins = trainer.pins
            self._drawn_pins = list(trainer.drawn_pins)
        else:
            net, meta = load_model(path)
            check_fits_data(net, self.dataset.n_features, self.dataset.n_classes, path, self.dataset.source)
            saved = dict(meta.get("config") or {})
            try:
                config = TrainConfig.from_dict(saved) if saved else TrainConfig()
            except (TypeError, ValueError):
                config = TrainConfig()
            config = config.replace(hidden=tuple(net.layer_sizes[1:-1]), activation=net.activation,
                                    dtype=str(net.dtype))
            trainer = Trainer(self.dataset, config, self._probes)
            trainer.net.load_params(net.params)
            trainer.set_pins(self._pins)
        if self.state == State.TRAINING:
            self._set_state(State.PAUSED)
        if runs is None:
            self._archive_current()
        else:  # a session brings its own run list
            self.runs = runs
            self.runs_changed.emit(tuple(self.runs))
        self.trainer = trainer
        self.continue_length = (trainer.config.epochs, trainer.config.iterations)
        self._prepare_server()
        trainer.evaluate_test()
        self.config_applied.emit(trainer.config)
        self._set_state(State.DIVERGED if trainer.diverged else State.FINISHED if trainer.finished
                        else State.PAUSED if trainer.step_count else State.IDLE)
        self._publish(force=True)
        self.opened.emit(kind, path)

    @pyqtSlot()
    @_guarded
    def copy_network(self) -> None:
        """Emit a float64 copy of the network's parameters for the math panels (training goes on
        with its own; see visualizer/network_copy.py)."""
        from .network_copy import copy_network, network_values

        if self.segment is not None:
            if self._copy_asked:
                return  # (one answer serves every panel that asked: network_copied goes to all)
            try:
                self.segment.request("call", network_values)  # answered between two chunks (_handle)
                self._copy_asked = True
                return
            except TrainingProcessError as exc:
                self._segment_failed(exc)
        if self.trainer is not None:
            self._network_copy = copy_network(self.trainer, self._network_copy)
            self.network_copied.emit(self._network_copy)

    @pyqtSlot(int)
    def ping(self, token: int) -> None:
        self.pong.emit(token)

    def request_stop(self) -> None:
        """Thread-safe (called from the GUI thread): stop training at the end of the current chunk."""
        self._stop.set()

    @pyqtSlot()
    def shutdown(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._end_segment()
        if self.server is not None:
            self.server.close()  # (a session to keep was saved before: saving ends the segment)
            self.server = None
        self.trainer = None

    # -- training in a process of its own -------------------------------------------------------
    def _settle(self) -> None:
        """End the segment of training under way, if any: its state comes into self.trainer."""
        segment = self._end_segment()
        if segment is None:
            return
        try:
            answers = segment.stop()
        except TrainingProcessError as exc:
            self._report(exc)
            return
        self._handle(answers, publish=False)  # (the command publishes what it changes)
        self._segment_ended(segment)

    def _start_server(self, dataset) -> None:
        """A training process for ``dataset`` (the old one ends). Forked when the data has
        loaded, while the window is still being built, not when training starts (see
        nn.training_process)."""
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.use_training_process and dataset is not None:
            try:
                self.server = TrainingServer(dataset)
            except OSError:
                self.server = None  # (no process to be had, e.g. at a process limit: training runs here)

    def _prepare_server(self) -> None:
        """A new run: the training process builds its network now, not when Start is pressed."""
        if self.server is not None and self.server.alive and self.server.dataset is self.trainer.dataset:
            self.server.prepare(self.trainer)

    def _apply_live(self, name: str, *args, soon: bool = False, publish: bool = True) -> bool:
        """A live change: the trainer's method ``name`` with ``args``, on the trainer in the
        training process while a segment runs there (_forward), else on this one, then published
        (at once when paused or ``soon``; ``publish=False``: the caller does it). True if it was
        applied here."""
        if self._forward(name, *args, soon=soon) or self.trainer is None:
            return False
        _call_method(name, args, self.trainer)
        if publish:
            self._publish(force=soon or self.state != State.TRAINING)
        return True

    def _forward(self, name: str, *args, soon: bool = False) -> bool:
        """While training runs in its process, a live change goes to its trainer there, between
        two chunks, as it would here (no new segment: that would pause training for a moment).
        ``soon``: what it changes is shown by the next snapshot, asked for at once."""
        if self.segment is None:
            return False
        try:
            self.segment.request("apply", functools.partial(_call_method, name, args))
        except TrainingProcessError as exc:
            self._segment_failed(exc)
            return False  # (the change applies here, to the trainer as the segment found it)
        if soon and self._timer is not None:
            self._last_emit = -float("inf")
            if not self._snapshot_requested:
                self._timer.start(0)
        return True

    def _segment_chunk(self, trainer) -> None:
        """Between the GUI and the training process: start it, and ask for a snapshot when one
        is due. The chunk timer then waits until the next is due, and the answers wake the
        worker when they come (_segment_answered): this thread wakes a few dozen times a
        second, each time taking the GIL from the GUI thread for a moment."""
        try:
            if self.segment is None:
                if self.server is None or not self.server.alive or self.server.dataset is not trainer.dataset:
                    self._start_server(trainer.dataset)
                if self.server is None:  # (no process to be had: training goes on here)
                    self._train_here(trainer)
                    return
                self.segment = self.server.segment(trainer, self._map)  # (pickled: the process schedules its own copy)
                self._snapshot_requested = False
                self._notifier = QSocketNotifier(self.segment.fileno(), QSocketNotifier.Type.Read, self)
                self._notifier.activated.connect(self._segment_answered)
            now = time.monotonic()
            if not self._snapshot_requested and self._snapshot_due(now):
                self.segment.request("snapshot")
                self._snapshot_requested = True
                self._last_emit = now  # (spaced from request to request: the answer comes a chunk later)
        except TrainingProcessError as exc:
            self._segment_failed(exc)
            return
        wait = SNAPSHOT_INTERVAL_S if self._snapshot_requested else self._next_snapshot_in(now)
        self._timer.setInterval(_timer_ms(wait))

    @pyqtSlot()
    def _segment_answered(self) -> None:
        if self.segment is None:
            return
        try:
            answers = self.segment.poll(0)
        except TrainingProcessError as exc:
            self._segment_failed(exc)
            return
        self._handle(answers, publish=True)
        if self.segment.ended is not None:
            self._segment_ended(self._end_segment())
            self._publish(force=True)
        elif not self._snapshot_requested and self._timer is not None and self._timer.isActive():
            self._timer.start(_timer_ms(self._next_snapshot_in(time.monotonic())))

    def _segment_failed(self, exc: TrainingProcessError) -> None:
        """The training process died: the person is told, training pauses with the trainer as
        the segment found it, and Start or Resume go on in a new process."""
        self._end_segment()
        self._report(exc)
        self._publish(force=True)

    def _end_segment(self) -> TrainingProcess | None:
        """Forget the segment (ended or being ended) and its notifier, before its pipe closes."""
        segment, self.segment = self.segment, None
        self._copy_asked = False
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        if self._timer is not None:
            self._timer.setInterval(0)
        return segment

    def _handle(self, answers, publish: bool) -> None:
        for kind, value in answers:
            if kind == "snapshot":
                self._snapshot_requested = False
                if publish:
                    self._post(value, self._last_emit)
            elif kind == "call":
                from .network_copy import from_values

                self._copy_asked = False
                value = self._network_copy = from_values(value)
                self.network_copied.emit(value)
            elif kind == "error":
                message, details = value
                self.error.emit(message, details)

    def _segment_ended(self, segment: TrainingProcess) -> None:
        self.training_process_mb = max(self.training_process_mb, segment.child_private_mb or 0.0)
        self.last_segment_seconds = segment.seconds
        if segment.ended == "diverged":
            self._set_state(State.DIVERGED)
        elif segment.ended == "finished":
            self._set_state(State.FINISHED)
        elif segment.ended == "failed" and self.state == State.TRAINING:
            self._set_state(State.PAUSED)

    def _snapshot_due(self, now: float) -> bool:
        """As :meth:`_publish` decides: not too often, and not long before the GUI comes for it."""
        return self._next_snapshot_in(now) <= 0

    def _next_snapshot_in(self, now: float) -> float:
        due = self._last_emit + SNAPSHOT_INTERVAL_S
        if self._mailbox is not None:
            due = max(due, self._untaken_until - SNAPSHOT_INTERVAL_S)
        return due - now

    # -- the training loop ------------------------------------------------------------------------
    @pyqtSlot()
    def _train_chunk(self) -> None:
        trainer = self.trainer
        if self._stop.is_set() or trainer is None or self.state != State.TRAINING:
            self._timer.stop()
            return
        if self.use_training_process and self.pace.rate == 0:
            self._segment_chunk(trainer)
        else:
            self._train_here(trainer)

    def _train_here(self, trainer) -> None:
        """A chunk of training in this thread (slow motion, or where no process can be had)."""
        try:
            if self.pace.rate > 0:
                self._slow_motion_chunk(trainer)
            else:
                trainer.run(max_seconds=CHUNK_SECONDS)
            if trainer.diverged:
                self._set_state(State.DIVERGED)
                self._publish(force=True)
            elif trainer.finished:
                self._set_state(State.FINISHED)
                self._publish(force=True)
            else:
                self._map(trainer)
                self._publish()
        except Exception as exc:  # noqa: BLE001 - shown to the user; the app stays usable
            self._report(exc)
            self._publish(force=True)

    def _slow_motion_chunk(self, trainer) -> None:
        """The steps due at the set speed, then the chunk timer waits for the next. With the
        time between steps, the test set is evaluated a few times a second (the time budget
        alone would leave the test curve behind: slow steps cost little training time)."""
        steps = self.pace.due()
        if steps:
            self.pace.advance(trainer.run(max_steps=steps, max_seconds=CHUNK_SECONDS))
            now = time.monotonic()
            if (trainer.can_step and self.pace.rate <= SLOW_EVAL_MAX_RATE
                    and now - self._last_slow_eval >= SLOW_EVAL_INTERVAL_S):
                self._last_slow_eval = now
                trainer.evaluate_test(budgeted=False)
        self._timer.setInterval(round(1000 * self.pace.wait_s()))
