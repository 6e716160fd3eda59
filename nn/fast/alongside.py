"""Test evaluations beside training: in a thread, on a copy of the parameters.

Why: a whole test-set evaluation costs as much as a dozen mini-batch steps, and a test curve
with points from the first step on spends about a quarter of a short run's time on them. NumPy's
products release the GIL, so where a core is free an evaluation can run while training goes on.

What is evaluated is a copy of the network's parameters taken at the step the evaluation is
asked for, evaluated by the same code as in place: the numbers are the ones an evaluation in
place would give, bit for bit (``tests/engine/test_alongside.py``). Evaluations run one at a
time, in the order asked; the trainer takes their results, in that order, on its own thread, so
nothing here writes to the trainer. Memory stays bounded: at most :data:`MAX_PENDING` copies
(and fewer for big networks, see :func:`pending_limit`) exist at once; asking for one more waits
for the oldest.

No thread of this module outlives its evaluation, and :func:`wait_for_all` lets a process fork
with none running (``nn.training_process``).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable

MAX_PENDING = 4
MAX_COPY_BYTES = 64 * 2**20  # all pending copies of the parameters together, at most
# An evaluating thread's niceness: the lowest priority, so that it runs on what training and the
# window leave of the machine (measured against 10 and 0 in benchmarks/README.md).
NICENESS = 19

_running: "weakref.WeakSet[threading.Thread]" = weakref.WeakSet()
_running_lock = threading.Lock()


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


def pending_limit(param_bytes: int) -> int:
    return max(1, min(MAX_PENDING, MAX_COPY_BYTES // max(1, param_bytes)))


class _Evaluation:
    """One evaluation: its thread, what it was asked with, and, once done, its result."""

    def __init__(self, copy, work: Callable[[Any, Any], Any], context: Any, after: "_Evaluation | None"):
        self.copy, self.context = copy, context
        self.result: Any = None
        self.error: BaseException | None = None
        self.seconds = 0.0  # the evaluation's own CPU time (not the time it waited for a core)
        self.finished_at = 0.0
        self._thread = threading.Thread(target=self._run, args=(work, after), name="test evaluation",
                                        daemon=True)

    def _run(self, work, after: "_Evaluation | None") -> None:
        _yield_to_others()
        if after is not None:
            after._thread.join()  # one at a time: two would only take turns on the spare core
        started = time.thread_time()
        try:
            self.result = work(self.copy, self.context)
        except BaseException as exc:  # noqa: BLE001 - handed to the trainer's thread, raised there
            self.error = exc
        self.finished_at = time.perf_counter()
        self.seconds = time.thread_time() - started

    def start(self) -> None:
        with _running_lock:  # (started under the lock: wait_for_all never sees one unstarted)
            _running.add(self._thread)
            self._thread.start()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self) -> None:
        self._thread.join()


class EvaluationsAlongside:
    """Evaluations of copies of ``net`` (see the module's docstring).

    ``make_copy()`` builds an independent network of the same structure, ``copy_into(copy)``
    writes the current parameters into one; copies are reused once their evaluation is taken.
    """

    def __init__(self, make_copy: Callable[[], Any], copy_into: Callable[[Any], None], limit: int):
        self._make_copy, self._copy_into = make_copy, copy_into
        self.limit = max(1, limit)
        self._pending: deque[_Evaluation] = deque()
        self._idle: list = []

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def newest_context(self) -> Any:
        """The context of the newest pending evaluation (there must be one)."""
        return self._pending[-1].context

    def submit(self, work: Callable[[Any, Any], Any], context: Any = None) -> list[_Evaluation]:
        """Start ``work(copy, context)`` on a copy of the parameters as they are now. Returns evaluations
        that had to be waited for to make room, oldest first (for the caller to take)."""
        waited = []
        while len(self._pending) >= self.limit:
            waited += self._take(wait=True, only_one=True)
        copy = self._idle.pop() if self._idle else self._make_copy()
        self._copy_into(copy)
        evaluation = _Evaluation(copy, work, context, self._pending[-1] if self._pending else None)
        self._pending.append(evaluation)
        evaluation.start()
        return waited

    def finished(self) -> list[_Evaluation]:
        """The evaluations done so far, in the order asked, up to the first still running."""
        return self._take(wait=False)

    def wait(self) -> list[_Evaluation]:
        """Every pending evaluation, once done, in the order asked."""
        return self._take(wait=True)

    def _take(self, wait: bool, only_one: bool = False) -> list[_Evaluation]:
        taken = []
        while self._pending and (wait or self._pending[0].done):
            evaluation = self._pending.popleft()
            evaluation.join()
            self._idle.append(evaluation.copy)
            evaluation.copy = None
            taken.append(evaluation)
            if only_one:
                break
        return taken
