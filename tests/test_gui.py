"""The trainer window, driven through its real widgets offscreen."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import sys
import threading
import time

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtWidgets import QLabel, QToolButton

from app.feature_maps import CONV1, CONV2, FILTERS, GAP, FeatureMaps, mosaic
from app.main_window import AUTOSAVE_NAME
from lenet_core.checkpoint import load_checkpoint
from lenet_core.preprocess import denormalize, prepare
from lenet_core.threads import CORES
from lenet_core.training import PRESETS, StepEvent


def canvas_point(canvas, x: float, y: float) -> QPoint:
    side = min(canvas.width(), canvas.height())
    return QPoint(int((canvas.width() - side) / 2 + x * side), int((canvas.height() - side) / 2 + y * side))


def drag(qtbot, canvas, points):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, *points[0]))
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for t in range(1, 11):
            qtbot.mouseMove(canvas, canvas_point(canvas, x0 + (x1 - x0) * t / 10, y0 + (y1 - y0) * t / 10))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, *points[-1]))


def printed_numbers(text: str, after: str) -> list[float]:
    """The numbers printed in text after the first `after`."""
    return [float(n) for n in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", text.split(after, 1)[1])]


def digit_label(window) -> QLabel:
    return window.findChild(QLabel, "predicted_digit")


def test_drawing_a_stroke_shows_a_digit_then_undo_and_clear(qtbot, make_window):
    window = make_window(data_dir=None)
    canvas = window.findChild(type(window.canvas), "canvas")
    assert digit_label(window).text() == ""
    drag(qtbot, canvas, [(0.5, 0.15), (0.5, 0.85)])  # a vertical stroke: a one
    qtbot.waitUntil(lambda: digit_label(window).text() != "")
    assert digit_label(window).text() == "1"
    one = canvas.image().copy()
    assert one.max() == 255
    seen_one = window.prediction.seen.image.copy()  # "what the network sees": the prepared 32x32 input
    np.testing.assert_allclose(seen_one, denormalize(prepare(one)[0, 0]).numpy())

    drag(qtbot, canvas, [(0.3, 0.5), (0.7, 0.5)])  # a second stroke
    qtbot.waitUntil(lambda: (canvas.image() != one).any())
    qtbot.waitUntil(lambda: not np.array_equal(window.prediction.seen.image, seen_one))
    window.activateWindow()  # a window shortcut: only an active window gets it
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo: back to the one
    # Redrawn whole, the stroke's anti-aliased edge differs a little from the one painted piece by piece as the
    # mouse moved (where the pieces overlap: which pixels depends on the canvas's size, and so on the fonts).
    qtbot.waitUntil(lambda: (np.abs(canvas.image().astype(int) - one) > 8).sum() < 0.005 * one.size)
    assert np.abs(canvas.image().astype(int) - one).max() < 128  # edges only: no ink gained or lost
    qtbot.waitUntil(lambda: np.abs(window.prediction.seen.image - seen_one).mean() < 0.01)

    qtbot.mouseClick(window.findChild(QToolButton, "clear_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: digit_label(window).text() == "")
    assert canvas.image().max() == 0
    window.undo_action.trigger()  # clearing can be undone too
    qtbot.waitUntil(lambda: digit_label(window).text() == "1")


def test_start_pause_and_step(qtbot, make_window):
    window = make_window()
    worker = window.worker
    assert worker.trainer is None  # built on the first Start: its ~1 s import would make drawing stutter at start
    before = window.net.conv1.weight.detach().clone()
    train_button = window.findChild(QToolButton, "train_button")
    step_button = window.findChild(QToolButton, "step_button")

    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    qtbot.mouseClick(train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Preparing the training engine…" in messages)  # says why the first Start waits
    qtbot.waitUntil(lambda: window.plots.point_count >= 5, timeout=10000)
    qtbot.waitUntil(lambda: not torch.equal(window.net.conv1.weight, before), timeout=20000)
    assert not step_button.isEnabled()
    qtbot.waitUntil(lambda: "steps/s" in window.speed_label.text(), timeout=20000)  # the status bar's speed
    assert "samples/s" in window.speed_label.text()
    assert window.panel.progress.value() > 0

    qtbot.mouseClick(train_button, Qt.MouseButton.LeftButton)  # pause
    qtbot.waitUntil(lambda: not window.running, timeout=20000)
    qtbot.wait(50)
    paused_at = worker.trainer.step_count
    qtbot.wait(300)
    assert worker.trainer.step_count == paused_at
    assert window.plots.point_count == paused_at
    assert window.speed_label.text().startswith(f"step {paused_at:,}  ·")  # the last step, not a stale one

    assert step_button.isEnabled()
    qtbot.mouseClick(step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.plots.point_count == paused_at + 1, timeout=20000)
    qtbot.wait(200)
    assert worker.trainer.step_count == paused_at + 1
    assert window.speed_label.text().startswith(f"step {paused_at + 1:,}  ·")


def test_speed_read_out_keeps_its_width(qtbot, make_window):
    """A shorter read-out keeps the label's place and width: the text does not jump, nothing else moves."""
    window = make_window(data_dir=None)
    window.show()
    qtbot.waitExposed(window)
    label = window.speed_label
    long = StepEvent(12345, 0, 1, 10, 0.12345, 0.01, 12345 * 128, 23456.0, 1.0)
    short = dataclasses.replace(long, step=12346, loss=1.0, samples_per_second=9.0)
    window.panel._last_progress = (time.monotonic() - 1.0, 1)  # 12,344 steps a second ago
    window.panel._pending_step = long
    window.panel._show_step()
    qtbot.wait(20)
    wide = label.geometry()
    assert wide.width() >= label.fontMetrics().horizontalAdvance(label.text())
    events: list[QEvent.Type] = []
    watcher = EventTypes(events)
    label.installEventFilter(watcher)
    window.panel._last_progress = (time.monotonic() - 1.0, 12345)  # 1 step a second: fewer digits
    window.panel._pending_step = short
    window.panel._show_step()
    qtbot.wait(20)
    assert label.text().startswith("step 12,346  ·  loss 1.0000  ·  1 steps/s")
    assert label.geometry() == wide
    assert QEvent.Type.Resize not in events and QEvent.Type.Move not in events


