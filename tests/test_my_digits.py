import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from lenet_core.datasets import TensorData, find_mnist, load_mnist
from lenet_core.idx import IdxFormatError, write_idx
from lenet_core.inference import default_model
from lenet_core.my_digits import DigitStore, DigitStoreError
from lenet_core.preprocess import normalize_batch
from lenet_core.training import PRESETS, Trainer

from .conftest import fake_digits


def test_add_relabel_delete_and_drawings(tmp_path):
    images, labels = fake_digits(5)
    with DigitStore(tmp_path / "my.sqlite") as store:
        ids = [
            store.add(x, int(y), drawing=np.full((40, 30), i, np.uint8))
            for i, (x, y) in enumerate(zip(images, labels, strict=True))
        ]
        assert len(store) == 5
        store.relabel(ids[0], 9)
        store.delete(ids[1])
        samples = store.samples()
        assert [s.id for s in samples] == [ids[0], *ids[2:]]
        assert samples[0].label == 9 and np.array_equal(samples[0].image, images[0])
        assert np.array_equal(store.drawing(ids[2]), np.full((40, 30), 2, np.uint8))
        assert sum(store.counts().values()) == 4 and store.counts()[9] >= 1
        assert all(s.label == 9 for s in store.samples(label=9))
        with pytest.raises(DigitStoreError, match="label 10"):
            store.add(images[0], 10)
        with pytest.raises(DigitStoreError, match="28x28 uint8"):
            store.add(np.zeros((32, 32), np.uint8), 1)
    with DigitStore(tmp_path / "my.sqlite") as again:  # kept on disk
        assert len(again) == 4


def test_export_and_import_idx(tmp_path):
    images, labels = fake_digits(12)
    with DigitStore(tmp_path / "a.sqlite") as store:
        for x, y in zip(images, labels, strict=True):
            store.add(x, int(y))
        store.export_idx(tmp_path / "out")
    files = find_mnist(tmp_path / "out")  # the export reads back as an MNIST-style training split
    assert files.train.images.name == "mydigits-train-images-idx3-ubyte.gz"
    with DigitStore(tmp_path / "b.sqlite") as other:
        assert other.import_idx(files.train.images, files.train.labels) == 12
        got_images, got_labels = other.arrays()
        assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
        write_idx(tmp_path / "bad-labels", np.full(12, 11, np.uint8))
        with pytest.raises(IdxFormatError, match="outside 0-9"):
            other.import_idx(files.train.images, tmp_path / "bad-labels")
        assert len(other) == 12  # nothing half-imported


def test_saved_samples_survive_a_killed_process(tmp_path):
    db = tmp_path / "my.sqlite"
    script = textwrap.dedent(f"""
        import sys, numpy as np
        from lenet_core.my_digits import DigitStore
        store = DigitStore({str(db)!r})
        i = 0
        while True:
            store.add(np.full((28, 28), i % 256, np.uint8), i % 10, drawing=np.zeros((280, 280), np.uint8))
            print(i, flush=True)
            i += 1
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    saved = -1
    started = time.monotonic()
    while saved < 30 and time.monotonic() - started < 30:
        saved = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)  # in the middle of further saves
    child.wait()
    with DigitStore(db) as store:
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        samples = store.samples()
        assert len(samples) >= saved + 1  # every save reported done is there
        assert [s.label for s in samples[: saved + 1]] == [i % 10 for i in range(saved + 1)]


def test_teaching_ten_new_digits(mnist_dir):
    """Ten stand-ins for drawn digits, unlike anything in MNIST, are learnt one after the other."""
    trainer = Trainer(default_model(), PRESETS["default"].replace(device="cpu"), load_mnist(mnist_dir).train)
    images, labels = fake_digits(10, seed=7)
    inputs, targets = normalize_batch(images), torch.from_numpy(labels.astype(np.int64))
    for i in range(10):
        also = TensorData(inputs[:i], targets[:i]) if i else None
        steps, learnt = trainer.teach(inputs[i : i + 1], targets[i : i + 1], also=also)
        assert learnt and 3 <= steps <= 30
    with torch.inference_mode():
        assert torch.equal(trainer.net.eval()(inputs).argmax(1), targets)
    # (Forgetting is measured on real MNIST in bench/teach.py: the replay here is generated data, not MNIST.)
    with pytest.raises(ValueError, match="nothing to teach"):
        trainer.teach(inputs[:0], targets[:0])
