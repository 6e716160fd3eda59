"""Training in a process of its own, beside an app that draws.

Why: Python's GIL lets one thread at a time run Python. With training in a thread of the app,
every millisecond the window spends drawing is, nearly, a millisecond training waits
(``benchmarks/bench_process_split.py`` measured both ways). A child process has an interpreter
and a GIL of its own.

A :class:`TrainingServer` is forked once per data set, when the data has loaded, so the data is
shared copy-on-write, never copied or sent. (Forking again for every stretch of training would
cost the window dearly: after a fork, the first write to each page of memory the two processes
share copies it, and the window's first renders write to tens of megabytes of them.) The server
waits for work. One :class:`TrainingProcess` is one *segment* of training there: the parent's
trainer state goes over, the server trains in chunks and, between chunks, answers requests (a
snapshot, any function of its trainer, a live change). The segment ends when asked to stop, or
when the run finishes or diverges: then the state comes back and
:meth:`TrainingProcess.stop` writes it into the parent's trainer in place, which nothing touched
meanwhile. The result is what training in place would have given, bit for bit
(``tests/engine/test_training_process.py``).

Linux only (:func:`available`): elsewhere, forking a process that runs threads is not safe.
Nothing here is maths; ``nn.trainer`` does the training either way.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection, Pipe
from typing import Any, Callable

import numpy as np

CHUNK_SECONDS = 0.03  # the child looks for requests this often (one step at the least)

# Trainer attributes training never changes, or caches the parent rebuilds when it needs them:
# these stay as the parent has them (the data alone is hundreds of MB).
_UNCHANGED = frozenset({"dataset", "train_x", "train_Y", "test_x", "test_Y", "train_y", "test_y",
                        "_batches", "_sorted_rows", "initial_weights", "net", "optimizer",
                        "_active_columns", "_alongside"})
# Plain values an optimiser keeps (learning rate, step count, ...); its arrays go by state().
_SCALARS = (bool, int, float, str, type(None))


class TrainingProcessError(RuntimeError):
    """The child failed or vanished; the parent's trainer is as it was when the segment began."""


def available() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


# -- the state a segment of training changes ---------------------------------------------------
def export_state(trainer, grads: bool = True) -> dict[str, Any]:
    """What training changes in ``trainer``, as plain picklable values (arrays are copied by
    pickling; the network's and optimiser's arrays are views of flat buffers, so they travel as
    values and are written back in place, keeping every view valid). ``grads``: also the last
    step's gradients (which no later step reads: each step writes them anew)."""
    trainer.settle_evaluations()  # (their threads and copies of the network stay behind)
    storage, optimizer = trainer.net.storage, trainer.optimizer
    last = optimizer._last_updates
    if last is not None and last is not storage.grads:
        raise TrainingProcessError("the optimiser's last update is not the network's gradient")
    return {
        "attributes": {k: v for k, v in vars(trainer).items() if k not in _UNCHANGED},
        "params": storage.flat_params,
        "grads": storage.flat_grads if grads else None,
        "optimizer": {k: v for k, v in vars(optimizer).items() if isinstance(v, _SCALARS)},
        "optimizer_state": optimizer.state(),
        "last_updates_are_grads": last is not None,
    }


def import_state(trainer, state: dict[str, Any]) -> None:
    """Write :func:`export_state`'s values into ``trainer`` (the same run, forked earlier)."""
    storage, optimizer = trainer.net.storage, trainer.optimizer
    np.copyto(storage.flat_params, state["params"])
    if state["grads"] is not None:
        np.copyto(storage.flat_grads, state["grads"])
    saved_state = state["optimizer_state"]
    if set(saved_state) != set(optimizer.state()):
        raise TrainingProcessError("the optimiser changed during a segment of training")
    optimizer.load_state(saved_state)
    for name, value in state["optimizer"].items():
        setattr(optimizer, name, value)
    optimizer._last_updates = storage.grads if state["last_updates_are_grads"] else None
    for name, value in state["attributes"].items():
        setattr(trainer, name, value)


