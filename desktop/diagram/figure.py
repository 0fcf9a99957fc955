"""The figure as data (boxes, arrows, labels), the connection queries every layout stage
asks, and the point geometry of arrow paths."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath

from desktop.diagram.look import MERGES, DiagramFonts


@dataclass
class _Item:
    """One drawn box or bar: a block and the element-wise blocks folded into it."""

    id: str
    type: str
    name: str
    category: str
    parts: list[str]               # the label of the arrow(s) into it
    shape: tuple | None
    kind: str = "box"              # "box", "bar" or "unknown"
    h: float = 0.0                 # front face height
    t: float = 0.0                 # front face width (thickness)
    dx: float = 0.0                # oblique depth, x
    dy: float = 0.0                # oblique depth, y (upwards)
    column: int = 0
    row: float = 0.0               # index within the layered layer (tie-break)
    cx: float = 0.0
    cy: float = 0.0
    shape_text: str = ""
    name_text: str = ""
    text_h: float = 0.0
    text_w: float = 0.0

    @property
    def sil_w(self) -> float:
        return self.t + self.dx

    @property
    def sil_h(self) -> float:
        return self.h + self.dy

    @property
    def left(self) -> float:
        return self.cx - self.sil_w / 2

    @property
    def right(self) -> float:
        return self.cx + self.sil_w / 2

    @property
    def top_offset(self) -> float:
        return -self.sil_h / 2

    @property
    def bottom_offset(self) -> float:
        return self.sil_h / 2 + self.text_h

    def rect(self) -> QRectF:
        """Box and the text under it, in one rectangle."""
        width = max(self.sil_w, self.text_w)
        return QRectF(self.cx - width / 2, self.cy + self.top_offset, width,
                      self.bottom_offset - self.top_offset)

    def box_rect(self) -> QRectF:
        return QRectF(self.left, self.cy - self.sil_h / 2, self.sil_w, self.sil_h)

    def text_rect(self) -> QRectF:
        return QRectF(self.cx - self.text_w / 2, self.cy + self.sil_h / 2, self.text_w, self.text_h)


@dataclass
class _Edge:
    source: str
    target: str
    prefix: list[str] = field(default_factory=list)
    points: list[QPointF] = field(default_factory=list)
    arrow: bool = True
    kernel: bool = False


@dataclass
class _Label:
    lines: list[str]
    rect: QRectF


class FigureStage:
    """A layout stage over the figure's items and edges. The column layout and the arrow
    router both ask which arrows leave or enter a box and whether it merges branches."""

    def __init__(self, items: dict[str, _Item], edges: list[_Edge], fonts: DiagramFonts):
        self.items = items
        self.edges = edges
        self.fonts = fonts

    def _outgoing(self, item_id: str) -> list[_Edge]:
        return [e for e in self.edges if e.source == item_id]

    def _incoming(self, item_id: str) -> list[_Edge]:
        return [e for e in self.edges if e.target == item_id]

    def _is_merge(self, item_id: str) -> bool:
        return len(self._incoming(item_id)) > 1 or self.items[item_id].type in MERGES

    def _needs_trunk(self, item: _Item) -> bool:
        """A source whose arrows bend to other rows gets a vertical trunk beside it."""
        return any(abs(self.items[e.target].cy - item.cy) > 0.5 and not self._is_merge(e.target)
                   and self.items[e.target].column == item.column + 1
                   for e in self._outgoing(item.id))


# -- geometry helpers -----------------------------------------------------------------------------

def _dedupe(points: list[QPointF]) -> list[QPointF]:
    out: list[QPointF] = []
    for point in points:
        if out and abs(out[-1].x() - point.x()) < 0.01 and abs(out[-1].y() - point.y()) < 0.01:
            continue
        out.append(point)
    # Drop middle points on a straight run.
    cleaned: list[QPointF] = []
    for point in out:
        if len(cleaned) >= 2:
            a, b = cleaned[-2], cleaned[-1]
            if (abs(a.x() - b.x()) < 0.01 and abs(b.x() - point.x()) < 0.01) or \
               (abs(a.y() - b.y()) < 0.01 and abs(b.y() - point.y()) < 0.01):
                cleaned[-1] = point
                continue
        cleaned.append(point)
    return cleaned


def _towards(a: QPointF, b: QPointF, shorten: float) -> QPointF:
    length = math.hypot(b.x() - a.x(), b.y() - a.y())
    if length <= shorten or length < 1e-6:
        return b
    scale = (length - shorten) / length
    return QPointF(a.x() + (b.x() - a.x()) * scale, a.y() + (b.y() - a.y()) * scale)


def _rounded_path(points: list[QPointF], radius: float) -> QPainterPath:
    """A polyline with its corners rounded."""
    path = QPainterPath(points[0])
    for index in range(1, len(points) - 1):
        before, corner, after = points[index - 1], points[index], points[index + 1]
        r = min(radius, _distance(before, corner) / 2, _distance(corner, after) / 2)
        path.lineTo(_towards(before, corner, r))
        path.quadTo(corner, _towards(after, corner, r))
    path.lineTo(points[-1])
    return path


def _distance(a: QPointF, b: QPointF) -> float:
    return math.hypot(b.x() - a.x(), b.y() - a.y())
