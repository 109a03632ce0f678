import shutil

import pytest
import torch

from lenet_core.datasets import DatasetNotFoundError, TensorData, find_mnist, load_mnist
from lenet_core.idx import IdxFormatError, write_idx
from lenet_core.preprocess import MNIST_MEAN, MNIST_STD

from .conftest import fake_digits, write_mnist_folder


@pytest.mark.parametrize("gz", [True, False])
def test_standard_names(tmp_path, gz):
    write_mnist_folder(tmp_path, gz=gz)
    files = find_mnist(tmp_path)
    assert files.train.images.name == "train-images-idx3-ubyte" + (".gz" if gz else "")
    assert files.train.labels.name == "train-labels-idx1-ubyte" + (".gz" if gz else "")
    assert files.test.images.name.startswith("t10k-images")


def test_torchvision_layout_prefers_raw_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_mnist_folder(raw, gz=True)
    write_mnist_folder(raw, gz=False)
    files = find_mnist(tmp_path)
    assert files.train.images == raw / "train-images-idx3-ubyte"
    assert files.test.labels == raw / "t10k-labels-idx1-ubyte"


def test_prefixed_variant_and_official_name_wins(tmp_path):
    write_mnist_folder(tmp_path, prefix="train20k")
    assert find_mnist(tmp_path).train.images.name == "train20k-images-idx3-ubyte.gz"
    write_mnist_folder(tmp_path, prefix="train")
    assert find_mnist(tmp_path).train.images.name == "train-images-idx3-ubyte.gz"


def test_two_variants_are_ambiguous(tmp_path):
    write_mnist_folder(tmp_path, prefix="train20k")
    write_mnist_folder(tmp_path, prefix="mytrain")
    with pytest.raises(DatasetNotFoundError, match="several train image files"):
        find_mnist(tmp_path)


