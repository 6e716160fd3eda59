"""GUI benchmark: the real app, offscreen, against the headless engine on the same workload.

Run:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--preset fast] [--repeats 1] [--all-panels]

Prints a table and a last line
``RESULT gui_vs_headless=<r> stall_p99_ms=<x> stall_max_ms=<y> seconds_to_98=<s> startup_s=<s>
peak_rss_mb=<m> renders_per_s_curves=<f> renders_per_s_panels=<f> test_points_first_epoch=<n>
first_test_point_step=<n>``.

- gui_vs_headless: samples/s in the app (wall clock from pressing Start to the end of the run,
  all panels live) divided by samples/s of the same run headless (wall clock of Trainer.run).
- stall: how late a 10 ms timer in the GUI thread fires while training (lateness beyond 10 ms).
- seconds_to_98: wall seconds from pressing Start until the window shows >= 98 % test accuracy.
- startup_s: from the start of this script (before Qt is imported) until the window is shown.
- peak_rss_mb: the app's peak resident memory: the window's process, plus the memory of its
  training process (nn.training_process) that is not shared with it.
- renders_per_s_curves: how often the loss and accuracy plots were given a snapshot to show,
  per second of the run (the lower of the two); renders_per_s_panels: the lowest such rate over
  the other panels on screen. (A panel whose data has not changed since it last rendered, e.g.
  the confusion matrix between test evaluations, counts the render and skips the drawing.)
- test_points_first_epoch: test evaluations the window's curves show in the first epoch;
  first_test_point_step: the first step after 0 with one.

Rates and ratios are medians over the repeats; test points the fewest, the first step the latest.
``--profile-panels`` adds each panel's GUI-thread CPU per render and per paint of its widgets.
"""

from __future__ import annotations

import compileall
import pathlib
import time

# The project's bytecode compiled first, as an installed app has it (pip compiles at install; a
# person's first launch writes it): where PYTHONDONTWRITEBYTECODE is set, as on our CI machines,
# every launch would compile the app's sources again, and the startup figure would measure that.
for _package in ("nn", "visualizer"):
    compileall.compile_dir(pathlib.Path(__file__).resolve().parents[1] / _package, quiet=2)

SCRIPT_START = time.perf_counter()

import argparse  # noqa: E402
import atexit  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Settings of its own, set before Qt reads them: every run measures the default layout (not the
# last run's floating docks), and the person's own settings and autosaves stay untouched.
_home = __import__("tempfile").mkdtemp(prefix="bench-gui-home-")
atexit.register(shutil.rmtree, _home, ignore_errors=True)
for _name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
    os.environ[_name] = os.path.join(_home, _name.lower())
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    # A desktop-sized screen (the offscreen platform's own is 800 x 800): the window adapts its
    # layout to the screen, and what is measured is the window as people see it, 1560 x 960.
    import tempfile  # noqa: E402

    _screen = Path(tempfile.gettempdir()) / "bench-gui-screen-1920x1080.json"
    _screen.write_text('{"screens": [{"name": "bench", "x": 0, "y": 0, "width": 1920, "height": 1080, '
                       '"logicalDpi": 96}]}')
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screen}"

import numpy as np  # noqa: E402
from PyQt6 import sip  # noqa: E402
from PyQt6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PyQt6.QtWidgets import QApplication  # noqa: E402

TRACE = bool(os.environ.get("BENCH_TRACE"))  # print every slow event and stall (with --profile-panels)


