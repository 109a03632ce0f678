"""Every benchmark in one go, one table: `python -m bench [--only NAME[,NAME]] [--json PATH]` from the repository root.

Each benchmark runs in a fresh Python process (`python -m bench --child NAME`), one after the other, so that the
thread set-up, imports, caches and memory of one cannot change the figures of the next; the ones that time an app
start or compare two processes start more processes of their own. Each figure is a median of several repetitions,
and each comparison a ratio of two sides measured alternately in the same run. Exit status: 0 when every target is
met (or MNIST is absent: nothing is measured), 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version

from .common import ROOT, Figure, format_table, require_mnist

RESULT_PREFIX = "bench-result: "


# Each is bench/NAME.py, run in this order with these arguments, sized so that the whole run takes under 5 minutes
# on two cores.
BENCHMARKS: dict[str, dict] = {
    "train_throughput": {"steps": 150, "repeats": 7},
    "pixels_kept": {"steps": 150, "repeats": 9},
    "layer_health": {"steps": 150, "repeats": 9},
    "time_to_accuracy": {},
    # The layer health plot shown and 5 earlier runs on the plots: the heaviest the window draws (issue 17's target).
    "gui_training": dict(seconds=3.0, repeats=3, rounds=3, beat_seconds=8.0, tab="health", earlier_runs=5),
    "latency": {"moves": 300},
    "inference": {"calls": 2000, "passes": 7},
    "app_start": {"repeats": 3},
    "canvas_robustness": {},
    "teach": {},
    "pen_digits": {},  # all 1,498 held-out digits drawn with the mouse in the window (~60 s)
    "close_time": {"repeats": 1},  # quit at five bad moments
}


def child(name: str) -> None:
    """Run one benchmark in this process; its raw figures and table rows go to stdout as one JSON line."""
    module = importlib.import_module(f"bench.{name}")
    result = module.measure(**BENCHMARKS[name])
    rows = [dataclasses.asdict(figure) for figure in module.figures(result)]
    print(RESULT_PREFIX + json.dumps({"result": result, "figures": rows}), flush=True)


def run(name: str) -> tuple[dict | None, list[Figure], float]:
    """One benchmark in a fresh process: its raw result, its figures (one failing row if it crashed), seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--child", name], cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        print(f"{name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}", file=sys.stderr)
        return None, [Figure(f"{name}: crashed, exit {done.returncode}", None, target="> 0")], seconds
    report = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return report["result"], [Figure(**row) for row in report["figures"]], seconds


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"run only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", metavar="PATH", help="also write the figures and raw results as JSON")
    parser.add_argument("--child", choices=BENCHMARKS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    names = list(BENCHMARKS)
    if args.only:
        names = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in names if name not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    require_mnist()

    started = time.perf_counter()
    results, figures = {}, []
    for index, name in enumerate(names, 1):
        print(f"[{index}/{len(names)}] {name} ...", end=" ", file=sys.stderr, flush=True)
        result, rows, seconds = run(name)
        print(f"{seconds:.0f} s", file=sys.stderr, flush=True)
        results[name] = {"result": result, "seconds": seconds}
        figures += rows
    total_s = time.perf_counter() - started

    failed = sum(figure.passed is False for figure in figures)
    targets = sum(figure.passed is not None for figure in figures)
    print(format_table(figures))
    print(f"\n{targets - failed} of {targets} targets met; {total_s:.0f} s in all")
    if args.json:
        report = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "torch": version("torch"),
            "total_s": total_s,
            "benchmarks": results,
            "figures": [{**dataclasses.asdict(f), "passed": f.passed} for f in figures],
        }
        with open(args.json, "w") as file:
            json.dump(report, file, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
