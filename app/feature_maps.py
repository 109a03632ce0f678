"""What the convolutions see: conv1's 6 learned 3x3 filters, its 6 maps and conv2's 16 maps for the drawing.

Each row is one mosaic image (tiles coloured here with a lookup table, gaps in the background colour) in one view:
three image items to paint instead of twenty-eight, which matters while training shares the CPU with this thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtWidgets import QWidget

from lenet_core.model import Activations

ACTIVATION_MAP = pg.colormap.get("viridis")
FILTER_MAP = pg.colormap.get("CET-D1")  # diverging: negative weights blue, positive red
GAP = 3  # pixels between tiles, in the mosaic's own pixels


@dataclass(frozen=True)
class Row:
    """How one kind of map is laid out: `columns` tiles a row, each map enlarged `zoom` times (nearest)."""

    title: str
    count: int
    side: int
    columns: int
    zoom: int

    @property
    def tile(self) -> int:
        return self.side * self.zoom

    @property
    def shape(self) -> tuple[int, int]:
        rows = -(-self.count // self.columns)
        return rows * self.tile + (rows - 1) * GAP, self.columns * self.tile + (self.columns - 1) * GAP

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left pixel of tile `index` in the mosaic."""
        r, c = divmod(index, self.columns)
        return r * (self.tile + GAP), c * (self.tile + GAP)


FILTERS = Row("conv1 filters (3×3)", 6, 3, 6, 10)
CONV1 = Row("conv1 maps (30×30)", 6, 30, 6, 1)
CONV2 = Row("conv2 maps (13×13)", 16, 13, 8, 2)


def _scale(values: np.ndarray) -> float:
    """The largest finite value, the top of the colour scale (1 when there is none)."""
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def mosaic(row: Row, maps: np.ndarray, low: float, high: float, lut: np.ndarray, background: np.ndarray) -> np.ndarray:
    """`maps` (count x side x side) as one RGBA image: values scaled from [low, high] onto `lut` (256 x 4 bytes)."""
    with np.errstate(invalid="ignore", over="ignore"):  # overflowing weights give inf and NaN maps: drawn as 0
        # Rounded, not truncated: the top value times 255 / top can come out as 254.99998, one colour short.
        scaled = np.nan_to_num(np.rint(np.clip((maps - low) * (255.0 / (high - low)), 0, 255))).astype(np.uint8)
    tiles = lut[scaled]  # count x side x side x 4
    if row.zoom > 1:
        tiles = tiles.repeat(row.zoom, axis=1).repeat(row.zoom, axis=2)
    image = np.empty((*row.shape, 4), np.uint8)
    image[:] = background
    for index, tile in enumerate(tiles):
        top, left = row.origin(index)
        image[top : top + row.tile, left : left + row.tile] = tile
    return image


class FeatureMaps(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("feature_maps")
        self.setToolTip(
            "Top: conv1's six 3x3 filters (blue negative, red positive). Middle: conv1's six maps for your drawing."
            " Bottom: conv2's sixteen maps. Brighter = stronger activation after ReLU."
        )
        palette = self.palette()
        base = palette.base().color()
        self.setBackground(base)
        self._background = np.array([base.red(), base.green(), base.blue(), 255], np.uint8)
        self._activation_lut = ACTIVATION_MAP.getLookupTable(nPts=256, mode="byte", alpha=True)
        self._filter_lut = FILTER_MAP.getLookupTable(nPts=256, mode="byte", alpha=True)
        text = palette.text().color().name()
        self.images: dict[Row, pg.ImageItem] = {}
        for index, row in enumerate((FILTERS, CONV1, CONV2)):
            self.addLabel(row.title, row=2 * index, col=0, color=text, size="9pt")
            view = self.addViewBox(row=2 * index + 1, col=0, lockAspect=True, enableMouse=False, invertY=True)
            view.setMenuEnabled(False)
            view.setDefaultPadding(0.0)
            image = pg.ImageItem(axisOrder="row-major")
            view.addItem(image)
            view.setRange(xRange=(0, row.shape[1]), yRange=(0, row.shape[0]), padding=0)
            self.ci.layout.setRowStretchFactor(2 * index + 1, row.shape[0] * 100 // row.shape[1])
            self.images[row] = image

    def show_filters(self, weight: torch.Tensor) -> None:
        """conv1.weight: 6 x 1 x 3 x 3, on one symmetric scale so that signs compare."""
        w = weight.detach().cpu().numpy()[:, 0]
        limit = _scale(np.abs(w))
        self.images[FILTERS].setImage(
            mosaic(FILTERS, w, -limit, limit, self._filter_lut, self._background), autoLevels=False
        )

    def show_activations(self, activations: Activations | None) -> None:
        """One scale per layer, so that a strong map looks stronger than a weak one."""
        if activations is None:
            self.images[CONV1].clear()
            self.images[CONV2].clear()
            return
        for row, maps in ((CONV1, activations.conv1), (CONV2, activations.conv2)):
            m = maps[0].detach().cpu().numpy()
            top = _scale(m)
            self.images[row].setImage(
                mosaic(row, m, 0.0, top, self._activation_lut, self._background), autoLevels=False
            )
