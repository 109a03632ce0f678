"""My digits in the window: labelling a drawing (and teaching it), the gallery, and Forget what was taught."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QMainWindow

from .actions import make_action
from .draw_panel import DrawPanel
from .gallery import MyDigitsDialog
from .session import Session


class MyDigitsMenu(QObject):
    """The My digits menu's actions and what the label keys do; the session keeps the digits and teaches them."""

    def __init__(self, window: QMainWindow, session: Session, draw: DrawPanel, count_label: QLabel) -> None:
        super().__init__(window)
        self.window, self.session, self.draw, self.count_label = window, session, draw, count_label
        self.gallery: MyDigitsDialog | None = None  # the gallery, while it is open
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
        self.forget_action.setEnabled(session.can_forget())
        session.forget_available.connect(self.forget_action.setEnabled)
        session.worker.taught.connect(self._taught)  # queued to this thread: a method, never a lambda
        draw.label_requested.connect(self.label_drawing)
        self.update_count()

    def _say(self, message: str, timeout_ms: int) -> None:
        self.window.statusBar().showMessage(message, timeout_ms)

    def update_count(self) -> None:
        count = len(self.session.store) if self.session.store is not None else 0
        self.count_label.setText(f"My digits: {count} saved")

    def label_drawing(self, digit: int) -> None:
        """Save the drawing as `digit` in My digits, and teach it to the network if asked."""
        image, strokes = self.draw.canvas.image(), self.draw.canvas.strokes()
        new_id = self.session.save_drawing(image, digit, strokes)
        if new_id is None:
            return
        self.update_count()
        if not self.draw.teach_check.isChecked():
            self._say(f"Saved as a {digit} in My digits", 5000)
        elif self.session.running:
            self._say(f"Saved as a {digit}; pause training to teach it at once", 5000)
        else:
            problem = self.session.teach(image, digit, strokes, new_id)
            self._say(f"Saved as a {digit}; teaching…" + (f" ({problem})" if problem else ""), 10000)

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
        self.refresh_readings()

    def forget_teaching(self) -> None:
        """Put back the weights from before the first Teach (My digits keeps the drawings)."""
        if self.session.forget_teaching():
            self.refresh_readings()

    def show_gallery(self) -> MyDigitsDialog | None:
        """The gallery (one at a time), or None if My digits cannot be kept."""
        if self.session.store is None:
            self.window.warn("My digits is not available (see the status bar).")
            return None
        if self.gallery is not None:
            self.gallery.raise_()
            self.gallery.activateWindow()
            return self.gallery
        dialog = MyDigitsDialog(self.session.store, self.window, read=self.session.read_digits)
        dialog.changed.connect(self._changed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._gallery_closed)
        self.gallery = dialog
        dialog.show()
        return dialog

    def _gallery_closed(self) -> None:
        self.gallery = None

    def refresh_readings(self) -> None:
        """Other weights: the gallery shows how they read each digit."""
        if self.gallery is not None and not self.window.closing:  # closing: My digits may be closed already
            self.gallery.update_readings()

    def _changed(self) -> None:
        """Relabelled, deleted or imported in the gallery."""
        self.session.my_digits_changed()
        self.update_count()
