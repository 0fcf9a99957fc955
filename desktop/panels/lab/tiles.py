"""A grid of small images with captions (kernels, feature maps, patterns) that reflows to
its width; a click on a tile reports the image pixel under the pointer."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.panels.lab.images import to_pixmap

MAX_TILES = 256  # feature maps / kernels shown at most
CAPTION_WIDTH = 104  # px: a cell is at least this wide so captions stay readable
CAPTION_HEIGHT = 16  # px of a one-line caption, for fitting tiles to the view
SPACING = 6


class Tile(QLabel):
    """One image in a grid; a click reports the image pixel (row, col)."""

    clicked = Signal(int, int, int)  # tile index, row, col

    def __init__(self, index: int, shape: tuple[int, int], parent=None):
        super().__init__(parent)
        self.index, self.shape = index, shape
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        pixmap = self.pixmap()
        if pixmap is None or pixmap.isNull():
            return
        x0 = (self.width() - pixmap.width()) / 2
        y0 = (self.height() - pixmap.height()) / 2
        pos = event.position()
        col = int((pos.x() - x0) * self.shape[1] / max(pixmap.width(), 1))
        row = int((pos.y() - y0) * self.shape[0] / max(pixmap.height(), 1))
        if 0 <= row < self.shape[0] and 0 <= col < self.shape[1]:
            self.clicked.emit(self.index, row, col)


class TileGrid(QScrollArea):
    """Images with captions in a grid that reflows to the width. With `fit=(smallest,
    largest)` the tiles take the largest size that shows them all without scrolling (at
    least `smallest`), again whenever the view is resized."""

    tile_clicked = Signal(int, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setMinimumSize(120, 90)  # a scroll area: small is fine, it scrolls
        self._body = QWidget()
        self._grid = QGridLayout(self._body)
        self._grid.setSpacing(SPACING)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self._body)
        self.tiles: list[Tile] = []
        self.captions: list[str] = []
        self.tile_size = 64
        self._cells: list[QWidget] = []
        self._columns = 0
        self._request = None  # what set_images was given, to redraw at a fitted size

    def set_images(self, images: list[np.ndarray], captions: list[str] | None = None,
                   size: int = 64, shared: bool = False, symmetric: bool = False,
                   fit: tuple[int, int] | None = None) -> None:
        images = list(images)[:MAX_TILES]
        self._request = (images, captions, shared, symmetric, fit)
        self._draw(self._fitted_size(len(images), fit) if fit else size)

    def _draw(self, size: int) -> None:
        images, captions, shared, symmetric, _fit = self._request
        for cell in self._cells:
            self._grid.removeWidget(cell)
            cell.deleteLater()
        self._cells, self.tiles, self.tile_size = [], [], size
        self.captions = list(captions or [""] * len(images))
        lo = hi = None
        if shared and images:
            lo = min(float(np.min(i)) for i in images)
            hi = max(float(np.max(i)) for i in images)
        for index, image in enumerate(images):
            tile_lo, tile_hi = lo, hi
            if symmetric:  # zero is mid-gray: weights' sign shows
                bound = max(abs(lo), abs(hi)) if shared else float(np.max(np.abs(image))) or 1.0
                tile_lo, tile_hi = -bound, bound
            self._cells.append(self._cell(index, image, size, tile_lo, tile_hi))
        self._columns = 0
        self._reflow()

    def _cell(self, index: int, image: np.ndarray, size: int, lo, hi) -> QWidget:
        cell = QWidget()
        box = QVBoxLayout(cell)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        tile = Tile(index, np.shape(image)[:2])
        tile.setPixmap(to_pixmap(image, size, lo, hi))
        tile.setFixedSize(size, size)
        tile.setStyleSheet("border: 1px solid rgba(128, 128, 128, 160);")  # on light and dark
        tile.clicked.connect(self.tile_clicked)
        box.addWidget(tile, alignment=Qt.AlignmentFlag.AlignHCenter)
        if self.captions[index]:
            caption = QLabel(self.captions[index])
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            caption.setWordWrap(True)
            caption.setFixedWidth(max(size, CAPTION_WIDTH))
            # A font, not a style sheet: a style sheet would freeze the label's palette and
            # leave dark text on a dark theme after the palette changes.
            font = QFont(caption.font())
            font.setPixelSize(10)
            caption.setFont(font)
            box.addWidget(caption)
        self.tiles.append(tile)
        return cell

    def _columns_for(self, size: int) -> int:
        return max(1, (self.viewport().width() - 2 * SPACING) // (max(size, CAPTION_WIDTH) + SPACING))

    def _fitted_size(self, count: int, fit: tuple[int, int]) -> int:
        smallest, largest = fit
        height = self.viewport().height() - 2 * SPACING
        captions = self._request[1] or [""]
        caption_height = CAPTION_HEIGHT * max(c.count("\n") + 1 for c in captions)
        for size in range(largest, smallest, -8):
            rows = math.ceil(count / self._columns_for(size)) if count else 0
            if rows * (size + caption_height + SPACING) <= height:
                return size
        return smallest

    def _reflow(self) -> None:
        """Lay the cells out in as many columns as the viewport holds (again on resize: a
        grid filled while hidden would otherwise keep the one column of a tiny viewport)."""
        columns = self._columns_for(self.tile_size)
        if columns == self._columns:
            return
        self._columns = columns
        for cell in self._cells:
            self._grid.removeWidget(cell)
        for index, cell in enumerate(self._cells):
            self._grid.addWidget(cell, index // columns, index % columns)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        fit = self._request[4] if self._request else None
        if fit and self._request[0]:
            size = self._fitted_size(len(self._request[0]), fit)
            if size != self.tile_size:
                self._draw(size)
                return
        self._reflow()

    def count(self) -> int:
        return len(self.tiles)
