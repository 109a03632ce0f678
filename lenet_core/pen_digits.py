"""Pen digits as training data: real trajectories, drawn again the many ways people draw on the canvas.

Each pen digit (lenet_core.unipen) is placed on the canvas as a person might have drawn it there -- any size from
about half to most of the square, anywhere on it, any pen width the slider offers, a little rotated, slanted,
squeezed or stretched, the trajectory itself jittered -- and rendered by the one rasteriser (lenet_core.strokes)
into MNIST's frame. `render_variants` makes a fixed number of such variants per digit (rendering on the fly would
cost more than the training step); the engine's image augmentation then varies them further at every batch.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets import TensorData
from .strokes import SIZE, Stroke, render_digits
from .unipen import PenDigit, read_unipen

log = logging.getLogger(__name__)

SHIPPED_NAME = "pendigits-orig.tra.gz"
PEN_WIDTHS = (4.0, 40.0)  # the canvas's pen-width slider, in canvas units
RENDER_CHUNK = 512  # drawings rendered in one pass of tensor operations
PEN_VARIANTS = 2  # canvas-like drawings of each pen digit in the default recipe (chosen on held-out writers)


@dataclass(frozen=True)
class Drawing:
    """How a digit is drawn on the canvas: the ranges each variant is drawn from."""

    size: tuple[float, float] = (0.45, 0.9)  # the longer side of the digit, as a share of the canvas
    margin: float = 0.04  # the digit stays this share of the canvas away from its edges
    rotation_deg: float = 12.0  # +- degrees
    slant: float = 0.25  # +- horizontal shear (x += slant * y)
    aspect: tuple[float, float] = (0.75, 1.3)  # width stretched by this factor (log-uniform)
    jitter: float = 0.012  # the trajectory's wobble, as a share of the digit's size (smoothed along the stroke)
    pen_width: tuple[float, float] = PEN_WIDTHS


CANVAS_LIKE = Drawing()
# How the benchmarks place held-out writers' digits: as a person with the default pen would, no distortion.
AS_DRAWN = Drawing(size=(0.45, 0.85), margin=0.08, rotation_deg=0, slant=0, aspect=(1, 1), jitter=0, pen_width=(18, 18))


def shipped_pen_digits() -> Path:
    """The UCI pen digits shipped in the package (CC BY 4.0, see resources/README.md)."""
    from .inference import RESOURCES

    return RESOURCES / SHIPPED_NAME


def resolve(path: str | os.PathLike) -> Path:
    """A pen-digits file, where "shipped" names the one in the package."""
    return shipped_pen_digits() if str(path) == "shipped" else Path(path)


def _smooth_noise(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """n x 2 displacements that wander smoothly along a stroke (a moving average of white noise)."""
    noise = rng.normal(0.0, scale, (n + 4, 2))
    kernel = np.ones(5) / math.sqrt(5)  # keeps the per-point spread about `scale`
    return np.stack([np.convolve(noise[:, i], kernel, mode="valid") for i in range(2)], 1)[:n]


def draw_on_canvas(
    digit: PenDigit, rng: np.random.Generator, how: Drawing = CANVAS_LIKE, canvas: float = SIZE
) -> list[Stroke]:
    """One way a person might have drawn `digit` on the canvas: strokes in canvas units."""
    strokes = [np.asarray(s, np.float64) for s in digit.strokes]
    points = np.concatenate(strokes)
    centre = (points.min(0) + points.max(0)) / 2
    extent = max(float(np.ptp(points, 0).max()), 1e-6)
    angle = math.radians(rng.uniform(-how.rotation_deg, how.rotation_deg))
    slant = rng.uniform(-how.slant, how.slant)
    stretch = math.exp(rng.uniform(math.log(how.aspect[0]), math.log(how.aspect[1])))
    cos, sin = math.cos(angle), math.sin(angle)
    # Stretch the width, slant, then rotate, around the digit's centre.
    matrix = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, slant], [0.0, 1.0]]) @ np.diag([stretch, 1.0])
    moved = [
        (s - centre) @ matrix.T + (_smooth_noise(rng, len(s), how.jitter * extent) if how.jitter else 0.0)
        for s in strokes
    ]
    every = np.concatenate(moved)
    low, high = every.min(0), every.max(0)
    width = float(rng.uniform(*how.pen_width))
    size = rng.uniform(*how.size) * canvas  # the ink's longer side, the pen's width included
    scale = max(size - width, 1.0) / max(float((high - low).max()), 1e-6)
    # Anywhere inside the margins, ink included (a wide pen reaches width / 2 beyond the points).
    room = canvas * (1 - 2 * how.margin) - (high - low) * scale - width
    offset = canvas * how.margin + width / 2 + rng.uniform(0, 1, 2) * np.maximum(room, 0) - low * scale
    return [Stroke((s * scale + offset).astype(np.float32), width) for s in moved]


def render_variants(
    digits: Sequence[PenDigit], variants: int, seed: int, how: Drawing = CANVAS_LIKE, name: str = "pen digits"
) -> TensorData:
    """`variants` canvas-like drawings of every digit, rendered: TensorData of len(digits) * variants images."""
    rng = np.random.default_rng(seed)
    drawings = [draw_on_canvas(digit, rng, how) for _ in range(variants) for digit in digits]
    labels = np.array([digit.label for _ in range(variants) for digit in digits], np.uint8)
    images = (
        np.concatenate([render_digits(drawings[i : i + RENDER_CHUNK]) for i in range(0, len(drawings), RENDER_CHUNK)])
        if drawings
        else np.zeros((0, 28, 28), np.uint8)
    )
    log.info("rendered %d drawings of %d pen digits", len(drawings), len(digits))
    return TensorData.from_arrays(images, labels, name)


def parse_writers(text: str) -> set[int]:
    """ "25-30" or "1,3,5-7" -> the writer numbers; ValueError naming what is wrong."""
    writers: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"writers must look like 25-30 or 1,3,5-7, not {text!r}") from None
        if first < 1 or last < first:
            raise ValueError(f"writers must look like 25-30 or 1,3,5-7, not {text!r}")
        writers.update(range(first, last + 1))
    return writers


def load_pen_digits(path: str | os.PathLike, writers: set[int] | None = None) -> list[PenDigit]:
    """The pen digits of a UNIPEN file ("shipped": the package's), of some writers only if asked."""
    digits = read_unipen(resolve(path))
    return digits if writers is None else [d for d in digits if d.writer in writers]
