"""Fuzzing load_checkpoint: whatever a file holds, it gives a valid Checkpoint or one CheckpointError."""

from __future__ import annotations

import io
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lenet_core.checkpoint import FORMAT, Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from lenet_core.model import LeNet, new_model
from lenet_core.training import LIMITS, TrainConfig

EXPECTED_SHAPES = {name: tuple(value.shape) for name, value in LeNet().state_dict().items()}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def real_checkpoint(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("real") / "real.pt"
    save_checkpoint(path, Checkpoint(new_model(0).state_dict(), config=TrainConfig(), metadata={"by": "test"}))
    return path.read_bytes()


def load_bytes(tmp_path, data: bytes) -> Checkpoint | None:
    """Load data as a checkpoint file: the Checkpoint (checked to be usable), or None after a CheckpointError."""
    path = tmp_path / "fuzz.pt"
    path.write_bytes(data)
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(exc).startswith("fuzz.pt: ")  # names the file
        return None
    assert {k: tuple(v.shape) for k, v in checkpoint.model.items()} == EXPECTED_SHAPES
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in checkpoint.model.values())
    LeNet().load_state_dict(checkpoint.model)  # strict: every name and shape fits
    if checkpoint.config is not None:
        assert isinstance(checkpoint.config, TrainConfig)
        for name, (low, high) in LIMITS.items():
            assert low <= getattr(checkpoint.config, name) <= high
    assert checkpoint.trainer is None or isinstance(checkpoint.trainer, dict)
    assert isinstance(checkpoint.metadata, dict) and all(isinstance(n, str) for n in checkpoint.notes)
    return checkpoint


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes(tmp_path, data):
    assert load_bytes(tmp_path, data) is None


@pytest.mark.parametrize("text", ["hello\nworld\n" * 40, "x", "a one-line text file\n", "{}", "PK\x03\x04"])
def test_text_files(tmp_path, text):
    assert load_bytes(tmp_path, text.encode()) is None


@FUZZ
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncations_of_a_real_checkpoint(tmp_path, real_checkpoint, cut):
    assert load_bytes(tmp_path, real_checkpoint[: int(cut * len(real_checkpoint))]) is None


@settings(FUZZ, max_examples=60)  # each flip loads a whole real checkpoint
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=8))
def test_bit_flips_of_a_real_checkpoint(tmp_path, real_checkpoint, flips):
    data = bytearray(real_checkpoint)
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    load_bytes(tmp_path, bytes(data))  # a flip inside the weights may still load: then it must be usable


ODD_VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.sampled_from(["sgd", "adam", "onecycle", "cpu", "cuda", "64"]),
    st.lists(st.integers(), max_size=2),
)
FIELDS = [f for f in TrainConfig().to_dict()]


@FUZZ
@given(config=st.dictionaries(st.sampled_from([*FIELDS, "unknown"]), ODD_VALUES))
def test_configs_with_every_field_out_of_range_or_of_the_wrong_type(tmp_path, config):
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": 1, "model": new_model(1).state_dict(), "config": config}, buffer)
    loaded = load_bytes(tmp_path, buffer.getvalue())
    if loaded is not None and loaded.config is not None:
        for name, value in config.items():
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if name in LIMITS and is_number and math.isfinite(value):
                low, high = LIMITS[name]
                expected = min(max(value, low), high)
                assert getattr(loaded.config, name) == pytest.approx(expected)
                assert (expected != value) == any(n.startswith(f"{name} ") for n in loaded.notes)


@FUZZ
@given(
    model=st.dictionaries(
        st.one_of(st.sampled_from(list(EXPECTED_SHAPES)), st.integers(), st.text(max_size=5)),
        st.one_of(
            st.sampled_from(["zeros", "nan", "int", "complex", "wrong shape", "bfloat16"]),
            st.integers(),
            st.none(),
        ),
        max_size=12,
    ),
    trainer=ODD_VALUES,
    metadata=ODD_VALUES,
)
def test_odd_weights_trainer_state_and_metadata(tmp_path, model, trainer, metadata):
    made = {}
    for name, kind in model.items():
        shape = EXPECTED_SHAPES.get(name, (2,))
        made[name] = (
            {
                "zeros": torch.zeros(shape),
                "nan": torch.full(shape, float("nan")),
                "int": torch.zeros(shape, dtype=torch.int64),
                "complex": torch.zeros(shape, dtype=torch.complex64),
                "wrong shape": torch.zeros(3, 3),
                "bfloat16": torch.zeros(shape, dtype=torch.bfloat16),
            }.get(kind, kind)
            if isinstance(kind, str)
            else kind
        )
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": 1, "model": made, "trainer": trainer, "metadata": metadata}, buffer)
    load_bytes(tmp_path, buffer.getvalue())


def test_a_complete_odd_checkpoint_loads_in_float32(tmp_path):
    state = {k: v.to(torch.bfloat16) for k, v in new_model(2).state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": 1, "model": state, "trainer": [1], "config": "fast"}, buffer)
    loaded = load_bytes(tmp_path, buffer.getvalue())
    assert loaded is not None and loaded.trainer is None and loaded.config is None
    assert len(loaded.notes) == 2
