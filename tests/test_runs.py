"""Runs side by side: the run log (labels, files, CSV) and the window (kept across Reset, legend, hide/show, axes)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from PySide6.QtCore import QObject, QPoint, Qt, Slot

from lenet_core.datasets import TensorData
from lenet_core.model import new_model
from lenet_core.runs import MAX_RUNS, RunLog, smooth
from lenet_core.training import PRESETS, EpochEvent, StepEvent, Trainer

DEFAULT = PRESETS["default"]


def test_smoothing_is_tensorboards_debiased_moving_average():
    values = [4.0, 2.0, 1.0]
    w = 0.5
    # by hand: ema_t = w * ema_{t-1} + (1 - w) * v_t from 0, divided by 1 - w^t
    assert smooth(values, w) == pytest.approx([4.0, (0.5 * 2 + 0.5 * 2) / 0.75, (0.5 * 2.0 + 0.5 * 1) / 0.875])
    assert smooth(values, 0.0) == values


def test_labels_name_what_differs_between_the_runs():
    log = RunLog()
    a = log.start(DEFAULT, "mnist+pen")
    assert log.label(a) == "run 1"  # nothing to tell it from
    b = log.start(DEFAULT.replace(lr=0.5, batch_size=64), "mnist+pen")
    c = log.start(DEFAULT.replace(lr=0.5), "pen")
    assert log.label(a) == "run 1: lr 0.1, batch 128, on mnist+pen"
    assert log.label(b) == "run 2: lr 0.5, batch 64, on mnist+pen"
    assert log.label(c) == "run 3: lr 0.5, batch 128, on pen"


def trained_log(steps: int = 12) -> tuple[RunLog, list]:
    """A real run: the engine's events recorded as the window records them, and the events themselves."""
    generator = torch.Generator().manual_seed(0)
    data = TensorData(torch.randint(0, 256, (64, 1, 32, 32), dtype=torch.uint8, generator=generator),
                      torch.randint(0, 10, (64,), generator=generator))  # fmt: skip
    config = DEFAULT.replace(batch_size=16, epochs=3, device="cpu")
    trainer = Trainer(new_model(0), config, data, data)
    log, events = RunLog(), []
    run = log.start(config, "mnist")
    for event in trainer.run():
        events.append(event)
        if isinstance(event, StepEvent):
            run.add_step(event)
        elif isinstance(event, EpochEvent):
            run.add_epoch(event)
    return log, events


