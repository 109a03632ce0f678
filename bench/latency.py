"""Drawing-to-prediction latency in the real window: from a mouse move on the canvas to the new prediction shown.

The window is built as on a first start (no data, the shipped weights, throw-away settings), shown offscreen at
1280x800. Strokes are drawn with QTest: button down, then one move at a time. Each move's latency runs from just
before the move event is sent until the window has a new prediction (`window._prediction` replaced and handed to
the prediction panel), processing events until then: the canvas painting, `prepare` and `classify` all count.
Between moves the event loop runs for 8 ms, as between a 125 Hz mouse's reports, so timers and repaints fall
where they would in use.

    QT_QPA_PLATFORM=offscreen python bench/latency.py [--moves 300]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.common import Figure, format_table

TARGET_P95_MS = 10.0
MOVES_PER_STROKE = 50
MOUSE_INTERVAL_MS = 8
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


def draw_stroke(app, window, points: list[QPoint]) -> list[float]:
    """Press, move through the points timing each move to its prediction, release; milliseconds per move."""
    canvas = window.canvas
    latencies = []
    QTest.mousePress(canvas, LEFT, NO_MODIFIER, points[0])
    QTest.qWait(MOUSE_INTERVAL_MS)
    for point in points[1:]:
        shown = window._prediction
        started = time.perf_counter()
        QTest.mouseMove(canvas, point)
        while window._prediction is shown:
            app.processEvents()
            if time.perf_counter() - started > 2:
                raise RuntimeError(f"no new prediction within 2 s of a move to {point}")
        latencies.append((time.perf_counter() - started) * 1e3)
        QTest.qWait(MOUSE_INTERVAL_MS)
    QTest.mouseRelease(canvas, LEFT, NO_MODIFIER, points[-1])
    QTest.qWait(MOUSE_INTERVAL_MS)
    return latencies


def measure(moves: int = 300) -> dict:
    from app.main_window import MainWindow

    os.environ.pop("LENET_DATA_DIR", None)  # a first start: no data folder
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as home:
        settings = QSettings(f"{home}/settings.ini", QSettings.Format.IniFormat)
        window = MainWindow(data_dir=None, settings=settings, data_home=home)
        window.resize(1280, 800)
        window.show()
        QTest.qWaitForWindowExposed(window)
        QTest.qWait(300)
        draw_stroke(app, window, stroke_points(window.canvas, 0)[:11])  # warm-up, not counted
        latencies: list[float] = []
        for index in range(math.ceil(moves / MOVES_PER_STROKE)):
            if index % 2 == 0:
                window.canvas.clear()  # a new digit every two strokes
                QTest.qWait(50)
            latencies += draw_stroke(app, window, stroke_points(window.canvas, index))
        window.close()
        app.processEvents()
    ms = np.array(latencies[:moves])
    return {
        "moves": len(ms),
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
    }


def figures(result: dict) -> list[Figure]:
    """p95 of the move-to-prediction latency (the target), with median and max for context."""
    moves = f"{result['moves']} moves"
    return [
        Figure(f"drawing-to-prediction latency, p95 of {moves}", result["p95_ms"], "ms", f"< {TARGET_P95_MS:g}", 1),
        Figure("  median", result["median_ms"], "ms", digits=1),
        Figure("  max", result["max_ms"], "ms", digits=1),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300)
    args = parser.parse_args()
    print(format_table(figures(measure(args.moves))))


if __name__ == "__main__":
    main()
