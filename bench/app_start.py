"""App start: from launching a fresh Python process to the first window shown, with the shipped weights loaded.

The parent notes the time just before it starts the child. The child does what a first start does (QApplication,
`MainWindow` with throw-away settings and data folder, so no autosave exists and the shipped weights are used;
show) and, from a zero-delay timer after `show()` (that is, once the event loop has run and the window is up), prints
the time and where its weights came from. Both read the system-wide monotonic clock. Median of several starts.

    QT_QPA_PLATFORM=offscreen python bench/app_start.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, format_table, median

TARGET_S = 3.0


def child(home: str) -> None:
    """The app's start, in this fresh process (which imported only the standard library and bench.common)."""
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import APP_NAME, MainWindow

    app = QApplication(sys.argv)
    app.setApplicationName(APP_NAME)  # as app.main_window.main_window_for_app does
    app.setOrganizationName("lenet-trainer")
    window = MainWindow(settings=QSettings(f"{home}/settings.ini", QSettings.Format.IniFormat), data_home=home)
    window.show()

    def shown() -> None:
        print(json.dumps({"shown": time.monotonic(), "weights": window.weights_origin}), flush=True)
        os._exit(0)  # measured; closing (autosave, joining the worker) would only make the benchmark slower

    QTimer.singleShot(0, shown)
    app.exec()


def start_once() -> tuple[float, str]:
    """Seconds from just before spawning the child to its window shown; and the weights it started with."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    env.pop("LENET_DATA_DIR", None)  # a first start: no data folder
    with tempfile.TemporaryDirectory() as home:
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, __file__, "--child", home], env=env, check=True, capture_output=True, text=True
        ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    return report["shown"] - started, report["weights"]


def measure(repeats: int = 3) -> dict:
    """No warm-up: a first start that reads the libraries from disk is one of the `repeats` (and their slowest)."""
    starts = [start_once() for _ in range(repeats)]
    seconds = [s for s, _ in starts]
    return {"median_s": median(seconds), "max_s": max(seconds), "weights": starts[0][1]}


def figures(result: dict) -> list[Figure]:
    """Median seconds from process start to the first window shown."""
    return [
        Figure(f"app start to first window ({result['weights']}), median", result["median_s"], "s", f"< {TARGET_S:g}"),
        Figure("  slowest start", result["max_s"], "s"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", metavar="HOME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(format_table(figures(measure(args.repeats))))


if __name__ == "__main__":
    main()
