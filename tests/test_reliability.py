"""Attacks on the program: killed saves, hostile images, thread storms, corrupt settings, unwritable folders."""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zlib

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QSettings, Qt

from lenet_core.checkpoint import load_checkpoint, save_model
from lenet_core.inference import default_model, predict
from lenet_core.model import new_model
from lenet_core.preprocess import ImageReadError, load_image

from .test_gui import drag
from .test_preprocess import drawing

# -- checkpoints: a save killed half-way ---------------------------------------------------------


def test_save_killed_mid_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "m.pt"
    save_model(path, new_model(0))
    script = textwrap.dedent(f"""
        import torch
        from lenet_core.checkpoint import Checkpoint, save_checkpoint
        from lenet_core.model import new_model
        net = new_model(1)
        big = {{"padding": torch.ones(40_000_000)}}  # 160 MB: each save takes a while
        print("ready", flush=True)
        while True:
            save_checkpoint({str(path)!r}, Checkpoint(net.state_dict(), trainer=big))
    """)
    for delay_s in (0.3, 0.7):
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay_s)
        child.send_signal(signal.SIGKILL)
        child.wait()
        checkpoint = load_checkpoint(path)  # whole: the old one or a complete new one
        assert set(checkpoint.model) == set(new_model(0).state_dict())
    for leftover in tmp_path.glob(".m.pt.*.tmp"):  # a killed writer may leave its temporary file, never a bad m.pt
        leftover.unlink()


# -- images given to predict ---------------------------------------------------------------------


