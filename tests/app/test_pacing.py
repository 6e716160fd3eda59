"""The render pacer keeps the GUI thread's CPU time within its budget (fake clocks: exact)."""

from __future__ import annotations

import pytest

from visualizer.pacing import RenderPacer


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
