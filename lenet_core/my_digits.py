""" "My digits": the user's own labelled drawings, kept in a SQLite database in the user's data folder.

Each sample keeps the 28x28 image the network sees, the raw drawing (zlib-compressed), its strokes (the vectors and
pen widths the canvas had, so teaching can draw it again in other sizes and pens), the label and the time it was
saved. SQLite's transactions make each save all-or-nothing, so a process killed mid-save loses at most that sample.
Teach re-draws a new drawing from its strokes, and the most recent saved drawings from theirs (`recent_strokes`).

The database's `user_version` is its schema's version; an older one is brought up to date when it is opened (samples
saved before strokes were kept have none and are used as their image).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sqlite3
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .idx import read_images, read_labels, write_idx
from .strokes import Stroke

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    image BLOB NOT NULL,          -- 28x28 uint8, what the network sees
    drawing BLOB,                 -- the raw drawing, zlib-compressed uint8
    drawing_height INTEGER,
    drawing_width INTEGER,
    created REAL NOT NULL,        -- seconds since the epoch
    strokes TEXT                  -- JSON: [{"width": w, "points": [[x, y], ...]}, ...] in canvas units (version 1)
);
"""
SCHEMA_VERSION = 1  # 0: no strokes column (before strokes were kept)
MAX_STROKES_JSON = 4_000_000  # characters: a drawing is a few kB; more is not something this program wrote


class DigitStoreError(ValueError):
    """A sample or a file cannot be used; the message says which and why."""


def _digit(label: int) -> int:
    if not 0 <= int(label) <= 9:
        raise DigitStoreError(f"label {label} is not a digit 0-9")
    return int(label)


@dataclass(frozen=True)
class Sample:
    id: int
    label: int
    image: np.ndarray  # 28x28 uint8
    created: float


