import pathlib
import pickle

import pytest
import torch

from lenet_core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, load_model, save_checkpoint, save_model
from lenet_core.datasets import load_mnist
from lenet_core.model import LeNet, new_model
from lenet_core.training import TrainConfig, Trainer


class _Payload:
    """Unpickling this creates a marker file: what an attacker's checkpoint would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_save_load_gives_identical_predictions(tmp_path, mnist_dir):
    data = load_mnist(mnist_dir)
    config = TrainConfig(epochs=1, batch_size=32, device="cpu")
    trainer = Trainer(new_model(0), config, data.train, data.test)
    trainer.fit()
    path = tmp_path / "sub" / "m.pt"
    save_checkpoint(
        path,
        Checkpoint(trainer.net.state_dict(), trainer.state_dict(), config, {"dataset": "fake"}),
    )
    loaded = load_checkpoint(path)
    assert loaded.config == config and loaded.notes == []
    assert loaded.metadata["dataset"] == "fake" and "saved_at" in loaded.metadata and "torch" in loaded.metadata
    net = load_model(path)
    for name, value in trainer.net.state_dict().items():
        assert torch.equal(net.state_dict()[name], value), name
    with torch.inference_mode():
        # the trainer's copy is channels-last, so its kernels (not its weights) differ in the last bits
        expected = trainer.net.eval()(data.test.inputs())
        got = net(data.test.inputs())
    torch.testing.assert_close(got, expected)
    # The same answers, except where two logits are so close that the kernels' rounding may order them either way.
    top2 = expected.topk(2, dim=1).values
    clear = (top2[:, 0] - top2[:, 1]) > 1e-4
    assert clear.float().mean() > 0.95
    assert torch.equal(got.argmax(1)[clear], expected.argmax(1)[clear])
    resumed = Trainer(net, config, data.train, data.test)
    resumed.load_state_dict(loaded.trainer)
    assert resumed.step_count == trainer.step_count and resumed.history == trainer.history
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left behind


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_code_carrying_checkpoint_is_refused(tmp_path, how):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"model": LeNet().state_dict(), "extra": _Payload(marker)}
    if how == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(CheckpointError, match="refused|not a readable checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "absent.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(tmp_path / "empty.pt")
    save_model(tmp_path / "good.pt", LeNet())
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "cut.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint(tmp_path / "list.pt")


def test_wrong_architecture_names_the_difference(tmp_path):
    state = LeNet().state_dict()
    state["fc1.weight"] = torch.zeros(120, 400)  # the 5x5 LeNet of the original tutorial
    del state["fc3.bias"]
    torch.save(state, tmp_path / "other.pt")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "other.pt")
    assert "missing fc3.bias" in str(info.value)
    assert "fc1.weight has shape 120x400, LeNet needs 120x576" in str(info.value)


def test_bare_state_dict_is_accepted(tmp_path):
    net = new_model(1)
    torch.save(net.state_dict(), tmp_path / "bare.pt")
    assert torch.equal(load_model(tmp_path / "bare.pt").fc2.weight, net.fc2.weight)


def test_non_finite_weights_are_never_saved(tmp_path):
    net = LeNet()
    save_model(tmp_path / "m.pt", net)
    before = (tmp_path / "m.pt").read_bytes()
    with torch.no_grad():
        net.fc2.weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="non-finite weights in fc2.weight"):
        save_model(tmp_path / "m.pt", net)
    assert (tmp_path / "m.pt").read_bytes() == before


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    save_model(tmp_path / "m.pt", new_model(1))
    before = (tmp_path / "m.pt").read_bytes()

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        save_model(tmp_path / "m.pt", new_model(2))
    assert (tmp_path / "m.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
