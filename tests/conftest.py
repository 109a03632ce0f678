"""Shared fixtures: tiny generated MNIST-like IDX data (no ../shared, no network) and headless Qt."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hypothesis import settings

from lenet_core.idx import write_idx

# Seeded: the same examples on every machine and run, so a red suite means the change, not the draw. Explore with
# `pytest --hypothesis-profile=explore` (new examples each run, ten times as many).
settings.register_profile("seeded", derandomize=True, database=None)
settings.register_profile("explore", max_examples=1000)
settings.load_profile("seeded")


def fake_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n 28x28 uint8 images whose class (0-9) sets where a bright bar sits, jittered and noisy: learnable, not MNIST."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.float32)
    for i, label in enumerate(labels):
        row = 4 + 2 * int(label) + rng.integers(-1, 2)
        col = 6 + rng.integers(-2, 3)
        images[i, row : row + 2, col : col + 16] = 1.0
        images[i, 4:24, 4 + int(label) * 2] = 0.6  # a second cue, a vertical stroke
    images += rng.normal(0, 0.1, images.shape).astype(np.float32)
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), labels


def write_mnist_folder(folder: Path, n_train: int = 600, n_test: int = 200, prefix: str = "train", gz: bool = True):
    """Write train and t10k IDX files in the official layout; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    train_x, train_y = fake_digits(n_train, seed=1)
    test_x, test_y = fake_digits(n_test, seed=2)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", train_x)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", train_y)
    write_idx(folder / f"t10k-images-idx3-ubyte{ext}", test_x)
    write_idx(folder / f"t10k-labels-idx1-ubyte{ext}", test_y)
    return folder


def pytest_addoption(parser):
    parser.addoption(
        "--test-order",
        default="file",
        help="file (default), reverse, or shuffle:SEED: run the tests in another order to catch order dependence",
    )


def pytest_collection_modifyitems(config, items):
    order = config.getoption("--test-order")
    if order == "reverse":
        items.reverse()
    elif order.startswith("shuffle:"):
        random.Random(int(order.split(":", 1)[1])).shuffle(items)
    elif order != "file":
        raise pytest.UsageError(f"--test-order must be file, reverse or shuffle:SEED, not {order!r}")


# Crude digits as pen strokes, in a unit square with y down: enough shapes for ten classes that can be learnt.
PEN_TEMPLATES: dict[int, list[list[tuple[float, float]]]] = {
    0: [[(0.5, 0.05), (0.15, 0.3), (0.15, 0.7), (0.5, 0.95), (0.85, 0.7), (0.85, 0.3), (0.5, 0.05)]],
    1: [[(0.45, 0.1), (0.55, 0.05), (0.55, 0.95)]],
    2: [[(0.15, 0.25), (0.5, 0.05), (0.85, 0.25), (0.15, 0.95), (0.9, 0.95)]],
    3: [[(0.15, 0.1), (0.8, 0.15), (0.4, 0.5), (0.85, 0.7), (0.5, 0.95), (0.1, 0.85)]],
    4: [[(0.6, 0.05), (0.1, 0.65), (0.9, 0.65)], [(0.65, 0.3), (0.65, 0.95)]],
    5: [[(0.85, 0.05), (0.2, 0.05), (0.15, 0.45), (0.8, 0.55), (0.7, 0.9), (0.1, 0.9)]],
    6: [[(0.75, 0.05), (0.2, 0.5), (0.2, 0.9), (0.75, 0.9), (0.75, 0.55), (0.2, 0.6)]],
    7: [[(0.1, 0.05), (0.9, 0.05), (0.35, 0.95)]],
    8: [[(0.5, 0.5), (0.15, 0.25), (0.5, 0.05), (0.85, 0.25), (0.15, 0.75), (0.5, 0.95), (0.85, 0.75), (0.5, 0.5)]],
    9: [[(0.8, 0.4), (0.2, 0.4), (0.2, 0.1), (0.8, 0.1), (0.8, 0.4), (0.75, 0.95)]],
}


def write_pen_digits(path: Path, writers=(1, 2, 3), per_label: int = 2, seed: int = 0) -> Path:
    """A small UNIPEN file like the UCI pen digits (integer tablet units 0-500, y up), of jittered templates."""
    rng = np.random.default_rng(seed)
    lines = [".INCLUDE        dene.doc", "", '.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"', ".HIERARCHY DIGIT", ""]
    stroke = index = 0
    for writer in writers:
        for label, template in PEN_TEMPLATES.items():
            for _ in range(per_label):
                numbers = f"{stroke}" if len(template) == 1 else f"{stroke}-{stroke + len(template) - 1}"
                stroke += len(template)
                lines += [f'.SEGMENT DIGIT {numbers} ? "{label}"', f".COMMENT {label} {writer} {index}"]
                index += 1
                slant, size = rng.uniform(-0.15, 0.15), rng.uniform(250, 400)
                for path_points in template:
                    points = np.array(path_points) + rng.normal(0, 0.02, (len(path_points), 2))
                    points[:, 0] += slant * (0.5 - points[:, 1])
                    xs = np.clip(np.rint(50 + points[:, 0] * size), 0, 500).astype(int)
                    ys = np.clip(np.rint(450 - points[:, 1] * size), 0, 500).astype(int)  # y up in the file
                    lines += [".PEN_DOWN", *(f" {x} {y}" for x, y in zip(xs, ys, strict=True)), ".PEN_UP", ".DT 100"]
                lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session", autouse=True)
def garbage_collected_on_gui_thread(qapp):
    """As the program does (app/__main__.py): cyclic garbage is never collected on a training thread (which could
    destroy a GUI object there and deadlock); the collector's check runs after each test too."""
    import gc

    from app.__main__ import collect_garbage_on_gui_thread

    collector = collect_garbage_on_gui_thread()
    yield collector
    collector.timer.stop()
    gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_test(garbage_collected_on_gui_thread):
    yield
    garbage_collected_on_gui_thread.check()  # on this (the GUI) thread, what the automatic collection would have done


@pytest.fixture(scope="session")
def pen_file(tmp_path_factory) -> Path:
    return write_pen_digits(tmp_path_factory.mktemp("pen") / "pen.tra")


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    return write_mnist_folder(tmp_path_factory.mktemp("mnist"))


@pytest.fixture
def make_window(qtbot, tmp_path, mnist_dir, pen_file, monkeypatch):
    """Builds trainer windows on generated data (MNIST-like IDX, a small pen-digits file), with settings and data
    folder in tmp_path (never the user's).

    Warning dialogs are recorded in window.warnings instead of blocking; windows still open are closed at the end.
    """
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from app.main_window import MainWindow

    warnings: list[str] = []
    windows = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))

    def make(data_dir=mnist_dir, settings=None, data_home=None, size=(1280, 800)):
        if settings is None:
            settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
            if settings.value("ui/language") is None:  # English, whatever the machine's locale (LANG=ko_KR...)
                settings.setValue("ui/language", "en")
        window = MainWindow(
            data_dir=data_dir, settings=settings, data_home=data_home or tmp_path / "home", pen_digits=pen_file
        )
        window.warnings = warnings
        windows.append(window)
        if size:
            window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        if data_dir is not None:
            qtbot.waitUntil(lambda: window.worker.data is not None, timeout=20000)
        return window

    yield make
    import shiboken6

    for window in windows:  # the window deletes itself on close (WA_DeleteOnClose)
        if shiboken6.isValid(window):
            window.close()
    qtbot.wait(10)  # let deleteLater run
    from lenet_core.threads import CORES, use_threads

    use_threads(CORES)  # the window kept this thread to one core; the core tests that follow train here
