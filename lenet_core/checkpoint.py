"""Checkpoints: weights, optimizer state, config, history and metadata, saved atomically and loaded safely.

Loading uses `torch.load(weights_only=True)`: only tensors and plain containers are unpickled, so a file
crafted to run code when unpickled is refused instead. Everything else a file can hold is checked here, once: whatever
is wrong with it (torch.load itself raises IndexError, KeyError or TypeError on some garbage) comes out as one
CheckpointError naming the file and the problem.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import platform
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .model import LeNet, non_finite
from .training import TrainConfig

FORMAT = "lenet-trainer-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint cannot be saved or loaded; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path.name}: {problem}")


@dataclass
class Checkpoint:
    model: dict[str, torch.Tensor]
    trainer: dict | None = None  # Trainer.state_dict(): optimizer, scheduler, counters, history
    config: TrainConfig | None = None
    metadata: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what loading changed or ignored, for the user


def _metadata(extra: dict | None) -> dict:
    meta = {
        "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
    }
    meta.update(extra or {})
    return meta


def save_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    """Write atomically: a temporary file beside the target, flushed, then renamed over it."""
    path = Path(path)
    bad = non_finite(checkpoint.model)
    if bad:
        raise CheckpointError(path, f"refusing to save non-finite weights in {', '.join(bad)}")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": {k: v.detach().cpu().contiguous() for k, v in checkpoint.model.items()},
        "trainer": checkpoint.trainer,
        "config": checkpoint.config.to_dict() if checkpoint.config is not None else None,
        "metadata": _metadata(checkpoint.metadata),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); a checkpoint is an ordinary document.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(path: str | os.PathLike, net: nn.Module, metadata: dict | None = None) -> None:
    """Save just the weights (as shipped in resources/)."""
    save_checkpoint(path, Checkpoint(model=net.state_dict(), metadata=metadata or {}))


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint; never runs code from the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file" if not path.exists() else "not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(path, "the file is empty")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols in garbage: we raise our own error
            warnings.simplefilter("ignore", UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError as exc:
        raise CheckpointError(path, "not a readable checkpoint: it asks for more memory than there is") from exc
    except pickle.UnpicklingError as exc:
        # torch's message is a page long; its "WeightsUnpickler error:" line says what went wrong.
        detail = next((line.strip() for line in str(exc).splitlines() if "WeightsUnpickler error:" in line), "")
        detail = detail.split("WeightsUnpickler error:")[-1].split(" was not an allowed global")[0].strip()
        if "Unsupported global" in detail or "Unsupported operand" in detail:
            raise CheckpointError(
                path, f"refused: it holds objects other than tensors and plain data, which could run code ({detail})"
            ) from exc
        raise CheckpointError(
            path, f"not a readable checkpoint (truncated or corrupt?): {detail or 'not a torch file'}"
        ) from exc
    except Exception as exc:  # torch.load of arbitrary bytes: IndexError, KeyError, TypeError, zipfile.BadZipFile...
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        detail = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
        raise CheckpointError(path, f"not a readable checkpoint (truncated or corrupt?): {detail}") from exc
    return _validate(path, payload)


def _validate(path: Path, payload: object) -> Checkpoint:
    """What torch.load returned, checked part by part."""
    if not isinstance(payload, dict):
        raise CheckpointError(path, f"not a checkpoint of this program (holds a {type(payload).__name__})")
    if payload.get("format") != FORMAT:
        # A bare state_dict saved by torch.save(net.state_dict()) is accepted too.
        if all(isinstance(v, torch.Tensor) for v in payload.values()):
            payload = {"model": payload}
        else:
            raise CheckpointError(path, "not a checkpoint of this program (no model weights found)")
    elif not isinstance(payload.get("version", 0), int):
        raise CheckpointError(path, f"unreadable format version {payload.get('version')!r}")
    elif payload.get("version", 0) > VERSION:
        raise CheckpointError(path, f"written by a newer version (format {payload['version']}, this reads {VERSION})")
    model = payload.get("model")
    if not isinstance(model, dict):
        raise CheckpointError(path, "no model weights in the file")
    check_architecture(path, model)
    notes = []
    config = None
    if isinstance(payload.get("config"), dict):
        try:
            config, notes = TrainConfig.from_saved(payload["config"])
        except (ValueError, TypeError) as exc:
            raise CheckpointError(path, f"its training config is unusable: {exc}") from exc
    elif payload.get("config") is not None:
        notes.append(f"its training config (a {type(payload['config']).__name__}) was ignored")
    trainer = payload.get("trainer")
    if trainer is not None and not isinstance(trainer, dict):
        notes.append(f"its training state (a {type(trainer).__name__}) was ignored")
        trainer = None
    metadata = payload.get("metadata")
    return Checkpoint(
        model={name: value.float() for name, value in model.items()},
        trainer=trainer,
        config=config,
        metadata=metadata if isinstance(metadata, dict) else {},
        notes=notes,
    )


def check_architecture(path: str | os.PathLike, state: dict) -> None:
    """Raise CheckpointError unless state has exactly LeNet's parameter names and shapes."""
    expected = {k: tuple(v.shape) for k, v in LeNet().state_dict().items()}
    problems = []
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(repr(k) if not isinstance(k, str) else k for k in set(state) - set(expected))
    if len(unexpected) > 5:
        unexpected = [*unexpected[:5], f"and {len(unexpected) - 5} more"]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected {', '.join(unexpected)}")
    for name in sorted(set(expected) & set(state)):
        value = state[name]
        if not isinstance(value, torch.Tensor):
            problems.append(f"{name} is a {type(value).__name__}, not a tensor")
        elif value.layout != torch.strided or not value.is_floating_point():
            problems.append(f"{name} holds {value.dtype} ({value.layout}), not real numbers")
        elif tuple(value.shape) != expected[name]:
            shape = "x".join(map(str, value.shape))
            problems.append(f"{name} has shape {shape}, LeNet needs {'x'.join(map(str, expected[name]))}")
        elif not torch.isfinite(value).all():
            problems.append(f"{name} holds NaN or infinite values")
    if problems:
        raise CheckpointError(path, "not the tutorial's LeNet: " + "; ".join(problems))


def load_model(path: str | os.PathLike) -> LeNet:
    """A LeNet with the checkpoint's weights, in eval mode."""
    net = LeNet()
    net.load_state_dict(load_checkpoint(path).model)
    return net.eval()