def _private_mb() -> float | None:
    """This process's own memory (pages shared with the parent not counted), for the figures."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            kb = sum(int(line.split()[1]) for line in f if line.startswith(("Private_Clean:", "Private_Dirty:")))
        return kb / 1024
    except (OSError, ValueError, IndexError):
        return None


# -- the parent's side --------------------------------------------------------------------------
class TrainingServer:
    """A process forked with ``dataset`` loaded, that trains any trainer of that data set it is
    sent, one segment at a time (:meth:`segment`). Close it, or let the parent exit: it ends
    when its pipe closes."""

    def __init__(self, dataset):
        self.dataset = dataset
        self._last_structure = None  # the run the server holds a trainer for
        self.busy: TrainingProcess | None = None
        # What training imports on its way (the activation map's PCA), imported here, before the
        # fork: else the child would import it in its first segment, in its own memory.
        import sklearn.decomposition  # noqa: F401

        from .fast.alongside import wait_for_all

        wait_for_all()  # no evaluation thread may hold a lock the child would inherit
        parent_end, child_end = Pipe(duplex=True)
        pid = os.fork()
        if pid == 0:  # the child: never returns
            parent_end.close()
            _child(dataset, child_end)
        child_end.close()
        self._pid = pid
        self._conn: Connection = parent_end
        self.alive = True

    def prepare(self, trainer) -> None:
        """Build the server's twin of ``trainer``'s run now (a new run, while the app is idle),
        so that starting to train only sends its state."""
        structure = _structure(trainer)
        if self.alive and structure != self._last_structure and (self.busy is None or self.busy.ended is not None):
            try:
                self._conn.send(("prepare", (structure, _build(trainer))))
            except (OSError, ValueError):
                self._lost()
                return
            self._last_structure = structure

    def segment(self, trainer, between_chunks: Callable[[Any], None] | None = None) -> "TrainingProcess":
        """Train ``trainer`` there from now on, until the segment ends. ``between_chunks(trainer)``
        (picklable) runs there after every chunk that neither finished nor diverged the run."""
        if not self.alive:
            raise TrainingProcessError("The training process has ended.")
        if trainer.dataset is not self.dataset:
            raise TrainingProcessError("The trainer trains on other data than the training process holds.")
        if self.busy is not None and self.busy.ended is None:
            raise TrainingProcessError("A segment of training is under way already.")
        structure = _structure(trainer)
        # A new run: its configuration and initial weights, for the server to build its twin.
        build = None if structure == self._last_structure else _build(trainer)
        self._last_structure = structure
        self.busy = TrainingProcess(self, trainer)
        try:
            self._conn.send(("train", (structure, build, export_state(trainer, grads=False), between_chunks)))
        except (OSError, ValueError) as exc:
            self.busy._vanished(exc)
        return self.busy

    def close(self) -> None:
        """End the process now (its segment's state, if any, is discarded)."""
        if self.alive:
            self.alive = False
            try:
                os.kill(self._pid, signal.SIGKILL)
            except OSError:
                pass
            self._conn.close()
            try:
                os.waitpid(self._pid, 0)
            except ChildProcessError:
                pass

    def _lost(self) -> None:
        """The process died or its pipe broke: close what is left."""
        self._last_structure = None
        self.close()


def _build(trainer) -> tuple:
    """What the server needs to build its twin of ``trainer`` (its state comes with each segment)."""
    return trainer.config, trainer.probe_indices, trainer.initial_weights


def _structure(trainer) -> tuple:
    """What makes two trainers of one data set the same run, with the same arrays' shapes."""
    config = trainer.config
    return (trainer.run_id, id(trainer), trainer.layer_sizes, config.optimizer, config.activation, str(config.dtype))


class TrainingProcess:
    """One segment of training in a :class:`TrainingServer`.

    Requests are answered in the order sent; :meth:`poll` hands out the answers and finally the
    end of the segment, when the state is already in the parent's trainer.
    """

    def __init__(self, server: TrainingServer, trainer):
        self.server = server
        self.trainer = trainer
        self.ended: str | None = None  # "stopped", "finished", "diverged" or "failed"
        self.child_private_mb: float | None = None
        self.seconds: dict[str, float] = {}  # where the segment's time went, there (for the benchmarks)
        self._conn = server._conn

    @classmethod
    def start(cls, trainer, between_chunks: Callable[[Any], None] | None = None) -> "TrainingProcess":
        """A segment in a server of its own, closed when the segment ends (tests; the app keeps one
        server per data set)."""
        server = TrainingServer(trainer.dataset)
        process = server.segment(trainer, between_chunks)
        process._owns_server = True
        return process

    _owns_server = False

    def fileno(self) -> int:
        """Readable when an answer (or the end) has arrived: for an event loop to wait on."""
        return self._conn.fileno()

    def request(self, kind: str, function: Callable[[Any], Any] | None = None) -> None:
        """Ask for a ``"snapshot"``, or for ``function(trainer)`` (``"call"``): the answer
        comes through :meth:`poll`. ``"apply"`` runs ``function(trainer)`` for its effect (a
        live change of a hyperparameter), answered only if it raises. Either runs between
        two chunks, as a command would in place; an exception it raises comes back as an
        ``("error", ...)`` answer and training goes on."""
        if self.ended is None:
            self._send((kind, function))

    def poll(self, timeout: float = 0.0) -> list[tuple[str, Any]]:
        """Answers that have arrived (waiting up to ``timeout`` for the first): ``("snapshot",
        snap)``, ``("call", result)``, ``("error", (message, details))``. When the segment has
        ended, the state is already in the parent's trainer and :attr:`ended` says why."""
        answers = []
        try:
            while self.ended is None and self._conn.poll(timeout if not answers else 0):
                answers.append(self._receive())
        except (EOFError, OSError) as exc:
            self._vanished(exc)
        return [a for a in answers if a is not None]

    def stop(self) -> list[tuple[str, Any]]:
        """End the segment (after the chunk under way) and bring its state into the trainer.
        Returns the answers that were still on their way."""
        answers = []
        if self.ended is None:
            self._send(("stop", None))
            try:
                while self.ended is None:
                    answer = self._receive()
                    if answer is not None:
                        answers.append(answer)
            except (EOFError, OSError) as exc:
                self._vanished(exc)
        return answers

    def kill(self) -> None:
        """End it now, its state discarded (the app is closing): the server goes too."""
        if self.ended is None:
            self.ended = "killed"
        self.server.close()

    def _send(self, message) -> None:
        try:
            self._conn.send(message)
        except (OSError, ValueError) as exc:
            self._vanished(exc)

    def _receive(self):
        kind, value = self._conn.recv()
        if kind in ("stopped", "finished", "diverged", "failed"):
            state, self.child_private_mb, error, self.seconds = value
            self.ended = kind
            if state is not None:
                import_state(self.trainer, state)
            else:
                self.server._last_structure = None  # (the server's twin may be half-way through a step)
            if self._owns_server:
                self.server.close()
            return ("error", error) if error is not None else None
        return kind, value

    def _vanished(self, exc: BaseException) -> None:
        self.ended = "failed"
        self.server._lost()
        raise TrainingProcessError(f"The training process stopped unexpectedly ({exc or type(exc).__name__}); "
                                   "the network is as it was when training last started.") from None


# -- the child's side ---------------------------------------------------------------------------
class _Sender:
    """Sends the child's messages from a thread of its own, in order. A snapshot is larger than
    the pipe holds, so a send waits until the parent has read it, and the parent's reader waits
    for the parent's GIL between reads: sent from the training loop, each snapshot cost training
    about 8 ms (10 % of its time at 12 a second). Pickling stays in the caller: what is sent is
    the object as it was when sent."""

    def __init__(self, conn: Connection):
        import queue
        import threading

        self.conn, self.broken = conn, False
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._run, name="sender", daemon=True).start()

    def send(self, message) -> None:
        from multiprocessing.reduction import ForkingPickler

        if self.broken:
            raise BrokenPipeError("the parent is gone")
        self._queue.put(bytes(ForkingPickler.dumps(message)))

    def drain(self) -> None:
        """Wait until everything queued is sent (or the parent is gone)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            try:
                if not self.broken:
                    self.conn.send_bytes(data)
            except (OSError, ValueError):
                self.broken = True
            finally:
                self._queue.task_done()


def _child(dataset, conn: Connection) -> None:
    """Serve until the parent's end of the pipe closes; exit without running any of the
    parent's clean-up (its windows, files and threads are not the child's)."""
    code = 0
    try:
        # Signals are the parent's to handle: it stops a segment, and a parent that dies closes
        # the pipe, which ends the child within a chunk.
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        signal.set_wakeup_fd(-1)
        gc.freeze()  # the parent's objects: never walked (and so never copied) by collections here
        trainer, structure, prepare_error = None, None, None
        sender = _Sender(conn)
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                return  # the parent is gone
            if kind == "prepare":
                wanted, build = payload
                trainer = structure = None
                try:
                    trainer, structure = _twin(dataset, *build), wanted
                except Exception as exc:  # noqa: BLE001 - said when training is asked for
                    prepare_error = exc
                continue
            if kind != "train":
                continue  # (a request that came after its segment ended)
            wanted, build, state, between_chunks = payload
            if build is not None or wanted != structure:
                trainer = structure = None
                if build is None:
                    message = f"The training process could not build the network: {prepare_error}"
                    sender.send(("failed", (None, _private_mb(), (message, ""), {})))
                    continue
                try:
                    trainer, structure = _twin(dataset, *build), wanted
                except Exception as exc:  # noqa: BLE001 - e.g. out of memory: the parent says why
                    sender.send(("failed", (None, _private_mb(), (f"The training process could not build the "
                                                                 f"network: {exc}", traceback.format_exc()), {})))
                    continue
            if not _segment(trainer, conn, sender, state, between_chunks):
                return
    except BaseException:  # noqa: BLE001 - the parent reports a lost process; nothing may escape a fork
        code = 1
    finally:
        os._exit(code)


def _twin(dataset, config, probe_indices, initial_weights):
    from .trainer import Trainer

    trainer = Trainer(dataset, config, probe_indices)
    trainer.initial_weights = initial_weights
    return trainer


def _segment(trainer, conn: Connection, sender: _Sender, state, between_chunks) -> bool:
    """One segment: False if the parent has gone."""
    ended, error = "stopped", None
    clock = time.perf_counter
    seconds = dict.fromkeys(("training", "snapshots", "requests", "between chunks"), 0.0)
    started = clock()
    try:
        import_state(trainer, state)
        while True:
            if sender.broken:
                return False  # the parent is gone
            if conn.poll(0):
                t = clock()
                kind, function = conn.recv()
                if kind == "stop":
                    break
                if kind == "snapshot":
                    sender.send(("snapshot", trainer.snapshot()))
                    seconds["snapshots"] += clock() - t
                else:
                    try:
                        result = function(trainer)
                    except Exception as exc:  # noqa: BLE001 - a refused value: reported, training goes on
                        sender.send(("error", (str(exc) or type(exc).__name__,
                                               "".join(traceback.format_exception(exc)))))
                        continue
                    if kind == "call":
                        sender.send(("call", result))
                    seconds["requests"] += clock() - t
            t = clock()
            trainer.run(max_seconds=CHUNK_SECONDS, evaluate_alongside=True)
            seconds["training"] += clock() - t
            if trainer.diverged:
                ended = "diverged"
                break
            if trainer.finished:
                ended = "finished"
                break
            if between_chunks is not None:
                t = clock()
                between_chunks(trainer)
                seconds["between chunks"] += clock() - t
        trainer.settle_evaluations()  # (here, an evaluation's error fails the segment, its steps kept)
    except (EOFError, OSError):
        return False
    except Exception as exc:  # noqa: BLE001 - reaches the user through the parent
        ended = "failed"
        error = (str(exc) or type(exc).__name__, "".join(traceback.format_exception(exc)))
        if isinstance(exc, MemoryError):
            error = ("Out of memory: use smaller layers or a smaller batch size.", error[1])
    try:
        state = export_state(trainer)
    except Exception as exc:  # noqa: BLE001 - the segment's work is lost, said so
        state = None
        error = (f"Could not hand the training state back ({exc}).", "".join(traceback.format_exception(exc)))
    seconds["segment"] = clock() - started
    try:
        sender.send((ended, (state, _private_mb(), error, seconds)))
    except (OSError, ValueError):
        return False
    sender.drain()
    return not sender.broken
