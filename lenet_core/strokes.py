"""Drawings as vectors: strokes (points and a pen width), and the rasteriser that turns them into the 28x28 digit.

A stroke is what the canvas keeps: its points in canvas units (x right, y down, the canvas square being SIZE units
a side) and the pen width it was drawn with; the pen is round (round caps and joins), anti-aliased. `render_digits`
draws strokes straight into MNIST's frame, the way `preprocess.to_mnist` frames a drawn image: the ink's bounding
box scaled so its longer side is BOX pixels (each pixel the area average of what it covers), full contrast, centre
of mass at the centre. It is what pen digits are trained on; tests/test_strokes.py shows that the canvas's own
raster, framed by to_mnist, gives the same image and the same predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .preprocess import BOX, place_in_field

SIZE = 280  # the canvas square, in canvas units
SUPERSAMPLE = 1  # samples a side per output pixel (the coverage formula approximates a pixel's area well enough)
GRID = BOX * SUPERSAMPLE  # samples a side of the box a digit is drawn into


@dataclass(frozen=True)
class Stroke:
    """One pen-down-to-pen-up line: N x 2 points (x, y) in canvas units, and the pen's width in the same units."""

    points: np.ndarray
    width: float

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ValueError(f"a stroke needs N x 2 points, N >= 1, not shape {points.shape}")
        if not np.isfinite(points).all():
            raise ValueError("a stroke's points must be finite numbers")
        if not (np.isfinite(self.width) and self.width > 0):
            raise ValueError(f"a pen width must be a positive number, not {self.width}")
        object.__setattr__(self, "points", points)


