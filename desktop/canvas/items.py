"""What the canvas draws: block cards with ports, connections with shape labels, and
composite (group) frames or collapsed cards."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QGuiApplication, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem, QStyleOptionGraphicsItem

from desktop.style import ERROR_COLOR, WARNING_COLOR, category_color, is_dark_theme

CARD_WIDTH = 200.0
DETAIL_ZOOM = 0.35  # below this scale (the minimap, zoomed far out) cards are plain boxes
CARD_HEIGHT = 92.0
HEADER_HEIGHT = 26.0
PORT_RADIUS = 6.0


_theme_cache: dict = {}


def _theme() -> dict:
    """Colours for the current light/dark palette (cached: paint calls this a lot)."""
    key = QGuiApplication.palette().cacheKey()
    if key not in _theme_cache:
        _theme_cache.clear()
        _theme_cache[key] = _make_theme(is_dark_theme())
    return _theme_cache[key]


def _make_theme(dark: bool) -> dict:
    return {
        "card": QColor("#2B2F36" if dark else "#FFFFFF"),
        "text": QColor("#E8EAED" if dark else "#1F2328"),
        "muted": QColor("#A0A7B0" if dark else "#5F6B76"),
        "edge": QColor("#8A94A0" if dark else "#6A737D"),
        "selection": QColor("#4DA3FF"),
        "label_bg": QColor("#202328" if dark else "#FFFFFF"),
    }


class PortItem(QGraphicsItem):
    """A connection point: inputs on a card's left edge, the output on its right edge."""

    def __init__(self, block: BlockItem, is_output: bool, index: int):
        super().__init__(block)
        self.block = block
        self.is_output = is_output
        self.index = index
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.highlighted = False
        self.connected = False

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        r = PORT_RADIUS + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < DETAIL_ZOOM:
            return
        theme = _theme()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = theme["selection"] if self.highlighted else (
            theme["edge"] if self.connected else theme["card"])
        painter.setBrush(QBrush(fill))
        painter.setPen(QPen(theme["edge"], 1.5))
        painter.drawEllipse(QPointF(0, 0), PORT_RADIUS, PORT_RADIUS)

    def hoverEnterEvent(self, event):  # noqa: N802 - Qt API
        self.highlighted = True
        self.update()

    def hoverLeaveEvent(self, event):  # noqa: N802 - Qt API
        self.highlighted = False
        self.update()

    @property
    def node_id(self) -> str:
        return self.block.node_id


