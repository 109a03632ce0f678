"""My digits in the window: the labelled drawings kept, teaching them, the gallery, and Forget what was taught."""

from __future__ import annotations

import logging
import sqlite3

import numpy as np
import torch
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QMainWindow

from lenet_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from lenet_core.datasets import TensorData
from lenet_core.my_digits import DigitStore, DigitStoreError
from lenet_core.preprocess import normalize_batch, prepare, to_mnist
from lenet_core.teaching import REMEMBERED_DRAWINGS

from .actions import make_action
from .draw_panel import DrawPanel
from .gallery import MyDigitsDialog
from .session import Session

log = logging.getLogger(__name__)

BEFORE_TEACHING_NAME = "before-teaching.pt"  # the weights before the first Teach, for "Forget what was taught"
TEACH_SAMPLE = 640  # saved digits a teach draws its 64 a step from (each teach a new random choice)


class MyDigits(QObject):
    """The store of the user's labelled drawings, what the label keys do (save, and teach at once), the gallery and
    Forget. Teaching runs on the session's worker, on the session's weights."""

    # To the worker, queued to its thread.
    request_teach = Signal(object, int, object, object)  # the drawing as the model reads it, label, strokes, others
    request_remember = Signal(object)  # the saved drawings (label, strokes) of earlier sessions, to re-draw
    request_forget = Signal()  # what was taught is gone, or the labels changed: re-drawings no longer come along

    def __init__(self, window: QMainWindow, session: Session, draw: DrawPanel, count_label: QLabel) -> None:
        super().__init__(window)
        self.window, self.session, self.draw, self.count_label = window, session, draw, count_label
        self.before_teaching = session.data_home / BEFORE_TEACHING_NAME
        self.store = self._open_store()
        self.gallery: MyDigitsDialog | None = None  # the gallery, while it is open
        self._remembered_sent = False  # the saved drawings' strokes went to the worker for re-drawing
        self.request_teach.connect(session.worker.teach)
        self.request_remember.connect(session.worker.remember)
        self.request_forget.connect(session.worker.forget_taught)
        session.worker.taught.connect(self._taught)  # queued to this thread: a method, never a lambda
        session.weights_replaced.connect(self._weights_replaced)
        draw.label_requested.connect(self.label_drawing)
        self.gallery_action = make_action(
            window,
            "My digits &gallery…",
            self.show_gallery,
            "Ctrl+G",
            "See, relabel, delete, export or import My digits",
        )
        self.forget_action = make_action(
            window,
            "&Forget what was taught",
            self.forget_teaching,
            None,
            "Put back the weights as they were before the first Teach (training since then is undone too;"
            " your drawings stay in My digits)",
        )
        self.forget_action.setEnabled(self.before_teaching.exists())
        self.update_count()

    def _open_store(self) -> DigitStore | None:
        try:
            return DigitStore(self.session.data_home / "my_digits.sqlite")
        except (OSError, sqlite3.Error, DigitStoreError) as exc:
            self.session.problems.append(f"My digits cannot be kept in {self.session.data_home} ({exc})")
            return None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def _say(self, message: str, timeout_ms: int) -> None:
        self.window.statusBar().showMessage(message, timeout_ms)

    def update_count(self) -> None:
        count = len(self.store) if self.store is not None else 0
        self.count_label.setText(f"My digits: {count} saved")

    def training_data(self) -> TensorData | None:
        """All of My digits, to train on."""
        if self.store is None:
            return None
        images, labels = self.store.arrays()
        return TensorData.from_arrays(images, labels, "my digits") if len(images) else None

    def _other_digits(self, new_id: int) -> TensorData | None:
        """Up to TEACH_SAMPLE of My digits besides the new one, for a teach: it costs the same with 10 or 10,000."""
        images, labels = self.store.random_arrays(TEACH_SAMPLE, seed=new_id, exclude=[new_id])
        return TensorData.from_arrays(images, labels, "my other digits") if len(images) else None

    def _retrain_if_mine(self) -> None:
        """My digits changed: a source that trains on them takes them as they are now."""
        if "mine" in self.session.source.split("+"):
            self.session.set_source(self.session.source, self.training_data())

    # -- labelling and teaching ---------------------------------------------------------------------
    def label_drawing(self, digit: int) -> None:
        """Save the drawing as `digit` in My digits, and teach it to the network if asked."""
        image, strokes = self.draw.canvas.image(), self.draw.canvas.strokes()
        digit_image = to_mnist(image)
        if digit_image is None:
            self._say("Draw a digit first, then press its key (0-9) to label it", 5000)
            return
        if self.store is None:
            self.window.warn("My digits cannot be saved (see the status bar).")
            return
        try:
            new_id = self.store.add(digit_image, digit, drawing=image, strokes=strokes)
        except (sqlite3.Error, ValueError) as exc:
            self.window.warn(f"Could not save the drawing: {exc}")
            return
        self.update_count()
        self._retrain_if_mine()
        if not self.draw.teach_check.isChecked():
            self._say(f"Saved as a {digit} in My digits", 5000)
        elif self.session.running:
            self._say(f"Saved as a {digit}; pause training to teach it at once", 5000)
        else:
            problem = self._keep_weights_before_teaching()
            if not self._remembered_sent:  # the first teach of the session (or since a Forget): saved drawings too
                self._remembered_sent = True
                self.request_remember.emit(self.store.recent_strokes(REMEMBERED_DRAWINGS, exclude=[new_id]))
            self.request_teach.emit(prepare(image), digit, strokes, self._other_digits(new_id))
            self._say(f"Saved as a {digit}; teaching…" + (f" ({problem})" if problem else ""), 10000)

    def _keep_weights_before_teaching(self) -> str:
        """Before the first Teach: keep the weights as they are, so that Forget can put them back. Returns what went
        wrong, or ""."""
        problem = ""
        if not self.before_teaching.exists():
            try:
                save_checkpoint(self.before_teaching, self.session.checkpoint())
            except (OSError, CheckpointError) as exc:
                log.warning("could not keep the weights before teaching: %s", exc)
                problem = f"the weights before teaching could not be kept ({exc}): Forget is off"
        self.forget_action.setEnabled(self.before_teaching.exists())
        return problem

    def _taught(self, digit: int, steps: int, learnt: bool, confidence: float) -> None:
        if self.window.closing:  # a teach that ended as the window closed: nothing left to tell
            return
        sure = f"{100 * confidence:.0f} %" if confidence < 0.995 else "over 99 %"
        if learnt:
            self._say(f"Learnt: your drawing now reads as a {digit}, {sure} sure ({steps} SGD steps)", 8000)
        else:
            self._say(
                f"After {steps} SGD steps your drawing is still not read as a {digit} ({sure} for {digit}): "
                "label a few more examples, or train on MNIST + My digits",
                10000,
            )
        self._refresh_readings()

    def forget_teaching(self) -> None:
        """Put back the weights from before the first Teach (My digits keeps the drawings)."""
        if not self.before_teaching.exists():
            self._say("Nothing to forget: nothing was taught to these weights", 5000)
            return
        try:
            weights = load_checkpoint(self.before_teaching).model
        except CheckpointError as exc:
            self.window.warn(str(exc))
            return
        self.session.replace_weights(
            weights, "Forgot what was taught: the weights are as they were before the first Teach"
        )

    def _weights_replaced(self) -> None:
        """Reset, shipped, a checkpoint or Forget: what was kept from before the first teach is no longer what these
        weights were before teaching, and the re-drawings of taught drawings no longer come along."""
        try:
            self.before_teaching.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the weights kept from before teaching: %s", exc)
        self.forget_action.setEnabled(False)
        self._forget_remembered()
        self._refresh_readings()

    def _forget_remembered(self) -> None:
        self.request_forget.emit()
        self._remembered_sent = False  # the next teach sends the saved drawings again, with their labels as they are

    # -- the gallery --------------------------------------------------------------------------------
    def show_gallery(self) -> MyDigitsDialog | None:
        """The gallery (one at a time), or None if My digits cannot be kept."""
        if self.store is None:
            self.window.warn("My digits is not available (see the status bar).")
            return None
        if self.gallery is not None:
            self.gallery.raise_()
            self.gallery.activateWindow()
            return self.gallery
        dialog = MyDigitsDialog(self.store, self.window, read=self.read_digits)
        dialog.changed.connect(self._changed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._gallery_closed)
        self.gallery = dialog
        dialog.show()
        return dialog

    def read_digits(self, images: np.ndarray) -> np.ndarray:
        """How the network reads 28x28 uint8 digits now: N x 10 probabilities."""
        net = self.session.net
        with torch.inference_mode():
            net.eval()
            chunks = [net(normalize_batch(images[i : i + 1024])) for i in range(0, len(images), 1024)]
            return torch.softmax(torch.cat(chunks), 1).numpy() if chunks else np.zeros((0, 10), np.float32)

    def _gallery_closed(self) -> None:
        self.gallery = None

    def _refresh_readings(self) -> None:
        if self.gallery is not None and not self.window.closing:  # closing: My digits may be closed already
            self.gallery.update_readings()

    def _changed(self) -> None:
        """Relabelled, deleted or imported in the gallery: re-drawings kept with an old label must not come along."""
        self._forget_remembered()
        self.update_count()
        self._retrain_if_mine()
