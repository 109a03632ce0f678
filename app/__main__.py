"""Entry point of the `lenet-trainer` GUI."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def main() -> NoReturn:
    from PySide6.QtWidgets import QApplication

    from .main_window import main_window_for_app

    app = QApplication.instance() or QApplication(sys.argv)
    window = main_window_for_app(app)
    window.show()
    exit_now(app.exec())


def exit_now(code: int) -> NoReturn:
    """End the process once the window has closed.

    Everything is saved by then (the close autosaved, synced the settings and closed My digits). Python's own
    teardown of torch and Qt would keep the process ~1 s longer with no window (1.2 s measured here); a cancelled
    download's thread is a daemon with nothing to keep.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
