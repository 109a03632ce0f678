"""Drawing-to-prediction latency in the real window, idle and while it trains: from a mouse move to the new prediction.

Idle: the window as on a first start (no data, the shipped weights, throw-away settings), shown offscreen at
1280x800. Training: a second window, the same but with the real MNIST (train20k + t10k) and the default recipe,
Start pressed; measured once it has trained for a while. Strokes are drawn with QTest: button down, then one move at
a time. Each move's latency runs from just before the move event is sent until the window holds a new prediction of
the drawing as the move left it (`window._prediction` replaced and handed to the prediction panel, of that drawing
version: while training, a weight snapshot also replaces the prediction, and one of the drawing before the move does
not count), the event loop running until then: the canvas painting, `prepare` and `classify` all count. Between moves
the event loop runs for 8 ms, as between a 125 Hz mouse's reports, so timers and repaints fall where they would in use.

While training, the engine's steps per second are counted while the strokes are drawn and, after each stroke, in a
quiet slice of the same length without drawing, so that a latency bought by stalling the training would show.

Every wait runs a Qt event loop (QEventLoop), never QTest.qWait: in PySide6 qWait keeps the GIL while it waits and
starves the worker thread (a window whose data folder was loading took over 12 s to load under qWait, 0.35 s under
an event loop).

    QT_QPA_PLATFORM=offscreen python bench/latency.py [--moves 300]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PySide6.QtCore import QEventLoop, QPoint, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.common import Figure, format_table, require_mnist
from bench.gui_training import EvaluationClock
from lenet_core.training import PRESETS

TARGET_P95_MS = 10.0
MOVES_PER_STROKE = 50
MOUSE_INTERVAL_MS = 8
TRAIN_FIRST_S = 2.0  # of training before the strokes: the first epoch's evaluation, first plot redraws
CONFIG = PRESETS["default"].replace(device="cpu", epochs=1000)  # epochs enough that no run ends while it is measured
LEFT, NO_MODIFIER = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


def stroke_points(canvas, index: int) -> list[QPoint]:
    """A loop around a different spot of the drawing square for each stroke: every move lands on a new pixel."""
    side = min(canvas.width(), canvas.height())
    ox, oy = (canvas.width() - side) / 2, (canvas.height() - side) / 2
    cx, cy = 0.35 + 0.3 * (index % 2), 0.35 + 0.3 * (index // 2 % 2)
    return [
        QPoint(int(ox + side * (cx + 0.2 * math.sin(t))), int(oy + side * (cy + 0.25 * math.cos(t))))
        for t in np.linspace(0, 1.8 * math.pi, MOVES_PER_STROKE + 1)
    ]


class Waiter:
    """Runs the window's event loop for a while, or until a new prediction of the current drawing is shown."""

    def __init__(self, window) -> None:
        self.window = window
        self.loop = QEventLoop()
        self.timer = QTimer(singleShot=True, timerType=Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.loop.quit)
        self.wanted: int | None = None  # the drawing version a prediction must be of to end the wait
        display = window.prediction.display

        def shown(prediction) -> None:  # on this window's panel only; called by update_prediction
            display(prediction)
            if self.wanted is not None and window._input_version >= self.wanted:
                self.wanted = None
                self.loop.quit()

        window.prediction.display = shown

    def wait(self, ms: float) -> None:
        self.timer.start(round(ms))
        self.loop.exec()

    def wait_until(self, done, timeout_s: float, what: str) -> None:
        deadline = time.perf_counter() + timeout_s
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{what}: not within {timeout_s:g} s")
            self.wait(10)

    def move(self, point: QPoint) -> float:
        """Move the mouse (button held) and wait for the prediction of the drawing it makes; milliseconds."""
        self.wanted = self.window._drawing_version + 1
        started = time.perf_counter()
        QTest.mouseMove(self.window.canvas, point)
        if self.wanted is not None:
            self.timer.start(2000)
            self.loop.exec()
            self.timer.stop()
        elapsed_ms = (time.perf_counter() - started) * 1e3
        if self.wanted is not None:
            raise RuntimeError(f"no new prediction within 2 s of a move to {point}")
        return elapsed_ms


def draw_stroke(waiter: Waiter, points: list[QPoint]) -> list[float]:
    """Press, move through the points timing each move to its prediction, release; milliseconds per move."""
    canvas = waiter.window.canvas
    QTest.mousePress(canvas, LEFT, NO_MODIFIER, points[0])
    waiter.wait(MOUSE_INTERVAL_MS)
    latencies = []
    for point in points[1:]:
        latencies.append(waiter.move(point))
        waiter.wait(MOUSE_INTERVAL_MS)
    QTest.mouseRelease(canvas, LEFT, NO_MODIFIER, points[-1])
    waiter.wait(MOUSE_INTERVAL_MS)
    return latencies


def summary(latencies: list[float], moves: int) -> dict:
    ms = np.array(latencies[:moves])
    return {
        "moves": len(ms),
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
    }


def open_window(app, home: str, data_dir: Path | None):
    from app.main_window import MainWindow

    settings = QSettings(f"{home}/settings.ini", QSettings.Format.IniFormat)
    if data_dir is not None:  # to train MNIST with the default recipe, as chosen in the Training panel
        settings.setValue("training/config", json.dumps(CONFIG.to_dict()))
        settings.setValue("training/source", "mnist")
    window = MainWindow(data_dir=data_dir, settings=settings, data_home=home)
    window.resize(1280, 800)
    window.show()
    waiter = Waiter(window)
    waiter.wait_until(lambda: window.windowHandle().isExposed(), 10, "the window shown")
    waiter.wait(300)
    return window, waiter


