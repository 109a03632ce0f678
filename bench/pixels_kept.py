"""Training data kept as uint8 pixels (normalised a batch at a time) against kept as float32 model inputs.

The same engine and data in one process, the two storages alternating, at the tutorial's batch of 64 without
augmentation (where normalising a batch weighs most) and with the default recipe (batch 128, augmented); then the
memory each storage holds for the window's training set (MNIST train + test, pen digits mixed in).

    python bench/pixels_kept.py [--steps 150] [--repeats 9]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, Stopwatch, bench_main, interleaved, median, require_mnist
from lenet_core.datasets import TensorData, load_mnist
from lenet_core.model import new_model
from lenet_core.pen_digits import WINDOW_PEN_VARIANTS, mix, training_set
from lenet_core.training import PRESETS, Trainer


def engine(train: TensorData, config, steps: int):
    trainer = Trainer(new_model(0), config.replace(device="cpu"), train)

    def run() -> float:
        with Stopwatch() as watch:
            for _ in range(steps):
                trainer.step()
                if trainer.epoch_complete:
                    trainer.finish_epoch()
        return steps * config.batch_size / watch.elapsed_s

    return run


def as_inputs(data: TensorData) -> TensorData:
    return TensorData(data.inputs(), data.labels, data.name, data.sampled)


def measure(steps: int = 150, repeats: int = 9) -> dict[str, float]:
    data = load_mnist(require_mnist())
    train = mix(data.train, training_set("shipped", WINDOW_PEN_VARIANTS))
    result = {}
    for name, config in (("tutorial", PRESETS["tutorial"].replace(batch_size=64)), ("default", PRESETS["default"])):
        runs = {"pixels": engine(train, config, steps), "inputs": engine(as_inputs(train), config, steps)}
        for run in runs.values():
            run()  # warm-up
        rates = interleaved(runs, repeats)
        result[f"{name}_ratio"] = median([p / i for p, i in zip(rates["pixels"], rates["inputs"], strict=True)])
        result[f"{name}_pixels"], result[f"{name}_inputs"] = median(rates["pixels"]), median(rates["inputs"])
    held = (train, data.test)
    result["pixels_mb"] = sum(d.images.nbytes for d in held) / 2**20
    result["inputs_mb"] = sum(d.inputs().nbytes for d in held) / 2**20
    return result


def figures(r: dict[str, float]) -> list[Figure]:
    return [
        Figure("batch 64, no augmentation: pixels / inputs", r["tutorial_ratio"], target=">= 0.97"),
        Figure("  kept as pixels", r["tutorial_pixels"], "samples/s", digits=0),
        Figure("  kept as model inputs", r["tutorial_inputs"], "samples/s", digits=0),
        Figure("default recipe (batch 128, augmented): pixels / inputs", r["default_ratio"], target=">= 0.97"),
        Figure("  kept as pixels", r["default_pixels"], "samples/s", digits=0),
        Figure("  kept as model inputs", r["default_inputs"], "samples/s", digits=0),
        Figure("window's training set + test set, kept as pixels", r["pixels_mb"], "MB", digits=0),
        Figure("  kept as model inputs", r["inputs_mb"], "MB", digits=0),
    ]


def main() -> None:
    bench_main(__doc__, measure, figures, steps=150, repeats=9)


if __name__ == "__main__":
    main()
