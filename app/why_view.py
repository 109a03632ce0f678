"""Why this answer: the network's input with, over it, the ink that spoke for the answer and against it."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from lenet_core.inference import Prediction
from lenet_core.preprocess import PAD, denormalize
from lenet_core.saliency import saliency

FOR = np.array([214, 39, 40], np.float32)  # red: ink that speaks for the digit
AGAINST = np.array([31, 119, 180], np.float32)  # blue: ink that speaks against it


def overlay(pixels: np.ndarray, contribution: np.ndarray | None) -> np.ndarray:
    """28 x 28 ink in [0, 1] shown grey, and over it each pixel's contribution, red (for) or blue (against), as
    strong as it is against the map's largest: H x W x 3 uint8."""
    grey = np.repeat((0.25 + 0.5 * pixels)[..., None] * 255, 3, axis=2)
    if contribution is None:
        return grey.astype(np.uint8)
    top = float(np.abs(contribution).max())
    if not top > 0:
        return grey.astype(np.uint8)
    alpha = np.clip(np.abs(contribution) / top, 0, 1)[..., None] ** 0.7  # faint contributions stay visible
    colour = np.where(contribution[..., None] >= 0, FOR, AGAINST)
    return (grey * (1 - alpha) + colour * alpha).round().astype(np.uint8)


class PixelImage(QLabel):
    """A square RGB image scaled by a whole number of device pixels, sharp (no smoothing) on any screen."""

    def __init__(self, tip: str) -> None:
        super().__init__()
        self.setToolTip(tip)
        self.setMinimumSize(84, 84)
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # the pixmap never sizes it
        policy.setHeightForWidth(True)  # a square: as tall as its column is wide, the room left above and below
        self.setSizePolicy(policy)
        self.rgb: np.ndarray | None = None

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def show_rgb(self, rgb: np.ndarray, side: int) -> None:
        """rgb (H x W x 3 uint8) in a square of at most `side` logical pixels."""
        self.rgb = rgb = np.ascontiguousarray(rgb)
        h, w, _ = rgb.shape
        image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        ratio = self.devicePixelRatioF()
        device_side = max(1, int(side * ratio) // max(h, w)) * max(h, w)
        pixmap = QPixmap.fromImage(
            image.scaled(device_side, device_side, mode=Qt.TransformationMode.FastTransformation)
        )
        pixmap.setDevicePixelRatio(ratio)
        self.setPixmap(pixmap)


class WhyView(QWidget):
    """The input; why the predicted digit (its score against the mean of the ten); a picked digit against it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("why_view")
        self.images = [
            PixelImage("What the network sees: your drawing cropped, scaled and centred like MNIST"),
            PixelImage("Red: ink that made the answer more likely; blue: ink that made it less likely"),
            PixelImage("Red: ink that speaks for the digit picked; blue: ink that speaks for the answer instead"),
        ]
        self.captions = [QLabel("Network input"), QLabel("Why the answer"), QLabel("The digit picked, not the answer")]
        self.pick = QComboBox()
        self.pick.setObjectName("why_pick")
        self.pick.addItem("the runner-up", None)
        for digit in range(10):
            self.pick.addItem(str(digit), digit)
        self.pick.setToolTip("The digit to compare the answer with: why not this one?")
        self.note = QLabel("Gradient × input: each pixel's ink times how much it moves the digit's score.")
        self.note.setWordWrap(True)

        grid = QGridLayout()
        for column, (image, caption) in enumerate(zip(self.images, self.captions, strict=True)):
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            image.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)  # on its caption
            grid.addWidget(image, 0, column)
            grid.addWidget(caption, 1, column)
            grid.setColumnStretch(column, 1)  # three maps of one size, whatever their captions say
        top = QHBoxLayout()
        top.addWidget(QLabel("Why not"))
        top.addWidget(self.pick)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addStretch(1)  # the maps and their captions in the middle of the room
        layout.addLayout(grid)
        layout.addStretch(1)
        layout.addWidget(self.note)

        self.net: torch.nn.Module | None = None
        self.prediction: Prediction | None = None
        self.shown: list[np.ndarray] = [overlay(np.zeros((28, 28), np.float32), None)] * 3
        self.pick.currentIndexChanged.connect(self.refresh)

    def show_prediction(self, net: torch.nn.Module, prediction: Prediction) -> None:
        """The newest prediction (throttled by the caller, as the feature maps are); computed if shown."""
        self.net, self.prediction = net, prediction
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # computed only while shown: one backward pass each time
        super().showEvent(event)
        self.refresh()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._show()

    def _show(self) -> None:
        """The three at one size: the largest that fits each of their places."""
        side = min(min(image.width(), image.height()) for image in self.images)
        for image, rgb in zip(self.images, self.shown, strict=True):
            image.show_rgb(rgb, side)

    def compared_with(self) -> int | None:
        """The digit picked, or the runner-up; None without an answer."""
        p = self.prediction
        if p is None or p.digit is None or not np.isfinite(p.probabilities).all():
            return None
        picked = self.pick.currentData()
        return int(np.argsort(p.probabilities)[-2]) if picked is None else int(picked)

    def refresh(self) -> None:
        p, other = self.prediction, self.compared_with()
        if self.net is None or p is None or other is None:
            self.shown = [overlay(np.zeros((28, 28), np.float32), None)] * 3
            self._show()
            self.captions[1].setText("Why the answer")
            self.captions[2].setText("The digit picked, not the answer")
            return
        pixels = denormalize(p.input[0, 0, PAD:-PAD, PAD:-PAD].cpu()).numpy()
        self.why = saliency(self.net, p.input, p.digit).numpy()
        self.why_not = saliency(self.net, p.input, other, against=p.digit).numpy() if other != p.digit else None
        self.shown = [overlay(pixels, None), overlay(pixels, self.why), overlay(pixels, self.why_not)]
        self._show()
        self.captions[1].setText(f"Why {p.digit}")
        self.captions[2].setText(f"{other} rather than {p.digit}" if other != p.digit else "(the answer itself)")
