"""Command line: ``python -m nn train ...``, ``evaluate MODEL.npz``, ``explain MODEL.npz --index N``
and ``sweep --lr 0.01,0.1 ... --out SWEEP.npz``.

Exit codes: 0 done, 1 internal error (a bug), 2 bad input or a file that cannot be read or
written (arguments, data, models, checkpoints; one line naming the file), 3 training diverged,
128 + the signal's number when stopped by SIGINT (130, Ctrl+C), SIGTERM (143) or SIGHUP (129).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence, TextIO

from . import __version__
from .activations import ACTIVATIONS
from .checkpoint import checkpoint_file_bytes, load_checkpoint, save_checkpoint
from .config import (
    PRESETS,
    ConfigError,
    TrainConfig,
    parse_batch_size,
    parse_hidden,
    parse_int,
    parse_positive_float,
    validate,
)
from .data import load_mnist
from .explain import format_report, sample_report
from .files import FileError, SaveError, format_duration, one_line, read_error_message
from .model_io import check_fits_data, check_writable, load_model, model_file_bytes, save_model
from .network import DTYPES, INITS
from .optimizers import OPTIMIZERS
from .runs import difference_labels
from .sweep import OPTIONS as SWEEP_OPTIONS
from .sweep import base_config as sweep_base
from .sweep import describe as describe_run
from .sweep import grid as sweep_grid
from .sweep import run_sweep, save_sweep
from .trainer import Trainer

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class UsageError(Exception):
    pass


class Stopped(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP: the run stops the same way for each (saving the session if
    asked) and exits with 128 + the signal's number."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _StopSignals:
    """Turns the stop signals into :class:`Stopped`. While training, a signal only asks the run
    to stop after the current step (so a saved session is exactly resumable); a second one, or a
    signal at any other time, stops at once. While the session is being saved, signals wait."""

    def __init__(self):
        self.pending: int | None = None
        self._mode: str | None = None  # "defer" or "hold"
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # (signal handlers can only be set in the main thread)
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        if self._mode == "hold" or (self._mode == "defer" and self.pending is None):
            self.pending = self.pending or signum
            return
        raise Stopped(signum)

    @contextmanager
    def _within(self, mode: str) -> Iterator[None]:
        self._mode = mode
        try:
            yield
        finally:
            self._mode = None

    def deferred(self):
        """Within: a first signal is remembered; :meth:`check` then raises it."""
        return self._within("defer")

    def held(self):
        """Within (saving after a stop): signals are remembered, never raised."""
        return self._within("hold")

    def check(self) -> None:
        if self.pending is not None:
            raise Stopped(self.pending)


def _file_name(option: str) -> Callable[[str], str]:
    """An argparse type for a file or folder name: an empty one is refused (it would save nothing)."""
    def convert(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{option}: the file name is empty")
        return text
    return convert


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def _typed(parse, *args):
    """Wrap a config parser as an argparse type, so its message becomes the error."""
    def convert(text: str):
        try:
            return parse(text, *args)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="softmax-train", description="Train and evaluate a from-scratch softmax network on MNIST.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a network")
    train.add_argument("--preset", choices=sorted(PRESETS),
                       help="starting configuration (default: tutorial); options below override it")
    train.add_argument("--hidden", type=_typed(parse_hidden), help='hidden layer sizes: "50", "128,64", or "" for none')
    train.add_argument("--activation", choices=list(ACTIVATIONS))
    train.add_argument("--optimizer", choices=list(OPTIMIZERS))
    train.add_argument("--init", choices=list(INITS))
    train.add_argument("--lr", type=_typed(parse_positive_float, "learning rate"))
    train.add_argument("--momentum", type=float)
    train.add_argument("--lr-decay", type=float, help="multiply the learning rate by this per epoch (default 1: none)")
    train.add_argument("--l2", type=float)
    train.add_argument("--dropout", type=float, help="share of hidden units dropped at each step (default 0)")
    train.add_argument("--shift", dest="augment_shift", type=_typed(parse_int, "shift", 0),
                       help="augment: move training images by up to this many pixels")
    train.add_argument("--rotation", dest="augment_rotation", type=float,
                       help="augment: turn training images by up to this many degrees")
    train.add_argument("--noise", dest="augment_noise", type=float,
                       help="augment: add pixel noise of this standard deviation (0..0.5)")
    train.add_argument("--batch-size", type=_typed(parse_batch_size), default=argparse.SUPPRESS,
                       help="samples per step, or 'full' for full-batch gradient descent")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_typed(parse_positive_float, "epochs"))
    length.add_argument("--iterations", type=_typed(parse_int, "iterations", 1))
    train.add_argument("--seed", type=_typed(parse_int, "seed", 0))
    train.add_argument("--dtype", choices=list(DTYPES))
    train.add_argument("--data-dir", type=_file_name("--data-dir"),
                       help="folder with the four MNIST-format IDX files (default: bundled MNIST)")
    train.add_argument("--save", metavar="PATH", type=_file_name("--save"), help="save the trained model (.npz)")
    train.add_argument("--save-checkpoint", metavar="PATH", type=_file_name("--save-checkpoint"),
                       help="save the whole session (resumable with --resume) at the end, or when stopped "
                            "(Ctrl+C, SIGTERM, SIGHUP)")
    train.add_argument("--resume", metavar="PATH", type=_file_name("--resume"),
                       help="continue a checkpoint; --epochs/--iterations give the run's new total")
    train.add_argument("--quiet", action="store_true", help="no progress display")

    evaluate = sub.add_parser("evaluate", help="evaluate a saved model")
    evaluate.add_argument("model", metavar="MODEL.npz", type=_file_name("MODEL.npz"))
    evaluate.add_argument("--data-dir", type=_file_name("--data-dir"))

    explain = sub.add_parser("explain", help="one sample through a saved model: logits, softmax, loss, dL/dz")
    explain.add_argument("model", metavar="MODEL.npz", type=_file_name("MODEL.npz"))
    explain.add_argument("--index", required=True, type=_typed(parse_int, "index", 0),
                         help="which sample of the split")
    explain.add_argument("--split", choices=("test", "train"), default="test")
    explain.add_argument("--json", action="store_true", help="one JSON object instead of text")
    explain.add_argument("--data-dir", type=_file_name("--data-dir"))

    sweep = sub.add_parser("sweep", help="train a grid of runs in parallel and write them all to one file")
    sweep.add_argument("--preset", choices=sorted(PRESETS),
                       help="the configuration the grid varies (default: tutorial)")
    for option in SWEEP_OPTIONS:
        sweep.add_argument(f"--{option}", metavar="VALUES",
                           help="alternatives separated by ';' (e.g. \"50;128,64;none\")" if option == "hidden"
                           else "one value, or alternatives separated by commas")
    sweep.add_argument("--jobs", type=_typed(parse_int, "jobs", 1), default=1, help="runs at a time (default 1)")
    sweep.add_argument("--backend", default="loky", help="a joblib backend (default loky: local processes)")
    sweep.add_argument("--out", metavar="SWEEP.npz", required=True, type=_file_name("--out"),
                       help="where to write every run's configuration, curves and figures")
    sweep.add_argument("--data-dir", type=_file_name("--data-dir"))
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    config = PRESETS[args.preset or "tutorial"]
    overrides = {name: getattr(args, name) for name in
                 ("hidden", "activation", "optimizer", "init", "lr", "lr_decay", "momentum", "l2", "seed", "dtype",
                  "dropout", "augment_shift", "augment_rotation", "augment_noise")
                 if getattr(args, name) is not None}
    if hasattr(args, "batch_size"):
        overrides["batch_size"] = args.batch_size
    if args.epochs is not None:
        overrides.update(epochs=args.epochs, iterations=None)
    if args.iterations is not None:
        overrides.update(iterations=args.iterations, epochs=None)
    return validate(config.replace(**overrides))


def progress_line(snap) -> str:
    total = snap.config.iterations
    step = f"step {snap.step}/{total}" if total else f"step {snap.step}"
    parts = [step, f"epoch {snap.epoch:.2f}"]
    if snap.train_loss is not None:
        parts += [f"loss {snap.train_loss:.4f}", f"acc {snap.train_accuracy * 100:.2f}%"]
    if snap.test is not None:
        parts.append(f"test {snap.test.accuracy * 100:.2f}%")
    parts += [f"{snap.samples_per_s:,.0f} samples/s", f"ETA {format_duration(snap.eta_seconds)}"]
    return " | ".join(parts)


STRUCTURAL_OPTIONS = ("preset", "hidden", "activation", "optimizer", "init", "seed", "dtype", "l2")


def _resume(args) -> Trainer:
    given = [name for name in STRUCTURAL_OPTIONS if getattr(args, name) is not None]
    if given:
        raise UsageError(f"--{given[0].replace('_', '-')} cannot change when resuming; "
                         "only --lr, --momentum, --batch-size, dropout, augmentation and the run length can")
    dataset = load_mnist(args.data_dir)
    trainer, _ = load_checkpoint(args.resume, dataset)
    if args.epochs is not None or args.iterations is not None:
        trainer.set_run_length(args.epochs, args.iterations)
    if args.lr is not None:
        trainer.set_lr(args.lr)
    if args.lr_decay is not None:
        trainer.set_lr_decay(args.lr_decay)
    if args.momentum is not None:
        trainer.set_momentum(args.momentum)
    if hasattr(args, "batch_size"):
        trainer.set_batch_size(args.batch_size)
    if args.dropout is not None:
        trainer.set_dropout(args.dropout)
    augmentation = ("augment_shift", "augment_rotation", "augment_noise")
    if any(getattr(args, name) is not None for name in augmentation):
        trainer.set_augmentation(*(getattr(trainer.config, name) if getattr(args, name) is None
                                   else getattr(args, name) for name in augmentation))
    return trainer


def _train(args, out: TextIO, err: TextIO, stop: _StopSignals) -> int:
    if args.save and args.save_checkpoint and _same_file(args.save, args.save_checkpoint):
        raise UsageError("--save and --save-checkpoint name the same file")
    for path in (args.save, args.save_checkpoint):
        if path:
            check_writable(path)
    if args.resume:
        trainer = _resume(args)
        dataset, config = trainer.dataset, trainer.config
    else:
        config = config_from_args(args)
        dataset = load_mnist(args.data_dir)
        trainer = Trainer(dataset, config)
    # Now that the network is known: will the files fit (file-size limit, free space)?
    if args.save:
        check_writable(args.save, model_file_bytes(trainer.layer_sizes, trainer.net.dtype))
    if args.save_checkpoint:
        check_writable(args.save_checkpoint, checkpoint_file_bytes(trainer))
    try:
        return _run_training(trainer, dataset, config, args, out, err, stop)
    except KeyboardInterrupt as exc:
        stopped = exc if isinstance(exc, Stopped) else Stopped()
        if not args.save_checkpoint:
            raise stopped from None
        with stop.held():
            saved = _save("session", args.save_checkpoint, lambda path: save_checkpoint(path, trainer), err)
        if saved == Path(args.save_checkpoint):  # (otherwise _save said where it went, or that it failed)
            _say(err, f"{_line_start(out)}softmax-train: {_stop_text(stopped)} at step {trainer.step_count}; "
                      f"session saved to {saved} (continue with --resume)")
        return stopped.exit_code


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _line_start(out: TextIO) -> str:
    """A newline first on a terminal, where the progress line is still open."""
    try:
        return "\n" if out.isatty() else ""
    except (OSError, ValueError):
        return ""


def _stop_text(stopped: Stopped) -> str:
    if stopped.signum == signal.SIGINT:
        return "interrupted"
    try:
        return f"stopped by {signal.Signals(stopped.signum).name}"
    except ValueError:
        return f"stopped by signal {stopped.signum}"


def _say(stream: TextIO, line: str, end: str = "\n") -> bool:
    """Print ``line``, unless the stream is gone (a closed terminal after SIGHUP, a closed pipe:
    the run goes on and its files are saved all the same); False then."""
    try:
        print(line, end=end, file=stream, flush=True)
    except (OSError, ValueError):
        return False
    return True


def rescue_paths(path: Path) -> list[Path]:
    """Where a file that could not be saved at ``path`` goes instead: beside it under another
    name, else in the temporary folder (``$TMPDIR``, e.g. another disk)."""
    name = f"{path.stem}.rescued-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix or '.npz'}"
    folders = [path.parent, Path(tempfile.gettempdir())]
    unique = [f for i, f in enumerate(folders) if all(not _same_file(f, g) for g in folders[:i])]
    return [folder / name for folder in unique]


def _save(what: str, path: str, save: Callable[[Path], None], err: TextIO) -> Path | None:
    """Save to ``path``; if that fails (a full disk, the file-size limit, a vanished folder), save
    to a rescue path and say so in one line. Returns where it was saved, or None if nowhere."""
    try:
        save(Path(path))
        return Path(path)
    except FileError as failed:
        tried = []
        for candidate in rescue_paths(Path(path)):
            try:
                save(candidate)
            except FileError as also:
                tried.append(f"{candidate}: {_reason(also)}")
                continue
            _say(err, f"softmax-train: error: {failed}; the {what} was saved to {candidate} instead")
            return candidate
        _say(err, f"softmax-train: error: {failed}; the {what} could not be saved elsewhere either "
                  f"({'; '.join(tried)})")
        return None


def _reason(exc: FileError) -> str:
    return exc.strerror if isinstance(exc, SaveError) else str(exc)


def _run_training(trainer, dataset, config, args, out: TextIO, err: TextIO, stop: _StopSignals) -> int:
    interactive = out.isatty() and not args.quiet
    quiet = args.quiet
    if not quiet:
        resuming = f" (resuming at step {trainer.step_count}, epoch {trainer.epoch:.2f})" if trainer.step_count else ""
        quiet = not _say(out, f"Training {'-'.join(map(str, trainer.layer_sizes))} on {dataset.source}: "
                              f"{config.describe()}{resuming}")
    last_print, last_progress, width = time.perf_counter(), 0.0, 0
    while not trainer.finished and trainer.can_step:
        with stop.deferred():  # a stop signal ends the run between steps, never inside one
            trainer.run(max_seconds=0.1, evaluate_alongside=True)
        stop.check()
        now = time.perf_counter()
        if quiet:
            continue
        if interactive and now - last_print >= 0.1:
            line = progress_line(trainer.snapshot())
            quiet = not _say(out, "\r" + line.ljust(width), end="")
            width, last_print = len(line), now
        elif not interactive and (now - last_print >= 10 or trainer.progress - last_progress >= 0.1):
            quiet = not _say(out, progress_line(trainer.snapshot()))
            last_print, last_progress = now, trainer.progress
    if interactive and not quiet:
        _say(out, "\r" + progress_line(trainer.snapshot()).ljust(width))
    if trainer.diverged:
        _say(err, f"softmax-train: {trainer.diverged.replace(' and press Reset', ' and start again')}")
        return EXIT_DIVERGED
    train_eval, test_eval = trainer.evaluate_train(), trainer.evaluate_test()
    _say(out, f"Train Accuracy: {train_eval.accuracy * 100:.2f}\nTest Accuracy: {test_eval.accuracy * 100:.2f}")
    code = EXIT_OK
    with stop.held():  # the run is complete: a signal now neither interrupts nor undoes the saves
        if args.save:
            metrics = {"train_accuracy": train_eval.accuracy, "test_accuracy": test_eval.accuracy,
                       "train_loss": train_eval.loss, "test_loss": test_eval.loss, "steps": trainer.step_count}
            saved = _save("model", args.save, lambda path: save_model(path, trainer.net, config.to_dict(), metrics),
                          err)
            if saved == Path(args.save) and not args.quiet:
                _say(out, f"Saved model to {args.save}")
            code = code if saved == Path(args.save) else EXIT_USAGE
        if args.save_checkpoint:
            saved = _save("session", args.save_checkpoint, lambda path: save_checkpoint(path, trainer), err)
            if saved == Path(args.save_checkpoint) and not args.quiet:
                _say(out, f"Saved session to {args.save_checkpoint}")
            code = code if saved == Path(args.save_checkpoint) else EXIT_USAGE
    return code


def _evaluate(args, out: TextIO) -> int:
    net, _ = load_model(args.model)
    dataset = load_mnist(args.data_dir)
    check_fits_data(net, dataset.n_features, dataset.n_classes, args.model, dataset.source)
    train_x, _, test_x, _ = dataset.arrays(net.dtype)
    _, train_acc, _ = net.evaluate(train_x, dataset.train_y)
    _, test_acc, _ = net.evaluate(test_x, dataset.test_y)
    print(f"Train Accuracy: {train_acc * 100:.2f}", file=out)
    print(f"Test Accuracy: {test_acc * 100:.2f}", file=out)
    return EXIT_OK


def _explain(args, out: TextIO) -> int:
    net, _ = load_model(args.model)
    dataset = load_mnist(args.data_dir)
    check_fits_data(net, dataset.n_features, dataset.n_classes, args.model, dataset.source)
    train_x, _, test_x, _ = dataset.arrays(net.dtype)
    x, y = (test_x, dataset.test_y) if args.split == "test" else (train_x, dataset.train_y)
    if not args.index < len(y):
        raise UsageError(f"--index {args.index} is outside the {args.split} set (0-{len(y) - 1})")
    report = sample_report(net, x[args.index], int(y[args.index]), args.index, args.split)
    print(json.dumps(report) if args.json else format_report(report, list(dataset.class_names)), file=out)
    return EXIT_OK


def _joblib_backends() -> list[str]:
    from joblib.parallel import BACKENDS

    return sorted(BACKENDS)


def _sweep(args, out: TextIO, err: TextIO, stop: _StopSignals) -> int:
    options = {option: getattr(args, option.replace("-", "_")) for option in SWEEP_OPTIONS}
    configs = sweep_grid(sweep_base(args.preset), {k: v for k, v in options.items() if v is not None})
    if args.backend not in _joblib_backends():
        raise UsageError(f"--backend {args.backend!r} is not an installed joblib backend; "
                         f"choose from {', '.join(_joblib_backends())}")
    check_writable(args.out)
    dataset = load_mnist(args.data_dir)  # (here first: a bad folder is one error, not one per run)
    for config in configs:
        validate(config, dataset.n_features, dataset.n_classes, len(dataset.train_y))
    labels = difference_labels(configs)
    _say(out, f"sweep: {len(configs)} runs of {dataset.source}, {args.jobs} at a time ({args.backend})")
    started = time.perf_counter()

    def report(result) -> None:
        _say(out, describe_run(result, labels[result.index], len(configs)))

    try:
        results = run_sweep(configs, args.data_dir, args.jobs, args.backend, on_result=report)
    except KeyboardInterrupt as exc:
        stopped = exc if isinstance(exc, Stopped) else Stopped()
        finished = getattr(exc, "finished", [])
        with stop.held():
            save_sweep(args.out, finished, dataset.source, time.perf_counter() - started)
        _say(err, f"softmax-train: {_stop_text(stopped)}; {len(finished)} finished runs saved to {args.out}")
        return stopped.exit_code
    save_sweep(args.out, results, dataset.source, time.perf_counter() - started)
    counts = {status: sum(r.status == status for r in results) for status in ("ok", "diverged", "failed")}
    _say(out, f"sweep: {counts['ok']} ok, {counts['diverged']} diverged, {counts['failed']} failed; "
              f"saved to {args.out}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command; returns the exit code. Every error ends in one line on ``err``."""
    out = out or sys.stdout
    err = err or sys.stderr
    stop = _StopSignals()
    stop.install()
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            return _train(args, out, err, stop)
        if args.command == "explain":
            return _explain(args, out)
        if args.command == "sweep":
            return _sweep(args, out, err, stop)
        return _evaluate(args, out)
    except (UsageError, ConfigError, FileError) as exc:
        _say(err, f"softmax-train: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        stopped = exc if isinstance(exc, Stopped) else Stopped()
        _say(err, f"{_line_start(out)}softmax-train: {_stop_text(stopped)}")
        return stopped.exit_code
    except MemoryError:
        _say(err, "softmax-train: error: out of memory; use smaller layers or batches")
        return EXIT_USAGE
    except BrokenPipeError:  # the output was closed (e.g. piped into head): end quietly, as tools do
        return 128 + getattr(signal, "SIGPIPE", 13)
    except OSError as exc:  # an I/O error no reader named a file for: still one line
        _say(err, f"softmax-train: error: {read_error_message(exc.filename or 'a file', exc)}")
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a bug: one line, not a traceback, and its own exit code
        _say(err, f"softmax-train: internal error: {type(exc).__name__}: {one_line(exc)} (please report this)")
        return EXIT_BUG
    finally:
        stop.restore()


def entry_point() -> None:
    code = main()
    try:
        sys.stdout.flush()
    except OSError:  # (a closed pipe: do not let the interpreter's final flush print a traceback)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)
