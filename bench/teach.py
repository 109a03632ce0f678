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
from bench.common import require_mnist
from lenet_core.datasets import TensorData, load_mnist
from lenet_core.inference import default_model, predict
from lenet_core.preprocess import prepare
from lenet_core.training import PRESETS, Trainer


def main() -> None:
    data = load_mnist(require_mnist())
    held_out = TensorData(data.test.images[:9000], data.test.labels[:9000], "t10k[:9000]")
    trainer = Trainer(default_model(), PRESETS["default"].replace(device="cpu"), data.train)
    before = trainer.evaluate(held_out).accuracy

    from lenet_core.idx import read_images

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
    print(f"taught {len(drawn)} drawn digits the shipped model got wrong, one after the other")
    print(f"right after teaching     : {right} / {len(drawn)}  (target: all; SGD steps per digit: {steps})")
    print(f"held-out accuracy before : {before:.4f}  (t10k images 0-8999)")
    print(f"held-out accuracy after  : {after:.4f}")
    print(f"drop                     : {100 * (before - after):+.2f} points  (target <= 0.50)")


if __name__ == "__main__":
    main()