class PanelClock:
    """Counts each panel's renders and, with ``profile``, the GUI thread's CPU time (ms) of each
    render and of each paint of the panel's widgets (by panel class name)."""

    def __init__(self, profile: bool):
        self.profile = profile
        self.counting = False  # renders are counted only while the measured run trains
        self.renders: dict[str, int] = {}
        self.render_ms: dict[str, list[float]] = {}
        self.paint_ms: dict[str, list[float]] = {}
        self._owner: dict[int, str | None] = {}
        self._panels: dict[int, str] = {}
        self.slowest: list[tuple[float, float, str]] = []  # (ms, time.monotonic(), "panel render/paint")

    def wrap(self, window) -> None:
        """Every panel built so far (call once the data has loaded)."""
        for panel in window.panels():
            if id(panel) in self._panels:
                continue
            name, render = type(panel).__name__, panel.show_snapshot
            self._panels[id(panel)] = name

            def timed(snap, render=render, name=name):
                started = time.thread_time()
                render(snap)
                if self.counting:
                    self.renders[name] = self.renders.get(name, 0) + 1
                    if self.profile:
                        ms = 1000 * (time.thread_time() - started)
                        self.render_ms.setdefault(name, []).append(ms)
                        self.slowest.append((ms, time.monotonic(), f"{name} render"))

            panel.show_snapshot = timed

    def panel_of(self, widget) -> str | None:
        key = sip.unwrapinstance(widget)  # (a C++ widget's Python wrapper may not live long)
        if key not in self._owner:
            w, name = widget, None
            while w is not None and name is None:
                name = self._panels.get(id(w))
                w = w.parentWidget() if hasattr(w, "parentWidget") else None
            self._owner[key] = name
        return self._owner[key]

    def painted(self, widget, ms: float) -> None:
        if not self.counting:
            return
        name = self.panel_of(widget) or "(other widgets)"
        self.paint_ms.setdefault(name, []).append(ms)
        self.slowest.append((ms, time.monotonic(), f"{name} paint of {type(widget).__name__}"))

    def wrap_taken(self, window) -> None:
        """The status bar and controls, updated with each snapshot taken."""
        scheduler, taken = window.rendering, window.rendering._taken

        def timed(snap):
            started = time.thread_time()
            taken(snap)
            if self.counting and self.profile:
                self.render_ms.setdefault("(status bar, controls)", []).append(1000 * (time.thread_time() - started))

        scheduler._taken = timed


def make_app(profile: bool) -> QApplication:
    if QApplication.instance() is not None:
        return QApplication.instance()
    if not profile:
        return QApplication(sys.argv[:1])
    from PyQt6.QtCore import QEvent
    from PyQt6.QtWidgets import QWidget

    paint = QEvent.Type.Paint

    class ProfilingApp(QApplication):
        """Times the paint events of the panels' widgets (only for --profile-panels: a Python
        notify() for every event of the application costs time of its own)."""

        def notify(self, receiver, event):
            kind = event.type()
            timed_paint = kind == paint and isinstance(receiver, QWidget)
            traced = TRACE and app.clock is not None and app.clock.counting
            if not (timed_paint or traced):
                return super().notify(receiver, event)
            started, wall = time.thread_time(), time.monotonic()
            try:
                return super().notify(receiver, event)
            finally:
                if app.clock is not None:
                    if timed_paint:
                        app.clock.painted(receiver, 1000 * (time.thread_time() - started))
                    ms = 1000 * (time.monotonic() - wall)
                    if traced and ms > 4:
                        app.clock.slowest.append((0.0, time.monotonic(),
                                                  f"event {kind.name} to {type(receiver).__name__}: {ms:.1f} ms wall"))

    app = ProfilingApp(sys.argv[:1])
    app.clock = None
    return app


