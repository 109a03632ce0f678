"""What people get: held-out pen writers' digits read by the core path and by the real window, drawn with the mouse.

The weights: by default bench/models/holdout-writers-25-30.pt, the default recipe trained without writers 25-30
(`lenet-core train --data-dir MNIST --seed 0 --pen-writers 1-24 --weights-only`): the shipped weights learnt from
all 30 writers, so only this model has never seen the held-out ones, as the program has never seen its users.

Each digit of the held-out writers (default 25-30 of the pen digits shipped in the package) is placed on the
280x280 canvas as a person with the default pen would draw it (`AS_DRAWN`: its longer side 45-85 % of the canvas,
anywhere inside an 8 % margin, pen width 18, no distortion; seeded, so both paths read the same placements).

Core path: the strokes through the one rasteriser (`render_digits`), `normalize_batch`, the LeNet, argmax.

Window path: a real MainWindow (a first start: throw-away settings and data folder, English, offscreen, 1280x800,
the checkpoint loaded as File > Open would, the pen slider at its default). For each digit: Clear, then each stroke
with QTest: press at its first point, moves through its points in steps of at most 3 pixels (a drag as the mouse
reports it, at whole pixels), release at its last point, canvas units turned into widget pixels through the
canvas's square. Then the event loop runs until the window has predicted the finished drawing, and the digit is
read from the prediction label. The headline is the window's.

Every wait runs a Qt event loop (QEventLoop + a zero-delay timer), never QTest.qWait: in PySide6 qWait keeps the
GIL while it waits and starves the window's training thread.

    QT_QPA_PLATFORM=offscreen python bench/pen_digits.py [--checkpoint PT] [--writers 25-30] [--seed 0]
        [--window-digits N] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from bench.common import ROOT, Figure, print_figures
from lenet_core.checkpoint import load_model
from lenet_core.inference import DEFAULT_WEIGHTS
from lenet_core.pen_digits import (
    AS_DRAWN,
    draw_on_canvas,
    load_pen_digits,
    parse_writers,
    render_in_chunks,
    shipped_pen_digits,
)
from lenet_core.preprocess import normalize_batch, to_mnist
from lenet_core.strokes import SIZE, Stroke
from lenet_core.unipen import split_by_writer
from lenet_core.unipen import writers as writers_of

TARGET_WINDOW_PCT = 99.0
TARGET_WORST_WRITER_PCT = 97.0
TARGET_AGREEMENT_POINTS = 0.3
TARGET_WINDOW_DIGITS = 500
DEFAULT_WRITERS = "25-30"
HOLDOUT_WEIGHTS = ROOT / "bench" / "models" / "holdout-writers-25-30.pt"  # the recipe, without writers 25-30
MAX_STEP_PX = 3.0  # the longest mouse move between two reports, in widget pixels
PREDICTION_TIMEOUT_S = 5.0
SHOWN_DISAGREEMENTS = 3


# -- the core path ----------------------------------------------------------------------------------------------
def core_inputs(drawings: list[list[Stroke]]) -> np.ndarray:
    """The drawings through the one rasteriser: N x 28 x 28 uint8."""
    return render_in_chunks(drawings)


def classify_batch(net, images: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return net(normalize_batch(images)).argmax(1).numpy()


# -- the window path --------------------------------------------------------------------------------------------
def stratified_sample(labels: np.ndarray, writers: np.ndarray, count: int | None, seed: int) -> np.ndarray:
    """Indices of `count` digits (all when None), as many from each (writer, digit) pair as can be, seeded."""
    if count is None or count >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    pairs = sorted(set(zip(writers.tolist(), labels.tolist(), strict=True)))
    groups = [rng.permutation(np.flatnonzero((writers == w) & (labels == d))) for w, d in pairs]
    order = [group[i] for i in range(max(map(len, groups))) for group in groups if i < len(group)]
    return np.sort(np.array(order[:count], np.int64))


def mouse_path(points: np.ndarray, square) -> list:
    """A stroke's canvas-unit points -> widget pixels as a mouse reports them: steps of at most MAX_STEP_PX, whole
    pixels, no repeats."""
    from PySide6.QtCore import QPoint

    scale = square.width() / SIZE
    pixels = np.asarray(points, np.float64) * scale + (square.left(), square.top())
    path = [pixels[0]]
    for a, b in itertools.pairwise(pixels):
        steps = max(1, math.ceil(float(np.linalg.norm(b - a)) / MAX_STEP_PX))
        path += [a + (b - a) * (k / steps) for k in range(1, steps + 1)]
    out: list = []
    for x, y in path:
        point = QPoint(round(float(x)), round(float(y)))
        if not out or point != out[-1]:
            out.append(point)
    return out


class WindowReader:
    """A first-start MainWindow (MNIST from data_dir, if given) that reads drawings replayed as mouse strokes on its
    canvas."""

    def __init__(self, home: str, checkpoint: Path, data_dir: str | None = None) -> None:
        from PySide6.QtCore import QEventLoop, QSettings
        from PySide6.QtWidgets import QMessageBox

        from app.canvas import DEFAULT_PEN_WIDTH
        from app.main_window import MainWindow

        settings = QSettings(f"{home}/settings.ini", QSettings.Format.IniFormat)
        settings.setValue("ui/language", "en")
        self.messages: list[str] = []
        self._warning = QMessageBox.warning  # put back by close()
        QMessageBox.warning = lambda *args: self.messages.append(args[2])  # a box would wait for a click no one makes
        self.window = window = MainWindow(data_dir=data_dir, settings=settings, data_home=home)
        self.loop = QEventLoop()
        window.resize(1280, 800)
        window.show()
        self.wait_until(lambda: window.windowHandle().isExposed(), 10, "the window shown")
        if checkpoint.resolve() == Path(DEFAULT_WEIGHTS).resolve():
            if window.weights_origin != "shipped defaults":
                raise RuntimeError(f"the window did not start with the shipped weights: {window.weights_origin}")
        elif not window.load_checkpoint_file(checkpoint):
            raise RuntimeError(f"the window could not load {checkpoint}: {' '.join(self.messages)}")
        if window.pen_width.value() != DEFAULT_PEN_WIDTH:
            window.pen_width.setValue(int(DEFAULT_PEN_WIDTH))
        if window.canvas.pen_width != AS_DRAWN.pen_width[0]:
            raise RuntimeError(f"the canvas pen is {window.canvas.pen_width} wide, the digits were placed for 18")
        self.spin()

    def close(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        self.window.close()
        QMessageBox.warning = self._warning

    def spin(self) -> None:
        """One pass of the event loop: what is due now (zero-delay timers, repaints) runs."""
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, self.loop.quit)
        self.loop.exec()

    def wait_until(self, done, timeout_s: float, what: str) -> None:
        deadline = time.perf_counter() + timeout_s
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{what}: not within {timeout_s:g} s")
            self.spin()

    def same_weights(self, net) -> bool:
        mine, theirs = self.window.net.state_dict(), net.state_dict()
        return mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)

    def read(self, strokes: list[Stroke]) -> tuple[int, np.ndarray]:
        """Clear, draw the strokes with the mouse, wait for the prediction: the digit the label shows (-1 for none)
        and the 28x28 image the window's model read."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        window, canvas = self.window, self.window.canvas
        left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        window.actions["clear"].trigger()
        square = canvas._square()
        for stroke in strokes:
            path = mouse_path(stroke.points, square)
            QTest.mousePress(canvas, left, none, path[0])
            for point in path[1:]:
                QTest.mouseMove(canvas, point)
            QTest.mouseRelease(canvas, left, none, path[-1])
            self.spin()
        # The prediction runs from a zero-delay timer after the drawing changed; wait until it is of this drawing.
        self.wait_until(lambda: window._input_version == window._drawing_version, PREDICTION_TIMEOUT_S, "prediction")
        text = window.prediction.digit.text()
        return (int(text) if text.isdigit() else -1), to_mnist(canvas.image())


