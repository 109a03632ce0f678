"""MNIST (and MNIST-like IDX data) from a folder, held in memory as tensors."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .idx import IdxFormatError, read_images, read_labels
from .model import INPUT_SHAPE
from .preprocess import FIELD, PAD, denormalize, normalize_batch, pad_pixels, pixels_to_inputs

log = logging.getLogger(__name__)

# Folders under --data-dir where MNIST is commonly kept (torchvision keeps it in MNIST/raw).
SEARCH_SUBDIRS = ("", "MNIST/raw", "raw", "mnist", "MNIST")
_IMAGES = re.compile(r"^(?P<prefix>.*)-images[-.]idx3-ubyte(?P<suffix>\.gz)?$")


class DatasetNotFoundError(FileNotFoundError):
    """No MNIST files were found where we looked."""


@dataclass(frozen=True)
class SplitFiles:
    images: Path
    labels: Path


@dataclass(frozen=True)
class MnistFiles:
    train: SplitFiles | None
    test: SplitFiles | None


@dataclass
class TensorData:
    """Images (N x 1 x 32 x 32) and N int64 labels. Images are kept as uint8 pixels padded to 32x32 (MNIST, pen
    digits, My digits: a quarter of the memory of model inputs) or as normalised float32 model inputs; inputs() gives
    them as the model reads them, a batch at a time."""

    images: torch.Tensor  # as kept: uint8 pixels or float inputs (the model takes inputs(), never this as it is)
    labels: torch.Tensor
    name: str = ""
    # Parts drawn afresh each epoch, as (start, stop, count): an epoch takes `count` random images of
    # images[start:stop] and all the others (made by join(..., per_epoch=...)).
    sampled: tuple[tuple[int, int, int], ...] = ()

    def __post_init__(self) -> None:
        pixels = self.images.dtype == torch.uint8
        inputs = self.images.is_floating_point()
        if self.images.shape[1:] != INPUT_SHAPE or not (pixels or inputs):
            raise ValueError(
                f"{self.name or 'data'}: images must be N x 1 x 32 x 32 uint8 or float, "
                f"got {tuple(self.images.shape)} {self.images.dtype}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"{self.name or 'data'}: {self.images.shape[0]} images but labels of shape {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def inputs(self, index: torch.Tensor | slice | None = None) -> torch.Tensor:
        """The images at index (a tensor of indices or a slice; all if None) as the model reads them: N x 1 x 32 x 32
        normalised float32, made now from the pixels kept (of data kept as inputs: the tensor kept, or a view of it,
        for a slice or all; not to be changed in place)."""
        if index is None:
            images = self.images
        elif isinstance(index, slice):
            images = self.images[index]
        else:
            images = self.images.index_select(0, index)
        return pixels_to_inputs(images) if images.dtype == torch.uint8 else images

    def pixels(self) -> torch.Tensor:
        """All the images as N x 28 x 28 uint8 pixels: as kept, or made back from model inputs."""
        if self.images.dtype == torch.uint8:
            return self.images[:, 0, PAD:-PAD, PAD:-PAD].contiguous()
        return denormalize(self.images[:, 0, PAD:-PAD, PAD:-PAD]).mul_(255).round_().to(torch.uint8)

    @property
    def epoch_size(self) -> int:
        """Images in one epoch: all of them, but for the parts sampled afresh each epoch."""
        return len(self) - sum(stop - start - count for start, stop, count in self.sampled)

    def epoch_order(self, generator: torch.Generator) -> torch.Tensor:
        """The indices of one epoch in a random order (epoch_size of them)."""
        if not self.sampled:
            return torch.randperm(len(self), generator=generator)
        whole = torch.ones(len(self), dtype=torch.bool)
        picks = []
        for start, stop, count in self.sampled:
            whole[start:stop] = False
            picks.append(start + torch.randperm(stop - start, generator=generator)[:count])
        index = torch.cat([whole.nonzero().squeeze(1), *picks])
        return index[torch.randperm(len(index), generator=generator)]

    @classmethod
    def join(cls, parts: list[TensorData], name: str = "", per_epoch: list[int | None] | None = None) -> TensorData:
        """Several sets as one (a shuffled epoch then mixes them in every batch).

        per_epoch, one entry a part: None uses all of the part in every epoch; a number draws that many of its
        images afresh at random each epoch (all of them if it has fewer), so a large part can be mixed in without
        making every epoch longer.
        """
        per_epoch = [None] * len(parts) if per_epoch is None else list(per_epoch)
        if len(per_epoch) != len(parts):
            raise ValueError(f"per_epoch needs one entry a part: {len(per_epoch)} for {len(parts)} parts")
        if any(p.sampled for p in parts):
            raise ValueError("a set with parts sampled each epoch cannot be joined again")
        sampled, start = [], 0
        for part, count in zip(parts, per_epoch, strict=True):
            if count is not None:
                if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                    raise ValueError(f"images of a part per epoch must be a whole number >= 1, not {count!r}")
                if count < len(part):
                    sampled.append((start, start + len(part), count))
            start += len(part)
        if len(parts) == 1 and not sampled:
            return parts[0]
        names = " + ".join(p.name for p in parts if p.name)
        kept = {p.images.dtype for p in parts}
        images = [p.images for p in parts] if len(kept) == 1 else [p.inputs() for p in parts]  # pixels with inputs
        return cls(torch.cat(images), torch.cat([p.labels for p in parts]), name or names, tuple(sampled))

    @classmethod
    def from_arrays(cls, images: np.ndarray, labels: np.ndarray, name: str = "") -> TensorData:
        """From N x 28 x 28 images (uint8, kept as pixels; [0, 1] floats, made model inputs) and N labels."""
        if images.ndim != 3 or images.shape[1:] != (FIELD, FIELD):
            raise ValueError(f"{name or 'data'}: images must be N x 28 x 28, got {images.shape}")
        pixels = pad_pixels(images) if images.dtype == np.uint8 else normalize_batch(images)
        return cls(pixels, torch.from_numpy(labels.astype(np.int64)), name)


@dataclass
class Mnist:
    train: TensorData | None
    test: TensorData | None
    files: MnistFiles


def _labels_for(images: Path, prefix: str, suffix: str) -> Path | None:
    for ext in dict.fromkeys((suffix, "", ".gz")):
        for sep in "-.":
            labels = images.with_name(f"{prefix}-labels{sep}idx1-ubyte{ext}")
            if labels.is_file():
                return labels
    return None


def _split_files(folder: Path, split: str) -> dict[str, SplitFiles]:
    """The image/label pairs of one split in a folder, by file-name prefix ("train", "train20k", ...)."""
    found: dict[str, SplitFiles] = {}
    for images in sorted(folder.iterdir()):
        m = _IMAGES.match(images.name)
        if not m or not images.is_file():
            continue
        prefix = m["prefix"]
        is_test = "t10k" in prefix.lower() or "test" in prefix.lower()
        if (split == "test") != is_test or (split == "train" and "train" not in prefix.lower()):
            continue
        labels = _labels_for(images, prefix, m["suffix"] or "")
        # torchvision keeps both x.gz and x: prefer the raw file (no decompression).
        if labels and (prefix not in found or not m["suffix"]):
            found[prefix] = SplitFiles(images, labels)
    return found


def find_mnist(data_dir: str | os.PathLike) -> MnistFiles:
    """Find MNIST-style train and test IDX files under data_dir; raises DatasetNotFoundError if neither is there."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: no such folder")
    result: dict[str, SplitFiles | None] = {"train": None, "test": None}
    for sub in SEARCH_SUBDIRS:
        folder = root / sub
        if not folder.is_dir():
            continue
        for split in ("train", "test"):
            if result[split] is not None:
                continue
            candidates = _split_files(folder, split)
            official = candidates.get("train" if split == "train" else "t10k")
            if official is None and len(candidates) > 1:
                names = ", ".join(c.images.name for c in candidates.values())
                raise DatasetNotFoundError(f"{folder}: several {split} image files, which one? {names}")
            # The official name wins over variants such as train20k-.
            result[split] = official or next(iter(candidates.values()), None)
    if result["train"] is None and result["test"] is None:
        raise DatasetNotFoundError(
            f"{root}: no MNIST files found (looked for *train*-images-idx3-ubyte[.gz], "
            f"t10k-images-idx3-ubyte[.gz] and their labels, also in MNIST/raw)"
        )
    return MnistFiles(result["train"], result["test"])


def load_split(files: SplitFiles, name: str) -> TensorData:
    """Read and validate one images + labels pair into tensors."""
    images = read_images(files.images)
    labels = read_labels(files.labels)
    if len(images) != len(labels):
        raise IdxFormatError(files.labels, f"{len(labels)} labels for {len(images)} images in {files.images.name}")
    if images.shape[1:] != (28, 28):
        raise IdxFormatError(files.images, f"images are {images.shape[1]}x{images.shape[2]}, MNIST needs 28x28")
    log.info("loaded %s: %d images from %s", name, len(images), files.images)
    return TensorData.from_arrays(images, labels, name)


def load_mnist(data_dir: str | os.PathLike, *, need_train: bool = True, need_test: bool = True) -> Mnist:
    """Find and load MNIST under data_dir into memory."""
    files = find_mnist(data_dir)
    for split, need in (("train", need_train), ("test", need_test)):
        if need and getattr(files, split) is None:
            raise DatasetNotFoundError(f"{data_dir}: no MNIST {split} files found")
    train = load_split(files.train, "train") if need_train and files.train else None
    test = load_split(files.test, "test") if need_test and files.test else None
    return Mnist(train, test, files)
