"""Drawing a laid-out figure with a QPainter: title, arrows, boxes, kernel windows, labels."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF

from desktop.diagram.figure import _Edge, _Item, _Label, _rounded_path, _towards
from desktop.diagram.layout import _clamp
from desktop.diagram.look import (ARROW_COLOR, ARROW_SIZE, BACKGROUND, DEFAULT_SPATIAL, MARGIN,
                                  MUTED_TEXT, TEXT_COLOR, UNKNOWN_COLOR, _font)
from desktop.style import CATEGORY_COLORS

if TYPE_CHECKING:
    from desktop.diagram.renderer import DiagramRenderer


def _tint(colour: QColor, amount: float) -> QColor:
    """`colour` mixed with white (amount 1 = white)."""
    return QColor(round(colour.red() + (255 - colour.red()) * amount),
                  round(colour.green() + (255 - colour.green()) * amount),
                  round(colour.blue() + (255 - colour.blue()) * amount))


class DiagramPainter:
    """Paints one laid-out figure; holds no state of its own beyond what it reads."""

    def __init__(self, figure: DiagramRenderer):
        self.spec = figure.spec
        self.fonts = figure.fonts
        self.items, self.edges = figure.items, figure.edges
        self.labels, self.edge_labels, self.notes = figure.labels, figure.edge_labels, figure.notes
        self.title, self.subtitle = figure.title, figure.subtitle
        self.size, self.offset = figure.size, figure.offset

    def paint(self, painter: QPainter) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.fillRect(QRectF(QPointF(0, 0), self.size), BACKGROUND)
        self._paint_title(painter)
        painter.translate(self.offset)
        for edge in self.edges:
            self._paint_edge(painter, edge)
        for item in self.items.values():
            self._paint_item(painter, item)
        for edge in self.edges:
            if edge.kernel:
                self._paint_kernel(painter, edge)
        for edge in self.edges:
            if len(edge.points) >= 2:
                self._paint_arrowhead(painter, edge.points[-2], edge.points[-1])
        for label in list(self.labels.values()) + self.edge_labels:
            self._paint_label(painter, label)
        for note in self.notes:
            self._paint_label(painter, note, self.fonts.note_font, MUTED_TEXT)
        painter.restore()

    def _paint_title(self, painter: QPainter) -> None:
        title_metrics = QFontMetricsF(self.fonts.title_font)
        painter.setPen(TEXT_COLOR)
        painter.setFont(self.fonts.title_font)
        painter.drawText(QPointF(MARGIN, MARGIN + title_metrics.ascent()), self.title)
        painter.setPen(MUTED_TEXT)
        painter.setFont(self.fonts.subtitle_font)
        sub_metrics = QFontMetricsF(self.fonts.subtitle_font)
        painter.drawText(QPointF(MARGIN, MARGIN + title_metrics.height() + sub_metrics.ascent()),
                         self.subtitle)

    def _paint_edge(self, painter: QPainter, edge: _Edge) -> None:
        if len(edge.points) < 2:
            return
        pen = QPen(ARROW_COLOR, 1.4)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        if self.items[edge.target].column <= self.items[edge.source].column:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        points = list(edge.points)
        points[-1] = _towards(points[-2], points[-1], ARROW_SIZE - 1)  # the head finishes it
        painter.drawPath(_rounded_path(points, 7.0))

    def _paint_arrowhead(self, painter: QPainter, before: QPointF, tip: QPointF) -> None:
        length = math.hypot(tip.x() - before.x(), tip.y() - before.y())
        if length < 1e-6:
            return
        ux, uy = (tip.x() - before.x()) / length, (tip.y() - before.y()) / length
        back = QPointF(tip.x() - ux * ARROW_SIZE, tip.y() - uy * ARROW_SIZE)
        half = ARROW_SIZE * 0.45
        head = QPolygonF([tip, QPointF(back.x() - uy * half, back.y() + ux * half),
                          QPointF(back.x() + uy * half, back.y() - ux * half)])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(ARROW_COLOR)
        painter.drawPolygon(head)

    def _faces(self, item: _Item) -> tuple[QPolygonF, QPolygonF, QPolygonF]:
        x0 = item.left
        y0 = item.cy - item.sil_h / 2 + item.dy   # front face top
        t, h, dx, dy = item.t, item.h, item.dx, item.dy
        front = QPolygonF([QPointF(x0, y0), QPointF(x0 + t, y0), QPointF(x0 + t, y0 + h),
                           QPointF(x0, y0 + h)])
        top = QPolygonF([QPointF(x0, y0), QPointF(x0 + dx, y0 - dy), QPointF(x0 + t + dx, y0 - dy),
                         QPointF(x0 + t, y0)])
        side = QPolygonF([QPointF(x0 + t, y0), QPointF(x0 + t + dx, y0 - dy),
                          QPointF(x0 + t + dx, y0 + h - dy), QPointF(x0 + t, y0 + h)])
        return front, top, side

    def _paint_item(self, painter: QPainter, item: _Item) -> None:
        front, top, side = self._faces(item)
        if item.kind == "unknown":
            pen = QPen(UNKNOWN_COLOR, 1.3, Qt.PenStyle.DashLine)
            fills = (QColor("#F4F4F4"), QColor("#FAFAFA"), QColor("#EDEDED"))
        else:
            base = QColor(CATEGORY_COLORS.get(item.category, "#666666"))
            pen = QPen(base.darker(125), 1.2)
            fills = (_tint(base, 0.70), _tint(base, 0.82), _tint(base, 0.58))
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        for polygon, fill in zip((front, top, side), fills):
            painter.setBrush(fill)
            painter.drawPolygon(polygon)
        if item.kind == "unknown":
            painter.setPen(UNKNOWN_COLOR)
            painter.setFont(_font(20, bold=True))
            box = QRectF(item.left, item.cy - item.sil_h / 2, item.sil_w, item.sil_h)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "?")
        # Shape, then name, under the box.
        shape_metrics = QFontMetricsF(self.fonts.shape_font)
        y = item.cy + item.sil_h / 2 + 4
        width = max(item.sil_w, item.text_w) + 40
        painter.setFont(self.fonts.shape_font)
        painter.setPen(TEXT_COLOR)
        painter.drawText(QRectF(item.cx - width / 2, y, width, shape_metrics.height()),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, item.shape_text)
        painter.setFont(self.fonts.name_font)
        painter.setPen(MUTED_TEXT)
        painter.drawText(QRectF(item.cx - width / 2, y + shape_metrics.height() + 1, width,
                                QFontMetricsF(self.fonts.name_font).height()),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, item.name_text)

    def _paint_kernel(self, painter: QPainter, edge: _Edge) -> None:
        """The window the operation slides over its input, on the input's spatial face."""
        source, target = self.items[edge.source], self.items[edge.target]
        node = next(n for n in self.spec.nodes if n.id == target.id)
        window = node.params.get("kernel_size") or node.params.get("pool_size")
        shape = source.shape
        try:
            kh, kw = int(window[0]), int(window[1])
        except (TypeError, ValueError, IndexError):
            return
        height = shape[-3] if shape and len(shape) >= 3 and shape[-3] else DEFAULT_SPATIAL
        width = shape[-2] if shape and len(shape) >= 3 and shape[-2] else DEFAULT_SPATIAL
        fv = _clamp(kh / height, 0.0, 1.0)
        fu = _clamp(kw / width, 0.0, 1.0)
        fv = max(fv, min(1.0, 10.0 / source.h))                # at least a few pixels
        fu = max(fu, min(1.0, 10.0 / max(1.0, math.hypot(source.dx, source.dy))))
        fv, fu = min(fv, 0.8), min(fu, 0.8)
        x0 = source.left + source.t
        y0 = source.cy - source.sil_h / 2 + source.dy

        def at(u: float, v: float) -> QPointF:  # a point on the side face
            return QPointF(x0 + u * source.dx, y0 - u * source.dy + v * source.h)

        u0, v0 = 0.5 - fu / 2, 0.5 - fv / 2
        patch = QPolygonF([at(u0, v0), at(u0 + fu, v0), at(u0 + fu, v0 + fv), at(u0, v0 + fv)])
        colour = QColor(CATEGORY_COLORS.get(target.category, "#666666"))
        fill = QColor(colour)
        fill.setAlpha(170)
        painter.setPen(QPen(colour.darker(150), 1.0))
        painter.setBrush(fill)
        painter.drawPolygon(patch)
        # The arrow leaves from the window: this window, slid over the map, makes the next one.
        painter.setPen(QPen(ARROW_COLOR, 1.4))
        painter.drawLine(at(0.5, 0.5), QPointF(source.right, source.cy))

    def _paint_label(self, painter: QPainter, label: _Label, font: QFont | None = None,
                     colour: QColor = TEXT_COLOR) -> None:
        font = font or self.fonts.label_font
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 225))
        painter.drawRoundedRect(label.rect.adjusted(1, 0, -1, 0), 3, 3)
        painter.setPen(colour)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        for index, line in enumerate(label.lines):
            line_rect = QRectF(label.rect.left(), label.rect.top() + 1 + index * metrics.height(),
                               label.rect.width(), metrics.height())
            painter.drawText(line_rect, Qt.AlignmentFlag.AlignCenter, line)
