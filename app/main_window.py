"""The trainer window: composes the canvas, prediction, training controls, plots and feature maps."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QByteArray, QLocale, QSettings, QStandardPaths, Qt, QThread, QTimer, QTranslator, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lenet_core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from lenet_core.datasets import DatasetNotFoundError, TensorData, find_mnist
from lenet_core.download import DOWNLOAD_SIZE_MB, MIRRORS, default_data_dir
from lenet_core.inference import DEFAULT_WEIGHTS, RESOURCES, classify
from lenet_core.model import LeNet, new_model, non_finite
from lenet_core.my_digits import DigitStore, DigitStoreError
from lenet_core.preprocess import normalize_batch, prepare, to_mnist
from lenet_core.teaching import REMEMBERED_DRAWINGS
from lenet_core.threads import one_malloc_arena, use_threads
from lenet_core.training import PRESETS, EpochEvent, StepEvent, TrainConfig

from .canvas import Canvas
from .desktop import APP_ID, ICON
from .download import DownloadDialog
from .feature_maps import FeatureMaps
from .gallery import EvaluationDialog, MyDigitsDialog
from .plots import TrainingPlots
from .prediction import PredictionPanel
from .training_panel import DEFAULT_SOURCE, TrainingPanel, action_button
from .tutorial_panel import TutorialPanel
from .worker import Progress, TrainingWorker, snapshot

log = logging.getLogger(__name__)

APP_NAME = "LeNet digit trainer"
FEATURE_INTERVAL_MS = 100  # feature maps refresh at most 10 times a second
STATUS_INTERVAL_MS = 250  # the epoch bar and the speed read-out: 4 times a second is readable, and cheap
AUTOSAVE_NAME = "autosave.pt"
BEFORE_TEACHING_NAME = "before-teaching.pt"  # the weights before the first Teach, for "Forget what was taught"
TEACH_SAMPLE = 640  # saved digits a teach draws its 64 a step from (each teach a new random choice)
CLOSE_WAIT_MS = 1000  # after this, close stops blocking: the window says what it waits for and closes when done
I18N = RESOURCES / "i18n"  # compiled translations (.qm), made by resources/i18n/make_ts.py


def default_data_home() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))


def default_cache_home() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation))


class MainWindow(QMainWindow):
    request_load_data = Signal(str)
    request_train = Signal()
    request_step = Signal()
    request_weights = Signal(object)
    request_forget = Signal()
    request_remember = Signal(object)
    request_config = Signal(object)
    request_teach = Signal(object, int, object, object)  # the drawing as the model reads it, label, strokes, others
    request_source = Signal(str, object)
    request_evaluate = Signal()

    def __init__(
        self,
        data_dir: str | os.PathLike | None = None,
        settings: QSettings | None = None,
        data_home: str | os.PathLike | None = None,
        pen_digits: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        # Before this thread's first torch op: the GUI predicts one drawing at a time on one core, and training
        # keeps its full OpenMP team fast (two teams of all the cores make GNU OpenMP sleep between ops).
        use_threads(1)
        one_malloc_arena()  # before the training thread starts: it would keep ~80 MB more in an arena of its own
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(QIcon(str(ICON)))
        # Deleted on close, by the event loop of the GUI thread: never later by Python's garbage collector, which may
        # run on the training thread and must not destroy widgets and timers there.
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.settings = settings if settings is not None else QSettings()
        self.problems: list[str] = []  # what was wrong at start-up: said in the status bar, never fatal
        self.data_home = Path(data_home) if data_home is not None else default_data_home()
        # Downloaded MNIST goes to the user's data folder, or below data_home when one is given (tests).
        self.mnist_home = self.data_home / "mnist" if data_home is not None else default_data_dir()
        # Rendered pen digits are kept between sessions; below data_home when one is given (tests).
        self.cache_home = self.data_home / "cache" if data_home is not None else default_cache_home()
        self.download_mirrors = list(MIRRORS)
        self.download_md5s: dict[str, str] | None = None  # None: the published sums
        self.download_dialog: DownloadDialog | None = None
        self.store = self._open_store()
        self.gallery: MyDigitsDialog | None = None  # the My digits gallery, while it is open
        self._remembered_sent = False  # the saved drawings' strokes went to the worker for re-drawing
        self.checkpoint_path: Path | None = None
        self.running = False
        self._closing = False  # close asked for: results still on their way are no longer shown
        self._waiting_to_close = False  # close waits (without blocking) for work that no stop flag cuts short
        self._evaluating = False  # an evaluation asked for and not answered yet
        self.net = LeNet().eval()  # the GUI's copy, fed with snapshots from the worker
        self._last_progress: tuple[float, int] | None = None
        self._pending_step: StepEvent | None = None  # the newest step, not yet in the epoch bar and status bar

        weights, config, self.weights_origin = self._initial_model()
        self.net.load_state_dict(weights)
        self._build_actions()
        self._build_widgets()
        self._build_menus()
        self._translator: QTranslator | None = None
        self.set_language(self._setting("ui/language", "", str))
        self.panel.set_config(config)
        self._data_description = self.panel.data_label.text()  # shown again if a folder fails to load

        self.thread = QThread(self)
        self.thread.setObjectName("training")
        self.worker = TrainingWorker(weights, config, pen_digits or "shipped", self.cache_home)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.thread.finished.connect(self.worker.deleteLater)
        self.request_load_data.connect(self.worker.load_data)
        self.request_train.connect(self.worker.train)
        self.request_step.connect(self.worker.step)
        self.request_weights.connect(self.worker.set_weights)
        self.request_forget.connect(self.worker.forget_taught)
        self.request_forget.connect(self._forget_remembered)
        self.request_remember.connect(self.worker.remember)
        self.request_config.connect(self.worker.configure)
        self.request_teach.connect(self.worker.teach)
        self.request_source.connect(self.worker.set_source)
        self.request_evaluate.connect(self.worker.evaluate)
        self.worker.evaluated.connect(self._show_evaluation)
        self.worker.taught.connect(self._taught)
        self.worker.data_loaded.connect(self._data_loaded)
        self.worker.data_failed.connect(self._data_failed)
        self.worker.progress.connect(self._progress)
        self.worker.epoch_finished.connect(self._epoch_finished)
        self.worker.weights_changed.connect(self._weights_changed)
        self.worker.state_changed.connect(self._state_changed)
        self.worker.stopped.connect(self._stopped)
        self.worker.failed.connect(self._failed)
        self.worker.building.connect(self._building)  # a method, not a lambda: queued to this thread
        self.worker.preparing.connect(self._preparing)
        self.thread.start()

        self._predict_timer = QTimer(self, singleShot=True, interval=0)
        self._predict_timer.timeout.connect(self.update_prediction)
        self._features_timer = QTimer(self, singleShot=True, interval=FEATURE_INTERVAL_MS)
        self._features_timer.timeout.connect(self._refresh_features)
        self._status_timer = QTimer(self, singleShot=True, interval=STATUS_INTERVAL_MS)
        self._status_timer.timeout.connect(self._show_step)
        self.canvas.drawingChanged.connect(self._drawing_changed)
        self.panel.config_changed.connect(self._config_changed)
        source_index = self.panel.source.findData(self._setting("training/source", DEFAULT_SOURCE, str))
        if source_index > 0:  # the worker starts with the default
            self.panel.source.setCurrentIndex(source_index)
            self._source_changed()
        self.panel.source.currentIndexChanged.connect(self._source_changed)
        self._update_my_digits_count()

        self._restore_window()
        self.statusBar().showMessage(f"Weights: {self.weights_origin}", 8000)
        self.feature_maps.show_filters(self.net.conv1.weight)
        self.update_prediction()
        folder = (
            str(data_dir) if data_dir else self._setting("data/folder", "", str) or os.environ.get("LENET_DATA_DIR", "")
        )
        if not folder and self._has_mnist(self.mnist_home):
            folder = str(self.mnist_home)  # downloaded in an earlier session
        if folder:
            self.load_data(folder)
        if self.problems:  # say what was wrong, but start all the same
            log.warning("start-up problems: %s", "; ".join(self.problems))
            self.statusBar().showMessage("Started with problems: " + "; ".join(self.problems), 20000)

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

    # -- model on start -----------------------------------------------------------------------------
    def _initial_model(self) -> tuple[dict[str, torch.Tensor], TrainConfig, str]:
        config, notes = self._setting(
            "training/config", (PRESETS["default"], []), lambda raw: TrainConfig.from_saved(json.loads(raw))
        )
        self.problems.extend(f"the saved setting training/config: {note}" for note in notes)
        autosave = self.data_home / AUTOSAVE_NAME
        for path, origin in ((autosave, "restored from the last session"), (DEFAULT_WEIGHTS, "shipped defaults")):
            if path.is_file():
                try:
                    return load_checkpoint(path).model, config, origin
                except CheckpointError as exc:
                    self.problems.append(f"the saved weights could not be used ({exc})")
        return new_model().state_dict(), config, "random (no saved weights found)"

    # -- construction -------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            keys = [QKeySequence(s) for s in shortcuts]
            action.setShortcuts([k for i, k in enumerate(keys) if not k.isEmpty() and k not in keys[:i]])
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({keys})" if keys and tip else tip or text)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.actions = {
            "open": self._action(
                "&Open checkpoint…",
                self.open_checkpoint,
                QKeySequence.StandardKey.Open,
                "Load weights from a checkpoint file",
            ),
            "save": self._action(
                "&Save checkpoint", self.save_checkpoint, QKeySequence.StandardKey.Save, "Save the weights and settings"
            ),
            "save_as": self._action(
                "Save checkpoint &as…",
                self.save_checkpoint_as,
                QKeySequence.StandardKey.SaveAs,
                "Save the weights and settings to a new file",
            ),
            # Ctrl+Q everywhere: Qt's standard Quit key is unbound on some Linux desktops.
            "quit": self._action("&Quit", self.close, [QKeySequence.StandardKey.Quit, "Ctrl+Q"], "Quit"),
            "clear": self._action("&Clear", lambda: self.canvas.clear(), ["Esc", "Delete"], "Clear the drawing"),
            "train": self._action("&Start", self.toggle_training, "Space", "Start or pause training"),
            "step": self._action(
                "S&tep", self.step_once, "Ctrl+T", "One SGD step: zero_grad, forward, loss, backward, step"
            ),
            "reset": self._action("&Reset weights", self.reset_weights, "Ctrl+R", "Start again from random weights"),
            "defaults": self._action(
                "Use &shipped weights",
                self.use_shipped_weights,
                None,
                "Go back to the weights shipped with the program",
            ),
            "data": self._action(
                "Use MNIST &folder…", self.choose_data_folder, None, "Choose the folder holding the MNIST IDX files"
            ),
            "download": self._action(
                f"&Download MNIST (~{DOWNLOAD_SIZE_MB} MB)",
                self.download_mnist,
                None,
                "Download the four MNIST files, checked against their published MD5",
            ),
            "about": self._action("&About", self.about, None, "About this program"),
            "gallery": self._action(
                "My digits &gallery…", self.show_gallery, "Ctrl+G", "See, relabel, delete, export or import My digits"
            ),
            "forget": self._action(
                "&Forget what was taught",
                self.forget_teaching,
                None,
                "Put back the weights as they were before the first Teach (training since then is undone too;"
                " your drawings stay in My digits)",
            ),
            "evaluate": self._action(
                "&Evaluate: where is it wrong?…",
                self.evaluate,
                "Ctrl+E",
                "Test the network on the MNIST test set: confusion matrix and every mistake",
            ),
        }
        self.actions["forget"].setEnabled((self.data_home / BEFORE_TEACHING_NAME).exists())
        self.actions["train"].setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    def _build_widgets(self) -> None:
        self.canvas = Canvas()
        self.undo_action = self.canvas.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setToolTip("Undo the last stroke or clear (Ctrl+Z)")
        self.redo_action = self.canvas.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)

        self.pen_width = QSlider(Qt.Orientation.Horizontal, minimum=4, maximum=40)
        self.pen_width.setValue(self._setting("canvas/pen_width", int(self.canvas.pen_width), lambda v: int(float(v))))
        self.pen_width.setToolTip("Pen width")
        self.pen_width.valueChanged.connect(self.canvas.set_pen_width)
        self.canvas.set_pen_width(self.pen_width.value())
        self.clear_button = action_button(self.actions["clear"], "clear_button")
        self.undo_button = action_button(self.undo_action, "undo_button")
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Pen"))
        tools.addWidget(self.pen_width, 1)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.clear_button)

        self.prediction = PredictionPanel()
        labels = QGridLayout()  # two rows of five keep the column narrow
        labels.setSpacing(2)
        caption = QLabel("Label it:")
        caption.setToolTip("Press a digit key (0-9) or click a button to save the drawing to My digits")
        labels.addWidget(caption, 0, 0)
        for digit in range(10):
            action = self._action(
                str(digit),
                lambda _=False, d=digit: self.label_drawing(d),
                str(digit),
                f"Save the drawing to My digits as a {digit} (and teach it, if Teach is ticked)",
            )
            button = action_button(action, f"label_{digit}")
            button.setMinimumWidth(28)
            labels.addWidget(button, digit // 5, 1 + digit % 5)
        self.teach_check = QCheckBox("Teach")
        self.teach_check.setObjectName("teach_check")
        self.teach_check.setChecked(
            self._setting(
                "my_digits/teach", True, lambda v: {True: True, False: False, "true": True, "false": False}[v]
            )
        )
        self.teach_check.setToolTip("Also learn a labelled drawing at once: a few SGD steps on it, mixed with MNIST")
        labels.addWidget(self.teach_check, 1, 0)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.canvas, 3)
        left_layout.addLayout(tools)
        left_layout.addWidget(self.prediction, 2)
        left_layout.addLayout(labels)

        self.plots = TrainingPlots()
        self.loss_plot = self.plots.loss_plot
        self.feature_maps = FeatureMaps()
        self.middle = QSplitter(Qt.Orientation.Vertical)
        self.middle.addWidget(self.plots)
        self.middle.addWidget(self.feature_maps)
        self.middle.setStretchFactor(0, 1)
        self.middle.setStretchFactor(1, 1)

        self.panel = TrainingPanel(self.actions)
        self.train_button, self.step_button = self.panel.train_button, self.panel.step_button

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (left, self.middle, self.panel):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 0)
        self.setCentralWidget(self.splitter)

        self.tutorial = TutorialPanel(self.net)
        self.tutorial.weights_changed.connect(self._tutorial_stepped)
        self.tutorial.forward_done.connect(self.update_prediction)
        self.tutorial_dock = QDockWidget("Tutorial", self)
        self.tutorial_dock.setObjectName("tutorial_dock")
        self.tutorial_dock.setWidget(self.tutorial)
        self.tutorial_dock.toggleViewAction().setText("&Tutorial: the training step line by line")
        self.tutorial_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+Shift+T"))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.tutorial_dock)
        self.tutorial_dock.hide()
        self.tutorial_dock.visibilityChanged.connect(
            lambda visible: visible and self.resizeDocks([self.tutorial_dock], [460], Qt.Orientation.Horizontal)
        )
        self._drawing_version = 0
        self._input_version, self._input = -1, None  # the prepared drawing, and the drawing version it is of
        self._newest_weights_here = False  # True after a change made here that the worker may not have taken yet
        self._tutorial_version = -1

        self.speed_label = QLabel("")
        self.statusBar().addPermanentWidget(self.speed_label)

    def _build_menus(self) -> None:
        a = self.actions
        menus = (
            ("&File", [a["open"], a["save"], a["save_as"], None, a["quit"]]),
            ("&Edit", [self.undo_action, self.redo_action, a["clear"]]),
            (
                "&Training",
                [a["train"], a["step"], a["reset"], a["defaults"], a["evaluate"], None, a["download"], a["data"]],
            ),
            ("&My digits", [a["gallery"], None, a["forget"]]),
            ("&View", [self.plots.log_scale_action(self), self.tutorial_dock.toggleViewAction()]),
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
        if self._input_version != self._drawing_version:  # while training, only the weights change: prepare once
            self._input, self._input_version = prepare(self.canvas.image()), self._drawing_version
        self._prediction = classify(self.net, self._input)
        self.prediction.display(self._prediction)
        if self._tutorial_version != self._drawing_version:  # a new drawing: the tutorial walk starts over
            self._tutorial_version = self._drawing_version
            self.tutorial.set_input(self._prediction.input, self._prediction.digit)
        if not self._features_timer.isActive():
            self._features_timer.start()

    def _drawing_changed(self) -> None:
        self._drawing_version += 1
        self._predict_timer.start()

    def _tutorial_stepped(self) -> None:
        """optimizer.step() in the tutorial changed the live model: the training worker takes the same weights."""
        self.request_weights.emit(snapshot(self.net))
        self._newest_weights_here = True
        self.update_prediction()

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

    def _refresh_features(self) -> None:
        self.feature_maps.show_activations(self._prediction.activations)
        self.feature_maps.show_filters(self.net.conv1.weight)

    def _weights_changed(self, weights: dict[str, torch.Tensor]) -> None:
        self._show_weights(weights, made_here=False)

    def _show_weights(self, weights: dict[str, torch.Tensor], made_here: bool) -> None:
        """Copy weights into the GUI's model and predict with them; made_here: not (yet) the worker's."""
        if bad := non_finite(weights):  # never into the live model, from any path
            log.error("refusing non-finite weights in %s", ", ".join(bad))
            return
        self.tutorial.weights_replaced()  # before the in-place copy: a walk half-way holds the old graph
        self.net.load_state_dict(weights)
        self._newest_weights_here = made_here
        self.update_prediction()

    # -- My digits ----------------------------------------------------------------------------------
    def _open_store(self) -> DigitStore | None:
        try:
            return DigitStore(self.data_home / "my_digits.sqlite")
        except (OSError, sqlite3.Error, DigitStoreError) as exc:
            self.problems.append(f"My digits cannot be kept in {self.data_home} ({exc})")
            return None

    def _my_digits(self) -> TensorData | None:
        """All of My digits, to train on."""
        if self.store is None:
            return None
        images, labels = self.store.arrays()
        return TensorData.from_arrays(images, labels, "my digits") if len(images) else None

    def _my_other_digits(self, new_id: int) -> TensorData | None:
        """Up to TEACH_SAMPLE of My digits besides the new one, for a teach: it costs the same with 10 or 10,000."""
        images, labels = self.store.random_arrays(TEACH_SAMPLE, seed=new_id, exclude=[new_id])
        return TensorData.from_arrays(images, labels, "my other digits") if len(images) else None

    def _update_my_digits_count(self) -> None:
        count = len(self.store) if self.store is not None else 0
        self.panel.my_digits_label.setText(f"My digits: {count} saved")

    def label_drawing(self, digit: int) -> None:
        """Save the drawing as `digit` in My digits, and teach it to the network if asked."""
        image = self.canvas.image()
        digit_image = to_mnist(image)
        if digit_image is None:
            self.statusBar().showMessage("Draw a digit first, then press its key (0-9) to label it", 5000)
            return
        if self.store is None:
            self._failed("My digits cannot be saved (see the status bar).")
            return
        try:
            strokes = self.canvas.strokes()
            new_id = self.store.add(digit_image, digit, drawing=image, strokes=strokes)
        except (sqlite3.Error, ValueError) as exc:
            self._failed(f"Could not save the drawing: {exc}")
            return
        self._update_my_digits_count()
        if "mine" in self.panel.source.currentData().split("+"):
            self._source_changed()
        if self.teach_check.isChecked():
            if self.running:
                self.statusBar().showMessage(f"Saved as a {digit}; pause training to teach it at once", 5000)
                self._update_my_digits_count()
                return
            problem = self._keep_weights_before_teaching()
            if not self._remembered_sent:  # the first teach of the session (or since a Forget): saved drawings too
                self._remembered_sent = True
                self.request_remember.emit(self.store.recent_strokes(REMEMBERED_DRAWINGS, exclude=[new_id]))
            self.request_teach.emit(prepare(image), digit, strokes, self._my_other_digits(new_id))
            self.statusBar().showMessage(f"Saved as a {digit}; teaching…" + (f" ({problem})" if problem else ""), 10000)
        else:
            self.statusBar().showMessage(f"Saved as a {digit} in My digits", 5000)

    def _keep_weights_before_teaching(self) -> str:
        """Before the first Teach: keep the weights as they are, so that Forget can put them back. Returns what went
        wrong, or ""."""
        path = self.data_home / BEFORE_TEACHING_NAME
        problem = ""
        if not path.exists():
            try:
                save_checkpoint(path, self._checkpoint())
            except (OSError, CheckpointError) as exc:
                log.warning("could not keep the weights before teaching: %s", exc)
                problem = f"the weights before teaching could not be kept ({exc}): Forget is off"
        self.actions["forget"].setEnabled(path.exists())
        return problem

    def forget_teaching(self) -> None:
        """Put back the weights from before the first Teach (My digits keeps the drawings)."""
        path = self.data_home / BEFORE_TEACHING_NAME
        if not path.exists():
            self.statusBar().showMessage("Nothing to forget: nothing was taught to these weights", 5000)
            return
        try:
            weights = load_checkpoint(path).model
        except CheckpointError as exc:
            self._failed(str(exc))
            return
        self._replace_weights(weights, "Forgot what was taught: the weights are as they were before the first Teach")

    def read_digits(self, images: np.ndarray) -> np.ndarray:
        """How the network reads 28x28 uint8 digits now: N x 10 probabilities."""
        with torch.inference_mode():
            self.net.eval()
            chunks = [self.net(normalize_batch(images[i : i + 1024])) for i in range(0, len(images), 1024)]
            return torch.softmax(torch.cat(chunks), 1).numpy() if chunks else np.zeros((0, 10), np.float32)

    def show_gallery(self) -> MyDigitsDialog | None:
        if self.store is None:
            self._failed("My digits is not available (see the status bar).")
            return None
        if self.gallery is not None:
            self.gallery.raise_()
            self.gallery.activateWindow()
            return self.gallery
        dialog = MyDigitsDialog(self.store, self, read=self.read_digits)
        dialog.changed.connect(self._my_digits_changed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._gallery_closed)
        self.gallery = dialog
        dialog.show()
        return dialog

    def _forget_remembered(self) -> None:
        self._remembered_sent = False  # the next teach sends the saved drawings again, with their labels as they are

    def _gallery_closed(self) -> None:
        self.gallery = None

    def _refresh_gallery_readings(self) -> None:
        if self.gallery is not None and not self._closing:  # closing: My digits may be closed already
            self.gallery.update_readings()

    def _my_digits_changed(self) -> None:
        """Relabelled, deleted or imported in the gallery: re-drawings kept with an old label must not come along."""
        self.request_forget.emit()
        self._update_my_digits_count()
        if "mine" in self.panel.source.currentData().split("+"):
            self._source_changed()

    def evaluate(self) -> None:
        if self.running:
            self.statusBar().showMessage("Pause training to evaluate", 5000)
            return
        if self._evaluating:  # one at a time: each press queued a whole evaluation, and a dialog of its own
            self.statusBar().showMessage("Evaluating on the test set… (already asked)")
            return
        self._evaluating = True
        self.statusBar().showMessage("Evaluating on the test set…")
        self.request_evaluate.emit()

    def _show_evaluation(self, images, labels, predicted) -> None:
        self._evaluating = False
        if self._closing:  # a dialog shown now would outlive the quit (and keep the program running)
            return
        self.statusBar().clearMessage()
        self.evaluation = EvaluationDialog(images, labels, predicted, self)
        self.evaluation.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.evaluation.show()

    def _taught(self, digit: int, steps: int, learnt: bool, confidence: float) -> None:
        if self._closing:  # a teach that ended as the window closed: nothing left to tell
            return
        sure = f"{100 * confidence:.0f} %" if confidence < 0.995 else "over 99 %"
        if learnt:
            self.statusBar().showMessage(
                f"Learnt: your drawing now reads as a {digit}, {sure} sure ({steps} SGD steps)", 8000
            )
        else:
            self.statusBar().showMessage(
                f"After {steps} SGD steps your drawing is still not read as a {digit} ({sure} for {digit}): "
                "label a few more examples, or train on MNIST + My digits",
                10000,
            )
        self._refresh_gallery_readings()

    def _source_changed(self) -> None:
        source = self.panel.source.currentData()
        self.settings.setValue("training/source", source)
        self.request_source.emit(source, self._my_digits() if "mine" in source.split("+") else None)

    # -- training -----------------------------------------------------------------------------------
    def load_data(self, folder: str) -> None:
        self.panel.data_label.setText(f"Loading MNIST from {folder}…")
        self.request_load_data.emit(folder)

    def _data_failed(self, message: str) -> None:
        self.panel.data_label.setText(self._data_description)
        self._failed(message)

    def _data_loaded(self, description: str, folder: str) -> None:
        self._data_description = description
        self.panel.data_label.setText(description)
        self.settings.setValue("data/folder", folder)
        self.statusBar().showMessage("MNIST loaded: ready to train", 5000)

    @staticmethod
    def _has_mnist(folder: Path) -> bool:
        try:
            files = find_mnist(folder)
        except (DatasetNotFoundError, OSError):
            return False
        return files.train is not None and files.test is not None

    def download_mnist(self) -> None:
        if self.download_dialog is not None:
            return
        self.download_dialog = DownloadDialog(self.mnist_home, self.download_mirrors, self.download_md5s, self)
        self.download_dialog.succeeded.connect(self._downloaded)
        self.download_dialog.failed.connect(self._download_failed)
        self.download_dialog.ended.connect(self._download_closed)
        self.download_dialog.start()

    def _downloaded(self, folder: str) -> None:
        self.statusBar().showMessage(f"MNIST downloaded to {folder}", 5000)
        self.load_data(folder)

    def _download_failed(self, message: str) -> None:
        self._failed(f"Download failed.\n\n{message}")

    def _download_closed(self) -> None:
        self.download_dialog = None

    def choose_data_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with the MNIST IDX files")
        if not folder and self._has_mnist(self.mnist_home):
            folder = str(self.mnist_home)  # downloaded in an earlier session
        if folder:
            self.load_data(folder)

    def _preparing(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)

    def _building(self) -> None:
        self.statusBar().showMessage("Preparing the training engine…", 3000)

    def toggle_training(self) -> None:
        if self.running:
            self.worker.pause()
            self.actions["train"].setEnabled(False)  # until the worker says it has stopped
        else:
            self._set_running(True)
            self.request_train.emit()

    def step_once(self) -> None:
        if not self.running:
            self.request_step.emit()

    def reset_weights(self) -> None:
        self._replace_weights(new_model().state_dict(), "Weights reset to random values")
        self.plots.clear()

    def use_shipped_weights(self) -> None:
        try:
            self._replace_weights(load_checkpoint(DEFAULT_WEIGHTS).model, "Shipped weights loaded")
        except CheckpointError as exc:
            self._failed(str(exc))

    def _replace_weights(self, weights: dict[str, torch.Tensor], message: str) -> None:
        if bad := non_finite(weights):
            self._failed(f"The weights hold NaN or infinite values in {', '.join(bad)}; the current ones are kept.")
            return
        if self.running:
            self.worker.pause()  # the new weights are taken once the step in progress is done
        self.request_weights.emit(weights)
        self._show_weights(weights, made_here=True)
        self.statusBar().showMessage(message, 5000)
        # Other weights (reset, shipped, a checkpoint, or those from before teaching): what was kept from before the
        # first teach is no longer what these weights were before teaching.
        try:
            (self.data_home / BEFORE_TEACHING_NAME).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the weights kept from before teaching: %s", exc)
        self.actions["forget"].setEnabled(False)
        self.request_forget.emit()
        self._refresh_gallery_readings()

    def _config_changed(self, config: TrainConfig) -> None:
        self.settings.setValue("training/config", json.dumps(config.to_dict()))
        self.request_config.emit(config)

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.actions["train"].setText("&Pause" if running else "&Start")
        self.actions["train"].setEnabled(True)
        self.actions["step"].setEnabled(not running)
        for name in ("data", "download"):  # a new training set is taken only between runs
            self.actions[name].setEnabled(not running)
        self.panel.set_running(running)
        self.tutorial.setEnabled(not running)  # one model: the tutorial waits while training runs
        if not running:
            self._show_step()  # the last steps of the run
            self._last_progress = None

    def _state_changed(self, state: str) -> None:
        self._set_running(state == "running")

    def _progress(self, progress: Progress) -> None:
        self.plots.add_losses(progress.steps, progress.losses)
        if progress.last is None:
            return
        self._pending_step = progress.last
        if not self.running:  # one Step: show it at once
            self._show_step()
        elif not self._status_timer.isActive():
            self._status_timer.start()

    def _show_step(self) -> None:
        event, self._pending_step = self._pending_step, None
        if event is None:
            return
        self.panel.progress.setRange(0, max(event.batches_per_epoch, 1))
        self.panel.progress.setValue(event.batch)
        self.panel.progress.setFormat(f"epoch {event.epoch + 1}: %v / %m batches")
        now = time.monotonic()
        if self._last_progress is not None and now > self._last_progress[0]:
            steps_per_s = (event.step - self._last_progress[1]) / (now - self._last_progress[0])
            self.speed_label.setText(
                f"step {event.step:,}  ·  loss {event.loss:.4f}  ·  {steps_per_s:,.0f} steps/s  ·  "
                f"{event.samples_per_second:,.0f} samples/s"
            )
        else:
            self.speed_label.setText(f"step {event.step:,}  ·  loss {event.loss:.4f}")
        self._last_progress = (now, event.step)
        # The read-out grows but never shrinks: it does not jiggle as its numbers change width, and the status bar
        # and the window are not laid out again at every read-out (they were, about 3 times a second).
        width = self.speed_label.sizeHint().width()
        if width > self.speed_label.minimumWidth():
            self.speed_label.setMinimumWidth(width)

    def _epoch_finished(self, event: EpochEvent) -> None:
        if event.test_accuracy is not None:
            self.plots.add_accuracy(event.epoch, event.test_accuracy)
            self.statusBar().showMessage(
                f"Epoch {event.epoch}: test accuracy {100 * event.test_accuracy:.2f} %, "
                f"test loss {event.test_loss:.4f} ({event.elapsed_s:.1f} s)",
                10000,
            )

    def _stopped(self, reason: str, message: str) -> None:
        if self._closing:
            return
        if reason == "diverged":
            QMessageBox.warning(self, "Training diverged", f"Training stopped: {message}.")
        elif reason == "finished":
            self.statusBar().showMessage(f"Training finished: {message}", 10000)
            self.autosave()
        elif reason == "stopped":
            self.statusBar().showMessage("Training paused", 5000)

    def _failed(self, message: str) -> None:
        self._evaluating = False  # an evaluation that failed is over too
        if self._closing:
            log.warning("while closing: %s", message)
            return
        self.statusBar().showMessage(message, 10000)
        QMessageBox.warning(self, APP_NAME, message)

    # -- files --------------------------------------------------------------------------------------
    def _checkpoint(self) -> Checkpoint:
        return Checkpoint(model=snapshot(self.net), config=self.panel.config(), metadata={"saved_by": APP_NAME})

    def open_checkpoint(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "", "Checkpoints (*.pt *.pth);;All files (*)")
        if name:
            self.load_checkpoint_file(name)

    def load_checkpoint_file(self, name: str | os.PathLike) -> bool:
        try:
            checkpoint = load_checkpoint(name)
        except CheckpointError as exc:
            self._failed(f"Could not open the checkpoint. The current model is kept.\n\n{exc}")
            return False
        self.checkpoint_path = Path(name)
        self._replace_weights(checkpoint.model, f"Loaded {Path(name).name}")
        if checkpoint.config is not None:
            self.panel.set_config(checkpoint.config)
            self._config_changed(checkpoint.config)
        if checkpoint.notes:  # e.g. a batch size above what the window offers, clamped: say so
            self._failed(
                f"Loaded {Path(name).name}, with changes:\n\n" + "\n".join(f"• {note}" for note in checkpoint.notes)
            )
        return True

    def save_checkpoint(self) -> None:
        if self.checkpoint_path is None:
            self.save_checkpoint_as()
        else:
            self.save_checkpoint_file(self.checkpoint_path)

    def save_checkpoint_as(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", "lenet.pt", "Checkpoints (*.pt)")
        if name:
            self.save_checkpoint_file(name)

    def save_checkpoint_file(self, name: str | os.PathLike) -> bool:
        try:
            save_checkpoint(name, self._checkpoint())
        except (OSError, CheckpointError) as exc:
            self._failed(f"Could not save {name}: {exc}")
            return False
        self.checkpoint_path = Path(name)
        self.statusBar().showMessage(f"Saved {name}", 5000)
        return True

    def autosave(self) -> bool:
        try:
            save_checkpoint(self.data_home / AUTOSAVE_NAME, self._checkpoint())
        except (OSError, CheckpointError) as exc:
            log.warning("autosave failed: %s", exc)
            self.statusBar().showMessage(f"Could not autosave the weights: {exc}", 10000)
            return False
        return True

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
            self._closing = True
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
        if not self._newest_weights_here:
            # The worker's last snapshot may still be queued for this window: take its weights now (it has stopped).
            self.net.load_state_dict(self.worker.weights())
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("canvas/pen_width", self.pen_width.value())
        self.settings.setValue("my_digits/teach", self.teach_check.isChecked())
        if self.store is not None:
            self.store.close()
        self.settings.sync()
        if not self.autosave():
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
        if self.download_dialog is not None:
            self.download_dialog.stop()
        if not self.thread.isRunning():
            return True
        self.worker.close()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("the training thread is busy with %s; closing when it is done", self.worker.activity or "?")
            return False
        return True


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
