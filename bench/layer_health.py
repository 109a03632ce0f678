"""What layer health costs: training steps that measure it against steps that do not, in one process.

The same engine and data (train20k), the two alternating: steps measuring layer health on every step
(`health_interval_s = 0`) and steps measuring none, at the tutorial's batch of 64 (where the fixed cost of the
measurement weighs most) and the default recipe (batch 128, augmented). From the extra milliseconds of a measured
step, the share of training time it costs at the window's rate (`app.worker.HEALTH_INTERVAL_S`: one measured step
that often).

    python bench/layer_health.py [--steps 150] [--repeats 9]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, Stopwatch, bench_main, interleaved, median, require_mnist
from lenet_core.datasets import load_mnist
from lenet_core.model import new_model
from lenet_core.training import PRESETS, Trainer

HEALTH_INTERVAL_S = 0.25  # as app.worker (not imported: no Qt here)
TARGET_SHARE = 0.02  # of training time, at the window's rate


def steps_ms(train, config, steps: int, health: bool):
    trainer = Trainer(new_model(0), config.replace(device="cpu"), train)
    trainer.health_interval_s = 0.0 if health else None

    def run() -> float:
        with Stopwatch() as watch:
            for _ in range(steps):
                trainer.step()
                if trainer.epoch_complete:
                    trainer._order = None  # a new epoch without the evaluation: only steps are timed
        return 1e3 * watch.elapsed_s / steps

    return run


def measure(steps: int = 150, repeats: int = 9) -> dict[str, float]:
    train = load_mnist(require_mnist(), need_test=False).train
    result = {}
    for name, config in (("tutorial", PRESETS["tutorial"].replace(batch_size=64)), ("default", PRESETS["default"])):
        runs = {"plain": steps_ms(train, config, steps, False), "health": steps_ms(train, config, steps, True)}
        for run in runs.values():
            run()  # warm-up
        ms = interleaved(runs, repeats)
        plain, measured = median(ms["plain"]), median(ms["health"])
        extra = median([h - p for h, p in zip(ms["health"], ms["plain"], strict=True)])
        result[f"{name}_plain_ms"], result[f"{name}_health_ms"] = plain, measured
        result[f"{name}_extra_ms"] = extra
        # One measured step every HEALTH_INTERVAL_S seconds of training (or every step, if steps take longer).
        result[f"{name}_share"] = max(extra, 0.0) / max(1e3 * HEALTH_INTERVAL_S, plain)
    return result


def figures(r: dict[str, float]) -> list[Figure]:
    rows = []
    for name, title in (("tutorial", "batch 64, no augmentation"), ("default", "default recipe, batch 128")):
        rows += [
            Figure(
                f"{title}: share of training time, at one measured step each 0.25 s",
                100 * r[f"{name}_share"],
                "%",
                target=f"<= {100 * TARGET_SHARE:g}",
            ),
            Figure("  a step measuring none", r[f"{name}_plain_ms"], "ms"),
            Figure("  a step measuring layer health", r[f"{name}_health_ms"], "ms"),
        ]
    return rows


def main() -> None:
    bench_main(__doc__, measure, figures, steps=150, repeats=9)


if __name__ == "__main__":
    main()
