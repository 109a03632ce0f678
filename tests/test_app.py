"""The GUI entry point starts and shows a window (the full trainer window comes with its own issue)."""

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


def test_gui_entry_shows_a_window(qtbot):
    from app.__main__ import main

    shown = []

    def check_and_quit():
        shown.extend(w for w in QApplication.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible())
        for w in shown:
            w.close()
        QApplication.instance().quit()

    QTimer.singleShot(100, check_and_quit)
    assert main() == 0
    assert shown and shown[0].windowTitle() == "LeNet digit trainer"