def _segments(strokes: Sequence[Stroke]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every stroke's consecutive point pairs as segments A -> B with the pen's radius; a lone point is A == B."""
    starts, ends, radii = [], [], []
    for stroke in strokes:
        p = stroke.points
        a, b = (p[:-1], p[1:]) if len(p) > 1 else (p, p)
        starts.append(a)
        ends.append(b)
        radii.append(np.full(len(a), stroke.width / 2, np.float32))
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(radii)


@dataclass(frozen=True)
class _Frame:
    """Where a drawing's ink lands: its box in canvas units, mapped onto out_h x out_w pixels of k x k samples."""

    origin: np.ndarray  # (left, top), canvas units
    to_samples: np.ndarray  # samples per canvas unit, (x, y)
    out_h: int
    out_w: int


def _frame(a: np.ndarray, b: np.ndarray, r: np.ndarray, canvas: float) -> _Frame | None:
    """The ink's bounding box (clipped to the canvas) scaled so its longer side is BOX pixels, as to_mnist does."""
    top = max(float((np.minimum(a[:, 1], b[:, 1]) - r).min()), 0.0)
    bottom = min(float((np.maximum(a[:, 1], b[:, 1]) + r).max()), canvas)
    left = max(float((np.minimum(a[:, 0], b[:, 0]) - r).min()), 0.0)
    right = min(float((np.maximum(a[:, 0], b[:, 0]) + r).max()), canvas)
    height, width = bottom - top, right - left
    if height <= 0 or width <= 0:
        return None
    scale = BOX / max(height, width)
    out_h, out_w = max(1, round(height * scale)), max(1, round(width * scale))
    to_samples = np.array([out_w * SUPERSAMPLE / width, out_h * SUPERSAMPLE / height], np.float32)
    return _Frame(np.array([left, top], np.float32), to_samples, out_h, out_w)


def _split(a: np.ndarray, b: np.ndarray, r: np.ndarray, longest: float) -> tuple[np.ndarray, ...]:
    """Segments cut into collinear pieces no longer than `longest` (same ink): every piece's window is then small."""
    pieces = np.maximum(np.ceil(np.linalg.norm(b - a, axis=1) / longest), 1).astype(np.int64)
    if pieces.max() == 1:
        return a, b, r
    owner = np.repeat(np.arange(len(a)), pieces)
    first = np.cumsum(pieces) - pieces
    step = (np.arange(len(owner)) - first[owner]).astype(np.float32)
    t0, t1 = (step / pieces[owner])[:, None], ((step + 1) / pieces[owner])[:, None]
    ab = b[owner] - a[owner]
    return a[owner] + t0 * ab, a[owner] + t1 * ab, r[owner]


def _coverage(a: torch.Tensor, b: torch.Tensor, r: torch.Tensor, owner: torch.Tensor, count: int) -> torch.Tensor:
    """count x GRID x GRID samples (unit squares; segments and radii in sample units, `owner` the grid of each):
    how much of each sample the round pen covers.

    Per segment, the distance d from a sample's centre to the segment; coverage ramps over one sample across the
    edge, r - d + 1/2, and a line thinner than a sample covers at most its width's share of it; the max over the
    segments. Each segment only looks at the window of samples it can reach; segments are grouped by the size of
    that window, so a few thick ones do not make every window large.
    """
    grid = GRID
    low = torch.floor(torch.minimum(a, b) - r[:, None] - 1).long()  # S x 2 (x, y)
    spans = (torch.ceil(torch.maximum(a, b) + r[:, None] + 1).long() - low).amax(1).clamp(max=grid)
    out = torch.zeros(count * grid * grid)
    for span in spans.unique().tolist():
        group = (spans == span).nonzero().squeeze(1)
        steps = torch.arange(span)
        ix, iy = low[group, 0, None] + steps, low[group, 1, None] + steps  # G x span
        px, py = (ix + 0.5).float()[:, None, :], (iy + 0.5).float()[:, :, None]
        ga, gb, radius = a[group], b[group], r[group, None, None]
        ab = gb - ga
        length2 = (ab * ab).sum(1).clamp(min=1e-12)[:, None, None]
        ax, ay, abx, aby = (v[:, None, None] for v in (ga[:, 0], ga[:, 1], ab[:, 0], ab[:, 1]))
        t = (((px - ax) * abx + (py - ay) * aby) / length2).clamp_(0.0, 1.0)
        dx, dy = px - (ax + t * abx), py - (ay + t * aby)
        reach = (radius + 0.5) - torch.sqrt(dx * dx + dy * dy)
        cover = torch.minimum(reach.clamp_(min=0.0), (2 * radius).clamp(max=1.0))  # G x span x span
        inside = ((iy >= 0) & (iy < grid))[:, :, None] & ((ix >= 0) & (ix < grid))[:, None, :]
        flat = owner[group, None, None] * (grid * grid) + iy[:, :, None] * grid + ix[:, None, :]
        out.scatter_reduce_(0, flat[inside], cover[inside], reduce="amax")
    return out.view(count, grid, grid)


def render_digits(drawings: Sequence[Sequence[Stroke]], canvas: float = SIZE) -> np.ndarray:
    """Drawings on a `canvas`-unit square -> N x 28 x 28 uint8 digits as the network sees them (empty: all zero).

    What falls outside the square is clipped off, as the canvas clips it. All drawings' segments are rendered in
    one pass of tensor operations (~0.1 ms a digit, where one drawing at a time costs ~0.5 ms).
    """
    out = np.zeros((len(drawings), 28, 28), np.uint8)
    frames: list[tuple[int, _Frame]] = []
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for i, strokes in enumerate(drawings):
        if not strokes:
            continue
        a, b, r = _segments(strokes)
        frame = _frame(a, b, r, canvas)
        if frame is None:
            continue
        radius = r * float(frame.to_samples.mean())
        a, b, radius = _split((a - frame.origin) * frame.to_samples, (b - frame.origin) * frame.to_samples, radius, 4.0)
        parts.append((a, b, radius, np.full(len(a), len(frames))))
        frames.append((i, frame))
    if not frames:
        return out
    a, b, r, owner = (torch.from_numpy(np.concatenate(column)) for column in zip(*parts, strict=True))
    with torch.inference_mode():
        samples = _coverage(a.float(), b.float(), r.float(), owner.long(), len(frames)).numpy()
    k = SUPERSAMPLE
    for (i, frame), grid in zip(frames, samples, strict=True):
        small = grid[: frame.out_h * k, : frame.out_w * k].reshape(frame.out_h, k, frame.out_w, k).mean(axis=(1, 3))
        if small.max() > 0:
            out[i] = place_in_field(small)
    return out


def render_digit(strokes: Sequence[Stroke], canvas: float = SIZE) -> np.ndarray | None:
    """One drawing -> the 28x28 uint8 digit the network sees, or None when it has no ink on the canvas."""
    digit = render_digits([strokes], canvas)[0]
    return digit if digit.any() else None
