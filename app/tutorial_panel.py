"""Tutorial mode: the tutorial's five training lines, run one at a time on your drawing, with what each changed.

All text goes through tr(), so translations (resources/i18n/*.qm) apply; retranslate() redraws it on a language change.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from lenet_core.model import LeNet
from lenet_core.tutorial import LINES, LineResult, TutorialWalk

from .feature_maps import FILTER_MAP


def _vector(t: torch.Tensor | None) -> str:
    return "None" if t is None else "[" + ", ".join(f"{v:+.4f}" for v in t.tolist()) + "]"


class TutorialPanel(QWidget):
    weights_changed = Signal()  # optimizer.step() changed the live model
    forward_done = Signal()  # the forward pass ran: the feature maps may refresh

    def __init__(self, net: LeNet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tutorial_panel")
        self.net = net
        self.walk: TutorialWalk | None = None
        self.input: torch.Tensor | None = None
        self.results: list[LineResult] = []

        self.code = QListWidget()
        self.code.setObjectName("tutorial_code")
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.code.addItems(LINES)
        self.code.setFixedHeight(self.code.sizeHintForRow(0) * 5 + 2 * self.code.frameWidth() + 8)
        self.code.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.code.setSelectionMode(QListWidget.SelectionMode.SingleSelection)

        self.target_label = QLabel()
        self.target = QSpinBox(minimum=0, maximum=9)
        self.target.setObjectName("tutorial_target")
        self.criterion_label = QLabel()
        self.criterion = QComboBox()
        self.criterion.setObjectName("tutorial_criterion")
        self.criterion.addItem("CrossEntropyLoss", "cross_entropy")
        self.criterion.addItem("MSELoss", "mse")
        self.next_button = QPushButton()
        self.next_button.setObjectName("tutorial_next")
        self.all_button = QPushButton()
        self.all_button.setObjectName("tutorial_run_all")
        self.restart_button = QPushButton()
        self.restart_button.setObjectName("tutorial_restart")
        self.next_button.clicked.connect(self.next_line)
        self.all_button.clicked.connect(self.run_all)
        self.restart_button.clicked.connect(self.restart)
        self.target.valueChanged.connect(self.restart)
        self.criterion.currentIndexChanged.connect(self.restart)

        self.explanation = QTextBrowser()
        self.explanation.setObjectName("tutorial_explanation")
        self.grad_view = pg.GraphicsLayoutWidget()
        self.grad_view.setBackground(self.palette().base().color())
        self.grad_view.setFixedHeight(90)
        self.grad_images = []
        for col in range(6):
            view = self.grad_view.addViewBox(row=0, col=col, lockAspect=True, enableMouse=False, invertY=True)
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(FILTER_MAP)
            view.addItem(image)
            self.grad_images.append(image)
        self.grad_label = QLabel()

        choices = QGridLayout()
        choices.addWidget(self.target_label, 0, 0)
        choices.addWidget(self.target, 0, 1)
        choices.addWidget(self.criterion_label, 1, 0)
        choices.addWidget(self.criterion, 1, 1)
        buttons = QHBoxLayout()
        for button in (self.next_button, self.all_button, self.restart_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.code)
        layout.addLayout(choices)
        layout.addLayout(buttons)
        layout.addWidget(self.explanation, 1)
        layout.addWidget(self.grad_label)
        layout.addWidget(self.grad_view)
        self.retranslate()
        self._show_position()

    # -- driven by the window ---------------------------------------------------------------------
    def set_input(self, input: torch.Tensor | None, predicted: int | None) -> None:
        """The drawing changed: a new walk starts from line one, the target defaults to the network's answer."""
        # predict() made the input in inference mode; autograd needs an ordinary tensor
        self.input = None if input is None else input.clone()
        if predicted is not None:
            self.target.blockSignals(True)
            self.target.setValue(predicted)
            self.target.blockSignals(False)
        self.restart()

    def weights_replaced(self) -> None:
        """Other weights are about to be copied into the model: a walk half-way through cannot go on."""
        if self.walk is not None and not self.walk.done:
            self.restart()

    def restart(self) -> None:
        self.walk = None
        self.results = []
        self._show_position()
        self.explanation.setHtml(self.tr("Draw a digit, choose the target, then press <b>Next line</b>."))
        for image in self.grad_images:
            image.clear()

    def next_line(self) -> None:
        if self.input is None:
            self.explanation.setHtml(self.tr("Draw a digit first: it is the input of the forward pass."))
            return
        if self.walk is None or self.walk.done:
            self.walk = TutorialWalk(self.net, self.input, self.target.value(), self.criterion.currentData())
            self.results = []
        result = self.walk.run_line()
        self.results.append(result)
        self._explain(result)
        self._show_position()
        if result.line == 1:
            self.forward_done.emit()
        if result.line == 4 and result.refused is None:
            self.weights_changed.emit()

    def run_all(self) -> None:
        self.next_line()
        while self.walk is not None and not self.walk.done:
            self.next_line()

    # -- showing ----------------------------------------------------------------------------------
    def _show_position(self) -> None:
        line = 0 if self.walk is None or self.walk.done else self.walk.next_line
        self.code.setCurrentRow(line)
        for i in range(self.code.count()):
            item = self.code.item(i)
            item.setText(("▶ " if i == line else "   ") + LINES[i])

    def _explain(self, r: LineResult) -> None:
        t = self.walk.target_digit
        if r.line == 0:
            text = self.tr(
                "<b>optimizer.zero_grad()</b> cleared the gradient buffers. Gradients add up over calls to "
                "backward(), so every step starts from nothing.<br>net.conv1.bias.grad = <tt>{grad}</tt>"
            ).format(grad=_vector(r.bias_grad_after))
        elif r.line == 1:
            outputs = " ".join(f"{d}:&nbsp;{v:+.3f}" for d, v in enumerate(r.output.tolist()))
            text = self.tr(
                "<b>output = net(input)</b> ran the forward pass on your drawing (1×1×32×32). The ten outputs, one "
                "per digit:<br><tt>{outputs}</tt><br>The feature maps now show this pass."
            ).format(outputs=outputs)
        elif r.line == 2:
            if self.walk.criterion_name == "cross_entropy":
                how = self.tr("CrossEntropyLoss compares the outputs with the digit {t}.").format(t=t)
            else:
                how = self.tr("MSELoss compares the outputs with the one-hot vector for {t}.").format(t=t)
            text = self.tr("<b>loss = criterion(output, target)</b> = <b>{loss:.6f}</b>. {how}").format(
                loss=r.loss, how=how
            )
        elif r.line == 3:
            text = self.tr(
                "<b>loss.backward()</b> computed how the loss changes with every weight.<br>"
                "net.conv1.bias.grad before: <tt>{before}</tt><br>net.conv1.bias.grad after: <tt>{after}</tt><br>"
                "Below: conv1.weight.grad for the six 3×3 filters (red positive, blue negative)."
            ).format(before=_vector(r.bias_grad_before), after=_vector(r.bias_grad_after))
            grad = r.weight_grad[:, 0].numpy()
            limit = float(np.abs(grad).max()) or 1.0
            for image, g in zip(self.grad_images, grad, strict=True):
                image.setImage(g, levels=(-limit, limit))
        elif r.refused is not None:
            text = self.tr(
                "<b>optimizer.step()</b> was not applied: {reason}. The weights are unchanged. Training with too "
                "high a learning rate blew them up: press Reset weights (Ctrl+R) or load a checkpoint."
            ).format(reason=r.refused)
        else:
            rows = "".join(
                f"<tr><td><tt>{name}</tt></td><td><tt>{old:+.6f} − {lr} × {grad:+.6f} = {new:+.6f}</tt></td></tr>"
                for name, old, lr, grad, new in r.updates
            )
            p = r.probabilities_after
            text = self.tr(
                "<b>optimizer.step()</b> moved every weight against its gradient: new = old − lr × grad."
                "<table>{rows}</table>After this step the network says <b>{digit}</b> ({confidence:.1f} %); "
                "the target {t} now has {target_p:.1f} %."
            ).format(rows=rows, digit=int(p.argmax()), confidence=100 * float(p.max()), t=t, target_p=100 * float(p[t]))
        self.explanation.setHtml(text)

    def retranslate(self) -> None:
        self.target_label.setText(self.tr("Target digit"))
        self.target.setToolTip(self.tr("The digit the step should teach (default: the network's own answer)"))
        self.criterion_label.setText(self.tr("Criterion"))
        self.next_button.setText(self.tr("Next line"))
        self.next_button.setToolTip(self.tr("Run the highlighted line on the live model"))
        self.all_button.setText(self.tr("Run all five"))
        self.restart_button.setText(self.tr("Restart"))
        self.grad_label.setText(self.tr("conv1.weight.grad"))
        if self.results:
            self._explain(self.results[-1])
        else:
            self.restart()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


def tutorial_dock(tutorial: TutorialPanel, window: QMainWindow) -> QDockWidget:
    """The tutorial docked on the window's right, hidden until asked for (View menu, Ctrl+Shift+T)."""
    dock = QDockWidget("Tutorial", window)
    dock.setObjectName("tutorial_dock")
    dock.setWidget(tutorial)
    dock.toggleViewAction().setText("&Tutorial: the training step line by line")
    dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+Shift+T"))
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()
    dock.visibilityChanged.connect(
        lambda visible: visible and window.resizeDocks([dock], [460], Qt.Orientation.Horizontal)
    )
    return dock
