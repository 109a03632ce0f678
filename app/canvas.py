"""The drawing surface: white ink on black like MNIST, round anti-aliased strokes, undo per stroke."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QTabletEvent,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from lenet_core.strokes import Stroke as CoreStroke

SIZE = 280  # the drawing's own resolution, in canvas units; the widget scales it to fit
DEFAULT_PEN_WIDTH = 18.0  # in canvas units: strokes then come out about as thick as MNIST's

Stroke = tuple[float, list[QPointF]]  # (pen width, points), in canvas units


class _SetStrokes(QUndoCommand):
    """One undoable edit: the list of strokes before and after (a stroke added, or all cleared)."""

    def __init__(self, canvas: Canvas, before: list[Stroke], after: list[Stroke], already_drawn: bool) -> None:
        super().__init__()
        self.canvas, self.before, self.after = canvas, before, after
        self._skip_render = already_drawn

    def redo(self) -> None:
        if self._skip_render:  # a new stroke is already on the raster: no need to render everything again
            self._skip_render = False
            self.canvas._strokes = list(self.after)
            return
        self.canvas._set_strokes(self.after)

    def undo(self) -> None:
        self.canvas._set_strokes(self.before)


class Canvas(QWidget):
    """A square drawing area. Strokes are kept as vectors (crisp at any size) and rasterised for the model."""

    drawingChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Draw a digit with the mouse or a pen. Ctrl+Z undoes a stroke, Esc clears.")
        self.pen_width = DEFAULT_PEN_WIDTH
        self._strokes: list[Stroke] = []
        self._current: list[QPointF] | None = None
        self.undo_stack = QUndoStack(self)
        self._raster = QImage(SIZE, SIZE, QImage.Format.Format_Grayscale8)
        self._raster.fill(0)

    # -- what the model reads -----------------------------------------------------------------
    def image(self) -> np.ndarray:
        """The drawing as a 280x280 uint8 array, ink 255 on 0."""
        bits = self._raster.constBits()
        stride = self._raster.bytesPerLine()
        return np.frombuffer(bits, np.uint8, count=stride * SIZE).reshape(SIZE, stride)[:, :SIZE].copy()

    def strokes(self) -> list[CoreStroke]:
        """The drawing as vectors (canvas units, y down) with their pen widths, a stroke still being drawn included:
        what My digits keeps and what teaching draws again in other ways. Points dragged off the canvas are moved to
        its edge (what is drawn there is cut off, and a re-drawing would show it)."""
        strokes = [*self._strokes, *([(self.pen_width, self._current)] if self._current else [])]
        return [
            CoreStroke(np.clip(np.array([(p.x(), p.y()) for p in points], np.float32), 0, SIZE), width)
            for width, points in strokes
        ]

    def is_empty(self) -> bool:
        return not self._strokes and not self._current

    # -- editing ------------------------------------------------------------------------------
    def clear(self) -> None:
        if self._strokes:
            self.undo_stack.push(_SetStrokes(self, list(self._strokes), [], already_drawn=False))

    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()

    def _set_strokes(self, strokes: list[Stroke]) -> None:
        self._strokes = list(strokes)
        self._rerender()

    def set_pen_width(self, width: float) -> None:
        self.pen_width = float(width)

    # -- geometry -----------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def _square(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_canvas(self, pos: QPointF) -> QPointF:
        square = self._square()
        scale = SIZE / square.width()
        return QPointF((pos.x() - square.left()) * scale, (pos.y() - square.top()) * scale)

    # -- input --------------------------------------------------------------------------------
    def _begin(self, pos: QPointF) -> None:
        self._current = [self._to_canvas(pos)]
        self._paint_segment(self._current, len(self._current) - 1)

    def _extend(self, pos: QPointF) -> None:
        if self._current is None:
            return
        point = self._to_canvas(pos)
        last = self._current[-1]
        if abs(point.x() - last.x()) + abs(point.y() - last.y()) < 0.5:
            return
        self._current.append(point)
        self._paint_segment(self._current, len(self._current) - 1)

    def _end(self) -> None:
        if self._current is not None:
            stroke = (self.pen_width, self._current)
            self._current = None
            self.undo_stack.push(_SetStrokes(self, list(self._strokes), [*self._strokes, stroke], already_drawn=True))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position())
        elif event.button() == Qt.MouseButton.RightButton:
            self.undo()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._extend(event.position())
            self._end()

    def tabletEvent(self, event: QTabletEvent) -> None:
        # A pen tablet draws like the mouse; accepting it stops Qt from also sending synthesised mouse events.
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self._begin(event.position())
        elif kind == QTabletEvent.Type.TabletMove and event.buttons():
            self._extend(event.position())
        elif kind == QTabletEvent.Type.TabletRelease:
            self._end()
        event.accept()

    # -- drawing ------------------------------------------------------------------------------
    @staticmethod
    def _pen(width: float, color: QColor) -> QPen:
        return QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)

    @staticmethod
    def _path(points: list[QPointF]) -> QPainterPath:
        path = QPainterPath(points[0])
        if len(points) == 1:
            path.lineTo(points[0])  # a dot: a zero-length line, drawn as a round cap
        for point in points[1:]:
            path.lineTo(point)
        return path

    def _paint_segment(self, points: list[QPointF], index: int) -> None:
        """Add the newest piece of the current stroke to the raster, repaint only where it changed."""
        segment = points[max(index - 1, 0) : index + 1]
        painter = QPainter(self._raster)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen(self.pen_width, QColor(255, 255, 255)))
        painter.drawPath(self._path(segment))
        painter.end()
        square = self._square()
        scale = square.width() / SIZE
        bounds = (
            QRectF(segment[0], segment[-1])
            .normalized()
            .adjusted(-self.pen_width, -self.pen_width, self.pen_width, self.pen_width)
        )
        self.update(
            QRectF(
                square.left() + bounds.left() * scale,
                square.top() + bounds.top() * scale,
                bounds.width() * scale,
                bounds.height() * scale,
            ).toAlignedRect()
        )
        self.drawingChanged.emit()

    def _rerender(self) -> None:
        self._raster.fill(0)
        painter = QPainter(self._raster)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for width, points in self._strokes:
            painter.setPen(self._pen(width, QColor(255, 255, 255)))
            painter.drawPath(self._path(points))
        painter.end()
        self.update()
        self.drawingChanged.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        square = self._square()
        painter.fillRect(square, QColor(0, 0, 0))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(square.topLeft())
        painter.scale(square.width() / SIZE, square.width() / SIZE)
        painter.setClipRect(QRectF(0, 0, SIZE, SIZE))
        strokes = list(self._strokes)
        if self._current:
            strokes.append((self.pen_width, self._current))
        for width, points in strokes:
            painter.setPen(self._pen(width, QColor(255, 255, 255)))
            painter.drawPath(self._path(points))
        if not strokes:
            painter.setPen(QColor(110, 110, 110))
            font = painter.font()
            font.setPixelSize(16)
            painter.setFont(font)
            painter.drawText(QRectF(0, 0, SIZE, SIZE), Qt.AlignmentFlag.AlignCenter, "Draw a digit here")
        painter.end()
