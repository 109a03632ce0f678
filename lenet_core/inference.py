"""From a drawing to a digit: the shipped model and a predict helper."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_model
from .model import Activations, LeNet
from .preprocess import prepare

# resources/ is at the top of a source checkout (and an editable install); a wheel installs it as lenet_core/resources.
_HERE = Path(__file__).resolve().parent
RESOURCES = next((p for p in (_HERE / "resources", _HERE.parent / "resources") if p.is_dir()), _HERE / "resources")
DEFAULT_WEIGHTS = RESOURCES / "lenet_mnist.pt"


@dataclass(frozen=True)
class Prediction:
    """The predicted digit and the ten probabilities; all None when the drawing is empty."""

    digit: int | None
    probabilities: np.ndarray | None  # 10 floats summing to 1
    input: torch.Tensor | None = None  # what the network saw: 1 x 1 x 32 x 32, normalised
    activations: Activations | None = None  # conv1 / conv2 maps, for display

    @property
    def confidence(self) -> float | None:
        return None if self.probabilities is None else float(self.probabilities[self.digit])


def default_model() -> LeNet:
    """The shipped LeNet (trained on MNIST, see resources/README.md), in eval mode."""
    return load_model(DEFAULT_WEIGHTS)


def predict(net: LeNet, image: np.ndarray) -> Prediction:
    """Classify a drawing (2-D array, ink bright on dark or dark on light); an empty drawing gives no digit."""
    return classify(net, prepare(image))


@torch.inference_mode()
def classify(net: LeNet, input: torch.Tensor | None) -> Prediction:
    """Classify a prepared input (1 x 1 x 32 x 32, from `prepare`); None (an empty drawing) gives no digit.

    For a drawing shown while the weights change: prepare it once, classify it with each new set of weights.
    """
    if input is None:
        return Prediction(None, None)
    param = next(net.parameters())
    was_training = net.training
    net.eval()
    try:
        activations = net.forward_with_activations(input.to(param.device))
    finally:
        net.train(was_training)
    probabilities = torch.softmax(activations.output[0].float(), 0).cpu().numpy()
    return Prediction(int(probabilities.argmax()), probabilities, input, activations)
