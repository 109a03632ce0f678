"""Live training plots: loss per step (raw, faint, and smoothed) and test accuracy per epoch, for the run training
now and, faded, for the earlier runs of the session, each in its colour, named in a legend by what sets it apart.

Plot items are created once and fed with setData; new points only mark the plot dirty and arm a one-shot timer
(the screen's refresh rate, at most 10 Hz; slower while training if drawing takes too much of the GUI thread:
app/pace.py) that redraws, so training speed never drives the redraw rate and an idle window wakes no one.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor, QGuiApplication
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from lenet_core.runs import Run, RunLog, smooth, smooth_on

SMOOTHING = 0.98  # the smoothing slider's first value: TensorBoard's moving average of the loss, debiased
X_AXES = (("step", "steps"), ("samples seen", "samples"), ("training seconds", "seconds"))  # text, Run's field
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
EARLIER_ALPHA = 110  # earlier runs, faded
SMOOTH_SAMPLES_PER_PIXEL = 0.5  # the moving average is smooth: a point every 2 pixels draws it as well as all of them


class Growing:
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
        """Empty, in a new buffer: views of the old one may still be held (pyqtgraph keeps what setData got)."""
        self._data = np.empty(1024, np.float64)
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
    """The current run's loss (every step, faint, and smoothed) and accuracy; earlier runs smoothed and faded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(viewBox=SteadyViewBox())
        self.loss_plot.getViewBox().floors = [0.0, 0.0]  # steps and (linear) losses are never negative
        self.loss_plot.setObjectName("loss_plot")
        self.loss_plot.setToolTip(
            "Training loss per step (faint) and its moving average; earlier runs faded. Click a run in the legend to"
            " hide or show it. Drag to pan, wheel to zoom."
        )
        style_plot(self.loss_plot)
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setTitle("Training loss")
        item = self.loss_plot.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self.legend = self.loss_plot.addLegend(offset=(-5, 5), labelTextColor=self.palette().text().color())
        base = self.palette().base().color()
        base.setAlpha(190)
        self.legend.setBrush(pg.mkBrush(base))
        self.legend.sigSampleClicked.connect(self._legend_clicked)
        self.raw_curve = self.loss_plot.plot()
        # A 2 px pen is slow to paint (about 0.6 ms for 1,000 points): draw what the pixels can show, no more.
        self.smooth_curve = self.loss_plot.plot(autoDownsampleFactor=SMOOTH_SAMPLES_PER_PIXEL)
        self.smooth_curve.setDownsampling(auto=True, method="subsample")

        self.accuracy_plot = pg.PlotWidget()
        self.accuracy_plot.setObjectName("accuracy_plot")
        self.accuracy_plot.setToolTip("Accuracy on the test set after each epoch; earlier runs faded")
        style_plot(self.accuracy_plot)
        self.accuracy_plot.setLabel("left", "test accuracy", units="%")
        self.accuracy_plot.setLabel("bottom", "epoch")
        self.accuracy_plot.getAxis("bottom").setTickSpacing(1, 1)  # whole epochs
        self.accuracy_plot.setTitle("Test accuracy")
        self.accuracy_curve = self.accuracy_plot.plot(symbol="o", symbolSize=7)
        self._colour_current(0)

        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Show the loss on a logarithmic axis")
        self.log_scale.toggled.connect(self._set_log_scale)
        # The plot's own menu (Plot Options > Transforms > Log Y) and the box show the same state.
        self.loss_plot.getPlotItem().ctrl.logYCheck.toggled.connect(self.log_scale.setChecked)
        self.x_axis = QComboBox()
        self.x_axis.setObjectName("x_axis")
        for text, field in X_AXES:
            self.x_axis.addItem(text, field)
        self.x_axis.setToolTip("The loss plot's horizontal axis: steps, training samples seen, or seconds of training")
        self.x_axis.currentIndexChanged.connect(self._redraw_all)
        self.smoothing = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=99)
        self.smoothing.setObjectName("smoothing")
        self.smoothing.setValue(round(100 * SMOOTHING))
        self.smoothing.setToolTip("Smoothing of the loss curves: TensorBoard's exponential moving average, 0-0.99")
        self.smoothing_label = QLabel()
        self.smoothing.valueChanged.connect(self._smoothing_changed)

        row = QHBoxLayout()
        row.addWidget(self.loss_plot, 3)
        row.addWidget(self.accuracy_plot, 2)
        controls = QHBoxLayout()
        controls.addWidget(self.log_scale)
        controls.addWidget(QLabel("x:"))
        controls.addWidget(self.x_axis)
        controls.addWidget(self.smoothing_label)
        controls.addWidget(self.smoothing, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addLayout(controls)

        self._steps, self._samples, self._seconds = Growing(), Growing(), Growing()
        self._losses, self._smooth = Growing(), Growing()
        self._epochs, self._accuracy = Growing(), Growing()
        self._ema = (0.0, 1.0)  # the moving average so far and its debiasing factor
        self.log: RunLog | None = None  # the runs shown (follow())
        self.current: Run | None = None  # the run whose points come with add_losses
        self.earlier: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}  # run id: its loss and accuracy curves
        self._dirty = self._accuracy_dirty = False
        # Armed by new data, not ticking all the time: an idle window wakes no one up.
        self.redraw_timer = QTimer(self, singleShot=True, interval=redraw_interval_ms())
        self.redraw_timer.timeout.connect(self._redraw)
        self._smoothing_changed()

    @property
    def weight(self) -> float:
        """The moving average's weight, from the slider."""
        return self.smoothing.value() / 100

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
        """The current run's points."""
        return self._steps.size

    # -- runs ---------------------------------------------------------------------------------------
    def follow(self, log: RunLog, current: Run | None) -> None:
        """Show log's runs: `current` as the run training now (its points come with add_losses), the others faded.
        A new current run turns the one before into an earlier run."""
        self.log = log
        if current is self.current and set(self.earlier) == {r.id for r in log.runs if r is not current}:
            return
        if current is not self.current:
            self._clear_current()
            self.current = current
        for run_id in set(self.earlier) - {r.id for r in log.runs if r is not current}:
            loss, accuracy = self.earlier.pop(run_id)
            self.loss_plot.removeItem(loss)
            self.accuracy_plot.removeItem(accuracy)
        for run in log.runs:
            if run is not current and run.id not in self.earlier:
                self.earlier[run.id] = (self.loss_plot.plot(), self.accuracy_plot.plot(symbol="o", symbolSize=5))
        self._relabel()
        self._redraw_all()

    def _colour(self, run: Run | None) -> QColor:
        index = self.log.runs.index(run) if self.log is not None and run in self.log.runs else 0
        return QColor(RUN_COLOURS[index % len(RUN_COLOURS)])

    def _colour_current(self, index: int) -> None:
        colour = QColor(RUN_COLOURS[index % len(RUN_COLOURS)])
        faint = QColor(colour)
        faint.setAlpha(70)
        self.raw_curve.setPen(pg.mkPen(faint, width=1))
        self.smooth_curve.setPen(pg.mkPen(colour, width=2))
        self.accuracy_curve.setPen(pg.mkPen(colour, width=2))
        self.accuracy_curve.setSymbolBrush(colour)
        self.accuracy_curve.setSymbolPen(colour)

    def _relabel(self) -> None:
        """The legend names every run by what sets it apart (that changes as runs come and go)."""
        self.legend.clear()
        if self.log is None:
            return
        for run in self.log.runs:
            colour = self._colour(run)
            if run is self.current:
                self._colour_current(self.log.runs.index(run))
                self.legend.addItem(self.smooth_curve, self.log.label(run))
                continue
            loss, accuracy = self.earlier[run.id]
            faded = QColor(colour)
            faded.setAlpha(EARLIER_ALPHA)
            loss.setPen(pg.mkPen(faded, width=1))
            accuracy.setPen(pg.mkPen(faded, width=1))
            accuracy.setSymbolBrush(faded)
            accuracy.setSymbolPen(faded)
            self.legend.addItem(loss, self.log.label(run))

    def _legend_clicked(self, item) -> None:
        """A run hidden or shown in the legend: its other curves follow."""
        visible = item.isVisible()
        if item is self.smooth_curve:
            self.raw_curve.setVisible(visible)
            self.accuracy_curve.setVisible(visible)
            return
        for loss, accuracy in self.earlier.values():
            if loss is item:
                accuracy.setVisible(visible)

    def run_visible(self, run: Run) -> bool:
        return (self.smooth_curve if run is self.current else self.earlier[run.id][0]).isVisible()

    def _smoothing_changed(self) -> None:
        self.smoothing_label.setText(f"smoothing {self.weight:.2f}")
        values, self._ema = smooth_on(list(self._losses.view()), self.weight)
        self._smooth.clear()
        self._smooth.extend(values)
        self._redraw_all()

    # -- the current run ----------------------------------------------------------------------------
    def add_losses(
        self,
        steps: list[int],
        losses: list[float],
        samples: list[int] | None = None,
        seconds: list[float] | None = None,
    ) -> None:
        smoothed, self._ema = smooth_on(losses, self.weight, self._ema)
        self._steps.extend(steps)
        self._samples.extend(samples if samples is not None else steps)
        self._seconds.extend(seconds if seconds is not None else steps)
        self._losses.extend(losses)
        self._smooth.extend(smoothed)
        self._dirty = True
        self._schedule()

    def add_accuracy(self, epoch: int, accuracy: float) -> None:
        self._epochs.extend([epoch])
        self._accuracy.extend([100 * accuracy])
        self._accuracy_dirty = True
        self._schedule()

    def _clear_current(self) -> None:
        for buffer in (self._steps, self._samples, self._seconds, self._losses, self._smooth, self._epochs):
            buffer.clear()
        self._accuracy.clear()
        self._ema = (0.0, 1.0)
        self.raw_curve.setVisible(True)
        self.smooth_curve.setVisible(True)
        self.accuracy_curve.setVisible(True)
        self._dirty = self._accuracy_dirty = True

    def clear(self) -> None:
        """Every run off the plots."""
        self._clear_current()
        self.current = None
        for loss, accuracy in self.earlier.values():
            self.loss_plot.removeItem(loss)
            self.accuracy_plot.removeItem(accuracy)
        self.earlier.clear()
        self.legend.clear()
        self._schedule()

    def _schedule(self) -> None:
        """Redraw once the interval is up: points arriving meanwhile are drawn together."""
        if not self.redraw_timer.isActive():
            self.redraw_timer.start()

    def _x(self, steps: np.ndarray, samples: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return {"steps": steps, "samples": samples, "seconds": seconds}[self.x_axis.currentData()]

    def _redraw_all(self) -> None:
        """The x axis or the smoothing changed, or runs came or went: every curve again."""
        self.loss_plot.setLabel("bottom", self.x_axis.currentText())
        weight = self.weight
        for run_id, (loss, accuracy) in self.earlier.items():
            run = next(r for r in self.log.runs if r.id == run_id)
            x = self._x(np.asarray(run.steps), np.asarray(run.samples), np.asarray(run.seconds))
            loss.setData(x, np.asarray(smooth(run.losses, weight)), skipFiniteCheck=True)
            accuracy.setData(np.asarray(run.epochs), 100 * np.asarray(run.accuracy))
        self._dirty = self._accuracy_dirty = True
        self._redraw()

    def _redraw(self) -> None:
        if self._dirty:
            self._dirty = False
            x = self._x(self._steps.view(), self._samples.view(), self._seconds.view())
            self.raw_curve.setData(x, self._losses.view(), skipFiniteCheck=True)
            self.smooth_curve.setData(x, self._smooth.view(), skipFiniteCheck=True)
        if self._accuracy_dirty:
            self._accuracy_dirty = False
            accuracy = self._accuracy.view()
            self.accuracy_curve.setData(self._epochs.view(), accuracy)
            epochs = [self._epochs.view()] + [np.asarray(r.epochs) for r in self._earlier_runs()]
            shown = [accuracy] + [100 * np.asarray(r.accuracy) for r in self._earlier_runs()]
            everything = np.concatenate(shown) if shown else accuracy
            if everything.size:  # at least 2 points of height, so one epoch does not fill the plot with ticks
                low = min(float(everything.min()), 98.0)
                self.accuracy_plot.setYRange(low - 0.5, 100.0, padding=0)
                last = max(float(np.concatenate(epochs).max()), 2.0)
                self.accuracy_plot.setXRange(0.5, last + 0.5, padding=0)
                axis = self.accuracy_plot.getAxis("bottom")
                axis.setTickSpacing(*epoch_tick_spacing(last, axis.width() or self.accuracy_plot.width()))

    def _earlier_runs(self) -> list[Run]:
        if self.log is None:
            return []
        return [r for r in self.log.runs if r.id in self.earlier and r.accuracy]