class BlockItem(QGraphicsObject):
    """A block card: name, type, key parameters, output shape and parameter count,
    coloured by category, outlined red/amber when it has errors/warnings."""

    def __init__(self, node_id: str):
        super().__init__()
        self.node_id = node_id
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.title = ""
        self.type_label = ""
        self.summary = ""
        self.shape_text = ""
        self.params_text = ""
        self.category = ""
        self.severity: str | None = None
        self.problem_count = 0
        self.tooltip_lines: list[str] = []
        self.output_port = PortItem(self, True, 0)
        self.input_ports: list[PortItem] = []
        self.vertical = True  # data flows top-down: inputs on top, output at the bottom
        self.on_moved = None  # set by the scene: keeps connections attached while dragging

    # -- content ---------------------------------------------------------------------------
    def set_content(self, *, title, type_label, summary, shape_text, params_text, category,
                    severity, problem_count, input_count, has_output, tooltip) -> None:
        changed = (title, type_label, summary, shape_text, params_text, category, severity,
                   problem_count) != (self.title, self.type_label, self.summary, self.shape_text,
                                      self.params_text, self.category, self.severity,
                                      self.problem_count)
        self.title, self.type_label, self.summary = title, type_label, summary
        self.shape_text, self.params_text, self.category = shape_text, params_text, category
        self.severity, self.problem_count = severity, problem_count
        self.setToolTip(tooltip)
        self._set_input_count(input_count)
        self.output_port.setVisible(has_output)
        if changed:
            self.update()

    def set_vertical(self, vertical: bool) -> None:
        self.vertical = vertical
        self._place_ports()

    def _set_input_count(self, count: int) -> None:
        while len(self.input_ports) < count:
            self.input_ports.append(PortItem(self, False, len(self.input_ports)))
        while len(self.input_ports) > count:
            port = self.input_ports.pop()
            port.setParentItem(None)
            if port.scene():
                port.scene().removeItem(port)
        self._place_ports()

    def _place_ports(self) -> None:
        """Inputs on the side data comes from, the output on the opposite side."""
        count = len(self.input_ports)
        for index, port in enumerate(self.input_ports):
            fraction = (index + 1) / (count + 1)
            port.setPos(CARD_WIDTH * fraction, 0) if self.vertical else port.setPos(0, CARD_HEIGHT * fraction)
        self.output_port.setPos(CARD_WIDTH / 2, CARD_HEIGHT) if self.vertical \
            else self.output_port.setPos(CARD_WIDTH, CARD_HEIGHT / 2)

    def input_port(self, index: int) -> PortItem | None:
        return self.input_ports[index] if 0 <= index < len(self.input_ports) else None

    # -- drawing ---------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return QRectF(-4, -12, CARD_WIDTH + 16, CARD_HEIGHT + 16)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        theme = _theme()
        card = QRectF(0, 0, CARD_WIDTH, CARD_HEIGHT)
        color = category_color(self.category)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < DETAIL_ZOOM:
            painter.fillRect(card, color)  # far away, text would be unreadable anyway
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        outline = QColor(ERROR_COLOR if self.severity == "error" else WARNING_COLOR) \
            if self.severity else color.darker(130)
        if self.isSelected():
            outline = theme["selection"]
        painter.setPen(QPen(outline, 3 if (self.severity or self.isSelected()) else 1.5))
        painter.setBrush(QBrush(theme["card"]))
        painter.drawRoundedRect(card, 8, 8)

        header = QPainterPath()
        header.addRoundedRect(QRectF(1.5, 1.5, CARD_WIDTH - 3, HEADER_HEIGHT), 7, 7)
        header.addRect(QRectF(1.5, HEADER_HEIGHT - 6, CARD_WIDTH - 3, 6))
        painter.fillPath(header.simplified(), color)

        base = QFont(painter.font())
        bold = QFont(base)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(QColor("#FFFFFF"))
        title_rect = QRectF(8, 1.5, CARD_WIDTH - 16, HEADER_HEIGHT)
        type_width = QFontMetricsF(base).horizontalAdvance(self.type_label) + 6
        painter.drawText(title_rect.adjusted(0, 0, -type_width, 0),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         _elide(bold, self.title, title_rect.width() - type_width))
        painter.setFont(base)
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                         self.type_label)

        painter.setPen(theme["text"])
        body = QRectF(10, HEADER_HEIGHT + 4, CARD_WIDTH - 20, 20)
        painter.drawText(body, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(base, self.summary, body.width()))
        painter.drawText(body.translated(0, 20), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(base, f"→ {self.shape_text}", body.width()))
        painter.setPen(theme["muted"])
        painter.drawText(body.translated(0, 40), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         _elide(base, self.params_text, body.width()))

        if self.severity:
            badge = QRectF(CARD_WIDTH - 14, -10, 22, 22)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(ERROR_COLOR if self.severity == "error" else WARNING_COLOR))
            painter.drawEllipse(badge)
            painter.setPen(QColor("#FFFFFF"))
            painter.setFont(bold)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter,
                             "!" if self.problem_count <= 1 else str(min(self.problem_count, 9)))

    def itemChange(self, change, value):  # noqa: N802 - Qt API
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged and self.on_moved:
            self.on_moved(self)
        return super().itemChange(change, value)

    def output_anchor(self) -> QPointF:
        return self.mapToScene(self.output_port.pos())

    def input_anchor(self, index: int) -> QPointF:
        port = self.input_port(index)
        if port is None:
            return self.mapToScene(QPointF(CARD_WIDTH / 2, 0) if self.vertical else QPointF(0, CARD_HEIGHT / 2))
        return self.mapToScene(port.pos())


class GroupCardItem(BlockItem):
    """A collapsed composite: one card standing for all its blocks."""

    def __init__(self, group_id: str):
        super().__init__(node_id=f"group:{group_id}")
        self.group_id = group_id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, False)

    def input_anchor(self, index: int) -> QPointF:
        return self.mapToScene(QPointF(CARD_WIDTH / 2, 0) if self.vertical else QPointF(0, CARD_HEIGHT / 2))


