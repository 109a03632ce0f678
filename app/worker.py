"""The training engine on a worker thread. It talks to the GUI through signals only and never touches a widget.

The GUI calls the slots through queued signals (they run on the worker thread) and `pause()` directly: it only
sets the engine's thread-safe stop flag, which the run loop checks between steps.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from PySide6.QtCore import QObject, Signal, Slot

from lenet_core.datasets import Mnist, TensorData, load_mnist
from lenet_core.health import LayerHealth
from lenet_core.model import new_model, non_finite
from lenet_core.pen_digits import WINDOW_PEN_VARIANTS, RenderingStopped, mix
from lenet_core.pen_digits import training_set as pen_training_set
from lenet_core.teaching import Remembered, teach_drawing
from lenet_core.threads import CORES, lower_priority, use_threads
from lenet_core.training import (
    EpochEvent,
    EvaluationStopped,
    StepEvent,
    StoppedEvent,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    evaluate,
    prepare_optimizers,
)

log = logging.getLogger(__name__)

# What the GUI does with these costs training time (see app/plots.redraw_interval_ms and app/pace.py): the loss plot
# redraws at up to 10 Hz, and each weight snapshot means a prediction, the probability bars and the feature maps
# redrawn.
PROGRESS_INTERVAL_S = 1 / 10  # hand step results to the GUI at most this often, in batches
WEIGHTS_INTERVAL_S = 1 / 5  # and a snapshot of the weights at most this often
HEALTH_INTERVAL_S = 1 / 4  # layer health measured on one step this often (< 0.5 % of training: bench/layer_health.py)


@dataclass
class Progress:
    """Steps done since the last report: their numbers and losses, the layer health measured on some of them, and
    the newest step's event."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    last: StepEvent | None = None
    health: list[LayerHealth] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)  # samples seen after each step
    seconds: list[float] = field(default_factory=list)  # training seconds after each step

    def add(self, event: StepEvent) -> None:
        self.steps.append(event.step)
        self.losses.append(event.loss)
        self.samples.append(event.samples_seen)
        self.seconds.append(event.train_s)
        self.last = event
        if event.health is not None:
            self.health.append(event.health)


