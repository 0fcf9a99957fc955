"""Small parts the Train panel's boxes share: a grid of captioned image tiles, the tile
conversion, and labels that wrap."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QToolTip, QWidget

from engine.graph.validate import WARNING
from desktop.panels.inspector import severity_color
from desktop.plots import to_qimage
from desktop.widgets import ComboBox

TILE_SIDE = 40  # preview images are scaled to this many pixels


def warning_css(severity: str = WARNING) -> str:
    return f"color: {severity_color(severity).name()};"


def wrapping_label(text: str = "", css: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    if css:
        label.setStyleSheet(css)
    return label


def titled_combo(keys, titles: dict) -> QComboBox:
    combo = ComboBox()
    for key in keys:
        combo.addItem(titles.get(key, key), key)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(6)
    return combo


def select_data(combo: QComboBox, value) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


def tile_image(image: np.ndarray, side: int = TILE_SIDE) -> QImage:
    """A float (H, W, 1 or 3) image in [0, 1] as a QImage at most `side` pixels: nearest
    neighbour when enlarging (pixels stay crisp), smooth when shrinking. QImage, not QPixmap:
    it may be freed on any thread (Python's garbage collector runs wherever it likes)."""
    qimage = to_qimage(np.clip(image, 0.0, 1.0), 0.0, 1.0)
    mode = (Qt.TransformationMode.FastTransformation if max(image.shape[:2]) <= side
            else Qt.TransformationMode.SmoothTransformation)
    return qimage.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)


class ImageGrid(QWidget):
    """Small images with captions, as many per row as fit, in at most `max_rows` rows (the
    tiles that do not fit are kept but not drawn); the height follows the width."""

    CAPTION_GAP = 1
    SPACING = 4

    def __init__(self, tile_side: int = TILE_SIDE, max_rows: int | None = None,
                 show_captions: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.tile_side = tile_side
        self.max_rows = max_rows
        self.show_captions = show_captions  # without: the captions are in the tooltips only
        self._tiles: list[tuple[QImage, str, str]] = []  # image, caption, tooltip
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(self._cell_size().width())
        self._fit_height()

    def set_tiles(self, tiles: list[tuple[QImage, str, str]]) -> None:
        self._tiles = list(tiles)
        self._fit_height()
        self.update()

    def count(self) -> int:
        """The tiles held (drawn or not)."""
        return len(self._tiles)

    def shown_count(self, width: int | None = None) -> int:
        """The tiles drawn at this width (the current one by default)."""
        columns = self._columns(self.width() if width is None else width)
        limit = len(self._tiles) if self.max_rows is None else self.max_rows * columns
        return min(len(self._tiles), limit)

    def captions(self) -> list[str]:
        return [caption for _, caption, _ in self._tiles]

    def _caption_font(self):
        font = self.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        return font

    def _caption_height(self) -> int:
        return QFontMetrics(self._caption_font()).height() if self.show_captions else 0

    def _cell_size(self) -> QSize:
        gap = self.CAPTION_GAP if self.show_captions else 0
        return QSize(self.tile_side + 4, self.tile_side + gap + self._caption_height())

    def _columns(self, width: int) -> int:
        cell = self._cell_size().width() + self.SPACING
        return max(1, (width + self.SPACING) // cell)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        shown = self.shown_count(width)
        if not shown:
            return 0
        rows = math.ceil(shown / self._columns(width))
        return rows * (self._cell_size().height() + self.SPACING) - self.SPACING

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return True

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        width = 6 * (self._cell_size().width() + self.SPACING)
        return QSize(width, self.heightForWidth(width))

    def _fit_height(self) -> None:
        self.setFixedHeight(self.heightForWidth(max(self.width(), self.minimumWidth())))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit_height()

    def _cell_rect(self, index: int) -> QRect:
        columns = self._columns(self.width())
        cell = self._cell_size()
        row, column = divmod(index, columns)
        # Spread the columns over the whole width (at most half a cell of extra gap).
        spare = self.width() - columns * cell.width()
        gap = min(spare / max(1, columns - 1) if columns > 1 else 0,
                  self.SPACING + cell.width() // 2)
        left = max(0, (self.width() - columns * cell.width() - gap * (columns - 1)) / 2)
        return QRect(int(left + column * (cell.width() + gap)),
                     row * (cell.height() + self.SPACING), cell.width(), cell.height())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        font = self._caption_font()
        painter.setFont(font)
        metrics = QFontMetrics(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        side = self.tile_side
        for index, (image, caption, _) in enumerate(self._tiles[:self.shown_count()]):
            rect = self._cell_rect(index)
            painter.drawImage(rect.x() + (rect.width() - image.width()) // 2,
                              rect.y() + (side - image.height()) // 2, image)
            if not self.show_captions:
                continue
            text_rect = QRect(rect.x(), rect.y() + side + self.CAPTION_GAP, rect.width(),
                              self._caption_height())
            text = metrics.elidedText(caption, Qt.TextElideMode.ElideRight, rect.width())
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             text)
        painter.end()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            for index, (_, _, tooltip) in enumerate(self._tiles[:self.shown_count()]):
                if self._cell_rect(index).contains(event.pos()):
                    QToolTip.showText(event.globalPos(), tooltip, self)
                    return True
            QToolTip.hideText()
            event.ignore()
            return True
        return super().event(event)