class GroupFrameItem(QGraphicsItem):
    """The frame drawn behind an expanded composite's blocks, with its name."""

    def __init__(self, group_id: str):
        super().__init__()
        self.group_id = group_id
        self.rect = QRectF()
        self.label = ""
        self.setZValue(-2)

    def set_frame(self, rect: QRectF, label: str) -> None:
        self.prepareGeometryChange()
        self.rect = rect.adjusted(-16, -34, 16, 16)
        self.label = label
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self.rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        color = category_color("Composite")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(color)
        fill.setAlpha(28)
        painter.setBrush(fill)
        painter.setPen(QPen(color, 1.5, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(self.rect, 12, 12)
        painter.setPen(color)
        painter.drawText(self.rect.adjusted(12, 6, -12, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                         self.label)

    def header_rect(self) -> QRectF:
        return QRectF(self.rect.left(), self.rect.top(), self.rect.width(), 28)


class EdgeItem(QGraphicsPathItem):
    """A connection, drawn as a curve from an output port to an input port, labelled with
    the shape of the tensor flowing through it."""

    def __init__(self, edge):
        super().__init__()
        self.edge = edge
        self.label = ""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        self._start = QPointF()
        self._end = QPointF()
        self.vertical = True

    def set_ends(self, start: QPointF, end: QPointF, vertical: bool) -> None:
        self._start, self._end, self.vertical = start, end, vertical
        self.setPath(connection_path(start, end, vertical))

    def set_label(self, label: str) -> None:
        if label != self.label:
            self.label = label
            self.update()

    def shape(self) -> QPainterPath:
        from PySide6.QtGui import QPainterPathStroker

        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return super().boundingRect().adjusted(-60, -20, 60, 20)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        theme = _theme()
        color = theme["selection"] if self.isSelected() else theme["edge"]
        if option.levelOfDetailFromTransform(painter.worldTransform()) < DETAIL_ZOOM:
            painter.setPen(QPen(color, 0))
            painter.drawPath(self.path())
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 2.5 if self.isSelected() else 1.8))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        self._draw_arrow(painter, color)
        if self.label:
            middle = self.path().pointAtPercent(0.5)
            metrics = QFontMetricsF(painter.font())
            width = metrics.horizontalAdvance(self.label) + 10
            box = QRectF(middle.x() - width / 2, middle.y() - 10, width, 20)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme["label_bg"])
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(theme["muted"])
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.label)

    def _draw_arrow(self, painter: QPainter, color: QColor) -> None:
        end = self._end
        head = QPainterPath(end)
        back, side = (QPointF(0, -9), QPointF(5, 0)) if self.vertical else (QPointF(-9, 0), QPointF(0, 5))
        head.lineTo(end + back - side)
        head.lineTo(end + back + side)
        head.closeSubpath()
        painter.fillPath(head, color)


SKIP_BULGE = CARD_WIDTH * 1.3  # how far a connection that skips blocks bows out to the side


def connection_path(start: QPointF, end: QPointF, vertical: bool) -> QPainterPath:
    """A smooth curve leaving the output and entering the input along the flow direction.

    A connection that jumps over blocks in line with it (a residual shortcut) bows out to
    the side so it is not hidden behind the blocks it skips."""
    path = QPainterPath(start)
    if vertical and end.y() - start.y() > 2 * CARD_HEIGHT and abs(end.x() - start.x()) < CARD_WIDTH:
        third = (end.y() - start.y()) / 3
        path.cubicTo(start + QPointF(SKIP_BULGE, third), end + QPointF(SKIP_BULGE, -third), end)
        return path
    if not vertical and end.x() - start.x() > 2 * CARD_WIDTH and abs(end.y() - start.y()) < CARD_HEIGHT:
        third = (end.x() - start.x()) / 3
        path.cubicTo(start + QPointF(third, -SKIP_BULGE), end + QPointF(-third, -SKIP_BULGE), end)
        return path
    if vertical:
        bend = max(30.0, abs(end.y() - start.y()) / 2)
        path.cubicTo(start + QPointF(0, bend), end - QPointF(0, bend), end)
    else:
        bend = max(40.0, abs(end.x() - start.x()) / 2)
        path.cubicTo(start + QPointF(bend, 0), end - QPointF(bend, 0), end)
    return path


def _elide(font: QFont, text: str, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width)
