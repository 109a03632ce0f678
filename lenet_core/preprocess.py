"""From pixels to the model's input, the way MNIST itself was made.

MNIST digits were size-normalised to fit a 20x20 box (aspect ratio kept, anti-aliased), then centred
by their centre of mass in a 28x28 field. We do the same to a drawing, then pad to the tutorial's
32x32 and normalise with MNIST's mean and standard deviation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
FIELD = 28  # MNIST's image size
BOX = 20  # the digit's longer side inside the field
PAD = 2  # 28 + 2 * 2 = 32, the tutorial's input size
INK_THRESHOLD = 0.1  # fraction of full intensity that counts as ink for cropping


def normalize_batch(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """N x 28 x 28 uint8 (or [0, 1] floats) -> N x 1 x 32 x 32 float32, padded and normalised as in training."""
    x = pad_pixels(images)  # a new tensor
    if x.dtype == torch.uint8:
        return pixels_to_inputs(x)
    return x.float().sub_(MNIST_MEAN).div_(MNIST_STD)


def pad_pixels(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """N x 28 x 28 pixels -> N x 1 x 32 x 32, padded with blank (0): for uint8, how training data is kept."""
    return torch.nn.functional.pad(torch.as_tensor(images), (PAD, PAD, PAD, PAD)).unsqueeze(1)


def pixels_to_inputs(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels, already padded (N x 1 x 32 x 32) -> normalised float32 model inputs, in one pass: each training
    batch of pixels kept in memory comes through here."""
    return pixels.float().mul_(1.0 / (255.0 * MNIST_STD)).sub_(MNIST_MEAN / MNIST_STD)


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """The inverse of the normalisation: model inputs back to pixel intensities in [0, 1]."""
    return (x * MNIST_STD + MNIST_MEAN).clamp_(0.0, 1.0)


def _as_unit_float(image: np.ndarray) -> np.ndarray:
    """Any 2-D drawing -> float32 in [0, 1], ink bright on dark."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"a drawing must be a 2-D greyscale array, got shape {image.shape}")
    if image.size == 0:
        raise ValueError("a drawing of size 0")
    if image.dtype == np.uint8:
        x = image.astype(np.float32) / 255.0
    elif np.issubdtype(image.dtype, np.integer):
        x = image.astype(np.float32) / max(float(np.iinfo(image.dtype).max), 1.0)
    elif np.issubdtype(image.dtype, np.floating) or image.dtype == np.bool_:
        x = np.nan_to_num(np.clip(image, 0.0, 1.0), nan=0.0).astype(np.float32)
    else:
        raise ValueError(f"a drawing must hold numbers, got dtype {image.dtype}")
    x = np.clip(x, 0.0, 1.0)
    # The background is what the border mostly holds: if it is light, the ink is dark, so invert.
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    if np.median(border) > 0.5:
        x = 1.0 - x
    return x


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """n_out x n_in matrix: how much of each source pixel falls in each target pixel (box filter)."""
    edges = np.arange(n_out + 1, dtype=np.float64) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    src = np.arange(n_in, dtype=np.float64)[None, :]
    overlap = np.clip(np.minimum(hi, src + 1) - np.maximum(lo, src), 0.0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def to_mnist(image: np.ndarray) -> np.ndarray | None:
    """A drawing -> the 28x28 uint8 digit the network sees, or None when there is no ink."""
    x = _as_unit_float(image)
    peak = float(x.max())
    if peak < 1 / 255:  # nothing visible, not even one grey level
        return None
    rows = np.flatnonzero((x >= INK_THRESHOLD * peak).any(axis=1))
    cols = np.flatnonzero((x >= INK_THRESHOLD * peak).any(axis=0))
    crop = x[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    out_h, out_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = _area_weights(h, out_h) @ crop @ _area_weights(w, out_w).T
    return place_in_field(small)


def place_in_field(small: np.ndarray) -> np.ndarray:
    """A digit already scaled to fit BOX x BOX -> the 28x28 uint8 field, full contrast, centre of mass centred."""
    small = small / float(small.max())  # full contrast, as MNIST strokes are saturated
    out_h, out_w = small.shape
    # Centre of mass at the field's centre; clamp so no ink falls off the field.
    total = float(small.sum())
    cy = float((small.sum(axis=1) * np.arange(out_h)).sum()) / total
    cx = float((small.sum(axis=0) * np.arange(out_w)).sum()) / total
    # Whole-pixel shifts as in MNIST; floor(x + 0.5) rounds halves the same way every time (round() does not).
    top = int(np.clip(np.floor(FIELD / 2 - cy + 0.5), 0, FIELD - out_h))
    left = int(np.clip(np.floor(FIELD / 2 - cx + 0.5), 0, FIELD - out_w))
    field = np.zeros((FIELD, FIELD), np.float32)
    field[top : top + out_h, left : left + out_w] = small
    return np.rint(field * 255.0).astype(np.uint8)


def prepare(image: np.ndarray) -> torch.Tensor | None:
    """A drawing (2-D array, any size, uint8 or float) -> the model's 1x1x32x32 input, or None when empty."""
    digit = to_mnist(image)
    if digit is None:
        return None
    return normalize_batch(digit[None])


MAX_IMAGE_PIXELS = 50_000_000  # refuse larger images before decoding their pixels


class ImageReadError(ValueError):
    """An image file cannot be used as a drawing; the message names the file and the problem."""


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read PNG, JPEG, BMP, ... into a 2-D float32 array in [0, 1] for `prepare` (Pillow, imported here only)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            width, height = img.size  # from the header; no pixels decoded yet
            if width * height == 0:
                raise ImageReadError(f"{path.name}: the image is empty ({width}x{height})")
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageReadError(f"{path.name}: {width}x{height} pixels is too large for a drawing")
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                pixels = np.asarray(img, dtype=np.float32)
                return pixels / max(float(pixels.max()), 1e-6)
            # Transparent areas count as background: put the image on white first.
            rgba = img.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            canvas.alpha_composite(rgba)
            return np.asarray(canvas.convert("L"), dtype=np.float32) / 255.0
    except Image.DecompressionBombError as exc:  # Pillow's own guard, also before decoding
        raise ImageReadError(f"{path.name}: too large for a drawing ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{path.name}: not an image this program can read ({exc})") from exc
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise ImageReadError(f"{path}: no such file") from exc
        raise ImageReadError(f"{path.name}: cannot read the image ({exc})") from exc
