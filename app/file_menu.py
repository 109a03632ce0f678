"""The File menu's documents: checkpoints opened and saved, runs exported as CSV."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow

from .actions import make_action
from .session import Session

Keys = QKeySequence.StandardKey
FILE_ACTIONS = {  # text, the method triggered, shortcuts, tip
    "open": ("&Open checkpoint…", "open_checkpoint", Keys.Open, "Load weights from a checkpoint file"),
    "save": ("&Save checkpoint", "save_checkpoint", Keys.Save, "Save the weights and settings"),
    "save_as": (
        "Save checkpoint &as…",
        "save_checkpoint_as",
        Keys.SaveAs,
        "Save the weights and settings to a new file",
    ),
    "export_runs": (
        "&Export runs as CSV…",
        "export_runs",
        None,
        "Every run's loss per step and test accuracy per epoch, with its settings, for a spreadsheet or pandas",
    ),
}


class FileMenu(QObject):
    """Open, Save, Save as and Export runs: the dialogs, and what the window shows after them."""

    def __init__(self, window: QMainWindow, session: Session) -> None:
        super().__init__(window)
        self.window, self.session = window, session
        self.actions = {
            name: make_action(window, text, getattr(self, slot), keys, tip)
            for name, (text, slot, keys, tip) in FILE_ACTIONS.items()
        }

    def open_checkpoint(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self.window, "Open checkpoint", "", "Checkpoints (*.pt *.pth);;All files (*)"
        )
        if name:
            self.load_checkpoint_file(name)

    def load_checkpoint_file(self, name: str | os.PathLike) -> bool:
        """Its weights, its config in the training panel, its runs on the plots; False (said) if it cannot be used."""
        checkpoint = self.session.load_checkpoint(name)
        if checkpoint is None:
            return False
        if checkpoint.config is not None:
            self.window.use_config(checkpoint.config)
        if checkpoint.notes:  # e.g. a batch size above what the window offers, clamped: say so
            self.window.warn(
                f"Loaded {os.path.basename(name)}, with changes:\n\n" + "\n".join(f"• {n}" for n in checkpoint.notes)
            )
        return True

    def save_checkpoint(self) -> None:
        if self.session.checkpoint_path is None:
            self.save_checkpoint_as()
        else:
            self.save_checkpoint_file(self.session.checkpoint_path)

    def save_checkpoint_as(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self.window, "Save checkpoint", "lenet.pt", "Checkpoints (*.pt)")
        if name:
            self.save_checkpoint_file(name)

    def save_checkpoint_file(self, name: str | os.PathLike) -> bool:
        return self.session.save_checkpoint(name)

    def export_runs(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self.window, "Export runs", "runs.csv", "CSV files (*.csv)")
        if name:
            self.export_runs_file(name)

    def export_runs_file(self, name: str | os.PathLike) -> bool:
        """Every run as CSV, its losses smoothed as the plots show them now."""
        try:
            self.session.runs.write_csv(name, self.window.plots.weight)
        except OSError as exc:
            self.window.warn(f"Could not export the runs to {name}: {exc}")
            return False
        self.window.statusBar().showMessage(f"Runs exported to {name}", 5000)
        return True
