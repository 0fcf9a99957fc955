"""GraphScene: mirrors the document's spec into canvas items and turns mouse gestures
(move, connect, delete) into engine edits on the document."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPen, QTransform
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from desktop.canvas.items import (CARD_HEIGHT, CARD_WIDTH, BlockItem, EdgeItem, GroupCardItem,
                                  GroupFrameItem, PortItem, _theme, connection_path)
from desktop.document import ProjectDocument
from desktop.style import GRID_SIZE
from engine.blocks.catalog import BLOCKS_BY_TYPE, format_shape
from engine.graph.edits import (CompositeEdit, Connect, Disconnect, MoveNodes, RemoveNodes,
                                SetGroupCollapsed)
from engine.graph.layout import layered_positions
from engine.graph.spec import EdgeSpec, NetworkSpec

NEW_BLOCK_OFFSET = QPointF(CARD_WIDTH / 2, CARD_HEIGHT / 2)


def snap(point: QPointF) -> QPointF:
    return QPointF(round(point.x() / GRID_SIZE) * GRID_SIZE, round(point.y() / GRID_SIZE) * GRID_SIZE)


class GraphScene(QGraphicsScene):
    status_message = Signal(str)

    def __init__(self, document: ProjectDocument, parent=None):
        super().__init__(parent)
        self.document = document
        self.blocks: dict[str, BlockItem] = {}
        self.edges: dict[EdgeSpec, EdgeItem] = {}
        self.group_cards: dict[str, GroupCardItem] = {}
        self.group_frames: dict[str, GroupFrameItem] = {}
        self._fallback_positions: dict[str, tuple[float, float]] = {}
        self._pending_wire: QGraphicsPathItem | None = None
        self._wire_source: PortItem | None = None
        self._press_positions: dict[str, QPointF] = {}
        self.vertical = True
        document.spec_changed.connect(self.sync)
        self.sync()

    # -- mirroring the spec ----------------------------------------------------------------
    def sync(self) -> None:
        spec, info = self.document.spec, self.document.info
        self._ensure_positions(spec)
        self.vertical = self._flows_vertically(spec)
        severity = self._severities()
        problems_of: dict[str, list] = {}
        for diagnostic in self.document.diagnostics:
            problems_of.setdefault(diagnostic.node_id, []).append(diagnostic)
        highest_port: dict[str, int] = {}
        for edge in spec.edges:
            highest_port[edge.target[0]] = max(highest_port.get(edge.target[0], -1), edge.target[1])
        for node_id in [n for n in self.blocks if not spec.has_node(n)]:
            self.removeItem(self.blocks.pop(node_id))
        hidden = {n for g in spec.groups if g.collapsed for n in g.node_ids}
        for node in spec.nodes:
            item = self.blocks.get(node.id)
            if item is None:
                item = BlockItem(node.id)
                item.on_moved = self._block_moved
                self.blocks[node.id] = item
                self.addItem(item)
            if item.vertical != self.vertical:
                item.set_vertical(self.vertical)
            block = BLOCKS_BY_TYPE[node.type]
            node_info = info.nodes.get(node.id)
            shape = node_info.output_shape if node_info else None
            problems = problems_of.get(node.id, [])
            item.set_content(
                title=node.name, type_label=node.type.replace("2D", ""),
                summary=block.summary(node.params) or block.label, shape_text=format_shape(shape),
                params_text=self._params_text(node_info), category=block.category,
                severity=severity.get(node.id), problem_count=len(problems),
                input_count=self._input_count(block, highest_port.get(node.id)), has_output=True,
                tooltip=self._tooltip(node, block, problems))
            position = self._position(spec, node.id)
            if item.pos() != position:
                item.setPos(position)
            item.setVisible(node.id not in hidden)
        self._sync_groups(spec)
        self._sync_edges(spec)

    def _ensure_positions(self, spec: NetworkSpec) -> None:
        """Blocks without a saved position get one from the automatic layout (not an edit)."""
        missing = [n for n in spec.node_ids if n not in spec.layout and n not in self._fallback_positions]
        if missing:
            automatic = layered_positions(spec)
            for node_id in missing:
                self._fallback_positions[node_id] = automatic[node_id]

    def _flows_vertically(self, spec: NetworkSpec) -> bool:
        """Ports go top/bottom when connections mostly run downwards (the default), left/right
        when the layout runs left to right."""
        # Signed sums: data runs down (or right) along every edge, while the sideways offsets
        # of parallel branches cancel out.
        across = down = 0.0
        for edge in spec.edges:
            (x1, y1), (x2, y2) = (self._position(spec, edge.source[0]).toTuple(),
                                  self._position(spec, edge.target[0]).toTuple())
            across += x2 - x1
            down += y2 - y1
        return down >= across

    def _position(self, spec: NetworkSpec, node_id: str) -> QPointF:
        x, y = spec.layout.get(node_id) or self._fallback_positions.get(node_id, (0.0, 0.0))
        return QPointF(x, y)

    @staticmethod
    def _input_count(block, highest_used_port: int | None) -> int:
        if block.max_inputs is not None:
            return block.max_inputs
        # Merges grow: every connected port plus one free port, at least their minimum.
        return max(block.min_inputs, (highest_used_port + 2) if highest_used_port is not None else 0)

    @staticmethod
    def _params_text(node_info) -> str:
        if node_info is None or node_info.output_shape is None:
            return "parameters: ?"
        text = f"{node_info.params:,} params"
        if node_info.macs:
            text += f" · {_compact(node_info.macs)} MACs"
        return text

    @staticmethod
    def _tooltip(node, block, problems) -> str:
        lines = [f"<b>{node.name}</b> ({node.type})", block.help]
        lines += [f"<span style='color:#D32F2F'>{d.severity}: {d.message}</span>" for d in problems]
        return "<br>".join(lines)

    def _severities(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for d in self.document.diagnostics:
            if d.node_id and result.get(d.node_id) != "error":
                result[d.node_id] = d.severity
        return result

    def _sync_groups(self, spec: NetworkSpec) -> None:
        alive = {g.id for g in spec.groups}
        for group_id in [g for g in self.group_cards if g not in alive]:
            self.removeItem(self.group_cards.pop(group_id))
        for group_id in [g for g in self.group_frames if g not in alive]:
            self.removeItem(self.group_frames.pop(group_id))
        info = self.document.info
        for group in spec.groups:
            frame = self.group_frames.get(group.id)
            if frame is None:
                frame = self.group_frames[group.id] = GroupFrameItem(group.id)
                self.addItem(frame)
            card = self.group_cards.get(group.id)
            if card is None:
                card = self.group_cards[group.id] = GroupCardItem(group.id)
                self.addItem(card)
            members = [self.blocks[n] for n in group.node_ids if n in self.blocks]
            bounds = QRectF()
            for item in members:
                bounds = bounds.united(QRectF(item.pos(), QPointF(item.pos().x() + CARD_WIDTH,
                                                                   item.pos().y() + CARD_HEIGHT)))
            frame.set_frame(bounds, f"{group.name} ({group.kind}) — double-click here to collapse")
            frame.setVisible(not group.collapsed)
            exits = [n for n in group.node_ids if not any(
                e.source[0] == n and e.target[0] in group.node_ids for e in spec.edges)]
            exit_shape = info.nodes[exits[-1]].output_shape if exits and exits[-1] in info.nodes else None
            params = sum(info.nodes[n].params for n in group.node_ids if n in info.nodes)
            severities = self._severities()
            member_severity = [severities[n] for n in group.node_ids if n in severities]
            card.set_content(
                title=group.name, type_label=group.kind.capitalize(),
                summary=f"{len(group.node_ids)} blocks (double-click to expand)",
                shape_text=format_shape(exit_shape), params_text=f"{params:,} params",
                category="Composite",
                severity="error" if "error" in member_severity else (
                    "warning" if member_severity else None),
                problem_count=len(member_severity), input_count=1, has_output=True,
                tooltip=f"<b>{group.name}</b>: a collapsed {group.kind} composite")
            card.setPos(bounds.topLeft() if not bounds.isNull() else QPointF())
            if card.vertical != self.vertical:
                card.set_vertical(self.vertical)
            card.setVisible(group.collapsed)

    def _visible_item_for(self, node_id: str) -> BlockItem | None:
        group = self.document.spec.group_of(node_id)
        if group is not None and group.collapsed:
            return self.group_cards.get(group.id)
        return self.blocks.get(node_id)

    def _sync_edges(self, spec: NetworkSpec) -> None:
        current = set(spec.edges)
        for edge in [e for e in self.edges if e not in current]:
            self.removeItem(self.edges.pop(edge))
        for edge in spec.edges:
            item = self.edges.get(edge)
            if item is None:
                item = self.edges[edge] = EdgeItem(edge)
                self.addItem(item)
            shape = self.document.info.nodes.get(edge.source[0])
            item.set_label(format_shape(shape.output_shape) if shape and shape.output_shape else "")
            self._route(item)
        used_inputs = {edge.target for edge in spec.edges}
        used_outputs = {edge.source[0] for edge in spec.edges}
        for item in self.blocks.values():
            for port in item.input_ports:
                port.connected = (item.node_id, port.index) in used_inputs
            item.output_port.connected = item.node_id in used_outputs

    def _route(self, item: EdgeItem) -> None:
        source = self._visible_item_for(item.edge.source[0])
        target = self._visible_item_for(item.edge.target[0])
        if source is None or target is None:
            return
        inside = source is target  # both ends inside one collapsed composite
        item.setVisible(not inside)
        if not inside:
            item.set_ends(source.output_anchor(), target.input_anchor(item.edge.target[1]), self.vertical)

    def _block_moved(self, block: BlockItem) -> None:
        for edge, item in self.edges.items():
            if block.node_id in (edge.source[0], edge.target[0]):
                self._route(item)

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
            self._draw_wire(event.scenePos())
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

    def set_group_collapsed(self, group_id: str, collapsed: bool) -> None:
        verb = "Collapse" if collapsed else "Expand"
        self.document.apply(SetGroupCollapsed(group_id, collapsed), f"{verb} {group_id}")

    def _commit_moves(self) -> None:
        moved = {}
        for node_id, before in self._press_positions.items():
            item = self.blocks.get(node_id)
            if item is None:
                continue
            snapped = snap(item.pos())
            if snapped != before:
                moved[node_id] = (snapped.x(), snapped.y())
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

    def _draw_wire(self, end: QPointF) -> None:
        start = self._wire_source.block.output_anchor()
        self._pending_wire.setPath(connection_path(start, end, self.vertical))

    def _finish_wire(self, end: QPointF) -> None:
        source = self._wire_source
        self.removeItem(self._pending_wire)
        self._pending_wire, self._wire_source = None, None
        target = self._port_at(end)
        if target is None or target.is_output:
            return
        self.connect_ports(source.node_id, target.node_id, target.index)

    def connect_ports(self, source_id: str, target_id: str, port: int) -> bool:
        edge = EdgeSpec((source_id, 0), (target_id, port))
        names = self.document.spec.node(source_id).name, self.document.spec.node(target_id).name
        return self.document.apply(Connect(edge), f"Connect {names[0]} to {names[1]}")

    # -- commands used by the window -------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        ids = []
        for item in self.selectedItems():
            if isinstance(item, GroupCardItem):
                ids += list(self.document.spec.group(item.group_id).node_ids)
            elif isinstance(item, BlockItem):
                ids.append(item.node_id)
        return ids

    def delete_selection(self) -> None:
        node_ids = self.selected_node_ids()
        edges = [item.edge for item in self.selectedItems() if isinstance(item, EdgeItem)
                 and item.edge.source[0] not in node_ids and item.edge.target[0] not in node_ids]
        edits = [Disconnect(edge) for edge in edges]
        if node_ids:
            edits.append(RemoveNodes(tuple(node_ids)))
        if edits:
            self.document.apply(CompositeEdit(tuple(edits)), "Delete")

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

    def block_rect(self, node_id: str) -> QRectF:
        item = self._visible_item_for(node_id)
        return item.sceneBoundingRect() if item else QRectF()


def _compact(number: int) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= limit:
            return f"{number / limit:.1f}{suffix}"
    return str(number)
