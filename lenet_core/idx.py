"""Read and write IDX files (the MNIST format), raw or gzip-compressed, with full validation.

Layout: two zero bytes, a dtype code, the number of dimensions, then one big-endian uint32 per
dimension, then the data in C order, big-endian.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

# dtype code -> big-endian numpy dtype
DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in DTYPES.items()}
_CHUNK = 1 << 20


class IdxFormatError(ValueError):
    """A file is not a valid IDX file of the expected kind; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path.name}: {problem}")


def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _read_exactly(stream, n: int, path: Path, what: str) -> bytes:
    """Read n bytes in chunks, so a header that lies about its size never causes a huge allocation."""
    parts: list[bytes] = []
    got = 0
    while got < n:
        part = stream.read(min(_CHUNK, n - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    if got < n:
        raise IdxFormatError(path, f"truncated: {what} needs {n} bytes but the file holds {got}")
    return b"".join(parts)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read any IDX file (raw or .gz) into a native-endian numpy array."""
    path = Path(path)
    try:
        with _open(path) as stream:
            head = stream.read(4)
            if len(head) < 4:
                raise IdxFormatError(path, f"too short for an IDX header ({len(head)} bytes)")
            zero, code, ndim = struct.unpack(">HBB", head)
            if zero != 0:
                raise IdxFormatError(path, f"bad magic number 0x{head.hex()}: not an IDX file")
            if code not in DTYPES:
                raise IdxFormatError(path, f"unknown IDX data type code 0x{code:02x}")
            if ndim == 0:
                raise IdxFormatError(path, "header declares zero dimensions")
            dims = struct.unpack(f">{ndim}I", _read_exactly(stream, 4 * ndim, path, "the header"))
            dtype = DTYPES[code]
            size = int(np.prod(dims, dtype=object)) * dtype.itemsize
            shape_text = "x".join(map(str, dims))
            if int(np.prod([d for d in dims if d], dtype=object)) * dtype.itemsize >= 2**62:
                # numpy cannot even describe such a shape, empty or not
                raise IdxFormatError(path, f"absurd dimensions {shape_text}")
            if not isinstance(stream, gzip.GzipFile):
                actual = path.stat().st_size - 4 - 4 * ndim
                if actual != size:
                    kind = "truncated" if actual < size else "trailing bytes"
                    raise IdxFormatError(
                        path,
                        f"{kind}: header says {shape_text} {dtype.name} ({size} bytes) but the file holds {actual}",
                    )
            body = _read_exactly(stream, size, path, f"{shape_text} {dtype.name}")
            if stream.read(1):
                raise IdxFormatError(path, f"trailing bytes after the {shape_text} {dtype.name} data")
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise
        raise IdxFormatError(path, f"corrupt or unreadable compressed data ({exc})") from exc
    # astype copies: the result is writable and native-endian
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as IDX; gzip-compressed when the name ends in .gz."""
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot hold dtype {array.dtype}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, not {array.ndim}")
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(data)


def read_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX image file: N x H x W unsigned bytes."""
    images = read_idx(path)
    if images.dtype != np.uint8:
        raise IdxFormatError(path, f"images must be unsigned bytes, found {images.dtype}")
    if images.ndim != 3:
        raise IdxFormatError(path, f"images must have 3 dimensions (N x H x W), found {images.ndim}")
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise IdxFormatError(path, f"images of size {images.shape[1]}x{images.shape[2]}")
    return images


def read_labels(path: str | os.PathLike, num_classes: int = 10) -> np.ndarray:
    """Read an IDX label file: N unsigned bytes, each below num_classes."""
    labels = read_idx(path)
    if labels.dtype != np.uint8:
        raise IdxFormatError(path, f"labels must be unsigned bytes, found {labels.dtype}")
    if labels.ndim != 1:
        raise IdxFormatError(path, f"labels must have 1 dimension, found {labels.ndim}")
    if labels.size and labels.max() >= num_classes:
        bad = int(np.argmax(labels >= num_classes))
        raise IdxFormatError(path, f"label {labels[bad]} at index {bad} is outside 0-{num_classes - 1}")
    return labels
