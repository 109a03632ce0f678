"""Shared by the benchmarks: where the real MNIST is, and how to time things fairly on a noisy machine."""

from __future__ import annotations

import argparse
import dataclasses
import json
import operator
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
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


_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Figure:
    """One line of the results table: a measured value and, unless it is only informative, the target it must meet."""

    name: str
    value: float | None  # None: never reached, which fails any target
    unit: str = ""
    target: str | None = None  # an operator and a number, e.g. ">= 1.2" or "< 10"; None: no target
    digits: int = 2

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        op, limit = self.target.split()
        return self.value is not None and _COMPARE[op](self.value, float(limit))

    def cells(self) -> tuple[str, str, str, str]:
        unit = f" {self.unit}" if self.unit else ""
        value = "not reached" if self.value is None else f"{self.value:,.{self.digits}f}{unit}"
        target = "" if self.target is None else f"{self.target}{unit}"
        verdict = {None: "", True: "pass", False: "FAIL"}[self.passed]
        return self.name, value, target, verdict


def format_table(figures: list[Figure]) -> str:
    """figure | value | target | pass/FAIL, as aligned plain text."""
    rows = [("figure", "value", "target", "pass/FAIL"), *(f.cells() for f in figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def write_json(path: str, result: dict, figures: list[Figure]) -> None:
    """A bench's raw results and its figures, for --json PATH."""
    with open(path, "w") as file:
        json.dump({"result": result, "figures": [dataclasses.asdict(f) for f in figures]}, file, indent=2)


def print_figures(result: dict, figures: list[Figure], json_path: str | None = None) -> None:
    """Print a bench's table; with --json PATH, also write its raw results and figures there."""
    print(format_table(figures))
    if json_path:
        write_json(json_path, result, figures)


def bench_main(doc: str, measure: Callable[..., dict], figures: Callable[[dict], list[Figure]], **defaults) -> None:
    """A bench's command line: an option for each of measure's arguments (--name, with its default), then the table."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, value in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    print(format_table(figures(measure(**vars(parser.parse_args())))))
