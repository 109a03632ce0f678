import contextlib
import gzip
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lenet_core.idx import IdxFormatError, read_idx, read_images, read_labels, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["data.idx", "data.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_header_is_big_endian_as_in_mnist(tmp_path):
    write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:16] == bytes([0, 0, 8, 3]) + struct.pack(">III", 3, 28, 28)


def _write(path, data: bytes, gz=False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _header(code=0x08, dims=(2, 28, 28)):
    return struct.pack(">HBB", 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x12\x34\x08\x03" + bytes(100), "bad magic"),
        (_header(code=0x42) + bytes(2 * 28 * 28), "unknown IDX data type code 0x42"),
        (_header(dims=()), "zero dimensions"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated"),
        (_header() + bytes(100), "truncated"),
        (_header() + bytes(2 * 28 * 28 + 5), "trailing bytes"),
    ],
)
def test_invalid_files_name_file_and_problem(tmp_path, gz, data, problem):
    path = _write(tmp_path / ("bad-file.gz" if gz else "bad-file"), data, gz)
    with pytest.raises(IdxFormatError) as info:
        read_idx(path)
    assert problem in str(info.value)
    assert str(info.value).startswith("bad-file")


def test_truncated_message_states_sizes(tmp_path):
    path = _write(tmp_path / "train-images", _header(dims=(60000, 28, 28)) + bytes(1234))
    with pytest.raises(
        IdxFormatError, match=r"header says 60000x28x28 uint8 \(47040000 bytes\) but the file holds 1234"
    ):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_absurd_header_fails_fast_without_allocating(tmp_path, gz):
    path = _write(tmp_path / "huge", _header(dims=(2**31, 28, 28)) + bytes(5000), gz)
    tracemalloc.start()
    with pytest.raises(IdxFormatError, match="truncated"):
        read_idx(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 2**20  # the header claims 1.6 GB


def test_absurd_but_empty_shape(tmp_path):
    path = _write(tmp_path / "odd", _header(dims=(0, 2**21, 2**21, 2**21)))
    with pytest.raises(IdxFormatError, match="absurd dimensions 0x2097152x2097152x2097152"):
        read_idx(path)


def test_corrupt_gzip_stream(tmp_path):
    good = gzip.compress(_header() + bytes(2 * 28 * 28))
    path = _write(tmp_path / "broken.gz", good[:20] + b"\xff" * 30 + good[50:])
    with pytest.raises(IdxFormatError, match="broken.gz"):
        read_idx(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_read_images_and_labels_validate_kind(tmp_path):
    write_idx(tmp_path / "labels", np.array([0, 9, 10, 3], np.uint8))
    with pytest.raises(IdxFormatError, match="label 10 at index 2 is outside 0-9"):
        read_labels(tmp_path / "labels")
    write_idx(tmp_path / "flat", np.zeros(10, np.uint8))
    with pytest.raises(IdxFormatError, match="3 dimensions"):
        read_images(tmp_path / "flat")
    write_idx(tmp_path / "floats", np.zeros((2, 28, 28), np.float32))
    with pytest.raises(IdxFormatError, match="unsigned bytes"):
        read_images(tmp_path / "floats")
    write_idx(tmp_path / "grid", np.zeros((2, 2), np.uint8))
    with pytest.raises(IdxFormatError, match="1 dimension"):
        read_labels(tmp_path / "grid")


def test_write_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_idx(tmp_path / "x", np.zeros(3, np.complex64))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), gz=st.booleans())
def test_random_bytes_give_array_or_idx_error(tmp_path, data, gz):
    path = _write(tmp_path / "fuzz", data, gz)
    with contextlib.suppress(IdxFormatError):
        read_idx(path)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]),
    dims=st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=4),
    body=st.binary(max_size=64),
    gz=st.booleans(),
)
def test_mutated_headers_give_array_or_idx_error(tmp_path, code, dims, body, gz):
    path = _write(tmp_path / "fuzz", _header(code, tuple(dims)) + body, gz)
    try:
        array = read_idx(path)
    except IdxFormatError:
        return
    assert list(array.shape) == dims
