"""The GUI's handle on the training worker: its thread, and its commands as plain method calls.

The worker lives in its own ``QThread``. Every method of :class:`WorkerCommands` queues a call of
the worker slot of the same name to that thread's event loop, so commands run there, in the
order they were sent, between chunks of training; the GUI thread never runs trainer code.
"""

from __future__ import annotations

from PyQt6.QtCore import Q_ARG, QMetaObject, Qt, QThread

from .worker import TrainingWorker

# Training threads still busy in a long NumPy call when their window closed, with their workers:
# they end on their own (see stop_worker); kept here so Qt never destroys them running.
_ORPHANED: list[tuple] = []
STOP_WAIT_MS = 3000


class WorkerCommands:
    """Commands to ``worker``, queued to its thread (see the module docstring)."""

    def __init__(self, worker: TrainingWorker):
        self.worker = worker
        self.stopped = False  # after stop_worker: the worker is gone, or going; commands are dropped

    def _send(self, slot: str, *args: tuple[type, object]) -> None:
        if self.stopped:
            return
        # (raises RuntimeError if the worker has no slot of that name and argument types)
        QMetaObject.invokeMethod(self.worker, slot, Qt.ConnectionType.QueuedConnection,
                                 *(Q_ARG(kind, value) for kind, value in args))

    def load_data(self, source) -> None:
        """``source``: a folder of IDX files, None for the bundled MNIST, or a ready Dataset."""
        self._send("load_data", (object, source))

    def change_data(self, source) -> None:
        """Other data (a folder, None for the bundled MNIST, or a Dataset): a Reset onto it; the
        worker answers with ``data_loaded``, or with ``error`` and changes nothing."""
        self._send("change_data", (object, source))

    def import_runs(self, path: str) -> None:
        """The worker answers with ``runs_changed`` and ``runs_imported``, or with ``error``."""
        self._send("import_runs", (str, path))

    def reset(self, config) -> None:
        self._send("reset", (object, config))

    def start(self) -> None:
        self._send("start")

    def continue_run(self) -> None:
        """Start, and a run that has ended goes on for its run length again."""
        self._send("continue_run")

    def pause(self) -> None:
        self._send("pause")

    def step(self) -> None:
        self._send("step")

    def set_lr(self, lr: float) -> None:
        self._send("set_lr", (float, lr))

    def set_lr_decay(self, decay: float) -> None:
        self._send("set_lr_decay", (float, decay))

    def set_momentum(self, momentum: float) -> None:
        self._send("set_momentum", (float, momentum))

    def set_dropout(self, rate: float) -> None:
        self._send("set_dropout", (float, rate))

    def set_augmentation(self, shift: int, rotation: float, noise: float) -> None:
        self._send("set_augmentation", (int, int(shift)), (float, float(rotation)), (float, float(noise)))

    def map_features(self) -> None:
        """The worker answers with ``map_features_ready(MapFeatures)``."""
        self._send("map_features")

    def set_batch_size(self, batch_size) -> None:
        self._send("set_batch_size", (object, batch_size))

    def set_run_length(self, epochs, iterations) -> None:
        self._send("set_run_length", (object, epochs), (object, iterations))

    def set_speed(self, steps_per_s: float) -> None:
        """Slow motion: at most this many steps a second; 0 for full speed."""
        self._send("set_speed", (float, float(steps_per_s)))

    def set_probes(self, indices) -> None:
        self._send("set_probes", (object, list(indices)))

    def set_pins(self, indices) -> None:
        self._send("set_pins", (object, list(indices)))

    def evaluate_train(self) -> None:
        self._send("evaluate_train")

    def set_drawn_input(self, image) -> None:
        self._send("set_drawn_input", (object, image))

    def pin_drawn(self, image, label: int) -> None:
        self._send("pin_drawn", (object, image), (int, int(label)))

    def unpin_drawn(self, pin_id: int) -> None:
        self._send("unpin_drawn", (int, pin_id))

    def refresh_map(self) -> None:
        self._send("refresh_map")

    def rename_run(self, run_id: int, name: str) -> None:
        self._send("rename_run", (int, run_id), (str, name))

    def set_run_hidden(self, run_id: int, hidden: bool) -> None:
        self._send("set_run_hidden", (int, run_id), (bool, hidden))

    def delete_run(self, run_id: int) -> None:
        self._send("delete_run", (int, run_id))

    def save(self, kind: str, path: str) -> None:
        """``kind``: "model" or "session"; the worker answers with ``saved`` or ``error``."""
        self._send("save", (str, kind), (str, path))

    def open(self, kind: str, path: str) -> None:
        self._send("open", (str, kind), (str, path))

    def report_metrics(self) -> None:
        self._send("report_metrics")

    def copy_network(self) -> None:
        """The worker answers with ``network_copied(NetworkCopy)``: the live network's parameters."""
        self._send("copy_network")

    def ping(self, token: int) -> None:
        """The worker answers with ``pong(token)`` once every command sent before has been handled."""
        self._send("ping", (int, token))

    def shutdown(self) -> None:
        self._send("shutdown")


def create_worker(parent) -> tuple[QThread, TrainingWorker]:
    """A worker in a new thread owned by ``parent``; start the thread once its signals are connected."""
    thread = QThread(parent)
    thread.setObjectName("training")
    worker = TrainingWorker()
    worker.moveToThread(thread)
    thread.started.connect(worker.initialize)
    thread.finished.connect(worker.deleteLater)
    return thread, worker


def stop_worker(thread: QThread, commands: WorkerCommands) -> None:
    """Stop training at the end of the current chunk and end the thread, without waiting long."""
    worker = commands.worker
    worker.request_stop()
    commands.shutdown()
    commands.stopped = True
    thread.quit()
    if not thread.wait(STOP_WAIT_MS):  # (wait releases the GIL: the thread can finish)
        # Busy in one long NumPy call (nothing can interrupt it). terminate() could kill the
        # thread while it holds the GIL or a lock and hang or crash the app; instead it ends in
        # the background, owned by no window (the app exits without waiting for it: app.py).
        thread.setParent(None)
        _ORPHANED.append((thread, worker))
        thread.finished.connect(lambda: _forget_orphan(thread, worker))


def _forget_orphan(thread, worker) -> None:
    thread.wait()  # ``finished`` comes just before the thread ends: Qt must not destroy it running
    _ORPHANED.remove((thread, worker))


def orphaned_threads_running() -> bool:
    return any(thread.isRunning() for thread, _ in _ORPHANED)
