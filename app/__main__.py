"""Entry point of the `lenet-trainer` GUI: its command-line options, then the window."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib import metadata
from typing import NoReturn

LANGUAGES = ("en", "ko")


def version() -> str:
    try:
        return metadata.version("lenet-trainer")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _existing_file(text: str) -> str:
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lenet-trainer",
        description="Draw a digit, watch the LeNet of PyTorch's \u201cNeural Networks\u201d tutorial read it, "
        "and train it live.",
        epilog="The same engine without a window: lenet-core --help.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the MNIST IDX files (default: as last time)")
    p.add_argument("--checkpoint", metavar="FILE", type=_existing_file, help="open this checkpoint at start")
    p.add_argument("--language", choices=LANGUAGES, help="the tutorial's language for this run (default: as set)")
    p.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add the program to your desktop's menus (a freedesktop.org desktop file and its icon) and exit",
    )
    return p


def main(argv: list[str] | None = None) -> NoReturn:
    args = parser().parse_args(argv)  # --help, --version and bad options exit here, before Qt or torch is loaded
    if args.install_desktop_entry:
        from .desktop import install_desktop_entry

        try:
            entry, icon = install_desktop_entry()
        except OSError as exc:
            print(f"lenet-trainer: could not install the desktop entry: {exc}", file=sys.stderr)
            sys.exit(1)
        print(f"installed {entry}\nand its icon {icon}")
        sys.exit(0)

    from PySide6.QtWidgets import QApplication

    from .main_window import main_window_for_app

    app = QApplication.instance() or QApplication(sys.argv[:1])
    collector = collect_garbage_on_gui_thread()  # noqa: F841 (kept alive while the program runs)
    window = main_window_for_app(app, data_dir=args.data_dir, checkpoint=args.checkpoint, language=args.language)
    window.show()
    exit_now(app.exec())


def collect_garbage_on_gui_thread():
    """Python's cyclic garbage collector runs on whichever thread allocates when its count is up: on the training
    thread it may destroy a Qt object of the GUI thread, whose destructor then waits for the GIL that the GUI thread
    holds while it waits for that object's lock (a deadlock seen in the tests). pyqtgraph's GarbageCollector turns
    automatic collection off and collects on a 1 s timer of the GUI thread instead. Call after the QApplication."""
    from pyqtgraph.util.garbage_collector import GarbageCollector

    return GarbageCollector(interval=1.0)


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