def measure_idle(app, moves: int) -> dict:
    """The first-start window, nothing running."""
    with tempfile.TemporaryDirectory() as home:
        window, waiter = open_window(app, home, None)
        draw_stroke(waiter, stroke_points(window.canvas, 0)[:11])  # warm-up, not counted
        latencies: list[float] = []
        for index in range(math.ceil(moves / MOVES_PER_STROKE)):
            if index % 2 == 0:
                window.canvas.clear()  # a new digit every two strokes
                waiter.wait(50)
            latencies += draw_stroke(waiter, stroke_points(window.canvas, index))
        window.close()
        app.processEvents()
    return summary(latencies, moves)


class TrainingRate:
    """Training steps per second of training in the slices of each kind (epoch-end evaluations left out)."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer
        self.clock = EvaluationClock(trainer)
        self.steps: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def start(self) -> None:
        self.started, self.started_at = time.perf_counter(), self.trainer.step_count

    def stop(self, kind: str) -> float:
        """End the slice, counted as `kind`; its length in seconds."""
        end = time.perf_counter()
        self.steps[kind] = self.steps.get(kind, 0) + self.trainer.step_count - self.started_at
        training_s = end - self.started - self.clock.within(self.started, end)
        self.seconds[kind] = self.seconds.get(kind, 0.0) + training_s
        return end - self.started

    def per_second(self, kind: str) -> float:
        return self.steps[kind] / self.seconds[kind] if self.seconds[kind] > 0 else 0.0


def measure_training(app, moves: int, data_dir: Path) -> dict:
    """A window training MNIST; its steps per second while drawing, and in quiet slices of the same length between."""
    with tempfile.TemporaryDirectory() as home:
        window, waiter = open_window(app, home, data_dir)
        waiter.wait_until(lambda: window.worker.data is not None, 60, "MNIST loaded in the window")
        draw_stroke(waiter, stroke_points(window.canvas, 0)[:11])
        window.toggle_training()  # Start, as a person would
        worker = window.worker
        waiter.wait_until(lambda: worker.trainer is not None and worker.trainer.step_count > 0, 60, "training begun")
        trainer = worker.trainer
        waiter.wait(TRAIN_FIRST_S * 1000)
        draw_stroke(waiter, stroke_points(window.canvas, 1)[:11])  # warm-up while training, not counted
        latencies: list[float] = []
        rate = TrainingRate(trainer)
        for index in range(math.ceil(moves / MOVES_PER_STROKE)):
            if index % 2 == 0:
                window.canvas.clear()
                waiter.wait(50)
            rate.start()
            latencies += draw_stroke(waiter, stroke_points(window.canvas, index))
            stroke_s = rate.stop("drawing")
            rate.start()
            waiter.wait(stroke_s * 1000)  # no drawing, as long as the stroke took
            rate.stop("quiet")
        steps = rate.steps
        if not window.running or not steps["drawing"]:
            raise RuntimeError(f"the window stopped training (running: {window.running}, steps: {steps})")
        window.toggle_training()  # Pause
        waiter.wait_until(lambda: not window.running, 10, "training paused")
        window.close()
        app.processEvents()
    return {
        **summary(latencies, moves),
        "steps_per_s_drawing": rate.per_second("drawing"),
        "steps_per_s_quiet": rate.per_second("quiet"),
        "steps": steps,
        "evaluations": len(rate.clock.spans),
        "batch_size": trainer.config.batch_size,
    }


def measure(moves: int = 300) -> dict:
    data_dir = require_mnist()
    os.environ.pop("LENET_DATA_DIR", None)  # a first start: no data folder
    app = QApplication.instance() or QApplication(sys.argv)
    return {"idle": measure_idle(app, moves), "training": measure_training(app, moves, data_dir)}


def figures(result: dict) -> list[Figure]:
    """p95 of the move-to-prediction latency idle and while training (the targets), with context rows."""
    idle, training = result["idle"], result["training"]
    return [
        Figure(
            f"drawing-to-prediction latency, idle, p95 of {idle['moves']} moves",
            idle["p95_ms"],
            "ms",
            f"< {TARGET_P95_MS:g}",
            1,
        ),
        Figure("  median", idle["median_ms"], "ms", digits=1),
        Figure("  max", idle["max_ms"], "ms", digits=1),
        Figure(
            f"drawing-to-prediction latency while training, p95 of {training['moves']} moves",
            training["p95_ms"],
            "ms",
            f"< {TARGET_P95_MS:g}",
            1,
        ),
        Figure("  median", training["median_ms"], "ms", digits=1),
        Figure("  max", training["max_ms"], "ms", digits=1),
        Figure(
            f"  training while drawing (batch {training['batch_size']})",
            training["steps_per_s_drawing"],
            "steps/s",
            digits=0,
        ),
        Figure("  training in quiet slices between the strokes", training["steps_per_s_quiet"], "steps/s", digits=0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300, help="moves measured idle, and as many while training")
    args = parser.parse_args()
    print(format_table(figures(measure(args.moves))))


if __name__ == "__main__":
    main()
