"""Training in the window (offscreen, live plots and feature maps) vs the headless engine, in one run.

Two fresh processes, one the app's window training MNIST and one the headless engine (as the CLI trains), take
turns: each trains for a short slice while the other's engine is paused, and the order alternates (window first,
then headless first), so that the machine's drifts in load hit both sides alike. After a first, untimed slice each,
a few pairs of slices; then both processes end and a fresh pair starts (a process has a speed of its own: two
identical windows measured 2-10 % apart). The figure is the median of all the per-pair ratios. Throughput is
training samples per second of training: the seconds an epoch-end evaluation takes (it trains on nothing) are left
out on both sides, or whether a slice holds one evaluation or two would be most of the difference between slices.

Then a 10 ms heartbeat QTimer on the window's GUI thread while it trains: how late its ticks come (p99, max). That
probe wakes the GUI thread 100 times a second, so it runs in a slice of its own, not in the timed ones. Last, the
peak resident memory of the window's process.

    QT_QPA_PLATFORM=offscreen python bench/gui_training.py [--seconds 3] [--repeats 3] [--rounds 3] [--beat-seconds 8]
        [--tab features|health]   (what the window shows below its plots: feature maps, or the layer health plot)
        [--earlier-runs N]        (N earlier runs of 2,500 steps each on the plots, as after N runs compared)
        [--pace off]              (the live views at their own rates, never slowed by app/pace.py: for comparison)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QEventLoop, QPoint, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.common import Figure, require_mnist
from lenet_core.datasets import load_mnist
from lenet_core.model import new_model
from lenet_core.training import PRESETS, Trainer

# The default recipe, with epochs enough that no run ends while it is timed (the rate does not depend on them).
CONFIG = PRESETS["default"].replace(device="cpu", epochs=1000)
WARM_UP_S = 1.5
TIMEOUT_S = 60.0  # waiting longer than this for the window means something is broken


def draw_seven(window) -> None:
    canvas = window.canvas
    side = min(canvas.width(), canvas.height())
    ox, oy = (canvas.width() - side) // 2, (canvas.height() - side) // 2
    points = [(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]

    def at(p):
        return QPoint(int(ox + p[0] * side), int(oy + p[1] * side))

    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(points[0]))
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for t in range(1, 21):
            QTest.mouseMove(canvas, at((x0 + (x1 - x0) * t / 20, y0 + (y1 - y0) * t / 20)))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(points[-1]))


class EvaluationClock:
    """Wraps a Trainer's evaluate() (on that instance only) and keeps the (start, end) of each call."""

    def __init__(self, trainer: Trainer) -> None:
        self.spans: list[tuple[float, float]] = []
        evaluate = trainer.evaluate

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return evaluate(*args, **kwargs)
            finally:
                self.spans.append((started, time.perf_counter()))

        trainer.evaluate = timed

    def within(self, start: float, end: float) -> float:
        """Seconds of evaluation between start and end (one still running at `end` counts up to `end`)."""
        spans = list(self.spans)
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b in spans)


class Side:
    """One side of the comparison in this process: resume its engine, train for a slice, pause it again."""

    trainer: Trainer

    def train_for(self, seconds: float) -> float:
        """Training samples per second of training over a slice of about `seconds`, from the first step done."""
        raise NotImplementedError

    def rate(self, samples: int, start: float, end: float) -> float:
        return samples / (end - start - self.clock.within(start, end))


class Headless(Side):
    def __init__(self, data_dir: Path) -> None:
        data = load_mnist(data_dir)
        self.trainer = Trainer(new_model(0), CONFIG, data.train, data.test)
        self.clock = EvaluationClock(self.trainer)
        self.trainer.step()

    def _step(self) -> None:
        self.trainer.step()
        if self.trainer.epoch_complete:
            self.trainer.finish_epoch()

    def train_for(self, seconds: float) -> float:
        self._step()  # the first step after the pause wakes the threads; the slice starts when it is done
        started, samples = time.perf_counter(), self.trainer.samples_seen
        while time.perf_counter() - started < seconds:
            self._step()
        end = time.perf_counter()
        return self.rate(self.trainer.samples_seen - samples, started, end)


