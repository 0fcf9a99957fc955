"""What the canvas draws for blocks: cards with ports (and the shape of the tensor leaving
each output), and composite (group) frames or collapsed cards. Connections: edges.py."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QGuiApplication, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem

from desktop.style import ERROR_COLOR, WARNING_COLOR, category_color, is_dark_theme
from engine.graph.layout import CARD_SIZE

CARD_WIDTH, CARD_HEIGHT = CARD_SIZE  # the engine places blocks for this footprint
HEADER_HEIGHT = 26.0
PORT_RADIUS = 6.0
FULL_DETAIL_ZOOM = 0.7  # below this the card's small print is unreadable: draw name + shape big
PORT_ZOOM = 0.3         # below this ports are too small to grab: not drawn
LEGIBLE_PX = 11.0       # the on-screen text size the simplified card keeps
MIN_TEXT_PX = 5.0       # smaller than this (the minimap) a card is a coloured box
LABEL_HEIGHT = 15.0     # the output's shape label beside the connection stub


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
        if option.levelOfDetailFromTransform(painter.worldTransform()) < PORT_ZOOM:
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
        self.tooltip = ""
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
        self.tooltip = tooltip  # handed to Qt on hover: setToolTip on 1,000 cards per edit is slow
        if len(self.input_ports) != input_count:
            self._set_input_count(input_count)
        if self.output_port.isVisible() != has_output:
            self.output_port.setVisible(has_output)
        if changed:
            self.update()

    def hoverEnterEvent(self, event):  # noqa: N802 - Qt API
        if self.toolTip() != self.tooltip:
            self.setToolTip(self.tooltip)
        super().hoverEnterEvent(event)

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

    def set_connected(self, output: bool, inputs: set[int]) -> None:
        """Filled ports (and the output's shape label) for the ports that have connections."""
        if output != self.output_port.connected:
            self.output_port.connected = output
            self.update()
        for port in self.input_ports:
            if (port.index in inputs) != port.connected:
                port.connected = port.index in inputs
                port.update()

    def input_port(self, index: int) -> PortItem | None:
        return self.input_ports[index] if 0 <= index < len(self.input_ports) else None

    # -- drawing ---------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        # The card, its badge and ports, and the shape label beside the output stub.
        return QRectF(-12, -12, CARD_WIDTH + 110, CARD_HEIGHT + 12 + LABEL_HEIGHT + 8)

    def shape(self) -> QPainterPath:
        """Clicks hit the card itself, not the label area around it."""
        path = QPainterPath()
        path.addRect(QRectF(-2, -2, CARD_WIDTH + 4, CARD_HEIGHT + 4))
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < FULL_DETAIL_ZOOM:
            self._paint_simple(painter, lod)
            return
        theme = _theme()
        card = QRectF(0, 0, CARD_WIDTH, CARD_HEIGHT)
        color = category_color(self.category)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self._outline(color), 3 if (self.severity or self.isSelected()) else 1.5))
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
        self._paint_output_label(painter, base, theme)
        if self.severity:
            self._paint_badge(painter, bold)

    def _outline(self, color: QColor) -> QColor:
        if self.isSelected():
            return _theme()["selection"]
        if self.severity:
            return QColor(ERROR_COLOR if self.severity == "error" else WARNING_COLOR)
        return color.darker(130)

    def _paint_simple(self, painter: QPainter, lod: float) -> None:
        """Zoomed out: the name and output shape in type that stays legible on screen,
        on the category colour (never an unlabeled box while text can be read)."""
        card = QRectF(0, 0, CARD_WIDTH, CARD_HEIGHT)
        color = category_color(self.category)
        name_px = simple_name_px(lod)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(color)
        emphasised = self.isSelected() or self.severity
        painter.setPen(QPen(self._outline(color), (4 if emphasised else 1.5) / max(lod, 0.2)))
        painter.drawRoundedRect(card, 8, 8)
        if name_px * lod < MIN_TEXT_PX:
            return
        name_font = QFont(painter.font())
        name_font.setBold(True)
        name_font.setPixelSize(round(name_px))
        inner_width = CARD_WIDTH - 16
        wide = QFontMetricsF(name_font).horizontalAdvance(self.title)
        if wide > inner_width:  # a long name shrinks (never below 8.5 px on screen) before eliding
            name_px = max(8.5 / max(lod, 1e-3), name_px * inner_width / wide)
            name_font.setPixelSize(round(name_px))
        shape_font = QFont(painter.font())
        shape_font.setPixelSize(round(max(8.5 / max(lod, 1e-3), simple_name_px(lod) * 0.85)))
        inner = card.adjusted(8, 4, -8, -4)
        painter.setPen(QColor("#FFFFFF"))
        painter.setFont(name_font)
        half = inner.height() * 0.52
        painter.drawText(QRectF(inner.left(), inner.top(), inner.width(), half),
                         Qt.AlignmentFlag.AlignCenter, _elide(name_font, self.title, inner.width()))
        painter.setFont(shape_font)
        painter.drawText(QRectF(inner.left(), inner.top() + half, inner.width(), inner.height() - half),
                         Qt.AlignmentFlag.AlignCenter, _elide(shape_font, self.shape_text, inner.width()))

    def output_label_rect(self) -> QRectF:
        """Where the shape leaving the output is written: beside the stub, clear of the
        connection's bends (see engine/graph/routing.py's STUB)."""
        width = QFontMetricsF(QFont()).horizontalAdvance(self.shape_text) + 10
        port = self.output_port.pos()
        if self.vertical:
            return QRectF(port.x() + 6, port.y() + 2, width, LABEL_HEIGHT)
        return QRectF(port.x() + 4, port.y() - 2 - LABEL_HEIGHT, width, LABEL_HEIGHT)

    def _paint_output_label(self, painter: QPainter, font: QFont, theme: dict) -> None:
        # One label per output, even when it feeds many blocks: labels never pile up.
        if not (self.output_port.connected and self.output_port.isVisible() and self.shape_text):
            return
        box = self.output_label_rect()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme["label_bg"])
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(theme["muted"])
        painter.setFont(font)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.shape_text)

    def _paint_badge(self, painter: QPainter, bold: QFont) -> None:
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
        # Zoomed out, the name grows so it stays readable (the frame's header has room).
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        font = QFont(painter.font())
        font.setPixelSize(round(min(24.0, max(12.0, LEGIBLE_PX / max(lod, 1e-3)))))
        painter.setFont(font)
        painter.drawText(self.rect.adjusted(12, 4, -12, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                         _elide(font, self.label, self.rect.width() - 24))

    def header_rect(self) -> QRectF:
        return QRectF(self.rect.left(), self.rect.top(), self.rect.width(), 28)


def simple_name_px(lod: float) -> float:
    """The zoomed-out card's name size (scene px): LEGIBLE_PX on screen while it fits."""
    return min(40.0, max(12.0, LEGIBLE_PX / max(lod, 1e-3)))


def _elide(font: QFont, text: str, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width)
