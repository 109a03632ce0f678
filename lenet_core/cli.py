"""The terminal interface: train, evaluate, predict. Only this module prints."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .datasets import DatasetNotFoundError, load_mnist
from .download import MIRRORS, DownloadCancelled, DownloadError, default_data_dir, download_mnist
from .idx import IdxFormatError
from .inference import DEFAULT_WEIGHTS, predict
from .model import LeNet, new_model
from .pen_digits import AS_DRAWN, PEN_VARIANTS, load_pen_digits, mix, parse_writers, render_variants, resolve
from .preprocess import ImageReadError, load_image
from .training import (
    DEVICES,
    LR_SCHEDULES,
    OPTIMIZERS,
    PRESETS,
    EpochEvent,
    StepEvent,
    StoppedEvent,
    Trainer,
    evaluate,
    resolve_device,
)
from .unipen import writers as unipen_writers

USER_ERRORS = (DatasetNotFoundError, IdxFormatError, CheckpointError, ImageReadError, ValueError, OSError)
EXIT_ERROR = 1
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A problem to report in one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class ProgressBar:
    """One line on stderr, redrawn at most 10 times a second, only on a terminal."""

    def __init__(self, stream=sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = stream.isatty()
        self._last = 0.0

    def update(self, event: StepEvent, total_epochs: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and event.batch < event.batches_per_epoch):
            return
        self._last = now
        done = event.batch / max(event.batches_per_epoch, 1)
        filled = int(done * self.width)
        self.stream.write(
            f"\repoch {event.epoch + 1}/{total_epochs} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{event.batch}/{event.batches_per_epoch}  loss {event.loss:.4f}  "
            f"{event.samples_per_second:,.0f} samples/s "
        )
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _data_dir(args: argparse.Namespace) -> str:
    data_dir = args.data_dir or os.environ.get("LENET_DATA_DIR")
    if not data_dir:
        raise CliError("no data folder: pass --data-dir DIR or set LENET_DATA_DIR")
    return data_dir


def cmd_train(args: argparse.Namespace) -> int:
    overrides = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "optimizer": args.optimizer,
        "lr_schedule": args.lr_schedule,
        "seed": args.seed,
        "device": args.device,
        "augment": False if args.no_augment else None,
    }
    config = PRESETS[args.preset].replace(**{k: v for k, v in overrides.items() if v is not None})
    started = time.perf_counter()
    data = load_mnist(_data_dir(args))
    print(
        f"data: {len(data.train)} training images ({data.files.train.images.name}), "
        f"{len(data.test)} test images ({data.files.test.images.name})"
    )
    train = data.train
    if args.pen_digits != "none":
        if args.pen_variants < 1:
            raise CliError(f"--pen-variants must be at least 1, not {args.pen_variants}")
        writers = parse_writers(args.pen_writers) if args.pen_writers else None
        digits = load_pen_digits(args.pen_digits, writers)
        if not digits:
            raise CliError(f"no pen digits of writers {args.pen_writers} in {resolve(args.pen_digits).name}")
        pen = render_variants(digits, args.pen_variants, seed=config.seed)
        print(
            f"pen digits: {len(digits)} digits by {len(unipen_writers(digits))} writers "
            f"({resolve(args.pen_digits).name}), {args.pen_variants} drawings each: {len(pen)} images"
        )
        train = mix(data.train, pen, name="MNIST + pen digits")
        print(f"each epoch: {len(data.train)} MNIST images and {train.epoch_size - len(data.train)} pen drawings")
    trainer = Trainer(new_model(config.seed), config, train, data.test)
    print(f"config: {config}  device: {trainer.device}")
    bar = ProgressBar()
    out = Path(args.out)

    def save() -> None:
        save_checkpoint(
            out,
            Checkpoint(
                model=trainer.net.state_dict(),
                trainer=None if args.weights_only else trainer.state_dict(),
                config=config,
                metadata={
                    "dataset": data.files.train.images.name,
                    "pen_digits": None if args.pen_digits == "none" else resolve(args.pen_digits).name,
                    "train_images": len(train),
                    "epochs_done": trainer.epoch,
                    "test_accuracy": trainer.history.epochs[-1]["test_accuracy"] if trainer.history.epochs else None,
                },
            ),
        )

    final: StoppedEvent | None = None
    try:
        for event in trainer.run():
            if isinstance(event, StepEvent):
                bar.update(event, config.epochs)
            elif isinstance(event, EpochEvent):
                bar.clear()
                print(
                    f"epoch {event.epoch}/{config.epochs}  loss {event.train_loss:.4f}  "
                    f"test loss {event.test_loss:.4f}  accuracy {event.test_accuracy:.4f}  "
                    f"{event.elapsed_s:.1f} s  (total {time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
            elif isinstance(event, StoppedEvent):
                final = event
    except KeyboardInterrupt:
        bar.clear()
        save()
        raise CliError(f"interrupted at step {trainer.step_count}; progress saved to {out}", EXIT_INTERRUPTED) from None
    bar.clear()
    if final is not None and final.reason == "diverged":
        raise CliError(f"training diverged: {final.message}; nothing saved", EXIT_DIVERGED)
    save()
    print(f"saved {out}  ({time.perf_counter() - started:.1f} s in all)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint)
    net = LeNet()
    net.load_state_dict(checkpoint.model)
    device = resolve_device(args.device or "auto")
    if args.pen_digits:  # drawn as a person with the default pen would draw them on the canvas
        writers = parse_writers(args.pen_writers) if args.pen_writers else None
        digits = load_pen_digits(args.pen_digits, writers)
        if not digits:
            raise CliError(f"no pen digits of writers {args.pen_writers} in {resolve(args.pen_digits).name}")
        result = evaluate(net, render_variants(digits, 1, seed=0, how=AS_DRAWN), device)
        source = resolve(args.pen_digits)
        print(f"pen digits: {result.total} digits by {len(unipen_writers(digits))} writers ({source})")
        print(f"pen loss: {result.loss:.4f}")
        print(f"pen accuracy: {result.accuracy:.4f}")
        if not (args.data_dir or os.environ.get("LENET_DATA_DIR")):
            return 0
    data = load_mnist(_data_dir(args), need_train=False)
    result = evaluate(net, data.test, device)
    print(f"test: {result.total} images ({data.files.test.images})")
    print(f"loss: {result.loss:.4f}")
    print(f"accuracy: {result.accuracy:.4f}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    net = LeNet()
    net.load_state_dict(load_checkpoint(args.checkpoint).model)
    net.eval()
    failed = 0
    for name in args.images:
        try:
            result = predict(net, load_image(name))
        except ImageReadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if result.digit is None:
            print(f"{name}: no digit (the image is blank)")
        else:
            print(f"{name}: {result.digit} (p={result.confidence:.3f})")
    return EXIT_ERROR if failed else 0


def cmd_download(args: argparse.Namespace) -> int:
    dest = Path(args.dest) if args.dest else default_data_dir()
    bar = sys.stderr.isatty()
    last = [0.0]

    def progress(name: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if not bar or (now - last[0] < 0.1 and done != total):
            return
        last[0] = now
        size = f"{done / 2**20:5.1f} / {total / 2**20:.1f} MB" if total else f"{done / 2**20:5.1f} MB"
        sys.stderr.write(f"\r{name:28s} {size} ")
        sys.stderr.flush()

    try:
        folder = download_mnist(dest, split=args.split, mirrors=args.mirror or MIRRORS, progress=progress)
    except DownloadCancelled as exc:
        raise CliError(str(exc), EXIT_INTERRUPTED) from None
    except DownloadError as exc:
        raise CliError(str(exc)) from None
    finally:
        if bar:
            sys.stderr.write("\r\033[K")
    print(f"MNIST ({args.split}) verified in {folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lenet-core", description="Train and use the PyTorch tutorial's LeNet on MNIST and pen-drawn digits."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the library does")
    sub = parser.add_subparsers(dest="command", required=True)

    data_help = "folder holding MNIST IDX files (also MNIST/raw below it); default $LENET_DATA_DIR"
    train = sub.add_parser("train", help="train LeNet on MNIST (and pen digits) and save a checkpoint")
    train.add_argument("--data-dir", help=data_help)
    train.add_argument("--preset", choices=sorted(PRESETS), default="default", help="starting hyper-parameters")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate (peak rate for the onecycle schedule)")
    train.add_argument("--momentum", type=float)
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--lr-schedule", choices=LR_SCHEDULES)
    train.add_argument("--no-augment", action="store_true", help="train on the images as they are")
    train.add_argument("--seed", type=int)
    pen_help = "UNIPEN pen-digit file, 'shipped' (the package's 7,494 digits by 30 writers) or 'none'"
    train.add_argument("--pen-digits", default="shipped", metavar="PATH", help=f"{pen_help} (default: shipped)")
    train.add_argument(
        "--pen-variants",
        type=int,
        default=PEN_VARIANTS,
        metavar="K",
        help=f"canvas-like drawings rendered of each pen digit (default: {PEN_VARIANTS})",
    )
    writers_help = "only these writers' pen digits, e.g. 1-24 or 1,3,5-7 (default: all)"
    train.add_argument("--pen-writers", metavar="WRITERS", help=writers_help)
    train.add_argument("--device", choices=DEVICES)
    train.add_argument("--out", default="lenet.pt", help="checkpoint to write (default: lenet.pt)")
    train.add_argument(
        "--weights-only", action="store_true", help="save just the weights and config (half the size; no resuming)"
    )
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="accuracy of a checkpoint on the MNIST test set")
    evaluate.add_argument("--data-dir", help=data_help)
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--pen-digits", metavar="PATH", help=f"also score on these pen digits: {pen_help}")
    evaluate.add_argument("--pen-writers", metavar="WRITERS", help=writers_help)
    evaluate.add_argument("--device", choices=DEVICES)
    evaluate.set_defaults(func=cmd_evaluate)

    down = sub.add_parser("download", help="download MNIST (about 11 MB), verified against the published MD5")
    down.add_argument("--dest", help=f"folder to put it in (default: {default_data_dir()})")
    down.add_argument("--mirror", action="append", metavar="URL", help="a mirror to try, in order (repeatable)")
    down.add_argument("--split", choices=("train", "test", "all"), default="all")
    down.set_defaults(func=cmd_download)

    pred = sub.add_parser("predict", help="classify image files (PNG, JPEG, ...)")
    pred.add_argument("--checkpoint", default=str(DEFAULT_WEIGHTS), help="default: the shipped weights")
    pred.add_argument("images", nargs="+", metavar="IMAGE")
    pred.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        return args.func(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
