import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import zlib

import numpy as np
import pytest
import torch

from lenet_core.datasets import TensorData, find_mnist, load_mnist
from lenet_core.idx import IdxFormatError, write_idx
from lenet_core.inference import default_model
from lenet_core.my_digits import SCHEMA_VERSION, DigitStore, DigitStoreError
from lenet_core.pen_digits import redraw
from lenet_core.preprocess import normalize_batch
from lenet_core.strokes import Stroke
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


def _store_of(tmp_path, n: int, seed: int = 0) -> DigitStore:
    """A store holding n generated digits, filled by one import (one fsync, not n)."""
    images, labels = fake_digits(n, seed=seed)
    write_idx(tmp_path / "fill-images-idx3-ubyte", images)
    write_idx(tmp_path / "fill-labels-idx1-ubyte", labels)
    store = DigitStore(tmp_path / "my.sqlite")
    store.import_idx(tmp_path / "fill-images-idx3-ubyte", tmp_path / "fill-labels-idx1-ubyte")
    return store


def test_relabel_many_and_delete_many_commit_once(tmp_path):
    with _store_of(tmp_path, 300) as store:
        before = {s.id: s.label for s in store.samples()}
        ids = list(before)
        commits = []
        store._db.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
        store.relabel_many(ids[:200] + ids[:5], 4)  # a repeated id is fine
        assert len(commits) == 1
        assert {s.id: s.label for s in store.samples()} == {i: 4 if n < 200 else before[i] for n, i in enumerate(ids)}
        store.delete_many(reversed(ids[100:250]))
        assert len(commits) == 2
        assert [s.id for s in store.samples()] == ids[:100] + ids[250:]
        store.relabel_many([], 3)
        store.delete_many([])
        assert len(store) == 150


def test_relabel_many_and_delete_many_are_all_or_nothing(tmp_path):
    with _store_of(tmp_path, 20) as store:
        before = store.samples()
        ids = [s.id for s in before]
        with pytest.raises(DigitStoreError, match=r"no sample with id 999 \(and 1 more\); nothing was relabelled"):
            store.relabel_many([*ids, 999, 1000], 3)
        with pytest.raises(DigitStoreError, match="no sample with id 999; nothing was deleted"):
            store.delete_many([*ids[:10], 999])
        for label in (10, -1):
            with pytest.raises(DigitStoreError, match=f"label {label} is not a digit"):
                store.relabel_many(ids, label)
        after = store.samples()
        assert [(s.id, s.label) for s in after] == [(s.id, s.label) for s in before]


def test_export_leaves_no_partial_files(tmp_path, monkeypatch):
    import lenet_core.my_digits

    (tmp_path / "a-file").write_bytes(b"not a folder")
    with _store_of(tmp_path, 12) as store:
        with pytest.raises(OSError):
            store.export_idx(tmp_path / "a-file" / "out")
        out = tmp_path / "out"
        images, labels = store.export_idx(out)
        exported = images.read_bytes(), labels.read_bytes()
        store.relabel_many([s.id for s in store.samples()], 0)
        real_write = lenet_core.my_digits.write_idx

        def write_then_fail(path, array):
            real_write(path, array)
            if array.ndim == 1:
                raise OSError(28, "No space left on device", str(path))

        monkeypatch.setattr(lenet_core.my_digits, "write_idx", write_then_fail)
        with pytest.raises(OSError, match="No space left"):
            store.export_idx(out)  # the labels fail after the images were written
        assert sorted(p.name for p in out.iterdir()) == sorted([images.name, labels.name])
        assert (images.read_bytes(), labels.read_bytes()) == exported  # the earlier export, whole


def test_random_arrays_read_a_seeded_sample_and_skip_what_is_excluded(tmp_path):
    with DigitStore(tmp_path / "my.sqlite") as store:
        ids = [store.add(np.full((28, 28), i, np.uint8), i % 10) for i in range(50)]
        images, labels = store.random_arrays(20, seed=3, exclude=ids[:5])
        again, _ = store.random_arrays(20, seed=3, exclude=ids[:5])
        assert images.shape == (20, 28, 28) and np.array_equal(images, again)
        values = images[:, 0, 0].tolist()
        assert len(set(values)) == 20 and min(values) >= 5  # distinct samples, none of the excluded
        assert values == sorted(values)  # oldest first
        assert [v % 10 for v in values] == labels.tolist()
        assert len(store.random_arrays(1000, seed=0)[0]) == 50
        assert store.random_arrays(5, seed=0, exclude=ids)[0].shape == (0, 28, 28)


