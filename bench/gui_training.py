"""Training in the window (offscreen, live plots and feature maps) vs the headless engine, in one run.

Also a 10 ms heartbeat QTimer on the GUI thread during training: how late its ticks come (p99, max).

    QT_QPA_PLATFORM=offscreen python bench/gui_training.py [--seconds 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from PySide6.QtCore import QEventLoop, QPoint, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.common import require_mnist
from lenet_core.datasets import load_mnist
from lenet_core.model import new_model
from lenet_core.training import PRESETS, Trainer


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


def gui_run(app, data_dir: Path, seconds: float) -> tuple[float, list[float]]:
    from app.main_window import MainWindow

    home = tempfile.mkdtemp()
    window = MainWindow(
        data_dir=data_dir, settings=QSettings(f"{home}/s.ini", QSettings.Format.IniFormat), data_home=home
    )
    window.resize(1280, 800)
    window.show()
    while window.worker.data is None:
        app.processEvents()
        time.sleep(0.01)  # waiting for the data to load, before anything is timed
    draw_seven(window)
    app.processEvents()
    lateness: list[float] = []
    expected = [0.0]

    def beat():
        now = time.perf_counter()
        if expected[0]:
            lateness.append(max(0.0, now - expected[0]) * 1e3)
        expected[0] = now + 0.010

    heartbeat = QTimer(interval=10)
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.timeout.connect(beat)
    trainer = window.worker.trainer
    window.toggle_training()
    while not window.running:
        app.processEvents()
    start_samples, started = trainer.samples_seen, time.perf_counter()
    heartbeat.start()
    loop = QEventLoop()  # the window runs as in real use: the event loop waits, nothing polls
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    samples_per_s = (trainer.samples_seen - start_samples) / (time.perf_counter() - started)
    heartbeat.stop()
    window.close()
    return samples_per_s, lateness


def headless_run(data, seconds: float) -> float:
    trainer = Trainer(new_model(0), PRESETS["default"].replace(device="cpu"), data.train, data.test)
    trainer.step()
    started, start_samples = time.perf_counter(), trainer.samples_seen
    while time.perf_counter() - started < seconds:
        trainer.step()
        if trainer.epoch_complete:
            trainer.finish_epoch()
    return (trainer.samples_seen - start_samples) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data_dir = require_mnist()
    app = QApplication.instance() or QApplication(sys.argv)
    data = load_mnist(data_dir)
    gui, headless, lateness = [], [], []
    for _ in range(args.repeats):
        headless.append(headless_run(data, args.seconds))
        rate, late = gui_run(app, data_dir, args.seconds)
        gui.append(rate)
        lateness += late
    ratios = [g / h for g, h in zip(gui, headless, strict=True)]
    late = np.array(lateness)
    print(f"headless engine : {np.median(headless):8.0f} samples/s (median of {args.repeats})")
    print(f"in the window   : {np.median(gui):8.0f} samples/s")
    print(f"window / engine : {np.median(ratios):8.2f}  (target >= 0.85)")
    print(
        f"heartbeat late  : p99 {np.percentile(late, 99):.1f} ms, max {late.max():.1f} ms over {len(late)} ticks "
        "(target: max < 50 ms)"
    )


if __name__ == "__main__":
    main()
