"""Soak test: a long run (100,000 steps by default) must not grow memory by more than ~50 MB,
and snapshots (what the panels render) must stay small and fast however long the run.

Run:  python benchmarks/soak.py [--steps 100000]
Prints the RSS growth, the curve sizes and the snapshot cost at the start and at the end, then
``RESULT soak_steps=<n> rss_growth_mb=<x> train_curve_points=<p> snapshot_ms_end=<t>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nn.config import TrainConfig  # noqa: E402
from nn.data import load_mnist  # noqa: E402
from nn.trainer import Trainer  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def snapshot_ms(trainer: Trainer, repeats: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        trainer.snapshot()
    return (time.perf_counter() - started) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args()
    dataset = load_mnist()
    config = TrainConfig(hidden=(32,), activation="relu", optimizer="adam", lr=0.001, batch_size=32,
                         epochs=None, iterations=args.steps, seed=1)
    trainer = Trainer(dataset, config, probe_indices=[0])
    trainer.set_pins(list(range(8)))
    trainer.run(max_steps=200)
    trainer.snapshot()
    start_rss, start_snap = rss_mb(), snapshot_ms(trainer)
    started = time.perf_counter()
    last_snapshot = time.perf_counter()
    while not trainer.finished and trainer.can_step:
        trainer.run(max_seconds=0.03)
        if time.perf_counter() - last_snapshot >= 0.04:  # as the GUI worker does
            trainer.snapshot()
            last_snapshot = time.perf_counter()
    seconds = time.perf_counter() - started
    end_rss, end_snap = rss_mb(), snapshot_ms(trainer)
    snap = trainer.snapshot()
    growth = end_rss - start_rss
    print(f"steps {trainer.step_count:,} in {seconds:.1f} s; RSS {start_rss:.0f} -> {end_rss:.0f} MB "
          f"(growth {growth:+.1f} MB)")
    print(f"curve points: train {len(snap.train_curve)}, test {len(snap.test_curve)}, "
          f"pins {[len(p.samples) for p in snap.pins]}; events {len(snap.events)}")
    print(f"snapshot cost: {start_snap:.2f} ms at the start, {end_snap:.2f} ms at the end")
    print(f"RESULT soak_steps={trainer.step_count} rss_growth_mb={growth:.1f} "
          f"train_curve_points={len(snap.train_curve)} snapshot_ms_end={end_snap:.2f}")


if __name__ == "__main__":
    main()
