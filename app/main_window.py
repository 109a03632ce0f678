"""The trainer window: composes the drawing column, the plots and feature maps, the training panel and the tutorial;
its menus, status bar, settings and close. What it shows and acts on is the session's (app/session.py)."""

from __future__ import annotations

import json
import logging
import os

import torch
from PySide6.QtCore import QByteArray, QLocale, QSettings, Qt, QTimer, QTranslator
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QSplitter

from lenet_core.checkpoint import CheckpointError, load_checkpoint
from lenet_core.inference import DEFAULT_WEIGHTS, RESOURCES, classify
from lenet_core.model import new_model
from lenet_core.preprocess import prepare
from lenet_core.training import PRESETS, TrainConfig

from .actions import make_action
from .data_menu import DataMenu
from .desktop import APP_ID, ICON
from .draw_panel import DrawPanel
from .file_menu import FileMenu
from .gallery import EvaluationDialog
from .live_view import LiveView
from .my_digits import BEFORE_TEACHING_NAME, MyDigits
from .pace import Pace
from .session import APP_NAME, AUTOSAVE_NAME, Session
from .training_panel import DEFAULT_SOURCE, TrainingPanel
from .tutorial_panel import TutorialPanel, tutorial_dock
from .worker import Progress

__all__ = ["APP_NAME", "AUTOSAVE_NAME", "BEFORE_TEACHING_NAME", "MainWindow", "main_window_for_app"]

log = logging.getLogger(__name__)

CLOSE_WAIT_MS = 1000  # after this, close stops blocking: the window says what it waits for and closes when done
I18N = RESOURCES / "i18n"  # compiled translations (.qm), made by resources/i18n/make_ts.py
Keys = QKeySequence.StandardKey
ACTIONS = {  # the window's actions: text, the method triggered, shortcuts, tip
    # Ctrl+Q everywhere: Qt's standard Quit key is unbound on some Linux desktops.
    "quit": ("&Quit", "close", [Keys.Quit, "Ctrl+Q"], "Quit"),
    "train": ("&Start", "toggle_training", "Space", "Start or pause training"),
    "step": ("S&tep", "step_once", "Ctrl+T", "One SGD step: zero_grad, forward, loss, backward, step"),
    "reset": ("&Reset weights", "reset_weights", "Ctrl+R", "Start again from random weights"),
    "defaults": (
        "Use &shipped weights",
        "use_shipped_weights",
        None,
        "Go back to the weights shipped with the program",
    ),
    "about": ("&About", "about", None, "About this program"),
    "clear_runs": ("Clear &runs", "clear_runs", None, "Take every run off the plots (and out of the next autosave)"),
    "evaluate": (
        "&Evaluate: where is it wrong?…",
        "evaluate",
        "Ctrl+E",
        "Test the network on the MNIST test set: confusion matrix and every mistake",
    ),
}


