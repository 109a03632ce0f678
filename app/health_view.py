"""Layer health over the steps: update ratio, gradient and weight norms, dead ReLUs (lenet_core.health), per layer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lenet_core.health import LAYERS, RATIO_RULE, RATIO_TOO_HIGH, RATIO_TOO_LOW, RELU_LAYERS, LayerHealth

from .plots import Growing, redraw_interval_ms, style_plot

# What the plot can show: the LayerHealth field, its text, whether on a log axis, its tip.
QUANTITIES = (
    ("update_ratio", "update ratio  lr·|grad| / |w|", True, "How much a step changes each layer's weights, relative to "
     f"them: near {RATIO_RULE:g} (the line) a layer learns at a healthy pace; above {RATIO_TOO_HIGH:g} the run is "
     f"likely to blow up (lower the lr), below {RATIO_TOO_LOW:g} it hardly learns"),
    ("grad_norm", "gradient norm  |grad|", True, "The size of each layer's weight gradient on the step's batch"),
    ("weight_norm", "weight norm  |w|", True, "The size of each layer's weights"),
    ("dead", "dead ReLUs (%)", False, "Share of each layer's ReLU units that passed nothing for the whole batch: no "
     "gradient flows through them"),
)  # fmt: skip
# Twice a second at most (app/pace.py may slow it): a trend needs no more, and a redraw of 5 curves costs 6-10 ms of
# the GUI thread, taken from training.
REDRAW_MS = 500
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")  # one per layer, the same in every quantity


class LayerHealthView(QWidget):
    """One plot, all layers as lines, a quantity chosen; under it the newest step's figures and a warning."""

    warning_changed = Signal(str)  # the newest measurement's verdict ("" when healthy)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layer_health")
        self.quantity = QComboBox()
        self.quantity.setObjectName("health_quantity")
        for field, text, _, tip in QUANTITIES:
            self.quantity.addItem(text, field)
            self.quantity.setItemData(self.quantity.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.quantity.setToolTip("What the plot shows for each layer, measured on one training step every 0.25 s")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("health_plot")
        style_plot(self.plot)
        self.plot.setLabel("bottom", "step")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # "0.001" on a log axis read as x0.001: confusing
        self.curves = {
            name: self.plot.plot(pen=pg.mkPen(colour, width=1))  # 2 px: 14 ms a redraw instead of 8
            for name, colour in zip(LAYERS, COLOURS, strict=True)
        }
        # The rule of thumb and the healthy band, on the ratio only.
        self.rule = pg.InfiniteLine(angle=0, pen=pg.mkPen(self.palette().text().color(), style=Qt.PenStyle.DashLine))
        self.band = pg.LinearRegionItem(orientation="horizontal", movable=False, brush=pg.mkBrush(44, 160, 44, 30))
        self.band.setZValue(-10)
        for line in self.band.lines:
            line.setPen(pg.mkPen(None))
        self.plot.addItem(self.rule)
        self.plot.addItem(self.band)
        self.readout = QLabel("Train to see how each layer fares.")
        self.readout.setObjectName("health_readout")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # The layers' colours beside the choice, not in a legend over the plot (it hid the top of the range).
        self.key = QLabel(
            "  ".join(f'<span style="color:{c}">━━</span> {n}' for n, c in zip(LAYERS, COLOURS, strict=True))
        )
        self.key.setObjectName("health_key")
        self.key.setWordWrap(True)  # on two lines rather than widen a narrow window
        self.key.setToolTip("Each layer's line")

        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.quantity, 1)
        top.addWidget(self.key)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)

        # Every measurement so far, a column a field and layer: appending is cheap and a redraw only slices them.
        self._steps = Growing()
        self._columns = {field: [Growing() for _ in self._layers(field)] for field, *_ in QUANTITIES}
        self.newest: LayerHealth | None = None
        self.verdict = ""  # the newest measurement's (LayerHealth.verdict)
        self._dirty = False
        self.redraw_timer = QTimer(self, singleShot=True, interval=max(redraw_interval_ms(), REDRAW_MS))
        self.redraw_timer.timeout.connect(self._redraw)
        self.quantity.currentIndexChanged.connect(self._quantity_changed)
        self._quantity_changed()

    def add(self, measured: list[LayerHealth]) -> None:
        if not measured:
            return
        self._steps.extend([h.step for h in measured])
        for field, columns in self._columns.items():
            rows = np.array([getattr(h, field) for h in measured], dtype=np.float64)
            for i, column in enumerate(columns):
                column.extend(rows[:, i])
        self.newest = measured[-1]
        verdict = self.newest.verdict()
        if verdict != self.verdict:
            self.verdict = verdict
            self.warning_changed.emit(verdict)
        self._dirty = True
        if not self.redraw_timer.isActive():
            self.redraw_timer.start()

    @property
    def count(self) -> int:
        """How many measurements are kept (and drawn)."""
        return self._steps.size

    @staticmethod
    def _layers(field: str) -> tuple[str, ...]:
        return RELU_LAYERS if field == "dead" else LAYERS

    def _show_newest(self) -> None:
        newest = self.newest
        if newest is None:
            self.readout.setText("Train to see how each layer fares.")
            return
        ratios = "  ·  ".join(f"{n} {r:.1e}" for n, r in zip(LAYERS, newest.update_ratio, strict=True))
        dead = "  ·  ".join(f"{n} {100 * d:.0f} %" for n, d in zip(RELU_LAYERS, newest.dead, strict=True))
        text = f"Step {newest.step:,}, lr {newest.lr:.3g}. Update ratio: {ratios}. Dead ReLUs: {dead}."
        colour = "#d62728" if self.verdict else self.palette().text().color().name()
        self.readout.setText(f'<span style="color:{colour}"><b>{self.verdict or "Healthy."}</b></span> {text}')

    def clear(self) -> None:
        self._steps.clear()
        for columns in self._columns.values():
            for column in columns:
                column.clear()
        self.newest = None
        if self.verdict:
            self.verdict = ""
            self.warning_changed.emit("")
        self._dirty = True
        self._redraw()

    def _quantity_changed(self) -> None:
        field, _, log, _ = QUANTITIES[self.quantity.currentIndex()]
        self.plot.setLogMode(y=log)
        self.plot.setLabel("left", self.quantity.currentText().split("  ")[0])
        ratio = field == "update_ratio"
        self.rule.setVisible(ratio)
        self.band.setVisible(ratio)
        if ratio:  # positions are in the axis's own units: log10 of the ratio
            self.rule.setPos(np.log10(RATIO_RULE))
            self.band.setRegion((np.log10(RATIO_TOO_LOW), np.log10(RATIO_TOO_HIGH)))
        for name, curve in self.curves.items():
            curve.setVisible(field != "dead" or name in RELU_LAYERS)
        self._dirty = True
        self._redraw()

    def showEvent(self, event) -> None:  # drawn only while shown: a hidden tab costs the training nothing
        super().showEvent(event)
        if self._dirty:
            self._redraw()

    def _redraw(self) -> None:
        if not self.isVisible():
            return
        self._dirty = False
        self._show_newest()
        field = QUANTITIES[self.quantity.currentIndex()][0]
        steps = self._steps.view()
        for name, values in zip(self._layers(field), self._columns[field], strict=True):
            column = 100 * values.view() if field == "dead" else values.view()
            if self.plot.getPlotItem().ctrl.logYCheck.isChecked():
                column = np.where(column > 0, column, np.nan)  # log of 0: not drawn (a layer with no gradient)
            self.curves[name].setData(steps, column, connect="finite")
