"""Entry point of the `lenet-trainer` GUI."""

from __future__ import annotations

import sys


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from .main_window import main_window_for_app

    app = QApplication.instance() or QApplication(sys.argv)
    window = main_window_for_app(app)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
