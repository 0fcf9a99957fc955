"""GraphScene: mirrors the document's spec into canvas items and turns gestures and menu
commands (move, connect, delete, add, paste) into engine edits on the document.

After an edit only what changed is touched: the spec is immutable, so an unchanged block
is the very same NodeSpec object, and its card, ports and connections are left alone.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPen, QTransform
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from desktop.canvas.cards import CardContent
from desktop.canvas.commands import SceneCommands
from desktop.canvas.edges import EdgeItem, EdgeLayer, wire_path
from desktop.canvas.items import (CARD_HEIGHT, CARD_WIDTH, BlockItem, GroupCardItem, GroupFrameItem,
                                  PortItem, _theme)
from desktop.document import ProjectDocument
from desktop.style import GRID_SIZE
from engine.graph.edits import MoveNodes
from engine.graph.layout import flow_direction, layered_positions
from engine.graph.spec import EdgeSpec, NetworkSpec

NEW_BLOCK_OFFSET = QPointF(CARD_WIDTH / 2, CARD_HEIGHT / 2)


def snap(point: QPointF) -> QPointF:
    return QPointF(round(point.x() / GRID_SIZE) * GRID_SIZE, round(point.y() / GRID_SIZE) * GRID_SIZE)


class GraphScene(SceneCommands, QGraphicsScene):
    status_message = Signal(str)
    nodes_added = Signal(list)              # ids of blocks an edit added (the view shows them)
    analyze_requested = Signal(str)         # a block's "Show in Analyze" menu item
    feature_maps_requested = Signal(str)    # a block's "Feature maps for this layer" menu item

    def __init__(self, document: ProjectDocument, parent=None):
        super().__init__(parent)
        self.document = document
        self.blocks: dict[str, BlockItem] = {}
        self.group_cards: dict[str, GroupCardItem] = {}
        self.group_frames: dict[str, GroupFrameItem] = {}
        self.edge_layer = EdgeLayer(self, self._visible_item_for)
        self.content = CardContent(document)
        self.direction = "TB"
        self._fallback_positions: dict[str, tuple[float, float]] = {}
        self._shown_spec: NetworkSpec | None = None
        self._syncing = False
        self._pending_wire: QGraphicsPathItem | None = None
        self._wire_source: PortItem | None = None
        self._press_positions: dict[str, QPointF] = {}
        document.spec_changed.connect(self.sync)
        self.sync()

    @property
    def edges(self) -> dict[EdgeSpec, EdgeItem]:
        return self.edge_layer.items

    @property
    def vertical(self) -> bool:
        return self.direction == "TB"

    # -- mirroring the spec ----------------------------------------------------------------
    def sync(self) -> None:
        spec = self.document.spec
        fresh = self._is_new_document(spec)
        if fresh:
            self._fallback_positions.clear()
        self._ensure_positions(spec)
        self._syncing = True
        try:
            if fresh:
                self.direction = flow_direction(spec, self._positions(spec))
                self.edge_layer.reset(self.direction)
                self.content.reset()
            changed, added = self._sync_blocks(spec)
            if fresh:
                changed |= set(spec.node_ids)
            if fresh or spec.groups or (self._shown_spec and self._shown_spec.groups):
                self._sync_groups(spec)
            space = self.edge_layer.update_cards(
                {**{n: self._visible_item_for(n) for n in changed},
                 **{f"group:{g}": card for g, card in self.group_cards.items()}})
            rewired = self.edge_layer.sync(spec.edges, changed, space)
            self._sync_ports(spec, {n for e in rewired for n in (e.source[0], e.target[0])} | added)
        finally:
            self._syncing = False
            self._shown_spec = spec
        if added and not fresh:
            self.nodes_added.emit([n for n in spec.node_ids if n in added])

    def _is_new_document(self, spec: NetworkSpec) -> bool:
        """A document opened or made from a template, not an edit of the shown one: its
        history starts empty and it shares no block object with the shown spec (edits
        keep every block they do not change as the same object)."""
        shown = self._shown_spec
        if shown is None:
            return True
        if self.document.undo_stack.count() or spec is shown:
            return False
        before = {id(node) for node in shown.nodes}
        return not any(id(node) in before for node in spec.nodes)

    def _sync_blocks(self, spec: NetworkSpec) -> tuple[set[str], set[str]]:
        """(blocks whose card changed place or visibility, blocks added)."""
        for node_id in [n for n in self.blocks if not spec.has_node(n)]:
            self.removeItem(self.blocks.pop(node_id))
        changed, added = set(), set()
        hidden = {n for g in spec.groups if g.collapsed for n in g.node_ids}
        contents = self.content.for_spec(spec)
        shown = self._shown_spec
        # Same layout and groups objects: no card moved or hid (only new cards need placing).
        placed = shown is not None and spec.layout is shown.layout and spec.groups is shown.groups
        for node in spec.nodes:
            item = self.blocks.get(node.id)
            if item is None:
                item = BlockItem(node.id)
                item.on_moved = self._block_moved
                item.set_vertical(self.vertical)
                self.blocks[node.id] = item
                self.addItem(item)
                added.add(node.id)
            content = contents.get(node.id)
            if content is not None:  # None: the same as shown
                item.set_content(**content)
            if placed and node.id not in added:
                continue
            if item.vertical != self.vertical:
                item.set_vertical(self.vertical)
            position = self._position(spec, node.id)
            visible = node.id not in hidden
            if item.pos() != position or item.isVisible() != visible or node.id in added:
                item.setPos(position)
                item.setVisible(visible)
                changed.add(node.id)
        return changed | {n for n in (self._shown_spec.node_ids if self._shown_spec else ())
                          if not spec.has_node(n)}, added

    def _sync_ports(self, spec: NetworkSpec, node_ids: set[str]) -> None:
        for node_id in node_ids:
            item = self.blocks.get(node_id)
            if item is not None:
                item.set_connected(bool(spec.outgoing(node_id)), {e.target[1] for e in spec.incoming(node_id)})

    def _ensure_positions(self, spec: NetworkSpec) -> None:
        """Blocks without a saved position get one from the automatic layout (not an edit)."""
        missing = [n for n in spec.node_ids if n not in spec.layout and n not in self._fallback_positions]
        if missing:
            automatic = layered_positions(spec, self.direction)
            for node_id in missing:
                self._fallback_positions[node_id] = automatic[node_id]

    def _positions(self, spec: NetworkSpec) -> dict[str, tuple[float, float]]:
        return {n: spec.layout.get(n) or self._fallback_positions.get(n, (0.0, 0.0)) for n in spec.node_ids}

    def _position(self, spec: NetworkSpec, node_id: str) -> QPointF:
        x, y = spec.layout.get(node_id) or self._fallback_positions.get(node_id, (0.0, 0.0))
        return QPointF(x, y)

    def _set_direction(self, direction: str) -> None:
        """Ports go top/bottom ("TB") or left/right ("LR"): the layout's direction, kept
        until the next auto-layout or document, not re-decided per connection."""
        self.direction = direction
        for item in [*self.blocks.values(), *self.group_cards.values()]:
            if item.vertical != self.vertical:
                item.set_vertical(self.vertical)
        self.edge_layer.set_direction(direction)

    def _sync_groups(self, spec: NetworkSpec) -> None:
        alive = {g.id for g in spec.groups}
        for group_id in [g for g in self.group_cards if g not in alive]:
            self.removeItem(self.group_cards.pop(group_id))
        for group_id in [g for g in self.group_frames if g not in alive]:
            self.removeItem(self.group_frames.pop(group_id))
        for group in spec.groups:
            frame = self.group_frames.get(group.id)
            if frame is None:
                frame = self.group_frames[group.id] = GroupFrameItem(group.id)
                self.addItem(frame)
            card = self.group_cards.get(group.id)
            if card is None:
                card = self.group_cards[group.id] = GroupCardItem(group.id)
                self.addItem(card)
            bounds = QRectF()
            for item in (self.blocks[n] for n in group.node_ids if n in self.blocks):
                bounds = bounds.united(QRectF(item.pos(), QPointF(item.pos().x() + CARD_WIDTH,
                                                                   item.pos().y() + CARD_HEIGHT)))
            frame.set_frame(bounds, f"{group.name} ({group.kind}) — double-click here to collapse")
            frame.setVisible(not group.collapsed)
            card.set_content(**self.content.group_content(spec, group))
            card.setPos(bounds.topLeft() if not bounds.isNull() else QPointF())
            if card.vertical != self.vertical:
                card.set_vertical(self.vertical)
            card.setVisible(group.collapsed)

    def _visible_item_for(self, node_id: str) -> BlockItem | None:
        group = self.document.spec.group_of(node_id) if self.document.spec.groups else None
        if group is not None and group.collapsed:
            return self.group_cards.get(group.id)
        return self.blocks.get(node_id)

    def _block_moved(self, block: BlockItem) -> None:
        if self._syncing:
            return  # sync re-routes once, after every card is in place
        space = self.edge_layer.update_cards({block.node_id: block})
        self.edge_layer.reroute_near({block.node_id}, space)

    # -- gestures ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802 - Qt API
        port = self._port_at(event.scenePos())
        if port is not None and port.is_output and event.button() == Qt.MouseButton.LeftButton:
            self._start_wire(port)
            event.accept()
            return
        super().mousePressEvent(event)
        self._press_positions = {item.node_id: item.pos() for item in self.selectedItems()
                                 if isinstance(item, BlockItem) and not isinstance(item, GroupCardItem)}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._pending_wire is not None:
            self._pending_wire.setPath(wire_path(self._wire_source.block.output_anchor(),
                                                 event.scenePos(), self.vertical))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._pending_wire is not None:
            self._finish_wire(event.scenePos())
            return
        super().mouseReleaseEvent(event)
        self._commit_moves()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802 - Qt API
        target = self.itemAt(event.scenePos(), QTransform())
        if isinstance(target, GroupCardItem):
            self.set_group_collapsed(target.group_id, False)
            return
        for frame in self.group_frames.values():
            if frame.isVisible() and frame.header_rect().contains(event.scenePos()):
                self.set_group_collapsed(frame.group_id, True)
                return
        super().mouseDoubleClickEvent(event)

    def _commit_moves(self) -> None:
        """A drag that moved blocks is one MoveNodes edit; a click that moved nothing is no
        edit at all (no undo step, the project stays unmodified)."""
        moved = {}
        for node_id, before in self._press_positions.items():
            item = self.blocks.get(node_id)
            if item is None or item.pos() == before:
                continue
            snapped = snap(item.pos())
            if snapped != before:
                moved[node_id] = (snapped.x(), snapped.y())
            else:
                item.setPos(before)
        self._press_positions = {}
        if moved:
            noun = "block" if len(moved) == 1 else f"{len(moved)} blocks"
            self.document.apply(MoveNodes(moved), f"Move {noun}")

    def _port_at(self, point: QPointF) -> PortItem | None:
        for item in self.items(point):
            if isinstance(item, PortItem) and item.isVisible() and item.parentItem().isVisible():
                return item
        return None

    def _start_wire(self, port: PortItem) -> None:
        self._wire_source = port
        self._pending_wire = QGraphicsPathItem()
        self._pending_wire.setPen(QPen(_theme()["selection"], 2, Qt.PenStyle.DashLine))
        self._pending_wire.setZValue(10)
        self.addItem(self._pending_wire)

    def _finish_wire(self, end: QPointF) -> None:
        source = self._wire_source
        self.removeItem(self._pending_wire)
        self._pending_wire, self._wire_source = None, None
        target = self._port_at(end)
        if target is None or target.is_output:
            return
        self.connect_ports(source.node_id, target.node_id, target.index)

    # -- selection and lookups ----------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        ids = []
        for item in self.selectedItems():
            if isinstance(item, GroupCardItem):
                ids += list(self.document.spec.group(item.group_id).node_ids)
            elif isinstance(item, BlockItem):
                ids.append(item.node_id)
        return ids

    def single_selected_node_id(self) -> str | None:
        """The selected block when exactly one block (not a group card) is selected."""
        blocks = [i for i in self.selectedItems() if isinstance(i, BlockItem)]
        if len(blocks) == 1 and not isinstance(blocks[0], GroupCardItem):
            return blocks[0].node_id
        return None

    def select_nodes(self, node_ids: list[str]) -> None:
        self.clearSelection()
        for node_id in node_ids:
            item = self._visible_item_for(node_id)
            if item is not None:
                item.setSelected(True)

    def edge_at(self, point: QPointF) -> EdgeSpec | None:
        for item in self.items(point):
            if isinstance(item, EdgeItem) and item.isVisible() and item.shape().contains(point):
                return item.edge
        return None

    def block_at(self, point: QPointF) -> BlockItem | None:
        for item in self.items(point):
            if isinstance(item, PortItem):
                item = item.block
            if isinstance(item, BlockItem) and item.isVisible():
                return item
        return None

    def block_rect(self, node_id: str) -> QRectF:
        item = self._visible_item_for(node_id)
        return item.mapRectToScene(QRectF(0, 0, CARD_WIDTH, CARD_HEIGHT)) if item else QRectF()
