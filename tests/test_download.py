"""MNIST download against a real HTTP server on 127.0.0.1 serving generated IDX files."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtCore import Qt

from app.session import has_mnist
from lenet_core.datasets import find_mnist, load_mnist
from lenet_core.download import SPLIT_FILES, CancelEvent, DownloadCancelled, DownloadError, download_mnist
from lenet_core.idx import write_idx

from .conftest import fake_digits


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The four MNIST file names with generated contents, and their MD5 table."""
    folder = tmp_path_factory.mktemp("source")
    train_x, train_y = fake_digits(300, seed=1)
    test_x, test_y = fake_digits(100, seed=2)
    for name, array in zip(SPLIT_FILES["all"], (train_x, train_y, test_x, test_y), strict=True):
        write_idx(folder / name, array)
    contents = {name: (folder / name).read_bytes() for name in SPLIT_FILES["all"]}
    md5s = {name: hashlib.md5(data).hexdigest() for name, data in contents.items()}
    return contents, md5s


class Server:
    """Paths: /good/NAME serves the file (with Range support), /missing/ answers 404, /corrupt/ serves wrong bytes,
    /flaky/ drops the connection half-way through any response that starts at byte 0, /drop/ through every
    response, /slow/ trickles. /silent/ accepts the request and sends nothing, /stall/ sends the headers and the
    first STALL_AT bytes; both then wait until release is set (close sets it) and /stall/ sends the rest."""

    STALL_AT = 1000

    def __init__(self, contents):
        self.contents = contents
        self.requests: list[tuple[str, str | None]] = []
        self.release = threading.Event()
        self.stalling = threading.Event()  # set when a request first stalls
        self.stalled = 0  # requests stalled now
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                kind, _, name = self.path.strip("/").partition("/")
                server.requests.append((self.path, self.headers.get("Range")))
                if kind == "missing" or name not in server.contents:
                    self.send_error(404)
                    return
                data = server.contents[name]
                if kind == "silent":
                    server.stall()
                    return
                if kind == "corrupt":
                    data = gzip.compress(b"\x00\x00\x08\x03 not the published file")
                start = 0
                range_header = self.headers.get("Range")
                if range_header and kind in ("good", "flaky", "drop"):
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if kind == "drop" or (kind == "flaky" and start == 0):
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # drop the connection mid-file
                    return
                if kind == "stall":
                    self.wfile.write(body[: server.STALL_AT])
                    server.stall()
                    with contextlib.suppress(OSError):  # the client may have gone
                        self.wfile.write(body[server.STALL_AT :])
                    return
                if kind == "slow":  # a trickle, so a cancel always lands mid-file
                    for i in range(0, len(body), 1024):
                        self.wfile.write(body[i : i + 1024])
                        time.sleep(0.02)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def mirror(self, kind: str) -> str:
        return f"{self.url}/{kind}/"

    def stall(self):
        with self.lock:
            self.stalled += 1
        self.stalling.set()
        self.release.wait()
        with self.lock:
            self.stalled -= 1

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(files):
    s = Server(files[0])
    yield s
    s.close()


def test_download_verifies_and_loads(tmp_path, server, files):
    seen = []
    folder = download_mnist(
        tmp_path / "mnist",
        mirrors=[server.mirror("good")],
        md5s=files[1],
        progress=lambda name, done, total: seen.append((name, done, total)),
    )
    data = load_mnist(folder)
    assert len(data.train) == 300 and len(data.test) == 100
    assert {name for name, _, _ in seen} == set(SPLIT_FILES["all"])
    last = [s for s in seen if s[0] == "t10k-labels-idx1-ubyte.gz"][-1]
    assert last[1] == last[2] == len(files[0]["t10k-labels-idx1-ubyte.gz"])
    # Files already there and verified are reused: no new request.
    count = len(server.requests)
    download_mnist(folder, mirrors=[server.mirror("good")], md5s=files[1])
    assert len(server.requests) == count


def test_404_mirror_is_skipped(tmp_path, server, files):
    download_mnist(tmp_path, split="test", mirrors=[server.mirror("missing"), server.mirror("good")], md5s=files[1])
    assert find_mnist(tmp_path).test is not None
    assert server.requests[0][0].startswith("/missing/")


