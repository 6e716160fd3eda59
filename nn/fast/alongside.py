"""Test evaluations beside training: in a thread, on a copy of the parameters.

Why: a whole test-set evaluation costs as much as a dozen mini-batch steps, and a test curve
with points from the first step on spends about a quarter of a short run's time on them. NumPy's
products release the GIL, so where a core is free an evaluation can run while training goes on.

What is evaluated is a copy of the network's parameters taken at the step the evaluation is
asked for, evaluated by the same code as in place: the numbers are the ones an evaluation in
place would give, bit for bit (``tests/engine/test_alongside.py``). One evaluation runs at a
time; the trainer takes its result on its own thread, so nothing here writes to the trainer.
The thread runs at the lowest priority, on what training and the window leave of the machine;
where that is nothing (other programs keep every core busy), the trainer takes the evaluation
over and makes it in place (:meth:`EvaluationsAlongside.take`). Memory stays bounded: threads
hold at most :data:`MAX_COPIES` copies of the parameters, fewer for big networks
(:func:`copy_limit`), and one more waits for reuse.

No thread of this module writes anything but its own result, and :func:`wait_for_all` lets a
process fork with none running (``nn.training_process``).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Any, Callable

MAX_COPIES = 4
MAX_COPY_BYTES = 64 * 2**20  # all copies of the parameters together, at most
# An evaluating thread's niceness: the lowest priority, so that it runs on what training and the
# window leave of the machine (measured against 10 and 0 in benchmarks/README.md).
NICENESS = 19

_running: "weakref.WeakSet[threading.Thread]" = weakref.WeakSet()
_running_lock = threading.Lock()


def _alive() -> int:
    """Evaluation threads of this process still running (each holds a copy of a network)."""
    with _running_lock:
        return sum(1 for thread in _running if thread.is_alive())


def wait_for_all() -> None:
    """Wait until no evaluation thread of this process runs (before a fork)."""
    with _running_lock:
        threads = list(_running)
    for thread in threads:
        thread.join()


def spare_core() -> bool:
    """Whether this process may run on more than one core (else evaluations beside training
    would only take turns with it)."""
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # (not on every platform)
        return (os.cpu_count() or 1) > 1


def _yield_to_others() -> None:
    """A low priority for this thread, where the system allows: it runs mostly on what the other
    threads and processes leave of the machine (in the app, the window's renders come first)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError):
        pass


def copy_limit(param_bytes: int) -> int:
    """How many copies of the parameters may exist at once (see :class:`EvaluationsAlongside`)."""
    return max(1, min(MAX_COPIES, MAX_COPY_BYTES // max(1, param_bytes)))


class _Evaluation:
    """One evaluation: its thread, what it was asked with, and, once done, its result."""

    def __init__(self, copy, work: Callable[[Any, Any], Any], context: Any):
        self.copy, self.work, self.context = copy, work, context
        self.result: Any = None
        self.error: BaseException | None = None
        self.seconds = 0.0  # its own CPU time in the thread (not the time it waited for a core)
        self.asked_at = time.perf_counter()
        self.finished_at = 0.0
        self.made_here = False  # on the caller's thread, instead of its own (see take)
        self._thread = threading.Thread(target=self._run, name="test evaluation", daemon=True)

    def _run(self) -> None:
        _yield_to_others()
        started = time.thread_time()
        self.compute()
        self.seconds = time.thread_time() - started

    def compute(self) -> None:
        try:
            self.result = self.work(self.copy, self.context)
        except BaseException as exc:  # noqa: BLE001 - handed to the trainer's thread, raised there
            self.error = exc
        self.finished_at = time.perf_counter()

    def start(self) -> None:
        with _running_lock:  # (started under the lock: wait_for_all never sees one unstarted)
            _running.add(self._thread)
            self._thread.start()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()


class EvaluationsAlongside:
    """One evaluation at a time beside training, on a copy of the network (see the module's
    docstring).

    ``make_copy()`` builds an independent network of the same structure; ``copy_params(copy,
    source)`` writes the parameters of ``source`` (None: the trainer's own network) into a copy.
    Copies are reused once their evaluation is taken.

    Where the machine has no core to spare after all (other programs keep both busy), a thread at
    the lowest priority hardly runs: :meth:`take` then evaluates the same parameters on the
    caller's thread, and the thread's own result is dropped when it comes. Such a thread keeps its
    copy until it ends; while ``limit`` threads of this process run, :attr:`has_room` is False and
    the caller evaluates in place.
    """

    def __init__(self, make_copy: Callable[[], Any], copy_params: Callable[[Any, Any], None], limit: int):
        self._make_copy, self._copy_params = make_copy, copy_params
        self.limit = max(1, limit)
        self._pending: _Evaluation | None = None
        self._idle: list = []

    @property
    def pending(self) -> bool:
        return self._pending is not None

    @property
    def pending_context(self) -> Any:
        return self._pending.context

    @property
    def has_room(self) -> bool:
        return self._pending is None and _alive() < self.limit

    def running_longer_than(self, seconds: float) -> bool:
        return self._pending is not None and time.perf_counter() - self._pending.asked_at > seconds

    def submit(self, work: Callable[[Any, Any], Any], context: Any = None) -> None:
        """Start ``work(copy, context)`` on a copy of the parameters as they are now (only when
        :attr:`has_room`)."""
        if not self.has_room:
            raise RuntimeError("an evaluation is still running beside training")
        copy = self._idle.pop() if self._idle else self._make_copy()
        self._copy_params(copy, None)
        self._pending = _Evaluation(copy, work, context)
        self._pending.start()

    def finished(self) -> _Evaluation | None:
        """The pending evaluation if it is done (then it is no longer pending), else None."""
        if self._pending is None or not self._pending.done:
            return None
        return self.take()

    def take(self) -> _Evaluation | None:
        """The pending evaluation, now: as its thread made it if done, else made on this thread
        from the same parameters (``seconds`` is then this thread's time)."""
        evaluation, self._pending = self._pending, None
        if evaluation is None:
            return None
        if evaluation.done:
            self._idle.append(evaluation.copy)
            evaluation.copy = None
            return evaluation
        copy = self._idle.pop() if self._idle else self._make_copy()
        self._copy_params(copy, evaluation.copy)  # (the thread only reads them)
        instead = _Evaluation(copy, evaluation.work, evaluation.context)
        instead.made_here = True
        started = time.perf_counter()
        instead.compute()
        instead.seconds = time.perf_counter() - started
        self._idle.append(copy)
        instead.copy = None
        return instead
