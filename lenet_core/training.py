"""The one training engine: the tutorial's SGD step, done well, with epochs, evaluation, pause/stop and events.

The engine knows nothing of threads or widgets. `Trainer.run()` is a generator of plain event objects;
the CLI prints them, the GUI's worker turns them into Qt signals, the benchmarks time them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .datasets import TensorData
from .health import HealthProbe, LayerHealth
from .preprocess import MNIST_MEAN, MNIST_STD

log = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adam")
LR_SCHEDULES = ("constant", "onecycle", "cosine")
DEVICES = ("auto", "cpu", "cuda", "mps")
_BACKGROUND = -MNIST_MEAN / MNIST_STD  # a blank pixel, normalised
EVAL_BATCH = 250  # as fast as 1,000 (~60k images/s here), and a quarter of the memory: conv2 alone is 50 MB at 1,000


# The range of every number in a TrainConfig: what the engine accepts, the window's boxes offer and a saved config is
# clamped into. Wide enough to show a run stall (lr 1e-6) or blow up (lr 10, momentum 0.99); a batch of 4096 is
# ~0.3 s a step on 2 cores, so a step still ends well within the 2 s that Pause and close may take.
LIMITS: dict[str, tuple[float, float]] = {
    "lr": (1e-6, 100.0),
    "momentum": (0.0, 0.999),
    "weight_decay": (0.0, 1.0),
    "batch_size": (1, 4096),
    "epochs": (1, 1000),
    "seed": (0, 2**31 - 1),  # what a spin box holds
}
CHOICES: dict[str, tuple[str, ...]] = {"optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES, "device": DEVICES}


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a training run. The defaults reach 99 % on MNIST t10k from 20k training images."""

    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 128
    epochs: int = 15
    lr_schedule: str = "onecycle"
    augment: bool = True
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        problems = []
        for name, choices in CHOICES.items():
            value = getattr(self, name)
            if value not in choices or not isinstance(value, str):
                problems.append(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            kind = int if isinstance(low, int) else float
            if isinstance(value, bool) or not isinstance(value, int if kind is int else int | float):
                problems.append(f"{name} must be {'an integer' if kind is int else 'a number'}, not {value!r}")
            elif not low <= value <= high:  # NaN fails this too
                problems.append(f"{name} must be between {_number(low)} and {_number(high)}, not {_number(value)}")
        if not isinstance(self.augment, bool):
            problems.append(f"augment must be true or false, not {self.augment!r}")
        if problems:
            raise ValueError("; ".join(problems))

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a saved dict, ignoring keys this version does not know; raises ValueError on any bad value."""
        config, notes = cls.from_saved(values)
        if notes:
            raise ValueError("; ".join(notes))
        return config

    @classmethod
    def from_saved(cls, values: object) -> tuple[TrainConfig, list[str]]:
        """A config read from a file or the settings: numbers outside LIMITS clamped into them, with a note each.

        Keys this version does not know are ignored. A value of the wrong type (a batch size of "64", a seed of
        2.5, an unknown optimizer) raises a ValueError that names the field.
        """
        if not isinstance(values, dict):
            raise ValueError(f"a training config must be a mapping, not {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        clean = {k: v for k, v in values.items() if k in known}
        notes = []
        for name, (low, high) in LIMITS.items():
            if name not in clean:
                continue
            value = clean[name]
            if isinstance(low, int) and isinstance(value, float) and value.is_integer():
                value = int(value)  # 64.0 from a JSON writer that knows only floats
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                continue  # left for __post_init__ to name
            if isinstance(low, float):
                value = float(value)
            if not low <= value <= high:
                clamped = min(max(value, low), high)
                limits = f"{_number(low)} to {_number(high)}"
                notes.append(f"{name} {_number(value)} is outside {limits}: using {_number(clamped)}")
                value = clamped
            clean[name] = value
        return cls(**clean), notes


PRESETS: dict[str, TrainConfig] = {
    "default": TrainConfig(),
    # The tutorial's optimiser exactly: optim.SGD(net.parameters(), lr=0.01), nothing else.
    "tutorial": TrainConfig(
        lr=0.01, momentum=0.0, weight_decay=0.0, batch_size=64, lr_schedule="constant", augment=False
    ),
}


@dataclass(frozen=True)
class StepEvent:
    step: int  # steps done in total, this one included
    epoch: int  # the epoch this step belongs to, from 0
    batch: int  # batches done in this epoch, this one included
    batches_per_epoch: int
    loss: float
    lr: float
    samples_seen: int
    samples_per_second: float
    elapsed_s: float
    health: LayerHealth | None = None  # measured on this step (Trainer.health_interval_s), else None
    train_s: float = 0.0  # seconds this Trainer has spent in steps, this one included


@dataclass(frozen=True)
class EpochEvent:
    epoch: int  # epochs done in total, this one included
    train_loss: float
    test_loss: float | None
    test_accuracy: float | None
    elapsed_s: float


@dataclass(frozen=True)
class StoppedEvent:
    reason: str  # "finished", "stopped" or "diverged"
    message: str = ""


@dataclass(frozen=True)
class PausedEvent:
    step: int


Event = StepEvent | EpochEvent | StoppedEvent | PausedEvent


@dataclass(frozen=True)
class EvalResult:
    loss: float
    accuracy: float
    correct: int
    total: int
    predictions: torch.Tensor  # N predicted digits, on the CPU


@dataclass
class History:
    """Loss per step and results per epoch, kept with the checkpoint."""

    step_loss: list[float] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but no CUDA GPU is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device mps was asked for but Apple's MPS is not available")
    return torch.device(name)


def prepare_optimizers() -> None:
    """Do now what the process's first optimizer does once: torch.optim imports torch._dynamo on its first
    param group, ~1.5 s of Python on 2 cores. A program can do it while idle rather than at its first step."""
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


@functools.lru_cache(maxsize=8)
def _base_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """(H*W) x 3 rows of (x, y, 1) at pixel centres in [-1, 1], as F.affine_grid uses (align_corners=False)."""
    ys = (torch.arange(height, dtype=torch.float32, device=device) * 2 + 1) / height - 1
    xs = (torch.arange(width, dtype=torch.float32, device=device) * 2 + 1) / width - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y, torch.ones_like(grid_x)], -1).reshape(-1, 3)


def augment_batch(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A small random affine per image (rotation, scale, shear, shift) and stroke thickness, for the whole batch."""
    n, _, height, width = x.shape

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=generator).mul_(hi - lo).add_(lo)

    angle = uniform(-0.2, 0.2)  # radians, about +-11 degrees
    scale = uniform(0.88, 1.12)
    shear = uniform(-0.15, 0.15)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, uniform(-0.12, 0.12)], 1),
            torch.stack([sin, cos + shear * sin, uniform(-0.12, 0.12)], 1),
        ],
        1,
    ).to(x.device, x.dtype)
    # The same grid as F.affine_grid, as one matrix product: about 10x faster on the CPU for 32x32 images.
    grid = torch.einsum("pk,njk->npj", _base_grid(height, width, x.device), theta).view(n, height, width, 2)
    # grid_sample pads with zeros: shift so that zero is the background, then back.
    x = F.grid_sample(x - _BACKGROUND, grid, align_corners=False).add_(_BACKGROUND)
    # Pens differ from MNIST's: thicken a third of the strokes, thin a sixth, by about half a pixel each side.
    # (2x2 max/min filters from four shifted views: 25x faster than max_pool2d with stride 1 on the CPU.)
    p = F.pad(x, (0, 1, 0, 1), value=_BACKGROUND)
    corners = (p[..., 1:, 1:], p[..., :-1, 1:], p[..., 1:, :-1], p[..., :-1, :-1])
    thicker = torch.maximum(torch.maximum(corners[0], corners[1]), torch.maximum(corners[2], corners[3]))
    thinner = torch.minimum(torch.minimum(corners[0], corners[1]), torch.minimum(corners[2], corners[3]))
    pick = torch.rand(n, generator=generator).to(x.device).view(n, 1, 1, 1)
    return torch.where(pick < 1 / 3, thicker, torch.where(pick > 5 / 6, thinner, x))


