"""The rasteriser: strokes (points, pen width) -> the 28x28 digit; and that it draws what the canvas draws."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF

from lenet_core.inference import default_model
from lenet_core.preprocess import normalize_batch, to_mnist
from lenet_core.strokes import SIZE, Stroke, render_digit, render_digits


def line(points, width=18.0) -> Stroke:
    return Stroke(np.array(points, np.float32), width)


def test_a_dot_is_a_round_blob_in_the_middle():
    digit = render_digit([line([(140, 140)], width=30)])
    ink = digit > 127
    rows, cols = np.nonzero(ink)
    assert abs(rows.mean() - 13.5) <= 1 and abs(cols.mean() - 13.5) <= 1  # centre of mass in the middle
    assert np.ptp(rows) == np.ptp(cols) and np.ptp(rows) >= 17  # round: as tall as wide, filling the 20-px box
    assert (digit.astype(int) - digit.T.astype(int)).__abs__().max() <= 32  # symmetric across the diagonal


def test_a_horizontal_line_with_round_caps():
    width = 20.0
    digit = render_digit([line([(60, 100), (220, 100)], width=width)])
    rows, cols = np.nonzero(digit > 127)
    assert np.ptp(cols) + 1 == pytest.approx(20, abs=1)  # the longer side fills the box: caps included
    # The line is (160 + 20) units long and 20 thick: about 2.2 px of the 20-px box.
    assert 1 <= np.ptp(rows) + 1 <= 3
    ends = digit[:, cols.min()], digit[:, cols.min() + 1]  # a round cap is thinner at its tip than the line
    assert ends[0].sum() < digit[:, 14].sum()


def test_a_thicker_pen_draws_thicker_strokes():
    path = [(80, 60), (200, 60), (110, 240)]  # a seven
    thin, thick = (render_digit([line(path, width=w)]) for w in (6, 36))
    assert (thick > 127).sum() > 1.5 * (thin > 127).sum()
    assert thin.max() == thick.max() == 255  # full contrast either way, as MNIST


def test_nothing_to_draw():
    assert render_digit([]) is None
    assert render_digit([line([(-100, -100), (-50, -60)], width=10)]) is None  # all off the canvas
    images = render_digits([[], [line([(100, 100), (180, 200)])], []])
    assert images.shape == (3, 28, 28) and not images[0].any() and images[1].any() and not images[2].any()


def test_what_leaves_the_canvas_is_clipped_like_the_canvas_does():
    inside = render_digit([line([(140, 40), (140, 240)])])
    beyond = render_digit([line([(140, 40), (140, 600)])])  # the same line, drawn on past the bottom edge
    longer = render_digit([line([(140, 40), (140, SIZE - 1)])])
    assert not np.array_equal(inside, beyond)
    assert np.abs(beyond.astype(int) - longer.astype(int)).max() <= 40  # clipped at the edge, not shrunk


def test_bad_strokes_are_refused():
    for points, width in (([], 10), ([(1, 2, 3)], 10), ([(math.nan, 1)], 10), ([(1, 1)], 0), ([(1, 1)], math.inf)):
        with pytest.raises(ValueError):
            Stroke(np.array(points, np.float32), width)


def test_one_at_a_time_and_in_a_batch_are_the_same():
    rng = np.random.default_rng(0)
    drawings = [random_digit(rng)[1] for _ in range(20)]
    batch = render_digits(drawings)
    for drawing, image in zip(drawings, batch, strict=True):
        np.testing.assert_array_equal(render_digit(drawing), image)


# -- the canvas and the core draw the same -----------------------------------------------------------------------


def random_digit(rng: np.random.Generator) -> tuple[int, list[Stroke]]:
    """A digit-like drawing: a 0, 1, 4 or 7 from a template, placed, sized, slanted and jittered at random."""
    label = int(rng.choice([0, 1, 4, 7]))
    if label == 0:
        t = np.linspace(0, 2 * math.pi, 40)
        paths = [np.stack([0.35 * np.cos(t), 0.5 * np.sin(t)], 1)]
    elif label == 1:
        paths = [np.array([[0.0, -0.5], [0.0, 0.5]])]
    elif label == 4:
        paths = [np.array([[0.1, -0.5], [-0.35, 0.15], [0.3, 0.15]]), np.array([[0.15, -0.2], [0.15, 0.5]])]
    else:
        paths = [np.array([[-0.35, -0.5], [0.35, -0.5], [-0.05, 0.5]])]
    size = rng.uniform(0.45, 0.85) * SIZE
    slant = rng.uniform(-0.2, 0.2)
    centre = rng.uniform(0.3, 0.7, 2) * SIZE
    width = float(rng.uniform(8, 36))
    strokes = []
    for path in paths:
        pieces = [np.linspace(p, q, 8, endpoint=False) for p, q in itertools.pairwise(path)]
        dense = np.concatenate([*pieces, path[-1:]])
        dense = dense + rng.normal(0, 0.01, dense.shape)
        dense[:, 0] += slant * dense[:, 1]
        strokes.append(Stroke((dense * size + centre).astype(np.float32), width))
    return label, strokes


def canvas_image(canvas, strokes: list[Stroke]) -> np.ndarray:
    canvas._set_strokes([(s.width, [QPointF(float(x), float(y)) for x, y in s.points]) for s in strokes])
    return canvas.image()


def test_the_canvas_and_the_rasteriser_draw_the_same_digits(qtbot):
    """Training renders strokes with lenet_core.strokes; the window reads the canvas's own (Qt) raster through
    to_mnist. On 300 generated drawings they must give the same ink and the same answers."""
    from app.canvas import Canvas

    canvas = Canvas()
    qtbot.addWidget(canvas)
    rng = np.random.default_rng(20261202)
    cases = [random_digit(rng) for _ in range(300)]
    core = render_digits([strokes for _, strokes in cases])
    window = np.stack([to_mnist(canvas_image(canvas, strokes)) for _, strokes in cases])

    def overlap(a: np.ndarray, b: np.ndarray) -> float:  # the ink's IoU, allowing the 1-px shift of rounding
        ia = a > 127
        shifts = [np.roll(b, (dy, dx), (0, 1)) > 127 for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        return max((ia & s).sum() / max((ia | s).sum(), 1) for s in shifts)

    overlaps = np.array([overlap(a, b) for a, b in zip(core, window, strict=True)])
    assert overlaps.mean() > 0.9 and np.percentile(overlaps, 5) > 0.75
    assert np.abs(core.astype(float) - window).mean() / 255 < 0.03
    net = default_model()
    with torch.inference_mode():
        same = net(normalize_batch(core)).argmax(1) == net(normalize_batch(window)).argmax(1)
    assert same.float().mean() >= 0.98
