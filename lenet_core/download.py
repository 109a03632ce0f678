"""Download MNIST: mirrors tried in order, MD5-verified, resumable, renamed into place only once verified.

Like torchvision's MNIST resources table, without depending on torchvision. Written on urllib (stdlib) because we
need what pooch does not offer together: a mirror list, HTTP range resume of a partial file and cancellation that
answers at once, even while a read is blocked on a server that stopped sending (see CancelEvent).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)

# The four official files and their published MD5 sums.
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
SPLIT_FILES["all"] = SPLIT_FILES["train"] + SPLIT_FILES["test"]
# The mirrors torchvision uses, in its order.
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
DOWNLOAD_SIZE_MB = 11
_CHUNK = 64 * 1024
_RESUME_ATTEMPTS = 5

Progress = Callable[[str, int, int | None], None]  # file name, bytes done, bytes in all (None if unknown)


class DownloadError(OSError):
    """No mirror gave a verified copy; the message says what was tried and how each attempt failed."""


class DownloadCancelled(Exception):
    """The download was cancelled; no partial file passes as data."""


class CancelEvent(threading.Event):
    """A cancel flag whose set() also breaks off a blocked read: it shuts down the connection being read.

    A plain threading.Event works too, but is only seen between reads, so a stalled server holds it for up to the
    timeout. Give each download its own CancelEvent.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        # A duplicate of the live connection's socket: ours to close, so its number cannot be reused by another file
        # while set() may still shut it down.
        self._sock: socket.socket | None = None

    def set(self) -> None:
        super().set()
        with self._lock:
            if self._sock is not None:
                _shut_down(self._sock)

    def watch(self, sock: socket.socket) -> None:
        """Take the connection a download has just opened (on the downloading thread)."""
        dup = socket.socket(fileno=socket.dup(sock.fileno()))
        with self._lock:
            self._forget()
            self._sock = dup
            if self.is_set():  # set() came while connecting
                _shut_down(dup)

    def unwatch(self) -> None:
        """The download is done with its connection."""
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _shut_down(sock: socket.socket) -> None:
    with suppress(OSError):  # the other side may have closed it already
        sock.shutdown(socket.SHUT_RDWR)  # a read blocked on the connection returns at once


class _WatchedConnections:
    """urllib handler mixin: hands every connection it opens to a CancelEvent as soon as it is connected."""

    def __init__(self, cancel: CancelEvent) -> None:
        super().__init__()
        self.cancel = cancel

    def do_open(self, http_class, req, **http_conn_args):
        cancel = self.cancel

        class Watched(http_class):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                # http.client opens the TCP socket through this hook, before any TLS handshake on it: watched from
                # there, a cancel also breaks off a handshake that never ends.
                create = self._create_connection

                def create_and_watch(*args, **kwargs) -> socket.socket:
                    sock = create(*args, **kwargs)
                    cancel.watch(sock)
                    return sock

                self._create_connection = create_and_watch

        return super().do_open(Watched, req, **http_conn_args)


class _WatchedHTTPHandler(_WatchedConnections, urllib.request.HTTPHandler):
    pass


class _WatchedHTTPSHandler(_WatchedConnections, urllib.request.HTTPSHandler):
    pass


def _open(request: urllib.request.Request, cancel: threading.Event | None, timeout_s: float):
    if isinstance(cancel, CancelEvent):
        opener = urllib.request.build_opener(_WatchedHTTPHandler(cancel), _WatchedHTTPSHandler(cancel))
        return opener.open(request, timeout=timeout_s)
    return urllib.request.urlopen(request, timeout=timeout_s)


def _raise_if_cancelled(cancel: threading.Event | None, name: str) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled(f"download of {name} cancelled")


# One download at a time into a folder: a cancelled one may still be winding down when the next starts, and two must
# never write the same .part file. The files are the process's, so is this table.
_folder_locks: dict[Path, threading.Lock] = {}
_folder_locks_guard = threading.Lock()


@contextmanager
def _only_download_into(
    folder: Path, cancel: threading.Event | None, on_wait: Callable[[], None] | None
) -> Iterator[None]:
    with _folder_locks_guard:
        lock = _folder_locks.setdefault(folder.resolve(), threading.Lock())
    if not lock.acquire(blocking=False):
        log.info("waiting for the previous download into %s to stop", folder)
        if on_wait is not None:
            on_wait()
        while not lock.acquire(timeout=0.1):  # polled so that a cancel is seen while waiting
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"download into {folder} cancelled while waiting for the previous one to stop")
    try:
        yield
    finally:
        lock.release()