def test_csv_holds_every_step_and_epoch_as_the_engine_reported_them(tmp_path):
    log, events = trained_log()
    path = tmp_path / "runs.csv"
    log.write_csv(path, smoothing=0.6)
    rows = list(csv.DictReader(path.open()))
    steps = [e for e in events if isinstance(e, StepEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    step_rows = [r for r in rows if r["kind"] == "step"]
    assert [int(r["step"]) for r in step_rows] == [e.step for e in steps]
    assert [int(r["samples"]) for r in step_rows] == [e.samples_seen for e in steps]
    assert [float(r["loss"]) for r in step_rows] == [e.loss for e in steps]  # written exactly (repr)
    assert [float(r["seconds"]) for r in step_rows] == pytest.approx([e.train_s for e in steps], abs=1e-4)
    assert [float(r["smoothed_loss"]) for r in step_rows] == pytest.approx(smooth([e.loss for e in steps], 0.6))
    epoch_rows = [r for r in rows if r["kind"] == "epoch"]
    assert [(int(r["epoch"]), float(r["test_accuracy"])) for r in epoch_rows] == [
        (e.epoch, e.test_accuracy) for e in epochs
    ]
    assert {r["run"] for r in rows} == {log.runs[0].id} and all(s > 0 for s in (e.train_s for e in steps))


def test_runs_survive_a_file_and_a_bad_one_is_left_out_and_said():
    log, _ = trained_log(4)
    saved = log.to_saved()
    runs, notes = RunLog.from_saved(saved)
    assert not notes and vars(runs[0]) == vars(log.runs[0])
    bad = [
        "a string",
        {"settings": {"lr": 0.1}, "id": "x", "steps": [1, 2], "samples": [1], "seconds": [0, 1], "losses": [1, 1]},
        {"settings": {"lr": [0.1]}, "id": "y"},
        {"settings": {}, "id": "z", "steps": [1], "samples": [1], "seconds": [0.1], "losses": [math.nan]},
        {"settings": {}, "id": "w" * 65},
        {"settings": {}, "id": "v", "steps": [True]},
        {**saved[0], "id": "fine"},
    ]
    runs, notes = RunLog.from_saved(bad)
    assert [r.id for r in runs] == ["fine"] and len(notes) == 6
    assert "samples holds 1 values for 2 steps" in notes[1] and "not finite" in notes[3]
    assert RunLog.from_saved({"runs": 1})[1] == ["its runs are not a list (dict) and were left out"]
    kept = RunLog()
    assert kept.merge(runs) == 1 and kept.merge(runs) == 0  # the same run is not taken twice
    for _ in range(MAX_RUNS + 5):
        kept.start(DEFAULT, "mnist")
    assert len(kept.runs) == MAX_RUNS


class Recorder(QObject):
    """The worker's reports, taken on the window's thread (a lambda would run on the worker's)."""

    def __init__(self) -> None:
        super().__init__()
        self.losses: list[float] = []

    @Slot(object)
    def progress(self, progress) -> None:
        self.losses += progress.losses


def step(qtbot, window, count: int = 1) -> None:
    for _ in range(count):
        before = window.plots.point_count
        window.step_once()
        qtbot.waitUntil(lambda b=before: window.plots.point_count != b, timeout=20000)


def click_legend(qtbot, plots, index: int) -> None:
    sample, _ = plots.legend.items[index]
    view = plots.loss_plot
    point = view.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(point.x(), point.y()))


def test_runs_are_kept_across_reset_named_by_their_settings_and_hidden_with_a_click(qtbot, make_window, tmp_path):
    w = make_window()
    w.panel.source.setCurrentIndex(w.panel.source.findData("mnist"))
    recorder = Recorder()
    w.worker.progress.connect(recorder.progress)
    step(qtbot, w, 3)
    w.reset_weights()  # the run stays, to compare the next with
    assert len(w.session.runs.runs) == 1 and w.plots.point_count == 3
    w.panel.set_config(w.panel.config().replace(lr=0.5, batch_size=64))
    w._config_changed(w.panel.config())
    step(qtbot, w, 2)
    runs = w.session.runs.runs
    assert len(runs) == 2 and [len(r.steps) for r in runs] == [3, 2] and w.plots.point_count == 2
    labels = [label.text for _, label in w.plots.legend.items]
    assert labels == ["run 1: lr 0.1, batch 128", "run 2: lr 0.5, batch 64"]
    earlier_loss, earlier_accuracy = w.plots.earlier[runs[0].id]
    assert list(earlier_loss.getOriginalDataset()[0]) == [1, 2, 3]  # the first run, faded, beside the new one
    assert earlier_loss.opts["pen"].color().alpha() < 255
    # hidden and shown again with a click on its legend entry
    w.plots.resize(900, 400)
    click_legend(qtbot, w.plots, 0)
    assert not earlier_loss.isVisible() and not earlier_accuracy.isVisible() and not w.plots.run_visible(runs[0])
    click_legend(qtbot, w.plots, 0)
    assert earlier_loss.isVisible() and earlier_accuracy.isVisible()
    # x axis by samples seen: 64 a step in the second run
    w.plots.x_axis.setCurrentIndex(w.plots.x_axis.findData("samples"))
    assert list(w.plots.raw_curve.getOriginalDataset()[0]) == [64, 128]
    # the CSV holds the losses the worker reported, run by run
    path = tmp_path / "runs.csv"
    assert w.export_runs_file(path)
    rows = [r for r in csv.DictReader(path.open()) if r["kind"] == "step"]
    assert [float(r["loss"]) for r in rows] == recorder.losses
    assert [r["settings"] for r in rows] == ["run 1: lr 0.1, batch 128"] * 3 + ["run 2: lr 0.5, batch 64"] * 2
    # the smoothing slider redraws every run with the new weight
    w.plots.smoothing.setValue(0)
    np.testing.assert_allclose(w.plots.smooth_curve.getOriginalDataset()[1], runs[1].losses)
    w.clear_runs()
    assert not w.session.runs.runs and not w.plots.earlier and not w.plots.legend.items


def test_runs_come_back_with_the_autosave_and_with_a_checkpoint(qtbot, make_window, tmp_path):
    home = tmp_path / "home"
    w = make_window(data_home=home)
    w.panel.source.setCurrentIndex(w.panel.source.findData("mnist"))
    step(qtbot, w, 2)
    ids = [r.id for r in w.session.runs.runs]
    assert w.save_checkpoint_file(tmp_path / "with-runs.pt")
    w.close()
    qtbot.waitUntil(lambda: not w.thread.isRunning(), timeout=20000)
    again = make_window(data_home=home)
    assert [r.id for r in again.session.runs.runs] == ids and set(again.plots.earlier) == set(ids)
    assert again.plots.point_count == 0  # an earlier run, not the one training now
    again.clear_runs()
    assert again.load_checkpoint_file(tmp_path / "with-runs.pt")
    assert [r.id for r in again.session.runs.runs] == ids and set(again.plots.earlier) == set(ids)
    assert again.load_checkpoint_file(tmp_path / "with-runs.pt")  # opened twice: not twice the runs
    assert len(again.session.runs.runs) == 1
