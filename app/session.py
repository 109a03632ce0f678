"""The session: what the window shows and acts on, without widgets.

The GUI's copy of the weights (`net`), the training worker on its thread and the requests queued to it, the data
folders, checkpoints and autosave. The window shows what the session and its worker report and asks the session to
act; what it tells the user comes back as `status` (the status bar) and `failed` (a message box). My digits and
teaching (app/my_digits.py) send their own requests to the same worker.

Pressing Start: `MainWindow.toggle_training` → `Session.train` → the worker's `train` slot on the training thread
(app/worker.py) → `lenet_core.training.Trainer.run`, whose events come back as the worker's signals.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from PySide6.QtCore import QObject, QStandardPaths, Qt, QThread, QTimer, Signal

from lenet_core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from lenet_core.datasets import DatasetNotFoundError, TensorData, find_mnist
from lenet_core.download import default_data_dir
from lenet_core.inference import DEFAULT_WEIGHTS
from lenet_core.model import LeNet, new_model, non_finite
from lenet_core.runs import Run, RunLog
from lenet_core.threads import one_malloc_arena, use_threads
from lenet_core.training import EpochEvent, TrainConfig

from .worker import Progress, TrainingWorker, snapshot

log = logging.getLogger(__name__)

APP_NAME = "LeNet digit trainer"
AUTOSAVE_NAME = "autosave.pt"
# The worker imports what the first optimizer needs (~1.5 s of Python that holds the GIL in turns with the GUI
# thread) once nobody has drawn for this long: not under a stroke, and before the first Start, teach or tutorial step.
WARM_UP_IDLE_MS = 1500


def default_data_home() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))


def default_cache_home() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation))


def has_mnist(folder: Path) -> bool:
    """Whether folder holds MNIST's training and test files."""
    try:
        files = find_mnist(folder)
    except (DatasetNotFoundError, OSError):
        return False
    return files.train is not None and files.test is not None


