"""Pen digits drawn again as on the canvas, and trained on with MNIST in the one engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lenet_core.datasets import TensorData, load_mnist
from lenet_core.model import new_model
from lenet_core.pen_digits import (
    AS_DRAWN,
    CANVAS_LIKE,
    PEN_PER_MNIST,
    draw_on_canvas,
    mix,
    parse_writers,
    render_variants,
)
from lenet_core.strokes import SIZE
from lenet_core.training import TrainConfig, Trainer, evaluate
from lenet_core.unipen import read_unipen, split_by_writer


@pytest.fixture(scope="module")
def pen_digits(pen_file):
    return read_unipen(pen_file)


def test_every_drawing_stays_on_the_canvas_at_its_size_and_pen_width(pen_digits):
    rng = np.random.default_rng(1)
    sizes, widths = [], []
    for digit in pen_digits * 10:
        strokes = draw_on_canvas(digit, rng)
        points = np.concatenate([s.points for s in strokes])
        radius = strokes[0].width / 2
        low, high = points.min(0) - radius, points.max(0) + radius
        assert (low >= CANVAS_LIKE.margin * SIZE - 1e-3).all() and (
            high <= (1 - CANVAS_LIKE.margin) * SIZE + 1e-3
        ).all()
        assert len(strokes) == len(digit.strokes) and len({s.width for s in strokes}) == 1
        sizes.append(float((high - low).max()) / SIZE)
        widths.append(strokes[0].width)
    assert CANVAS_LIKE.size[0] - 0.01 <= min(sizes) and max(sizes) <= CANVAS_LIKE.size[1] + 0.01
    assert min(sizes) < 0.55 and max(sizes) > 0.8  # the whole range is used
    assert min(widths) < 8 and max(widths) > 36 and all(4 <= w <= 40 for w in widths)  # the slider's range


def test_as_drawn_keeps_the_shape_and_the_default_pen(pen_digits):
    digit = pen_digits[0]
    strokes = draw_on_canvas(digit, np.random.default_rng(0), AS_DRAWN)
    original = np.concatenate(digit.strokes).astype(np.float64)
    drawn = np.concatenate([s.points for s in strokes]).astype(np.float64)
    # Only moved and scaled: the same shape, up to float32 rounding.
    scale = np.ptp(drawn, 0).max() / np.ptp(original, 0).max()
    np.testing.assert_allclose(drawn - drawn.min(0), (original - original.min(0)) * scale, atol=1e-3)
    assert strokes[0].width == 18


def test_variants_are_seeded_labelled_and_different(pen_digits):
    a = render_variants(pen_digits, 2, seed=5)
    b = render_variants(pen_digits, 2, seed=5)
    assert len(a) == 2 * len(pen_digits) and a.images.shape[1:] == (1, 32, 32)
    assert torch.equal(a.images, b.images)  # the same seed draws the same
    assert a.labels.tolist() == [d.label for d in pen_digits] * 2
    assert not torch.equal(a.images[: len(pen_digits)], a.images[len(pen_digits) :])  # two different drawings


@pytest.mark.parametrize(("text", "writers"), [("25-30", set(range(25, 31))), ("1,3,5-7", {1, 3, 5, 6, 7}), ("4", {4})])
def test_writer_ranges(text, writers):
    assert parse_writers(text) == writers


@pytest.mark.parametrize("text", ["", "a-b", "9-3", "0-4", "1,,2", "-3"])
def test_bad_writer_ranges(text):
    with pytest.raises(ValueError, match="writers must look like"):
        parse_writers(text)


def test_a_short_mixed_run_learns_the_held_out_writers_digits(pen_digits, mnist_dir):
    """MNIST and pen digits in the one engine, every batch drawn from both; held-out writers read better after."""
    train_digits, held = split_by_writer(pen_digits, {3})
    mnist = load_mnist(mnist_dir)
    train = mix(mnist.train, render_variants(train_digits, 6, seed=0))  # the default recipe's mixing
    held_out = render_variants(held, 2, seed=1, how=AS_DRAWN)
    trainer = Trainer(new_model(0), TrainConfig(epochs=6, batch_size=32, lr=0.05, device="cpu"), train, mnist.test)
    before = evaluate(trainer.net, held_out)
    events = trainer.fit()
    assert events.reason == "finished"
    epochs = trainer.history.epochs
    assert epochs[-1]["train_loss"] < 0.5 * epochs[0]["train_loss"]
    after = evaluate(trainer.net, held_out)
    assert after.loss < before.loss and after.accuracy >= 0.6 > before.accuracy


def test_the_training_set_is_kept_in_the_cache_and_a_bad_cache_drawn_again(pen_file, tmp_path, monkeypatch, caplog):
    import lenet_core.pen_digits as pen_digits

    first = pen_digits.training_set(pen_file, variants=2, seed=0, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("pen-variants-*-2-0-r*.npz")
    assert len(first) == 2 * 60

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered again instead of read from the cache")

    with monkeypatch.context() as patch:
        patch.setattr(pen_digits, "render_images", no_rendering)
        again = pen_digits.training_set(pen_file, variants=2, seed=0, cache_dir=tmp_path)
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)

    for damage in (b"not a zip file", None):
        if damage is None:  # readable, but not the arrays this program writes
            np.savez(cached, images=np.zeros((3, 28, 28), np.float32), labels=np.zeros(3, np.uint8))
        else:
            cached.write_bytes(damage)
        redrawn = pen_digits.training_set(pen_file, variants=2, seed=0, cache_dir=tmp_path)
        assert torch.equal(redrawn.images, first.images)
        assert "ignoring the cached pen digits" in caplog.text
        caplog.clear()
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_the_recipe_mixes_all_of_mnist_and_pen_per_mnist_drawings_each_epoch():
    def data(n: int, label: int) -> TensorData:
        return TensorData(torch.zeros(n, 1, 32, 32), torch.full((n,), label))

    mnist, pen, mine = data(40, 0), data(300, 1), data(6, 2)
    train = mix(mnist, pen, mine)
    assert len(train) == 346 and train.epoch_size == 40 + round(PEN_PER_MNIST * 40) + 6
    assert mix(None, pen, mine).epoch_size == 306  # without MNIST: every pen drawing
    assert mix(mnist, None).epoch_size == 40 and mix(mnist, data(10, 1)).epoch_size == 50
    assert mix(mnist, pen, None).epoch_size == 40 + round(PEN_PER_MNIST * 40)  # a source left out: None
    assert mix(None, None) is None and mix(data(0, 0), None, data(0, 2)) is None


def test_an_epoch_of_the_recipe_is_its_epoch_size(pen_digits, mnist_dir):
    mnist = load_mnist(mnist_dir).train
    train = mix(TensorData(mnist.images[:100], mnist.labels[:100]), render_variants(pen_digits, 6, seed=0))
    assert train.epoch_size == 100 + round(PEN_PER_MNIST * 100) < len(train)
    trainer = Trainer(new_model(0), TrainConfig(epochs=1, batch_size=16, device="cpu"), train)
    assert trainer.batches_per_epoch == -(-train.epoch_size // 16)
    assert trainer.fit().reason == "finished"
    assert trainer.samples_seen == train.epoch_size and trainer.step_count == trainer.batches_per_epoch