# -- reports ----------------------------------------------------------------------------------------------------
def accuracy_pct(right: np.ndarray) -> float:
    return 100.0 * float(right.mean()) if len(right) else float("nan")


def breakdown(labels: np.ndarray, writers: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy overall, per digit, per writer, and the commonest confusions."""
    right = predicted == labels
    confusions = Counter(zip(labels[~right].tolist(), predicted[~right].tolist(), strict=True))
    return {
        "digits": len(labels),
        "accuracy_pct": accuracy_pct(right),
        "per_digit": {int(d): [int((labels == d).sum()), accuracy_pct(right[labels == d])] for d in np.unique(labels)},
        "per_writer": {
            int(w): [int((writers == w).sum()), accuracy_pct(right[writers == w])] for w in np.unique(writers)
        },
        "confusions": [[true, said, count] for (true, said), count in confusions.most_common()],
    }


def measure(
    checkpoint: str = str(HOLDOUT_WEIGHTS),
    writers: str = DEFAULT_WRITERS,
    seed: int = 0,
    window_digits: int | None = None,
) -> dict:
    """Both paths on the held-out writers' digits: breakdowns, their agreement, the window's time per digit."""
    held = parse_writers(writers)
    _, digits = split_by_writer(load_pen_digits(shipped_pen_digits()), held)
    labels = np.array([d.label for d in digits], np.int64)
    by = np.array([d.writer for d in digits], np.int64)
    rng = np.random.default_rng(seed)
    drawings = [draw_on_canvas(digit, rng, AS_DRAWN) for digit in digits]

    net = load_model(checkpoint)
    started = time.perf_counter()
    core_images = core_inputs(drawings)
    core = classify_batch(net, core_images)
    core_s = time.perf_counter() - started

    chosen = stratified_sample(labels, by, window_digits, seed)
    os.environ.pop("LENET_DATA_DIR", None)  # a first start: no data folder
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    window_said = np.full(len(chosen), -1, np.int64)
    seconds, pixel_diff, disagreements = [], [], []
    with tempfile.TemporaryDirectory() as home:
        reader = WindowReader(home, Path(checkpoint))
        if not reader.same_weights(net):
            raise RuntimeError(f"the window's weights are not those of {checkpoint}")
        reader.read(drawings[chosen[0]])  # warm-up, not timed
        square_px = reader.window.canvas._square().width()
        for k, i in enumerate(chosen):
            started = time.perf_counter()
            window_said[k], seen = reader.read(drawings[i])
            seconds.append(time.perf_counter() - started)
            if seen is None:
                seen = np.zeros((28, 28), np.uint8)
            pixel_diff.append(float(np.abs(seen.astype(np.int16) - core_images[i]).mean()))
            if window_said[k] != core[i]:
                disagreements.append(
                    {
                        "index": int(i),
                        "label": int(labels[i]),
                        "writer": int(by[i]),
                        "core": int(core[i]),
                        "window": int(window_said[k]),
                        "core_input": core_images[i].tolist(),
                        "window_input": seen.tolist(),
                    }
                )
        notes = list(reader.messages)
        reader.close()
        app.processEvents()

    core_on_chosen = core[chosen]
    return {
        "checkpoint": str(checkpoint),
        "writers": sorted(held),
        "seed": seed,
        "core": {**breakdown(labels, by, core), "seconds": core_s},
        "core_on_window_digits_pct": accuracy_pct(core_on_chosen == labels[chosen]),
        "window": {
            **breakdown(labels[chosen], by[chosen], window_said),
            "per_digit_median_ms": 1e3 * statistics.median(seconds),
            "per_digit_p95_ms": 1e3 * float(np.percentile(seconds, 95)),
            "seconds": float(sum(seconds)),
        },
        "canvas_square_px": square_px,
        "same_answer_pct": accuracy_pct(core_on_chosen == window_said),
        "input_mean_abs_diff": statistics.fmean(pixel_diff),  # grey levels of 255, per pixel
        "disagreements": disagreements,
        "window_notes": notes,
    }


def figures(result: dict) -> list[Figure]:
    """The window's accuracy and its worst writer, the core path's, their gap, and how many digits were replayed."""
    window, core = result["window"], result["core"]
    worst_writer, (_, worst_pct) = min(window["per_writer"].items(), key=lambda item: item[1][1])
    writers = _writer_span(result["writers"])
    gap = abs(result["core_on_window_digits_pct"] - window["accuracy_pct"])
    return [
        Figure(
            f"held-out pen writers {writers}, drawn in the window",
            window["accuracy_pct"],
            "%",
            f">= {TARGET_WINDOW_PCT}",
        ),
        Figure(
            f"  worst writer in the window (writer {worst_writer})", worst_pct, "%", f">= {TARGET_WORST_WRITER_PCT:g}"
        ),
        Figure(f"  core path, all {core['digits']} digits", core["accuracy_pct"], "%"),
        Figure("  |core - window| on the same digits", gap, "points", f"<= {TARGET_AGREEMENT_POINTS}"),
        Figure("  digits replayed through the window", window["digits"], "", f">= {TARGET_WINDOW_DIGITS}", 0),
        Figure("  same answer, core and window", result["same_answer_pct"], "%"),
        Figure("  window: clear, draw and read one digit, median", window["per_digit_median_ms"], "ms", digits=1),
    ]


def _writer_span(writers: list[int]) -> str:
    return (
        f"{writers[0]}-{writers[-1]}"
        if writers == list(range(writers[0], writers[-1] + 1))
        else ",".join(map(str, writers))
    )


def ascii_art(image: np.ndarray) -> list[str]:
    """A 28x28 uint8 image as 28 lines of text, darker characters for more ink."""
    ramp = " .:-=+*#%@"
    return ["".join(ramp[min(int(v) * len(ramp) // 256, len(ramp) - 1)] for v in row) for row in image]


def report(result: dict) -> str:
    """Per-writer and per-digit tables, the commonest confusions, a few disagreements drawn."""
    core, window = result["core"], result["window"]
    lines = [
        f"checkpoint: {result['checkpoint']}",
        f"held-out writers {_writer_span(result['writers'])}: {core['digits']} digits through the core path "
        f"({core['seconds']:.1f} s), {window['digits']} through the window ({window['seconds']:.0f} s, "
        f"{window['per_digit_median_ms']:.1f} ms a digit, p95 {window['per_digit_p95_ms']:.1f} ms), "
        f"seed {result['seed']}",
        f"the canvas on screen: {result['canvas_square_px']:.0f} px a side, "
        f"{SIZE / result['canvas_square_px']:.2f} canvas units a pixel",
        f"mean |core - window| of the 28x28 inputs: {result['input_mean_abs_diff']:.2f} grey levels of 255 per pixel",
        "",
    ]
    for title, key in (("writer", "per_writer"), ("digit", "per_digit")):
        lines.append(f"{title:>6} | core digits | core %  | window digits | window %")
        for name, (n_core, pct_core) in core[key].items():
            n_win, pct_win = window[key].get(name, [0, float("nan")])
            lines.append(f"{name:>6} | {n_core:>11} | {pct_core:6.2f}  | {n_win:>13} | {pct_win:6.2f}")
        lines.append("")
    for name, part in (("core", core), ("window", window)):
        top = ", ".join(f"{true}->{said} x{count}" for true, said, count in part["confusions"][:8])
        lines.append(f"commonest confusions, {name} (true->read): {top or 'none'}")
    lines.append(f"core and window disagree on {len(result['disagreements'])} digits")
    for case in result["disagreements"][:SHOWN_DISAGREEMENTS]:
        lines.append(
            f"\ndigit {case['label']} of writer {case['writer']} (held-out digit #{case['index']}): "
            f"core read {case['core']}, window read {case['window']}; left the core's input, right the window's"
        )
        core_art, window_art = ascii_art(np.array(case["core_input"])), ascii_art(np.array(case["window_input"]))
        lines += [f"  {a} | {b}" for a, b in zip(core_art, window_art, strict=True)]
    if result["window_notes"]:
        lines.append("the window said: " + " / ".join(result["window_notes"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint", default=str(HOLDOUT_WEIGHTS), help=f"weights (default: {HOLDOUT_WEIGHTS.relative_to(ROOT)})"
    )
    parser.add_argument("--writers", default=DEFAULT_WRITERS, help="held-out writers, e.g. 25-30 or 1,3,5-7")
    parser.add_argument("--seed", type=int, default=0, help="placements on the canvas and the window's sample")
    parser.add_argument("--window-digits", type=int, metavar="N", help="replay only N digits (stratified sample)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results and the figures as JSON")
    args = parser.parse_args()
    try:
        held = parse_writers(args.writers)
    except ValueError as exc:
        parser.error(str(exc))
    known = set(writers_of(load_pen_digits(shipped_pen_digits())))
    if not held <= known:
        parser.error(f"no pen digits by writers {sorted(held - known)}; the shipped file has {min(known)}-{max(known)}")
    if args.window_digits is not None and args.window_digits < 1:
        parser.error("--window-digits must be at least 1")
    if not Path(args.checkpoint).is_file():
        parser.error(f"no checkpoint at {args.checkpoint}")
    result = measure(args.checkpoint, args.writers, args.seed, args.window_digits)
    rows = figures(result)
    print(report(result))
    print()
    print_figures(result, rows, args.json)


if __name__ == "__main__":
    main()
