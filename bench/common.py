"""Shared by the benchmarks: where the real MNIST is, and how to time things fairly on a noisy machine."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MNIST_DIR = Path(os.environ.get("LENET_BENCH_DATA", ROOT.parent / "shared" / "data" / "mnist"))


def require_mnist() -> Path:
    """The real MNIST folder, or exit with a clear message when it is absent."""
    if not MNIST_DIR.is_dir():
        print(f"skipped: real MNIST not found at {MNIST_DIR} (set LENET_BENCH_DATA)", file=sys.stderr)
        sys.exit(0)
    return MNIST_DIR


def interleaved(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run each callable `repeats` times, alternating between them so drifts in machine load hit all alike."""
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            results[name].append(run())
    return results


def median(values: list[float]) -> float:
    return statistics.median(values)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.elapsed_s = time.perf_counter() - self.started
