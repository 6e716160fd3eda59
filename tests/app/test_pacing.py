"""Render pacing: the pacer keeps the GUI thread's CPU time within its budget (fake clocks:
exact), and while training the window renders at the pacer's pace without ever losing the newest
snapshot (visualizer/pacing.py, visualizer/rendering.py)."""

from __future__ import annotations

import time

import pytest

from visualizer.main_window import MainWindow
from visualizer.pacing import RenderBudget, RenderPacer
from visualizer.worker import State

TIMEOUT_MS = 30_000


class FakeClocks:
    def __init__(self):
        self.wall = 100.0
        self.cpu = 5.0

    def advance(self, wall: float, cpu: float = 0.0) -> None:
        self.wall += wall
        self.cpu += cpu


def make(duty=0.1, **kwargs):
    clocks = FakeClocks()
    pacer = RenderPacer(duty=duty, clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu, **kwargs)
    return pacer, clocks


def test_cheap_renders_run_at_the_highest_rate():
    pacer, clocks = make(duty=0.1, min_interval_s=0.05)
    assert pacer.wait_s() == 0
    for _ in range(10):
        pacer.started()
        clocks.advance(0.001, cpu=0.001)  # 1 ms of GUI work per 50 ms cycle: 2 %
        pacer.finished()
        clocks.advance(0.049)
    assert pacer.interval_s == pytest.approx(0.05)
    assert pacer.wait_s() == 0


def test_costly_renders_are_spaced_to_keep_within_the_duty():
    pacer, clocks = make(duty=0.1, min_interval_s=0.05, max_interval_s=1.0)
    for _ in range(40):
        wait = pacer.wait_s()
        clocks.advance(wait)
        pacer.started()
        clocks.advance(0.02, cpu=0.02)  # a render costs 20 ms of CPU
        pacer.finished()
    assert pacer.interval_s == pytest.approx(0.2, rel=1e-3)  # 20 ms / 10 %
    # and so the GUI thread renders for 10 % of the time
    start_wall, start_cpu = clocks.wall, clocks.cpu
    for _ in range(20):
        clocks.advance(pacer.wait_s())
        pacer.started()
        clocks.advance(0.02, cpu=0.02)
        pacer.finished()
    assert (clocks.cpu - start_cpu) / (clocks.wall - start_wall) == pytest.approx(0.1, rel=0.06)


def test_work_between_renders_is_not_counted_as_render_cost():
    pacer, clocks = make(duty=0.1, min_interval_s=0.05, max_interval_s=1.0)
    for _ in range(10):
        clocks.advance(pacer.wait_s(), cpu=0.05)  # e.g. a person dragging a slider meanwhile
        pacer.started()
        clocks.advance(0.005, cpu=0.005)
        pacer.finished()
    assert pacer.render_cost_s == pytest.approx(0.005)
    assert pacer.interval_s == pytest.approx(0.05)


def test_a_render_asked_for_too_soon_waits_for_the_rest_of_the_interval():
    pacer, clocks = make(duty=0.1, min_interval_s=0.05)
    pacer.started()
    clocks.advance(0.02, cpu=0.02)
    pacer.finished()  # cost 20 ms -> interval 200 ms
    clocks.advance(0.03)
    assert pacer.wait_s() == pytest.approx(0.15)


def test_the_interval_is_bounded_however_costly_a_render_is():
    pacer, clocks = make(duty=0.05, max_interval_s=0.5)
    pacer.started()
    clocks.advance(1.0, cpu=1.0)
    pacer.finished()
    assert pacer.interval_s == 0.5


def test_reset_lets_the_next_render_start_at_once():
    pacer, clocks = make(duty=0.1)
    pacer.started()
    clocks.advance(0.05, cpu=0.05)
    pacer.finished()
    assert pacer.wait_s() > 0
    pacer.reset()
    assert pacer.wait_s() == 0


def test_duty_must_be_a_fraction():
    with pytest.raises(ValueError):
        RenderPacer(duty=0)


def test_the_other_panels_budget_refills_at_its_duty_up_to_its_burst():
    clocks = FakeClocks()
    budget = RenderBudget(duty=0.1, burst_s=0.05, clock=lambda: clocks.wall)
    assert budget.available_s() == pytest.approx(0.05)  # a full burst at first
    budget.spend(0.08)  # a costly render: in debt ...
    assert budget.available_s() == pytest.approx(-0.03)
    clocks.advance(0.2)
    assert budget.available_s() == pytest.approx(-0.01)  # ... repaid at 10 % of wall time
    clocks.advance(100)
    assert budget.available_s() == pytest.approx(0.05)  # never more than the burst
    budget.spend(1.0)  # a render far costlier than the burst ...
    assert budget.available_s() == pytest.approx(-0.05)  # ... leaves a debt of one burst at most
    with pytest.raises(ValueError):
        RenderBudget(duty=1.5)


# -- in the window -----------------------------------------------------------------------------------

