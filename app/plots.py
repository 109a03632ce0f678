"""Live training plots: loss per step (raw, faint, and smoothed) and test accuracy per epoch.

Plot items are created once and fed with setData; new points only mark the plot dirty and arm a one-shot timer
(the screen's refresh rate, at most 10 Hz) that redraws, so training speed never drives the redraw rate and an idle
window wakes no one.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor, QGuiApplication
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

SMOOTHING = 0.98  # exponential moving average of the loss, as TensorBoard shows it
SMOOTH_SAMPLES_PER_PIXEL = 0.5  # the moving average is smooth: a point every 2 pixels draws it as well as all of them


class _Growing:
    """An append-only float array with amortised O(1) appends."""

    def __init__(self) -> None:
        self._data = np.empty(1024, np.float64)
        self.size = 0

    def extend(self, values) -> None:
        values = np.asarray(values, np.float64)
        while self.size + len(values) > len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self.size : self.size + len(values)] = values
        self.size += len(values)

    def view(self) -> np.ndarray:
        return self._data[: self.size]

    def clear(self) -> None:
        self.size = 0


class SteadyViewBox(pg.ViewBox):
    """A ViewBox whose automatic range moves in coarse steps rather than with every new point.

    A new range regenerates both axes and re-clips and re-downsamples every curve. Following a growing loss curve
    exactly did that on every redraw, and was most of the GUI thread's work while training (the thread's CPU share
    fell from 17 % of a core to about 10 % without it). So the automatic range leaves room (SLACK of the data's
    extent) on each side the data outgrew, and shrinks only when the data fill less than KEEP of it. Ranges set by
    the user (pan, zoom, View All) or by code are taken as they are.
    """

    SLACK = 0.25
    KEEP = 0.6
    PAD = 0.05

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.floors: list[float | None] = [None, None]  # the automatic range adds no room below these (x, y)

    def setRange(self, rect=None, xRange=None, yRange=None, padding=None, update=True, disableAutoRange=True):
        if not disableAutoRange:  # only ViewBox.updateAutoRange asks this way, with its padding already added
            current = self.viewRange()
            # On a log axis the view holds log10 of the data, which may well be negative: no floor there.
            floors = [None if self.state["logMode"][i] else self.floors[i] for i in (0, 1)]
            if xRange is not None:
                xRange = self._steady(current[0], self._unpadded(0, xRange), floors[0])
            if yRange is not None:
                yRange = self._steady(current[1], self._unpadded(1, yRange), floors[1])
        super().setRange(rect, xRange, yRange, padding, update, disableAutoRange)

    def _unpadded(self, axis: int, padded) -> tuple[float, float]:
        """The data's own bounds: updateAutoRange added suggestPadding() of their extent on each side."""
        pad = self.suggestPadding(axis)
        lo, hi = float(padded[0]), float(padded[1])
        margin = pad * (hi - lo) / (1 + 2 * pad)
        return lo + margin, hi - margin

    @classmethod
    def _steady(cls, current, data: tuple[float, float], floor: float | None) -> tuple[float, float]:
        low, high = float(current[0]), float(current[1])
        a, b = data
        width = b - a
        if not width > 0:  # one point, or none: ViewBox widens that itself
            return a, b
        # Item bounds include the pen's width in pixels, so data at the floor can come in a little below it.
        at_floor = floor is not None and a >= floor - cls.PAD * width
        if at_floor:
            a = max(a, floor)
        if width < cls.KEEP * (high - low):  # the data shrank (cleared, or a new run): start from them
            low, high = a - cls.PAD * width, b + cls.PAD * width
        elif low <= a and b <= high:
            return low, high
        else:
            if a < low:
                low = a - cls.SLACK * width
            if b > high:
                high = b + cls.SLACK * width
        if at_floor:
            low = max(low, floor)
        return low, high


def redraw_interval_ms(max_rate_hz: float = 10.0) -> int:
    """Redraw at the screen's pace, but no faster than max_rate_hz.

    Ten times a second is live enough for a loss curve, and every millisecond the GUI thread spends drawing is
    taken from training on a 2-core laptop: with live plots at 20 Hz and weights at 10 Hz the window trained at
    0.80 of the headless engine's speed, at 10 Hz and 5 Hz at 0.97 (bench/gui_training.py, one run, medians of 5).
    """
    screen = QGuiApplication.primaryScreen()
    rate = screen.refreshRate() if screen is not None else 60.0
    rate = min(rate if rate and rate > 1 else 60.0, max_rate_hz)
    return int(1000 / rate)


EPOCH_LABEL_PX = 28  # room an epoch number needs on the axis, two digits and a gap


