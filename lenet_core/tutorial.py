"""The tutorial's training step, one line at a time, on the live model: what each line changes, in real numbers.

optimizer.zero_grad()
output = net(input)
loss = criterion(output, target)
loss.backward()
optimizer.step()
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn, optim

from .model import Activations, LeNet, non_finite

LINES = (
    "optimizer.zero_grad()",
    "output = net(input)",
    "loss = criterion(output, target)",
    "loss.backward()",
    "optimizer.step()",
)
CRITERIA = ("cross_entropy", "mse")
# A few weights to follow through optimizer.step(): (parameter name, index).
WATCHED = (("conv1.bias", (0,)), ("conv1.bias", (1,)), ("conv1.weight", (0, 0, 1, 1)), ("fc3.bias", None))


@dataclass
class LineResult:
    """What one line did. Only the fields that line produces are set."""

    line: int
    bias_grad_before: torch.Tensor | None = None  # conv1.bias.grad before the line (None: no gradient buffer)
    bias_grad_after: torch.Tensor | None = None
    output: torch.Tensor | None = None  # the 10 outputs
    activations: Activations | None = None
    loss: float | None = None
    weight_grad: torch.Tensor | None = None  # conv1.weight.grad, 6 x 1 x 3 x 3
    updates: list[tuple[str, float, float, float, float]] = field(default_factory=list)  # name, old, lr, grad, new
    probabilities_after: torch.Tensor | None = None
    refused: str | None = None  # why optimizer.step() was not applied (it would have made weights NaN or infinite)


class TutorialWalk:
    """Runs the five lines on `net` (the live model, changed in place) for one input and target digit."""

    def __init__(
        self, net: LeNet, input: torch.Tensor, target: int, criterion: str = "cross_entropy", lr: float = 0.01
    ) -> None:
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, not {criterion!r}")
        if not 0 <= target <= 9:
            raise ValueError(f"target must be a digit 0-9, not {target}")
        self.net, self.input, self.target_digit, self.lr = net, input, target, lr
        self.criterion_name = criterion
        # The tutorial's own objects, with its names.
        self.criterion = nn.CrossEntropyLoss() if criterion == "cross_entropy" else nn.MSELoss()
        self.target = (
            torch.tensor([target]) if criterion == "cross_entropy" else F.one_hot(torch.tensor([target]), 10).float()
        )
        self.optimizer = optim.SGD(net.parameters(), lr=lr)
        self.next_line = 0
        self.output: torch.Tensor | None = None
        self.loss: torch.Tensor | None = None

    @property
    def done(self) -> bool:
        return self.next_line >= len(LINES)

    def restart(self) -> None:
        self.next_line = 0
        self.output = self.loss = None

    def _bias_grad(self) -> torch.Tensor | None:
        grad = self.net.conv1.bias.grad
        return None if grad is None else grad.detach().clone()

    def run_line(self) -> LineResult:
        """Run the line about to run; returns what it changed."""
        if self.done:
            raise RuntimeError("all five lines have run: restart for another step")
        index = self.next_line
        result = LineResult(index, bias_grad_before=self._bias_grad())
        self.net.train()
        if index == 0:
            self.optimizer.zero_grad()
        elif index == 1:
            activations = self.net.forward_with_activations(self.input)
            self.output = activations.output
            result.output = self.output.detach()[0].clone()
            result.activations = Activations(*(a.detach() for a in activations))
        elif index == 2:
            self.loss = self.criterion(self.output, self.target)
            result.loss = float(self.loss.detach())
        elif index == 3:
            self.loss.backward()
            result.weight_grad = self.net.conv1.weight.grad.detach().clone()
        else:
            params = dict(self.net.named_parameters())
            watched = [(name, idx if idx is not None else (self.target_digit,)) for name, idx in WATCHED]
            before = [(float(params[n].detach()[i]), float(params[n].grad[i])) for n, i in watched]
            result.refused = self._step_keeping_weights_finite()
            for (name, idx), (old, grad) in zip(watched, before, strict=True):
                label = f"{name}[{', '.join(map(str, idx))}]"
                result.updates.append((label, old, self.lr, grad, float(params[name].detach()[idx])))
            with torch.inference_mode():
                self.net.eval()
                result.probabilities_after = torch.softmax(self.net(self.input)[0], 0)
        result.bias_grad_after = self._bias_grad()
        self.next_line += 1
        return result

    def _step_keeping_weights_finite(self) -> str | None:
        """optimizer.step(), unless it would put NaN or infinity into the live model; then why it was not applied."""
        grads = {name: p.grad for name, p in self.net.named_parameters() if p.grad is not None}
        if bad := non_finite(grads):
            return f"the gradients of {', '.join(bad)} are not finite (the loss is {float(self.loss.detach()):g})"
        kept = {name: p.detach().clone() for name, p in self.net.named_parameters()}
        self.optimizer.step()
        if bad := non_finite(dict(self.net.named_parameters())):
            with torch.no_grad():
                for name, p in self.net.named_parameters():
                    p.copy_(kept[name])
            return f"it would have made {', '.join(bad)} infinite"
        return None

    def run_all(self) -> list[LineResult]:
        """The rest of the five lines."""
        return [self.run_line() for _ in range(self.next_line, len(LINES))]
