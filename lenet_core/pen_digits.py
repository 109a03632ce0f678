"""Pen digits as training data: real trajectories, drawn again the many ways people draw on the canvas.

Each pen digit (lenet_core.unipen) is placed on the canvas as a person might have drawn it there -- any size from
about half to most of the square, anywhere on it, any pen width the slider offers, a little rotated, slanted,
squeezed or stretched, the trajectory itself jittered -- and rendered by the one rasteriser (lenet_core.strokes)
into MNIST's frame. `render_variants` makes a fixed number of such variants per digit (rendering on the fly would
cost more than the training step); the engine's image augmentation then varies them further at every batch.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
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
RENDER_VERSION = 1  # part of the cache's file name: bump it when the drawing ranges or the rasteriser change
PEN_VARIANTS = 6  # canvas-like drawings of each pen digit in the default recipe (chosen on held-out writers 25-30)
# Each epoch of the default recipe takes all of MNIST and half as many pen drawings, drawn afresh at random from the
# rendered variants. Measured on writers held out (bench/writer_folds.py: all 30 writers, each read by a model trained
# without them, two sets of seeds): as many drawings as MNIST images read 99.09 % of them, half as many 98.99 %, with
# epochs a quarter shorter, so that the default `train` reaches 99 % t10k within 30 s again (resources/README.md);
# all the variants in every epoch made an epoch 3x longer, for less on MNIST and no more on held-out writers.
PEN_PER_MNIST = 0.5
# In the window: rendered in ~6 s the first time (6 would take ~18 s), and enough to go on training from the shipped
# weights.
WINDOW_PEN_VARIANTS = 2


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
    return _draw(digit.strokes, rng, how, canvas)


def _draw(trajectories: Sequence[np.ndarray], rng: np.random.Generator, how: Drawing, canvas: float) -> list[Stroke]:
    """Trajectories (N x 2 points each, y down, any units) drawn on the canvas as `how` says."""
    strokes = [np.asarray(s, np.float64) for s in trajectories]
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


def redraw(strokes: Sequence[Stroke], count: int, rng: np.random.Generator, how: Drawing = CANVAS_LIKE) -> np.ndarray:
    """`count` other ways the same hand might have drawn a drawing (strokes in canvas units), rendered as the network
    sees them: count x 28 x 28 uint8. What teaching learns a drawing from: its size, place, pen width, slant and
    wobble vary as in the pen digits the network was trained on."""
    return redraw_all([strokes], count, rng, how)


def redraw_all(
    drawings: Sequence[Sequence[Stroke]], count: int, rng: np.random.Generator, how: Drawing = CANVAS_LIKE
) -> np.ndarray:
    """`count` re-drawings of each drawing, rendered in chunks: len(drawings) * count x 28 x 28 uint8, the first
    drawing's first."""
    if any(not strokes for strokes in drawings):
        raise ValueError("a drawing to redraw needs at least one stroke")
    return render_in_chunks([_draw([s.points for s in st], rng, how, SIZE) for st in drawings for _ in range(count)])


def render_in_chunks(drawings: Sequence[Sequence[Stroke]]) -> np.ndarray:
    """Many drawings through the one rasteriser, RENDER_CHUNK at a time (its tensors grow with the ink drawn):
    N x 28 x 28 uint8."""
    chunks = [render_digits(drawings[i : i + RENDER_CHUNK]) for i in range(0, len(drawings), RENDER_CHUNK)]
    return np.concatenate(chunks) if chunks else np.zeros((0, 28, 28), np.uint8)


class RenderingStopped(Exception):
    """should_stop() said so between two chunks of drawings."""


def render_images(
    digits: Sequence[PenDigit],
    variants: int,
    seed: int,
    how: Drawing = CANVAS_LIKE,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`variants` canvas-like drawings of every digit, rendered: N x 28 x 28 uint8 images and N labels.

    should_stop is asked between chunks of RENDER_CHUNK drawings (~0.2 s each): a window closing does not wait for
    the whole set (~6 s).
    """
    rng = np.random.default_rng(seed)
    every = [digit for _ in range(variants) for digit in digits]
    labels = np.array([digit.label for digit in every], np.uint8)
    images = []
    for start in range(0, len(every), RENDER_CHUNK):
        if should_stop is not None and should_stop():
            raise RenderingStopped(f"stopped after {start} of {len(every)} drawings")
        images.append(render_digits([draw_on_canvas(digit, rng, how) for digit in every[start : start + RENDER_CHUNK]]))
    log.info("rendered %d drawings of %d pen digits", len(every), len(digits))
    return (np.concatenate(images) if images else np.zeros((0, 28, 28), np.uint8)), labels


def mix(
    mnist: TensorData | None, pen: TensorData | None, *others: TensorData | None, name: str = ""
) -> TensorData | None:
    """The default recipe's training set: MNIST, pen drawings and any other sets (e.g. the user's digits) in every
    batch. An epoch takes every image of MNIST and of the others, and PEN_PER_MNIST pen drawings an MNIST image,
    drawn afresh each epoch (all of them, without MNIST). A set that is None or empty is left out; None when there is
    nothing to train on."""
    parts = [part for part in (mnist, pen, *others) if part is not None and len(part)]
    if not parts:
        return None
    whole = mnist is None or not len(mnist) or pen is None or not len(pen)
    per_epoch = [max(1, round(PEN_PER_MNIST * len(mnist))) if part is pen and not whole else None for part in parts]
    return TensorData.join(parts, name, per_epoch=per_epoch)


def render_variants(
    digits: Sequence[PenDigit], variants: int, seed: int, how: Drawing = CANVAS_LIKE, name: str = "pen digits"
) -> TensorData:
    """`variants` canvas-like drawings of every digit, rendered: TensorData of len(digits) * variants images."""
    return TensorData.from_arrays(*render_images(digits, variants, seed, how), name)


def training_set(
    path: str | os.PathLike,
    variants: int = PEN_VARIANTS,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TensorData:
    """The pen digits of a file as the default recipe trains on them, kept in cache_dir once rendered (the window
    would otherwise render them again at every start: ~5 s on 2 cores)."""
    path = resolve(path)
    cached = None
    if cache_dir is not None:
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        cached = Path(cache_dir) / f"pen-variants-{digest}-{variants}-{seed}-r{RENDER_VERSION}.npz"
        arrays = _read_cache(cached)
        if arrays is not None:
            return TensorData.from_arrays(*arrays, "pen digits")
    images, labels = render_images(read_unipen(path), variants, seed, should_stop=should_stop)
    if cached is not None:
        _write_cache(cached, images, labels)
    return TensorData.from_arrays(images, labels, "pen digits")


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Rendered variants saved earlier, or None when there are none or they are not what this code writes."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["images"], data["labels"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        log.warning("ignoring the cached pen digits %s: %s", path, exc)
        return None
    good = (
        images.dtype == np.uint8
        and images.ndim == 3
        and images.shape[1:] == (28, 28)
        and labels.dtype == np.uint8
        and labels.shape == (len(images),)
        and (labels.size == 0 or labels.max() <= 9)
    )
    if not good:
        log.warning("ignoring the cached pen digits %s: not the arrays this program writes", path)
        return None
    return images, labels


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Best effort, atomic: a cache that cannot be written only costs the rendering next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, images=images, labels=labels)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not keep the rendered pen digits in %s: %s", path.parent, exc)


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
