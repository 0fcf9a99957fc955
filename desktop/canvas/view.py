"""GraphView: zoom, pan, fit at a readable zoom, drops from the palette, right-click menus,
and a minimap for big graphs."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsView, QMenu

from desktop.canvas import menus
from desktop.canvas.minimap import Minimap
from desktop.canvas.scene import NEW_BLOCK_OFFSET, GraphScene, snap
from desktop.style import MIME_BLOCK
from engine.blocks.catalog import BLOCKS_BY_TYPE

# Cards keep their name legible down to MIN_ZOOM (items.py draws it larger when zoomed out);
# showing a whole network never goes below READABLE_ZOOM nor above 1.
MIN_ZOOM, MAX_ZOOM = 0.2, 3.0
READABLE_ZOOM, SHOW_MAX_ZOOM = 0.28, 1.0  # at 0.28 a zoomed-out card still shows >= 8.5 px type
MARGIN = 40.0


def payload_of(mime) -> dict | None:
    """The palette's drag payload, or None for anything else."""
    if not mime.hasFormat(MIME_BLOCK):
        return None
    try:
        payload = json.loads(bytes(mime.data(MIME_BLOCK)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


class GraphView(QGraphicsView):
    block_dropped = Signal(dict, QPointF, object)  # payload, scene position, EdgeSpec or None

    def __init__(self, scene: GraphScene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setAcceptDrops(True)
        self._panning_from: QPointF | None = None
        self.minimap = Minimap(self)
        scene.nodes_added.connect(self.ensure_visible)
        scene.document.spec_changed.connect(self._fit_scroll_area)  # after the scene's sync
        self._fit_scroll_area()

    # -- zoom and pan ------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self.scale(factor / self.zoom, factor / self.zoom)
        self.minimap.schedule_refresh()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / 1.25)

    def fit(self) -> None:
        """View > Fit: the whole network when it fits at a readable zoom, else its start."""
        self.show_network()

    def show_network(self) -> None:
        """Fit the network at a zoom between READABLE_ZOOM and 1; a network too big for that
        is shown from its input at READABLE_ZOOM (the minimap shows the rest)."""
        rect = self.network_rect()
        if rect.isEmpty():
            return
        self._fit_scroll_area()
        viewport = self.viewport().rect()
        fitting = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        zoom = max(READABLE_ZOOM, min(SHOW_MAX_ZOOM, fitting))
        self.setTransform(QTransform.fromScale(zoom, zoom))
        if fitting >= READABLE_ZOOM:
            self.centerOn(rect.center())
        else:
            self._show_start(rect, zoom)
        self.minimap.schedule_refresh()

    def _show_start(self, rect: QRectF, zoom: float) -> None:
        start = self.scene().block_rect(self._input_id() or "")
        if start.isNull():
            start = rect
        half_w, half_h = self.viewport().width() / zoom / 2, self.viewport().height() / zoom / 2
        if self.scene().vertical:
            x = rect.center().x() if rect.width() <= 2 * half_w else start.center().x()
            self.centerOn(QPointF(x, start.top() - MARGIN + half_h))
        else:
            y = rect.center().y() if rect.height() <= 2 * half_h else start.center().y()
            self.centerOn(QPointF(start.left() - MARGIN + half_w, y))

    def _input_id(self) -> str | None:
        """The network's first input: the input block nearest the top (or left)."""
        spec = self.scene().document.spec
        inputs = [n.id for n in spec.nodes if BLOCKS_BY_TYPE[n.type].max_inputs == 0] or \
            [n.id for n in spec.nodes if not spec.incoming(n.id)]
        flow = 1 if self.scene().vertical else 0
        rects = {n: self.scene().block_rect(n) for n in inputs}
        return min(inputs, key=lambda n: rects[n].topLeft().toTuple()[flow], default=None)

    def network_rect(self, margin: float = MARGIN) -> QRectF:
        """The cards (not the labels and frames around them), with a margin."""
        bounds = self.scene().edge_layer.cards_rect()
        if bounds is None:
            return QRectF()
        return QRectF(QPointF(bounds[0], bounds[1]), QPointF(bounds[2], bounds[3])).adjusted(
            -margin, -margin, margin, margin)

    def _fit_scroll_area(self) -> None:
        """Scroll as far as the network reaches, plus room to centre any corner of it: the
        scene's own rect only ever grows, which would pin a re-laid-out network to a corner."""
        rect = self.network_rect()
        if rect.isNull():
            return
        room = max(2000.0, self.viewport().width() / self.zoom, self.viewport().height() / self.zoom)
        self.setSceneRect(rect.adjusted(-room, -room, room, room))

    def ensure_visible(self, node_ids: list[str]) -> None:
        """Scroll (zooming out down to READABLE_ZOOM if needed) so these blocks are in view."""
        rect = QRectF()
        for node_id in node_ids:
            rect = rect.united(self.scene().block_rect(node_id))
        if rect.isNull():
            return
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if visible.contains(rect):
            return
        viewport = self.viewport().rect()
        needed = min(viewport.width() / (rect.width() + 2 * MARGIN), viewport.height() / (rect.height() + 2 * MARGIN))
        if needed < self.zoom:
            zoom = max(READABLE_ZOOM, needed)
            self.setTransform(QTransform.fromScale(zoom, zoom))
        self.ensureVisible(rect, int(MARGIN), int(MARGIN))
        self.minimap.schedule_refresh()

    def auto_layout(self, direction: str | None = None) -> None:
        """Lay the network out again (one undo step) and show it."""
        if self.scene().auto_layout(direction):
            self.show_network()

    def add_block_in_view(self, payload: dict) -> bool:
        """A palette double-click: the block goes at (or near) the middle of the view."""
        return self.scene().add_block(payload, self.view_centre() - NEW_BLOCK_OFFSET)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        # The wheel zooms (as in most node editors); with Shift or Alt it scrolls.
        scrolls = event.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier)
        steps = event.angleDelta().y() / 120
        if scrolls or not steps:
            super().wheelEvent(event)
            return
        self.set_zoom(self.zoom * (1.15 ** steps))

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.MiddleButton:
            self._panning_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._panning_from is not None:
            delta = event.position() - self._panning_from
            self._panning_from = event.position()
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - delta.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - delta.y()))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._panning_from is not None and event.button() == Qt.MouseButton.MiddleButton:
            self._panning_from = None
            self.unsetCursor()
            return
        super().mouseReleaseEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt API
        super().scrollContentsBy(dx, dy)
        self.minimap.schedule_refresh()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.minimap.place()

    def centre_on_rect(self, rect: QRectF) -> None:
        self.centerOn(rect.center())
        self.minimap.schedule_refresh()

    def view_centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    # -- right-click menus -------------------------------------------------------------------
    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt API
        menu = self.context_menu_at(self.mapToScene(event.pos()))
        if menu is not None:
            menu.exec(event.globalPos())

    def context_menu_at(self, point: QPointF) -> QMenu:
        """The menu for what is at `point`: a block, a connection or the canvas."""
        scene = self.scene()
        block = scene.block_at(point)
        if block is not None:
            if not block.isSelected():
                scene.clearSelection()
                block.setSelected(True)
            return menus.block_menu(self, block)
        edge = scene.edge_at(point)
        if edge is not None:
            return menus.edge_menu(self, edge)
        return menus.background_menu(self, point)

    # -- drops from the palette ----------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if payload_of(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if payload_of(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        payload = payload_of(event.mimeData())
        if payload is None:
            event.ignore()
            return
        point = self.mapToScene(event.position().toPoint())
        edge = self.scene().edge_at(point)
        self.block_dropped.emit(payload, snap(point - NEW_BLOCK_OFFSET), edge)
        event.acceptProposedAction()