class DigitStore:
    """A small database of labelled drawings. One connection, used from one thread at a time."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        try:
            self._refuse_newer()  # first: a newer program's database is left exactly as it is (journal mode too)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a committed sample survives a crash or power loss
            self._migrate()
        except (sqlite3.Error, DigitStoreError):
            self._db.close()  # e.g. not a database: don't leak the connection
            raise

    def _refuse_newer(self) -> int:
        """The schema version; DigitStoreError for one this program does not know."""
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise DigitStoreError(
                f"{self.path.name} was written by a newer version of this program (schema {version}, this one reads"
                f" up to {SCHEMA_VERSION}); it was left as it is"
            )
        return version

    def _migrate(self) -> None:
        """Create the table, or bring an older database's up to SCHEMA_VERSION: one transaction, taken before the
        version is read, so two programs opening an old database at once migrate it once."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._refuse_newer()
            tables = {name for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "samples" not in tables:
                self._db.execute(SCHEMA)
            else:
                columns = {row[1] for row in self._db.execute("PRAGMA table_info(samples)")}
                if "strokes" not in columns:  # version 0
                    self._db.execute("ALTER TABLE samples ADD COLUMN strokes TEXT")
            if version != SCHEMA_VERSION:
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.commit()
        except BaseException:
            self._db.rollback()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DigitStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------------
    def add(
        self, image: np.ndarray, label: int, drawing: np.ndarray | None = None, strokes: list[Stroke] | None = None
    ) -> int:
        """Save one labelled sample (with the raw drawing and its strokes when known); returns its id."""
        image = np.asarray(image)
        if image.shape != (28, 28) or image.dtype != np.uint8:
            raise DigitStoreError(f"a sample must be a 28x28 uint8 image, not {image.shape} {image.dtype}")
        label = _digit(label)
        raw = None
        height = width = None
        if drawing is not None:
            drawing = np.ascontiguousarray(drawing, dtype=np.uint8)
            height, width = drawing.shape
            raw = zlib.compress(drawing.tobytes(), 6)
        vectors = _strokes_json(strokes) if strokes else None
        if vectors is not None and len(vectors) > MAX_STROKES_JSON:  # a scribble of a million points: keep the image
            vectors = None
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO samples (label, image, drawing, drawing_height, drawing_width, created, strokes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (label, image.tobytes(), raw, height, width, time.time(), vectors),
            )
        return int(cursor.lastrowid)

    def delete(self, sample_id: int) -> None:
        with self._db:
            self._db.execute("DELETE FROM samples WHERE id = ?", (sample_id,))

    def relabel(self, sample_id: int, label: int) -> None:
        label = _digit(label)
        with self._db:
            self._db.execute("UPDATE samples SET label = ? WHERE id = ?", (label, sample_id))

    # One transaction for many samples: with synchronous=FULL each commit costs an fsync, one per sample otherwise.
    def relabel_many(self, sample_ids: Iterable[int], label: int) -> None:
        """Give all these samples one label, in one transaction: an unknown id changes nothing."""
        label = _digit(label)
        ids = list(dict.fromkeys(int(i) for i in sample_ids))
        with self._db:
            cursor = self._db.executemany("UPDATE samples SET label = ? WHERE id = ?", [(label, i) for i in ids])
            self._require_all(cursor.rowcount, ids, "relabelled")

    def delete_many(self, sample_ids: Iterable[int]) -> None:
        """Delete all these samples, in one transaction: an unknown id deletes nothing."""
        ids = list(dict.fromkeys(int(i) for i in sample_ids))
        with self._db:
            cursor = self._db.executemany("DELETE FROM samples WHERE id = ?", [(i,) for i in ids])
            self._require_all(cursor.rowcount, ids, "deleted")

    def _require_all(self, changed: int, ids: list[int], done: str) -> None:
        """Unless each id matched a sample: undo the caller's transaction and raise, naming an unknown id."""
        if changed == len(ids):
            return
        self._db.rollback()  # first, so that samples just deleted count as known
        known = {i for (i,) in self._db.execute("SELECT id FROM samples")}
        missing = [i for i in ids if i not in known]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DigitStoreError(f"no sample with id {missing[0]}{more}; nothing was {done}")

    # -- reading ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])

    def samples(self, label: int | None = None) -> list[Sample]:
        """All samples (or those of one digit), oldest first."""
        query = "SELECT id, label, image, created FROM samples"
        rows = self._db.execute(
            query + (" WHERE label = ?" if label is not None else "") + " ORDER BY id",
            () if label is None else (int(label),),
        )
        return [Sample(i, lab, np.frombuffer(img, np.uint8).reshape(28, 28).copy(), t) for i, lab, img, t in rows]

    def counts(self) -> dict[int, int]:
        rows = self._db.execute("SELECT label, COUNT(*) FROM samples GROUP BY label")
        return {d: 0 for d in range(10)} | {int(label): int(n) for label, n in rows}

    def drawing(self, sample_id: int) -> np.ndarray | None:
        row = self._db.execute(
            "SELECT drawing, drawing_height, drawing_width FROM samples WHERE id = ?", (sample_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return np.frombuffer(zlib.decompress(row[0]), np.uint8).reshape(row[1], row[2]).copy()

    def strokes(self, sample_id: int) -> list[Stroke] | None:
        """The sample's strokes, or None when it has none (saved before strokes were kept, or imported)."""
        row = self._db.execute("SELECT strokes FROM samples WHERE id = ?", (sample_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return _strokes_from_json(row[0], f"sample {sample_id}")

    def recent_strokes(self, n: int, exclude: Iterable[int] = ()) -> list[tuple[int, list[Stroke]]]:
        """The labels and strokes of the n most recent samples that have strokes (newest first); a sample whose
        strokes cannot be read is skipped."""
        skip = set(exclude)
        found: list[tuple[int, list[Stroke]]] = []
        rows = self._db.execute("SELECT id, label, strokes FROM samples WHERE strokes IS NOT NULL ORDER BY id DESC")
        for sample_id, label, text in rows:
            if len(found) >= n:
                break
            if sample_id in skip:
                continue
            try:
                found.append((int(label), _strokes_from_json(text, f"sample {sample_id}")))
            except DigitStoreError as exc:
                log.warning("%s", exc)
        return found

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All images (N x 28 x 28 uint8) and labels (N uint8), for training or export."""
        samples = self.samples()
        if not samples:
            return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
        return np.stack([s.image for s in samples]), np.array([s.label for s in samples], np.uint8)

    def random_arrays(self, n: int, seed: int, exclude: Iterable[int] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Up to n samples chosen at random (seeded), oldest first: reading them costs the same with 10 or 10,000."""
        skip = set(exclude)
        ids = [i for (i,) in self._db.execute("SELECT id FROM samples ORDER BY id") if i not in skip]
        chosen = sorted(random.Random(seed).sample(ids, min(n, len(ids))))
        images, labels = [], []
        for start in range(0, len(chosen), 500):  # SQLite's limit on bound parameters
            part = chosen[start : start + 500]
            rows = self._db.execute(
                f"SELECT label, image FROM samples WHERE id IN ({','.join('?' * len(part))}) ORDER BY id", part
            )
            for label, image in rows:
                labels.append(label)
                images.append(np.frombuffer(image, np.uint8).reshape(28, 28))
        if not images:
            return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
        return np.stack(images), np.array(labels, np.uint8)

    # -- IDX ------------------------------------------------------------------------------------
    def export_idx(self, folder: str | os.PathLike, prefix: str = "mydigits-train") -> tuple[Path, Path]:
        """Write {prefix}-images-idx3-ubyte.gz and {prefix}-labels-idx1-ubyte.gz; returns both paths.

        Both are written under temporary names (which no MNIST reader takes for data) and renamed once both are
        complete; on an error the temporary files are removed and the error (OSError, ...) is raised.
        """
        folder = Path(folder)
        images, labels = self.arrays()
        paths = folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"
        partial = [path.with_suffix(".part.gz") for path in paths]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_idx(partial[0], images)
            write_idx(partial[1], labels)
            for done, path in zip(partial, paths, strict=True):
                os.replace(done, path)
        except BaseException:
            for path in partial:
                with contextlib.suppress(OSError):  # e.g. never written; the first error is the one to report
                    path.unlink()
            raise
        return paths

    def import_idx(self, images_path: str | os.PathLike, labels_path: str | os.PathLike) -> int:
        """Add every image/label pair of two IDX files (28x28); all or nothing. Returns how many were added."""
        images, labels = read_images(images_path), read_labels(labels_path)
        if images.shape[1:] != (28, 28):
            raise DigitStoreError(
                f"{Path(images_path).name}: images are {images.shape[1]}x{images.shape[2]}, not 28x28"
            )
        if len(images) != len(labels):
            raise DigitStoreError(f"{len(images)} images but {len(labels)} labels")
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT INTO samples (label, image, created) VALUES (?, ?, ?)",
                [(int(y), x.tobytes(), now) for x, y in zip(images, labels, strict=True)],
            )
        return len(images)


def _strokes_json(strokes: list[Stroke]) -> str:
    return json.dumps(
        [
            {"width": round(float(s.width), 3), "points": np.round(s.points.astype(np.float64), 2).tolist()}
            for s in strokes
        ],
        separators=(",", ":"),
    )


def _strokes_from_json(text: str, what: str) -> list[Stroke]:
    """Strokes saved by _strokes_json; DigitStoreError naming `what` for anything else."""
    try:
        if len(text) > MAX_STROKES_JSON:
            raise ValueError(f"{len(text):,} characters of strokes")
        values = json.loads(text)
        if not isinstance(values, list) or not values:
            raise ValueError("not a list of strokes")
        return [Stroke(np.asarray(v["points"], np.float32), float(v["width"])) for v in values]
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise DigitStoreError(f"{what}: its strokes cannot be read ({type(exc).__name__}: {exc})") from None
