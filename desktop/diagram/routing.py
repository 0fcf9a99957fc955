"""The arrows: labels on the last horizontal piece of each arrow, fan-out trunks, and
shortcut lanes around the blocks they skip."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF
from PySide6.QtGui import QFontMetricsF

from desktop.diagram.figure import FigureStage, _dedupe, _Edge, _Item, _Label
from desktop.diagram.look import ARROW_SIZE, LANE_GAP, TRUNK_MARGIN, WINDOWED, DiagramFonts


class ArrowRouter(FigureStage):
    """Gives every edge its `points` (and `kernel` flag); collects the labels and notes."""

    def __init__(self, items: dict[str, _Item], edges: list[_Edge], fonts: DiagramFonts,
                 label_sizes: dict[str, QSizeF], trunk_x: dict[str, float]):
        super().__init__(items, edges, fonts)
        self.label_sizes = label_sizes
        self.trunk_x = trunk_x
        self.labels: dict[str, _Label] = {}     # by target item id (one per merge)
        self.edge_labels: list[_Label] = []     # per-edge labels (prefix ops on a fan-out)
        self.notes: list[_Label] = []           # "identity" on residual shortcuts
        self._route()

    def _obstacles(self, exclude: set[str]) -> list[QRectF]:
        rects = [rect.adjusted(-4, -4, 4, 4) for item in self.items.values()
                 if item.id not in exclude for rect in (item.box_rect(), item.text_rect())]
        rects.extend(label.rect for key, label in self.labels.items() if key not in exclude)
        rects.extend(label.rect for label in self.edge_labels)
        return rects

    def _route(self) -> None:
        # Labels first: they sit on the last, horizontal piece of each arrow.
        merge_trunk: dict[str, float] = {}
        for edge in self.edges:
            source, target = self.items[edge.source], self.items[edge.target]
            size = self.label_sizes[f"{edge.source}->{edge.target}"]
            lines = self.fonts.label_lines(edge.prefix + target.parts)
            if target.column <= source.column:
                continue  # a cycle: drawn, not labelled
            if self._is_merge(target.id):
                if target.id in self.labels:
                    continue
                start = target.left - size.width() - ARROW_SIZE - 4
                merge_trunk[target.id] = start
            elif abs(source.cy - target.cy) > 0.5 and source.id in self.trunk_x:
                start = self.trunk_x[source.id]
            else:
                start = source.right
            end = target.left - ARROW_SIZE
            centre = max(start + size.width() / 2, (start + end) / 2)
            rect = QRectF(centre - size.width() / 2, target.cy - 3 - size.height(),
                          size.width(), size.height())
            label = _Label(lines=lines, rect=rect)
            if self._is_merge(target.id):
                self.labels[target.id] = label
            else:
                self.edge_labels.append(label)

        self.lanes: list[tuple[float, float, float]] = []
        for edge in self.edges:
            source, target = self.items[edge.source], self.items[edge.target]
            start = QPointF(source.right, source.cy)
            end = QPointF(target.left, target.cy)
            if target.column <= source.column:
                edge.points = self._lane_path(source, target, start, end,
                                              source.right + TRUNK_MARGIN, target.left - TRUNK_MARGIN)
                continue
            if self._is_merge(target.id):
                trunk = merge_trunk[target.id]
                if self._clear(start.y(), source.right, trunk, {source.id, target.id}):
                    edge.points = [start, QPointF(trunk, source.cy), QPointF(trunk, target.cy), end]
                else:
                    exit_x = self.trunk_x.get(source.id, source.right + TRUNK_MARGIN)
                    edge.points = self._lane_path(source, target, start, end, exit_x, trunk)
                    if target.type == "Add":
                        self._note_on_lane("identity", edge.points)
            elif abs(source.cy - target.cy) > 0.5:
                trunk = self.trunk_x.get(source.id, source.right + TRUNK_MARGIN)
                edge.points = [start, QPointF(trunk, source.cy), QPointF(trunk, target.cy), end]
            else:
                edge.points = [start, end]
                edge.kernel = (target.type in WINDOWED and source.kind == "box"
                               and len(self._outgoing(source.id)) == 1)
            edge.points = _dedupe(edge.points)

    def _note_on_lane(self, text: str, points: list[QPointF]) -> None:
        """A word on the longest horizontal piece of a shortcut, on its outer side."""
        pieces = [(a, b) for a, b in zip(points, points[1:]) if abs(a.y() - b.y()) < 0.01]
        if not pieces:
            return
        a, b = max(pieces, key=lambda piece: abs(piece[1].x() - piece[0].x()))
        metrics = QFontMetricsF(self.fonts.note_font)
        width, height = metrics.horizontalAdvance(text) + 8, metrics.height()
        if width > abs(b.x() - a.x()) - 16:
            return
        outer_up = a.y() <= min(points[0].y(), points[-1].y())
        top = a.y() - height - 1 if outer_up else a.y() + 1
        self.notes.append(_Label([text], QRectF((a.x() + b.x() - width) / 2, top, width, height)))

    def _clear(self, y: float, x0: float, x1: float, exclude: set[str]) -> bool:
        for rect in self._obstacles(exclude):
            if rect.top() < y < rect.bottom() and rect.left() < x1 and rect.right() > x0:
                return False
        return True

    def _lane_path(self, source: _Item, target: _Item, start: QPointF, end: QPointF,
                   exit_x: float, entry_x: float) -> list[QPointF]:
        low, high = min(exit_x, entry_x), max(exit_x, entry_x)
        blocking = [r for r in self._obstacles({source.id, target.id})
                    if r.left() < high and r.right() > low]
        blocking += [source.rect(), target.rect()] if target.column <= source.column else []
        top = min((r.top() for r in blocking), default=min(start.y(), end.y())) - LANE_GAP
        bottom = max((r.bottom() for r in blocking), default=max(start.y(), end.y())) + LANE_GAP
        above = abs(start.y() - top) + abs(end.y() - top)
        below = abs(start.y() - bottom) + abs(end.y() - bottom)
        going_up = above <= below
        lane = top if going_up else bottom
        # Keep apart from lanes already used over the same stretch.
        moved = True
        while moved:
            moved = False
            for lo, hi, y in self.lanes:
                if lo < high and hi > low and abs(y - lane) < 8:
                    lane = y - 10 if going_up else y + 10
                    moved = True
        self.lanes.append((low, high, lane))
        return _dedupe([start, QPointF(exit_x, start.y()), QPointF(exit_x, lane),
                        QPointF(entry_x, lane), QPointF(entry_x, end.y()), end])
