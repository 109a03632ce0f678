"""The network's answer: the digit, its confidence, all ten probabilities, and the 28x28 image it saw."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from lenet_core.inference import Prediction
from lenet_core.preprocess import denormalize

from .plots import style_plot


class PredictionPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.digit = QLabel("")
        self.digit.setObjectName("predicted_digit")
        self.digit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.font())
        font.setPointSize(54)
        font.setBold(True)
        self.digit.setFont(font)
        self.digit.setMinimumWidth(90)
        self.digit.setToolTip("The digit the network predicts for your drawing")
        self.confidence = QLabel("Draw a digit")
        self.confidence.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.bars_plot = pg.PlotWidget()
        self.bars_plot.setObjectName("probabilities")
        self.bars_plot.setToolTip("Probability of each digit (softmax of the network's ten outputs)")
        style_plot(self.bars_plot)
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.hideButtons()
        self.bars_plot.setYRange(0, 1.08, padding=0)  # room for the top tick label
        self.bars_plot.setXRange(-0.6, 9.6, padding=0)
        self.bars_plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        self.bars_plot.setMinimumHeight(120)
        highlight = self.palette().highlight().color()
        muted = self.palette().mid().color()
        self._brushes = (pg.mkBrush(muted), pg.mkBrush(highlight))
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush=self._brushes[0])
        self.bars_plot.addItem(self.bars)
        self._seen_input = None  # the input shown in the "network input" view

        self.seen_plot = pg.PlotWidget()
        self.seen_plot.setToolTip("What the network sees: your drawing cropped, scaled and centred like MNIST")
        style_plot(self.seen_plot)
        self.seen_plot.hideAxis("left")
        self.seen_plot.hideAxis("bottom")
        self.seen_plot.showGrid(x=False, y=False)
        self.seen_plot.setMouseEnabled(x=False, y=False)
        self.seen_plot.setMenuEnabled(False)
        self.seen_plot.hideButtons()
        self.seen_plot.setAspectLocked(True)
        self.seen_plot.invertY(True)
        self.seen_plot.setFixedSize(110, 110)
        self.seen_plot.setBackground("k")  # the network's input is white on black, even when empty
        self.seen = pg.ImageItem(axisOrder="row-major", levels=(0, 1))
        self.seen_plot.addItem(self.seen)
        self.seen_plot.setRange(xRange=(0, 32), yRange=(0, 32), padding=0)
        seen_label = QLabel("Network input")
        seen_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.digit, 0, 0)
        layout.addWidget(self.confidence, 1, 0)
        layout.addWidget(self.seen_plot, 0, 1, Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(seen_label, 1, 1)
        layout.addWidget(self.bars_plot, 2, 0, 1, 2)

    def display(self, prediction: Prediction) -> None:
        if prediction.digit is None:
            self.digit.setText("")
            self.confidence.setText("Draw a digit")
            self.bars.setOpts(height=np.zeros(10))
            self.seen.clear()
            self._seen_input = None
            return
        if not np.isfinite(prediction.probabilities).all():  # weights so large that the outputs overflow
            self.digit.setText("?")
            self.confidence.setText("Outputs not finite: reset the weights")
            self.confidence.setToolTip(
                "The network's outputs are infinite or NaN for this drawing: its weights have grown too large. "
                "Training ▸ Reset weights (Ctrl+R) or load a checkpoint."
            )
            self.bars.setOpts(height=np.zeros(10))
        else:
            self.digit.setText(str(prediction.digit))
            self.confidence.setText(f"{100 * prediction.confidence:.1f} % sure")
            self.confidence.setToolTip("")
            brushes = [self._brushes[i == prediction.digit] for i in range(10)]
            self.bars.setOpts(height=prediction.probabilities, brushes=brushes)
        if prediction.input is not self._seen_input:  # while training only the weights change, not the input
            self._seen_input = prediction.input
            self.seen.setImage(denormalize(prediction.input[0, 0].cpu()).numpy(), levels=(0, 1))
