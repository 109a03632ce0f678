"""Does a digit drawn on the canvas get recognised as well as the MNIST image it came from?

Each t10k digit is re-drawn on a 280x280 canvas the way a person would draw it: cropped to its ink, upscaled so its
longer side is 40-90 % of the canvas, put at a random position, made binary (a pen has no grey), and its strokes
thickened or thinned by a random amount (pens differ). Then `prepare` + the model classify the canvas. Also times
`prepare` on a 280x280 drawing.

    python bench/canvas_robustness.py [--checkpoint resources/lenet_mnist.pt] [--limit N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, require_mnist
from lenet_core.checkpoint import load_model
from lenet_core.datasets import find_mnist
from lenet_core.idx import read_images, read_labels
from lenet_core.inference import DEFAULT_WEIGHTS
from lenet_core.preprocess import denormalize, normalize_batch, prepare

CANVAS = 280
TARGET_ACCURACY_PCT = 98.0
TARGET_DROP_POINTS = 1.0
TARGET_PREPARE_MS = 2.0


def draw_on_canvas(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 MNIST digit -> a 280x280 uint8 canvas drawing, white binary strokes on black."""
    rows = np.flatnonzero(digit.max(axis=1) > 0)
    cols = np.flatnonzero(digit.max(axis=0) > 0)
    crop = torch.from_numpy(digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255.0)
    size = rng.uniform(0.4, 0.9) * CANVAS
    scale = size / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    big = F.interpolate(crop[None, None], size=(h, w), mode="bilinear", align_corners=False)
    strokes = (big > 0.5).float()
    # A pen differs from MNIST's: grow or shrink the strokes by up to a few percent of the digit's size.
    radius = round(rng.uniform(-0.02, 0.04) * size)
    if radius != 0:
        k = 2 * abs(radius) + 1
        pad = F.pad(strokes, (k, k, k, k))
        if radius > 0:
            pad = F.max_pool2d(pad, k, stride=1, padding=k // 2)
        else:
            pad = -F.max_pool2d(-pad, k, stride=1, padding=k // 2)
        thinned = pad[..., k:-k, k:-k]
        strokes = thinned if thinned.sum() > 0 else strokes  # never erase the whole digit
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    top = rng.integers(0, CANVAS - h + 1)
    left = rng.integers(0, CANVAS - w + 1)
    canvas[top : top + h, left : left + w] = (strokes[0, 0].numpy() * 255).astype(np.uint8)
    return canvas


def measure(
    checkpoint: str = str(DEFAULT_WEIGHTS), limit: int | None = None, seed: int = 0, save_examples: str | None = None
) -> dict:
    """Accuracy on the raw test images and on their canvas drawings, and the median time of `prepare`."""
    files = find_mnist(require_mnist())
    images = read_images(files.test.images)[:limit]
    labels = read_labels(files.test.labels)[:limit]
    net = load_model(checkpoint)
    torch.set_grad_enabled(False)

    raw_predictions = net(normalize_batch(images)).argmax(1).numpy()
    raw_accuracy = float((raw_predictions == labels).mean())

    rng = np.random.default_rng(seed)
    inputs, prepare_ms = [], []
    examples = []
    for i, digit in enumerate(images):
        canvas = draw_on_canvas(digit, rng)
        started = time.perf_counter()
        x = prepare(canvas)
        prepare_ms.append((time.perf_counter() - started) * 1e3)
        inputs.append(x)
        if save_examples and i < 16:
            examples.append((canvas, x))
    canvas_predictions = net(torch.cat(inputs)).argmax(1).numpy()
    if save_examples:
        save_sheet(examples, save_examples)
    return {
        "images": len(images),
        "test_file": files.test.images.name,
        "raw_accuracy": raw_accuracy,
        "canvas_accuracy": float((canvas_predictions == labels).mean()),
        "prepare_median_ms": statistics.median(prepare_ms),
    }


def figures(result: dict) -> list[Figure]:
    """Canvas accuracy, its drop from the raw images' accuracy, and the time `prepare` takes on a drawing."""
    accuracy = 100 * result["canvas_accuracy"]
    drop = 100 * result["raw_accuracy"] - accuracy
    return [
        Figure("accuracy on 280x280 canvas drawings", accuracy, "%", f">= {TARGET_ACCURACY_PCT}"),
        Figure("  drop from the raw 28x28 images", drop, "points", f"<= {TARGET_DROP_POINTS}"),
        Figure("prepare() on a 280x280 drawing, median", result["prepare_median_ms"], "ms", f"< {TARGET_PREPARE_MS}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--limit", type=int, default=None, help="use only the first N test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-examples", metavar="PNG", help="write a sheet of drawn canvases and what prepare made")
    args = parser.parse_args()
    r = measure(args.checkpoint, args.limit, args.seed, args.save_examples)
    print(f"model: {args.checkpoint}")
    print(f"test images: {r['images']} ({r['test_file']})")
    print(f"accuracy on the raw 28x28 images : {r['raw_accuracy']:.4f}")
    target = TARGET_ACCURACY_PCT / 100
    print(f"accuracy on 280x280 canvas drawings: {r['canvas_accuracy']:.4f}  (target >= {target:.4f})")
    print(
        f"difference                        : {100 * (r['raw_accuracy'] - r['canvas_accuracy']):+.2f} points "
        f"(target <= {TARGET_DROP_POINTS:.2f})"
    )
    print(f"prepare() on 280x280, median       : {r['prepare_median_ms']:.3f} ms  (target < {TARGET_PREPARE_MS:g} ms)")


def save_sheet(examples, path: str) -> None:
    """Canvases (downscaled) above what the network sees, for a human to look at."""
    from PIL import Image

    tiles = []
    for canvas, x in examples:
        seen = (denormalize(x[0, 0]).numpy() * 255).astype(np.uint8)
        top = Image.fromarray(canvas).resize((96, 96), Image.BOX)
        bottom = Image.fromarray(seen).resize((96, 96), Image.NEAREST)
        tile = Image.new("L", (100, 196), 128)
        tile.paste(top, (2, 2))
        tile.paste(bottom, (2, 98))
        tiles.append(tile)
    sheet = Image.new("L", (100 * len(tiles), 196), 128)
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (100 * i, 0))
    sheet.save(path)


if __name__ == "__main__":
    main()