def open_window(qtbot, data):
    win = MainWindow(preset="fast", data=data, ask_to_save=False, autosave=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state == State.IDLE and win.last_snapshot is not None, timeout=TIMEOUT_MS)
    win.worker.trainer.set_run_length(100_000, None)  # not to finish during the test, on any machine
    return win


def record_render_starts(pacer) -> list[float]:
    """The pacer's clock at the start of each render."""
    starts, started = [], pacer.started

    def recorded():
        started()
        starts.append(pacer._last_start)

    pacer.started = recorded
    return starts


def pause_and_expect_the_newest_snapshot_at_once(qtbot, win, trainer):
    # No more than an hour between renders while training, so "at once" cannot mean "after the interval".
    win.rendering.pacer.min_interval_s = win.rendering.pacer.max_interval_s = 3600
    win.controls.pause_action.trigger()
    qtbot.waitUntil(lambda: win.state == State.PAUSED, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.last_snapshot.step == trainer.step_count, timeout=TIMEOUT_MS)


def test_renders_are_spaced_by_the_pacer_and_every_panel_sees_each_snapshot(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    pacer = win.rendering.pacer
    pacer.min_interval_s = 0.25  # as if each render cost a lot of CPU
    starts = record_render_starts(pacer)
    shown, complete = [], []

    def on_shown(snap):  # snapshot_shown comes once every panel on screen has the snapshot
        shown.append(snap)
        complete.append(win.loss_panel._snap is snap and win.accuracy_panel._snap is snap)

    win.snapshot_shown.connect(on_shown)
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=TIMEOUT_MS)
    shown.clear()
    complete.clear()
    del starts[:]
    qtbot.waitUntil(lambda: len(shown) >= 4, timeout=TIMEOUT_MS)
    # 12 a second would be offered; each render starts at least the pacer's interval after the last.
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.25
    assert [s.step for s in shown] == sorted(s.step for s in shown)
    assert all(complete)
    # Paused: the newest snapshot is shown at once, not after the pacer's interval
    pause_and_expect_the_newest_snapshot_at_once(qtbot, win, win.worker.trainer)
    win.close()


def test_closing_while_a_snapshot_is_held_back_is_clean(qtbot, small_mnist):
    win = open_window(qtbot, small_mnist)
    win.rendering.pacer.min_interval_s = 0.5
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: win.rendering.holding_back, timeout=TIMEOUT_MS)
    shown = []
    win.snapshot_shown.connect(shown.append)
    win.close()
    qtbot.wait(700)  # the held-back render's time passes: nothing renders into the closed window
    assert not win.rendering.holding_back and not shown
    assert win.training_thread.isFinished()


def test_the_worker_builds_snapshots_only_shortly_before_the_gui_takes_one(qtbot, small_mnist):
    """While renders are spaced out, the worker does not build a snapshot every 66 ms only to
    replace it: it refreshes the waiting one shortly before the GUI comes for it, so what the
    GUI takes is still fresh."""
    win = open_window(qtbot, small_mnist)
    interval = win.rendering.pacer.min_interval_s = 0.5
    trainer, worker = win.worker.trainer, win.worker
    built, ages = {}, []
    post, take = worker._post, worker.take_snapshot  # (the snapshot is made here or in the training process)

    def counted_post(snap, now=None):
        built[id(snap)] = (snap, time.monotonic())
        post(snap, now)

    def timed_take():
        snap = take()
        if snap is not None and id(snap) in built:
            ages.append(time.monotonic() - built[id(snap)][1])
        return snap

    worker._post, worker.take_snapshot = counted_post, timed_take
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: len(ages) >= 2, timeout=TIMEOUT_MS)
    built.clear()
    ages.clear()
    qtbot.waitUntil(lambda: len(ages) >= 4, timeout=TIMEOUT_MS)
    renders = len(ages)
    assert len(built) <= 3 * renders + 2  # not one every 66 ms: 7 or more per render
    assert sorted(ages)[len(ages) // 2] < interval / 2  # taken soon after it was made
    pause_and_expect_the_newest_snapshot_at_once(qtbot, win, trainer)
    win.close()


def test_costly_panels_take_their_turns_from_their_own_budget_not_from_the_curves(qtbot, small_mnist):
    """A panel that costs 40 ms of GUI-thread time per render (as if it were huge) renders less
    often; the curves keep their pace. Counted over the same interval: no fixed times."""
    win = open_window(qtbot, small_mnist)
    counts = {"loss": 0, "costly": 0}
    loss_render, costly_render = win.loss_panel.show_snapshot, win.class_panel.show_snapshot

    def loss(snap):
        counts["loss"] += 1
        loss_render(snap)

    def costly(snap):
        counts["costly"] += 1
        started = time.thread_time()
        while time.thread_time() - started < 0.04:
            pass
        costly_render(snap)

    win.loss_panel.show_snapshot, win.class_panel.show_snapshot = loss, costly
    assert win.on_screen(win.class_panel)
    win.controls.start_action.trigger()
    qtbot.waitUntil(lambda: counts["costly"] >= 2 and counts["loss"] >= 12, timeout=TIMEOUT_MS)
    assert counts["loss"] >= 2 * counts["costly"]
    win.close()
