"""Issue 19: what seeded random use of the window found, one regression test each (they failed before the fixes)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox

from lenet_core.checkpoint import FORMAT, save_model
from lenet_core.model import new_model
from lenet_core.training import LIMITS, TrainConfig

from .conftest import fake_digits
from .test_gui import drag

QUIT_SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from app.main_window import main_window_for_app

    app = QApplication(sys.argv)
    window = main_window_for_app(app)
    window.show()
    at_once = sys.argv[1] == "at once"

    def when(ready, then):
        QTimer.singleShot(10, lambda: then() if ready() else when(ready, then))

    def first_evaluation():
        window.actions["evaluate"].trigger()
        if at_once:  # Quit before the evaluation dialog appears
            window.actions["quit"].trigger()
        else:  # the dialog shown, a second Ctrl+E, and Quit 0.1 s later
            when(lambda: getattr(window, "evaluation", None) is not None, second_evaluation)

    def second_evaluation():
        window.actions["evaluate"].trigger()
        QTimer.singleShot(100, window.actions["quit"].trigger)

    when(lambda: window.worker.data is not None, first_evaluation)
    code = app.exec()
    print("exited", code, flush=True)
""")


@pytest.mark.parametrize("scenario", ["at once", "later"])
def test_quit_during_an_evaluation_ends_the_program(tmp_path, mnist_dir, scenario):
    """1. The evaluation's result arrived while the window closed: a new dialog kept app.exec() from returning."""
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "LENET_DATA_DIR": str(mnist_dir),
        "QT_QPA_PLATFORM": "offscreen",
    }
    # A hang guard, not a speed limit: before the fix the program never exited.
    result = subprocess.run(
        [sys.executable, "-c", QUIT_SCRIPT, scenario], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "exited 0" in result.stdout


def test_results_arriving_after_close_show_no_dialog(qtbot, make_window):
    w = make_window()
    w.evaluate()
    w.close()
    qtbot.wait(100)
    assert getattr(w, "evaluation", None) is None


def type_into(qtbot, box: QAbstractSpinBox, text: str) -> None:
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


@pytest.mark.parametrize(
    ("box", "typed", "expected"),
    [("lr", "0.25", 0.25), ("lr", "2.5", 2.5), ("lr", "1.5", 1.5), ("lr", "1e-5", 1e-5), ("momentum", "0.99", 0.99)],
)
def test_typed_hyper_parameters_are_the_numbers_typed(qtbot, make_window, box, typed, expected):
    """2. Each keystroke used to commit, and the box was rewritten while typing: 0.25 became 0.2."""
    w = make_window(data_dir=None)
    configs = []
    w.session.request_config.connect(configs.append)
    type_into(qtbot, getattr(w.panel, box), typed)
    assert getattr(w.panel.config(), box) == pytest.approx(expected, rel=1e-12)
    assert getattr(w.panel, box).value() == pytest.approx(expected, rel=1e-12)
    assert len(configs) == 1  # committed once, on Enter
    qtbot.waitUntil(lambda: getattr(w.worker.config, box) == pytest.approx(expected, rel=1e-12))


def test_a_typed_number_in_a_locale_with_a_decimal_comma(qtbot, make_window):
    from PySide6.QtCore import QLocale

    w = make_window(data_dir=None)
    w.panel.lr.setLocale(QLocale(QLocale.Language.German, QLocale.Country.Germany))
    type_into(qtbot, w.panel.lr, "0,25")
    assert w.panel.config().lr == pytest.approx(0.25)
    type_into(qtbot, w.panel.lr, "0.05")  # a point, as in code and papers, is read too
    assert w.panel.config().lr == pytest.approx(0.05)


def test_a_teach_with_thousands_of_saved_digits_is_short_and_close_does_not_wait(qtbot, make_window, caplog):
    """3/4. Teaching trained on every saved digit at every step (62 s with 10,000); close then waited for it."""
    w = make_window()
    images, labels = fake_digits(3000, seed=11)
    for image, label in zip(images, labels, strict=True):
        w.store.add(image, int(label))
    drag(qtbot, w.canvas, [(0.5, 0.15), (0.5, 0.85)])
    taught = []
    w.worker.taught.connect(lambda digit, steps, learnt: taught.append(steps))
    batches: list[int] = []
    w.label_drawing(7)
    qtbot.waitUntil(lambda: w.worker.trainer is not None, timeout=20000)
    hook = w.worker.trainer.net.register_forward_pre_hook(lambda module, args: batches.append(len(args[0])))
    qtbot.waitUntil(lambda: bool(taught), timeout=30000)
    hook.remove()
    # 32 of the drawing and its re-drawings, 64 of the 3,000 saved, 128 replayed: not more with more saved
    assert batches and max(batches) <= 32 + 64 + 128
    w.label_drawing(7)  # another teach, and the window closed at once
    w.close()
    assert not [r for r in caplog.records if "busy with" in r.getMessage()]


def write_checkpoint(path, config: dict, weights: dict | None = None) -> None:
    buffer = io.BytesIO()
    torch.save(
        {"format": FORMAT, "version": 1, "model": weights or new_model(3).state_dict(), "config": config}, buffer
    )
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("content", [b"hello\nworld\n" * 50, b"one line of text\n", b"PK\x03\x04junk"])
def test_opening_a_file_that_is_not_a_checkpoint_says_so(qtbot, make_window, tmp_path, content):
    """5. torch.load's IndexError / KeyError / TypeError escaped load_checkpoint: the user saw nothing."""
    w = make_window(data_dir=None)
    weights = w.net.fc1.weight.detach().clone()
    (tmp_path / "notes.pt").write_bytes(content)
    assert not w.load_checkpoint_file(tmp_path / "notes.pt")
    assert "notes.pt: not a readable checkpoint" in w.warnings[-1]
    assert torch.equal(w.net.fc1.weight, weights)


def test_a_checkpoints_config_is_clamped_visibly_and_the_panel_shows_what_training_uses(qtbot, make_window, tmp_path):
    """6/7. batch 100,000, lr 1e9, seed 2**63 were trusted: overflows, a half-updated panel, a seed that broke Step."""
    w = make_window()
    saved = {**TrainConfig().to_dict(), "batch_size": 100_000, "lr": 1e9, "seed": 2**63, "momentum": 0.995}
    write_checkpoint(tmp_path / "odd.pt", saved)
    assert w.load_checkpoint_file(tmp_path / "odd.pt")
    message = w.warnings[-1]
    for note in ("batch_size 100000 is outside 1 to 4096: using 4096", "lr 1e+09", "seed 9223372036854775808"):
        assert note in message
    config = w.panel.config()
    assert (config.batch_size, config.lr, config.seed, config.momentum) == (4096, 100.0, 2**31 - 1, 0.995)
    shown = (w.panel.batch_size.value(), w.panel.lr.value(), w.panel.seed.value(), w.panel.momentum.value())
    assert shown == (4096, 100.0, 2**31 - 1, 0.995)
    decimal = w.panel.momentum.locale().decimalPoint()  # "," in a German locale
    assert w.panel.lr.text() == "100" and w.panel.momentum.text() == f"0{decimal}995"
    qtbot.waitUntil(lambda: w.worker.config == config)
    w.panel.set_config(config.replace(lr=0.01, batch_size=64))
    w._config_changed(w.panel.config())
    w.step_once()  # the seed once made every Step fail
    qtbot.waitUntil(lambda: w.plots.point_count == 1, timeout=20000)
    write_checkpoint(tmp_path / "typed.pt", {**TrainConfig().to_dict(), "batch_size": "64x"})
    assert not w.load_checkpoint_file(tmp_path / "typed.pt")
    assert "typed.pt: its training config is unusable: batch_size must be an integer" in w.warnings[-1]


def test_a_saved_setting_out_of_range_is_clamped_and_said(qtbot, make_window, tmp_path):
    settings = QSettings(str(tmp_path / "odd.ini"), QSettings.Format.IniFormat)
    settings.setValue("training/config", json.dumps({**TrainConfig().to_dict(), "seed": 2**64, "batch_size": 64.0}))
    settings.setValue("ui/language", "en")
    w = make_window(data_dir=None, settings=settings)
    assert w.panel.config().seed == LIMITS["seed"][1] and w.panel.config().batch_size == 64
    assert "training/config: seed 18446744073709551616" in w.statusBar().currentMessage()


def test_huge_weights_never_become_nan_in_the_live_model(qtbot, make_window, tmp_path):
    """8. After a divergence the tutorial's step wrote NaN into every weight, and a drawn 1 read as "0"."""
    w = make_window(data_dir=None)
    huge = {k: v * 1e18 for k, v in new_model(4).state_dict().items()}  # finite, but the outputs overflow
    save_model(tmp_path / "huge.pt", new_model(4))
    write_checkpoint(tmp_path / "huge.pt", TrainConfig().to_dict(), huge)
    assert w.load_checkpoint_file(tmp_path / "huge.pt")
    drag(qtbot, w.canvas, [(0.5, 0.15), (0.5, 0.85)])
    qtbot.waitUntil(lambda: w.prediction.digit.text() == "?")
    assert "not finite" in w.prediction.confidence.text()
    sent = []
    w.session.request_weights.connect(sent.append)
    w.tutorial.run_all()
    assert "was not applied" in w.tutorial.explanation.toPlainText()
    assert all(torch.isfinite(p).all() for p in w.net.parameters())
    assert sent == []  # nothing new for the worker
    for name, value in w.net.state_dict().items():
        assert torch.equal(value, huge[name]), name
    nan = {k: torch.full_like(v, float("nan")) for k, v in huge.items()}
    w.session.replace_weights(nan, "never")
    assert "NaN or infinite" in w.warnings[-1]
    w.session._weights_changed(nan)  # from the worker: refused too
    assert all(torch.isfinite(p).all() for p in w.net.parameters())


def test_a_failed_autosave_is_said_in_the_window(qtbot, make_window, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("where the data folder should be")
    w = make_window(data_dir=None, data_home=blocker / "home")
    w.close()
    assert any("Could not autosave the weights" in m for m in w.warnings)


def test_data_actions_wait_while_training_and_quit_has_ctrl_q(qtbot, make_window):
    """10. Use MNIST folder… and Download stayed enabled in the menu while training; Quit had no key on Linux."""
    w = make_window()
    assert QKeySequence("Ctrl+Q") in w.actions["quit"].shortcuts()
    w.toggle_training()
    assert not w.actions["data"].isEnabled() and not w.actions["download"].isEnabled()
    w.toggle_training()
    qtbot.waitUntil(lambda: not w.running, timeout=20000)
    assert w.actions["data"].isEnabled() and w.actions["download"].isEnabled()


def test_evaluate_and_teach_errors_are_reported_not_stuck(qtbot, make_window, monkeypatch):
    """6. An exception in a slot was printed only: "Evaluating…" stayed for ever."""
    w = make_window()

    def broken(*args, **kwargs):
        raise OverflowError("Overflow when unpacking long")

    monkeypatch.setattr("app.worker.evaluate", broken)
    w.evaluate()
    qtbot.waitUntil(lambda: any("The evaluation failed: Overflow" in m for m in w.warnings), timeout=20000)
    assert "Evaluating" not in w.statusBar().currentMessage()


def test_evaluate_pressed_again_and_again_asks_once_and_close_does_not_wait(qtbot, make_window, caplog):
    """Found by the 10-minute run: 11 Ctrl+E queued 11 evaluations (and dialogs); the close waited for all of them."""
    w = make_window()
    asked: list[bool] = []
    w.session.request_evaluate.connect(lambda: asked.append(True))
    for _ in range(12):
        w.actions["evaluate"].trigger()
    assert len(asked) == 1
    w.close()
    assert not [r for r in caplog.records if "busy with" in r.getMessage()]


def test_closing_while_the_pen_digits_are_first_rendered_stops_the_rendering(qtbot, make_window, monkeypatch, caplog):
    """Found by random use: the first Start renders the pen digits (~6 s), and close waited for all of it."""
    import time

    import lenet_core.pen_digits as pen_digits

    real = pen_digits.render_digits

    def slow(drawings, *args):
        time.sleep(0.2)  # a chunk as long as a real one takes: the pen file of the tests is tiny
        return real(drawings, *args)

    monkeypatch.setattr(pen_digits, "RENDER_CHUNK", 4)
    monkeypatch.setattr(pen_digits, "render_digits", slow)
    w = make_window()
    w.toggle_training()  # MNIST + pen digits: the worker renders them first
    qtbot.waitUntil(lambda: w.worker.activity == "preparing the pen digits", timeout=20000)
    w.close()
    assert not [r for r in caplog.records if "busy with" in r.getMessage()]
    assert not w.thread.isRunning()
