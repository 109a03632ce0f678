"""Image lists for My digits and for the network's mistakes, and the confusion matrix."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lenet_core.idx import IdxFormatError
from lenet_core.my_digits import DigitStore, DigitStoreError, Sample

from .plots import style_plot

ICON = 56


def digit_icon(image: np.ndarray) -> QIcon:
    """A 28x28 uint8 digit, white on black, scaled up without blurring."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    qimage = QImage(image.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QIcon(QPixmap.fromImage(qimage.scaled(ICON, ICON, Qt.AspectRatioMode.KeepAspectRatio)))


def image_list(name: str) -> QListWidget:
    view = QListWidget()
    view.setObjectName(name)
    view.setViewMode(QListWidget.ViewMode.IconMode)
    view.setIconSize(QSize(ICON, ICON))
    view.setResizeMode(QListWidget.ResizeMode.Adjust)
    view.setMovement(QListWidget.Movement.Static)
    view.setSpacing(4)
    view.setUniformItemSizes(True)
    view.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
    return view


class DigitItem(QListWidgetItem):
    """One saved digit. Its icon is made when the view first asks for it: only the digits on screen need one."""

    def __init__(self, sample: Sample) -> None:
        super().__init__(str(sample.label))
        self.sample_id = sample.id
        self.label = sample.label
        self.reading: tuple[int, float] | None = None  # how the network reads it now: digit, probability
        self._image: np.ndarray | None = sample.image
        self._icon: QIcon | None = None

    def show(self, label: int | None = None, reading: tuple[int, float] | None = None) -> None:
        """Its label, and how the network reads it (`7 ✓`, or `7 → 1` in bold when read as another digit)."""
        self.label = self.label if label is None else label
        self.reading = reading or self.reading
        if self.reading is None:
            self.setText(str(self.label))
            return
        digit, probability = self.reading
        right = digit == self.label
        self.setText(f"{self.label} ✓" if right else f"{self.label} → {digit}")
        self.setToolTip(f"Saved as a {self.label}; the network reads it as a {digit} ({100 * probability:.0f} % sure)")
        font = self.font()
        font.setBold(not right)
        self.setFont(font)

    def data(self, role: int) -> object:
        if role == Qt.ItemDataRole.DecorationRole:
            if self._icon is None:
                self._icon, self._image = digit_icon(self._image), None
            return self._icon
        return super().data(role)


