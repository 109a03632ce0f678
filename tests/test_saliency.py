"""Why this answer: gradient x input against an independent computation, and the window's tab."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lenet_core.inference import default_model
from lenet_core.model import new_model
from lenet_core.preprocess import MNIST_MEAN, MNIST_STD, normalize_batch
from lenet_core.saliency import saliency

from .test_gui import drag


def a_digit(seed: int = 0) -> torch.Tensor:
    """A stroke-like blob on a blank 28x28, as the model reads it."""
    rng = np.random.default_rng(seed)
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 5:23, 12:16] = rng.integers(120, 256, (18, 4))
    image[0, 5:8, 8:20] = 255
    return normalize_batch(image)


def by_hand(net: torch.nn.Module, input: torch.Tensor, score) -> np.ndarray:
    """The tutorial's forward as written, autograd on the pixel intensities themselves, times the ink."""
    pixels = (input * MNIST_STD + MNIST_MEAN).clamp(0, 1).detach().requires_grad_(True)
    x = (pixels - MNIST_MEAN) / MNIST_STD
    c1 = F.max_pool2d(F.relu(net.conv1(x)), 2)
    c3 = torch.flatten(F.max_pool2d(F.relu(net.conv2(c1)), 2), 1)
    logits = net.fc3(F.relu(net.fc2(F.relu(net.fc1(c3)))))[0]
    (grad,) = torch.autograd.grad(score(logits), pixels)
    return (grad * pixels).detach()[0, 0, 2:30, 2:30].numpy()


def test_saliency_is_gradient_times_input_with_a_blank_baseline():
    net, input = new_model(1).eval(), a_digit()
    got = saliency(net, input, 3).numpy()
    expected = by_hand(net, input, lambda z: z[3] - z.mean())
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
    assert np.all(got[(input[0, 0, 2:30, 2:30] == input.min()).numpy()] == 0)  # blank pixels: exactly nothing
    against = saliency(net, input, 9, against=3).numpy()
    np.testing.assert_allclose(against, by_hand(net, input, lambda z: z[9] - z[3]), rtol=1e-4, atol=1e-7)
    assert np.abs(got).sum() > 0 and net.training is False


def test_a_flag_on_a_one_is_what_makes_it_a_seven():
    """A stem with a flag, read as 7 by the shipped model: against 1, the flag's ink speaks for 7 and the stem's for 1
    (the complaint "my 1 with a flag is read as 7", shown)."""
    net = default_model()
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 6:23, 14:17] = 255  # the stem
    image[0, 5:8, 8:17] = 255  # the flag, out to the left at the top
    input = normalize_batch(image)
    assert int(net(input).argmax()) == 7
    seven_not_one = saliency(net, input, 7, against=1).numpy()
    flag, stem = seven_not_one[5:8, 8:14].sum(), seven_not_one[9:23, 14:17].sum()
    assert flag > 0 > stem
    np.testing.assert_allclose(saliency(net, input, 1, against=7).numpy(), -seven_not_one, atol=1e-6)


def test_the_why_tab_follows_the_drawing_and_the_digit_picked(qtbot, make_window):
    window = make_window(data_dir=None)
    why = window.live.why
    window.live.tabs.setCurrentWidget(why)
    drag(qtbot, window.canvas, [(0.5, 0.15), (0.5, 0.85)])  # a one
    qtbot.waitUntil(lambda: why.captions[1].text() == "Why 1", timeout=5000)
    prediction = window._prediction
    runner_up = int(np.argsort(prediction.probabilities)[-2])
    assert why.captions[2].text() == f"{runner_up} rather than 1"
    np.testing.assert_allclose(why.why, saliency(window.net, prediction.input, 1).numpy(), rtol=1e-5, atol=1e-8)
    why.pick.setCurrentIndex(why.pick.findData(7))
    assert why.captions[2].text() == "7 rather than 1"
    expected = saliency(window.net, prediction.input, 7, against=1).numpy()
    np.testing.assert_allclose(why.why_not, expected, rtol=1e-5, atol=1e-8)
    assert all(image.pixmap() is not None and not image.pixmap().isNull() for image in why.images)
    window.canvas.clear()
    qtbot.waitUntil(lambda: why.captions[1].text() == "Why the answer", timeout=5000)
