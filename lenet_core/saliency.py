"""Why this answer: which pixels of the drawing pushed the network towards a digit, and which away from it.

Gradient x input, with a blank canvas as the baseline: each pixel's ink times how much the digit's score would change
per unit of that ink, d(score)/d(pixel) * pixel. Blank pixels get exactly 0, and the map sums to the first-order
change of the score from a blank canvas to the drawing. A digit's score is its logit minus the mean of the ten
logits (what lifts every digit alike does not count), or, against another digit, the difference of the two logits:
for a 9 read as 3, the map of 9 against 3 shows in red the ink that speaks for 9 and in blue the ink that pushed it
to 3.

Why gradient x input rather than occlusion: one backward pass of one image (~1 ms on the GUI thread, so it follows the
drawing and the weights live, like the feature maps), exact for the network's local linear behaviour, and pixel-sharp
on a 28x28 input; occlusion needs a forward pass per patch, blurs to the patch's size, and says nothing about a
thin stroke narrower than the patch.
"""

from __future__ import annotations

import torch

from .model import LeNet
from .preprocess import MNIST_STD, PAD, denormalize


def saliency(net: LeNet, input: torch.Tensor, digit: int, against: int | None = None) -> torch.Tensor:
    """28 x 28: each pixel's contribution to `digit`'s score (its logit minus the mean logit, or minus `against`'s
    logit), for a prepared input (1 x 1 x 32 x 32, from `prepare`). Positive: speaks for `digit`."""
    param = next(net.parameters())
    was_training = net.training
    net.eval()
    x = input.detach().to(param.device, param.dtype).clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            logits = net(x)[0]
            score = logits[digit] - (logits[against] if against is not None else logits.mean())
            (grad,) = torch.autograd.grad(score, x)
    finally:
        net.train(was_training)
    pixels = denormalize(x.detach())  # ink in [0, 1]
    pixels[pixels < 1e-6] = 0.0  # blank is 0, not the 1e-9 that float rounding leaves of it
    # d(score)/d(pixel) = d(score)/d(input) / std, as input = (pixel - mean) / std
    contribution = grad / MNIST_STD * pixels
    return contribution[0, 0, PAD:-PAD, PAD:-PAD].cpu()
