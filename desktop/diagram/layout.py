"""Box sizes (the lecture-style 3-D boxes) and where each box goes: rows within a column,
then columns left to right with room for the labels and trunks between them."""

from __future__ import annotations

import math

from PySide6.QtCore import QSizeF, Qt
from PySide6.QtGui import QFontMetricsF

from engine.blocks.catalog import format_shape
from desktop.diagram.figure import FigureStage, _Edge, _Item
from desktop.diagram.look import (ARROW_SIZE, BAR_DEPTH, BAR_MAX, BAR_MIN, BAR_OFFSET, BAR_SCALE,
                                  BAR_THICKNESS, CHANNEL_MAX, CHANNEL_MIN, CHANNEL_SCALE,
                                  DEFAULT_SPATIAL, MIN_GAP, NAME_MAX, OBLIQUE_X, OBLIQUE_Y,
                                  SPATIAL_MAX, SPATIAL_MIN, SPATIAL_SCALE, TRUNK_MARGIN,
                                  TRUNK_STEP, UNKNOWN_SIZE, V_GAP, DiagramFonts)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _spatial_px(size) -> float:
    size = DEFAULT_SPATIAL if size is None else max(1, int(size))
    return _clamp(SPATIAL_SCALE * math.sqrt(size), SPATIAL_MIN, SPATIAL_MAX)


def _channel_px(channels) -> float:
    channels = 8 if channels is None else max(1, int(channels))
    return _clamp(CHANNEL_SCALE * math.sqrt(channels) + 2.0, CHANNEL_MIN, CHANNEL_MAX)


def _bar_px(units) -> float:
    units = 64 if units is None else max(1, int(units))
    return _clamp(BAR_SCALE * math.log2(units + 1) + BAR_OFFSET, BAR_MIN, BAR_MAX)


class ColumnLayout(FigureStage):
    """Sizes every item, then places it (`cx`, `cy`); leaves the label sizes, column
    extents and fan-out trunk positions for the router."""

    def __init__(self, items: dict[str, _Item], edges: list[_Edge], fonts: DiagramFonts):
        super().__init__(items, edges, fonts)
        self._size_items()
        self._place_columns_y()
        self._place_columns_x()

    def _size_items(self) -> None:
        shape_metrics = QFontMetricsF(self.fonts.shape_font)
        name_metrics = QFontMetricsF(self.fonts.name_font)
        for item in self.items.values():
            shape = item.shape
            if shape is None:
                item.kind = "unknown"
                item.h, depth, item.t = UNKNOWN_SIZE
            elif len(shape) <= 1:
                item.kind = "bar"
                item.h = _bar_px(shape[0] if shape else 1)
                item.t, depth = BAR_THICKNESS, BAR_DEPTH
            else:
                item.kind = "box"
                dims = list(shape[-3:]) if len(shape) >= 3 else [shape[0], shape[1], 1]
                item.h, depth, item.t = _spatial_px(dims[0]), _spatial_px(dims[1]), _channel_px(dims[2])
            item.dx, item.dy = OBLIQUE_X * depth, OBLIQUE_Y * depth
            if item.kind == "bar":
                item.dx, item.dy = 0.5 * depth, 0.42 * depth
            item.shape_text = format_shape(shape)
            item.name_text = name_metrics.elidedText(item.name, Qt.TextElideMode.ElideMiddle, NAME_MAX)
            item.text_w = max(shape_metrics.horizontalAdvance(item.shape_text),
                              name_metrics.horizontalAdvance(item.name_text)) + 4
            item.text_h = 6 + shape_metrics.height() + name_metrics.height()

    def _columns(self) -> list[list[_Item]]:
        count = 1 + max((item.column for item in self.items.values()), default=-1)
        columns: list[list[_Item]] = [[] for _ in range(count)]
        for item in self.items.values():
            columns[item.column].append(item)
        return columns

    def _place_columns_y(self) -> None:
        parents: dict[str, list[str]] = {item_id: [] for item_id in self.items}
        for edge in self.edges:
            parents[edge.target].append(edge.source)
        for column in self._columns():
            desired = {}
            for item in column:
                ys = [self.items[p].cy for p in parents[item.id] if self.items[p].column < item.column]
                desired[item.id] = sum(ys) / len(ys) if ys else 0.0
            column.sort(key=lambda item: (desired[item.id], item.row))
            placed: list[float] = []
            for index, item in enumerate(column):
                y = desired[item.id]
                if index:
                    above = column[index - 1]
                    y = max(y, placed[-1] + above.bottom_offset + V_GAP - item.top_offset)
                placed.append(y)
            shift = sum(desired[item.id] - y for item, y in zip(column, placed)) / max(1, len(column))
            for item, y in zip(column, placed):
                item.cy = y + shift

    def _place_columns_x(self) -> None:
        columns = self._columns()
        self.label_sizes: dict[str, QSizeF] = {}
        for edge in self.edges:
            lines = self.fonts.label_lines(edge.prefix + self.items[edge.target].parts)
            self.label_sizes[f"{edge.source}->{edge.target}"] = self.fonts.label_size(lines)
        x = 0.0
        self.column_left: list[float] = []
        self.column_right: list[float] = []
        self.trunk_x: dict[str, float] = {}
        for index, column in enumerate(columns):
            if index:
                trunks = [item for item in columns[index - 1] if self._needs_trunk(item)]
                widest = max((self.label_sizes[f"{e.source}->{e.target}"].width()
                              for item in column for e in self._incoming(item.id)), default=0.0)
                merge_room = TRUNK_MARGIN if any(self._is_merge(item.id) for item in column) else 0.0
                gap = (TRUNK_MARGIN + TRUNK_STEP * max(0, len(trunks) - 1) + widest + merge_room
                       + ARROW_SIZE + 6)
                gap = max(MIN_GAP, gap)
                for slot, item in enumerate(trunks):
                    self.trunk_x[item.id] = x + TRUNK_MARGIN + TRUNK_STEP * slot
                x += gap
            width = max((max(item.sil_w, item.text_w) for item in column), default=0.0)
            for item in column:
                item.cx = x + width / 2
            self.column_left.append(x)
            self.column_right.append(x + width)
            x += width
