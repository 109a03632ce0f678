"""Quit at a bad moment: from File ▸ Quit to the process gone, in the real program, for the moments that used to hang.

Each run is a fresh process (QApplication, `MainWindow` on the real MNIST with throw-away settings and data folder)
that gets to the moment, triggers the Quit action, and prints the monotonic time just before; the parent notes when
the process has exited. Moments: just after the first Start (the engine still being built), while training with a
batch of 4096, during a teach, during an evaluation (before its dialog appears), and just after the dialog appeared
and a second evaluation was asked for. The target: every quit ends the process within 2 s.

    QT_QPA_PLATFORM=offscreen python bench/close_time.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MNIST_DIR, Figure, format_table, require_mnist

TARGET_S = 2.0
MOMENTS = ("first Start +0.5 s", "training, batch 4096", "teaching", "evaluating", "second evaluation +0.1 s")


def child(moment: str, home: str) -> None:
    """The program up to `moment`, then Quit; prints the time of the Quit (this process's exit is timed outside)."""
    from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.__main__ import exit_now
    from app.main_window import APP_NAME, MainWindow

    app = QApplication(sys.argv)
    app.setApplicationName(APP_NAME)
    settings = QSettings(f"{home}/settings.ini", QSettings.Format.IniFormat)
    QMessageBox.warning = lambda *args: print("warning:", args[2], file=sys.stderr)  # never a blocking box
    window = MainWindow(data_dir=str(MNIST_DIR), settings=settings, data_home=home)
    window.resize(1280, 800)
    window.show()

    def when(ready, then, delay_ms: int = 10) -> None:
        QTimer.singleShot(delay_ms, lambda: then() if ready() else when(ready, then, delay_ms))

    def quit_now() -> None:
        print(f"quit {time.monotonic()}", flush=True)
        window.actions["quit"].trigger()

    def draw_a_seven() -> None:
        canvas, side = window.canvas, min(window.canvas.width(), window.canvas.height())

        def at(x: float, y: float) -> QPoint:
            return QPoint(int((canvas.width() - side) / 2 + x * side), int((canvas.height() - side) / 2 + y * side))

        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=at(0.3, 0.25))
        for t in range(1, 21):
            QTest.mouseMove(canvas, at(0.3 + 0.4 * min(t, 10) / 10, 0.25 + 0.6 * max(t - 10, 0) / 10))
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=at(0.55, 0.85))

    def start() -> None:
        if moment == "first Start +0.5 s":
            window.actions["train"].trigger()
            QTimer.singleShot(500, quit_now)
        elif moment == "training, batch 4096":
            window.panel.batch_size.setValue(4096)
            window.actions["train"].trigger()
            when(lambda: window.plots.point_count > 0, quit_now)
        elif moment == "teaching":
            draw_a_seven()
            window.label_drawing(7)  # Teach is ticked by default: the teach is queued on the worker
            QTimer.singleShot(50, quit_now)
        elif moment == "evaluating":
            window.actions["evaluate"].trigger()
            quit_now()
        else:
            window.actions["evaluate"].trigger()

            def second() -> None:
                window.actions["evaluate"].trigger()
                QTimer.singleShot(100, quit_now)

            when(lambda: getattr(window, "evaluation", None) is not None, second)

    when(lambda: window.worker.data is not None, start)
    exit_now(app.exec())  # as the program ends (app/__main__.py)


def measure(repeats: int = 2) -> dict[str, list[float]]:
    """Seconds from Quit to the process gone, per moment."""
    require_mnist()
    times: dict[str, list[float]] = {moment: [] for moment in MOMENTS}
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    for _ in range(repeats):
        for moment in MOMENTS:
            with tempfile.TemporaryDirectory() as home:
                process = subprocess.Popen(
                    [sys.executable, __file__, "--child", moment, home], stdout=subprocess.PIPE, text=True, env=env
                )
                quit_at = None
                for line in process.stdout:
                    if line.startswith("quit "):
                        quit_at = float(line.split()[1])
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    times[moment].append(float("inf"))
                    continue
                gone = time.monotonic()
                times[moment].append(float("inf") if quit_at is None else gone - quit_at)
    return times


def figures(times: dict[str, list[float]]) -> list[Figure]:
    return [Figure(f"quit, {moment} (worst)", max(values), "s", f"< {TARGET_S}") for moment, values in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("MOMENT", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    times = measure(args.repeats)
    for moment, values in times.items():
        print(f"{moment}: " + ", ".join(f"{v:.2f} s" for v in values))
    print(format_table(figures(times)))


if __name__ == "__main__":
    main()