def test_images_without_labels_are_not_a_split(tmp_path):
    write_mnist_folder(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    files = find_mnist(tmp_path)
    assert files.train is None and files.test is not None
    with pytest.raises(DatasetNotFoundError, match="no MNIST train files"):
        load_mnist(tmp_path)
    assert load_mnist(tmp_path, need_train=False).test is not None


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no such folder"):
        find_mnist(tmp_path / "absent")
    with pytest.raises(DatasetNotFoundError, match="no MNIST files found"):
        find_mnist(tmp_path)


def test_loaded_tensors_are_ready(mnist_dir):
    data = load_mnist(mnist_dir)
    images, labels = fake_digits(600, seed=1)
    # kept as the file's pixels, padded (a quarter of the memory of model inputs)
    assert data.train.images.dtype == torch.uint8 and data.train.images.shape == (600, 1, 32, 32)
    assert torch.equal(data.train.pixels(), torch.from_numpy(images))
    assert not data.train.images[:, :, :2, :].any() and not data.train.images[:, :, :, -2:].any()
    assert data.train.labels.dtype == torch.int64
    assert torch.equal(data.train.labels, torch.from_numpy(labels).long())
    inputs = data.train.inputs()
    assert inputs.shape == (600, 1, 32, 32) and inputs.dtype == torch.float32
    # padding is the normalised background, the inside is the normalised image
    background = -MNIST_MEAN / MNIST_STD
    assert torch.allclose(inputs[:, :, :2, :], torch.tensor(background))
    expected = (torch.from_numpy(images[0]).float() / 255 - MNIST_MEAN) / MNIST_STD
    assert torch.allclose(inputs[0, 0, 2:30, 2:30], expected)
    # a batch by indices or by a slice is the same as those of all the inputs
    index = torch.tensor([5, 0, 599])
    assert torch.equal(data.train.inputs(index), inputs[index])
    assert torch.equal(data.train.inputs(slice(10, 20)), inputs[10:20])
    # pixels back from model inputs are the pixels
    as_inputs = TensorData(inputs, data.train.labels)
    assert torch.equal(as_inputs.pixels(), data.train.pixels()) and torch.equal(as_inputs.inputs(index), inputs[index])


def test_joined_pixels_stay_pixels_and_mixed_become_inputs(mnist_dir):
    data = load_mnist(mnist_dir)
    joined = TensorData.join([data.train, data.test])
    assert joined.images.dtype == torch.uint8 and len(joined) == len(data.train) + len(data.test)
    mixed = TensorData.join([data.train, TensorData(data.test.inputs(), data.test.labels)])
    assert mixed.images.dtype == torch.float32
    torch.testing.assert_close(mixed.inputs(), torch.cat([data.train.inputs(), data.test.inputs()]))
    with pytest.raises(ValueError, match="N x 1 x 32 x 32 uint8 or float"):
        TensorData(torch.zeros(3, 1, 28, 28, dtype=torch.uint8), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="N x 1 x 32 x 32 uint8 or float"):
        TensorData(torch.zeros(3, 1, 32, 32, dtype=torch.int64), torch.zeros(3, dtype=torch.long))


def test_label_count_mismatch_names_files(tmp_path):
    write_mnist_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", fake_digits(150)[1])
    with pytest.raises(IdxFormatError, match="150 labels for 200 images in t10k-images-idx3-ubyte.gz"):
        load_mnist(tmp_path)


def test_wrong_image_size(tmp_path):
    write_mnist_folder(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", fake_digits(200)[0][:, :20, :20])
    with pytest.raises(IdxFormatError, match="20x20, MNIST needs 28x28"):
        load_mnist(tmp_path)


def test_tensor_data_checks_shapes():
    with pytest.raises(ValueError, match="N x 1 x 32 x 32"):
        TensorData(torch.zeros(3, 28, 28), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="3 images but labels"):
        TensorData(torch.zeros(3, 1, 32, 32), torch.zeros(4, dtype=torch.long))


def test_copy_of_folder_still_detected(tmp_path, mnist_dir):
    shutil.copytree(mnist_dir, tmp_path / "data" / "mnist")
    assert find_mnist(tmp_path / "data").train is not None  # via the mnist/ sub-folder


def _numbered(n: int, label: int, name: str = "") -> TensorData:
    """n images whose first pixel is their index, all labelled `label`."""
    images = torch.zeros(n, 1, 32, 32)
    images[:, 0, 0, 0] = torch.arange(n, dtype=torch.float32)
    return TensorData(images, torch.full((n,), label), name)


def test_a_part_drawn_afresh_each_epoch():
    whole, pool = _numbered(30, 0, "whole"), _numbered(100, 1, "pool")
    mixed = TensorData.join([whole, pool], per_epoch=[None, 20])
    assert len(mixed) == 130 and mixed.epoch_size == 50 and mixed.name == "whole + pool"
    generator = torch.Generator().manual_seed(0)
    epochs = [mixed.epoch_order(generator) for _ in range(3)]
    for order in epochs:
        assert len(order) == 50 and len(set(order.tolist())) == 50  # no image twice in an epoch
        assert set(order[order < 30].tolist()) == set(range(30))  # every image of the whole part, every epoch
        assert ((order >= 30) & (order < 130)).sum() == 20
        assert not torch.equal(order[:30].sort().values, order[:30])  # shuffled, the parts mixed
    picked = [set(order[order >= 30].tolist()) for order in epochs]
    assert picked[0] != picked[1] != picked[2]  # drawn afresh
    again = [mixed.epoch_order(torch.Generator().manual_seed(0)) for _ in range(1)]
    assert torch.equal(again[0], epochs[0])  # seeded: the same run again


def test_joining_without_sampling_is_one_shuffled_set():
    a, b = _numbered(5, 0), _numbered(7, 1)
    joined = TensorData.join([a, b])
    assert joined.epoch_size == 12 and joined.sampled == ()
    assert torch.equal(
        joined.epoch_order(torch.Generator().manual_seed(3)),
        torch.randperm(12, generator=torch.Generator().manual_seed(3)),
    )
    # A part asked for more images per epoch than it has is used whole.
    assert TensorData.join([a, b], per_epoch=[None, 50]).epoch_size == 12


@pytest.mark.parametrize(
    ("per_epoch", "message"),
    [
        ([None], "one entry a part"),
        ([None, 0], "whole number >= 1"),
        ([None, 2.5], "whole number"),
        ([None, True], "whole"),
    ],
)
def test_bad_per_epoch_counts(per_epoch, message):
    with pytest.raises(ValueError, match=message):
        TensorData.join([_numbered(5, 0), _numbered(7, 1)], per_epoch=per_epoch)


def test_a_sampled_set_is_not_joined_again():
    mixed = TensorData.join([_numbered(5, 0), _numbered(7, 1)], per_epoch=[None, 3])
    with pytest.raises(ValueError, match="cannot be joined again"):
        TensorData.join([mixed, _numbered(2, 2)])
