"""MNIST download on its own thread, with a progress dialog whose Cancel (and the window's close) answers at once."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from lenet_core.download import DOWNLOAD_SIZE_MB, CancelEvent, DownloadCancelled, DownloadError, download_mnist

Report = tuple[str, object]  # ("progress", (name, done, total)), ("waiting", None), ("finished", folder), ...


def _download(
    dest: Path, mirrors: list[str], md5s: dict[str, str] | None, cancel: CancelEvent, report: Callable[[Report], None]
) -> None:
    """The download thread: it touches no Qt object, so it may outlive the dialog and the window harmlessly."""
    try:
        folder = download_mnist(
            dest,
            mirrors=mirrors,
            md5s=md5s,
            cancel=cancel,
            progress=lambda name, done, total: report(("progress", (name, done, total))),
            on_wait=lambda: report(("waiting", None)),
        )
    except DownloadCancelled:
        report(("cancelled", None))
    except (DownloadError, OSError) as exc:
        report(("failed", str(exc)))
    else:
        report(("finished", str(folder)))


class DownloadDialog(QProgressDialog):
    """Shows the download's progress. Cancel closes it at once; the download stops on its own thread without a wait.

    The thread is a daemon Python thread, not a QThread: it may outlive the dialog and the window (a read blocked on
    a server that is still connecting, say), and a running QThread destroyed with its owner aborts the program. It
    reports through a queue that a timer of the dialog drains, so a report that comes after the dialog is gone is
    simply never read.
    """

    succeeded = Signal(str)
    failed = Signal(str)
    ended = Signal()  # however it ended: done, failed or cancelled

    def __init__(self, dest: Path, mirrors: list[str], md5s: dict[str, str] | None, parent: QWidget) -> None:
        super().__init__(f"Downloading MNIST (~{DOWNLOAD_SIZE_MB} MB)…", "Cancel", 0, 1000, parent)
        self.setObjectName("download_dialog")
        self.setWindowTitle("Download MNIST")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self._ended = False
        self.cancel = CancelEvent()
        self._reports: queue.SimpleQueue[Report] = queue.SimpleQueue()
        self._poll = QTimer(self)
        self._poll.setInterval(50)
        self._poll.timeout.connect(self._read_reports)
        self.download_thread = threading.Thread(
            target=_download,
            args=(dest, list(mirrors), md5s, self.cancel, self._reports.put),
            name="mnist-download",
            daemon=True,
        )
        self.canceled.connect(self.stop)  # the Cancel button, Esc, or closing the dialog

    def start(self) -> None:
        self.show()
        self._poll.start()
        self.download_thread.start()

    def _read_reports(self) -> None:
        progress, last = None, None
        while True:
            try:
                kind, value = self._reports.get_nowait()
            except queue.Empty:
                break
            if kind == "progress":
                progress = value  # only the newest is worth drawing
                if last is not None and last[0] == "waiting":
                    last = None  # it waited, and now it runs
            else:
                last = (kind, value)
        if progress is not None:
            self._show_progress(*progress)  # may process events: the user may cancel in there
        if self._ended or last is None:
            return
        kind, value = last
        if kind == "waiting":
            self.setLabelText("Waiting for the cancelled download to stop…")
        elif kind == "finished":
            self._end()
            self.succeeded.emit(value)
        elif kind == "failed":
            self._end()
            self.failed.emit(value)
        else:  # cancelled
            self._end()

    def _show_progress(self, name: str, done: int, total: int | None) -> None:
        if self._ended:
            return
        if total:
            self.setValue(int(1000 * done / total))
            self.setLabelText(f"Downloading {name}\n{done / 2**20:.1f} of {total / 2**20:.1f} MB")
        else:
            self.setLabelText(f"Downloading {name}\n{done / 2**20:.1f} MB")

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._poll.stop()
        self.close()
        self.ended.emit()
        self.deleteLater()

    def stop(self) -> None:
        """Cancel without waiting: the thread is told to stop (its connection broken off) and the dialog closes."""
        self.cancel.set()
        self._end()