def test_corrupt_mirror_fails_verification_and_next_is_used(tmp_path, server, files):
    download_mnist(tmp_path, split="train", mirrors=[server.mirror("corrupt"), server.mirror("good")], md5s=files[1])
    assert [p.name for p in sorted(tmp_path.iterdir())] == list(sorted(SPLIT_FILES["train"]))
    assert len(load_mnist(tmp_path, need_test=False).train) == 300


def test_dropped_connection_is_resumed_with_a_range_request(tmp_path, server, files):
    download_mnist(tmp_path, split="test", mirrors=[server.mirror("flaky")], md5s=files[1])
    ranges = [r for _, r in server.requests if r]
    assert len(ranges) == 2 and all(r.startswith("bytes=") and r != "bytes=0-" for r in ranges)
    assert len(load_mnist(tmp_path, need_train=False).test) == 100


def test_every_mirror_failing_names_what_was_tried(tmp_path, server, files):
    with pytest.raises(DownloadError) as info:
        download_mnist(
            tmp_path,
            split="test",
            mirrors=[server.mirror("missing"), server.mirror("corrupt"), "http://127.0.0.1:9/"],
            md5s=files[1],
        )
    message = str(info.value)
    assert "could not download t10k-images-idx3-ubyte.gz" in message
    assert "/missing/t10k-images-idx3-ubyte.gz (HTTP 404" in message
    assert "/corrupt/t10k-images-idx3-ubyte.gz (MD5" in message
    assert "127.0.0.1:9/t10k-images-idx3-ubyte.gz (" in message
    assert not list(tmp_path.glob("*ubyte*"))


def test_cancelled_download_leaves_nothing_that_passes_as_data(tmp_path, server, files):
    cancel = threading.Event()

    def progress(name, done, total):
        if done > 1000:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        download_mnist(tmp_path, mirrors=[server.mirror("good")], md5s=files[1], progress=progress, cancel=cancel)
    with pytest.raises(FileNotFoundError):
        find_mnist(tmp_path)
    # and the next try finishes it
    download_mnist(tmp_path, mirrors=[server.mirror("good")], md5s=files[1])
    assert find_mnist(tmp_path).train is not None


def test_torchvision_raw_folder_is_reused(tmp_path, server, files):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, data in files[0].items():
        (raw / name).write_bytes(data)
    download_mnist(tmp_path, mirrors=[server.mirror("missing")], md5s=files[1])
    assert not server.requests
    assert find_mnist(tmp_path).train.images.parent == tmp_path


