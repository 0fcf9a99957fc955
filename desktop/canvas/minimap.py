"""The overview in the canvas' corner: the whole graph, with the part in view outlined;
click or drag in it to move the main view.

It shows a picture of the scene, redrawn a moment after the scene stops changing, rather
than being a second live view: a live view repaints every card of a 1,000-block graph
after each edit, which cost more than the edit itself."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

PADDING = 6.0


class Minimap(QWidget):
    SIZE = (220, 140)

    def __init__(self, main):
        super().__init__(main)
        self.main = main
        self.setFixedSize(*self.SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._picture: QPixmap | None = None
        self._source = QRectF()  # the scene rect the picture shows
        # Deferred through a timer the minimap owns: many changes cost one redraw, and none
        # can run while the window is being torn down.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(250)  # an overview can lag a little; editing must not
        self._refresh_timer.timeout.connect(self.refresh)
        # A bound method, not a lambda: Qt drops the connection when the minimap goes, while
        # the scene (owned by the window) may live on.
        main.scene().changed.connect(self._scene_changed)
        self.hide()  # until the first refresh has drawn the overview
        self.place()

    def place(self) -> None:
        viewport = self.main.viewport().rect()
        self.move(viewport.width() - self.SIZE[0] - 12, viewport.height() - self.SIZE[1] - 12)
        self.schedule_refresh()

    def _scene_changed(self, _regions) -> None:
        self.schedule_refresh()

    def schedule_refresh(self) -> None:
        self._refresh_timer.start()
        self.update()  # the outline of the view follows at once; the picture a moment later

    def refresh(self) -> None:
        scene = self.main.scene()
        if scene is None:  # the scene went first, while the window closes
            return
        bounds = self.main.network_rect()
        visible = self._visible()
        cards = self.main.network_rect(margin=0.0)  # the margin around them may be off-screen
        show = not bounds.isEmpty() and not visible.contains(cards)
        self.setVisible(show)
        if not show:
            return
        target = QRectF(self.rect()).adjusted(PADDING, PADDING, -PADDING, -PADDING)
        scale = min(target.width() / bounds.width(), target.height() / bounds.height())
        size = QPointF(target.width() / scale, target.height() / scale)
        self._source = QRectF(bounds.center() - size / 2, bounds.center() + size / 2)
        ratio = self.devicePixelRatioF()
        picture = QPixmap(int(self.width() * ratio), int(self.height() * ratio))
        picture.setDevicePixelRatio(ratio)
        picture.fill(Qt.GlobalColor.transparent)
        painter = QPainter(picture)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        scene.render(painter, target, self._source)
        painter.end()
        self._picture = picture
        self.update()

    def _visible(self) -> QRectF:
        return self.main.mapToScene(self.main.viewport().rect()).boundingRect()

    def _to_widget(self, rect: QRectF) -> QRectF:
        target = QRectF(self.rect()).adjusted(PADDING, PADDING, -PADDING, -PADDING)
        scale = target.width() / max(self._source.width(), 1e-6)
        return QRectF(target.topLeft() + (rect.topLeft() - self._source.topLeft()) * scale,
                      rect.size() * scale)

    def _to_scene(self, point: QPointF) -> QPointF:
        target = QRectF(self.rect()).adjusted(PADDING, PADDING, -PADDING, -PADDING)
        scale = target.width() / max(self._source.width(), 1e-6)
        return self._source.topLeft() + (point - target.topLeft()) / scale

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        background = self.palette().base().color()
        background.setAlpha(235)
        painter.setPen(QPen(QColor(128, 128, 128, 160), 1))
        painter.setBrush(background)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        if self._picture is None or self._source.isEmpty():
            return
        painter.drawPixmap(0, 0, self._picture)
        fill = QColor("#4DA3FF")
        fill.setAlpha(40)
        painter.setPen(QPen(QColor("#4DA3FF"), 2))
        painter.setBrush(fill)
        painter.drawRect(self._to_widget(self._visible()).intersected(QRectF(self.rect())))

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.main.centerOn(self._to_scene(event.position()))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.buttons():
            self.main.centerOn(self._to_scene(event.position()))
