"""Data, hyper-parameters and the training controls."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
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
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lenet_core.training import LR_SCHEDULES, OPTIMIZERS, PRESETS, TrainConfig


def action_button(action: QAction, name: str) -> QToolButton:
    """A button that mirrors a menu action: same text, shortcut, tooltip and enabled state."""
    button = QToolButton()
    button.setObjectName(name)
    button.setDefaultAction(action)
    button.setToolButtonStyle(button.toolButtonStyle().ToolButtonTextOnly)
    button.setMinimumHeight(30)
    return button


class TrainingPanel(QWidget):
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
        for text, key in (("MNIST", "mnist"), ("MNIST + My digits", "mnist+mine"), ("My digits only", "mine")):
            self.source.addItem(text, key)
        self.source.setToolTip("What Start and Step train on")
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
        self.lr = QDoubleSpinBox(decimals=4, minimum=0.0001, maximum=10.0, singleStep=0.01)
        self.lr.setToolTip("Learning rate (the peak rate under the one-cycle schedule)")
        self.momentum = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.99, singleStep=0.05)
        self.schedule = QComboBox()
        self.schedule.addItems(LR_SCHEDULES)
        self.batch_size = QSpinBox(minimum=1, maximum=4096)
        self.epochs = QSpinBox(minimum=1, maximum=1000)
        self.augment = QCheckBox("Augment (random shifts, rotations, stroke widths)")
        for label, widget in (
            ("Preset", self.preset),
            ("Optimizer", self.optimizer),
            ("Learning rate", self.lr),
            ("Momentum", self.momentum),
            ("LR schedule", self.schedule),
            ("Batch size", self.batch_size),
            ("Epochs", self.epochs),
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
        self.progress.setFormat("epoch %v")
        self.progress.setToolTip("Progress through the current epoch")
        self.progress.setFormat("")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(data_box)
        layout.addWidget(params)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addStretch(1)

        self._updating = False
        self.preset.currentTextChanged.connect(self._preset_chosen)
        for widget in (self.optimizer, self.schedule):
            widget.currentTextChanged.connect(self._edited)
        for widget in (self.lr, self.momentum, self.batch_size, self.epochs):
            widget.valueChanged.connect(self._edited)
        self.augment.toggled.connect(self._edited)

    # -- config <-> widgets -----------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        self._updating = True
        try:
            preset = next((name for name, p in PRESETS.items() if p == config), "custom")
            self.preset.setCurrentText(preset)
            self.optimizer.setCurrentText(config.optimizer)
            self.lr.setValue(config.lr)
            self.momentum.setValue(config.momentum)
            self.schedule.setCurrentText(config.lr_schedule)
            self.batch_size.setValue(config.batch_size)
            self.epochs.setValue(config.epochs)
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

    def _edited(self) -> None:
        if self._updating:
            return
        try:
            config = self._config.replace(
                optimizer=self.optimizer.currentText(),
                lr=self.lr.value(),
                momentum=self.momentum.value(),
                lr_schedule=self.schedule.currentText(),
                batch_size=self.batch_size.value(),
                epochs=self.epochs.value(),
                augment=self.augment.isChecked(),
            )
        except ValueError:
            return
        self.set_config(config)
        self.config_changed.emit(config)

    def set_running(self, running: bool) -> None:
        for widget in (
            self.preset,
            self.optimizer,
            self.lr,
            self.momentum,
            self.schedule,
            self.batch_size,
            self.epochs,
            self.augment,
            self.choose_data,
            self.download,
            self.source,
        ):
            widget.setEnabled(not running)