class EventTypes(QObject):
    def __init__(self, seen: list) -> None:
        super().__init__()
        self.seen = seen

    def eventFilter(self, obj, event) -> bool:
        self.seen.append(event.type())
        return False


def test_gui_thread_predicts_on_one_core_and_training_gets_all(qtbot, make_window):
    """torch's thread count is per thread: two teams of all the cores slowed training by a quarter."""
    window = make_window(data_dir=None)
    assert torch.get_num_threads() == 1
    on_worker: list[int] = []
    QTimer.singleShot(0, window.worker, lambda: on_worker.append(torch.get_num_threads()))
    qtbot.waitUntil(lambda: bool(on_worker))
    assert on_worker == [CORES]
    if sys.platform.startswith("linux"):  # and at a lower priority: the GUI thread does not wait for a core
        niceness: list[int] = []
        QTimer.singleShot(
            0, window.worker, lambda: niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        )
        qtbot.waitUntil(lambda: bool(niceness))
        here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert niceness[0] > here or here == 19  # (19: as low as it goes already)


def test_feature_maps_show_the_drawing_and_follow_training(qtbot, make_window):
    window = make_window()
    maps = window.findChild(FeatureMaps, "feature_maps")
    filters_before = maps.images[FILTERS].image.copy()
    assert maps.images[CONV1].image is None  # nothing drawn yet
    drag(qtbot, window.canvas, [(0.5, 0.15), (0.5, 0.85)])
    qtbot.waitUntil(lambda: maps.images[CONV1].image is not None)
    activations = window._prediction.activations
    lut = maps._activation_lut
    for row, layer in ((CONV1, activations.conv1[0]), (CONV2, activations.conv2[0])):
        shown = maps.images[row].image
        assert shown.shape[:2] == row.shape
        top = float(layer.max())
        for index, fmap in enumerate(layer):
            y, x = row.origin(index)
            tile = shown[y : y + row.tile : row.zoom, x : x + row.tile : row.zoom]
            peak = np.unravel_index(int(fmap.argmax()), fmap.shape)
            if float(fmap.max()) == top:
                assert (tile[peak] == lut[255]).all()  # the layer's strongest activation: the top colour
            assert (tile[fmap.numpy() == 0] == lut[0]).all()  # ReLU's zeros: the bottom colour
        assert (shown[:, row.tile : row.tile + GAP] == maps._background).all()  # a gap between tiles

    window.toggle_training()
    qtbot.waitUntil(lambda: not np.array_equal(maps.images[FILTERS].image, filters_before), timeout=10000)
    window.toggle_training()
    qtbot.waitUntil(lambda: not window.running, timeout=20000)
    qtbot.mouseClick(window.findChild(QToolButton, "clear_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: maps.images[CONV1].image is None)


def test_the_worker_gets_the_engine_ready_once_nobody_draws(qtbot, make_window, monkeypatch):
    """torch.optim's first optimizer imports torch._dynamo (~1.5 s): done on the worker while the window is idle, not
    under a stroke, and then the tutorial's first step (its optimizer is made on the GUI thread) does not freeze."""
    from PySide6.QtCore import QThread

    import app.session
    import app.worker

    done_on = []
    monkeypatch.setattr(app.worker, "prepare_optimizers", lambda: done_on.append(QThread.currentThread().objectName()))
    monkeypatch.setattr(app.session, "WARM_UP_IDLE_MS", 60_000)  # never of itself during this test
    window = make_window()
    timer = window.session._warm_up_timer
    assert timer.isActive() and not done_on  # counting from the start
    qtbot.wait(300)
    before = timer.remainingTime()
    drag(qtbot, window.canvas, [(0.3, 0.2), (0.7, 0.2), (0.45, 0.8)])
    assert timer.remainingTime() > before  # someone draws: it waits for a pause again
    assert not done_on
    timer.start(10)  # as if the pause had lasted
    qtbot.waitUntil(lambda: done_on == ["training"], timeout=20000)  # on the training thread
    drag(qtbot, window.canvas, [(0.5, 0.2), (0.5, 0.8)])
    qtbot.wait(100)
    assert done_on == ["training"] and not timer.isActive()  # once


def test_closing_mid_training_stops_the_thread(qtbot, make_window, qtlog):
    window = make_window()
    window.toggle_training()
    qtbot.waitUntil(lambda: window.plots.point_count > 0, timeout=10000)
    assert window.thread.isRunning()
    window.close()
    assert not window.thread.isRunning()
    assert not [r for r in qtlog.records if "Destroyed while thread" in r.message]
    assert (window.data_home / AUTOSAVE_NAME).is_file()


def test_settings_and_weights_come_back_next_time(qtbot, make_window, tmp_path):
    window = make_window()
    window.panel.preset.setCurrentText("tutorial")
    window.resize(760, 590)
    size = (window.width(), window.height())
    # restoreGeometry keeps a window on its screen: the offscreen screen is 800x800 device pixels, 400x400 at
    # QT_SCALE_FACTOR=2, less than the window's minimum size there; then only the rest can be compared.
    fits = window.screen().availableGeometry().contains(window.frameGeometry())
    window.toggle_training()
    qtbot.waitUntil(lambda: window.plots.point_count > 0, timeout=10000)
    window.toggle_training()
    qtbot.waitUntil(lambda: not window.running, timeout=20000)
    qtbot.wait(150)  # the last snapshot of the weights reaches the window
    trained = window.net.fc3.weight.detach().clone()
    window.close()

    again = make_window(size=None)
    assert again.panel.config() == PRESETS["tutorial"]
    restored = (again.size().width(), again.size().height())
    # Within a pixel or two: fonts (a Korean locale's, say) can make the window's minimum size settle a pixel later.
    assert (abs(restored[0] - size[0]) <= 2 and abs(restored[1] - size[1]) <= 2) or not fits
    assert torch.equal(again.net.fc3.weight, trained)
    assert again.weights_origin == "restored from the last session"


def test_first_start_uses_shipped_weights_and_bad_checkpoint_keeps_model(qtbot, make_window, tmp_path):
    window = make_window(data_dir=None)
    assert window.weights_origin == "shipped defaults"
    weights = window.net.fc1.weight.detach().clone()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert not window.load_checkpoint_file(bad)
    assert window.warnings and "bad.pt" in window.warnings[-1]
    assert torch.equal(window.net.fc1.weight, weights)

    saved = tmp_path / "mine.pt"
    assert window.save_checkpoint_file(saved)
    assert torch.equal(load_checkpoint(saved).model["fc1.weight"], weights)
    window.reset_weights()
    assert not torch.equal(window.net.fc1.weight, weights)
    assert window.load_checkpoint_file(saved)
    assert torch.equal(window.net.fc1.weight, weights)


def test_training_without_data_explains_what_to_do(qtbot, make_window):
    window = make_window(data_dir=None)
    window.step_once()
    qtbot.waitUntil(lambda: bool(window.warnings), timeout=20000)
    assert "MNIST" in window.warnings[-1]


def test_labelling_a_drawing_saves_and_teaches_it(qtbot, make_window):
    window = make_window(data_dir=None)  # offline: no MNIST to replay, My digits only
    canvas = window.canvas
    drag(qtbot, canvas, [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)])  # an open box: a square 0, say
    qtbot.waitUntil(lambda: digit_label(window).text() != "")
    taught = []
    assert digit_label(window).text() != "0"
    window.worker.taught.connect(lambda digit, steps, learnt: taught.append((digit, learnt)))
    qtbot.keyClick(canvas, Qt.Key.Key_0)
    qtbot.waitUntil(lambda: bool(taught), timeout=10000)
    assert taught == [(0, True)]
    qtbot.waitUntil(lambda: digit_label(window).text() == "0", timeout=20000)  # it learnt this one
    samples = window.store.samples()
    assert [s.label for s in samples] == [0]
    assert window.store.drawing(samples[0].id).shape == (280, 280)
    assert window.panel.my_digits_label.text() == "My digits: 1 saved"

    window.teach_check.setChecked(False)
    qtbot.mouseClick(window.findChild(QToolButton, "label_7"), Qt.MouseButton.LeftButton)
    assert [s.label for s in window.store.samples()] == [0, 7]

    # Train on My digits only: one step uses them.
    window.panel.source.setCurrentIndex(window.panel.source.findData("mine"))
    qtbot.waitUntil(lambda: window.worker.source == "mine")
    window.step_once()
    qtbot.waitUntil(lambda: window.plots.point_count == 1, timeout=20000)
    assert len(window.worker.trainer.train_data) == 2  # the step used the two saved digits


def test_labelling_an_empty_canvas_saves_nothing(qtbot, make_window):
    window = make_window(data_dir=None)
    window.label_drawing(3)
    assert len(window.store) == 0
    assert "Draw a digit first" in window.statusBar().currentMessage()


def test_gallery_relabel_delete_and_import(qtbot, make_window, tmp_path):
    from PySide6.QtWidgets import QListWidget, QPushButton

    from lenet_core.idx import write_idx

    from .conftest import fake_digits

    window = make_window(data_dir=None)
    images, labels = fake_digits(6, seed=3)
    for x, y in zip(images, labels, strict=True):
        window.store.add(x, int(y))
    dialog = window.show_gallery()
    view = dialog.findChild(QListWidget, "gallery_list")
    assert view.count() == 6

    def button(text):
        return next(b for b in dialog.findChildren(QPushButton) if b.text() == text)

    view.item(0).setSelected(True)
    dialog.relabel_to.setCurrentText("8")
    qtbot.mouseClick(button("Relabel as"), Qt.MouseButton.LeftButton)
    assert window.store.samples()[0].label == 8
    view.item(1).setSelected(True)
    qtbot.mouseClick(button("Delete"), Qt.MouseButton.LeftButton)
    assert len(window.store) == 5 and view.count() == 5
    assert window.panel.my_digits_label.text() == "My digits: 5 saved"
    dialog.filter.setCurrentIndex(dialog.filter.findData(8))
    shown = [view.item(i) for i in range(view.count())]  # "8 ✓" when read as an 8, else "8 → 3"
    assert shown and all(item.label == 8 and item.text().split()[0] == "8" for item in shown)

    write_idx(tmp_path / "x-images-idx3-ubyte", images[:3])
    write_idx(tmp_path / "x-labels-idx1-ubyte", labels[:3])
    assert dialog.import_files(str(tmp_path / "x-images-idx3-ubyte"), str(tmp_path / "x-labels-idx1-ubyte")) == 3
    assert window.panel.my_digits_label.text() == "My digits: 8 saved"
    dialog.close()


def test_evaluation_shows_confusion_matrix_and_mistakes(qtbot, make_window):
    from PySide6.QtWidgets import QListWidget

    from app.gallery import EvaluationDialog

    window = make_window()
    window.evaluate()
    qtbot.waitUntil(lambda: isinstance(getattr(window, "evaluation", None), EvaluationDialog), timeout=20000)
    dialog = window.evaluation
    matrix = dialog.matrix
    assert matrix.sum() == 200  # every test image counted once
    mistakes = int(matrix.sum() - np.trace(matrix))
    cells = dialog.findChild(QListWidget, "cell_images")
    assert cells.count() == mistakes
    row, col = divmod(int(np.argmax(matrix)), 10)
    # click the matrix's biggest cell
    view_box = dialog.plot.getPlotItem().vb
    scene_point = view_box.mapViewToScene(pg.Point(col + 0.5, row + 0.5))
    widget_point = dialog.plot.mapFromScene(scene_point)
    qtbot.mouseClick(dialog.plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)
    qtbot.waitUntil(lambda: cells.count() == matrix[row, col])
    assert dialog.cell_caption.text().startswith(f"{matrix[row, col]} images of a {row} read as a {col}")
    assert all(cells.item(i).text() == f"{row} → {col}" for i in range(cells.count()))
    assert dialog.findChild(type(window.loss_plot), "confusion_matrix") is not None
    dialog.close()


def test_tutorial_walk_in_the_window_matches_plain_torch(qtbot, make_window):
    import copy

    import torch.nn.functional as F
    from PySide6.QtWidgets import QPushButton, QTextBrowser

    from lenet_core.preprocess import prepare

    window = make_window(data_dir=None)
    window.tutorial_dock.show()
    panel = window.tutorial
    drag(qtbot, window.canvas, [(0.5, 0.15), (0.5, 0.85)])  # a one
    qtbot.waitUntil(lambda: digit_label(window).text() == "1")
    assert panel.target.value() == 1  # the network's own answer by default
    panel.target.setValue(7)  # the learner corrects it
    reference = copy.deepcopy(window.net)
    input = prepare(window.canvas.image())
    next_button = panel.findChild(QPushButton, "tutorial_next")
    text = panel.findChild(QTextBrowser, "tutorial_explanation")
    shown = []
    for line in range(5):
        assert panel.code.currentRow() == line  # the line about to run is highlighted
        qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
        shown.append(text.toPlainText())

    # The same five lines in plain torch, on a copy of the model as it was. Its sums may be rounded in another
    # order than the window's (another forward, another thread count): numbers agree to what the text prints.
    reference.zero_grad()
    loss = F.cross_entropy(reference(input), torch.tensor([7]))
    loss.backward()
    assert "net.conv1.bias.grad = None" in shown[0]
    assert printed_numbers(shown[2], "criterion(output, target) =")[0] == pytest.approx(loss.item(), abs=1e-6, rel=1e-5)
    expected_grad = reference.conv1.bias.grad.tolist()
    assert printed_numbers(shown[3], "after:")[:6] == pytest.approx(expected_grad, abs=0.5e-4 + 1e-6)
    old, grad = float(reference.conv1.bias.detach()[0]), expected_grad[0]
    shown_old, _, shown_grad, shown_new = printed_numbers(shown[4], "conv1.bias[0]")[:4]  # old − lr × grad = new
    assert (shown_old, shown_grad) == pytest.approx((old, grad), abs=0.5e-6 + 1e-7)
    assert shown_new == pytest.approx(shown_old - 0.01 * shown_grad, abs=1.1e-6)  # each printed to 6 decimals
    new = float(window.net.conv1.bias.detach()[0])  # the live model changed
    assert new == pytest.approx(old - 0.01 * grad, abs=1e-7) and new == pytest.approx(shown_new, abs=0.5e-6 + 1e-7)
    qtbot.waitUntil(lambda: torch.equal(window.worker.weights()["conv1.bias"], window.net.conv1.bias.detach()))

    window.toggle_training()  # training needs data: refused, and the tutorial stays usable
    qtbot.waitUntil(lambda: not window.running)
    assert panel.isEnabled()


def test_tutorial_in_korean(qtbot, make_window):
    from PySide6.QtWidgets import QPushButton

    window = make_window(data_dir=None)
    panel = window.tutorial
    next_button = panel.findChild(QPushButton, "tutorial_next")
    drag(qtbot, window.canvas, [(0.5, 0.15), (0.5, 0.85)])
    qtbot.waitUntil(lambda: digit_label(window).text() != "")
    assert next_button.text() == "Next line"
    window.set_language("ko")
    assert next_button.text() == "다음 줄"
    english_to_korean = []
    for _ in range(5):
        panel.next_line()
        english_to_korean.append(panel.explanation.toPlainText())
    assert "순전파" in english_to_korean[1] and "가중치" in english_to_korean[3]
    assert all(
        not t.startswith(("optimizer.zero_grad() cleared", "loss.backward() computed")) for t in english_to_korean
    )
    window.set_language("en")
    assert next_button.text() == "Next line" and "optimizer.step() moved" in panel.explanation.toPlainText()


def test_the_tutorial_follows_the_system_language_unless_one_is_chosen(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtCore import QLocale, QSettings
    from PySide6.QtWidgets import QPushButton

    monkeypatch.setattr(QLocale, "system", staticmethod(lambda: QLocale("ko_KR")))
    settings = QSettings(str(tmp_path / "system.ini"), QSettings.Format.IniFormat)  # no language chosen yet
    window = make_window(data_dir=None, settings=settings)
    next_button = window.tutorial.findChild(QPushButton, "tutorial_next")
    assert next_button.text() == "다음 줄"
    window.set_language("en")
    assert next_button.text() == "Next line"


def test_training_on_pen_digits_from_the_train_on_choice(qtbot, make_window):
    from lenet_core.pen_digits import WINDOW_PEN_VARIANTS as PEN_VARIANTS

    window = make_window()
    assert window.panel.source.currentData() == "mnist+pen"  # the default: MNIST and drawings
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    window.step_once()
    qtbot.waitUntil(lambda: window.plots.point_count == 1, timeout=20000)
    assert any(m.startswith("Preparing the pen digits") for m in messages)
    assert len(window.worker.trainer.train_data) == 600 + 60 * PEN_VARIANTS
    window.panel.source.setCurrentIndex(window.panel.source.findData("pen"))
    window.step_once()  # a new data source: a new run (issue 17), the first one kept beside it
    qtbot.waitUntil(lambda: len(window.session.runs.runs) == 2 and window.plots.point_count == 1, timeout=20000)
    assert [run.settings["source"] for run in window.session.runs.runs] == ["mnist+pen", "pen"]
    assert len(window.worker.trainer.train_data) == 60 * PEN_VARIANTS  # the pen digits, rendered once
    assert list((window.data_home / "cache").glob("pen-variants-*.npz"))  # and kept for the next start


def test_a_maps_strongest_activation_gets_the_top_colour_whatever_its_value():
    """(v - 0) * (255 / v) is 254.99998 for ~13 % of float32 values: truncated, the top showed one colour short."""
    lut = np.arange(256, dtype=np.uint8)[:, None].repeat(4, 1)
    background = np.zeros(4, np.uint8)
    tops = np.random.default_rng(0).uniform(0.01, 50, 300).astype(np.float32)
    for top in tops:
        maps = np.zeros((CONV1.count, CONV1.side, CONV1.side), np.float32)
        maps[0, 3, 4] = top
        maps[1, 5, 6] = top / 2
        image = mosaic(CONV1, maps, 0.0, float(top), lut, background)
        assert image[3, 4, 0] == 255, f"top {top!r} shown as colour {image[3, 4, 0]}"
        x = CONV1.origin(1)[1]
        assert image[5, x + 6, 0] in (127, 128)
