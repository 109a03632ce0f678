"""Where MNIST comes from in the window: a folder (the last one, or one chosen) or the download."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow

from lenet_core.download import DOWNLOAD_SIZE_MB, MIRRORS

from .actions import make_action
from .download import DownloadDialog
from .session import Session, has_mnist


class DataMenu(QObject):
    """The Training menu's "Download MNIST" and "Use MNIST folder", and the Data box's line saying what is loaded."""

    def __init__(self, window: QMainWindow, session: Session) -> None:
        super().__init__(window)
        self.window, self.session = window, session
        self.mirrors = list(MIRRORS)  # tried in order (tests point them at a local server)
        self.md5s: dict[str, str] | None = None  # None: the published sums
        self.dialog: DownloadDialog | None = None  # the download, while it runs
        self.label: QLabel | None = None  # the Data box's line (show_in)
        self._description = ""  # what is loaded, shown again if a folder fails to load
        self.folder_action = make_action(
            window, "Use MNIST &folder…", self.choose_folder, None, "Choose the folder holding the MNIST IDX files"
        )
        self.download_action = make_action(
            window,
            f"&Download MNIST (~{DOWNLOAD_SIZE_MB} MB)",
            self.download,
            None,
            "Download the four MNIST files, checked against their published MD5",
        )
        session.worker.data_loaded.connect(self._loaded)  # queued to this thread: methods, never lambdas
        session.worker.data_failed.connect(self._failed)

    def show_in(self, label: QLabel) -> None:
        self.label, self._description = label, label.text()

    def load(self, folder: str) -> None:
        self.label.setText(f"Loading MNIST from {folder}…")
        self.session.load_data(folder)

    def load_first(self, folder: str) -> None:
        """At start: folder (the command line's, the last session's or $LENET_DATA_DIR), else a download of an earlier
        session, else nothing (drawing works without MNIST)."""
        if not folder and has_mnist(self.session.mnist_home):
            folder = str(self.session.mnist_home)
        if folder:
            self.load(folder)

    def _failed(self, message: str) -> None:
        self.label.setText(self._description)
        self.window.warn(message)

    def _loaded(self, description: str, folder: str) -> None:
        self._description = description
        self.label.setText(description)
        self.window.settings.setValue("data/folder", folder)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Folder with the MNIST IDX files")
        if not folder and has_mnist(self.session.mnist_home):
            folder = str(self.session.mnist_home)  # downloaded in an earlier session
        if folder:
            self.load(folder)

    def download(self) -> None:
        if self.dialog is not None:
            return
        self.dialog = DownloadDialog(self.session.mnist_home, self.mirrors, self.md5s, self.window)
        self.dialog.succeeded.connect(self._downloaded)
        self.dialog.failed.connect(self._download_failed)
        self.dialog.ended.connect(self._download_closed)
        self.dialog.start()

    def _downloaded(self, folder: str) -> None:
        self.window.statusBar().showMessage(f"MNIST downloaded to {folder}", 5000)
        self.load(folder)

    def _download_failed(self, message: str) -> None:
        self.window.warn(f"Download failed.\n\n{message}")

    def _download_closed(self) -> None:
        self.dialog = None

    def stop(self) -> None:
        """The window closes: a download in progress is cancelled (without waiting for it)."""
        if self.dialog is not None:
            self.dialog.stop()
