"""Sweep benchmark: the same 4-run grid with --jobs 1 and --jobs 2. Figures, not a test.

The grid is the ``fast`` preset for one epoch each, at learning rates 0.001 and 0.003 and seeds
1 and 2, through ``nn.sweep.run_sweep`` (joblib's loky backend, one BLAS thread per run). Each
side's time includes starting its worker processes and loading the data in them, as a person
running ``python -m nn sweep`` pays it.

Run from the repository root:

    PYTHONPATH=. python benchmarks/bench_sweep.py

The last line is machine-readable:

    RESULT sweep_speedup=<jobs-1 time / jobs-2 time> runs_ok=<runs that ended normally, of 4, in the jobs-2 sweep>
"""

from __future__ import annotations

import os
import sys
import time

from nn.config import PRESETS
from nn.sweep import grid, run_sweep


def timed_sweep(configs, jobs: int) -> tuple[float, list]:
    started = time.perf_counter()
    results = run_sweep(configs, None, jobs=jobs)
    return time.perf_counter() - started, results


def main() -> int:
    configs = grid(PRESETS["fast"], {"epochs": "1", "lr": "0.001,0.003", "seed": "1,2"})
    print(f"Python {sys.version.split()[0]}, CPUs {os.cpu_count()}; {len(configs)} runs of "
          f"{configs[0].describe()}, 1 epoch each")
    one, _ = timed_sweep(configs, 1)
    print(f"  --jobs 1: {one:.1f} s")
    two, results = timed_sweep(configs, 2)
    print(f"  --jobs 2: {two:.1f} s")
    for r in results:
        accuracy = r.record.final_test_accuracy
        print(f"    run {r.index + 1}: {r.status}, lr {r.record.config.lr}, seed {r.record.config.seed}, "
              f"test {accuracy * 100:.2f} %" if accuracy is not None else f"    run {r.index + 1}: {r.status}")
    ok = sum(r.status == "ok" for r in results)
    print(f"RESULT sweep_speedup={one / two:.2f} runs_ok={ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
