"""The middle column: how training goes (loss and accuracy plots) and, in tabs below, what the network sees (conv1's
filters and the drawing's feature maps), how each layer fares (layer health) and why the network answers as it does."""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QSplitter, QTabWidget, QWidget

from lenet_core.inference import Prediction
from lenet_core.runs import Run, RunLog
from lenet_core.training import EpochEvent

from .feature_maps import FeatureMaps
from .health_view import LayerHealthView
from .plots import TrainingPlots
from .why_view import WhyView
from .worker import Progress

FEATURE_INTERVAL_MS = 100  # feature maps refresh at most 10 times a second


class LiveView(QSplitter):
    """Plots above; feature maps and layer health below, in tabs. The feature maps follow the newest prediction, at
    most every 100 ms."""

    def __init__(self, net: torch.nn.Module, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.net = net  # the GUI's copy of the weights, whose filters are shown
        self.plots = TrainingPlots()
        self.feature_maps = FeatureMaps()
        self.health = LayerHealthView()
        self.why = WhyView()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("live_tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.feature_maps, "Feature maps")
        self.tabs.addTab(self.health, "Layer health")
        self.tabs.addTab(self.why, "Why this answer")
        self.tabs.setTabToolTip(2, "Which ink of the drawing spoke for the answer, and for another digit")
        self.tabs.setTabToolTip(
            1, "Update ratio, gradient and weight norms and dead ReLUs of each layer while it trains"
        )
        self.health.warning_changed.connect(self._health_warning)
        self.tabs.currentChanged.connect(self._refresh_features)  # a tab shown: what it shows is drawn now
        self.addWidget(self.plots)
        self.addWidget(self.tabs)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 1)
        self._prediction: Prediction | None = None
        self.features_timer = QTimer(self, singleShot=True, interval=FEATURE_INTERVAL_MS)
        self.features_timer.timeout.connect(self._refresh_features)
        self.feature_maps.show_filters(net.conv1.weight)

    def paced_timers(self) -> tuple[QTimer, ...]:
        """The timers of what redraws while training (app/pace.py)."""
        return self.plots.redraw_timer, self.health.redraw_timer, self.features_timer

    def show_prediction(self, prediction: Prediction, drawn: bool = False) -> None:
        """A new drawing or new weights: the feature maps follow (throttled to the screen's pace, not training's).
        drawn: the drawing changed: within FEATURE_INTERVAL_MS, even while training slows the views (app/pace.py)."""
        self._prediction = prediction
        timer = self.features_timer
        if drawn and (not timer.isActive() or timer.remainingTime() > FEATURE_INTERVAL_MS):
            timer.start(FEATURE_INTERVAL_MS)  # for this once; the pace gives it its own interval back after
        elif not timer.isActive():
            timer.start()

    def _refresh_features(self) -> None:
        if self.tabs.currentWidget() is self.feature_maps:  # hidden, their mosaics cost the training time for nothing
            self.feature_maps.show_activations(self._prediction.activations if self._prediction else None)
            self.feature_maps.show_filters(self.net.conv1.weight)
        if self._prediction is not None:
            self.why.show_prediction(self.net, self._prediction)

    def add_progress(self, progress: Progress, runs: RunLog, live: Run | None) -> None:
        """Steps the session has recorded in `live`, one of `runs`."""
        self.plots.follow(runs, live)
        self.plots.add_losses(progress.steps, progress.losses, progress.samples, progress.seconds)
        self.health.add(progress.health)

    def _health_warning(self, verdict: str) -> None:
        """The tab says so even while the feature maps are shown."""
        self.tabs.setTabText(1, "Layer health ⚠" if verdict else "Layer health")
        self.tabs.setTabToolTip(1, verdict or "Update ratio, gradient and weight norms and dead ReLUs of each layer")

    def add_epoch(self, event: EpochEvent) -> None:
        if event.test_accuracy is not None:
            self.plots.add_accuracy(event.epoch, event.test_accuracy)