def _lr_factor(schedule: str, total_steps: int) -> Callable[[int], float]:
    total = max(total_steps, 1)
    warmup = max(1, int(0.2 * total))

    def onecycle(step: int) -> float:
        if step < warmup:
            return 0.05 + 0.95 * step / warmup
        t = min(1.0, (step - warmup) / max(total - warmup, 1))
        return 0.002 + 0.998 * 0.5 * (1 + math.cos(math.pi * t))

    def cosine(step: int) -> float:
        return 0.002 + 0.998 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))

    return {"constant": lambda step: 1.0, "onecycle": onecycle, "cosine": cosine}[schedule]


class Trainer:
    """Trains `net` on `train` with the tutorial's five-line SGD step; evaluates on `test` after each epoch.

    pause(), resume() and stop() may be called from any thread; they take effect between steps.
    """

    def __init__(
        self, net: nn.Module, config: TrainConfig, train: TensorData | None, test: TensorData | None = None
    ) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        # channels-last lets oneDNN pick its fast convolution kernels on the CPU (about 1.5x here).
        self.net = net.to(self.device, memory_format=torch.channels_last)
        self.train_data = train
        self.test_data = test
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = self._make_optimizer()
        epoch_size = train.epoch_size if train is not None else 0
        self.batches_per_epoch = math.ceil(epoch_size / config.batch_size)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _lr_factor(config.lr_schedule, config.epochs * self.batches_per_epoch)
        )
        self.generator = torch.Generator().manual_seed(config.seed)
        self.history = History()
        self._known_good: tuple[dict[str, torch.Tensor], str] = (self._weights_copy(), "when training began")
        self.step_count = 0
        self.epoch = 0
        self.samples_seen = 0
        self._order: torch.Tensor | None = None
        self._position = 0
        self._epoch_loss_sum = 0.0
        self._epoch_started = time.perf_counter()
        self._samples_per_second = 0.0
        self.train_seconds = 0.0  # spent in step(), in total
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        # Layer health (lenet_core.health) on the first step, then on the first step after each health_interval_s
        # seconds: a share of the steps that shrinks as steps get quicker. None: never.
        self.health_interval_s: float | None = None
        self._probe = HealthProbe(self.net)
        self._health: LayerHealth | None = None
        self._health_at: float | None = None  # when health was last measured

    def _weights_copy(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def _mark_known_good(self, when: str) -> None:
        """Remember the weights as they are now: a divergence goes back to them (a copy at a run's start and each
        epoch's end costs nothing next to the epoch; one every step would cost ~1 % of the step)."""
        self._known_good = (self._weights_copy(), when)

    def restore_known_good(self) -> str:
        """After a divergence: back to the last weights known to be good, with the optimizer's momentum forgotten.

        The weights just before the bad step are finite, but they are the ones whose loss was NaN or infinite: the
        network would answer NaN to a drawing and the next step would diverge at once. Returns when the restored
        weights are from, for the message.
        """
        weights, when = self._known_good
        self.net.load_state_dict(weights)
        self.optimizer.state.clear()  # momentum (or Adam's moments) of the steps that blew up
        return when

    def _diverged(self, exc: TrainingDiverged) -> TrainingDiverged:
        return TrainingDiverged(f"{exc}; the weights from {self.restore_known_good()} were restored")

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        params = self.net.parameters()
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        return torch.optim.SGD(
            params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay, nesterov=c.momentum > 0
        )

    # -- control, from any thread -------------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused run so it can end

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # -- one step -----------------------------------------------------------------------------
    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def epoch_complete(self) -> bool:
        return self._order is not None and self._position >= len(self._order)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next training batch in this epoch's random order, augmented if configured."""
        if self.train_data is None or len(self.train_data) == 0:
            raise ValueError("no training data")
        if self._order is None or self.epoch_complete:
            self._order = self.train_data.epoch_order(self.generator)
            self._position = 0
            self._epoch_loss_sum = 0.0
            self._epoch_started = time.perf_counter()
        index = self._order[self._position : self._position + self.config.batch_size]
        self._position += len(index)
        inputs = self.train_data.inputs(index)
        targets = self.train_data.labels.index_select(0, index)
        if self.config.augment:
            inputs = augment_batch(inputs, self.generator)
        return inputs, targets

    def train_step(self, input: torch.Tensor, target: torch.Tensor, health: bool = False) -> torch.Tensor:
        """The tutorial's update on one batch, then the lr schedule's step; returns the loss. health: measure the
        layers' health on it (kept for the step's event)."""
        loss = self._sgd_step(input, target, self._probe if health else None)
        self.scheduler.step()
        return loss

    def teach(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        check: tuple[torch.Tensor, torch.Tensor] | None = None,
        also: TensorData | None = None,
        replay_from: TensorData | Sequence[TensorData] | None = None,
        lr: float = 0.005,
        replay: int = 128,
        new_per_step: int = 32,
        also_per_step: int = 64,
        min_steps: int = 3,
        max_steps: int = 30,
    ) -> tuple[int, bool]:
        """Learn a few new examples on the spot, without forgetting the rest.

        Each SGD step uses up to `new_per_step` of the new examples (lightly augmented; e.g. a drawing re-drawn many
        ways from its strokes), up to `also_per_step` random samples of `also` (e.g. the user's earlier digits: a
        step costs the same with 10 or 10,000 of them) and `replay` random samples of `replay_from` (default: the
        training data; several sets share the `replay` samples equally). Steps go on until `check` (images and
        labels; default: the new examples), e.g. the drawing as it was drawn, is predicted right (at least
        `min_steps`, at most `max_steps`) or stop() is called, with their own small lr; the lr schedule is left where
        it was. A divergence restores the last known-good weights and raises TrainingDiverged.
        Returns the steps taken and whether `check` is now predicted right.
        """
        if len(images) == 0:
            raise ValueError("nothing to teach")
        replay_from = replay_from if replay_from is not None else self.train_data
        replay_sets = [replay_from] if isinstance(replay_from, TensorData) else list(replay_from or [])
        replay_sets = [data for data in replay_sets if len(data)]
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images to teach but {len(labels)} labels")
        check_images, check_labels = (images, labels) if check is None else check
        saved = [group["lr"] for group in self.optimizer.param_groups]
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        try:
            for step in range(1, max_steps + 1):
                if self._stop.is_set():  # the window is closing: the steps so far are kept
                    return step - 1, False
                index = torch.randperm(len(images), generator=self.generator)[:new_per_step]
                inputs = [augment_batch(images.index_select(0, index), self.generator)]
                targets = [labels.index_select(0, index)]
                if also is not None and len(also):
                    index = torch.randperm(len(also), generator=self.generator)[:also_per_step]
                    inputs.append(augment_batch(also.inputs(index), self.generator))
                    targets.append(also.labels.index_select(0, index))
                for k, data in enumerate(replay_sets):
                    share = replay // len(replay_sets) + (k < replay % len(replay_sets))
                    index = torch.randint(len(data), (share,), generator=self.generator)
                    inputs.append(data.inputs(index))
                    targets.append(data.labels.index_select(0, index))
                try:
                    self._sgd_step(torch.cat(inputs), torch.cat(targets))
                except TrainingDiverged as exc:
                    raise self._diverged(exc) from exc
                if step >= min_steps:
                    with torch.inference_mode():
                        self.net.eval()
                        said = self.net(check_images.to(self.device)).argmax(1).cpu()
                        learnt = bool((said == check_labels).all())
                    if learnt:
                        return step, True
            return max_steps, False
        finally:
            for group, value in zip(self.optimizer.param_groups, saved, strict=True):
                group["lr"] = value

    def _sgd_step(self, input: torch.Tensor, target: torch.Tensor, probe: HealthProbe | None = None) -> torch.Tensor:
        """zero_grad, forward, loss, backward, step. Raises TrainingDiverged before a bad update. With a probe, the
        layers' health is measured on this step's forward and gradients."""
        input = input.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        target = target.to(self.device, non_blocking=True)
        if not self.net.training:  # evaluate() and teach() leave it in eval mode; train() walks every module
            self.net.train()
        self.optimizer.zero_grad(set_to_none=True)
        with probe if probe is not None else contextlib.nullcontext():
            output = self.net(input)
        loss = self.criterion(output, target)
        if not torch.isfinite(loss):
            # Checked before backward/step, so the weights stay the last finite ones.
            raise TrainingDiverged(
                f"the loss became {loss.item()} at step {self.step_count + 1} (lr {self.lr:g}); "
                "try a lower learning rate"
            )
        loss.backward()
        if probe is not None:
            self._health = probe.measure(self.step_count + 1, self.lr)
        self.optimizer.step()
        return loss.detach()

    def step(self) -> StepEvent:
        """One SGD step on the next batch. A divergence restores the last known-good weights, then raises."""
        started = time.perf_counter()
        lr = self.lr
        inputs, targets = self.next_batch()
        health = self.health_interval_s is not None and (
            self._health_at is None or started - self._health_at >= self.health_interval_s
        )
        if health:
            self._health_at = started
        try:
            loss = float(self.train_step(inputs, targets, health))
        except TrainingDiverged as exc:
            raise self._diverged(exc) from exc
        n = len(targets)
        self.step_count += 1
        self.samples_seen += n
        self._epoch_loss_sum += loss * n
        self.history.step_loss.append(loss)
        took = time.perf_counter() - started
        self.train_seconds += took
        rate = n / max(took, 1e-9)
        self._samples_per_second = rate if self.step_count == 1 else 0.9 * self._samples_per_second + 0.1 * rate
        return StepEvent(
            step=self.step_count,
            epoch=self.epoch,
            batch=math.ceil(self._position / self.config.batch_size),
            batches_per_epoch=self.batches_per_epoch,
            loss=loss,
            lr=lr,
            samples_seen=self.samples_seen,
            samples_per_second=self._samples_per_second,
            elapsed_s=time.perf_counter() - self._epoch_started,
            health=self._health if health else None,
            train_s=self.train_seconds,
        )

    def finish_epoch(self) -> EpochEvent:
        """Close the current epoch: evaluate on the test data and record it."""
        seen = self._position if self._order is not None else 0
        train_loss = self._epoch_loss_sum / max(seen, 1)
        result = self.evaluate(self.test_data) if self.test_data is not None else None
        self.epoch += 1
        event = EpochEvent(
            epoch=self.epoch,
            train_loss=train_loss,
            test_loss=result.loss if result else None,
            test_accuracy=result.accuracy if result else None,
            elapsed_s=time.perf_counter() - self._epoch_started,
        )
        self.history.epochs.append(dataclasses.asdict(event))
        self._order = None
        self._mark_known_good(f"the end of epoch {self.epoch}")
        return event

    # -- whole runs ---------------------------------------------------------------------------
    def run(self, epochs: int | None = None) -> Iterator[Event]:
        """Train until `epochs` epochs in total are done (default: the config's), yielding events.

        Ends with a StoppedEvent whose reason is "finished", "stopped" or "diverged".
        """
        target = self.config.epochs if epochs is None else epochs
        if self.epoch < target:
            self._mark_known_good(f"the start of this run (step {self.step_count})")
        try:
            yield from self._run(target)
        finally:
            # A stop asked for before this run began ends it at once; one asked for during it is used up here.
            self._stop.clear()

    def _run(self, target: int) -> Iterator[Event]:
        while self.epoch < target:
            if not self._running.is_set():
                yield PausedEvent(self.step_count)
                self._running.wait()
            if self._stop.is_set():
                yield StoppedEvent("stopped", f"stopped at step {self.step_count}")
                return
            try:
                yield self.step()
            except TrainingDiverged as exc:
                log.warning("training diverged: %s", exc)
                yield StoppedEvent("diverged", str(exc))
                return
            if self.epoch_complete:
                yield self.finish_epoch()
        yield StoppedEvent("finished", f"{self.epoch} epochs done")

    def fit(self, callback: Callable[[Event], None] | None = None) -> StoppedEvent:
        """Run to the end, handing each event to callback; returns the final StoppedEvent."""
        for event in self.run():
            if callback is not None:
                callback(event)
            if isinstance(event, StoppedEvent):
                return event
        raise AssertionError("run() always ends with a StoppedEvent")

    @torch.inference_mode()
    def evaluate(self, data: TensorData, batch_size: int = EVAL_BATCH) -> EvalResult:
        """Loss and accuracy of the current weights on data."""
        return evaluate(self.net, data, self.device, batch_size)

    # -- saving and restoring progress ------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step_count": self.step_count,
            "epoch": self.epoch,
            "samples_seen": self.samples_seen,
            "history": dataclasses.asdict(self.history),
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step_count = int(state["step_count"])
        self.epoch = int(state["epoch"])
        self.samples_seen = int(state["samples_seen"])
        self.history = History(**state["history"])


class EvaluationStopped(Exception):
    """should_stop() said so between two batches of an evaluation."""


@torch.inference_mode()
def evaluate(
    net: nn.Module,
    data: TensorData,
    device: torch.device | str = "cpu",
    batch_size: int = EVAL_BATCH,
    should_stop: Callable[[], bool] | None = None,
) -> EvalResult:
    """Mean cross-entropy and accuracy of net on data, in inference mode; should_stop is asked between batches."""
    device = torch.device(device)
    net.eval()
    loss_sum = 0.0
    predictions = []
    for start in range(0, len(data), batch_size):
        if should_stop is not None and should_stop():
            raise EvaluationStopped(f"stopped after {start} of {len(data)} images")
        x = data.inputs(slice(start, start + batch_size)).to(device).contiguous(memory_format=torch.channels_last)
        y = data.labels[start : start + batch_size].to(device)
        output = net(x)
        loss_sum += float(F.cross_entropy(output, y, reduction="sum"))
        predictions.append(output.argmax(1).cpu())
    predicted = torch.cat(predictions) if predictions else torch.empty(0, dtype=torch.long)
    correct = int((predicted == data.labels).sum())
    total = len(data)
    return EvalResult(loss_sum / max(total, 1), correct / max(total, 1), correct, total, predicted)
