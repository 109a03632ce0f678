"""Layer health: how each layer fares while the network trains, measured on a training step itself.

For each learned layer (conv1, conv2, fc1, fc2, fc3): the norm of its weights, the norm of their gradient, and the
update ratio lr * |grad| / |w| — the classic rule of thumb wants it near 1e-3: far above, the weights change faster
than they can settle and the run blows up; far below, they hardly change and the run stalls. For each layer a ReLU
follows (conv1, conv2, fc1, fc2): the share of its units that were not positive for any sample of the batch, so
that the ReLU passed nothing and no gradient through them ("dead"). Units are the outputs that reach the answer
(LeNet.forward skips the border rows the second max-pool drops). Weights only, not biases, as the rule is stated.

Measured on the step's own forward and backward (forward hooks, and the gradients before the optimizer's step): no
extra pass. The engine measures the first step and then one step every `health_interval_s` seconds, so the cost is
a share of one step a while.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn

LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")  # every learned layer, in order
RELU_LAYERS = ("conv1", "conv2", "fc1", "fc2")  # those a ReLU follows
RATIO_RULE = 1e-3  # lr * |grad| / |w| of a layer that learns at a healthy pace
# 100x the rule. lr 10 from random weights (it blows up within a few steps) starts at 0.04-0.2 across the layers; lr 0.5
# without momentum trains well at 0.04-0.05 (seen in the window): no threshold on one step tells them apart more
# finely than "some layer above 0.1".
RATIO_TOO_HIGH = 1e-1
RATIO_TOO_LOW = 1e-5  # 1/100 of the rule: lr 1e-5 from random weights (it barely moves); the tutorial's 0.01 stays over


@dataclass(frozen=True)
class LayerHealth:
    """One step's health of every layer; each tuple is in the order of LAYERS (dead: of RELU_LAYERS)."""

    step: int  # the step it was measured on (steps done, this one included)
    lr: float  # the step's learning rate
    weight_norm: tuple[float, ...]
    grad_norm: tuple[float, ...]
    update_ratio: tuple[float, ...]  # lr * grad_norm / weight_norm
    dead: tuple[float, ...]  # share of units with no positive output for the whole batch, 0-1

    def verdict(self) -> str:
        """ "" if every layer's update ratio is within RATIO_TOO_LOW-RATIO_TOO_HIGH; else which way, and where."""
        high = [name for name, r in zip(LAYERS, self.update_ratio, strict=True) if not r <= RATIO_TOO_HIGH]
        if high:
            where = ", ".join(high)
            return f"updates too large in {where} (over {RATIO_TOO_HIGH:g} of the weights a step): the run may blow up"
        low = [name for name, r in zip(LAYERS, self.update_ratio, strict=True) if r < RATIO_TOO_LOW]
        if low:
            return f"updates tiny in {', '.join(low)}: the weights hardly change (a low lr, or training has settled)"
        return ""


class HealthProbe:
    """Around one training step: `with probe:` around the forward records which ReLU units were dead; `measure()`
    after backward, before the optimizer's step, takes the norms."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        self._alive: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def __enter__(self) -> HealthProbe:
        self._alive.clear()
        for name in RELU_LAYERS:
            hook = functools.partial(self._record, name)
            self._handles.append(getattr(self.net, name).register_forward_hook(hook))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _record(self, name: str, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        # ReLU(x) passes something for some sample iff x > 0 for it; the ReLU itself comes later (after the pool).
        # The max over the batch of each unit, on the maps as laid out in memory (channels-last: N x H x W x C); a
        # reduction over N of the strided N x C x H x W view was 30x slower (2 ms of a 4 ms step).
        x = output.detach()
        if x.ndim == 4 and not x.is_contiguous():
            x = x.permute(0, 2, 3, 1)
        self._alive[name] = (x.reshape(len(x), -1).amax(dim=0) > 0).float().mean()

    def measure(self, step: int, lr: float) -> LayerHealth:
        """The layers' health now: call after backward, before the optimizer changes the weights."""
        weights = [getattr(self.net, name).weight for name in LAYERS]
        with torch.no_grad():
            norms = [torch.linalg.vector_norm(w) for w in weights]
            grads = [torch.linalg.vector_norm(w.grad) if w.grad is not None else torch.zeros(()) for w in weights]
            alive = [self._alive.get(name, torch.ones(())) for name in RELU_LAYERS]
            values = torch.stack([*norms, *grads, *alive]).tolist()  # one sync for all of them
        n = len(LAYERS)
        weight_norm, grad_norm = tuple(values[:n]), tuple(values[n : 2 * n])
        ratio = tuple(lr * g / w if w > 0 else float("inf") for g, w in zip(grad_norm, weight_norm, strict=True))
        dead = tuple(1.0 - a for a in values[2 * n :])
        return LayerHealth(step, lr, weight_norm, grad_norm, ratio, dead)