def default_data_dir() -> Path:
    """Where downloaded MNIST is kept: the user's data folder (platformdirs), e.g. ~/.local/share/lenet-trainer."""
    import platformdirs

    return Path(platformdirs.user_data_dir("lenet-trainer", appauthor=False)) / "mnist"


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(
    url: str, part: Path, name: str, progress: Progress | None, cancel: threading.Event | None, timeout_s: float
) -> None:
    """Download url into part, resuming from what part already holds; retries dropped connections with Range."""
    for _attempt in range(_RESUME_ATTEMPTS):
        _raise_if_cancelled(cancel, name)
        offset = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"User-Agent": "lenet-trainer"})
        if offset:
            request.add_header("Range", f"bytes={offset}-")
        try:
            try:
                response = _open(request, cancel, timeout_s)
            except urllib.error.HTTPError as exc:
                if exc.code == 416 and offset:  # nothing left to send: the part file is complete
                    return
                raise
            with response:
                if response.status == 206:
                    mode = "ab"
                else:
                    mode, offset = "wb", 0  # the server ignored the range: start over
                length = response.headers.get("Content-Length")
                total = offset + int(length) if length is not None else None
                done = offset
                try:
                    with open(part, mode) as f:
                        while True:
                            block = response.read(_CHUNK)
                            _raise_if_cancelled(cancel, name)  # checked after the read: a cancelled one writes no more
                            if not block:
                                break
                            f.write(block)
                            done += len(block)
                            if progress is not None:
                                progress(name, done, total)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
                    _raise_if_cancelled(cancel, name)
                    log.info("%s: connection dropped at %d bytes (%s); resuming", url, done, exc)
                    continue
        finally:
            if isinstance(cancel, CancelEvent):
                cancel.unwatch()
        if total is not None and done < total:
            log.info("%s: got %d of %d bytes; resuming", url, done, total)
            continue
        return
    raise DownloadError(f"{url}: the connection kept dropping ({_RESUME_ATTEMPTS} attempts)")


def download_file(
    name: str,
    dest: Path,
    md5: str,
    mirrors: Iterable[str] = MIRRORS,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """One file into dest, from the first mirror that gives bytes with the right MD5."""
    target = dest / name
    if target.is_file() and md5sum(target) == md5:
        return target
    part = dest / f".{name}.part"  # a name no dataset search matches
    tried = []
    for mirror in mirrors:
        _raise_if_cancelled(cancel, name)
        url = mirror.rstrip("/") + "/" + name
        try:
            _fetch(url, part, name, progress, cancel, timeout_s)
            got = md5sum(part)
            if got != md5:
                part.unlink(missing_ok=True)
                raise DownloadError(f"MD5 {got} does not match the published {md5}")
            os.replace(part, target)  # only a verified file ever gets the real name
            return target
        except DownloadCancelled:
            raise
        except urllib.error.HTTPError as exc:
            tried.append(f"{url} (HTTP {exc.code} {exc.reason})")
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            _raise_if_cancelled(cancel, name)  # a cancel breaks the connection off: report the cancel, not the break
            # The bytes so far are kept for a resume (from the next mirror or a later try): MD5 checks them at the end.
            reason = getattr(exc, "reason", None) or exc
            tried.append(f"{url} ({reason})")
        log.warning("download failed: %s", tried[-1])
    raise DownloadError(f"could not download {name}: " + ("tried " + "; ".join(tried) if tried else "no mirror given"))


def reuse_existing(dest: Path, names: Iterable[str], md5s: dict[str, str], also_look_in: Iterable[Path]) -> None:
    """Copy verified files already on disk (e.g. a torchvision MNIST/raw folder) into dest instead of downloading."""
    for name in names:
        if (dest / name).is_file() and md5sum(dest / name) == md5s[name]:
            continue
        for folder in also_look_in:
            candidate = Path(folder) / name
            if candidate.is_file() and md5sum(candidate) == md5s[name]:
                tmp = dest / f".{name}.part"
                shutil.copyfile(candidate, tmp)
                os.replace(tmp, dest / name)
                log.info("reused %s", candidate)
                break


def download_mnist(
    dest: str | os.PathLike | None = None,
    split: str = "all",
    mirrors: Iterable[str] = MIRRORS,
    md5s: dict[str, str] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    reuse_from: Iterable[str | os.PathLike] = (),
    timeout_s: float = 30.0,
    on_wait: Callable[[], None] | None = None,
) -> Path:
    """Make sure dest holds verified MNIST files for split (train, test or all); returns dest.

    cancel may be set from another thread (a CancelEvent also breaks off a blocked read). If another download into
    dest is still running in this process (a cancelled one winding down), this one calls on_wait and waits for it.
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be train, test or all, not {split!r}")
    md5s = md5s or MNIST_MD5
    folder = Path(dest) if dest is not None else default_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    names = SPLIT_FILES[split]
    mirrors = list(mirrors)
    with _only_download_into(folder, cancel, on_wait):
        reuse_existing(folder, names, md5s, [folder / "MNIST" / "raw", *map(Path, reuse_from)])
        for name in names:
            download_file(name, folder, md5s[name], mirrors, progress, cancel, timeout_s)
    return folder
