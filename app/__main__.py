"""Entry point of the `lenet-trainer` GUI (a placeholder window until the trainer window lands)."""

from __future__ import annotations

import sys


def main() -> int:
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("LeNet digit trainer")
    window = QMainWindow()
    window.setWindowTitle("LeNet digit trainer")
    label = QLabel("The trainer window is on its way.\nMeanwhile, use the command line: lenet-core --help")
    label.setMargin(24)
    window.setCentralWidget(label)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
