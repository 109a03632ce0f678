"""Teaching the network a person's digits: does it learn them without forgetting MNIST?

Ten "drawn" digits that the shipped model gets wrong (t10k digits redrawn on a 280x280 canvas as in
canvas_robustness.py, taken from the last 1,000 test images) are taught one after the other with `Trainer.teach`
(a few SGD steps on the new digit mixed with replayed train20k samples). Reported: how many of the ten the model
then gets right, and its accuracy on the other 9,000 test images before and after.

    python bench/teach.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.canvas_robustness import draw_on_canvas
from bench.common import Figure, require_mnist
from lenet_core.datasets import TensorData, load_mnist
from lenet_core.idx import read_images
from lenet_core.inference import default_model, predict
from lenet_core.preprocess import prepare
from lenet_core.training import PRESETS, Trainer

TARGET_DROP_POINTS = 0.5


def measure() -> dict:
    """Teach ten misread drawings in turn; how many are then read right, and held-out accuracy before and after."""
    data = load_mnist(require_mnist())
    held_out = TensorData(data.test.images[:9000], data.test.labels[:9000], "t10k[:9000]")
    trainer = Trainer(default_model(), PRESETS["default"].replace(device="cpu"), data.train)
    before = trainer.evaluate(held_out).accuracy

    raw = read_images(data.files.test.images)
    rng = np.random.default_rng(0)
    drawn = []
    for i in range(9000, 10000):
        canvas = draw_on_canvas(raw[i], rng)
        label = int(data.test.labels[i])
        if predict(trainer.net, canvas).digit != label:
            drawn.append((canvas, label))
        if len(drawn) == 10:
            break

    taught_images, taught_labels, steps = [], [], []
    for canvas, label in drawn:
        # The earlier digits come along, as the window does with the My-digits collection.
        also = TensorData(torch.cat(taught_images), torch.tensor(taught_labels)) if taught_images else None
        steps.append(trainer.teach(prepare(canvas), torch.tensor([label]), also=also)[0])
        taught_images.append(prepare(canvas))
        taught_labels.append(label)
    right = sum(predict(trainer.net, canvas).digit == label for canvas, label in drawn)
    after = trainer.evaluate(held_out).accuracy
    return {"taught": len(drawn), "right": right, "steps": steps, "before": before, "after": after}


def figures(result: dict) -> list[Figure]:
    """Share of the taught digits read right afterwards, and how much held-out accuracy that cost."""
    drop = 100 * (result["before"] - result["after"])
    taught = result["taught"]
    return [
        Figure("teach: taught digits read right after", result["right"], f"of {taught}", f">= {taught}", 0),
        Figure("  held-out accuracy drop (t10k 0-8999)", drop, "points", f"<= {TARGET_DROP_POINTS}"),
    ]


def main() -> None:
    r = measure()
    print(f"taught {r['taught']} drawn digits the shipped model got wrong, one after the other")
    print(f"right after teaching     : {r['right']} / {r['taught']}  (target: all; SGD steps per digit: {r['steps']})")
    print(f"held-out accuracy before : {r['before']:.4f}  (t10k images 0-8999)")
    print(f"held-out accuracy after  : {r['after']:.4f}")
    drop = 100 * (r["before"] - r["after"])
    print(f"drop                     : {drop:+.2f} points  (target <= {TARGET_DROP_POINTS:.2f})")


if __name__ == "__main__":
    main()