def run_gui(preset: str, all_panels: bool = False, profile: bool = False) -> dict:
    app = make_app(profile)
    panel_clock = PanelClock(profile)
    app.clock = panel_clock if profile else None
    from visualizer.main_window import MainWindow
    from visualizer.worker import State

    window = MainWindow(preset=preset, ask_to_save=False, autosave=False)
    window.show()
    app.processEvents()
    startup = time.perf_counter() - SCRIPT_START
    if all_panels:  # every dock floats in its own window, so every panel is on screen and live
        for k, dock in enumerate(window.docks.values()):
            dock.setFloating(True)
            dock.show()
            dock.setGeometry(40 + (k % 4) * 420, 40 + (k // 4) * 330, 400, 310)
        app.processEvents()
        hidden = [name for name, dock in window.docks.items() if not window.on_screen(dock.widget())]
        if hidden:
            raise SystemExit(f"panels not on screen: {hidden}")

    result: dict = {"startup_s": startup}
    gaps: list[float] = []
    gap_times: list[float] = []  # ms after Start, of each sample
    clock = QElapsedTimer()
    stall_timer = QTimer()
    stall_timer.setInterval(10)
    last = [0]

    def tick():
        now = clock.elapsed()
        if window.state == State.TRAINING:
            gaps.append(now - last[0] - 10)
            gap_times.append(now)
            if os.environ.get("BENCH_TRACE") and gaps[-1] > 15:
                panel_clock.slowest.append((0.0, time.monotonic(), f"STALL {gaps[-1]:.0f} ms ends"))
        last[0] = now

    stall_timer.timeout.connect(tick)
    start_time = [None]
    shown_98 = [None]
    snapshots = [0]

    def on_snapshot(snap):
        snapshots[0] += 1
        if (start_time[0] is not None and shown_98[0] is None and snap.test is not None
                and snap.test.accuracy >= 0.98):
            shown_98[0] = time.perf_counter() - start_time[0]
            result["step_98"] = snap.test.step

    window.snapshot_shown.connect(on_snapshot)
    deadline = time.perf_counter() + 60
    while window.state != State.IDLE or window.last_snapshot is None:
        app.processEvents()
        time.sleep(0.005)
        if time.perf_counter() > deadline:
            raise SystemExit("the app did not become ready within 60 s")
    panel_clock.wrap(window)  # every panel is built once the data has loaded
    panel_clock.wrap_taken(window)
    # From here on the app runs in Qt's own event loop, as it does for a user (a polling loop of
    # processEvents() and sleep() would wake the GUI thread a thousand times a second and take
    # the GIL from the training thread each time).
    # A person needs a moment to find the Start button: the window's first layout and paint of
    # every plot happen before, not during, the measured run.
    settle = QEventLoop()
    QTimer.singleShot(500, settle.quit)
    settle.exec()
    loop = QEventLoop()
    ended = [None]
    watcher = QTimer()  # a fallback; the end is normally seen with the final snapshot
    watcher.setInterval(50)

    def check_done():
        if window.state in (State.FINISHED, State.DIVERGED):
            ended[0] = time.perf_counter()
            loop.quit()
        elif time.perf_counter() - start_time[0] > 600:
            loop.quit()

    watcher.timeout.connect(check_done)
    window.snapshot_shown.connect(lambda _snap: check_done())
    clock.start()
    stall_timer.start()
    watcher.start()
    visible = [type(p).__name__ for p in window.panels() if window.on_screen(p)]  # (laid out by now)
    start_time[0] = time.perf_counter()
    panel_clock.started = time.monotonic()
    gui_cpu = time.thread_time()
    panel_clock.counting = True
    window.controls.start_action.trigger()
    loop.exec()
    panel_clock.counting = False
    gui_cpu = time.thread_time() - gui_cpu
    watcher.stop()
    if ended[0] is None:
        raise SystemExit("the GUI run did not finish within 600 s")
    wall = ended[0] - start_time[0]
    stall_timer.stop()
    trainer = window.worker.trainer
    result["in_steps_s"], result["evaluating_s"] = trainer.train_seconds, trainer.eval_seconds
    result["process_seconds"] = dict(window.worker.last_segment_seconds)
    cost = window.rendering.pacer.render_cost_s
    result["render_cost_ms"] = 1000 * cost if cost is not None else float("nan")
    # The app's peak: the window's process, plus the pages of its training process that are its
    # own (most of a forked child's memory is the window process's, shared, counted once).
    result["training_process_mb"] = window.worker.training_process_mb
    result["peak_rss_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                             + window.worker.training_process_mb)
    result["dataset"] = window.dataset
    result["gui_cpu_share"] = gui_cpu / wall
    rates = {name: panel_clock.renders.get(name, 0) / wall for name in visible}
    curves = [rates[name] for name in ("LossPanel", "AccuracyPanel") if name in rates]
    others = [rate for name, rate in rates.items() if name not in ("LossPanel", "AccuracyPanel")]
    result["render_rates"] = rates
    result["renders_per_s_curves"] = min(curves) if curves else 0.0
    result["renders_per_s_panels"] = min(others) if others else float("nan")
    result["render_ms"], result["paint_ms"] = panel_clock.render_ms, panel_clock.paint_ms
    if profile:
        slowest = sorted(panel_clock.slowest, reverse=True)[:12]
        if os.environ.get("BENCH_TRACE"):
            for ms, at, name in sorted(panel_clock.slowest, key=lambda e: e[1]):
                if ms > 4 or name.startswith(("STALL", "event")):
                    print(f"  {at - panel_clock.started:7.3f} {ms:5.1f} {name}")
        print("slowest renders and paints: " + ", ".join(
            f"{name} {ms:.0f} ms at {at - panel_clock.started:.2f} s" for ms, at, name in slowest))
    # The test points the window shows (its last snapshot's test curve): in the first epoch, and
    # the first after step 0.
    test = window.last_snapshot.test_curve
    first_epoch = (test.samples > 0) & (test.samples <= window.last_snapshot.n_train)
    result["test_points_first_epoch"] = int(np.count_nonzero(first_epoch))
    later = test.step[test.step > 0]
    result["first_test_point_step"] = int(later.min()) if len(later) else None
    result.update(samples=trainer.samples_seen, wall=wall, samples_per_s=trainer.samples_seen / wall,
                  test_accuracy=trainer.last_test.accuracy, snapshots=snapshots[0],
                  seconds_to_98=shown_98[0], gaps=np.array(gaps) if gaps else np.zeros(1),
                  gap_times=np.array(gap_times) if gaps else np.zeros(1))
    window.close()
    app.processEvents()
    return result


def run_headless(preset: str, dataset) -> dict:
    from nn.config import PRESETS
    from nn.trainer import Trainer

    trainer = Trainer(dataset, PRESETS[preset])
    started = time.perf_counter()
    while not trainer.finished and trainer.can_step:
        trainer.run(max_seconds=0.03, evaluate_alongside=True)
    wall = time.perf_counter() - started
    return {"samples": trainer.samples_seen, "wall": wall, "samples_per_s": trainer.samples_seen / wall,
            "in_steps_s": trainer.train_seconds, "evaluating_s": trainer.eval_seconds,
            "test_accuracy": trainer.last_test.accuracy, "seconds_to_98": trainer.seconds_to_98}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--all-panels", action="store_true",
                        help="float every dock in its own window, so that every panel renders")
    parser.add_argument("--profile-panels", action="store_true",
                        help="also print each panel's render time (mean and max wall ms)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="GUI and headless runs, in pairs: the RESULT line gives the median ratio and "
                             "98 %% time, and the stalls of all runs together (one 5-s run varies by +-5 %%)")
    args = parser.parse_args()

    pairs = []
    for k in range(max(1, args.repeats)):
        gui = run_gui(args.preset, args.all_panels, args.profile_panels)
        headless = run_headless(args.preset, gui.pop("dataset"))  # the same data, already in memory
        pairs.append((gui, headless))
        if args.repeats > 1:
            print(f"run {k + 1}: GUI/headless {gui['samples_per_s'] / headless['samples_per_s']:.3f}, "
                  f"98 % after {gui['seconds_to_98'] or float('nan'):.2f} s (step {gui.get('step_98')}), "
                  f"{gui['snapshots']} renders, "
                  f"stall max {gui['gaps'].max():.0f} ms; in the app {gui['samples'] / gui['in_steps_s']:,.0f} "
                  f"samples per second of steps, {gui['evaluating_s']:.2f} s of test evaluations; headless "
                  f"{headless['samples'] / headless['in_steps_s']:,.0f}, {headless['evaluating_s']:.2f} s", flush=True)
            if gui["process_seconds"]:
                print("  the training process's last segment, seconds: " + ", ".join(
                    f"{name} {value:.2f}" for name, value in gui["process_seconds"].items()), flush=True)
    gui, headless = pairs[0]  # the first run's details (its startup is the app's cold start)
    peak_rss_mb = gui["peak_rss_mb"]  # one window's (ru_maxrss is the process's high-water mark)
    ratio = float(np.median([g["samples_per_s"] / h["samples_per_s"] for g, h in pairs]))
    all_gaps = np.concatenate([g["gaps"] for g, _ in pairs])
    p99 = float(np.percentile(all_gaps, 99))
    worst = float(all_gaps.max())
    times_98 = [g["seconds_to_98"] for g, _ in pairs]

    print(f"{'':24}{'GUI':>14}{'headless':>14}")
    print(f"{'samples':24}{gui['samples']:>14,}{headless['samples']:>14,}")
    print(f"{'wall seconds':24}{gui['wall']:>14.2f}{headless['wall']:>14.2f}")
    print(f"{'samples/s':24}{gui['samples_per_s']:>14,.0f}{headless['samples_per_s']:>14,.0f}")
    print(f"{'final test accuracy':24}{gui['test_accuracy'] * 100:>13.2f}%{headless['test_accuracy'] * 100:>13.2f}%")
    s98 = None if None in times_98 else float(np.median(times_98))

    def seconds(value):
        return f"{value:.2f}" if value else "never"

    print(f"{'seconds to 98 %':24}{seconds(gui['seconds_to_98']):>14}{seconds(headless['seconds_to_98']):>14}")
    print(f"snapshots rendered: {gui['snapshots']} ({gui['snapshots'] / gui['wall']:.1f}/s; GUI-thread CPU per "
          f"render {gui['render_cost_ms']:.1f} ms); "
          f"GUI timer samples: {len(gui['gaps'])}")
    worst_at = ", ".join(f"{gui['gaps'][i]:.0f} ms at {gui['gap_times'][i] / 1000:.2f} s"
                         for i in np.argsort(gui["gaps"])[::-1][:8])
    print(f"startup {gui['startup_s']:.2f} s; stall p50 {np.percentile(all_gaps, 50):.1f} ms, "
          f"p99 {p99:.1f} ms, max {worst:.1f} ms (worst: {worst_at} after Start); peak RSS {peak_rss_mb:.0f} MB "
          f"(of which the training process's own {gui['training_process_mb']:.0f} MB)")
    print(f"GUI thread CPU while training: {gui['gui_cpu_share'] * 100:.1f} % of wall time")
    print("renders per second while training: " + ", ".join(
        f"{name.removesuffix('Panel')} {rate:.1f}" for name, rate in gui["render_rates"].items()))
    if gui["render_ms"]:
        print(f"  {'GUI-thread CPU per panel':28} {'renders':>8} {'render ms':>10} {'max':>7} {'paints':>7} "
              f"{'paint ms':>9} {'max':>7} {'total ms/s':>10}")
        names = set(gui["render_ms"]) | set(gui["paint_ms"])
        total = {n: (sum(gui["render_ms"].get(n, [])) + sum(gui["paint_ms"].get(n, []))) / gui["wall"]
                 for n in names}
        for name in sorted(names, key=lambda n: -total[n]):
            renders, paints = gui["render_ms"].get(name, []), gui["paint_ms"].get(name, [])
            print(f"  {name:28} {len(renders):8d} {np.mean(renders) if renders else 0:10.2f} "
                  f"{max(renders, default=0):7.1f} {len(paints):7d} {np.mean(paints) if paints else 0:9.2f} "
                  f"{max(paints, default=0):7.1f} {total[name]:10.1f}")
    curves = float(np.median([g["renders_per_s_curves"] for g, _ in pairs]))
    panels = float(np.median([g["renders_per_s_panels"] for g, _ in pairs]))
    points = min(g["test_points_first_epoch"] for g, _ in pairs)
    firsts = [g["first_test_point_step"] for g, _ in pairs]
    first = None if None in firsts else max(firsts)
    print(f"RESULT gui_vs_headless={ratio:.3f} stall_p99_ms={p99:.1f} stall_max_ms={worst:.1f} "
          f"seconds_to_98={(f'{s98:.2f}' if s98 else 'null')} startup_s={gui['startup_s']:.2f} "
          f"peak_rss_mb={peak_rss_mb:.0f} renders_per_s_curves={curves:.1f} renders_per_s_panels={panels:.1f} "
          f"test_points_first_epoch={points} first_test_point_step={first if first is not None else 'null'}")


if __name__ == "__main__":
    main()
