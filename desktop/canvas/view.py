"""GraphView: zoom, pan, fit, drops from the palette, and a minimap for big graphs."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from desktop.canvas.scene import NEW_BLOCK_OFFSET, GraphScene, snap
from desktop.style import MIME_BLOCK

MIN_ZOOM, MAX_ZOOM = 0.1, 3.0
READABLE_ZOOM = 0.75  # below this the card text gets hard to read


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
        rect = self.scene().itemsBoundingRect().adjusted(-40, -40, 40, 40)
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.0:
            self.set_zoom(1.0)
        self.minimap.schedule_refresh()

    def show_network(self) -> None:
        """Fit the whole network, but never below a readable zoom: a big network then starts
        at its input, and the minimap shows the rest."""
        self.fit()
        if self.zoom < READABLE_ZOOM:
            self.set_zoom(READABLE_ZOOM)
            top = self.scene().itemsBoundingRect().topLeft()
            visible = self.mapToScene(self.viewport().rect()).boundingRect()
            self.centerOn(QPointF(self.scene().itemsBoundingRect().center().x(),
                                  top.y() + visible.height() / 2 - 40))
        self.minimap.schedule_refresh()

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


class Minimap(QGraphicsView):
    """An overview of the whole graph in the corner; click or drag to move the main view."""

    SIZE = (220, 140)

    def __init__(self, main: GraphView):
        super().__init__(main.scene(), main)
        self.main = main
        self.setInteractive(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHints(QPainter.RenderHint.Antialiasing)
        self.setStyleSheet("border: 1px solid rgba(128, 128, 128, 160); border-radius: 4px;")
        self.setFixedSize(*self.SIZE)
        # Refreshes are deferred through a timer the minimap owns: many changes cost one
        # refresh, and none can run while the window is being torn down.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(250)  # an overview can lag a little; editing must not
        self._refresh_timer.timeout.connect(self.refresh)
        main.scene().changed.connect(self._scene_changed)
        self.hide()  # until the first refresh has fitted the overview
        self.place()

    def place(self) -> None:
        viewport = self.main.viewport().rect()
        self.move(viewport.width() - self.SIZE[0] - 12, viewport.height() - self.SIZE[1] - 12)
        self.schedule_refresh()

    def _scene_changed(self, regions) -> None:
        self.schedule_refresh()

    def schedule_refresh(self) -> None:
        self._refresh_timer.start()

    def refresh(self) -> None:
        bounds = self.scene().itemsBoundingRect()
        visible = self.main.mapToScene(self.main.viewport().rect()).boundingRect()
        # Only worth showing when the graph does not fit in the view.
        show = not bounds.isEmpty() and not visible.contains(bounds)
        self.setVisible(show)
        if show:
            self.fitInView(bounds.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
            self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 - Qt API
        visible = self.main.mapToScene(self.main.viewport().rect()).boundingRect()
        painter.setPen(QPen(QColor("#4DA3FF"), 2 / max(self.transform().m11(), 1e-3)))
        fill = QColor("#4DA3FF")
        fill.setAlpha(40)
        painter.setBrush(fill)
        painter.drawRect(visible)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.main.centerOn(self.mapToScene(event.position().toPoint()))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.buttons():
            self.main.centerOn(self.mapToScene(event.position().toPoint()))
