"""Data, hyper-parameters and the training controls."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lenet_core.training import LIMITS, LR_SCHEDULES, OPTIMIZERS, PRESETS, StepEvent, TrainConfig

from .actions import action_button

SOURCES = (  # what "Train on" offers: text, and the parts the worker joins
    ("MNIST + pen digits", "mnist+pen"),
    ("MNIST", "mnist"),
    ("Pen digits only", "pen"),
    ("MNIST + pen digits + My digits", "mnist+pen+mine"),
    ("MNIST + My digits", "mnist+mine"),
    ("My digits only", "mine"),
)
DEFAULT_SOURCE = "mnist+pen"  # the shipped weights' recipe: MNIST and drawings
STATUS_INTERVAL_MS = 250  # the epoch bar and the speed read-out: 4 times a second is readable, and cheap


class NumberBox(QDoubleSpinBox):
    """A real number from LIMITS, shown as written ("0.25", "1e-05") and committed on Enter or focus-out.

    QDoubleSpinBox rounds to a fixed number of decimals (lr 1e-7 became 0.0001) and commits every keystroke; this
    one keeps ten significant digits, reads "1e-5" too, and steps by one unit of the value's last decimal.
    """

    def __init__(self, name: str, tip: str) -> None:
        super().__init__()
        self.setObjectName(f"{name}_box")
        self.setDecimals(15)  # what QDoubleSpinBox rounds values to: enough for 1e-6 with 9 more digits
        self.setRange(*LIMITS[name])
        self.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.setKeyboardTracking(False)
        self.setToolTip(f"{tip} ({LIMITS[name][0]:g} to {LIMITS[name][1]:g})")

    def textFromValue(self, value: float) -> str:
        return self.locale().toString(value, "g", 10)

    def valueFromText(self, text: str) -> float:
        value = self._parse(text)
        return self.value() if value is None else value

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        value = self._parse(text)
        if value is not None and self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        typing = all(c.isdigit() or c in "eE+-" or c in (self.locale().decimalPoint(), ".") for c in text.strip())
        return (QValidator.State.Intermediate if typing else QValidator.State.Invalid), text, pos

    def _parse(self, text: str) -> float | None:
        text = text.strip()
        value, ok = self.locale().toDouble(text)
        if not ok:
            try:  # "1e-5" and "0.25" also in a locale that writes 0,25
                value = float(text)
            except ValueError:
                return None
        return value if math.isfinite(value) else None


def int_box(name: str, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(f"{name}_box")
    box.setRange(*LIMITS[name])
    box.setKeyboardTracking(False)  # commit on Enter or focus-out, not on every keystroke
    box.setToolTip(f"{tip} ({LIMITS[name][0]} to {LIMITS[name][1]})")
    return box


class TrainingPanel(QWidget):
    """The data source, the hyper-parameters, the Start/Step/Reset buttons and how far training is (the epoch bar and
    speed_label, a read-out for the status bar). It shows exactly the config in use."""

    config_changed = Signal(object)  # TrainConfig

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        data_box = QGroupBox("Data")
        self.data_label = QLabel(
            "No MNIST yet. Drawing and prediction work offline with the shipped weights; to train, download MNIST "
            "or choose a folder that holds it."
        )
        self.data_label.setWordWrap(True)
        self.choose_data = action_button(actions["data"], "data_button")
        self.download = action_button(actions["download"], "download_button")
        data_layout = QVBoxLayout(data_box)
        data_layout.addWidget(self.data_label)
        data_buttons = QHBoxLayout()
        data_buttons.addWidget(self.download)
        data_buttons.addWidget(self.choose_data)
        data_layout.addLayout(data_buttons)
        self.source = QComboBox()
        self.source.setObjectName("source_combo")
        for text, key in SOURCES:
            self.source.addItem(text, key)
        self.source.setToolTip(
            "What Start and Step train on. Pen digits: 7,494 digits drawn with a pen by 30 people, drawn again as "
            "on this canvas (any size, place, pen width and slant); with MNIST they teach the network drawings."
        )
        self.my_digits_label = QLabel("My digits: 0 saved")
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Train on"))
        source_row.addWidget(self.source, 1)
        data_layout.addLayout(source_row)
        data_layout.addWidget(self.my_digits_label)

        params = QGroupBox("Hyper-parameters")
        form = QFormLayout(params)
        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, "custom"])
        self.preset.setToolTip("default: reaches 99 % on MNIST; tutorial: plain SGD with lr 0.01, as in the tutorial")
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.lr = NumberBox("lr", "Learning rate (the peak rate under the one-cycle schedule)")
        self.momentum = NumberBox("momentum", "Momentum of SGD (Nesterov); not used by Adam")
        self.weight_decay = NumberBox("weight_decay", "Weight decay (L2 penalty)")
        self.schedule = QComboBox()
        self.schedule.addItems(LR_SCHEDULES)
        self.batch_size = int_box("batch_size", "Images per SGD step")
        self.epochs = int_box("epochs", "Passes over the training data")
        self.seed = int_box("seed", "Seed of the data order and augmentation (and of Reset's random weights)")
        self.augment = QCheckBox("Augment (random shifts, rotations, stroke widths)")
        for label, widget in (
            ("Preset", self.preset),
            ("Optimizer", self.optimizer),
            ("Learning rate", self.lr),
            ("Momentum", self.momentum),
            ("Weight decay", self.weight_decay),
            ("LR schedule", self.schedule),
            ("Batch size", self.batch_size),
            ("Epochs", self.epochs),
            ("Seed", self.seed),
        ):
            form.addRow(label, widget)
        form.addRow(self.augment)

        self.train_button = action_button(actions["train"], "train_button")
        self.step_button = action_button(actions["step"], "step_button")
        self.reset_button = action_button(actions["reset"], "reset_button")
        buttons = QHBoxLayout()
        for button in (self.train_button, self.step_button, self.reset_button):
            buttons.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setObjectName("epoch_progress")
        self.progress.setToolTip("Progress through the current epoch")
        self.progress.setFormat("")
        self.speed_label = QLabel("")  # the window puts it in its status bar
        self.readout_timer = QTimer(self, singleShot=True, interval=STATUS_INTERVAL_MS)
        self.readout_timer.timeout.connect(self._show_step)
        self._pending_step: StepEvent | None = None  # the newest step, not yet in the epoch bar and the read-out
        self._last_progress: tuple[float, int] | None = None  # when the read-out last showed a step, and which

        layout = QVBoxLayout(self)
        # Clear of the window's right edge, as the drawing column is of its left edge (the style's margin).
        layout.setContentsMargins(0, 0, layout.contentsMargins().right(), 0)
        layout.addWidget(data_box)
        layout.addWidget(params)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addStretch(1)

        self._config = PRESETS["default"]
        self._updating = False
        self.preset.currentTextChanged.connect(self._preset_chosen)
        # Each field changes only its own value: the others keep exactly what the config holds.
        self.optimizer.currentTextChanged.connect(lambda v: self._edited(optimizer=v))
        self.schedule.currentTextChanged.connect(lambda v: self._edited(lr_schedule=v))
        self.lr.valueChanged.connect(lambda v: self._edited(lr=v))
        self.momentum.valueChanged.connect(lambda v: self._edited(momentum=v))
        self.weight_decay.valueChanged.connect(lambda v: self._edited(weight_decay=v))
        self.batch_size.valueChanged.connect(lambda v: self._edited(batch_size=v))
        self.epochs.valueChanged.connect(lambda v: self._edited(epochs=v))
        self.seed.valueChanged.connect(lambda v: self._edited(seed=v))
        self.augment.toggled.connect(lambda v: self._edited(augment=v))

    # -- config <-> widgets -----------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        """Show config. Every TrainConfig is within LIMITS, the boxes' ranges: nothing is shown clipped."""
        self._updating = True
        try:
            preset = next((name for name, p in PRESETS.items() if p == config), "custom")
            self.preset.setCurrentText(preset)
            self.optimizer.setCurrentText(config.optimizer)
            self.lr.setValue(config.lr)
            self.momentum.setValue(config.momentum)
            self.weight_decay.setValue(config.weight_decay)
            self.schedule.setCurrentText(config.lr_schedule)
            self.batch_size.setValue(config.batch_size)
            self.epochs.setValue(config.epochs)
            self.seed.setValue(config.seed)
            self.augment.setChecked(config.augment)
            self._config = config
        finally:
            self._updating = False

    def config(self) -> TrainConfig:
        return self._config

    def _preset_chosen(self, name: str) -> None:
        if self._updating or name not in PRESETS:
            return
        self.set_config(PRESETS[name])
        self.config_changed.emit(self._config)

    def _edited(self, **change) -> None:
        if self._updating:
            return
        config = self._config.replace(**change)  # the boxes' ranges are LIMITS: a valid config
        if config == self._config:
            return
        self.set_config(config)
        self.config_changed.emit(config)

    def set_running(self, running: bool) -> None:
        for widget in (
            self.preset,
            self.optimizer,
            self.lr,
            self.momentum,
            self.weight_decay,
            self.schedule,
            self.batch_size,
            self.epochs,
            self.seed,
            self.augment,
            self.source,
        ):
            widget.setEnabled(not running)
        if not running:
            self._show_step()  # the last steps of the run
            self._last_progress = None

    # -- progress -------------------------------------------------------------------------------
    def show_step(self, event: StepEvent, at_once: bool) -> None:
        """The newest step: shown at once (one Step), else with the next read-out (4 a second while training)."""
        self._pending_step = event
        if at_once:
            self._show_step()
        elif not self.readout_timer.isActive():
            self.readout_timer.start()

    def _show_step(self) -> None:
        event, self._pending_step = self._pending_step, None
        if event is None:
            return
        if self.progress.maximum() != max(event.batches_per_epoch, 1):
            self.progress.setRange(0, max(event.batches_per_epoch, 1))
        self.progress.setValue(event.batch)
        text = f"epoch {event.epoch + 1}: %v / %m batches"
        if self.progress.format() != text:  # each setFormat lays the bar out again
            self.progress.setFormat(text)
        now = time.monotonic()
        label = self.speed_label
        if self._last_progress is not None and now > self._last_progress[0]:
            steps_per_s = (event.step - self._last_progress[1]) / (now - self._last_progress[0])
            label.setText(
                f"step {event.step:,}  ·  loss {event.loss:.4f}  ·  {steps_per_s:,.0f} steps/s  ·  "
                f"{event.samples_per_second:,.0f} samples/s"
            )
        else:
            label.setText(f"step {event.step:,}  ·  loss {event.loss:.4f}")
        self._last_progress = (now, event.step)
        # The read-out grows but never shrinks: it does not jiggle as its numbers change width, and the status bar
        # and the window are not laid out again at every read-out (they were, about 3 times a second).
        width = label.sizeHint().width()
        if width > label.minimumWidth():
            label.setMinimumWidth(width)
