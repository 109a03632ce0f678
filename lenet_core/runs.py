"""Runs: each stretch of training with one set of settings, kept side by side to compare them.

A run starts when training starts on a fresh engine (a Start after Reset, new hyper-parameters, a new data source,
or another round after a finished one). It keeps its steps (step, samples seen, training seconds, loss) and its
epochs (test accuracy), and what it was trained with; `label()` names what differs between the runs kept
("lr 0.5, batch 64"). Saved with the weights (`to_saved` / `from_saved`, validated like everything read from a
file) and exported as CSV.
"""

from __future__ import annotations

import csv
import math
import os
import uuid
from dataclasses import dataclass, field

from .training import EpochEvent, StepEvent, TrainConfig

SMOOTHING = 0.9  # TensorBoard's default exponential moving average of the loss
MAX_RUNS = 50  # kept (the oldest go first); each holds a few floats a step
LABEL_NAMES = {"batch_size": "batch", "lr_schedule": "schedule", "weight_decay": "wd", "source": "on"}


def smooth(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0."""
    return smooth_on(values, weight)[0]


def smooth_on(
    values: list[float], weight: float, state: tuple[float, float] = (0.0, 1.0)
) -> tuple[list[float], tuple[float, float]]:
    """smooth() of values that continue a series: from `state` (the average so far and its debiasing factor, as the
    last call returned it), the smoothed values and the state after them."""
    out, (last, debias) = [], state
    for value in values:
        last = weight * last + (1 - weight) * value
        debias *= weight
        out.append(last / (1 - debias) if debias < 1 else value)
    return out, (last, debias)


@dataclass
class Run:
    settings: dict  # TrainConfig.to_dict() and the data source ("source")
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    steps: list[int] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # training seconds since the run began
    losses: list[float] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)  # test accuracy after each epoch, 0-1

    def add_step(self, event: StepEvent) -> None:
        self.add_steps([event.step], [event.samples_seen], [event.train_s], [event.loss])

    def add_steps(self, steps: list[int], samples: list[int], seconds: list[float], losses: list[float]) -> None:
        """Steps in order, as reported together (each list one value a step)."""
        if not len(steps) == len(samples) == len(seconds) == len(losses):
            raise ValueError("one step number, sample count, time and loss a step")
        self.steps += steps
        self.samples += samples
        self.seconds += seconds
        self.losses += losses

    def add_epoch(self, event: EpochEvent) -> None:
        if event.test_accuracy is not None:
            self.epochs.append(event.epoch)
            self.accuracy.append(event.test_accuracy)


class RunLog:
    """The runs of a session, oldest first; the last one is the one training now (or last)."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def start(self, config: TrainConfig, source: str) -> Run:
        run = Run({**config.to_dict(), "source": source})
        self.runs.append(run)
        del self.runs[:-MAX_RUNS]
        return run

    @property
    def current(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    def clear(self) -> None:
        self.runs.clear()

    def label(self, run: Run) -> str:
        """What sets this run apart: the settings that differ between the runs kept, as this run has them."""
        keys = [k for k in run.settings if len({repr(r.settings.get(k)) for r in self.runs}) > 1 and k != "device"]
        parts = [f"{LABEL_NAMES.get(k, k)} {_short(run.settings.get(k))}" for k in keys]
        number = self.runs.index(run) + 1
        return f"run {number}" + (f": {', '.join(parts)}" if parts else "")

    def merge(self, runs: list[Run]) -> int:
        """Runs from a file, after those kept (the ones already kept, by id, are not taken twice): how many came."""
        known = {r.id for r in self.runs}
        new = [r for r in runs if r.id not in known]
        self.runs.extend(new)
        del self.runs[:-MAX_RUNS]
        return len(new)

    # -- files --------------------------------------------------------------------------------------
    def to_saved(self) -> list[dict]:
        """Plain containers, for a checkpoint's metadata."""
        return [dict(vars(run)) for run in self.runs]

    @staticmethod
    def from_saved(saved: object) -> tuple[list[Run], list[str]]:
        """Runs from a checkpoint's metadata, each checked: a run that is not well-formed is left out, and said."""
        if saved is None:
            return [], []
        if not isinstance(saved, list):
            return [], [f"its runs are not a list ({type(saved).__name__}) and were left out"]
        runs, notes = [], []
        for k, item in enumerate(saved[-MAX_RUNS:]):
            try:
                runs.append(_run_from(item))
            except (TypeError, ValueError, KeyError) as exc:
                notes.append(f"run {k + 1} could not be read ({exc}) and was left out")
        return runs, notes

    def write_csv(self, path: str | os.PathLike, smoothing: float = SMOOTHING) -> None:
        """One row per step (loss, and smoothed as the plot shows it) and one per epoch (test accuracy)."""
        with open(path, "w", newline="", encoding="utf-8") as file:
            out = csv.writer(file)
            out.writerow(["run", "settings", "kind", "step", "samples", "seconds", "loss", "smoothed_loss", "epoch",
                          "test_accuracy"])  # fmt: skip
            for run in self.runs:
                label = self.label(run)
                smoothed = smooth(run.losses, smoothing)
                for step, samples, seconds, loss, sm in zip(
                    run.steps, run.samples, run.seconds, run.losses, smoothed, strict=True
                ):
                    out.writerow([run.id, label, "step", step, samples, f"{seconds:.4f}", repr(loss), repr(sm), "", ""])
                for epoch, accuracy in zip(run.epochs, run.accuracy, strict=True):
                    out.writerow([run.id, label, "epoch", "", "", "", "", "", epoch, repr(accuracy)])


def _short(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _numbers(item: dict, key: str, kind: type, count: int | None) -> list:
    values = item.get(key, [])
    if not isinstance(values, list) or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise ValueError(f"{key} must be a list of numbers")
    if count is not None and len(values) != count:
        raise ValueError(f"{key} holds {len(values)} values for {count} steps")
    values = [kind(v) for v in values]
    if kind is float and not all(math.isfinite(v) for v in values):
        raise ValueError(f"{key} holds values that are not finite")
    return values


def _run_from(item: object) -> Run:
    if not isinstance(item, dict):
        raise TypeError(f"a run must be a dict, not {type(item).__name__}")
    settings, run_id = item.get("settings"), item.get("id")
    if not isinstance(settings, dict) or not all(isinstance(k, str) for k in settings):
        raise ValueError("its settings must be a dict of names")
    if not all(isinstance(v, (int, float, str, bool)) for v in settings.values()):
        raise ValueError("its settings must be numbers, words or yes/no")
    if not isinstance(run_id, str) or not 0 < len(run_id) <= 64:
        raise ValueError("its id must be a short string")
    steps = _numbers(item, "steps", int, None)
    run = Run(dict(settings), run_id, steps)
    run.samples = _numbers(item, "samples", int, len(steps))
    run.seconds = _numbers(item, "seconds", float, len(steps))
    run.losses = _numbers(item, "losses", float, len(steps))
    run.epochs = _numbers(item, "epochs", int, None)
    run.accuracy = _numbers(item, "accuracy", float, len(run.epochs))
    return run