def add_earlier_runs(window, count: int, steps: int = 2500) -> None:
    """count runs of `steps` steps (a decaying, noisy loss; an accuracy an epoch) on the window's plots."""
    rng = np.random.default_rng(0)
    runs = window.session.runs
    for k in range(count):
        run = runs.start(CONFIG.replace(lr=CONFIG.lr * (k + 2)), "mnist")
        run.steps = list(range(1, steps + 1))
        run.samples = [128 * s for s in run.steps]
        run.seconds = [s / 100 for s in run.steps]
        run.losses = list(2.3 * np.exp(-np.arange(steps) / 300) + 0.05 + 0.05 * rng.random(steps))
        run.epochs = list(range(1, steps // 157 + 1))
        run.accuracy = list(0.97 + 0.02 * rng.random(len(run.epochs)))
    window.plots.follow(runs, None)


class Window(Side):
    """The app's window, shown at 1280x800, a drawn 7 predicted and its feature maps live while it trains."""

    def __init__(self, data_dir: Path, tab: str = "features", earlier_runs: int = 0, pace: bool = True) -> None:
        from app.main_window import MainWindow

        self.app = QApplication.instance() or QApplication(sys.argv)
        home = tempfile.mkdtemp()
        settings = QSettings(f"{home}/s.ini", QSettings.Format.IniFormat)
        settings.setValue("training/config", json.dumps(CONFIG.to_dict()))  # as chosen in the Training panel
        settings.setValue("training/source", "mnist")  # the data the headless side trains on (Train on: MNIST)
        self.window = MainWindow(data_dir=data_dir, settings=settings, data_home=home)
        self.window.resize(1280, 800)
        if not pace:
            self.window.pace.budget = float("inf")  # never over it: the views keep their own rates
        if tab == "health":
            self.window.live.tabs.setCurrentWidget(self.window.live.health)
        add_earlier_runs(self.window, earlier_runs)
        self.window.show()
        self._wait_for(lambda: self.window.worker.data is not None)
        draw_seven(self.window)
        self.app.processEvents()
        self.window.toggle_training()  # Start, as a person would; the worker builds its Trainer now (~1 s)
        self._wait_for(lambda: self.window.worker.trainer is not None and self.window.worker.trainer.step_count > 0)
        self.trainer = self.window.worker.trainer
        if self.trainer.config.epochs != CONFIG.epochs:
            raise RuntimeError(f"the window trains {self.trainer.config.epochs} epochs, not {CONFIG.epochs}")
        self.trainer.pause()  # the engine's own pause: the run goes on after resume(), the window stays "running"
        self.window.pace.set_measuring(False)  # as a real pause does: the idle wait between slices is not measured
        self.clock = EvaluationClock(self.trainer)

    def _wait_for(self, done) -> None:
        deadline = time.perf_counter() + TIMEOUT_S
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the window did not get there in {TIMEOUT_S:g} s")
            self.app.processEvents()
            time.sleep(0.001)

    def train_for(self, seconds: float, heartbeat: QTimer | None = None) -> float:
        steps = self.trainer.step_count
        self.trainer.resume()
        self.window.pace.set_measuring(True)
        self._wait_for(lambda: self.trainer.step_count > steps)
        started, samples = time.perf_counter(), self.trainer.samples_seen
        if heartbeat is not None:
            heartbeat.start()
        loop = QEventLoop()  # the window runs as in real use: the event loop waits, nothing polls
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
        end, done = time.perf_counter(), self.trainer.samples_seen
        self.trainer.pause()
        self.window.pace.set_measuring(False)
        if heartbeat is not None:
            heartbeat.stop()
        return self.rate(done - samples, started, end)

    def lateness(self, seconds: float) -> list[float]:
        """Milliseconds late of each tick of a 10 ms timer on the GUI thread while the window trains."""
        late: list[float] = []
        expected = [0.0]

        def beat():
            now = time.perf_counter()
            if expected[0]:
                late.append(max(0.0, now - expected[0]) * 1e3)
            expected[0] = now + 0.010

        heartbeat = QTimer(interval=10)
        heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        heartbeat.timeout.connect(beat)
        self.train_for(seconds, heartbeat)
        return late


def child(kind: str, tab: str = "features", earlier_runs: int = 0, pace: bool = True) -> None:
    """Serve one side: a JSON command per line on stdin, a JSON answer per line on stdout."""
    data_dir = require_mnist()
    side = Headless(data_dir) if kind == "headless" else Window(data_dir, tab, earlier_runs, pace)
    print(json.dumps({"ready": kind}), flush=True)
    for line in sys.stdin:  # between commands the engine is paused and this thread waits here
        command = json.loads(line)
        if "train" in command:
            answer = {"rate": side.train_for(command["train"])}
        elif "heartbeat" in command:
            answer = {"lateness": side.lateness(command["heartbeat"])}
        else:
            answer = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # Linux: KiB
            if isinstance(side, Window):
                answer["stretch"] = side.window.pace.stretch  # how much the live views were slowed at the end
            print(json.dumps(answer), flush=True)
            return
        print(json.dumps(answer), flush=True)


class Process:
    def __init__(self, kind: str, tab: str = "features", earlier_runs: int = 0, pace: bool = True) -> None:
        command = ["--child", kind, "--tab", tab, "--earlier-runs", str(earlier_runs)]
        command += ["--pace", "on" if pace else "off"]
        self.popen = subprocess.Popen(
            [sys.executable, __file__, *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.answer()  # ready

    def answer(self) -> dict:
        for line in self.popen.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"the benchmark's child process ended early (exit status {self.popen.wait()})")

    def ask(self, **command) -> dict:
        self.popen.stdin.write(json.dumps(command) + "\n")
        self.popen.stdin.flush()
        return self.answer()

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()


def measure(
    seconds: float = 3.0,
    repeats: int = 3,
    rounds: int = 3,
    beat_seconds: float = 8.0,
    tab: str = "features",
    earlier_runs: int = 0,
    pace: bool = True,
) -> dict:
    """Medians over `rounds` x `repeats` pairs of slices, each round with a fresh window and a fresh headless process.

    Two identical windows taking turns trained 2-10 % apart (the medians of 9 pairs each, three runs): a process has
    a speed of its own. Rounds of fresh processes spread that over both sides. The heartbeat slice and the peak
    memory come from the last round's window.
    """
    require_mnist()
    gui_rates, headless_rates = [], []
    for round_ in range(rounds):
        headless = Process("headless")  # started one after the other: two imports of torch at once slow both
        window = Process("gui", tab, earlier_runs, pace)
        try:
            for side in (window, headless):  # a first slice each, not timed: first evaluations, first paints
                side.ask(train=WARM_UP_S)
            for i in range(repeats):
                order = ((gui_rates, window), (headless_rates, headless))
                for rates, side in order if (round_ * repeats + i) % 2 == 0 else reversed(order):
                    rates.append(side.ask(train=seconds)["rate"])
            if round_ == rounds - 1:
                late = np.array(window.ask(heartbeat=beat_seconds)["lateness"])
                last = window.ask(quit=True)
                peak_rss, stretch = last["peak_rss_mb"], last["stretch"]
        finally:
            headless.close()
            window.close()
    ratios = [g / h for g, h in zip(gui_rates, headless_rates, strict=True)]
    return {
        "headless": float(np.median(headless_rates)),
        "gui": float(np.median(gui_rates)),
        "ratio": float(np.median(ratios)),
        "ratios": ratios,  # of each pair, in order
        "rounds": rounds,
        "late_p99": float(np.percentile(late, 99)),
        "late_max": float(late.max()),
        "ticks": len(late),
        "peak_rss_mb": peak_rss,  # of the app's process, training in the window
        "stretch": stretch,  # of the live views' intervals at the end (app/pace.py)
        "pairs": [(round(h), round(g)) for h, g in zip(headless_rates, gui_rates, strict=True)],  # samples/s
    }


def figures(result: dict) -> list[Figure]:
    """Training in the window vs headless, heartbeat lateness, peak memory: rows of `python -m bench`'s table."""
    return [
        Figure("GUI training throughput / headless", result["ratio"], "", ">= 0.9"),
        Figure(
            f"  lowest of {len(result['ratios'])} pairs ({result['rounds']} pairs of processes)", min(result["ratios"])
        ),
        Figure("  highest", max(result["ratios"])),
        Figure("  headless engine (default recipe)", result["headless"], "samples/s", digits=0),
        Figure("heartbeat lateness while training, p99", result["late_p99"], "ms", "< 20", 1),
        Figure(f"  max over {result['ticks']} ticks", result["late_max"], "ms", "< 50", 1),
        Figure("app peak memory while training", result["peak_rss_mb"], "MB", "< 800", 0),
        Figure("live views' intervals stretched (app/pace.py) at the end", result["stretch"], "x", digits=2),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each timed slice")
    parser.add_argument("--repeats", type=int, default=3, help="pairs of slices in each round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each with a fresh pair of processes")
    parser.add_argument("--beat-seconds", type=float, default=8.0, help="length of the heartbeat slice")
    parser.add_argument("--tab", choices=("features", "health"), default="features", help="shown below the plots")
    parser.add_argument("--earlier-runs", type=int, default=0, help="earlier runs on the plots")
    parser.add_argument("--pace", choices=("on", "off"), default="on", help="off: live views never slowed")
    parser.add_argument("--child", choices=("gui", "headless"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.tab, args.earlier_runs, args.pace == "on")
        return
    require_mnist()
    r = measure(
        args.seconds, args.repeats, args.rounds, args.beat_seconds, args.tab, args.earlier_runs, args.pace == "on"
    )
    slices = args.repeats * args.rounds
    print(f"headless engine : {r['headless']:8.0f} samples/s (median of {slices} slices of {args.seconds:g} s)")
    print(f"in the window   : {r['gui']:8.0f} samples/s")
    print(
        f"window / engine : {r['ratio']:8.2f}  (median of the pairs' ratios, {min(r['ratios']):.2f} to "
        f"{max(r['ratios']):.2f}; target >= 0.9)"
    )
    print(
        f"heartbeat late  : p99 {r['late_p99']:.1f} ms, max {r['late_max']:.1f} ms over {r['ticks']} ticks "
        "(target: p99 < 20 ms, max < 50 ms)"
    )
    print(f"app peak memory : {r['peak_rss_mb']:.0f} MB while training (target < 800 MB)")
    print(f"live views      : intervals x{r['stretch']:.2f} at the end (app/pace.py)")
    print("pairs (headless, window) samples/s:", ", ".join(f"{h:,}/{g:,}" for h, g in r["pairs"]))


if __name__ == "__main__":
    main()