class Session(QObject):
    """The weights the window shows, the training worker, training, data, checkpoints (see the module's doc)."""

    # To the worker, queued to its thread.
    request_load_data = Signal(str)
    request_train = Signal()
    request_step = Signal()
    request_weights = Signal(object)
    request_config = Signal(object)
    request_source = Signal(str, object)
    request_evaluate = Signal()
    request_warm_up = Signal()
    # To the window.
    status = Signal(str, int)  # a message for the status bar, and for how many ms (0: until the next one)
    failed = Signal(str)  # what the user must be told and acknowledge
    diverged = Signal(str)  # a run stopped because its loss became NaN or infinite: why, and what was restored
    running_changed = Signal(bool)
    weights_replacing = Signal()  # net is about to be overwritten in place (a tutorial walk holds its graph)
    weights_shown = Signal()  # net holds other weights now: predict again
    weights_replaced = Signal()  # other weights by the user's choice (not training's): what was taught is gone
    runs_changed = Signal()  # runs came from a file, or were cleared

    def __init__(
        self,
        config: TrainConfig,
        data_home: str | os.PathLike | None = None,
        pen_digits: str | os.PathLike | None = None,
        problems: list[str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        # Before this thread's first torch op: the GUI predicts one drawing at a time on one core, and training
        # keeps its full OpenMP team fast (two teams of all the cores make GNU OpenMP sleep between ops).
        use_threads(1)
        one_malloc_arena()  # before the training thread starts: it would keep ~80 MB more in an arena of its own
        self.problems = problems if problems is not None else []  # what was wrong at start-up: said, never fatal
        self.data_home = Path(data_home) if data_home is not None else default_data_home()
        # Downloaded MNIST goes to the user's data folder, or below data_home when one is given (tests).
        self.mnist_home = self.data_home / "mnist" if data_home is not None else default_data_dir()
        # Rendered pen digits are kept between sessions; below data_home when one is given (tests).
        self.cache_home = self.data_home / "cache" if data_home is not None else default_cache_home()
        self.config = config  # the hyper-parameters in use, saved with the weights
        self.closing = False  # the window is closing: a finished or stopped run is no longer reported or autosaved
        self.checkpoint_path: Path | None = None
        self.running = False
        self.evaluating = False  # an evaluation asked for and not answered yet
        self.net = LeNet().eval()  # the GUI's copy, fed with snapshots from the worker
        self.runs = RunLog()  # every run of the session (and of the last one, from the autosave)
        self.live_run: Run | None = None  # the run this session's training adds to (never one from a file)
        weights, self.weights_origin = self._initial_weights()
        self.net.load_state_dict(weights)
        self.newest_weights_here = False  # True after a change made here that the worker may not have taken yet

        self.thread = QThread(self)
        self.thread.setObjectName("training")
        self.worker = TrainingWorker(weights, config, pen_digits or "shipped", self.cache_home)
        self.worker.moveToThread(self.thread)
        self.source = self.worker.source  # what training runs on, until set_source
        self.thread.started.connect(self.worker.start)
        self.thread.finished.connect(self.worker.deleteLater)
        self.request_load_data.connect(self.worker.load_data)
        self.request_train.connect(self.worker.train)
        self.request_step.connect(self.worker.step)
        self.request_weights.connect(self.worker.set_weights)
        self.request_config.connect(self.worker.configure)
        self.request_source.connect(self.worker.set_source)
        self.request_evaluate.connect(self.worker.evaluate)
        self.request_warm_up.connect(self.worker.warm_up)
        # Once the window has been idle a while (nobody drawing), the worker does what the first optimizer imports.
        self._warm_up_timer = QTimer(self, singleShot=True, interval=WARM_UP_IDLE_MS)
        self._warm_up_timer.setTimerType(Qt.TimerType.PreciseTimer)  # restarted at every move: counts from the last
        self._warm_up_timer.timeout.connect(self.request_warm_up)
        self._warm_up_timer.start()
        # Methods, not lambdas: a lambda connected to the worker's signal runs on the worker's thread.
        self.worker.weights_changed.connect(self._weights_changed)
        self.worker.state_changed.connect(self._state_changed)
        self.worker.evaluated.connect(self._evaluation_over)
        self.worker.failed.connect(self._failed)
        self.worker.progress.connect(self._record)  # before the window's slots: they show what was recorded
        self.worker.stopped.connect(self._stopped)
        self.worker.epoch_finished.connect(self._epoch_finished)
        self.worker.data_loaded.connect(self._data_loaded)
        self.worker.building.connect(self._building)
        self.worker.preparing.connect(self._preparing)
        self.thread.start()

    def postpone_warm_up(self) -> None:
        """Someone is drawing: the warm-up waits until they have paused (once done, nothing to wait for)."""
        if self._warm_up_timer.isActive():
            self._warm_up_timer.start()

    def _initial_weights(self) -> tuple[dict[str, torch.Tensor], str]:
        """The last session's weights, else the shipped ones, else random ones; and which they are."""
        autosave = self.data_home / AUTOSAVE_NAME
        for path, origin in ((autosave, "restored from the last session"), (DEFAULT_WEIGHTS, "shipped defaults")):
            if path.is_file():
                try:
                    checkpoint = load_checkpoint(path)
                except CheckpointError as exc:
                    self.problems.append(f"the saved weights could not be used ({exc})")
                    continue
                self._take_runs(checkpoint.metadata, path)
                return checkpoint.model, origin
        return new_model().state_dict(), "random (no saved weights found)"

    def _take_runs(self, metadata: dict, path: Path) -> None:
        """The runs a checkpoint holds, after those kept; what could not be read is said."""
        runs, notes = RunLog.from_saved(metadata.get("runs"))
        self.runs.merge(runs)
        self.problems.extend(f"{Path(path).name}: {note}" for note in notes)

    def _failed(self, message: str) -> None:
        self.evaluating = False  # an evaluation that failed is over too
        self.failed.emit(message)

    # -- training -----------------------------------------------------------------------------------
    def train(self) -> None:
        """Start a run (the window shows it running at once; the worker says when it has stopped)."""
        self._set_running(True)
        self.request_train.emit()

    def pause(self) -> None:
        """Stop the run after the step in progress (thread-safe)."""
        self.worker.pause()

    def step(self) -> None:
        if not self.running:
            self.request_step.emit()

    def set_config(self, config: TrainConfig) -> None:
        self.config = config
        self.request_config.emit(config)

    def set_source(self, source: str, my_digits: TensorData | None = None) -> None:
        """Train on source's parts ("mnist", "pen", "mine" joined by "+"); my_digits: My digits as saved now."""
        self.source = source
        self.request_source.emit(source, my_digits if "mine" in source.split("+") else None)

    def load_data(self, folder: str) -> None:
        self.request_load_data.emit(folder)

    def evaluate(self) -> bool:
        """Predict the whole test set (the worker answers with evaluated); False if one is on its way already."""
        if self.evaluating:
            return False
        self.evaluating = True
        self.request_evaluate.emit()
        return True

    def _evaluation_over(self, *_) -> None:
        self.evaluating = False

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.running_changed.emit(running)

    def _state_changed(self, state: str) -> None:
        self._set_running(state == "running")

    # What the worker reports, as the window's status bar and message boxes say it.
    def _stopped(self, reason: str, message: str) -> None:
        if self.closing:
            return
        if reason == "diverged":
            self.diverged.emit(message)
        elif reason == "finished":
            self.status.emit(f"Training finished: {message}", 10000)
            self.autosave()
        elif reason == "stopped":
            self.status.emit("Training paused", 5000)

    def _record(self, progress: Progress) -> None:
        """Steps into the run they belong to: a fresh engine's first step begins a run, with the settings in use."""
        if not progress.steps:
            return
        run = self.live_run
        if run is None or progress.steps[0] == 1 or (run.steps and progress.steps[0] <= run.steps[-1]):
            run = self.live_run = self.runs.start(self.config, self.source)
        run.add_steps(progress.steps, progress.samples, progress.seconds, progress.losses)

    def clear_runs(self) -> None:
        self.runs.clear()
        self.live_run = None
        self.runs_changed.emit()

    def _epoch_finished(self, event: EpochEvent) -> None:
        if self.live_run is not None:
            self.live_run.add_epoch(event)
        if event.test_accuracy is not None:
            self.status.emit(
                f"Epoch {event.epoch}: test accuracy {100 * event.test_accuracy:.2f} %, "
                f"test loss {event.test_loss:.4f} ({event.elapsed_s:.1f} s)",
                10000,
            )

    def _data_loaded(self, description: str, folder: str) -> None:
        self.status.emit("MNIST loaded: ready to train", 5000)

    def _building(self) -> None:
        self.status.emit("Preparing the training engine…", 3000)

    def _preparing(self, message: str) -> None:
        self.status.emit(message, 10000)

    # -- weights ------------------------------------------------------------------------------------
    def replace_weights(self, weights: dict[str, torch.Tensor], message: str) -> bool:
        """Other weights (reset, shipped, a checkpoint, those from before teaching) for the worker and the window.
        False, and the current ones kept, if they hold non-finite values."""
        if bad := non_finite(weights):
            self._failed(f"The weights hold NaN or infinite values in {', '.join(bad)}; the current ones are kept.")
            return False
        if self.running:
            self.pause()  # the new weights are taken once the step in progress is done
        self.request_weights.emit(weights)
        self._show_weights(weights, made_here=True)
        self.status.emit(message, 5000)
        self.weights_replaced.emit()
        return True

    def weights_edited_here(self) -> None:
        """net was changed in place here (the tutorial's optimizer.step()): the worker takes the same weights."""
        self.request_weights.emit(snapshot(self.net))
        self.newest_weights_here = True
        self.weights_shown.emit()

    def _weights_changed(self, weights: dict[str, torch.Tensor]) -> None:
        self._show_weights(weights, made_here=False)

    def _show_weights(self, weights: dict[str, torch.Tensor], made_here: bool) -> None:
        """Copy weights into the GUI's model; made_here: not (yet) the worker's."""
        if bad := non_finite(weights):  # never into the live model, from any path
            log.error("refusing non-finite weights in %s", ", ".join(bad))
            return
        self.weights_replacing.emit()
        self.net.load_state_dict(weights)
        self.newest_weights_here = made_here
        self.weights_shown.emit()

    # -- files --------------------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        """The weights shown and the config in use."""
        return Checkpoint(
            model=snapshot(self.net), config=self.config, metadata={"saved_by": APP_NAME, "runs": self.runs.to_saved()}
        )

    def load_checkpoint(self, name: str | os.PathLike) -> Checkpoint | None:
        """Open a checkpoint and take its weights; None (said, the current model kept) if it cannot be used."""
        try:
            checkpoint = load_checkpoint(name)
        except CheckpointError as exc:
            self._failed(f"Could not open the checkpoint. The current model is kept.\n\n{exc}")
            return None
        if not self.replace_weights(checkpoint.model, f"Loaded {Path(name).name}"):
            return None
        self.checkpoint_path = Path(name)
        runs, notes = RunLog.from_saved(checkpoint.metadata.get("runs"))
        checkpoint.notes.extend(notes)
        if self.runs.merge(runs):
            self.runs_changed.emit()
        return checkpoint

    def save_checkpoint(self, name: str | os.PathLike) -> bool:
        try:
            save_checkpoint(name, self.checkpoint())
        except (OSError, CheckpointError) as exc:
            self._failed(f"Could not save {name}: {exc}")
            return False
        self.checkpoint_path = Path(name)
        self.status.emit(f"Saved {name}", 5000)
        return True

    def autosave(self) -> bool:
        try:
            save_checkpoint(self.data_home / AUTOSAVE_NAME, self.checkpoint())
        except (OSError, CheckpointError) as exc:
            log.warning("autosave failed: %s", exc)
            self.status.emit(f"Could not autosave the weights: {exc}", 10000)
            return False
        return True

    def shutdown(self, timeout_ms: int) -> bool:
        """Stop training after the step in progress (a teach after its step) and join the worker thread; False if
        it is still busy after timeout_ms with work no stop flag cuts short (the thread's finished comes later)."""
        self.closing = True
        if not self.thread.isRunning():
            return True
        self.worker.close()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("the training thread is busy with %s; closing when it is done", self.worker.activity or "?")
            return False
        return True

    def finish(self) -> bool:
        """After shutdown: the newest weights autosaved. False if the autosave failed."""
        if not self.newest_weights_here:
            # The worker's last snapshot may still be queued for the window: take its weights now (it has stopped).
            self.net.load_state_dict(self.worker.weights())
        return self.autosave()
