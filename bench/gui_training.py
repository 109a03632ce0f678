"""Training in the window (offscreen, live plots and feature maps) vs the headless engine, in one run.

Also a 10 ms heartbeat QTimer on the GUI thread during training: how late its ticks come (p99, max).
Each measurement runs in a fresh process, as the app and the CLI do (thread set-up is per process), and the two
kinds alternate so that drifts in the machine's load hit both alike.

    QT_QPA_PLATFORM=offscreen python bench/gui_training.py [--seconds 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
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
    window.toggle_training()

    def first_step_done() -> bool:  # the worker builds its Trainer on the first Start (an import of ~1 s)
        trainer = window.worker.trainer
        return window.running and trainer is not None and trainer.step_count > 0

    while not first_step_done():
        app.processEvents()
        time.sleep(0.001)
    trainer = window.worker.trainer
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


def measure(kind: str, seconds: float) -> dict:
    """One measurement in a fresh process: {"rate": samples/s, "lateness": [ms, ...]}."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--seconds", str(seconds)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare(seconds: float, repeats: int) -> dict:
    """Medians over `repeats` alternating pairs: window and headless rates, their ratio, heartbeat lateness."""
    gui, headless, lateness, peak_rss = [], [], [], []
    for _ in range(repeats):
        headless.append(measure("headless", seconds)["rate"])
        result = measure("gui", seconds)
        gui.append(result["rate"])
        lateness += result["lateness"]
        peak_rss.append(result["peak_rss_mb"])
    late = np.array(lateness)
    return {
        "headless": float(np.median(headless)),
        "gui": float(np.median(gui)),
        "ratio": float(np.median([g / h for g, h in zip(gui, headless, strict=True)])),
        "late_p99": float(np.percentile(late, 99)),
        "late_max": float(late.max()),
        "ticks": len(late),
        "peak_rss_mb": max(peak_rss),  # of the app's process, training in the window
        "pairs": [(round(h), round(g)) for h, g in zip(headless, gui, strict=True)],  # samples/s, for the record
    }


def child(kind: str, seconds: float) -> None:
    data_dir = require_mnist()
    if kind == "headless":
        result = {"rate": headless_run(load_mnist(data_dir), seconds), "lateness": []}
    else:
        app = QApplication.instance() or QApplication(sys.argv)
        rate, lateness = gui_run(app, data_dir, seconds)
        result = {"rate": rate, "lateness": lateness}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=("gui", "headless"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds)
        return
    require_mnist()
    r = compare(args.seconds, args.repeats)
    print(f"headless engine : {r['headless']:8.0f} samples/s (median of {args.repeats}, each in a fresh process)")
    print(f"in the window   : {r['gui']:8.0f} samples/s")
    print(f"window / engine : {r['ratio']:8.2f}  (target >= 0.9)")
    print(
        f"heartbeat late  : p99 {r['late_p99']:.1f} ms, max {r['late_max']:.1f} ms over {r['ticks']} ticks "
        "(target: p99 < 20 ms, max < 50 ms)"
    )
    print(f"app peak memory : {r['peak_rss_mb']:.0f} MB while training (target < 800 MB)")
    print("pairs (headless, window) samples/s:", ", ".join(f"{h:,}/{g:,}" for h, g in r["pairs"]))


if __name__ == "__main__":
    main()