def snapshot(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the weights that the GUI may read while training goes on."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in net.state_dict().items()}


class WindowClosing(Exception):
    """The window closed while a slot was under way: it ends without a word (nobody waits for its answer)."""


def reported(doing: str) -> Callable:
    """A slot that says what it is doing (for a window waiting to close) and turns any error into `failed`.

    An exception escaping a slot would only be printed, and the window would wait for an answer for ever
    ("Evaluating…"); a bug or a value nobody foresaw becomes a message instead.
    """

    def wrap(slot: Callable) -> Callable:
        @functools.wraps(slot)
        def run(self: TrainingWorker, *args) -> None:
            if self.closing.is_set():  # queued before the window closed: nobody waits for it any more
                return
            self.activity = doing
            try:
                slot(self, *args)
            except WindowClosing:
                pass
            except Exception as exc:
                log.exception("%s failed", doing)
                self.failed.emit(f"{doing[0].upper()}{doing[1:]} failed: {exc}")
            finally:
                self.activity = ""

        return run

    return wrap


class TrainingWorker(QObject):
    data_loaded = Signal(str, str)  # a one-line description of the data, the folder it came from
    data_failed = Signal(str)  # why a folder could not be loaded (the data loaded before is kept)
    progress = Signal(object)  # Progress
    epoch_finished = Signal(object)  # EpochEvent
    weights_changed = Signal(object)  # dict[str, Tensor], a snapshot
    state_changed = Signal(str)  # "running" or "idle"
    stopped = Signal(str, str)  # reason ("finished", "stopped", "diverged"), message
    failed = Signal(str)  # an error message for the user
    evaluated = Signal(object, object, object)  # test images (N x 28 x 28 uint8), labels, predictions
    # The digit taught, the SGD steps taken, whether the drawing is now read right, and the label's probability now.
    taught = Signal(int, int, bool, float)
    building = Signal()  # the Trainer is being built (the first time, imports take about a second)
    preparing = Signal(str)  # data is being prepared (the pen digits rendered): what to say meanwhile

    def __init__(
        self,
        weights: dict[str, torch.Tensor],
        config: TrainConfig,
        pen_file: str | os.PathLike = "shipped",
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.data: Mnist | None = None
        self.my_digits: TensorData | None = None
        self.pen_file, self.cache_dir = pen_file, cache_dir
        self.pen: TensorData | None = None  # the pen digits as training data, rendered when first needed
        self._teach_count = 0  # seeds each teach's re-drawings
        self.remembered = Remembered()  # re-drawings of this session's taught drawings, for the later teaches
        self.source = "mnist+pen"  # what training runs on: parts joined by "+": "mnist", "pen", "mine"
        self._weights = weights  # the weights while there is no Trainer
        # Built when first needed, on this thread: the first optimizer imports torch._dynamo, ~1 s of Python that
        # holds the GIL and made drawing stutter (p95 ~20 ms a move) for the first seconds after start.
        self.trainer: Trainer | None = None
        # A pause asked for outlives a Trainer replaced meanwhile (new data, config or weights) until a run uses it.
        self._pause_requested = threading.Event()
        self.activity = ""  # what a slot is doing now, e.g. "the evaluation", for a window waiting to close
        self.closing = threading.Event()  # set by close(): long work stops between chunks, queued slots are skipped

    @Slot()
    def start(self) -> None:
        """Connected to QThread.started."""
        lower_priority()  # before the OpenMP team starts: drawing stays quick while both cores train
        use_threads(CORES)  # all the cores for training; the GUI thread keeps to one (lenet_core.threads)

    @Slot()
    @reported("getting the training engine ready")
    def warm_up(self) -> None:
        """What the first optimizer of the process imports (lenet_core.training.prepare_optimizers), done while the
        window is idle: else it comes with the first Start or teach, or freezes the GUI thread for ~1.8 s at the
        tutorial's first step (its optimizer is made there)."""
        prepare_optimizers()

    def _train_parts(self) -> tuple[TensorData | None, TensorData | None, TensorData | None]:
        """What training runs on, for the source chosen: MNIST, pen digits and My digits, each None when the source
        leaves it out. Without MNIST loaded, a source that names it has nothing to train on (rather than quietly less).
        """
        wanted = self.source.split("+")
        if "mnist" in wanted and (self.data is None or self.data.train is None):
            return None, None, None
        mnist = self.data.train if "mnist" in wanted else None
        pen = self._pen() if "pen" in wanted else None
        mine = self.my_digits if "mine" in wanted and self.my_digits is not None and len(self.my_digits) else None
        return mnist, pen, mine

    def _pen(self) -> TensorData | None:
        """The pen digits to train on, rendered (or read from the cache) the first time they are needed."""
        if self.pen is None:
            self.preparing.emit("Preparing the pen digits to train on (the first time takes a few seconds)…")
            doing, self.activity = self.activity, "preparing the pen digits"
            try:
                self.pen = pen_training_set(
                    self.pen_file, WINDOW_PEN_VARIANTS, cache_dir=self.cache_dir, should_stop=self.closing.is_set
                )
            except RenderingStopped:
                return None
            except (OSError, ValueError) as exc:  # a damaged installation: say so, train on the rest
                self.failed.emit(f"The pen digits cannot be used: {exc}")
                return None
            finally:
                self.activity = doing
        return self.pen

    def _train_size(self) -> int:
        """len(self._train_set()), without joining MNIST and My digits into a new tensor."""
        return sum(len(part) for part in self._train_parts() if part is not None)

    def _train_set(self) -> TensorData | None:
        """The parts mixed as the default recipe mixes them (lenet_core.pen_digits.mix)."""
        return mix(*self._train_parts())

    def _engine(self) -> Trainer:
        """The Trainer, built now if there is none yet."""
        if self.trainer is None:
            self.building.emit()
            doing, self.activity = self.activity, "building the training engine"
            self.trainer = self._new_trainer(self._weights)
            self.activity = doing
            if self._pause_requested.is_set():  # pause() may have looked while there was no Trainer yet
                self.trainer.stop()
        return self.trainer

    def _drop_trainer(self, weights: dict[str, torch.Tensor] | None = None) -> None:
        """New data, settings or weights: the next use builds a Trainer (a fresh optimizer) from these weights."""
        self._weights, self.trainer = (self.weights() if weights is None else weights), None

    def _model(self, weights: dict[str, torch.Tensor]) -> torch.nn.Module:
        net = new_model(self.config.seed)
        net.load_state_dict(weights)
        return net

    def _new_trainer(self, weights: dict[str, torch.Tensor]) -> Trainer:
        test = self.data.test if self.data else None
        train = self._train_set()
        if self.closing.is_set():  # closed while the pen digits were prepared: the engine's first optimizer would
            raise WindowClosing  # import ~1.5 s of torch that nothing can cut short, for nobody
        trainer = Trainer(self._model(weights), self.config.replace(device="cpu"), train, test)
        trainer.health_interval_s = HEALTH_INTERVAL_S
        return trainer

    # -- called from the GUI thread -------------------------------------------------------------
    def weights(self) -> dict[str, torch.Tensor]:
        """A copy of the weights the worker trains. Only while it is idle (or its thread has stopped)."""
        return snapshot(self.trainer.net) if self.trainer is not None else dict(self._weights)

    def close(self) -> None:
        """The window is closing (thread-safe): stop what runs as soon as it can, skip what is still queued."""
        self.closing.set()
        self.pause()

    def pause(self) -> None:
        """Stop the current run after the step in progress (thread-safe)."""
        self._pause_requested.set()
        trainer = self.trainer
        if trainer is not None:
            trainer.stop()

    # -- slots, run on the worker thread --------------------------------------------------------
    def _emit_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Hand weights to the window; never non-finite ones (the engine restores good weights on a divergence)."""
        if bad := non_finite(weights):
            log.error("not showing non-finite weights (%s)", ", ".join(bad))
            return
        self.weights_changed.emit(weights)

    @Slot(str)
    @reported("loading MNIST")
    def load_data(self, folder: str) -> None:
        try:
            self.data = load_mnist(folder)
        except (OSError, ValueError) as exc:
            self.data_failed.emit(f"Could not load MNIST from {folder}: {exc}\n\nThe data loaded before is kept.")
            return
        self._drop_trainer()
        files = self.data.files
        self.data_loaded.emit(
            f"MNIST: {len(self.data.train):,} training images ({files.train.images.name}), "
            f"{len(self.data.test):,} test images",
            folder,
        )

    @Slot(str, object)
    @reported("choosing the training data")
    def set_source(self, source: str, my_digits: TensorData | None) -> None:
        """Train on MNIST, MNIST + My digits, or My digits only (a fresh optimizer on the current weights)."""
        self.source, self.my_digits = source, my_digits
        self._drop_trainer()

    @Slot(object, int, object, object)
    @reported("teaching")
    def teach(self, input: torch.Tensor, label: int, strokes: list | None, also: TensorData | None) -> None:
        """Learn one labelled drawing now, re-drawn from its strokes, with the user's other digits and replayed MNIST
        and pen digits (lenet_core.teaching)."""
        trainer = self._engine()  # first: for a pen-digits source it renders them, and they are replayed too
        replay = [data for data in (self.data.train if self.data else None, self.pen) if data is not None]
        try:
            result = teach_drawing(
                trainer,
                input,
                label,
                strokes,
                also=also,
                replay_from=replay or None,  # none of those: the training data, whatever it is
                remembered=self.remembered,
                seed=self._teach_count,
            )
            self._teach_count += 1
        except TrainingDiverged as exc:
            self.failed.emit(f"Teaching failed: {exc}")
            self._emit_weights(snapshot(self.trainer.net))  # the restored ones
            return
        self._emit_weights(snapshot(self.trainer.net))
        self.taught.emit(label, result.steps, result.learnt, result.confidence)

    @Slot()
    @reported("the evaluation")
    def evaluate(self) -> None:
        """Predict every test image, for the confusion matrix and the gallery of mistakes."""
        if self.data is None or self.data.test is None:
            self.failed.emit("No test data yet: download MNIST or choose a folder with it (Training menu).")
            return
        # The Trainer's net if there is one; else the weights alone: building a Trainer for this would import the
        # optimizer's machinery (~1.5 s of torch._dynamo) that a close could not cut short.
        net = self.trainer.net if self.trainer is not None else self._model(self._weights)
        try:
            result = evaluate(net, self.data.test, should_stop=self.closing.is_set)
        except EvaluationStopped:
            return
        self.evaluated.emit(self.data.test.pixels().numpy(), self.data.test.labels.numpy(), result.predictions.numpy())

    @Slot(object)
    @reported("re-drawing your saved digits")
    def remember(self, drawings: list) -> None:
        """The saved drawings (label, strokes) of earlier sessions, newest first: their re-drawings come along in
        this session's teaches as those of its own teaches do (once; after a Forget or a change, again)."""
        if not len(self.remembered):
            self.remembered.add_drawings(drawings[::-1], seed=len(drawings))

    @Slot()
    def forget_taught(self) -> None:
        """Later teaches no longer bring this session's re-drawings along (what was taught is forgotten, or My digits
        changed: a re-drawing would keep a label the user has since changed)."""
        self.remembered.clear()

    @Slot(object)
    @reported("changing the hyper-parameters")
    def configure(self, config: TrainConfig) -> None:
        """New hyper-parameters: a fresh optimizer and schedule on the current weights."""
        self.config = config
        self._drop_trainer()

    @Slot(object)
    @reported("replacing the weights")
    def set_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Replace the weights (reset, or a loaded checkpoint); training starts over from them."""
        if bad := non_finite(weights):
            raise ValueError(f"{', '.join(bad)} hold NaN or infinite values; the weights were kept")
        self._drop_trainer(weights)
        self.weights_changed.emit(weights)

    @Slot()
    def train(self) -> None:
        """Run until the configured epochs are done or pause() is called."""
        self.activity = "a training step"
        try:
            self._train()
        finally:
            self.activity = ""

    def _train(self) -> None:
        if self.closing.is_set():
            return
        if not self._check_data() or self.closing.is_set():  # (preparing the data may have taken a while)
            self.state_changed.emit("idle")  # the window had already switched to "running"
            return
        self.state_changed.emit("running")
        pending = Progress()
        last_progress = last_weights = time.monotonic()
        final = StoppedEvent("stopped")
        try:
            if self._engine().epoch >= self.config.epochs:  # a finished run: start another round
                self._drop_trainer()
            for event in self._engine().run():
                now = time.monotonic()
                if isinstance(event, StepEvent):
                    pending.add(event)
                    if now - last_progress >= PROGRESS_INTERVAL_S:
                        self.progress.emit(pending)
                        pending, last_progress = Progress(), now
                    if now - last_weights >= WEIGHTS_INTERVAL_S:
                        self._emit_weights(snapshot(self.trainer.net))
                        last_weights = now
                elif isinstance(event, EpochEvent):
                    self.epoch_finished.emit(event)
                elif isinstance(event, StoppedEvent):
                    final = event
        except WindowClosing:
            pass
        except Exception as exc:  # an engine bug must not kill the thread silently
            log.exception("training failed")
            final = StoppedEvent("error", str(exc))
            self.failed.emit(f"Training failed: {exc}")
        self._pause_requested.clear()  # used up by this run
        if pending.steps:
            self.progress.emit(pending)
        self._emit_weights(self.weights())
        self.state_changed.emit("idle")
        self.stopped.emit(final.reason, final.message)

    @Slot()
    @reported("a training step")
    def step(self) -> None:
        """Exactly one SGD step (the tutorial's five lines), then report it."""
        if not self._check_data():
            return
        try:
            event = self._engine().step()
        except TrainingDiverged as exc:
            self.stopped.emit("diverged", str(exc))
            self._emit_weights(snapshot(self.trainer.net))  # the restored ones
            return
        one = Progress()
        one.add(event)
        self.progress.emit(one)
        if self.trainer.epoch_complete:
            self.epoch_finished.emit(self.trainer.finish_epoch())
        self._emit_weights(snapshot(self.trainer.net))

    def _check_data(self) -> bool:
        if self._train_size() == 0:
            if self.source == "mine":
                self.failed.emit("My digits is empty: draw digits and label them (keys 0-9) first.")
            else:
                self.failed.emit(
                    "No training data yet: download MNIST or choose a folder with it (Training menu), "
                    "or train on the pen digits only (Train on)."
                )
            return False
        return True