def png_with_size(path, width: int, height: int) -> None:
    """A tiny valid PNG, then its header rewritten to claim width x height (CRC fixed)."""
    Image.new("L", (4, 4)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then length + "IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))


def test_huge_image_header_is_refused_before_decoding(tmp_path):
    png_with_size(tmp_path / "bomb.png", 60000, 60000)
    tracemalloc.start()
    with pytest.raises(ImageReadError, match="bomb.png: .*too large"):
        load_image(tmp_path / "bomb.png")
    assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    tracemalloc.stop()


def test_zero_size_and_non_images(tmp_path):
    png_with_size(tmp_path / "empty.png", 0, 0)
    with pytest.raises(ImageReadError, match="empty.png"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "notes.png").write_text("hello")
    with pytest.raises(ImageReadError, match="not an image"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(ImageReadError, match="no such file"):
        load_image(tmp_path / "absent.png")


@pytest.mark.parametrize("kind", ["L", "I;16", "RGBA", "P", "RGB-dark-on-light", "LA"])
def test_image_modes_give_the_same_answer(tmp_path, kind):
    ink = drawing()  # white seven on black
    if kind == "L":
        img = Image.fromarray(ink)
    elif kind == "I;16":
        img = Image.fromarray(ink.astype(np.uint16) * 257)  # 16-bit
    elif kind == "RGBA":  # black ink on a transparent background, as drawing apps export
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., 3] = ink
        img = Image.fromarray(rgba, "RGBA")
    elif kind == "P":
        img = Image.fromarray(ink).convert("P")
    elif kind == "LA":
        img = Image.fromarray(np.stack([ink, np.full_like(ink, 255)], -1), "LA")
    else:
        img = Image.fromarray(255 - ink).convert("RGB")
    img.save(tmp_path / "x.png")
    net = default_model()
    assert predict(net, load_image(tmp_path / "x.png")).digit == predict(net, ink).digit == 7


# -- the window under stress -----------------------------------------------------------------


def test_two_hundred_start_pause_toggles(qtbot, make_window, caplog):
    w = make_window()
    for _ in range(200):
        w.toggle_training()
        qtbot.wait(1)
    if w.running:
        w.toggle_training()
    qtbot.waitUntil(lambda: not w.running and w.actions["train"].isEnabled(), timeout=20000)
    steps = w.worker.trainer.step_count
    qtbot.wait(200)
    assert w.worker.trainer.step_count == steps  # really stopped
    w.close()
    assert not w.thread.isRunning()
    assert not [r for r in caplog.records if "did not stop" in r.getMessage()]  # joined within close's own bound


def test_step_reset_and_load_while_training(qtbot, make_window, tmp_path):
    w = make_window()
    saved = tmp_path / "saved.pt"
    assert w.save_checkpoint_file(saved)
    w.toggle_training()
    qtbot.waitUntil(lambda: w.plots.point_count > 0, timeout=20000)
    w.step_once()  # ignored while running
    w.reset_weights()  # pauses, then the new weights are taken
    qtbot.waitUntil(lambda: not w.running, timeout=20000)
    w.toggle_training()
    qtbot.waitUntil(lambda: w.running, timeout=20000)
    assert w.load_checkpoint_file(saved)  # also pauses first
    qtbot.waitUntil(lambda: not w.running, timeout=20000)
    qtbot.wait(100)
    expected = load_checkpoint(saved).model["fc3.weight"]
    assert torch.equal(w.worker.weights()["fc3.weight"], expected)
    assert torch.equal(w.net.fc3.weight, expected)
    assert not w.warnings


def test_closing_during_a_step_joins_quickly(qtbot, make_window, caplog):
    w = make_window()
    w.panel.batch_size.setValue(600)  # long steps
    w.toggle_training()
    qtbot.waitUntil(lambda: w.plots.point_count > 0, timeout=20000)
    w.close()
    assert not w.thread.isRunning()
    assert not [r for r in caplog.records if "did not stop" in r.getMessage()]  # joined within close's own bound


def test_diverging_training_is_reported_and_the_window_stays_usable(qtbot, make_window):
    """lr 10, momentum 0.99, batch 32 (the panel allows it): the loss blows up within a few steps."""
    w = make_window()
    w.panel.source.setCurrentIndex(w.panel.source.findData("mnist"))  # 19 steps an epoch: it blows up within one
    before = {k: v.clone() for k, v in w.net.state_dict().items()}
    w.panel.set_config(w.panel.config().replace(lr=10.0, momentum=0.99, batch_size=32, lr_schedule="constant"))
    w._config_changed(w.panel.config())
    w.toggle_training()
    qtbot.waitUntil(lambda: any("lower learning rate" in m for m in w.warnings), timeout=20000)
    qtbot.waitUntil(lambda: not w.running, timeout=20000)
    assert "the start of this run (step 0) were restored" in w.warnings[-1]
    qtbot.waitUntil(lambda: torch.equal(w.net.fc3.weight, before["fc3.weight"]), timeout=20000)
    assert all(torch.isfinite(p).all() for p in w.net.parameters())
    drag(qtbot, w.canvas, [(0.5, 0.15), (0.5, 0.85)])  # a one, read as before the run
    qtbot.waitUntil(lambda: w.prediction.digit.text() == "1")
    assert w.actions["train"].isEnabled() and w.actions["step"].isEnabled()


def test_corrupt_settings_and_autosave_still_start(qtbot, make_window, tmp_path):
    settings = QSettings(str(tmp_path / "bad.ini"), QSettings.Format.IniFormat)
    settings.setValue("training/config", "{not json")
    settings.setValue("canvas/pen_width", "thick")
    settings.setValue("window/geometry", "garbage")
    settings.setValue("my_digits/teach", "perhaps")
    settings.sync()
    home = tmp_path / "home2"
    home.mkdir()
    (home / "autosave.pt").write_bytes(b"not a checkpoint")
    w = make_window(data_dir=None, settings=settings, data_home=home)
    message = w.statusBar().currentMessage()
    assert message.startswith("Started with problems")
    for key in ("training/config", "canvas/pen_width", "my_digits/teach"):
        assert key in message
    assert "saved weights could not be used" in message
    assert w.weights_origin == "shipped defaults"


def test_unwritable_data_folder(qtbot, make_window, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    w = make_window(data_dir=None, data_home=blocker / "home")
    assert "My digits cannot be kept" in w.statusBar().currentMessage()
    assert w.store is None
    drag(qtbot, w.canvas, [(0.5, 0.2), (0.5, 0.8)])
    w.label_drawing(1)  # says so instead of crashing
    assert w.warnings and "My digits" in w.warnings[-1]
    assert not w.save_checkpoint_file(blocker / "x.pt")  # saving under a file: a clear error, model kept
    assert "Could not save" in w.warnings[-1]


def test_corrupt_data_folder_is_reported_and_the_data_kept(qtbot, make_window, tmp_path, mnist_dir):
    import shutil

    w = make_window()
    qtbot.waitUntil(lambda: "600 training images" in w.panel.data_label.text())
    before = w.worker.data
    bad = tmp_path / "bad"
    shutil.copytree(mnist_dir, bad)
    with open(bad / "train-images-idx3-ubyte.gz", "r+b") as f:
        f.truncate(100)  # a cut download
    w.load_data(str(bad))
    qtbot.waitUntil(lambda: bool(w.warnings), timeout=20000)
    assert "train-images-idx3-ubyte.gz" in w.warnings[-1]
    assert w.worker.data is before
    assert "600 training images" in w.panel.data_label.text()


def test_pause_survives_a_replaced_trainer(qtbot, mnist_dir):
    """Pause pressed while new settings are on their way must still stop the run that follows."""
    from app.worker import TrainingWorker
    from lenet_core.training import TrainConfig

    worker = TrainingWorker(new_model(0).state_dict(), TrainConfig(epochs=2, device="cpu"))
    worker.start()
    worker.load_data(str(mnist_dir))
    stopped = []
    worker.stopped.connect(lambda reason, message: stopped.append(reason))
    worker.pause()
    worker.configure(TrainConfig(epochs=2, device="cpu", batch_size=64))  # a new Trainer
    worker.train()
    assert stopped == ["stopped"] and worker.trainer.step_count == 0
    worker.train()  # the request was used up: this run goes to the end
    assert stopped[-1] == "finished"


def test_training_set_size_matches_the_set_for_every_source(qtbot, mnist_dir):
    """The data check before a Step or Start counts the images without joining MNIST and My digits."""
    from app.worker import TrainingWorker
    from lenet_core.datasets import TensorData
    from lenet_core.training import TrainConfig

    worker = TrainingWorker(new_model(0).state_dict(), TrainConfig(epochs=1, device="cpu"))
    mine = TensorData(torch.zeros(3, 1, 32, 32), torch.tensor([1, 2, 3]), "mine")
    for data_loaded in (False, True):
        if data_loaded:
            worker.load_data(str(mnist_dir))
        for source in ("mnist", "mnist+mine", "mine"):
            for my_digits in (None, mine):
                worker.source, worker.my_digits = source, my_digits
                train = worker._train_set()
                assert worker._train_size() == (0 if train is None else len(train)), (data_loaded, source)


def test_pause_while_the_trainer_is_built_still_stops_the_run(qtbot, mnist_dir, monkeypatch):
    from app.worker import TrainingWorker
    from lenet_core.training import TrainConfig

    worker = TrainingWorker(new_model(0).state_dict(), TrainConfig(epochs=2, device="cpu"))
    worker.start()
    worker.load_data(str(mnist_dir))
    assert worker.trainer is None
    build = worker._new_trainer

    def build_then_pause(weights):
        trainer = build(weights)  # it checked for a pause before one came:
        worker.pause()  # the GUI pauses now, sees no Trainer yet
        return trainer

    monkeypatch.setattr(worker, "_new_trainer", build_then_pause)
    stopped = []
    worker.stopped.connect(lambda reason, message: stopped.append(reason))
    worker.train()
    assert stopped == ["stopped"] and worker.trainer.step_count == 0


@pytest.mark.parametrize("slot", ["teach", "train", "step"])
def test_a_window_closed_while_the_pen_digits_are_prepared_builds_no_engine(qtbot, mnist_dir, monkeypatch, slot):
    """The engine's first optimizer imports ~1.5 s of torch that nothing can cut short: not for a closed window.
    (Quitting during a first teach took 2.0-2.5 s, bench/close_time.py.)"""
    import app.worker
    from app.worker import TrainingWorker
    from lenet_core.pen_digits import RenderingStopped
    from lenet_core.training import TrainConfig

    worker = TrainingWorker(new_model(0).state_dict(), TrainConfig(epochs=2, device="cpu"))
    worker.start()
    worker.load_data(str(mnist_dir))  # the source is MNIST + pen digits (the default)

    def closed_while_rendering(*args, should_stop, **kwargs):
        worker.close()  # the window closes meanwhile ...
        assert should_stop()
        raise RenderingStopped  # ... and the rendering stops at its next chunk

    def no_engine(*args, **kwargs):
        raise AssertionError("an engine was built for a closed window")

    monkeypatch.setattr(app.worker, "pen_training_set", closed_while_rendering)
    monkeypatch.setattr(app.worker, "Trainer", no_engine)
    said = []
    for reply in (worker.failed, worker.taught):
        reply.connect(lambda *args: said.append(args))
    worker.activity = ""
    if slot == "teach":
        worker.teach(torch.zeros(1, 1, 32, 32), 7, None, None)
    elif slot == "train":
        worker._train()  # as train() runs it; train() itself returns at once for a closed window
    else:
        worker.closing.clear()  # step() is skipped too once closed: it is the rendering that closes it here
        worker._pause_requested.clear()
        worker.step()
    assert worker.trainer is None
    assert not said  # no failure said, nothing taught


def test_weights_replaced_half_way_through_the_tutorial(qtbot, make_window):
    w = make_window(data_dir=None)
    drag(qtbot, w.canvas, [(0.5, 0.15), (0.5, 0.85)])
    qtbot.waitUntil(lambda: w.tutorial.input is not None)
    w.tutorial.next_line()
    w.tutorial.next_line()  # forward done: autograd holds the weights
    w.reset_weights()  # new weights copied into the same model
    assert w.tutorial.walk is None  # the walk starts over instead of failing in backward()
    w.tutorial.run_all()
    assert w.tutorial.walk.done and len(w.tutorial.results) == 5


def test_closing_while_a_slow_slot_runs_says_what_it_waits_for_and_closes_after(
    qtbot, make_window, monkeypatch, mnist_dir
):
    """A slot that no stop flag cuts short: close neither aborts (a running QThread destroyed) nor freezes."""
    import shiboken6

    import app.worker

    release = threading.Event()
    real_load = app.worker.load_mnist

    def slow_load(folder):
        release.wait(30)  # longer than close waits: released by the test below
        return real_load(folder)

    monkeypatch.setattr(app.worker, "load_mnist", slow_load)
    w = make_window(data_dir=None)
    w.load_data(str(mnist_dir))
    qtbot.waitUntil(lambda: w.worker.activity == "loading MNIST")
    assert not w.close()  # not yet: the window stays, says why, and takes no new work
    assert w.statusBar().currentMessage() == "Closing: waiting for loading MNIST to finish…"
    assert w.isVisible() and not w.isEnabled()
    assert not w.close()  # asked again: still waiting, at once
    finished: list[bool] = []
    w.thread.finished.connect(lambda: finished.append(True), Qt.ConnectionType.DirectConnection)
    release.set()
    qtbot.waitUntil(lambda: not shiboken6.isValid(w), timeout=20000)  # closed and deleted (WA_DeleteOnClose)...
    assert finished  # ...after its thread had finished: deleting a running QThread would have aborted


def test_odd_checkpoint_fields_are_refused_or_ignored(tmp_path):
    from lenet_core.checkpoint import FORMAT, CheckpointError
    from lenet_core.model import LeNet
    from lenet_core.training import TrainConfig

    state = LeNet().state_dict()
    torch.save({"format": FORMAT, "version": "1", "model": state}, tmp_path / "v.pt")
    with pytest.raises(CheckpointError, match="format version"):
        load_checkpoint(tmp_path / "v.pt")
    torch.save({"format": FORMAT, "version": 1, "model": state, "config": [1, 2]}, tmp_path / "c.pt")
    assert load_checkpoint(tmp_path / "c.pt").config is None
    with pytest.raises(ValueError, match="mapping"):
        TrainConfig.from_dict([1, 2])


def test_closing_mid_training_autosaves_the_latest_weights(qtbot, make_window, tmp_path):
    w = make_window()
    w.toggle_training()
    qtbot.waitUntil(lambda: w.plots.point_count > 3, timeout=20000)
    trainer = w.worker.trainer
    w.close()
    saved = load_checkpoint(tmp_path / "home" / "autosave.pt").model
    for name, value in trainer.net.state_dict().items():
        assert torch.equal(saved[name], value.cpu()), name  # the weights training ended with, not an older snapshot


def test_cyclic_garbage_is_collected_on_the_gui_thread_only(qtbot, garbage_collected_on_gui_thread):
    """A Qt object in a reference cycle, let go on the GUI thread: a thread that allocates a lot (as training does)
    must not collect it (its destructor would run there and could deadlock with the GUI thread); the GUI thread's
    collector does."""
    import gc
    import threading
    import weakref

    from PySide6.QtCore import QObject

    assert not gc.isenabled()

    class Held(QObject):
        pass

    held = Held()
    held.me = held  # a cycle: only the cyclic collector frees it
    gone = weakref.ref(held)
    del held
    busy = threading.Thread(target=lambda: [[i] for i in range(200_000)])  # past every generation's threshold
    busy.start()
    busy.join()
    assert gone() is not None  # not collected on that thread
    gc.collect()  # what the GUI thread's collector does on its timer
    assert gone() is None