class MainWindow(QMainWindow):
    """The panels side by side, the tutorial docked, menus, status bar, settings and close."""

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        settings: QSettings | None = None,
        data_home: str | os.PathLike | None = None,
        pen_digits: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(QIcon(str(ICON)))
        # Deleted on close, by the event loop of the GUI thread: never later by Python's garbage collector, which may
        # run on the training thread and must not destroy widgets and timers there.
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.settings = settings if settings is not None else QSettings()
        self.problems: list[str] = []  # what was wrong at start-up: said in the status bar, never fatal
        config, notes = self._setting(
            "training/config", (PRESETS["default"], []), lambda raw: TrainConfig.from_saved(json.loads(raw))
        )
        self.problems.extend(f"the saved setting training/config: {note}" for note in notes)
        self.session = session = Session(config, data_home, pen_digits, self.problems, self)
        self.worker, self.thread, self.net = session.worker, session.thread, session.net
        self.data_home, self.mnist_home = session.data_home, session.mnist_home
        self._closing = False  # close asked for: results still on their way are no longer shown
        self._waiting_to_close = False  # close waits (without blocking) for work that no stop flag cuts short

        self._build_actions()
        self._build_widgets()
        self._build_menus()
        self._translator: QTranslator | None = None
        self.set_language(self._setting("ui/language", "", str))
        self.panel.set_config(config)

        session.status.connect(self.statusBar().showMessage)
        session.failed.connect(self.warn)
        session.diverged.connect(self._diverged)
        session.runs_changed.connect(self._runs_changed)
        session.running_changed.connect(self._set_running)
        session.weights_replacing.connect(self.tutorial.weights_replaced)  # a walk half-way holds the old graph
        session.weights_shown.connect(self.update_prediction)
        worker = session.worker  # its signals are queued to this thread: each connected to a method, never a lambda
        worker.evaluated.connect(self._show_evaluation)
        worker.progress.connect(self._progress)
        worker.epoch_finished.connect(self.live.add_epoch)

        self._predict_timer = QTimer(self, singleShot=True, interval=0)
        self._predict_timer.timeout.connect(self.update_prediction)
        self.canvas.drawingChanged.connect(self._drawing_changed)
        self.panel.config_changed.connect(self._config_changed)
        source_index = self.panel.source.findData(self._setting("training/source", DEFAULT_SOURCE, str))
        if source_index > 0:  # the worker starts with the default
            self.panel.source.setCurrentIndex(source_index)
            self._source_changed()
        self.panel.source.currentIndexChanged.connect(self._source_changed)

        self.plots.follow(session.runs, None)  # the runs of the last session, from the autosave
        self._restore_window()
        self.statusBar().showMessage(f"Weights: {self.weights_origin}", 8000)
        self.update_prediction()
        self.data.load_first(
            str(data_dir) if data_dir else self._setting("data/folder", "", str) or os.environ.get("LENET_DATA_DIR", "")
        )
        if self.problems:  # say what was wrong, but start all the same
            log.warning("start-up problems: %s", "; ".join(self.problems))
            self.statusBar().showMessage("Started with problems: " + "; ".join(self.problems), 20000)

    @property
    def closing(self) -> bool:
        """Close was asked for: results still on their way are no longer shown."""
        return self._closing

    # The download's mirrors, checksums and dialog by their names from before the split (tests use a local server).
    download_mirrors = property(
        lambda self: self.data.mirrors, lambda self, mirrors: setattr(self.data, "mirrors", mirrors)
    )
    download_md5s = property(lambda self: self.data.md5s, lambda self, md5s: setattr(self.data, "md5s", md5s))
    download_dialog = property(lambda self: self.data.dialog)

    @property
    def running(self) -> bool:
        return self.session.running

    @property
    def weights_origin(self) -> str:
        return self.session.weights_origin

    def _setting(self, key: str, default, convert):
        """A saved setting, or default when it is missing or corrupt (and the problem is reported)."""
        raw = self.settings.value(key)
        if raw is None or raw == "":
            return default
        try:
            return convert(raw)
        except (TypeError, ValueError, KeyError) as exc:
            self.problems.append(f"the saved setting {key} was unreadable and was reset ({exc})")
            return default

    # -- construction -------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        self.actions = {
            name: make_action(self, text, getattr(self, slot), keys, tip)
            for name, (text, slot, keys, tip) in ACTIONS.items()
        }
        self.files = FileMenu(self, self.session)
        self.actions.update(self.files.actions)
        files = self.files  # its methods by the names the window had before the split
        self.load_checkpoint_file, self.save_checkpoint_file = files.load_checkpoint_file, files.save_checkpoint_file
        self.export_runs_file = files.export_runs_file
        self.actions["train"].setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    def _build_widgets(self) -> None:
        self.draw = DrawPanel(
            pen_width=self._setting("canvas/pen_width", None, lambda v: int(float(v))),
            teach=self._setting(
                "my_digits/teach", True, lambda v: {True: True, False: False, "true": True, "false": False}[v]
            ),
        )
        self.addActions(self.draw.actions())  # the digit keys, undo and clear work wherever the focus is
        self.actions["clear"] = self.draw.clear_action
        draw = self.draw  # its parts, by the names the window had before the split
        self.canvas, self.prediction = draw.canvas, draw.prediction
        self.pen_width, self.teach_check = draw.pen_width, draw.teach_check
        self.undo_action, self.redo_action = draw.undo_action, draw.redo_action
        self.undo_button, self.clear_button = draw.undo_button, draw.clear_button

        self.live = LiveView(self.net)
        self.plots, self.loss_plot, self.feature_maps = (
            self.live.plots,
            self.live.plots.loss_plot,
            self.live.feature_maps,
        )

        self.data = DataMenu(self, self.session)
        self.actions["data"], self.actions["download"] = self.data.folder_action, self.data.download_action
        self.load_data, self.download_mnist = self.data.load, self.data.download
        self.panel = TrainingPanel(self.actions)
        self.data.show_in(self.panel.data_label)
        self.train_button, self.step_button = self.panel.train_button, self.panel.step_button
        self.pace = Pace(self)  # the live views' rates while training, within the GUI thread's budget
        for timer in (*self.live.paced_timers(), self.panel.readout_timer):
            self.pace.follow(timer)
        self.my_digits = MyDigits(self, self.session, self.draw, self.panel.my_digits_label)
        self.store = self.my_digits.store
        self.actions["gallery"], self.actions["forget"] = self.my_digits.gallery_action, self.my_digits.forget_action
        self.label_drawing, self.show_gallery = self.my_digits.label_drawing, self.my_digits.show_gallery
        self.forget_teaching = self.my_digits.forget_teaching

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.draw, self.live, self.panel):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 0)
        self.setCentralWidget(self.splitter)

        self.tutorial = TutorialPanel(self.net)
        self.tutorial.weights_changed.connect(self.session.weights_edited_here)
        self.tutorial.forward_done.connect(self.update_prediction)
        self.tutorial_dock = tutorial_dock(self.tutorial, self)
        self._drawing_version = 0
        self._input_version, self._input = -1, None  # the prepared drawing, and the drawing version it is of
        self._tutorial_version = -1

        self.speed_label = self.panel.speed_label
        self.statusBar().addPermanentWidget(self.speed_label)

    def _build_menus(self) -> None:
        a = self.actions
        menus = (
            ("&File", [a["open"], a["save"], a["save_as"], None, a["export_runs"], None, a["quit"]]),
            ("&Edit", [self.undo_action, self.redo_action, a["clear"]]),
            (
                "&Training",
                [a["train"], a["step"], a["reset"], a["defaults"], a["evaluate"], None, a["download"], a["data"]],
            ),
            ("&My digits", [a["gallery"], None, a["forget"]]),
            (
                "&View",
                [self.plots.log_scale_action(self), a["clear_runs"], None, self.tutorial_dock.toggleViewAction()],
            ),
            ("&Help", [a["about"]]),
        )
        for title, items in menus:
            menu = self.menuBar().addMenu(title)
            for item in items:
                menu.addSeparator() if item is None else menu.addAction(item)
        language_menu = menu.addMenu("&Language")  # the Help menu
        self.language_actions = QActionGroup(self)
        for code, name in (("", "System"), ("en", "English"), ("ko", "한국어")):
            action = QAction(name, self, checkable=True)
            action.setData(code)
            action.triggered.connect(lambda _=False, c=code: self.set_language(c))
            self.language_actions.addAction(action)
            language_menu.addAction(action)

    # -- prediction ---------------------------------------------------------------------------------
    def update_prediction(self) -> None:
        drawn = self._input_version != self._drawing_version
        if drawn:  # while training, only the weights change: prepare once
            self._input, self._input_version = prepare(self.canvas.image()), self._drawing_version
        self._prediction = classify(self.net, self._input)
        self.prediction.display(self._prediction)
        if self._tutorial_version != self._drawing_version:  # a new drawing: the tutorial walk starts over
            self._tutorial_version = self._drawing_version
            self.tutorial.set_input(self._prediction.input, self._prediction.digit)
        self.live.show_prediction(self._prediction, drawn)

    def _drawing_changed(self) -> None:
        self._drawing_version += 1
        self._predict_timer.start()
        self.session.postpone_warm_up()

    def set_language(self, code: str, remember: bool = True) -> None:
        """ "en", "ko", or "" for the system's language; the tutorial's texts follow at once. remember: kept in the
        settings for the next start."""
        app = QApplication.instance()
        if self._translator is not None:
            app.removeTranslator(self._translator)
            self._translator = None
        language = code or QLocale.system().name().split("_")[0]
        translator = QTranslator(self)
        if language != "en" and translator.load(str(I18N / f"tutorial_{language}.qm")):
            app.installTranslator(translator)
            self._translator = translator
        self.tutorial.retranslate()  # now, not when the posted LanguageChange event arrives
        if remember:
            self.settings.setValue("ui/language", code)
        for action in self.language_actions.actions():
            action.setChecked(action.data() == code)

    # -- training -----------------------------------------------------------------------------------
    def _source_changed(self) -> None:
        source = self.panel.source.currentData()
        self.settings.setValue("training/source", source)
        self.session.set_source(source, self.my_digits.training_data() if "mine" in source.split("+") else None)

    def toggle_training(self) -> None:
        if self.running:
            self.session.pause()
            self.actions["train"].setEnabled(False)  # until the worker says it has stopped
        else:
            self.session.train()

    def step_once(self) -> None:
        self.session.step()

    def reset_weights(self) -> None:
        self.session.replace_weights(new_model().state_dict(), "Weights reset to random values")
        self.live.health.clear()  # the runs stay, to compare the next one with

    def use_shipped_weights(self) -> None:
        try:
            self.session.replace_weights(load_checkpoint(DEFAULT_WEIGHTS).model, "Shipped weights loaded")
        except CheckpointError as exc:
            self.warn(str(exc))

    def use_config(self, config: TrainConfig) -> None:
        """config in the training panel, and for the next run (a checkpoint's)."""
        self.panel.set_config(config)
        self._config_changed(config)

    def _config_changed(self, config: TrainConfig) -> None:
        self.settings.setValue("training/config", json.dumps(config.to_dict()))
        self.session.set_config(config)

    def _set_running(self, running: bool) -> None:
        self.actions["train"].setText("&Pause" if running else "&Start")
        self.actions["train"].setEnabled(True)
        self.actions["step"].setEnabled(not running)
        for name in ("data", "download"):  # a new training set is taken only between runs
            self.actions[name].setEnabled(not running)
        self.panel.set_running(running)
        self.pace.set_measuring(running)
        self.tutorial.setEnabled(not running)  # one model: the tutorial waits while training runs

    def _progress(self, progress: Progress) -> None:
        self.live.add_progress(progress, self.session.runs, self.session.live_run)
        if progress.last is not None:
            self.panel.show_step(progress.last, at_once=not self.running)  # one Step: at once

    def _diverged(self, message: str) -> None:
        if not self._closing:
            QMessageBox.warning(self, "Training diverged", f"Training stopped: {message}.")

    def warn(self, message: str) -> None:
        if self._closing:
            log.warning("while closing: %s", message)
            return
        self.statusBar().showMessage(message, 10000)
        QMessageBox.warning(self, APP_NAME, message)

    def evaluate(self) -> None:
        if self.running:
            self.statusBar().showMessage("Pause training to evaluate", 5000)
        elif self.session.evaluate():
            self.statusBar().showMessage("Evaluating on the test set…")
        else:  # one at a time: each press queued a whole evaluation, and a dialog of its own
            self.statusBar().showMessage("Evaluating on the test set… (already asked)")

    def _show_evaluation(self, images, labels, predicted) -> None:
        if self._closing:  # a dialog shown now would outlive the quit (and keep the program running)
            return
        self.statusBar().clearMessage()
        self.evaluation = EvaluationDialog(images, labels, predicted, self)
        self.evaluation.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.evaluation.show()

    # -- runs ---------------------------------------------------------------------------------------
    def clear_runs(self) -> None:
        self.session.clear_runs()

    def _runs_changed(self) -> None:
        self.plots.clear()
        self.plots.follow(self.session.runs, self.session.live_run)

    # -- window -------------------------------------------------------------------------------------
    def about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME}</h3><p>Draw a digit and watch the LeNet of PyTorch's “Neural Networks” tutorial "
            "classify it; train it live and see its loss and feature maps change.</p>"
            f"<p>torch {torch.__version__}</p><p>MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges "
            "(CC BY-SA 3.0).</p>",
        )

    def _restore_window(self) -> None:
        geometry = self._setting("window/geometry", None, QByteArray)
        if geometry is not None and self.restoreGeometry(geometry):
            state = self._setting("window/splitter", None, QByteArray)
            if state is not None:
                self.splitter.restoreState(state)
        else:
            self.resize(1280, 800)
            self.splitter.setSizes([420, 560, 300])

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._waiting_to_close:  # asked again while waiting: the close is already on its way
            event.ignore()
            return
        if not self._closing:
            self._closing = self.session.closing = True
            self.setEnabled(False)  # nothing new starts while the work in progress winds down
        if not self.shutdown(CLOSE_WAIT_MS):
            # Work that no stop flag cuts short (building the engine, a folder loading): destroying a running QThread
            # would abort, and waiting here would freeze the window. Say what we wait for; close when it is done.
            event.ignore()
            what = self.worker.activity or "the training thread"
            self.statusBar().showMessage(f"Closing: waiting for {what} to finish…")
            self._waiting_to_close = True
            self.thread.finished.connect(self._close_when_idle, Qt.ConnectionType.SingleShotConnection)
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("canvas/pen_width", self.pen_width.value())
        self.settings.setValue("my_digits/teach", self.teach_check.isChecked())
        self.settings.sync()
        self.my_digits.close()
        if not self.session.finish():
            QMessageBox.warning(
                self,
                APP_NAME,
                f"Could not autosave the weights to {self.data_home / AUTOSAVE_NAME}: "
                "the next start will use the last weights saved there (or the shipped ones).",
            )
        super().closeEvent(event)

    def _close_when_idle(self) -> None:
        self._waiting_to_close = False
        self.close()

    def shutdown(self, timeout_ms: int = CLOSE_WAIT_MS) -> bool:
        """Stop training after the step in progress (a teach after its step) and join the worker thread."""
        self.data.stop()
        return self.session.shutdown(timeout_ms)


def main_window_for_app(
    app: QApplication,
    data_dir: str | None = None,
    checkpoint: str | None = None,
    language: str | None = None,
) -> MainWindow:
    """The program's window, with the command line's options (lenet-trainer --help) applied."""
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("lenet-trainer")
    app.setDesktopFileName(APP_ID)  # Wayland: the window belongs to lenet-trainer.desktop, and gets its icon
    app.setWindowIcon(QIcon(str(ICON)))
    window = MainWindow(data_dir=data_dir)
    apply_options(window, checkpoint=checkpoint, language=language)
    return window


def apply_options(window: MainWindow, checkpoint: str | None = None, language: str | None = None) -> None:
    """--language for this run only (the Language menu's choice is kept), then --checkpoint opened as File > Open."""
    if language:
        window.set_language(language, remember=False)
    if checkpoint:
        window.load_checkpoint_file(checkpoint)
