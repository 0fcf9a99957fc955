"""Connections on the canvas: EdgeItem draws one route; EdgeLayer keeps every connection's
route clear of the cards (engine/graph/routing.py decides the routes) and, after an edit,
re-routes only the connections the edit touched."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene

from desktop.canvas.items import CARD_HEIGHT, CARD_WIDTH, BlockItem, _theme
from engine.graph.layout import Rect, overlaps
from engine.graph.routing import Obstacles, forget, route
from engine.graph.spec import EdgeSpec

CORNER = 10.0  # radius of a route's rounded bends
THIN_ZOOM = 0.3  # below this connections are drawn as hairlines


class EdgeItem(QGraphicsPathItem):
    """A connection: a routed line with rounded bends and an arrow into the input port."""

    def __init__(self, edge: EdgeSpec):
        super().__init__()
        self.edge = edge
        self.points: list[tuple[float, float]] = []
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)  # under the cards; routes go around them, so nothing is hidden

    def set_route(self, points: list[tuple[float, float]]) -> None:
        if points != self.points:
            self.points = points
            self.setPath(rounded_path(points))

    def route_rect(self) -> Rect:
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return (min(xs), min(ys), max(xs), max(ys)) if self.points else (0.0, 0.0, 0.0, 0.0)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return super().boundingRect().adjusted(-8, -8, 8, 8)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = _theme()
        color = theme["selection"] if self.isSelected() else theme["edge"]
        if option.levelOfDetailFromTransform(painter.worldTransform()) < THIN_ZOOM:
            painter.setPen(QPen(color, 0))
            painter.drawPath(self.path())
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 2.5 if self.isSelected() else 1.8))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        self._draw_arrow(painter, color)

    def _draw_arrow(self, painter: QPainter, color: QColor) -> None:
        if len(self.points) < 2:
            return
        (x1, y1), (x2, y2) = self.points[-2], self.points[-1]
        length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1e-6)
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        end = QPointF(x2, y2)
        head = QPainterPath(end)
        head.lineTo(end + QPointF(-9 * ux - 5 * uy, -9 * uy + 5 * ux))
        head.lineTo(end + QPointF(-9 * ux + 5 * uy, -9 * uy - 5 * ux))
        head.closeSubpath()
        painter.fillPath(head, color)


def rounded_path(points: list[tuple[float, float]]) -> QPainterPath:
    """Straight runs joined by quarter-round bends."""
    if not points:
        return QPainterPath()
    path = QPainterPath(QPointF(*points[0]))
    for index in range(1, len(points) - 1):
        before, corner, after = (QPointF(*points[i]) for i in (index - 1, index, index + 1))
        radius = min(CORNER, _length(corner - before) / 2, _length(after - corner) / 2)
        path.lineTo(corner + _unit(before - corner) * radius)
        path.quadTo(corner, corner + _unit(after - corner) * radius)
    if len(points) > 1:
        path.lineTo(QPointF(*points[-1]))
    return path


def wire_path(start: QPointF, end: QPointF, vertical: bool) -> QPainterPath:
    """The dashed curve following the mouse while a connection is being drawn."""
    path = QPainterPath(start)
    if vertical:
        bend = max(30.0, abs(end.y() - start.y()) / 2)
        path.cubicTo(start + QPointF(0, bend), end - QPointF(0, bend), end)
    else:
        bend = max(40.0, abs(end.x() - start.x()) / 2)
        path.cubicTo(start + QPointF(bend, 0), end - QPointF(bend, 0), end)
    return path


def _length(p: QPointF) -> float:
    return (p.x() ** 2 + p.y() ** 2) ** 0.5


def _unit(p: QPointF) -> QPointF:
    length = _length(p)
    return p / length if length else QPointF()


def card_rect_of(item: BlockItem) -> Rect:
    pos = item.pos()
    return (pos.x(), pos.y(), pos.x() + CARD_WIDTH, pos.y() + CARD_HEIGHT)


class EdgeLayer:
    """Every connection's item and route. Cards are obstacles in a spatial index; an edit
    re-routes the connections of the cards it changed and those passing near them."""

    def __init__(self, scene: QGraphicsScene, card_for: Callable[[str], BlockItem | None]):
        self.scene = scene
        self.card_for = card_for  # node id -> the card showing it (a group card when collapsed)
        self.items: dict[EdgeSpec, EdgeItem] = {}
        self.obstacles = Obstacles("TB")
        self._cards: dict[str, Rect] = {}

    def reset(self, direction: str) -> None:
        """A new document: no card is known yet (sync reports them all as changed)."""
        self.obstacles = Obstacles(direction)
        self._cards.clear()

    def set_direction(self, direction: str) -> None:
        """A new flow direction: every route is redone."""
        self.obstacles = Obstacles(direction)
        for key, rect in self._cards.items():
            self.obstacles.place(key, rect)
        for item in self.items.values():
            self._route(item)

    def cards_rect(self) -> Rect | None:
        """The bounds of every visible card (cheap: no item is asked)."""
        if not self._cards:
            return None
        rects = self._cards.values()
        return (min(r[0] for r in rects), min(r[1] for r in rects),
                max(r[2] for r in rects), max(r[3] for r in rects))

    def update_cards(self, cards: dict[str, BlockItem | None]) -> list[Rect]:
        """Cards that appeared, moved, hid or went (None): the rects where space changed."""
        changed: list[Rect] = []
        for key, item in cards.items():
            old = self._cards.get(key)
            new = card_rect_of(item) if item is not None and item.isVisible() else None
            if old == new:
                continue
            changed += [r for r in (old, new) if r is not None]
            self.obstacles.place(key, new)
            if new is None:
                self._cards.pop(key, None)
            else:
                self._cards[key] = new
        return changed

    def sync(self, edges: tuple[EdgeSpec, ...], changed_nodes: set[str], changed_space: list[Rect]) -> set[EdgeSpec]:
        """Add and remove items to match `edges`; re-route what the change touched. Returns
        the connections added or removed (their ports' look changes)."""
        current = set(edges)
        gone = [edge for edge in self.items if edge not in current]
        for edge in gone:
            self.scene.removeItem(self.items.pop(edge))
            forget(self.obstacles, edge)
        added = []
        for edge in edges:
            if edge not in self.items:
                item = self.items[edge] = EdgeItem(edge)
                self.scene.addItem(item)
                added.append(item)
        touched = {edge for edge in self.items if edge.source[0] in changed_nodes
                   or edge.target[0] in changed_nodes}
        if changed_space:
            touched |= {edge for edge, item in self.items.items()
                        if any(overlaps(_grown(item.route_rect()), rect) for rect in changed_space)}
        for item in added:
            touched.add(item.edge)
        for edge in touched:
            self._route(self.items[edge])
        return set(gone) | {item.edge for item in added}

    def reroute_near(self, node_ids: set[str], rects: list[Rect]) -> None:
        """While a card is dragged: its connections and those it now covers or uncovered."""
        self.sync(tuple(self.items), node_ids, rects)

    def _route(self, item: EdgeItem) -> None:
        source, target = self.card_for(item.edge.source[0]), self.card_for(item.edge.target[0])
        if source is None or target is None:
            return
        inside = source is target  # both ends inside one collapsed composite
        item.setVisible(not inside and source.isVisible() and target.isVisible())
        if not item.isVisible():
            return
        start, end = source.output_anchor(), target.input_anchor(item.edge.target[1])
        item.set_route(route((start.x(), start.y()), (end.x(), end.y()), self.obstacles, item.edge))


def _grown(rect: Rect, by: float = 24.0) -> Rect:
    return (rect[0] - by, rect[1] - by, rect[2] + by, rect[3] + by)
