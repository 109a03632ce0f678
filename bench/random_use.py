"""Seeded random use of the real window: strokes, keys, buttons, menus, dialogs, files, close and reopen (issue 19).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/random_use.py --minutes 10 --seed 1 [--data DIR] [--log PATH]

It drives the real `MainWindow` through real input where it can: QTest mouse drags on the canvas (digit-like strokes),
key clicks to whatever widget has the focus (digits to label, Esc, Ctrl+Z / Ctrl+Shift+Z, Space, Ctrl+T, Ctrl+R,
Ctrl+E, Ctrl+G, Ctrl+O / Ctrl+S / Ctrl+Shift+S, Ctrl+Shift+T, Ctrl+Q), mouse clicks on the panel's buttons, the
menus (the menu bar clicked, then the item), combo boxes (keys, or the popup clicked), numbers typed into the spin
boxes (select all, type, Enter: in range, out of range, garbage), the tutorial dock, the gallery and evaluation
dialogs (items selected, relabelled, deleted, exported, imported; a confusion-matrix cell clicked; closed with Esc),
checkpoints saved and opened (also corrupt ones made here: random bytes, truncated, NaN, odd configs), the data
folder (good, empty, corrupt), a download to a mirror that refuses, the language, the window's size; and every so
often it closes the window (sometimes mid-training, mid-teach, mid-evaluation, mid-load) and opens a new one on the
same settings and data folder. QFileDialog and QMessageBox are replaced by functions that answer at once (a seeded
choice of path) and record what was said. Between actions the event loop runs for 0-300 ms (now and then seconds),
so the window trains meanwhile; all waiting is in Qt's event loop (QEventLoop + QTimer), never QTest.qWait, which
holds the GIL and starves the training thread.

Action i's kind and the wait after it come from random.Random(seed); the choices inside action i (which key, which
file) from random.Random(f"{seed}-{i}"), so a run's sequence of actions depends only on the seed even where the
window's state (training or not, a dialog open or not) changes what an action does. Every action is written to the
log (index, time, kind, details) as it starts; on a failure the last 30 actions before it are printed.

At the end, a table: actions by kind; uncaught exceptions (sys.excepthook, threading.excepthook,
sys.unraisablehook); exceptions raised by this script's own calls into the app (with tracebacks); Qt warnings
(qInstallMessageHandler: warning, critical, fatal), except the offscreen plugin's "This plugin does not support
..." (propagateSizeHints, raise(), grabbing the keyboard: what the platform cannot do, printed for any window or
menu) and QTest's own "Keyboard event not accepted by receiving widget" (a key nobody took), both counted apart;
the longest close (from the window's first Close event to its destruction); GUI stalls (the lateness of a 10 ms
heartbeat timer: max and p99, and the actions the worst ones fell in); peak RSS, the RSS left after the last close
(and after malloc_trim), closed windows still alive after a gc; and what the window said: message
boxes by first line, status-bar messages by first line with numbers as #, the app's log warnings and errors.
Exit code 0 only if there was no uncaught exception, no exception from a call into the app, no Qt warning and no
close over 2 s (or that never finished).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import faulthandler
import gc
import gzip
import io
import itertools
import json
import logging
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
import weakref
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import shiboken6
import torch
from PySide6.QtCore import (
    QEvent,
    QEventLoop,
    QObject,
    QPoint,
    QPointF,
    QSettings,
    Qt,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QMessageBox,
    QPushButton,
    QToolButton,
    QWidget,
)

from bench.common import MNIST_DIR, Figure, format_table

CLOSE_LIMIT_S = 2.0
CLOSE_GIVE_UP_S = 30.0  # a close not done by then is reported as never finished, and a new window is opened
HEARTBEAT_MS = 10
RECENT = 30  # actions printed before a failure
REFUSING_MIRROR = "http://127.0.0.1:9/"  # the discard port: the connection is refused at once, offline or not
LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NONE, CTRL, SHIFT = (
    Qt.KeyboardModifier.NoModifier,
    Qt.KeyboardModifier.ControlModifier,
    Qt.KeyboardModifier.ShiftModifier,
)
# Not the app's: what the offscreen platform cannot do, and QTest saying that no widget took a key (a release, say).
PLATFORM_NOTE = re.compile(r"^This plugin does not support ")
QTEST_NOTE = "Keyboard event not accepted by receiving widget"


# -- waiting, always in Qt's event loop ------------------------------------------------------------------------------
def spin(ms: float) -> None:
    """Run the event loop for ms milliseconds (0: one pass), releasing the GIL while it waits."""
    loop = QEventLoop()
    QTimer.singleShot(max(0, int(ms)), loop.quit)
    loop.exec()


def spin_until(done, timeout_s: float, step_ms: int = 5) -> bool:
    deadline = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > deadline:
            return False
        spin(step_ms)
    return True


def valid(obj) -> bool:
    return obj is not None and shiboken6.isValid(obj)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def malloc_trim() -> None:
    """Hand the memory glibc's malloc holds free back to the system (no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


# -- what happened ---------------------------------------------------------------------------------------------------
class Record:
    """Everything the run saw, each tied to the index of the action in progress."""

    def __init__(self, log_path: Path, seed: int, work: Path) -> None:
        self.log = open(log_path, "w", buffering=1, encoding="utf-8")  # noqa: SIM115 (open for the whole run)
        self.log_path, self.seed, self.work = log_path, seed, str(work)
        self.started = time.perf_counter()
        self.index, self.kind = -1, "start"
        self.lines: list[str] = []  # every action line, for the context of a failure
        self.kinds: collections.Counter[str] = collections.Counter()
        self.uncaught: list[tuple[int, str, str]] = []  # action index, where, traceback
        self.harness: list[tuple[int, str, str]] = []  # exceptions from this script's calls into the app
        self.qt: list[tuple[int, str, str]] = []  # index, type, message
        self.qt_ignored: collections.Counter[str] = collections.Counter()
        self.closes: list[tuple[int, str, float]] = []  # index, how, seconds (inf: never finished)
        self.opens: list[tuple[int, float, float]] = []  # index, seconds, RSS MB after
        self.closed: list[tuple[weakref.ref, weakref.ref]] = []  # closed windows and their workers: freed?
        self.alive_after: list[tuple[int, int]] = []  # at each open: closed windows, workers still alive after a gc
        self.boxes: collections.Counter[str] = collections.Counter()
        self.status: collections.Counter[str] = collections.Counter()
        self.logged: collections.Counter[str] = collections.Counter()
        self.logged_errors: list[tuple[int, str]] = []
        self.py_warnings: collections.Counter[str] = collections.Counter()
        self.lateness_ms: list[float] = []
        self.stalls: list[tuple[float, int, str, str]] = []  # ms, action index, kind, phase (over 50 ms)
        self.phase = ""  # "opening" or "closing" a window, set by the driver
        self.rss_end = (0.0, 0.0)  # MB after the last close, and after malloc_trim(0) then
        self.rss_peak: tuple[float, int, str] = (0.0, -1, "")  # MB, action index, kind: sampled after each action
        self.file_dialogs: collections.Counter[str] = collections.Counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def action(self, index: int, kind: str) -> None:
        self.index, self.kind = index, kind
        self.kinds[kind] += 1
        line = f"{index:5d} {self.elapsed():8.2f}s {kind}"
        self.lines.append(line)
        self.log.write(line + "\n")

    def detail(self, text: str) -> None:
        """More about the action in progress (what was typed, which file was answered)."""
        if self.lines:
            self.lines[-1] += f" | {text}"
        self.log.write(f"      {text}\n")

    def note(self, text: str) -> None:
        self.log.write(f"    ! [{self.index}] {self.elapsed():.2f}s {text}\n")

    def failure(self, bucket: list, where: str, text: str) -> None:
        bucket.append((self.index, where, text))
        self.note(f"{where}: {text.rstrip()}")

    def normalise(self, text: str) -> str:
        return first_line(text).replace(self.work, "<work>")

    def context(self, index: int) -> str:
        """The actions up to index: what a reproduction replays."""
        upto = [line for line in self.lines if int(line.split()[0]) <= index]
        return "\n".join(upto[-RECENT:])


