"""Teach: learn one labelled drawing on the spot, the way the window's Teach does it.

A drawing is taught as itself and as TEACH_VARIANTS other ways the same hand might have drawn it, re-drawn from its
strokes (size, place, pen width, slant, wobble: `pen_digits.redraw`), mixed in every step with the user's earlier
digits and replayed training data so that nothing else is forgotten (`Trainer.teach`). The numbers below were chosen
on held-out pen writers 19-24 with a model that never saw them (bench/README, "Teaching"); bench/teach_writer.py
measures the whole loop on writers 25-30 through the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .datasets import TensorData
from .pen_digits import redraw, redraw_all
from .preprocess import normalize_batch, pad_pixels
from .strokes import Stroke
from .training import Trainer

TEACH_VARIANTS = 32  # re-drawings of a taught drawing
TEACH_LR = 0.005
TEACH_MIN_STEPS = 10  # SGD steps a teach takes at least, even when the drawing is already read right
TEACH_MAX_STEPS = 30
REMEMBERED_VARIANTS = 4  # re-drawings of each taught drawing that come along in the later teaches
REMEMBERED_DRAWINGS = 640  # the most recent taught drawings remembered so


class Remembered:
    """Re-drawings of the drawings taught so far, mixed into later teaches with the user's saved digits; kept as
    pixels, as the saved digits are (a join of the two stays pixels)."""

    def __init__(self) -> None:
        self._images: list[torch.Tensor] = []  # each REMEMBERED_VARIANTS x 1 x 32 x 32 uint8
        self._labels: list[int] = []

    def __len__(self) -> int:
        return len(self._labels)

    def add(self, pixels: np.ndarray, label: int) -> None:
        """Re-drawings (N x 28 x 28 uint8) of one drawing taught as label: the first REMEMBERED_VARIANTS are kept."""
        self._images.append(pad_pixels(np.ascontiguousarray(pixels[:REMEMBERED_VARIANTS])))
        self._labels.append(int(label))
        del self._images[:-REMEMBERED_DRAWINGS], self._labels[:-REMEMBERED_DRAWINGS]

    def add_drawings(self, drawings: Sequence[tuple[int, Sequence[Stroke]]], seed: int) -> None:
        """Re-draw saved drawings (label, strokes), oldest first, e.g. those of earlier sessions."""
        if not drawings:
            return
        images = redraw_all([s for _, s in drawings], REMEMBERED_VARIANTS, np.random.default_rng(seed))
        for k, (label, _) in enumerate(drawings):
            self.add(images[k * REMEMBERED_VARIANTS : (k + 1) * REMEMBERED_VARIANTS], label)

    def clear(self) -> None:
        self._images.clear()
        self._labels.clear()

    def with_(self, also: TensorData | None) -> TensorData | None:
        """`also` (e.g. the user's saved digits) and these re-drawings, as one set."""
        if not self._images:
            return also
        labels = torch.tensor([lab for images, lab in zip(self._images, self._labels, strict=True) for _ in images])
        mine = TensorData(torch.cat(self._images), labels, "re-drawn taught digits")
        return mine if also is None or not len(also) else TensorData.join([also, mine])


@dataclass(frozen=True)
class Taught:
    steps: int  # SGD steps taken
    learnt: bool  # the drawing is now read as its label
    confidence: float  # the network's probability for the label, after teaching


def teach_drawing(
    trainer: Trainer,
    drawing: torch.Tensor,
    label: int,
    strokes: Sequence[Stroke] | None,
    *,
    also: TensorData | None = None,
    replay_from: TensorData | Sequence[TensorData] | None = None,
    remembered: Remembered | None = None,
    seed: int = 0,
) -> Taught:
    """Teach `drawing` (1 x 1 x 32 x 32, as the model reads it) as a `label`, with re-drawings of its strokes when
    they are known: how many steps it took, and how the network reads the drawing now. `remembered` brings the
    re-drawings of earlier teaches along, and keeps some of this one's."""
    images = drawing
    if strokes:
        pixels = redraw(strokes, TEACH_VARIANTS, np.random.default_rng(seed))
        images = torch.cat([drawing, normalize_batch(pixels)])
    if remembered is not None:
        also = remembered.with_(also)
    steps, learnt = trainer.teach(
        images,
        torch.full((len(images),), int(label), dtype=torch.int64),
        check=(drawing, torch.tensor([int(label)])),
        also=also,
        replay_from=replay_from,
        lr=TEACH_LR,
        min_steps=TEACH_MIN_STEPS,
        max_steps=TEACH_MAX_STEPS,
    )
    if remembered is not None and strokes:
        remembered.add(pixels, label)
    with torch.inference_mode():
        trainer.net.eval()
        probabilities = torch.softmax(trainer.net(drawing.to(trainer.device)).float(), 1)[0].cpu()
    return Taught(steps, learnt, float(probabilities[int(label)]))
