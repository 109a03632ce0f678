"""Inference speed, done as the app does it: one drawing on the GUI thread, the whole test set on the worker thread.

Single image: `classify` (forward with the conv activations for display, softmax) on a prepared 1x1x32x32 input with
the shipped model, on this thread kept to one torch thread (`use_threads(1)`, as the window does); median of many
calls. Batch: the engine's evaluation (`Trainer.evaluate`, batches of 250, channels-last) of all 10,000 t10k
images on a second thread using all the cores (`use_threads(CORES)`, as the training worker does); median of passes.

    python bench/inference.py [--calls 2000] [--passes 7]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, format_table, median, require_mnist
from lenet_core.datasets import load_mnist
from lenet_core.inference import classify, default_model
from lenet_core.threads import CORES, use_threads
from lenet_core.training import PRESETS, Trainer

TARGET_SINGLE_MS = 0.5
TARGET_IMAGES_PER_S = 20_000


def single_image_ms(test, calls: int) -> list[float]:
    """Milliseconds per `classify` call on this thread, each digit of the test set in turn."""
    use_threads(1)
    net = default_model()
    times = []
    for i in range(calls + 50):  # the first 50 are a warm-up
        input = test.inputs(slice(i, i + 1))
        started = time.perf_counter()
        classify(net, input)
        times.append((time.perf_counter() - started) * 1e3)
    return times[50:]


def batch_images_per_s(test, passes: int) -> list[float]:
    """Images per second of whole-test-set evaluations, on a thread of its own with all the cores."""
    rates: list[float] = []

    def work() -> None:
        use_threads(CORES)
        trainer = Trainer(default_model(), PRESETS["default"].replace(device="cpu"), None)
        trainer.evaluate(test)  # warm-up
        for _ in range(passes):
            started = time.perf_counter()
            trainer.evaluate(test)
            rates.append(len(test) / (time.perf_counter() - started))

    thread = threading.Thread(target=work, name="evaluation")
    thread.start()
    thread.join()
    return rates


def measure(calls: int = 2000, passes: int = 7) -> dict:
    test = load_mnist(require_mnist(), need_train=False).test
    single = single_image_ms(test, calls)
    return {
        "single_median_ms": median(single),
        "single_p95_ms": sorted(single)[int(0.95 * len(single))],
        "batch_images_per_s": median(batch_images_per_s(test, passes)),
        "cores": CORES,
    }


def figures(result: dict) -> list[Figure]:
    """Median milliseconds per single drawing, and test-set images per second."""
    single, batch = result["single_median_ms"], result["batch_images_per_s"]
    return [
        Figure("single-image inference, GUI thread, median", single, "ms", f"< {TARGET_SINGLE_MS}", digits=3),
        Figure("  p95", result["single_p95_ms"], "ms", digits=3),
        Figure(f"batch inference, t10k, {result['cores']} cores", batch, "images/s", f">= {TARGET_IMAGES_PER_S}", 0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    print(format_table(figures(measure(args.calls, args.passes))))


if __name__ == "__main__":
    main()