class MyDigitsDialog(QDialog):
    """The user's labelled drawings, by digit, with delete, relabel, export and import."""

    changed = Signal()

    def __init__(
        self,
        store: DigitStore,
        parent: QWidget | None = None,
        read: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """read: how the network reads N x 28 x 28 uint8 digits now (N x 10 probabilities); None shows labels only."""
        super().__init__(parent)
        self.setWindowTitle("My digits")
        self.resize(640, 480)
        self.store = store
        self.read = read
        self.filter = QComboBox()
        self.filter.addItem("All digits", None)
        for d in range(10):
            self.filter.addItem(f"Only {d}s", d)
        self.filter.currentIndexChanged.connect(self.refresh)
        self.list = image_list("gallery_list")
        self.relabel_to = QComboBox()
        self.relabel_to.addItems([str(d) for d in range(10)])
        buttons = []
        for text, slot, tip in (
            ("Delete", self.delete_selected, "Delete the selected drawings"),
            ("Relabel as", self.relabel_selected, "Give the selected drawings the digit chosen on the right"),
            ("Export IDX…", self.export_idx, "Write My digits as MNIST-style IDX files"),
            ("Import IDX…", self.import_idx, "Add the images and labels of two IDX files"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.append(button)
        self.summary = QLabel()
        self.summary.setWordWrap(True)  # ten counts and the readings: a narrow dialog wraps rather than clips
        top = QHBoxLayout()
        top.addWidget(self.filter)
        top.addWidget(self.summary, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(buttons[0])
        bottom.addWidget(buttons[1])
        bottom.addWidget(self.relabel_to)
        bottom.addStretch(1)
        bottom.addWidget(buttons[2])
        bottom.addWidget(buttons[3])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addLayout(bottom)
        self.refresh()

    def refresh(self) -> None:
        """Fill the list anew with the digits the filter shows, and how the network reads them now."""
        self.list.clear()
        samples = self.store.samples(label=self.filter.currentData())
        readings = self._readings(samples)
        for k, sample in enumerate(samples):
            item = DigitItem(sample)
            item.show(reading=readings[k] if readings else None)
            self.list.addItem(item)
        self._show_counts()

    def _readings(self, samples: list[Sample]) -> list[tuple[int, float]] | None:
        if self.read is None or not samples:
            return None
        probabilities = self.read(np.stack([s.image for s in samples]))
        return [(int(p.argmax()), float(p.max())) for p in probabilities]

    def update_readings(self) -> None:
        """The network changed (a teach, new weights): read every listed digit again."""
        samples = {s.id: s for s in self.store.samples(label=self.filter.currentData())}
        items = [self.list.item(row) for row in range(self.list.count())]
        items = [item for item in items if item.sample_id in samples]
        readings = self._readings([samples[item.sample_id] for item in items])
        for item, reading in zip(items, readings or [], strict=False):
            item.show(reading=reading)
        self._show_counts()

    def _show_counts(self) -> None:
        counts = self.store.counts()
        text = f"{sum(counts.values())} drawings: " + ", ".join(f"{d}: {n}" for d, n in counts.items())
        items = [self.list.item(row) for row in range(self.list.count())]
        read = [item for item in items if item.reading is not None]
        if read:
            right = sum(item.reading[0] == item.label for item in read)
            shown = " shown" if self.filter.currentData() is not None else ""
            text += f". Read right now: {right} of {len(read)}{shown}"
        self.summary.setText(text)

    def _selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.list.selectedIndexes())

    def _remove_rows(self, rows: list[int]) -> None:
        """Remove these selected rows (sorted) from the list, last first so that the others keep their numbers."""
        self.list.clearSelection()  # else each removal reworks the selection: seconds for thousands of scattered rows
        for row in reversed(rows):
            self.list.takeItem(row)

    def delete_selected(self) -> None:
        rows = self._selected_rows()
        if not rows:
            return
        try:
            self.store.delete_many(self.list.item(row).sample_id for row in rows)
        except (sqlite3.Error, DigitStoreError) as exc:
            QMessageBox.warning(self, "My digits", f"Nothing was deleted.\n\n{exc}")
            return
        self._remove_rows(rows)
        self._show_counts()
        self.changed.emit()

    def relabel_selected(self) -> None:
        """Relabel the selected digits: only their items change, or leave the list if the filter hides the new label."""
        rows = self._selected_rows()
        if not rows:
            return
        label = int(self.relabel_to.currentText())
        try:
            self.store.relabel_many((self.list.item(row).sample_id for row in rows), label)
        except (sqlite3.Error, DigitStoreError) as exc:
            QMessageBox.warning(self, "My digits", f"Nothing was relabelled.\n\n{exc}")
            return
        if self.filter.currentData() in (None, label):
            self.list.clearSelection()  # done with them, as when the list was rebuilt: the next pick starts afresh
            for row in rows:
                self.list.item(row).show(label=label)
        else:
            self._remove_rows(rows)
        self._show_counts()
        self.changed.emit()

    def export_idx(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export My digits to a folder")
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str) -> bool:
        """Write My digits as IDX files into folder; a failure is a warning naming the folder. True if written."""
        try:
            images, _ = self.store.export_idx(folder)
        except (OSError, ValueError, sqlite3.Error) as exc:  # ValueError: what write_idx refuses
            QMessageBox.warning(self, "My digits", f"Could not export My digits to {folder}.\n\n{exc}")
            return False
        QMessageBox.information(self, "My digits", f"Exported {len(self.store)} drawings to {images.parent}")
        return True

    def import_idx(self) -> None:
        images, _ = QFileDialog.getOpenFileName(self, "IDX images (28x28)", "", "IDX (*idx3-ubyte*);;All files (*)")
        if not images:
            return
        labels, _ = QFileDialog.getOpenFileName(self, "IDX labels", "", "IDX (*idx1-ubyte*);;All files (*)")
        if labels:
            self.import_files(images, labels)

    def import_files(self, images: str, labels: str) -> int:
        try:
            added = self.store.import_idx(images, labels)
        except (IdxFormatError, DigitStoreError, OSError) as exc:
            QMessageBox.warning(self, "My digits", f"Nothing was imported.\n\n{exc}")
            return 0
        self.refresh()
        self.changed.emit()
        return added


class EvaluationDialog(QDialog):
    """Where the network is wrong: the confusion matrix (click a cell for its images) and every mistake."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, predicted: np.ndarray, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Where the network is wrong")
        self.resize(900, 560)
        self.images, self.labels, self.predicted = images, labels, predicted
        self.matrix = np.zeros((10, 10), np.int64)
        np.add.at(self.matrix, (labels, predicted), 1)
        accuracy = float((labels == predicted).mean()) if len(labels) else 0.0

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("confusion_matrix")
        style_plot(self.plot)
        self.plot.setToolTip("Rows: the true digit; columns: the network's answer. Click a cell to see its images.")
        self.plot.setLabel("left", "true digit")
        self.plot.setLabel("bottom", "predicted digit")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        ticks = [[(i + 0.5, str(i)) for i in range(10)]]
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.getAxis("bottom").setTicks(ticks)
        # Colour by log count so the off-diagonal mistakes are visible beside the large diagonal.
        image = pg.ImageItem(np.log1p(self.matrix.astype(float)).T, axisOrder="col-major")
        image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(image)
        for row in range(10):
            for col in range(10):
                if self.matrix[row, col]:
                    text = pg.TextItem(str(self.matrix[row, col]), anchor=(0.5, 0.5), color="w" if row != col else "k")
                    text.setPos(col + 0.5, row + 0.5)
                    self.plot.addItem(text)
        self.plot.scene().sigMouseClicked.connect(self._clicked)

        self.caption = QLabel(
            f"Accuracy {100 * accuracy:.2f} % on {len(labels):,} test images, "
            f"{int((labels != predicted).sum())} mistakes. Click a cell to see its images."
        )
        self.caption.setWordWrap(True)
        self.cell = image_list("cell_images")
        self.cell_caption = QLabel()
        self.show_mistakes()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.plot, 1)
        left_layout.addWidget(self.caption)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.cell_caption)
        right_layout.addWidget(self.cell, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([450, 450])
        QVBoxLayout(self).addWidget(splitter)

    def show_cell(self, true_digit: int, predicted_digit: int, limit: int = 500) -> None:
        """The images of one cell: true_digit drawn, predicted_digit answered."""
        index = np.flatnonzero((self.labels == true_digit) & (self.predicted == predicted_digit))
        self.cell_caption.setText(
            f"{len(index)} images of a {true_digit} read as a {predicted_digit} (true → predicted)"
        )
        self._fill(index[:limit])

    def show_mistakes(self, limit: int = 500) -> None:
        index = np.flatnonzero(self.labels != self.predicted)
        self.cell_caption.setText(f"All {len(index)} mistakes (true → predicted)")
        self._fill(index[:limit])

    def _fill(self, index: np.ndarray) -> None:
        self.cell.clear()
        for i in index:
            self.cell.addItem(QListWidgetItem(digit_icon(self.images[i]), f"{self.labels[i]} → {self.predicted[i]}"))

    def _clicked(self, event) -> None:
        point = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        col, row = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= row < 10 and 0 <= col < 10:
            self.show_cell(row, col)