def test_a_wrong_file_in_place_is_replaced(tmp_path, server, files):
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"stale")
    download_mnist(tmp_path, split="test", mirrors=[server.mirror("good")], md5s=files[1])
    assert (tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes() == files[0]["t10k-labels-idx1-ubyte.gz"]


def test_cli_download(tmp_path, server, files, capsys, monkeypatch):
    from lenet_core import cli, download

    monkeypatch.setattr(download, "MNIST_MD5", files[1])
    code = cli.main(
        [
            "download",
            "--dest",
            str(tmp_path),
            "--split",
            "test",
            "--mirror",
            server.mirror("missing"),
            "--mirror",
            server.mirror("good"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0 and f"MNIST (test) verified in {tmp_path}" in out
    code = cli.main(["download", "--dest", str(tmp_path / "x"), "--mirror", server.mirror("missing")])
    out, err = capsys.readouterr()
    assert code == 1 and err.startswith("error: could not download train-images-idx3-ubyte.gz: tried ")
    assert len(err.strip().splitlines()) == 1


@pytest.fixture
def window(make_window):
    return make_window(data_dir=None)


def test_gui_download_dialog_then_training_data(qtbot, window, server, files):
    from PySide6.QtWidgets import QToolButton

    from app.download import DownloadDialog

    window.download_mirrors = [server.mirror("missing"), server.mirror("good")]
    window.download_md5s = files[1]
    assert "No MNIST yet" in window.panel.data_label.text()
    qtbot.mouseClick(window.findChild(QToolButton, "download_button"), Qt.MouseButton.LeftButton)
    assert isinstance(window.download_dialog, DownloadDialog) and window.download_dialog.isVisible()
    qtbot.waitUntil(lambda: "300 training images" in window.panel.data_label.text(), timeout=10000)
    assert window.download_dialog is None
    assert find_mnist(window.mnist_home).train is not None


def test_gui_download_cancel_and_failure(qtbot, window, server, files):
    window.download_mirrors = [server.mirror("missing")]
    window.download_md5s = files[1]
    window.download_mnist()
    qtbot.waitUntil(lambda: bool(window.warnings), timeout=10000)
    assert "Download failed" in window.warnings[-1] and "HTTP 404" in window.warnings[-1]
    qtbot.waitUntil(lambda: window.download_dialog is None)

    window.download_mirrors = [server.mirror("stall")]  # (a fast local mirror could finish before the click)
    from PySide6.QtWidgets import QPushButton

    window.download_mnist()
    qtbot.waitUntil(server.stalling.is_set, timeout=20000)  # mid-file
    cancel = next(b for b in window.download_dialog.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.download_dialog is None, timeout=20000)
    assert window.worker.data is None
    assert not has_mnist(window.mnist_home)


def test_bytes_from_a_failing_mirror_are_resumed_from_the_next(tmp_path, server, files):
    with pytest.raises(DownloadError, match="kept dropping"):
        download_mnist(tmp_path, split="test", mirrors=[server.mirror("drop")], md5s=files[1])
    part = tmp_path / ".t10k-images-idx3-ubyte.gz.part"
    kept = part.stat().st_size
    assert 0 < kept < len(files[0]["t10k-images-idx3-ubyte.gz"])
    with pytest.raises(FileNotFoundError):
        find_mnist(tmp_path)  # a partial file never passes as data
    server.requests.clear()
    download_mnist(tmp_path, split="test", mirrors=[server.mirror("good")], md5s=files[1])
    assert server.requests[0] == ("/good/t10k-images-idx3-ubyte.gz", f"bytes={kept}-")
    assert len(load_mnist(tmp_path, need_train=False).test) == 100


def _in_thread(target, **kwargs):
    """Runs target(**kwargs) on a thread; returns the thread and a dict that gets "result" or "error"."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target(**kwargs)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("kind", ["silent", "stall"])
def test_cancel_event_breaks_off_a_read_the_server_leaves_hanging(tmp_path, server, files, kind):
    cancel = CancelEvent()
    thread, outcome = _in_thread(
        download_mnist, dest=tmp_path, split="test", mirrors=[server.mirror(kind)], md5s=files[1], cancel=cancel
    )
    assert server.stalling.wait(20)
    cancel.set()
    thread.join(20)
    assert not thread.is_alive() and isinstance(outcome.get("error"), DownloadCancelled)
    assert server.stalled == 1  # the download stopped while the server still held it: cancel broke the read off
    part = tmp_path / ".t10k-images-idx3-ubyte.gz.part"
    sent = files[0]["t10k-images-idx3-ubyte.gz"][: server.STALL_AT]
    assert not part.exists() or sent.startswith(part.read_bytes())


def test_cancel_event_breaks_off_a_tls_handshake_that_never_ends(tmp_path, files):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        cancel = CancelEvent()
        mirror = f"https://127.0.0.1:{listener.getsockname()[1]}/"
        thread, outcome = _in_thread(
            download_mnist, dest=tmp_path, split="test", mirrors=[mirror], md5s=files[1], cancel=cancel
        )
        connection, _ = listener.accept()
        with connection:  # held open and silent: the client waits for the server's TLS hello
            cancel.set()
            thread.join(20)
            assert not thread.is_alive() and isinstance(outcome.get("error"), DownloadCancelled)


def test_a_download_into_the_same_folder_waits_for_the_one_still_running(tmp_path, server, files):
    # A plain Event is only seen between reads: the first download stays stuck in its read until the server goes on,
    # as one stuck where a cancel cannot reach it would (connecting, say).
    first_cancel = threading.Event()
    first, first_outcome = _in_thread(
        download_mnist,
        dest=tmp_path,
        split="test",
        mirrors=[server.mirror("stall")],
        md5s=files[1],
        cancel=first_cancel,
    )
    assert server.stalling.wait(20)
    first_cancel.set()

    waited = threading.Event()
    second_cancel = CancelEvent()
    second, second_outcome = _in_thread(
        download_mnist,
        dest=tmp_path,
        split="test",
        mirrors=[server.mirror("good")],
        md5s=files[1],
        cancel=second_cancel,
        on_wait=waited.set,
    )
    assert waited.wait(20)
    second_cancel.set()  # a waiting download can be cancelled too
    second.join(20)
    assert isinstance(second_outcome.get("error"), DownloadCancelled) and "waiting" in str(second_outcome["error"])

    waited.clear()
    third, third_outcome = _in_thread(
        download_mnist, dest=tmp_path, split="test", mirrors=[server.mirror("good")], md5s=files[1], on_wait=waited.set
    )
    assert waited.wait(20)
    assert not any(path.startswith("/good/") for path, _ in server.requests)  # it waits: it has not started
    server.release.set()  # the first reads the rest, sees its cancel and stops without writing it
    first.join(20)
    third.join(20)
    assert isinstance(first_outcome.get("error"), DownloadCancelled)
    assert third_outcome.get("result") == tmp_path  # so the .part it resumed was not written by both
    assert len(load_mnist(tmp_path, need_train=False).test) == 100


def _stalled_download(qtbot, window, server, files, kind):
    """Starts a download from the window against a server that then stalls; returns its dialog and thread."""
    window.download_mirrors = [server.mirror(kind)]
    window.download_md5s = files[1]
    window.download_mnist()
    dialog = window.download_dialog
    qtbot.waitUntil(server.stalling.is_set, timeout=20000)
    return dialog, dialog.download_thread


def test_gui_cancel_answers_while_the_server_stalls_and_a_new_download_works(qtbot, window, server, files):
    from PySide6.QtWidgets import QPushButton

    dialog, thread = _stalled_download(qtbot, window, server, files, "silent")
    cancel = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert window.download_dialog is None and not dialog.isVisible()
    assert server.stalled == 1  # answered while the server still holds the request
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=20000)
    assert server.stalled == 1  # and the thread stopped without the server's help

    window.download_mirrors = [server.mirror("good")]
    window.download_mnist()
    qtbot.waitUntil(lambda: "300 training images" in window.panel.data_label.text(), timeout=20000)
    assert window.download_dialog is None and not window.warnings


def test_gui_close_answers_while_the_server_stalls(qtbot, window, server, files):
    dialog, thread = _stalled_download(qtbot, window, server, files, "stall")
    window.close()
    assert window.download_dialog is None and not dialog.isVisible()
    assert server.stalled == 1  # close returned while the server still held the download
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=20000)  # the thread stops on its own, dialog gone or not
    assert server.stalled == 1


def test_gui_new_download_waits_for_the_cancelled_one_in_its_own_thread(qtbot, window, server, files, monkeypatch):
    from PySide6.QtWidgets import QPushButton

    import app.download

    # A cancel that cannot break the read off: the old thread lives on until the server goes on.
    monkeypatch.setattr(app.download, "CancelEvent", threading.Event)
    dialog, old_thread = _stalled_download(qtbot, window, server, files, "stall")
    cancel = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert window.download_dialog is None

    window.download_mirrors = [server.mirror("good")]
    window.download_mnist()
    dialog = window.download_dialog
    qtbot.waitUntil(lambda: dialog.labelText() == "Waiting for the cancelled download to stop…", timeout=20000)
    assert old_thread.is_alive() and not any(path.startswith("/good/") for path, _ in server.requests)
    server.release.set()
    qtbot.waitUntil(lambda: "300 training images" in window.panel.data_label.text(), timeout=20000)
    assert not old_thread.is_alive() and not window.warnings
    assert find_mnist(window.mnist_home).train is not None