def epoch_tick_spacing(epochs: float, width_px: float) -> tuple[int, int]:
    """Whole-epoch ticks (major, minor) that fit the axis: every epoch while they fit, else every 2, 5, 10, 20, 50..."""
    fits = max(2, int(width_px // EPOCH_LABEL_PX))
    major = next(step for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if epochs / step <= fits or step == 1000)
    return major, 1 if major <= 10 else major // 5


def style_plot(plot: pg.PlotWidget) -> None:
    """Follow the system palette (light or dark) instead of pyqtgraph's black."""
    palette = plot.palette()
    plot.setBackground(palette.base().color())
    text = palette.text().color()
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(text)
        axis.setTextPen(text)
    plot.showGrid(x=False, y=False)


class TrainingPlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        accent = self.palette().highlight().color()
        faint = QColor(accent)
        faint.setAlpha(70)

        self.loss_plot = pg.PlotWidget(viewBox=SteadyViewBox())
        self.loss_plot.getViewBox().floors = [0.0, 0.0]  # steps and (linear) losses are never negative
        self.loss_plot.setObjectName("loss_plot")
        self.loss_plot.setToolTip("Training loss per step (faint) and its moving average. Drag to pan, wheel to zoom.")
        style_plot(self.loss_plot)
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setTitle("Training loss")
        item = self.loss_plot.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self.raw_curve = self.loss_plot.plot(pen=pg.mkPen(faint, width=1))
        # A 2 px pen is slow to paint (about 0.6 ms for 1,000 points): draw what the pixels can show, no more.
        self.smooth_curve = self.loss_plot.plot(
            pen=pg.mkPen(accent, width=2), autoDownsampleFactor=SMOOTH_SAMPLES_PER_PIXEL
        )
        self.smooth_curve.setDownsampling(auto=True, method="subsample")

        self.accuracy_plot = pg.PlotWidget()
        self.accuracy_plot.setObjectName("accuracy_plot")
        self.accuracy_plot.setToolTip("Accuracy on the test set after each epoch")
        style_plot(self.accuracy_plot)
        self.accuracy_plot.setLabel("left", "test accuracy", units="%")
        self.accuracy_plot.setLabel("bottom", "epoch")
        self.accuracy_plot.getAxis("bottom").setTickSpacing(1, 1)  # whole epochs
        self.accuracy_plot.setTitle("Test accuracy")
        self.accuracy_curve = self.accuracy_plot.plot(
            pen=pg.mkPen(accent, width=2), symbol="o", symbolSize=7, symbolBrush=accent
        )

        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Show the loss on a logarithmic axis")
        self.log_scale.toggled.connect(self._set_log_scale)
        # The plot's own menu (Plot Options > Transforms > Log Y) and the box show the same state.
        self.loss_plot.getPlotItem().ctrl.logYCheck.toggled.connect(self.log_scale.setChecked)

        row = QHBoxLayout()
        row.addWidget(self.loss_plot, 3)
        row.addWidget(self.accuracy_plot, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.log_scale, 0, Qt.AlignmentFlag.AlignLeft)

        self._steps, self._losses, self._smooth = _Growing(), _Growing(), _Growing()
        self._epochs, self._accuracy = _Growing(), _Growing()
        self._ema: float | None = None
        self._dirty = self._accuracy_dirty = False
        # Armed by new data, not ticking all the time: an idle window wakes no one up.
        self._timer = QTimer(self, singleShot=True, interval=redraw_interval_ms())
        self._timer.timeout.connect(self._redraw)

    def _set_log_scale(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)

    def log_scale_action(self, parent) -> QAction:
        """A checkable menu action mirroring the log-scale box."""
        action = QAction("&Log scale for the loss", parent, checkable=True)
        action.toggled.connect(self.log_scale.setChecked)
        self.log_scale.toggled.connect(action.setChecked)
        return action

    @property
    def point_count(self) -> int:
        return self._steps.size

    def add_losses(self, steps: list[int], losses: list[float]) -> None:
        smooth = np.empty(len(losses))
        ema = self._ema
        for i, loss in enumerate(losses):
            ema = loss if ema is None else SMOOTHING * ema + (1 - SMOOTHING) * loss
            smooth[i] = ema
        self._ema = ema
        self._steps.extend(steps)
        self._losses.extend(losses)
        self._smooth.extend(smooth)
        self._dirty = True
        self._schedule()

    def add_accuracy(self, epoch: int, accuracy: float) -> None:
        self._epochs.extend([epoch])
        self._accuracy.extend([100 * accuracy])
        self._accuracy_dirty = True
        self._schedule()

    def clear(self) -> None:
        for buffer in (self._steps, self._losses, self._smooth, self._epochs, self._accuracy):
            buffer.clear()
        self._ema = None
        self._dirty = self._accuracy_dirty = True
        self._schedule()

    def _schedule(self) -> None:
        """Redraw once the interval is up: points arriving meanwhile are drawn together."""
        if not self._timer.isActive():
            self._timer.start()

    def _redraw(self) -> None:
        if self._dirty:
            self._dirty = False
            steps = self._steps.view()
            self.raw_curve.setData(steps, self._losses.view(), skipFiniteCheck=True)
            self.smooth_curve.setData(steps, self._smooth.view(), skipFiniteCheck=True)
        if self._accuracy_dirty:
            self._accuracy_dirty = False
            accuracy = self._accuracy.view()
            self.accuracy_curve.setData(self._epochs.view(), accuracy)
            if accuracy.size:  # at least 2 points of height, so one epoch does not fill the plot with ticks
                low = min(float(accuracy.min()), 98.0)
                self.accuracy_plot.setYRange(low - 0.5, 100.0, padding=0.02)
                last = max(float(self._epochs.view().max()), 2.0)
                self.accuracy_plot.setXRange(0.5, last + 0.5, padding=0)
                axis = self.accuracy_plot.getAxis("bottom")
                axis.setTickSpacing(*epoch_tick_spacing(last, axis.width() or self.accuracy_plot.width()))
