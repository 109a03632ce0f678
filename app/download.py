"""MNIST download on its own thread, with a progress dialog that can cancel it."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from lenet_core.download import DOWNLOAD_SIZE_MB, DownloadCancelled, DownloadError, download_mnist


class DownloadWorker(QObject):
    progress = Signal(str, int, int)  # file name, bytes done, bytes in all (-1 when unknown)
    finished = Signal(str)  # the folder now holding verified MNIST
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, dest: Path, mirrors: list[str], md5s: dict[str, str] | None) -> None:
        super().__init__()
        self.dest, self.mirrors, self.md5s = dest, mirrors, md5s
        self.cancel_event = threading.Event()  # set from the GUI thread; checked between chunks

    @Slot()
    def run(self) -> None:
        try:
            folder = download_mnist(
                self.dest,
                mirrors=self.mirrors,
                md5s=self.md5s,
                cancel=self.cancel_event,
                progress=lambda name, done, total: self.progress.emit(name, done, -1 if total is None else total),
            )
        except DownloadCancelled:
            self.cancelled.emit()
        except (DownloadError, OSError) as exc:
            self.failed.emit(str(exc))
        else:
            self.finished.emit(str(folder))


class DownloadDialog(QProgressDialog):
    """Shows the download's progress; Cancel stops it between two chunks and keeps nothing that passes as data."""

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
        self._files_done: set[str] = set()
        self.thread = QThread(self)
        self.worker = DownloadWorker(dest, mirrors, md5s)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progress.connect(self._progress)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.worker.cancelled.connect(self._end)
        self.canceled.connect(self.worker.cancel_event.set)
        self.thread.finished.connect(self.worker.deleteLater)

    def start(self) -> None:
        self.show()
        self.thread.start()

    def _progress(self, name: str, done: int, total: int) -> None:
        if total > 0:
            self.setValue(int(1000 * done / total))
            self.setLabelText(f"Downloading {name}\n{done / 2**20:.1f} of {total / 2**20:.1f} MB")
        else:
            self.setLabelText(f"Downloading {name}\n{done / 2**20:.1f} MB")

    def _finished(self, folder: str) -> None:
        self._end()
        self.succeeded.emit(folder)

    def _failed(self, message: str) -> None:
        self._end()
        self.failed.emit(message)

    def _end(self) -> None:
        self.thread.quit()
        self.thread.wait()
        self.close()
        self.ended.emit()

    def stop(self) -> None:
        """Cancel and join the thread (window closing)."""
        self.worker.cancel_event.set()
        self._end()
