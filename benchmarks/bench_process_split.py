"""What training in a process of its own would give the app: a measurement made before changing
the threading design (issue 14). Figures, not a test.

Run from the repository root (offscreen, or on a display):

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_process_split.py [RATE]

The window is built with every dock floating (every panel on screen, as ``bench_gui
--all-panels``), and its own renderer stopped; this script renders 40 real snapshots of a
``fast`` run in turn, every panel, RATE times a second (default 10), one panel per 1 ms timer
as the app's scheduler does. Meanwhile a second process trains the ``fast`` preset
headless for 12 s; the same is timed with the GUI idle. The last line is

    RESULT process_vs_alone=<training with the GUI rendering / alone> render_cycles_per_s=<f>
    gui_cpu_share=<f> stall_p99_ms=<x> stall_max_ms=<y>

(stalls: lateness of a 10 ms timer in the GUI thread beyond 10 ms, as in bench_gui).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):  # the person's settings stay untouched
    os.environ[_name] = os.path.join(tempfile.mkdtemp(prefix="bench-split-home-"), _name.lower())

import numpy as np  # noqa: E402
from PyQt6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

SECONDS = 12
TRAINER = """
import sys, time
sys.path.insert(0, {root!r})
from nn.fast.blas import use_training_threads
use_training_threads()
from nn.config import PRESETS
from nn.data import load_mnist
from nn.trainer import Trainer
trainer = Trainer(load_mnist(), PRESETS["fast"])
trainer.run(max_steps=20)
print("ready", flush=True)
sys.stdin.readline()
started, first = time.perf_counter(), trainer.samples_seen
while time.perf_counter() - started < {seconds} and trainer.can_step and not trainer.finished:
    trainer.run(max_seconds=0.03)
print((trainer.samples_seen - first) / (time.perf_counter() - started), flush=True)
"""


def train_beside(render) -> float:
    """Samples per second of a headless ``fast`` run in another process while ``render()`` runs
    the GUI's event loop for SECONDS (None: the GUI idle)."""
    proc = subprocess.Popen([sys.executable, "-c", TRAINER.format(root=str(ROOT), seconds=SECONDS)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("the training process did not start")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    if render is not None:
        render()
    rate = float(proc.stdout.readline())
    proc.wait()
    return rate


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    app = QApplication(sys.argv[:1])
    from nn.config import PRESETS
    from nn.trainer import Trainer
    from visualizer.main_window import MainWindow
    from visualizer.worker import State

    window = MainWindow(preset="fast", ask_to_save=False, autosave=False)
    window.show()
    while window.state != State.IDLE or window.last_snapshot is None:
        app.processEvents()
        time.sleep(0.01)
    window.rendering.stop()  # this script renders by hand
    for k, dock in enumerate(window.docks.values()):
        dock.setFloating(True)
        dock.show()
        dock.setGeometry(40 + (k % 4) * 420, 40 + (k // 4) * 330, 400, 310)
    app.processEvents()
    trainer = Trainer(window.dataset, PRESETS["fast"])
    snaps = []
    for _ in range(40):
        trainer.run(max_steps=25)
        trainer.evaluate_test()
        snaps.append(trainer.snapshot())
    panels = [p for p in window.panels() if window.on_screen(p)]
    measured: dict = {}

    def render() -> None:
        clock, last, gaps, queue, cycles = QElapsedTimer(), [0], [], [], [0]
        clock.start()

        def tick():
            now = clock.elapsed()
            gaps.append(now - last[0] - 10)
            last[0] = now

        def next_panel(snap):
            if queue:
                queue.pop(0).show_snapshot(snap)
                QTimer.singleShot(1, lambda: next_panel(snap))  # as the app's scheduler

        def cycle():
            snap = snaps[cycles[0] % len(snaps)]
            cycles[0] += 1
            queue.extend(panels)
            next_panel(snap)

        ticker, cycler = QTimer(), QTimer()
        ticker.setInterval(10)
        ticker.timeout.connect(tick)
        cycler.setInterval(round(1000 / rate))
        cycler.timeout.connect(cycle)
        cpu = time.thread_time()
        ticker.start()
        cycler.start()
        loop = QEventLoop()
        QTimer.singleShot(SECONDS * 1000, loop.quit)
        loop.exec()
        cycler.stop()
        ticker.stop()
        measured.update(cycles=cycles[0] / SECONDS, cpu=(time.thread_time() - cpu) / SECONDS, gaps=np.array(gaps))

    alone = train_beside(None)
    beside = train_beside(render)
    gaps = measured["gaps"]
    print(f"{len(panels)} panels on screen; training alone {alone:,.0f} samples/s, beside the GUI rendering "
          f"every panel {rate:g} times a second {beside:,.0f} samples/s")
    print(f"RESULT process_vs_alone={beside / alone:.3f} render_cycles_per_s={measured['cycles']:.1f} "
          f"gui_cpu_share={measured['cpu']:.2f} stall_p99_ms={np.percentile(gaps, 99):.1f} "
          f"stall_max_ms={gaps.max():.1f}")
    window.close()


if __name__ == "__main__":
    main()
