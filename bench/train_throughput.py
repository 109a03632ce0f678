"""Training throughput: the engine vs a plain tutorial-style loop over the same in-memory tensors.

Batch 64, no augmentation, the tutorial's optimizer (SGD, lr 0.01) for both; each repetition times the
same number of steps, the two alternate, and the ratio is taken per repetition, then the median.

    python bench/train_throughput.py [--steps 150] [--repeats 7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn, optim

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, Stopwatch, interleaved, median, require_mnist
from lenet_core.datasets import load_mnist
from lenet_core.model import LeNet, new_model
from lenet_core.training import PRESETS, Trainer

BATCH = 64
TARGET_RATIO = 1.2  # the engine must beat the loop a reader would write (issue 7)


class TutorialNet(LeNet):
    """The tutorial's Net as a reader types it: its forward as written (ReLU, then pool), with no activations kept."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_activations(x).output


def plain_loop(images: torch.Tensor, labels: torch.Tensor, steps: int):
    """The tutorial's five lines in a for loop over consecutive slices: what a reader would write."""
    net = TutorialNet()
    net.load_state_dict(new_model(0).state_dict())  # the engine's starting weights
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    position = 0

    def run() -> float:
        nonlocal position
        with Stopwatch() as watch:
            for _ in range(steps):
                if position + BATCH > len(images):
                    position = 0
                input, target = images[position : position + BATCH], labels[position : position + BATCH]
                position += BATCH
                optimizer.zero_grad()
                output = net(input)
                loss = criterion(output, target)
                loss.backward()
                optimizer.step()
                loss.item()  # the tutorial prints the running loss
        return steps * BATCH / watch.elapsed_s

    return run


def engine(train, steps: int):
    trainer = Trainer(new_model(0), PRESETS["tutorial"].replace(batch_size=BATCH, device="cpu"), train)

    def run() -> float:
        with Stopwatch() as watch:
            for _ in range(steps):
                trainer.step()
                if trainer.epoch_complete:
                    trainer.finish_epoch()  # no test data given, so nothing is evaluated
        return steps * BATCH / watch.elapsed_s

    return run


def measure(steps: int = 150, repeats: int = 7) -> dict[str, float]:
    data = load_mnist(require_mnist(), need_test=False)
    runs = {"plain": plain_loop(data.train.inputs(), data.train.labels, steps), "engine": engine(data.train, steps)}
    for run in runs.values():  # warm-up: first-call allocations and kernel selection
        run()
    results = interleaved(runs, repeats)
    ratios = [e / p for e, p in zip(results["engine"], results["plain"], strict=True)]
    return {
        "plain_samples_per_s": median(results["plain"]),
        "engine_samples_per_s": median(results["engine"]),
        "ratio": median(ratios),
    }


def figures(result: dict[str, float]) -> list[Figure]:
    """The engine's samples/s over the plain loop's, measured alternately in one process; both rates for context."""
    return [
        Figure("training throughput, engine / plain loop", result["ratio"], target=f">= {TARGET_RATIO}"),
        Figure("  engine (batch 64, no augmentation)", result["engine_samples_per_s"], "samples/s", digits=0),
        Figure("  plain tutorial loop", result["plain_samples_per_s"], "samples/s", digits=0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    result = measure(args.steps, args.repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, no augmentation")
    print(f"plain tutorial loop : {result['plain_samples_per_s']:9.0f} samples/s (median)")
    print(f"lenet_core engine   : {result['engine_samples_per_s']:9.0f} samples/s (median)")
    print(f"engine / plain      : {result['ratio']:9.2f} (median of per-repetition ratios; target >= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
