"""The left column: the canvas and its pen, what the network reads, and the buttons that label a drawing."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from .actions import action_button, make_action
from .canvas import Canvas
from .prediction import PredictionPanel

PEN_WIDTHS = (4, 40)  # the pen width slider's range, in canvas pixels


class DrawPanel(QWidget):
    """Canvas, pen width, undo and clear, the prediction panel, the label buttons (keys 0-9) and Teach."""

    label_requested = Signal(int)  # a digit key or button: save the drawing as this digit (and teach it)

    def __init__(self, pen_width: int | None = None, teach: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = Canvas()
        self.clear_action = make_action(
            self, "&Clear", lambda: self.canvas.clear(), ["Esc", "Delete"], "Clear the drawing"
        )
        self.undo_action = self.canvas.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setToolTip("Undo the last stroke or clear (Ctrl+Z)")
        self.redo_action = self.canvas.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.addActions([self.undo_action, self.redo_action])

        self.pen_width = QSlider(Qt.Orientation.Horizontal, minimum=PEN_WIDTHS[0], maximum=PEN_WIDTHS[1])
        self.pen_width.setValue(int(self.canvas.pen_width) if pen_width is None else pen_width)
        self.pen_width.setToolTip("Pen width")
        self.pen_width.valueChanged.connect(self.canvas.set_pen_width)
        self.canvas.set_pen_width(self.pen_width.value())
        self.clear_button = action_button(self.clear_action, "clear_button")
        self.undo_button = action_button(self.undo_action, "undo_button")
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Pen"))
        tools.addWidget(self.pen_width, 1)
        tools.addWidget(self.undo_button)
        tools.addWidget(self.clear_button)

        self.prediction = PredictionPanel()
        labels = QGridLayout()  # two rows of five keep the column narrow
        labels.setSpacing(2)
        caption = QLabel("Label it:")
        caption.setToolTip("Press a digit key (0-9) or click a button to save the drawing to My digits")
        labels.addWidget(caption, 0, 0)
        for digit in range(10):
            action = make_action(
                self,
                str(digit),
                lambda _=False, d=digit: self.label_requested.emit(d),
                str(digit),
                f"Save the drawing to My digits as a {digit} (and teach it, if Teach is ticked)",
            )
            button = action_button(action, f"label_{digit}")
            button.setMinimumWidth(28)
            labels.addWidget(button, digit // 5, 1 + digit % 5)
        self.teach_check = QCheckBox("Teach")
        self.teach_check.setObjectName("teach_check")
        self.teach_check.setChecked(teach)
        self.teach_check.setToolTip("Also learn a labelled drawing at once: a few SGD steps on it, mixed with MNIST")
        labels.addWidget(self.teach_check, 1, 0)

        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 3)
        layout.addLayout(tools)
        layout.addWidget(self.prediction, 2)
        layout.addLayout(labels)