# The schema and the INSERT of the program before strokes were kept (schema version 0, user_version 0), as they were.
SCHEMA_V0 = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    image BLOB NOT NULL,          -- 28x28 uint8, what the network sees
    drawing BLOB,                 -- the raw drawing, zlib-compressed uint8
    drawing_height INTEGER,
    drawing_width INTEGER,
    created REAL NOT NULL         -- seconds since the epoch
);
"""
INSERT_V0 = (
    "INSERT INTO samples (label, image, drawing, drawing_height, drawing_width, created) VALUES (?, ?, ?, ?, ?, ?)"
)


def a_drawing(seed: int) -> list[Stroke]:
    rng = np.random.default_rng(seed)
    return [
        Stroke(rng.uniform(20, 260, (int(rng.integers(1, 40)), 2)).astype(np.float32), float(rng.uniform(4, 40)))
        for _ in range(int(rng.integers(1, 4)))
    ]


def test_strokes_round_trip_through_the_store(tmp_path):
    images, labels = fake_digits(3)
    drawings = [a_drawing(seed) for seed in range(3)]
    with DigitStore(tmp_path / "my.sqlite") as store:
        ids = [store.add(images[i], int(labels[i]), strokes=drawings[i]) for i in range(2)]
        ids.append(store.add(images[2], int(labels[2])))  # e.g. imported: no strokes
    with DigitStore(tmp_path / "my.sqlite") as again:
        for sample_id, drawing in zip(ids[:2], drawings, strict=False):
            read = again.strokes(sample_id)
            assert len(read) == len(drawing)
            for got, want in zip(read, drawing, strict=True):
                assert got.width == pytest.approx(want.width, abs=1e-3)
                np.testing.assert_allclose(got.points, want.points, atol=0.006)  # kept to 1/100 of a canvas unit
        assert again.strokes(ids[2]) is None
        assert again.strokes(12345) is None
        # Teaching re-draws a saved drawing from its strokes: as from the strokes it was saved with.
        kept = redraw(again.strokes(ids[0]), 8, np.random.default_rng(7))
        drawn = redraw(drawings[0], 8, np.random.default_rng(7))
        assert np.abs(kept.astype(int) - drawn).max() <= 8  # grey levels: the points were kept to 0.01


def test_a_database_from_before_strokes_is_migrated_and_keeps_its_samples(tmp_path):
    path = tmp_path / "my.sqlite"
    images, labels = fake_digits(4)
    old = sqlite3.connect(path)
    old.executescript(SCHEMA_V0)
    with old:
        for x, y in zip(images, labels, strict=True):
            old.execute(INSERT_V0, (int(y), x.tobytes(), zlib.compress(b"\x07" * 12), 3, 4, 1.0))
    old.close()
    with DigitStore(path) as store:
        assert len(store) == 4
        assert all(store.strokes(s.id) is None for s in store.samples())  # used as their images, as before
        got_images, got_labels = store.arrays()
        assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
        assert np.array_equal(store.drawing(1), np.full((3, 4), 7, np.uint8))
        new_id = store.add(images[0], 5, strokes=a_drawing(0))  # a new sample keeps its strokes
        assert len(store.strokes(new_id)) == len(a_drawing(0))
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.close()
    with DigitStore(path) as again:  # opening a migrated database again changes nothing
        assert len(again) == 5


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_database_from_a_newer_program_is_refused_and_left_alone(tmp_path, journal):
    path = tmp_path / "my.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA journal_mode={journal}")
    db.executescript(SCHEMA_V0)
    with db:
        db.execute(INSERT_V0, (3, bytes(784), None, None, None, 1.0))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(DigitStoreError, match="newer version"):
        DigitStore(path)
    assert path.read_bytes() == before  # not even its journal mode changed


def test_unreadable_strokes_name_their_sample(tmp_path):
    path = tmp_path / "my.sqlite"
    with DigitStore(path) as store:
        sample_id = store.add(fake_digits(1)[0][0], 3, strokes=a_drawing(1))
    bad_strokes = [
        "[" * 100_000 + "]" * 100_000,  # nested too deep for the JSON parser
        '{"width": 3}',
        "[]",
        '[{"width": 3, "points": [[1, "x"]]}]',
        '[{"width": -1, "points": [[1, 2]]}]',
        "[",
    ]
    for bad in bad_strokes:
        db = sqlite3.connect(path)
        with db:
            db.execute("UPDATE samples SET strokes = ? WHERE id = ?", (bad, sample_id))
        db.close()
        with DigitStore(path) as store, pytest.raises(DigitStoreError, match=f"sample {sample_id}"):
            store.strokes(sample_id)


def test_recent_strokes_newest_first_skipping_what_has_none_or_cannot_be_read(tmp_path):
    path = tmp_path / "my.sqlite"
    images, _ = fake_digits(5)
    with DigitStore(path) as store:
        ids = [store.add(images[i], i, strokes=a_drawing(i) if i != 2 else None) for i in range(5)]
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE samples SET strokes = '[' WHERE id = ?", (ids[3],))  # unreadable: skipped, not fatal
    db.close()
    with DigitStore(path) as store:
        assert [label for label, _ in store.recent_strokes(10)] == [4, 1, 0]
        assert [label for label, _ in store.recent_strokes(2)] == [4, 1]
        assert [label for label, _ in store.recent_strokes(10, exclude=[ids[4]])] == [1, 0]
        assert len(store.recent_strokes(10)[0][1]) == len(a_drawing(4))
