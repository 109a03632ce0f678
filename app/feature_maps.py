"""What the convolutions see: conv1's 6 learned 3x3 filters, its 6 maps and conv2's 16 maps for the drawing."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtWidgets import QWidget

from lenet_core.model import Activations

ACTIVATION_MAP = pg.colormap.get("viridis")
FILTER_MAP = pg.colormap.get("CET-D1")  # diverging: negative weights blue, positive red


class FeatureMaps(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("feature_maps")
        self.setToolTip(
            "Top: conv1's six 3x3 filters (blue negative, red positive). Middle: conv1's six maps for your drawing."
            " Bottom: conv2's sixteen maps. Brighter = stronger activation after ReLU."
        )
        palette = self.palette()
        self.setBackground(palette.base().color())
        text = palette.text().color().name()
        self.filters = self._row(0, "conv1 filters (3×3)", 6, FILTER_MAP, text)
        self.conv1 = self._row(2, "conv1 maps (30×30)", 6, ACTIVATION_MAP, text)
        self.conv2 = self._row(4, "conv2 maps (13×13)", 8, ACTIVATION_MAP, text)
        self.conv2 += self._row(6, None, 8, ACTIVATION_MAP, text)

    def _row(self, row: int, title: str | None, count: int, cmap, text_color: str) -> list[pg.ImageItem]:
        if title:
            self.addLabel(title, row=row, col=0, colspan=8, color=text_color, size="9pt")
        items = []
        for col in range(count):
            view = self.addViewBox(row=row + 1, col=col, lockAspect=True, enableMouse=False, invertY=True)
            view.setMenuEnabled(False)
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(cmap)
            view.addItem(image)
            items.append(image)
        return items

    def show_filters(self, weight: torch.Tensor) -> None:
        """conv1.weight: 6 x 1 x 3 x 3, shown on one symmetric scale so signs compare."""
        w = weight.detach().cpu().numpy()[:, 0]
        limit = float(np.abs(w).max()) or 1.0
        for item, kernel in zip(self.filters, w, strict=True):
            item.setImage(kernel, levels=(-limit, limit))

    def show_activations(self, activations: Activations | None) -> None:
        """One scale per layer, so a strong map looks stronger than a weak one."""
        if activations is None:
            for item in self.conv1 + self.conv2:
                item.clear()
            return
        for items, maps in ((self.conv1, activations.conv1), (self.conv2, activations.conv2)):
            m = maps[0].detach().cpu().numpy()
            top = float(m.max()) or 1.0
            for item, fmap in zip(items, m, strict=True):
                item.setImage(fmap, levels=(0.0, top))
