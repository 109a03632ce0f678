import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw

from lenet_core.inference import default_model, predict
from lenet_core.preprocess import BOX, MNIST_MEAN, MNIST_STD, prepare, to_mnist


def drawing(shape=(280, 280), width=18, kind="seven", offset=(0, 0)):
    """A white-on-black drawing made with round pen strokes, like the canvas makes."""
    h, w = shape
    img = Image.new("L", (w, h), 0)
    pen = ImageDraw.Draw(img)
    dx, dy = offset
    s = min(h, w) / 280

    def line(points):
        pts = [(dx + x * s, dy + y * s) for x, y in points]
        pen.line(pts, fill=255, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)

    if kind == "seven":
        line([(80, 60), (200, 60), (120, 230)])
    elif kind == "one":
        line([(140, 40), (140, 240)])
    elif kind == "zero":
        pen.ellipse((dx + 85 * s, dy + 40 * s, dx + 195 * s, dy + 240 * s), outline=255, width=width)
    return np.asarray(img)


def bbox(digit):
    rows = np.flatnonzero(digit.max(1) > 0)
    cols = np.flatnonzero(digit.max(0) > 0)
    return rows[0], rows[-1], cols[0], cols[-1]


def centre_of_mass(digit):
    d = digit.astype(np.float64)
    ys, xs = np.mgrid[: d.shape[0], : d.shape[1]]
    return (d * ys).sum() / d.sum(), (d * xs).sum() / d.sum()


def test_mnist_layout_box_and_centre():
    digit = to_mnist(drawing())
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    top, bottom, left, right = bbox(digit)
    assert max(bottom - top + 1, right - left + 1) == BOX
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert digit.max() == 255


def test_prepare_is_to_mnist_padded_and_normalised():
    image = drawing()
    x = prepare(image)
    assert x.shape == (1, 1, 32, 32) and x.dtype == torch.float32
    expected = (torch.from_numpy(to_mnist(image)).float() / 255 - MNIST_MEAN) / MNIST_STD
    torch.testing.assert_close(x[0, 0, 2:30, 2:30], expected)
    torch.testing.assert_close(x[0, 0, 0], torch.full((32,), -MNIST_MEAN / MNIST_STD))


def test_empty_canvas_gives_nothing():
    for blank in (np.zeros((280, 280), np.uint8), np.full((100, 50), 255, np.uint8), np.zeros((3, 3), np.float32)):
        assert to_mnist(blank) is None
        assert prepare(blank) is None
    result = predict(default_model(), np.zeros((280, 280), np.uint8))
    assert result.digit is None and result.probabilities is None and result.confidence is None


def test_single_dot():
    canvas = np.zeros((280, 280), np.uint8)
    canvas[100:104, 200:204] = 255
    digit = to_mnist(canvas)
    top, bottom, left, right = bbox(digit)
    assert (bottom - top + 1, right - left + 1) == (BOX, BOX)  # scaled up like any digit
    assert torch.isfinite(prepare(canvas)).all()


def test_position_and_size_do_not_matter():
    reference = to_mnist(drawing()).astype(float)
    moved = to_mnist(drawing(offset=(-70, 35))).astype(float)
    small = np.zeros((280, 280), np.uint8)
    small[150:220, 10:80] = np.asarray(Image.fromarray(drawing(width=18)).resize((70, 70), Image.BOX))
    assert np.abs(moved - reference).mean() < 3
    assert np.abs(to_mnist(small).astype(float) - reference).mean() < 25


def test_thin_and_thick_strokes_are_still_full_contrast():
    thin = to_mnist(drawing(width=2))
    thick = to_mnist(drawing(width=60))
    assert thin.max() == 255 and thick.max() == 255
    assert (thin > 128).sum() < (thick > 128).sum()


def test_digit_touching_the_border():
    canvas = drawing(offset=(-85, -60))  # the seven's top-left corner cut by the edge
    assert canvas[0].any() and canvas[:, 0].any()
    digit = to_mnist(canvas)
    top, bottom, left, right = bbox(digit)
    assert top >= 0 and left >= 0 and bottom < 28 and right < 28
    assert max(bottom - top + 1, right - left + 1) == BOX


def test_non_square_canvas_keeps_aspect_ratio():
    wide = to_mnist(drawing(shape=(280, 600), kind="one"))
    top, bottom, left, right = bbox(wide)
    assert bottom - top + 1 == BOX and right - left + 1 <= 4  # a tall thin one stays tall and thin


def test_dark_on_light_is_inverted():
    image = drawing()
    np.testing.assert_array_equal(to_mnist(255 - image), to_mnist(image))
    np.testing.assert_array_equal(to_mnist(1.0 - image / 255.0), to_mnist(image))


def test_floats_ints_and_bad_input():
    image = drawing()
    np.testing.assert_array_equal(to_mnist(image.astype(np.float64) / 255), to_mnist(image))
    np.testing.assert_array_equal(to_mnist(image.astype(np.uint16) * 257), to_mnist(image))
    with pytest.raises(ValueError, match="2-D"):
        prepare(np.zeros((28, 28, 3)))
    with pytest.raises(ValueError, match="size 0"):
        prepare(np.zeros((0, 0)))
    with pytest.raises(ValueError, match="dtype"):
        prepare(np.array([["a", "b"], ["c", "d"]]))


def test_recentring_a_mnist_digit_gives_it_back():
    # A stand-in for a real MNIST digit: already in MNIST's layout (20 px box, centred by mass).
    original = to_mnist(drawing(kind="zero"))
    # Drawn again on a canvas: 10x larger (each pixel a 10x10 square), off-centre.
    canvas = np.zeros((400, 400), np.uint8)
    canvas[50:330, 100:380] = np.asarray(Image.fromarray(original).resize((280, 280), Image.NEAREST))
    again = to_mnist(canvas).astype(float)
    # MNIST centres by whole pixels, so a centre of mass on a half pixel may land either side.
    assert np.allclose(centre_of_mass(again), centre_of_mass(original), atol=1.0)
    best = min(
        np.abs(np.roll(again, (dy, dx), axis=(0, 1)) - original).mean() for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )
    assert best < 1  # grey levels out of 255, averaged over the 28x28 field


@pytest.mark.parametrize(("kind", "digit"), [("seven", 7), ("one", 1), ("zero", 0)])
def test_shipped_model_reads_drawn_digits(kind, digit):
    net = default_model()
    assert not net.training
    result = predict(net, drawing(kind=kind))
    assert result.digit == digit and result.confidence > 0.5
    assert result.probabilities.shape == (10,) and abs(result.probabilities.sum() - 1) < 1e-5


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        dtype=st.sampled_from([np.uint8, np.float32, np.float64, np.uint16, np.int32]),
        shape=st.tuples(st.integers(1, 60), st.integers(1, 60)),
    )
)
def test_any_2d_array_gives_none_or_a_valid_input(image):
    digit = to_mnist(image)
    x = prepare(image)
    if digit is None:
        assert x is None
        return
    assert digit.shape == (28, 28) and digit.dtype == np.uint8 and digit.max() == 255
    top, bottom, left, right = bbox(digit)
    assert max(bottom - top + 1, right - left + 1) <= BOX
    assert x.shape == (1, 1, 32, 32) and torch.isfinite(x).all()
