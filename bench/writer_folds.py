"""Every pen writer read by a model that never saw them: the default recipe cross-validated over writer folds.

The 30 writers of the shipped pen digits are split into folds of consecutive writers (5 folds: 1-6, 7-12, ...,
25-30). For each fold the default recipe (`PRESETS["default"]`, the engine's `Trainer.run()`, `pen_digits.mix` of
MNIST and the pen drawings, seed = the fold's number) trains a fresh LeNet on the first 18,000 images of train20k and
the other folds' writers, rendered `PEN_VARIANTS` ways as `lenet-core train` renders them; then it reads its own
fold's digits placed as a person with the default pen would draw them (`AS_DRAWN`, seed 0, the core path of
bench/pen_digits.py) and the last 2,000 images of train20k. t10k is not used.

Why: bench/pen_digits.py scores one hold-out model on 6 writers (1,498 digits), where one writer's style moves the
headline by a tenth of a point and decides "the worst writer". Here all 7,494 digits and all 30 writers count, each
read by a model trained without its writer, so two recipes can be told apart by five times as many digits, and the
share of writers a recipe reads badly is measured rather than guessed from six. ~3-4 minutes on 2 cores.

    python bench/writer_folds.py [--folds 5] [--epochs 15] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.common import Figure, print_figures, require_mnist
from bench.pen_digits import TARGET_WORST_WRITER_PCT, breakdown, classify_batch, core_inputs
from lenet_core.datasets import TensorData, load_mnist
from lenet_core.model import new_model
from lenet_core.pen_digits import AS_DRAWN, PEN_VARIANTS, draw_on_canvas, load_pen_digits, mix, render_variants
from lenet_core.training import PRESETS, EpochEvent, Trainer
from lenet_core.unipen import split_by_writer
from lenet_core.unipen import writers as writers_of

MNIST_TRAINED = 18_000  # of train20k; the rest is scored


def fold_writers(writers: list[int], folds: int) -> list[list[int]]:
    """Writers in `folds` runs of consecutive writers, as even as can be."""
    return [part.tolist() for part in np.array_split(np.array(sorted(writers)), folds)]


def measure(folds: int = 5, epochs: int = PRESETS["default"].epochs) -> dict:
    """The pen digits' breakdown (overall, per writer, per digit, confusions), each digit read by its fold's model;
    per fold: held-out MNIST accuracy and training seconds."""
    mnist = load_mnist(require_mnist(), need_test=False).train
    mnist_pixels, mnist_labels = mnist.pixels().numpy(), mnist.labels.numpy()
    mnist_train = TensorData.from_arrays(
        mnist_pixels[:MNIST_TRAINED], mnist_labels[:MNIST_TRAINED], "train20k, first 18k"
    )
    mnist_held = TensorData.from_arrays(mnist_pixels[MNIST_TRAINED:], mnist_labels[MNIST_TRAINED:], "train20k, last 2k")
    digits = load_pen_digits("shipped")
    labels, writers, predicted, per_fold = [], [], [], []
    for fold, held_writers in enumerate(fold_writers(writers_of(digits), folds), start=1):
        config = PRESETS["default"].replace(device="cpu", epochs=epochs, seed=fold)
        trained_on, held = split_by_writer(digits, held_writers)
        pen = render_variants(trained_on, PEN_VARIANTS, seed=config.seed)
        started = time.perf_counter()
        trainer = Trainer(new_model(config.seed), config, mix(mnist_train, pen), mnist_held)
        mnist_accuracy = None
        for event in trainer.run():
            if isinstance(event, EpochEvent):
                mnist_accuracy = event.test_accuracy
        training_s = time.perf_counter() - started
        rng = np.random.default_rng(0)
        images = core_inputs([draw_on_canvas(digit, rng, AS_DRAWN) for digit in held])
        labels.append(np.array([digit.label for digit in held]))
        writers.append(np.array([digit.writer for digit in held]))
        predicted.append(classify_batch(trainer.net.eval(), images))
        per_fold.append(
            {
                "writers": held_writers,
                "pen_pct": 100 * float((predicted[-1] == labels[-1]).mean()),
                "mnist_pct": 100 * mnist_accuracy,
                "training_s": training_s,
            }
        )
        print(f"fold {fold} (writers {held_writers[0]}-{held_writers[-1]}): {per_fold[-1]}", file=sys.stderr)
    read = breakdown(np.concatenate(labels), np.concatenate(writers), np.concatenate(predicted))
    return {"epochs": epochs, "per_fold": per_fold, **read}


def figures(result: dict) -> list[Figure]:
    """All writers' digits read right, each writer by the model that never saw them; the writers read worst."""
    pct = {writer: writer_pct for writer, (_, writer_pct) in result["per_writer"].items()}
    total = result["digits"]
    right = round(result["accuracy_pct"] * total / 100)
    worst = sorted(pct, key=pct.get)
    under = [writer for writer in worst if pct[writer] < TARGET_WORST_WRITER_PCT]
    folds = result["per_fold"]
    return [
        Figure(
            f"{len(pct)} pen writers, each held out ({right:,} of {total:,} digits, core path)",
            result["accuracy_pct"],
            "%",
        ),
        Figure(
            f"  writers under {TARGET_WORST_WRITER_PCT:g} %: {len(under)} ({', '.join(map(str, under)) or '-'})",
            len(under),
            digits=0,
        ),
        *(Figure(f"  writer {writer}", pct[writer], "%", digits=1) for writer in worst[:3]),
        Figure("  train20k's last 2,000 (mean over folds)", float(np.mean([f["mnist_pct"] for f in folds])), "%"),
        Figure("  training a fold (mean)", float(np.mean([f["training_s"] for f in folds])), "s", digits=1),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=PRESETS["default"].epochs)
    parser.add_argument("--json", metavar="PATH", help="also write the raw results and figures here")
    args = parser.parse_args()
    result = measure(args.folds, args.epochs)
    table = figures(result)
    print_figures(result, table, args.json)


if __name__ == "__main__":
    main()