class CloseWatch(QObject):
    """Notes when a window is first asked to close (its Close event) and when it is destroyed."""

    def __init__(self, window: QWidget) -> None:
        super().__init__()
        self.asked: float | None = None
        self.gone: float | None = None
        window.installEventFilter(self)
        window.destroyed.connect(self._destroyed)

    def eventFilter(self, obj, event) -> bool:
        if self.asked is None and event.type() == QEvent.Type.Close:
            self.asked = time.perf_counter()
        return False

    def _destroyed(self, *_) -> None:
        self.gone = time.perf_counter()


# -- files to offer the window --------------------------------------------------------------------------------------
def make_files(work: Path, rng: random.Random) -> dict[str, list[Path]]:
    """Checkpoints good and bad, data folders good and bad, IDX files to import: made once, seeded."""
    from lenet_core.checkpoint import FORMAT, save_model
    from lenet_core.idx import write_idx
    from lenet_core.model import new_model
    from lenet_core.training import TrainConfig

    ckpt = work / "checkpoints"
    ckpt.mkdir()

    def torch_file(path: Path, weights: dict, config: dict | None) -> Path:
        buffer = io.BytesIO()
        content = {"format": FORMAT, "version": 1, "model": weights}
        if config is not None:
            content["config"] = config
        torch.save(content, buffer)
        path.write_bytes(buffer.getvalue())
        return path

    good = ckpt / "good.pt"
    save_model(good, new_model(5))
    data = good.read_bytes()
    files: dict[str, list[Path]] = {"open": [good]}
    for n, size in enumerate((0, 1, 64, 4096, 100_000)):
        files["open"].append(ckpt / f"random-{n}.pt")
        files["open"][-1].write_bytes(rng.randbytes(size))
    for n, cut in enumerate((10, len(data) // 3, len(data) // 2, len(data) - 1)):
        files["open"].append(ckpt / f"truncated-{n}.pt")
        files["open"][-1].write_bytes(data[:cut])
    (ckpt / "text.pt").write_text("hello\nworld\n" * 40)
    (ckpt / "zip.pt").write_bytes(b"PK\x03\x04junk" * 10)
    weights = new_model(6).state_dict()
    config = TrainConfig().to_dict()
    files["open"] += [
        ckpt / "text.pt",
        ckpt / "zip.pt",
        torch_file(ckpt / "nan.pt", {k: torch.full_like(v, float("nan")) for k, v in weights.items()}, config),
        torch_file(ckpt / "huge.pt", {k: v * 1e18 for k, v in weights.items()}, config),
        torch_file(
            ckpt / "odd-config.pt",
            weights,
            {**config, "batch_size": 100_000, "lr": 1e9, "seed": 2**63, "momentum": 0.995, "epochs": 0},
        ),
        torch_file(ckpt / "typed-config.pt", weights, {**config, "batch_size": "64x", "optimizer": "rmsprop"}),
        torch_file(ckpt / "no-config.pt", weights, None),
        torch_file(ckpt / "wrong-shapes.pt", {k: v[..., :1] for k, v in weights.items()}, config),
        work / "no-such-file.pt",
        ckpt,  # a folder
    ]
    files["save"] = [ckpt / f"saved-{n}.pt" for n in range(4)] + [work / "no-such-folder" / "x.pt", ckpt]

    empty = work / "empty-folder"
    empty.mkdir()
    garbage = work / "garbage-mnist"
    garbage.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        (garbage / name).write_bytes(rng.randbytes(2000))
    (garbage / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(rng.randbytes(2000)))
    shapes = work / "wrong-shape-mnist"
    shapes.mkdir()
    write_idx(shapes / "train-images-idx3-ubyte", np.zeros((50, 20, 20), np.uint8))
    write_idx(shapes / "train-labels-idx1-ubyte", np.zeros(50, np.uint8))
    write_idx(shapes / "t10k-images-idx3-ubyte", np.zeros((40, 28, 28), np.uint8))
    write_idx(shapes / "t10k-labels-idx1-ubyte", np.full(40, 11, np.uint8))  # label 11
    files["folders"] = [empty, garbage, shapes, work / "no-such-folder"]

    idx = work / "idx"
    idx.mkdir()
    pixels = np.random.default_rng(rng.randrange(2**32)).choice([0, 255], (30, 28, 28))
    write_idx(idx / "small-images-idx3-ubyte", pixels.astype(np.uint8))
    write_idx(idx / "small-labels-idx1-ubyte", np.arange(30, dtype=np.uint8) % 10)
    write_idx(idx / "bad-labels-idx1-ubyte", np.full(30, 200, np.uint8))
    write_idx(idx / "short-labels-idx1-ubyte", np.zeros(7, np.uint8))
    write_idx(idx / "wide-images-idx3-ubyte", np.zeros((30, 28, 30), np.uint8))
    (idx / "random-images-idx3-ubyte").write_bytes(rng.randbytes(3000))
    truncated = (idx / "small-images-idx3-ubyte").read_bytes()[:1000]
    (idx / "truncated-images-idx3-ubyte").write_bytes(truncated)
    files["idx_images"] = sorted(idx.glob("*idx3*"))
    files["idx_labels"] = sorted(idx.glob("*idx1*"))
    files["exports"] = [work / "exports" / f"e{n}" for n in range(3)] + [good]  # a file: the export must fail
    return files


def tree_state() -> str:
    """The commit under test, and the files changed since (others may be editing the tree while this runs)."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        changed = subprocess.run(["git", "status", "--short", "-uno"], cwd=root, capture_output=True, text=True)
    except OSError:
        return f"{root} (git not found)"
    if commit.returncode:
        return f"{root} (not a git checkout)"
    files = [line[3:] for line in changed.stdout.splitlines()]
    return f"{root} at {commit.stdout.strip()}" + (f", changed: {' '.join(files)}" if files else ", clean")


def data_folder(requested: str | None, work: Path) -> tuple[Path, str]:
    if requested:
        return Path(requested), "given"
    if MNIST_DIR.is_dir():
        return MNIST_DIR, "real MNIST"
    from tests.conftest import write_mnist_folder

    return write_mnist_folder(work / "fake-mnist", n_train=3000, n_test=1000), "generated (tests/conftest.py)"


# -- the driver -----------------------------------------------------------------------------------------------------
class RandomUse:
    def __init__(self, app: QApplication, seed: int, data: Path, work: Path, rec: Record) -> None:
        self.app, self.seed, self.data, self.work, self.rec = app, seed, data, work, rec
        self.rng = random.Random(seed)  # the kind of each action and the wait after it
        self.r = random.Random()  # choices inside the action in progress, reseeded per action
        self.window = None
        self.watch: CloseWatch | None = None
        self.settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
        self.settings.setValue("ui/language", "en")
        self.data_home = work / "home"
        self.files = make_files(work, random.Random(f"{seed}-files"))
        self.dialog_calls = 0
        self.actions = {  # kind: (weight, method)
            "stroke": (18, self.stroke),
            "label key": (7, self.label_key),
            "label button": (2, self.label_button),
            "edit key": (5, self.edit_key),
            "canvas right click": (1, self.right_click),
            "space": (5, lambda: self.key(Qt.Key.Key_Space)),
            "step key": (3, lambda: self.key(Qt.Key.Key_T, CTRL)),
            "reset key": (1.5, lambda: self.key(Qt.Key.Key_R, CTRL)),
            "evaluate key": (2.5, lambda: self.key(Qt.Key.Key_E, CTRL)),
            "gallery key": (1.5, lambda: self.key(Qt.Key.Key_G, CTRL)),
            "key burst": (1.5, self.key_burst),
            "panel button": (6, self.panel_button),
            "type number": (6, self.type_number),
            "combo": (4, self.combo),
            "checkbox": (2.5, self.checkbox),
            "pen width": (1.5, self.pen_width),
            "live view": (4, self.live_view),
            "tutorial": (6, self.tutorial),
            "gallery": (5, self.gallery),
            "evaluation": (3, self.evaluation),
            "save key": (2, self.save_key),
            "open key": (2.5, lambda: self.key(Qt.Key.Key_O, CTRL)),
            "menu": (5, self.menu),
            "language": (1.5, self.language),
            "resize": (1.5, self.resize),
            "activate": (2, self.activate),
            "download": (0.7, self.download),
            "long wait": (3, self.long_wait),
            "close and reopen": (1.4, self.close_and_reopen),
        }
        self._patch_dialogs()

    # -- dialogs that would block: answered at once ---------------------------------------------------------------
    def _patch_dialogs(self) -> None:
        def box(kind):
            def answer(*args, **kwargs):
                title, text = (args[1], args[2]) if len(args) > 2 else ("", args[1] if len(args) > 1 else "")
                self.rec.boxes[f"{kind}: {self.rec.normalise(text)}"] += 1
                self.rec.detail(f"QMessageBox.{kind}({title!r}): {self.rec.normalise(text)}")
                return QMessageBox.StandardButton.Ok

            return staticmethod(answer)

        for kind in ("warning", "information", "critical", "question", "about"):
            setattr(QMessageBox, kind, box(kind))

        def file_dialog(kind):
            def answer(parent=None, caption="", *args, **kwargs):
                self.dialog_calls += 1
                r = random.Random(f"{self.seed}-{self.rec.index}-dialog-{self.dialog_calls}")
                path = self._answer(kind, caption, r)
                self.rec.file_dialogs[f"{kind} {caption!r}"] += 1
                self.rec.detail(f"QFileDialog.{kind}({caption!r}) -> {path.replace(str(self.work), '<work>')!r}")
                return path if kind == "getExistingDirectory" else (path, "")

            return staticmethod(answer)

        for kind in ("getOpenFileName", "getSaveFileName", "getExistingDirectory"):
            setattr(QFileDialog, kind, file_dialog(kind))

    def _answer(self, kind: str, caption: str, r: random.Random) -> str:
        if r.random() < 0.1:
            return ""  # Cancel
        f = self.files
        if kind == "getOpenFileName" and caption.startswith("Open checkpoint"):
            saved = [p for p in f["save"] if p.is_file()]
            choice = r.choice(f["open"] + saved * 2)
            if choice in saved and r.random() < 0.2:  # one of ours, damaged after it was saved
                content = choice.read_bytes()
                choice = self.work / "checkpoints" / "damaged.pt"
                choice.write_bytes(content[: r.randrange(len(content))])
            return str(choice)
        if kind == "getOpenFileName" and "images" in caption:
            exported = sorted((self.work / "exports").glob("*/*idx3*"))
            return str(r.choice(f["idx_images"] + exported * 3))
        if kind == "getOpenFileName":
            exported = sorted((self.work / "exports").glob("*/*idx1*"))
            return str(r.choice(f["idx_labels"] + exported * 3))
        if kind == "getSaveFileName":
            return str(r.choice(f["save"]))
        if caption.startswith("Export"):
            return str(r.choice(f["exports"]))
        return str(self.data) if r.random() < 0.6 else str(r.choice(f["folders"]))

    # -- the window -----------------------------------------------------------------------------------------------
    def open_window(self, data_dir: Path | None) -> None:
        from app.main_window import MainWindow

        started = time.perf_counter()
        self.rec.phase = "opening"
        window = MainWindow(data_dir=data_dir, settings=self.settings, data_home=self.data_home)
        window.download_mirrors = [REFUSING_MIRROR]
        self.watch = CloseWatch(window)
        self.refs = (weakref.ref(window), weakref.ref(window.worker))
        self.window = window
        window.show()
        spin_until(lambda: window.windowHandle() is not None and window.windowHandle().isExposed(), 10)
        window.activateWindow()
        spin_until(lambda: QApplication.activeWindow() is window, 1)
        seconds = time.perf_counter() - started
        gc.collect()  # (never gc.get_objects(): it may hand out a tuple the training thread is still building)
        alive = tuple(sum(ref() is not None for ref in refs) for refs in zip(*self.rec.closed, strict=True))
        self.rec.alive_after.append(alive or (0, 0))
        self.rec.phase = ""
        rec = self.rec
        window.statusBar().messageChanged.connect(  # counted by first line, numbers as #
            lambda text: text and rec.status.update([re.sub(r"\d[\d,.]*", "#", rec.normalise(text))])
        )
        self.rec.opens.append((self.rec.index, seconds, rss_mb()))
        self.rec.note(
            f"window opened in {seconds:.2f} s (data_dir={data_dir}), RSS {rss_mb():.0f} MB, "
            f"closed windows / workers still alive: {alive}"
        )

    def closing(self) -> bool:
        return self.watch is not None and self.watch.asked is not None

    def finish_close(self, how: str) -> None:
        """The window was asked to close: wait (in the event loop) until it is gone, and time it."""
        watch, self.window = self.watch, None
        spin_until(lambda: watch.gone is not None, CLOSE_GIVE_UP_S)
        seconds = math.inf if watch.gone is None else watch.gone - watch.asked
        self.rec.closes.append((self.rec.index, how, seconds))
        self.rec.note(f"close ({how}) took {seconds:.3f} s")
        if seconds > CLOSE_LIMIT_S:
            self.rec.note(f"CLOSE OVER {CLOSE_LIMIT_S:g} s")
        spin(0)  # a heartbeat tick late because of the close is counted as the close's
        self.rec.closed.append(self.refs)
        self.watch = None

    def w(self):
        if not valid(self.window):
            raise RuntimeError("the window is gone")
        return self.window

    # -- input helpers --------------------------------------------------------------------------------------------
    def key_target(self) -> QWidget:
        """Where a key press goes: the focus widget, else the active window, else ours."""
        return QApplication.focusWidget() or QApplication.activeWindow() or self.w()

    def key(self, key: Qt.Key, modifiers=NONE, activate: float = 0.75) -> None:
        """Press and release a key where the focus is; mostly after a click on the main window (it is then active)."""
        if self.r.random() < activate:
            self.activate_main()
        target = self.key_target()
        self.rec.detail(f"key {key_name(key, modifiers)} -> {type(target).__name__} {target.objectName()!r}")
        QTest.keyClick(target, key, modifiers)

    def click(self, widget: QWidget, pos: QPoint | None = None, button=LEFT, modifiers=NONE) -> None:
        self.rec.detail(f"click {type(widget).__name__} {widget.objectName() or widget_text(widget)!r}")
        if pos is None:
            QTest.mouseClick(widget, button, modifiers)
        else:
            QTest.mouseClick(widget, button, modifiers, pos)

    def canvas_point(self, x: float, y: float) -> QPoint:
        canvas = self.w().canvas
        side = min(canvas.width(), canvas.height())
        return QPoint(int((canvas.width() - side) / 2 + x * side), int((canvas.height() - side) / 2 + y * side))

    # -- actions --------------------------------------------------------------------------------------------------
    def stroke(self) -> None:
        """One digit-like shape (1-3 strokes), transformed at random, drawn with the mouse at 0-16 ms a move."""
        r = self.r
        name, strokes = digit_shape(r)
        scale, angle = r.uniform(0.5, 1.15), math.radians(r.uniform(-20, 20))
        dx, dy, jitter = r.uniform(-0.2, 0.2), r.uniform(-0.2, 0.2), r.choice([0, 0.003, 0.01])
        pause_ms = r.choice([0, 4, 8, 8, 16])
        self.rec.detail(f"shape {name} scale {scale:.2f} angle {math.degrees(angle):.0f} pause {pause_ms} ms")
        canvas = self.w().canvas
        for points in strokes:
            moved = []
            for x, y in points:
                x, y = x - 0.5, y - 0.5
                x, y = x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)
                moved.append((0.5 + dx + scale * x + r.gauss(0, jitter), 0.5 + dy + scale * y + r.gauss(0, jitter)))
            QTest.mousePress(canvas, LEFT, NONE, self.canvas_point(*moved[0]))
            for x, y in moved[1:]:
                spin(pause_ms)
                if not valid(canvas):
                    return
                QTest.mouseMove(canvas, self.canvas_point(x, y))
            QTest.mouseRelease(canvas, LEFT, NONE, self.canvas_point(*moved[-1]))
            spin(r.choice([0, 30, 100]))
            if not valid(canvas):
                return

    def activate_main(self) -> None:
        """What a click on the main window's frame does: it becomes the active window (dialogs stay open)."""
        w = self.w()
        if QApplication.activeWindow() is not w:
            w.activateWindow()
            spin_until(lambda: QApplication.activeWindow() is w, 0.2)

    def label_key(self) -> None:
        self.activate_main()
        if self.r.random() < 0.7:  # as a click on the window would: the digit goes to the window, not a spin box
            self.w().setFocus()
        self.key(Qt.Key(Qt.Key.Key_0.value + self.r.randrange(10)), activate=0)

    def label_button(self) -> None:
        digit = self.r.randrange(10)
        self.click(self.w().findChild(QToolButton, f"label_{digit}"))

    def edit_key(self) -> None:
        key, modifiers = self.r.choice(
            [
                (Qt.Key.Key_Escape, NONE),
                (Qt.Key.Key_Delete, NONE),
                (Qt.Key.Key_Z, CTRL),
                (Qt.Key.Key_Z, CTRL),
                (Qt.Key.Key_Z, CTRL | SHIFT),
            ]
        )
        self.key(key, modifiers)

    def right_click(self) -> None:
        self.click(self.w().canvas, self.canvas_point(self.r.random(), self.r.random()), RIGHT)

    def key_burst(self) -> None:
        """A key pressed again and again quickly: Space, Ctrl+T, Ctrl+E, Ctrl+Z or a digit."""
        key, modifiers = self.r.choice(
            [
                (Qt.Key.Key_Space, NONE),
                (Qt.Key.Key_T, CTRL),
                (Qt.Key.Key_E, CTRL),
                (Qt.Key.Key_Z, CTRL),
                (Qt.Key.Key_7, NONE),
            ]
        )
        for _ in range(self.r.randint(2, 12)):
            self.key(key, modifiers)
            spin(self.r.choice([0, 0, 5, 30]))
            if not valid(self.window) or self.closing():
                return

    def panel_button(self) -> None:
        w = self.w()
        buttons = [
            w.panel.train_button,
            w.panel.step_button,
            w.panel.reset_button,
            w.panel.choose_data,
            w.panel.download,
            w.undo_button,
            w.clear_button,
        ]
        weights = [5, 4, 1, 0.5, 0.3, 2, 2]
        self.click(self.r.choices(buttons, weights)[0])

    def type_number(self) -> None:
        """Select all, type, Enter (or Tab, or nothing: Up/Down keys) in a spin box of the panel or the tutorial."""
        from lenet_core.training import LIMITS

        w, r = self.w(), self.r
        names = ["lr", "momentum", "weight_decay", "batch_size", "epochs", "seed", "target"]
        name = r.choice(names)
        box: QAbstractSpinBox = w.tutorial.target if name == "target" else getattr(w.panel, name)
        low, high = LIMITS.get(name, (0, 9))
        kind = r.choices(["in range", "out of range", "garbage", "arrows"], [5, 2, 2, 1])[0]
        if kind == "in range":
            value = r.uniform(low, high) if r.random() < 0.3 else low + (high - low) * r.random() ** 6
            text = str(round(value)) if isinstance(low, int) else r.choice([f"{value:g}", f"{value:.3e}", str(value)])
        elif kind == "out of range":
            text = r.choice([f"{high * 10:g}", f"{low - 1:g}", "-0.5", "1e9", "1e-9", str(2**64), "-1"])
        else:
            text = r.choice(["abc", "", "-", "1e", "1e999", "nan", "inf", "-inf", "0x10", "1,5", " 3 ", "٣", "1e-400"])
        self.rec.detail(f"{name}: {kind} {text!r}")
        line = box.lineEdit()
        QTest.mouseClick(line, LEFT, NONE, QPoint(5, line.height() // 2))
        if not box.hasFocus():
            box.setFocus()
        if kind == "arrows":
            for _ in range(r.randint(1, 5)):
                QTest.keyClick(box, r.choice([Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown]))
            return
        QTest.keyClick(box, Qt.Key.Key_A, CTRL)
        type_text(box, text)
        end = r.choices([Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab, None], [6, 1, 2, 1])[0]
        if end is not None:
            QTest.keyClick(box, end)
        self.rec.detail(f"box now shows {box.text()!r}")

    def combo(self) -> None:
        w, r = self.w(), self.r
        combos = {
            "preset": w.panel.preset,
            "optimizer": w.panel.optimizer,
            "schedule": w.panel.schedule,
            "source": w.panel.source,
            "criterion": w.tutorial.criterion,
        }
        name = r.choice(list(combos))
        combo: QComboBox = combos[name]
        if r.random() < 0.5:  # keys
            key = r.choice([Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_Home, Qt.Key.Key_End])
            self.rec.detail(f"{name}: key {key.name}")
            QTest.keyClick(combo, key)
            return
        self.rec.detail(f"{name}: popup")
        QTest.mouseClick(combo, LEFT)
        spin(30)
        view = combo.view()
        if not view.isVisible():
            self.rec.detail("no popup (disabled?)")
            return
        row = r.randrange(combo.count())
        rect = view.visualRect(combo.model().index(row, 0))
        self.rec.detail(f"item {combo.itemText(row)!r}")
        QTest.mouseClick(view.viewport(), LEFT, NONE, rect.center())
        spin(30)
        if view.isVisible():
            combo.hidePopup()

    def checkbox(self) -> None:
        w = self.w()
        box = self.r.choice([w.teach_check, w.teach_check, w.panel.augment])
        self.click(box, QPoint(8, box.height() // 2))

    def pen_width(self) -> None:
        slider = self.w().pen_width
        if self.r.random() < 0.5:
            self.click(slider, QPoint(int(self.r.random() * slider.width()), slider.height() // 2))
        else:
            QTest.keyClick(slider, self.r.choice([Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_PageUp]))

    def live_view(self) -> None:
        """The middle column: a tab, the health quantity, the legend, the x axis, smoothing, log scale, why not."""
        w, r = self.w(), self.r
        live, plots = w.live, w.plots
        kind = r.choice(["tab", "quantity", "legend", "x axis", "smoothing", "log scale", "why not"])
        self.rec.detail(kind)
        if kind == "tab":
            bar = live.tabs.tabBar()
            self.click(bar, bar.tabRect(r.randrange(bar.count())).center())
        elif kind in ("quantity", "x axis", "why not"):
            combo = {"quantity": live.health.quantity, "x axis": plots.x_axis, "why not": live.why.pick}[kind]
            if combo.isVisible():
                QTest.keyClick(combo, r.choice([Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_Home, Qt.Key.Key_End]))
        elif kind == "legend":
            if not plots.legend.items:
                self.rec.detail("no runs in the legend")
                return
            sample, _ = r.choice(plots.legend.items)
            view = plots.loss_plot
            point = view.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
            self.click(view.viewport(), QPoint(point.x(), point.y()))
        elif kind == "smoothing":
            slider = plots.smoothing
            self.click(slider, QPoint(int(r.random() * slider.width()), slider.height() // 2))
        else:
            self.click(plots.log_scale, QPoint(8, plots.log_scale.height() // 2))

    def tutorial(self) -> None:
        w, r = self.w(), self.r
        t = w.tutorial
        what = r.choices(["toggle dock", "next", "run all", "restart", "target"], [2, 5, 3, 1, 1])[0]
        self.rec.detail(what)
        if what == "toggle dock" or (not w.tutorial_dock.isVisible() and r.random() < 0.5):
            self.key(Qt.Key.Key_T, CTRL | SHIFT)
            spin(20)
            return
        button = {"next": t.next_button, "run all": t.all_button, "restart": t.restart_button}.get(what)
        if button is not None:
            for _ in range(r.randint(1, 4) if what == "next" else 1):
                self.click(button)
                spin(r.choice([0, 50]))
                if not valid(self.window):
                    return
        else:
            QTest.keyClick(t.target, r.choice([Qt.Key.Key_Up, Qt.Key.Key_Down]))

    def _dialogs(self, cls) -> list:
        return [d for d in self.w().findChildren(cls) if valid(d) and d.isVisible()]

    def gallery(self) -> None:
        """With the gallery open (Ctrl+G if none): select a few, relabel or delete, filter, export, import, close."""
        from app.gallery import MyDigitsDialog

        r = self.r
        dialogs = self._dialogs(MyDigitsDialog)
        if not dialogs:
            self.key(Qt.Key.Key_G, CTRL, activate=1)
            spin(50)
            dialogs = self._dialogs(MyDigitsDialog)
            if not dialogs:
                self.rec.detail("no gallery opened")
                return
        dialog = r.choice(dialogs)
        what = r.choices(["relabel", "delete", "filter", "export", "import", "close"], [4, 2, 2, 1, 1, 2])[0]
        self.rec.detail(f"gallery {what} ({dialog.list.count()} items)")
        if what in ("relabel", "delete"):
            view = dialog.list
            for _ in range(r.randint(1, 4)):
                if not view.count():
                    break
                item = view.item(r.randrange(view.count()))
                view.scrollToItem(item)
                QTest.mouseClick(view.viewport(), LEFT, CTRL, view.visualItemRect(item).center())
            if what == "relabel":
                QTest.keyClick(dialog.relabel_to, r.choice([Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_End]))
        if what == "close":
            if r.random() < 0.5:
                dialog.activateWindow()
                QTest.keyClick(dialog, Qt.Key.Key_Escape)
            else:
                dialog.close()
            return
        if what == "filter":
            QTest.keyClick(dialog.filter, r.choice([Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_Home]))
            return
        text = {"relabel": "Relabel as", "delete": "Delete", "export": "Export IDX…", "import": "Import IDX…"}[what]
        button = next(b for b in dialog.findChildren(QPushButton) if b.text() == text)
        self.click(button)

    def evaluation(self) -> None:
        """With an evaluation dialog open (Ctrl+E if none): click cells of the confusion matrix, or close it."""
        from app.gallery import EvaluationDialog

        r = self.r
        dialogs = self._dialogs(EvaluationDialog)
        if not dialogs:
            self.key(Qt.Key.Key_E, CTRL, activate=1)
            return
        dialog = r.choice(dialogs)
        if r.random() < 0.35:
            self.rec.detail("close the evaluation")
            if r.random() < 0.6:
                dialog.activateWindow()
                QTest.keyClick(dialog, Qt.Key.Key_Escape)
            else:
                dialog.close()
            return
        for _ in range(r.randint(1, 3)):
            row, col = r.randrange(11) - 0.5 * (r.random() < 0.1), r.randrange(10)
            vb = dialog.plot.getPlotItem().vb
            pos = dialog.plot.mapFromScene(vb.mapViewToScene(QPointF(col + 0.5, row + 0.5)))
            self.rec.detail(f"click cell {row},{col}")
            QTest.mouseClick(dialog.plot.viewport(), LEFT, NONE, pos)
            spin(20)
            if not valid(dialog):
                return

    def save_key(self) -> None:
        self.key(Qt.Key.Key_S, CTRL | SHIFT if self.r.random() < 0.5 else CTRL)

    def menu(self) -> None:
        """Click a menu in the menu bar, then one of its items (through a submenu if it is one)."""
        w, r = self.w(), self.r
        bar = w.menuBar()
        top = r.choice([a for a in bar.actions() if a.menu() is not None])
        menu = top.menu()
        items = [a for a in menu.actions() if not a.isSeparator() and a.isVisible()]
        if top.text() == "&File" and r.random() < 0.8:  # Quit ends the window: less often than the other items
            items = [a for a in items if a.text() != "&Quit"]
        item = r.choice(items)
        self.rec.detail(f"menu {top.text()} > {item.text()}")
        QTest.mouseClick(bar, LEFT, NONE, bar.actionGeometry(top).center())
        spin(30)
        if not menu.isVisible():
            self.rec.detail("menu did not open")
            return
        QTest.mouseClick(menu, LEFT, NONE, menu.actionGeometry(item).center())
        if item.menu() is not None:
            spin(60)
            sub = item.menu()
            if sub.isVisible():
                choice = r.choice(sub.actions())
                self.rec.detail(f"> {choice.text()}")
                QTest.mouseClick(sub, LEFT, NONE, sub.actionGeometry(choice).center())

    def language(self) -> None:
        """Help > Language > one of System / English / 한국어, through the menu or the action."""
        w, r = self.w(), self.r
        action = r.choice(w.language_actions.actions())
        self.rec.detail(f"language {action.text()}")
        action.trigger()

    def resize(self) -> None:
        w, r = self.w(), self.r
        size = r.choice([(1280, 800), (1920, 1080), (800, 600), (640, 480), (300, 200), (1600, 400)])
        size = size if r.random() < 0.7 else (r.randint(200, 2200), r.randint(150, 1400))
        self.rec.detail(f"{size[0]}x{size[1]}")
        w.resize(*size)

    def activate(self) -> None:
        """A click on the main window's title: it becomes the active window again (dialogs stay open)."""
        self.activate_main()
        self.w().raise_()
        if self.r.random() < 0.5:
            self.w().setFocus()

    def download(self) -> None:
        """Download MNIST from a mirror that refuses; sometimes Cancel clicked at once."""
        w = self.w()
        self.click(w.panel.download)
        spin(self.r.choice([0, 20, 200]))
        dialog = getattr(self.window, "download_dialog", None) if valid(self.window) else None
        if valid(dialog) and self.r.random() < 0.5:
            buttons = dialog.findChildren(QPushButton)
            if buttons:
                self.click(buttons[0])

    def long_wait(self) -> None:
        seconds = self.r.uniform(1, 4)
        self.rec.detail(f"{seconds:.1f} s")
        spin(seconds * 1000)

    def close_and_reopen(self) -> None:
        """Close the window (Ctrl+Q, or its close button), plain or in the middle of something; open a new one."""
        w, r = self.w(), self.r
        during = r.choice(["idle", "training", "teaching", "evaluating", "loading data", "just opened"])
        how = r.choice(["Ctrl+Q", "close()"])
        self.rec.detail(f"close during {during} by {how}")
        if during == "training":
            if not w.running:
                self.key(Qt.Key.Key_Space, activate=1)
            spin(r.uniform(100, 2500))
        elif during == "teaching":
            if not w.teach_check.isChecked():
                self.click(w.teach_check, QPoint(8, w.teach_check.height() // 2))
            self.stroke()
            self.activate_main()
            w.setFocus()
            self.key(Qt.Key(Qt.Key.Key_0.value + r.randrange(10)), activate=0)
            spin(r.choice([0, 20, 200]))
        elif during == "evaluating":
            self.key(Qt.Key.Key_E, CTRL, activate=1)
            spin(r.choice([0, 5, 100, 400]))
        elif during == "loading data":
            if w.actions["data"].isEnabled():  # disabled while training
                w.load_data(str(self.data))  # what Use MNIST folder… does once a folder is chosen
            spin(r.choice([0, 50, 300]))
        if not valid(self.window):
            return
        if how == "Ctrl+Q":
            self.key(Qt.Key.Key_Q, CTRL, activate=1)
        if not self.closing():  # Ctrl+Q did not reach the window (a popup had the keys): its close button then
            w.close()
        del w  # this script's reference would keep the closed window's Python objects (and its data) alive
        self.finish_close(f"{during}, {how}")
        self.open_window(self.data if r.random() < 0.6 else None)
        if during == "just opened":
            self.rec.detail("and closed again at once")
            self.window.close()
            self.finish_close("just opened, close()")
            self.open_window(self.data)

    # -- the run --------------------------------------------------------------------------------------------------
    def tidy(self) -> None:
        """Close a popup menu or combo list left open by an action: the next key should go where the user sees."""
        for _ in range(3):
            popup = QApplication.activePopupWidget()
            if popup is None:
                return
            self.rec.detail(f"closing popup {type(popup).__name__}")
            popup.close()
            spin(0)

    def run(self, minutes: float, max_actions: int | None) -> None:
        deadline = time.perf_counter() + minutes * 60
        kinds = list(self.actions)
        weights = [self.actions[k][0] for k in kinds]
        self.open_window(self.data)
        index = 0
        while time.perf_counter() < deadline and (max_actions is None or index < max_actions):
            kind = self.rng.choices(kinds, weights)[0]
            wait_ms = self.rng.uniform(0, 300)
            self.r.seed(f"{self.seed}-{index}")
            self.rec.action(index, kind)
            try:
                if self.window is None:
                    self.open_window(self.data)
                self.actions[kind][1]()
                self.tidy()
            except Exception:
                self.rec.failure(self.rec.harness, kind, traceback.format_exc())
            if self.closing():
                self.finish_close(f"by {kind}")
            if self.window is None:
                try:
                    self.open_window(self.data if self.r.random() < 0.6 else None)
                except Exception:
                    self.rec.failure(self.rec.harness, "open", traceback.format_exc())
            spin(wait_ms)
            if (mb := rss_mb()) > self.rec.rss_peak[0]:
                self.rec.rss_peak = (mb, index, kind)
            index += 1
        self.rec.action(index, "final close")
        if valid(self.window):
            self.window.close()
            self.finish_close("final")
        spin(100)
        # Memory still held after the last window is gone: kept by the allocator (malloc_trim gives it back) or alive?
        gc.collect()
        before = rss_mb()
        malloc_trim()
        self.rec.rss_end = (before, rss_mb())


def type_text(widget: QWidget, text: str) -> None:
    """Type text into widget, one key at a time."""
    for char in text:
        if char.isascii():
            QTest.keyClicks(widget, char)
        else:  # QTest knows only ASCII keys (another character is a fatal assertion): what a keyboard layout sends
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key.Key_unknown, NONE, char))


def widget_text(widget: QWidget) -> str:
    text = getattr(widget, "text", None)
    return text() if callable(text) else ""


def key_name(key: Qt.Key, modifiers) -> str:
    held = [name for flag, name in ((CTRL, "Ctrl+"), (SHIFT, "Shift+")) if modifiers & flag]
    return "".join(held) + key.name.removeprefix("Key_")


def digit_shape(r: random.Random) -> tuple[str, list[list[tuple[float, float]]]]:
    """A digit-like shape as strokes of points in the unit square (some reach past its edges)."""

    def arc(cx, cy, rx, ry, start, end, n=24):
        return [
            (cx + rx * math.cos(start + (end - start) * i / n), cy + ry * math.sin(start + (end - start) * i / n))
            for i in range(n + 1)
        ]

    def line(*points, n=8):
        out = [points[0]]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            out += [(x0 + (x1 - x0) * t / n, y0 + (y1 - y0) * t / n) for t in range(1, n + 1)]
        return out

    pi = math.pi
    shapes = {
        "0": [arc(0.5, 0.5, 0.22, 0.33, -pi / 2, 1.5 * pi + 0.2, 32)],
        "1": [line((0.45, 0.22), (0.53, 0.15), (0.53, 0.85))],
        "2": [arc(0.5, 0.33, 0.2, 0.17, pi, 2.25 * pi) + line((0.62, 0.45), (0.27, 0.82), (0.75, 0.82))],
        "3": [arc(0.48, 0.32, 0.2, 0.16, 1.2 * pi, 2.5 * pi) + arc(0.48, 0.66, 0.22, 0.18, -0.5 * pi, 0.85 * pi)],
        "4": [line((0.62, 0.85), (0.62, 0.15), (0.22, 0.62), (0.8, 0.62))],
        "5": [line((0.72, 0.18), (0.35, 0.18), (0.32, 0.47)) + arc(0.5, 0.63, 0.22, 0.2, -0.6 * pi, 0.85 * pi)],
        "6": [line((0.64, 0.15), (0.36, 0.5)) + arc(0.5, 0.66, 0.17, 0.18, pi, 3 * pi)],
        "7": [line((0.25, 0.18), (0.75, 0.18), (0.42, 0.86))],
        "8": [arc(0.5, 0.32, 0.16, 0.16, 0.5 * pi, 2.5 * pi) + arc(0.5, 0.66, 0.2, 0.18, -0.5 * pi, 1.5 * pi)],
        "9": [arc(0.5, 0.34, 0.18, 0.17, 0, 2 * pi) + line((0.68, 0.34), (0.62, 0.86))],
        "plus": [line((0.5, 0.2), (0.5, 0.8)), line((0.2, 0.5), (0.8, 0.5))],
        "dot": [[(r.random(), r.random())]],
        "scribble": [[(r.random(), r.random()) for _ in range(r.randint(3, 30))]],
        "off the edge": [line((r.uniform(-0.3, 0.3), r.random()), (r.uniform(0.7, 1.4), r.random()), n=20)],
    }
    name = r.choice(list(shapes))
    return name, shapes[name]


# -- hooks ----------------------------------------------------------------------------------------------------------
def install_hooks(rec: Record, driver: RandomUse) -> QTimer:
    def excepthook(kind, value, tb):
        rec.failure(rec.uncaught, "sys.excepthook", "".join(traceback.format_exception(kind, value, tb)))

    def thread_hook(args):
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        rec.failure(rec.uncaught, f"thread {args.thread.name if args.thread else '?'}", text)

    def unraisable(info):
        text = "".join(traceback.format_exception(info.exc_type, info.exc_value, info.exc_traceback))
        rec.failure(rec.uncaught, f"unraisable ({info.err_msg}: {info.object!r})", text)

    sys.excepthook, threading.excepthook, sys.unraisablehook = excepthook, thread_hook, unraisable

    names = {QtMsgType.QtWarningMsg: "warning", QtMsgType.QtCriticalMsg: "critical", QtMsgType.QtFatalMsg: "fatal"}

    def qt_message(kind, context, message):
        if kind not in names:
            return
        if PLATFORM_NOTE.match(message) or message == QTEST_NOTE:
            rec.qt_ignored[message] += 1
            return
        where = f" ({context.file}:{context.line} {context.function})" if context.file else ""
        rec.failure(rec.qt, names[kind], message + where)
        if kind == QtMsgType.QtFatalMsg:  # Qt aborts when this returns: say what led here first
            rec.log.flush()
            print(f"Qt fatal at action {rec.index}, seed {rec.seed}: {message}", file=sys.stderr)
            print(f"the last {RECENT} actions:\n{rec.context(rec.index)}", file=sys.stderr, flush=True)

    qInstallMessageHandler(qt_message)

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            rec.logged[f"{record.levelname} {record.name}: {rec.normalise(message)}"] += 1
            rec.note(f"log {record.levelname} {record.name}: {message}")
            if record.levelno >= logging.ERROR:
                text = message + (
                    "\n" + "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
                )
                rec.logged_errors.append((rec.index, text))

    root = logging.getLogger()
    root.addHandler(Capture(logging.WARNING))
    root.setLevel(logging.WARNING)

    def show_warning(message, category, filename, lineno, file=None, line=None):
        rec.py_warnings[f"{category.__name__}: {message} ({Path(filename).name}:{lineno})"] += 1
        rec.note(f"python warning {category.__name__}: {message}")

    warnings.showwarning = show_warning

    heartbeat = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=HEARTBEAT_MS)
    last = [None]

    def tick():
        now = time.perf_counter()
        if last[0] is not None:
            late_ms = (now - last[0]) * 1e3 - HEARTBEAT_MS
            rec.lateness_ms.append(late_ms)
            if late_ms > 50:
                phase = "closing" if driver.closing() else rec.phase
                rec.stalls.append((late_ms, rec.index, rec.kind, phase))
        last[0] = now

    heartbeat.timeout.connect(tick)
    heartbeat.start()
    return heartbeat


# -- the report -----------------------------------------------------------------------------------------------------
def report(rec: Record, args, data_note: str, wall_s: float) -> tuple[str, bool]:
    lateness = np.array(rec.lateness_ms or [0.0])
    finite = [s for _, _, s in rec.closes if math.isfinite(s)]
    longest = max((s for _, _, s in rec.closes), default=0.0)
    over = [(i, how, s) for i, how, s in rec.closes if s > CLOSE_LIMIT_S]
    quiet = [ms for ms, _, _, phase in rec.stalls if not phase]
    figures = [
        Figure(f"actions done ({wall_s / 60:.1f} min, seed {args.seed})", sum(rec.kinds.values()), digits=0),
        *(Figure(f"  {kind}", n, digits=0) for kind, n in rec.kinds.most_common()),
        Figure("uncaught exceptions", len(rec.uncaught), target="<= 0", digits=0),
        Figure("exceptions from this script's calls into the app", len(rec.harness), target="<= 0", digits=0),
        Figure("Qt warnings (warning, critical, fatal)", len(rec.qt), target="<= 0", digits=0),
        Figure("  not counted: offscreen plugin / QTest notes", sum(rec.qt_ignored.values()), digits=0),
        Figure(f"windows closed ({len(over)} over {CLOSE_LIMIT_S:g} s)", len(rec.closes), digits=0),
        Figure(
            "longest close, Close event to window destroyed",
            None if math.isinf(longest) else longest,
            "s",
            f"<= {CLOSE_LIMIT_S:g}",
            3,
        ),
        Figure("  median close", float(np.median(finite)) if finite else 0.0, "s", digits=3),
        Figure("windows opened", len(rec.opens), digits=0),
        Figure("  longest open (constructor to shown)", max((s for _, s, _ in rec.opens), default=0), "s", digits=2),
        Figure("GUI stall: heartbeat lateness, max", float(lateness.max()), "ms", digits=1),
        Figure("  p99", float(np.percentile(lateness, 99)), "ms", digits=1),
        Figure("  max outside opening and closing windows", max(quiet, default=0.0), "ms", digits=1),
        Figure(f"  ticks of the {HEARTBEAT_MS} ms timer", len(rec.lateness_ms), digits=0),
        Figure("  late by > 50 ms", len(rec.stalls), digits=0),
        Figure("peak RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB", digits=0),
        Figure(
            f"  highest RSS sampled between actions (after action {rec.rss_peak[1]}: {rec.rss_peak[2]})",
            rec.rss_peak[0],
            "MB",
            digits=0,
        ),
        Figure("  RSS after the first window opened", rec.opens[0][2] if rec.opens else 0, "MB", digits=0),
        Figure("  RSS after the last window opened", rec.opens[-1][2] if rec.opens else 0, "MB", digits=0),
        Figure("  RSS after the last window closed", rec.rss_end[0], "MB", digits=0),
        Figure("  and after malloc_trim(0)", rec.rss_end[1], "MB", digits=0),
        Figure("closed windows still alive after a gc, most", max(w for w, _ in rec.alive_after), digits=0),
        Figure("  their training workers", max(k for _, k in rec.alive_after), digits=0),
        Figure("message boxes shown", sum(rec.boxes.values()), digits=0),
        Figure("app log records, warning or worse / error", sum(rec.logged.values()), digits=0),
        Figure("  errors", len(rec.logged_errors), digits=0),
    ]
    failed = bool(rec.uncaught or rec.harness or rec.qt or over or math.isinf(longest))
    out = [
        f"random use: seed {args.seed}, {args.minutes:g} min, data {data_note}, log {rec.log_path}",
        "",
        format_table(figures),
    ]

    def counted(title: str, counter: collections.Counter, limit: int = 40) -> None:
        if counter:
            out.extend(["", f"{title}:"])
            out.extend(f"  {n:5d}  {text}" for text, n in counter.most_common(limit))
            if len(counter) > limit:
                out.append(f"  ... and {len(counter) - limit} more")

    counted("Message boxes the window showed (by first line)", rec.boxes)
    counted("Status-bar messages (by first line, numbers as #)", rec.status, 30)
    counted("App log records (warning or worse)", rec.logged)
    counted("Python warnings", rec.py_warnings)
    counted("Qt messages not counted (offscreen plugin, QTest)", rec.qt_ignored)
    counted("File dialogs answered", rec.file_dialogs)
    if rec.stalls:
        out.extend(["", "Worst GUI stalls (ms, during action index: kind, phase):"])
        worst = sorted(rec.stalls, reverse=True)
        out.extend(f"  {ms:8.1f}  {i}: {k} {p}" for ms, i, k, p in worst[:8])
        out.append("  outside opening and closing windows:")
        out.extend(f"  {ms:8.1f}  {i}: {k}" for ms, i, k, p in [s for s in worst if not s[3]][:8])
    if over:
        out.extend(["", f"Closes over {CLOSE_LIMIT_S:g} s:"])
        out.extend(f"  {s:.3f} s at action {i} ({how})" for i, how, s in over)
    for title, bucket in (
        ("Uncaught exceptions", rec.uncaught),
        ("Exceptions from this script's calls into the app", rec.harness),
        ("Qt warnings", rec.qt),
        ("App log errors", [(i, "log", t) for i, t in rec.logged_errors]),
    ):
        if not bucket:
            continue
        out.extend(["", f"{title} ({len(bucket)}):"])
        shown = set()
        for index, where, text in bucket:
            key = (where, text.strip().splitlines()[-1] if text.strip() else "")
            if key in shown:
                continue
            shown.add(key)
            out.extend([f"-- at action {index} ({where}), seed {args.seed}:", text.rstrip()])
            if len(shown) <= 3:
                out.extend([f"   the last {RECENT} actions up to {index}:", rec.context(index)])
    out.extend(["", "FAILED" if failed else "passed", ""])
    return "\n".join(out), failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", help=f"MNIST folder (default: {MNIST_DIR}, else generated tiny data)")
    parser.add_argument("--log", help="action log (default: random-use-seed<SEED>.log in the temporary folder)")
    parser.add_argument("--actions", type=int, help="stop after this many actions (to replay up to a failure)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (settings, checkpoints, My digits)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix=f"lenet-random-use-{args.seed}-"))
    log_path = Path(args.log) if args.log else Path(tempfile.gettempdir()) / f"random-use-seed{args.seed}.log"
    rec = Record(log_path, args.seed, work)
    faulthandler.enable()
    faulthandler.dump_traceback_later(args.minutes * 60 + 600, exit=True)  # a hang ends the run with stacks
    data, data_note = data_folder(args.data, work)
    os.environ.pop("LENET_DATA_DIR", None)
    tree = tree_state()
    rec.log.write(f"seed {args.seed}, {args.minutes} min, data {data} ({data_note}), work {work}\ncode: {tree}\n")
    print(f"random use: seed {args.seed}, {args.minutes:g} min, data {data}; log {log_path}", flush=True)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    driver = RandomUse(app, args.seed, data, work, rec)
    heartbeat = install_hooks(rec, driver)
    started = time.perf_counter()
    try:
        driver.run(args.minutes, args.actions)
    except Exception:
        rec.failure(rec.harness, "driver", traceback.format_exc())
    wall_s = time.perf_counter() - started
    heartbeat.stop()
    faulthandler.cancel_dump_traceback_later()
    text, failed = report(rec, args, f"{data_note}; code {tree}", wall_s)
    rec.log.write("\n" + text)
    rec.log.close()
    print(text, flush=True)
    (work / "report.json").write_text(json.dumps({"closes": rec.closes, "opens": rec.opens}))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
