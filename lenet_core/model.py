"""The LeNet of PyTorch's "Neural Networks" tutorial, unchanged in shape."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 32, 32)
NUM_CLASSES = 10
# The input rows and columns that reach the output: the second max-pool floors conv2's 13 rows to 6 pairs and drops
# the last, and that row was all the input's last two rows fed (through conv1's last two rows and s2's last row).
REACHING_OUTPUT = 30


class Activations(NamedTuple):
    """What one forward pass computed, for display: the conv outputs after ReLU, and the logits."""

    conv1: torch.Tensor  # N x 6 x 30 x 30
    conv2: torch.Tensor  # N x 16 x 13 x 13
    output: torch.Tensor  # N x 10


class LeNet(nn.Module):
    """conv 1->6 3x3, conv 6->16 3x3, 2x2 max-pool, fc 576->120->84->10 on a 1x32x32 input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.fc1 = nn.Linear(16 * 6 * 6, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """The tutorial's forward pass without the work that cannot change its output, in values or gradients.

        - Each ReLU comes after its max-pool instead of before: max and ReLU commute exactly (ReLU is monotonic),
          and the ReLU then runs on a quarter of the numbers: ~6 % of a training step at batch 64 (ReLU's backward
          on the full-size channels-last maps was 0.375 ms of a 4.5 ms step).
        - Only the input's first 30 rows and columns go in (`REACHING_OUTPUT`): the convolutions and pools then
          skip the positions whose results the second max-pool throws away (~13 % of their work).
        tests/test_model.py checks that both give the same outputs and gradients, within float rounding (oneDNN
        may order a sum over fewer positions differently).
        """
        if input.shape[-3:] != INPUT_SHAPE:  # cropped below, a wrong size would otherwise pass unnoticed
            expected = " x ".join(map(str, INPUT_SHAPE))
            raise ValueError(f"LeNet takes N x {expected} inputs, not {' x '.join(map(str, input.shape))}")
        input = input[..., :REACHING_OUTPUT, :REACHING_OUTPUT]
        s2 = F.relu(F.max_pool2d(self.conv1(input), (2, 2)))
        s4 = F.relu(F.max_pool2d(self.conv2(s2), 2))
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        return self.fc3(f6)

    def forward_with_activations(self, input: torch.Tensor) -> Activations:
        """The tutorial's forward pass as written, also returning the conv maps after ReLU, for display."""
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        output = self.fc3(f6)
        return Activations(c1, c3, output)


def non_finite(state: dict[str, torch.Tensor]) -> list[str]:
    """The names of the tensors in a state dict that hold NaN or infinite values."""
    return [name for name, t in state.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]


def new_model(seed: int | None = None) -> LeNet:
    """A freshly initialised LeNet; with a seed, the same weights every time without touching global RNG."""
    if seed is None:
        return LeNet()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LeNet()
