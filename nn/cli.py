"""Command line: ``python -m nn train ...`` and ``python -m nn evaluate MODEL.npz``.

Exit codes: 0 done, 2 bad input (arguments, data, files), 3 training diverged, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence, TextIO

from . import __version__
from .activations import ACTIVATIONS
from .checkpoint import load_checkpoint, save_checkpoint
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
from .data import DataError, load_mnist
from .files import format_duration
from .model_io import ModelFileError, check_fits_data, check_writable, load_model, save_model
from .network import DTYPES, INITS
from .optimizers import OPTIMIZERS
from .trainer import Trainer

EXIT_OK, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 2, 3, 130


class UsageError(Exception):
    pass


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
    train.add_argument("--batch-size", type=_typed(parse_batch_size), default=argparse.SUPPRESS,
                       help="samples per step, or 'full' for full-batch gradient descent")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_typed(parse_positive_float, "epochs"))
    length.add_argument("--iterations", type=_typed(parse_int, "iterations", 1))
    train.add_argument("--seed", type=_typed(parse_int, "seed", 0))
    train.add_argument("--dtype", choices=list(DTYPES))
    train.add_argument("--data-dir", help="folder with the four MNIST-format IDX files (default: bundled MNIST)")
    train.add_argument("--save", metavar="PATH", help="save the trained model (.npz)")
    train.add_argument("--save-checkpoint", metavar="PATH",
                       help="save the whole session (resumable with --resume) at the end, or on Ctrl+C")
    train.add_argument("--resume", metavar="PATH",
                       help="continue a checkpoint; --epochs/--iterations give the run's new total")
    train.add_argument("--quiet", action="store_true", help="no progress display")

    evaluate = sub.add_parser("evaluate", help="evaluate a saved model")
    evaluate.add_argument("model", metavar="MODEL.npz")
    evaluate.add_argument("--data-dir")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    config = PRESETS[args.preset or "tutorial"]
    overrides = {name: getattr(args, name) for name in
                 ("hidden", "activation", "optimizer", "init", "lr", "lr_decay", "momentum", "l2", "seed", "dtype")
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
                         "only --lr, --momentum, --batch-size and the run length can")
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
    return trainer


def _train(args, out: TextIO, err: TextIO) -> int:
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
    try:
        return _run_training(trainer, dataset, config, args, out, err)
    except KeyboardInterrupt:
        if args.save_checkpoint:
            save_checkpoint(args.save_checkpoint, trainer)
            print(f"\nsoftmax-train: interrupted at step {trainer.step_count}; session saved to "
                  f"{args.save_checkpoint} (continue with --resume)", file=err)
            return EXIT_INTERRUPTED
        raise


def _run_training(trainer, dataset, config, args, out: TextIO, err: TextIO) -> int:
    interactive = out.isatty() and not args.quiet
    if not args.quiet:
        resuming = f" (resuming at step {trainer.step_count}, epoch {trainer.epoch:.2f})" if trainer.step_count else ""
        print(f"Training {'-'.join(map(str, trainer.layer_sizes))} on {dataset.source}: "
              f"{config.describe()}{resuming}", file=out)
    last_print, last_progress, width = time.perf_counter(), 0.0, 0
    while not trainer.finished and trainer.can_step:
        trainer.run(max_seconds=0.1)
        now = time.perf_counter()
        if args.quiet:
            continue
        if interactive and now - last_print >= 0.1:
            line = progress_line(trainer.snapshot())
            print("\r" + line.ljust(width), end="", file=out, flush=True)
            width, last_print = len(line), now
        elif not interactive and (now - last_print >= 10 or trainer.progress - last_progress >= 0.1):
            print(progress_line(trainer.snapshot()), file=out, flush=True)
            last_print, last_progress = now, trainer.progress
    if interactive:
        print("\r" + progress_line(trainer.snapshot()).ljust(width), file=out)
    if trainer.diverged:
        print(f"softmax-train: {trainer.diverged.replace(' and press Reset', ' and start again')}", file=err)
        return EXIT_DIVERGED
    train_eval, test_eval = trainer.evaluate_train(), trainer.evaluate_test()
    print(f"Train Accuracy: {train_eval.accuracy * 100:.2f}", file=out)
    print(f"Test Accuracy: {test_eval.accuracy * 100:.2f}", file=out)
    if args.save:
        save_model(args.save, trainer.net, config.to_dict(),
                   {"train_accuracy": train_eval.accuracy, "test_accuracy": test_eval.accuracy,
                    "train_loss": train_eval.loss, "test_loss": test_eval.loss, "steps": trainer.step_count})
        if not args.quiet:
            print(f"Saved model to {args.save}", file=out)
    if args.save_checkpoint:
        save_checkpoint(args.save_checkpoint, trainer)
        if not args.quiet:
            print(f"Saved session to {args.save_checkpoint}", file=out)
    return EXIT_OK


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


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            return _train(args, out, err)
        return _evaluate(args, out)
    except (UsageError, ConfigError, DataError, ModelFileError) as exc:
        print(f"softmax-train: error: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nsoftmax-train: interrupted", file=err)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("softmax-train: error: out of memory; use smaller layers or batches", file=err)
        return EXIT_USAGE


def entry_point() -> None:
    sys.exit(main())
