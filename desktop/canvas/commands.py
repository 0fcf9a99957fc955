"""What the canvas' gestures, menus and the window's actions do: each turns into one engine
edit (placement.py decides where new blocks go and what they connect to)."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from desktop.canvas import clipboard
from desktop.canvas.edges import EdgeItem
from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.blocks.composites import COMPOSITES_BY_KEY
from engine.errors import ProjectError
from engine.graph.edits import (CompositeEdit, Connect, Disconnect, Edit, RemoveNodes, SetGroupCollapsed,
                                new_node)
from engine.graph.placement import add_block_edit, add_composite_edit, auto_layout_edit, paste_edit
from engine.graph.spec import EdgeSpec


class SceneCommands:
    """GraphScene's commands (a mixin: they need its document, selection and direction)."""

    def connect_ports(self, source_id: str, target_id: str, port: int) -> bool:
        edge = EdgeSpec((source_id, 0), (target_id, port))
        names = self.document.spec.node(source_id).name, self.document.spec.node(target_id).name
        return self.document.apply(Connect(edge), f"Connect {names[0]} to {names[1]}")

    def set_group_collapsed(self, group_id: str, collapsed: bool) -> None:
        verb = "Collapse" if collapsed else "Expand"
        self.document.apply(SetGroupCollapsed(group_id, collapsed), f"{verb} {group_id}")

    def apply_adding(self, edit: Edit | None, text: str) -> bool:
        """Apply an edit that adds blocks, then select what it added."""
        before = set(self.document.spec.node_ids)
        if edit is None or not self.document.apply(edit, text):
            return False
        self.select_nodes([n for n in self.document.spec.node_ids if n not in before])
        return True

    def add_block(self, payload: dict, position: QPointF | None = None, edge: EdgeSpec | None = None,
                  below: str | None = None) -> bool:
        """A palette entry (see palette.py's payloads): at `position`, into `edge`, or fed by
        `below`; the engine picks a free spot (placement.py)."""
        spec = self.document.spec
        where = None if position is None else (position.x(), position.y())
        if "composite" in payload:
            composite = COMPOSITES_BY_KEY.get(payload["composite"])
            edit = add_composite_edit(spec, payload["composite"], where, edge, below)
            return self.apply_adding(edit, f"Add {composite.label if composite else 'composite'}")
        if payload.get("type") not in BLOCKS_BY_TYPE:
            return False
        try:
            node = new_node(spec, payload["type"], payload.get("params") or {}, name=payload.get("name"))
        except Exception as error:  # noqa: BLE001 - a malformed payload from another app
            self.status_message.emit(f"Cannot add that block: {error}")
            return False
        verb = "Insert" if edge is not None else "Add"
        return self.apply_adding(add_block_edit(spec, node, where, edge, below), f"{verb} {node.name}")

    def drop_block(self, payload: dict, position: QPointF, edge: EdgeSpec | None) -> bool:
        """A palette drop: onto a connection it is inserted there; onto empty canvas while
        exactly one block is selected, it is connected after that block."""
        below = self.single_selected_node_id() if edge is None else None
        return self.add_block(payload, position, edge, below)

    def add_below_selected(self, payload: dict) -> bool:
        below = self.single_selected_node_id()
        return below is not None and self.add_block(payload, None, None, below)

    def auto_layout(self, direction: str | None = None) -> bool:
        direction = direction or self.direction
        self._set_direction(direction)
        return self.document.apply(auto_layout_edit(self.document.spec, direction), "Auto-layout")

    # -- clipboard ----------------------------------------------------------------------------
    def copy_selection(self) -> bool:
        return clipboard.copy_nodes(self.document.spec, self.selected_node_ids())

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.delete_selection()

    def paste(self, at: QPointF | None = None) -> bool:
        """The clipboard's blocks, at `at` (a right-click) or beside their originals."""
        data = clipboard.copied_nodes()
        return data is not None and self.paste_data(data, at)

    def duplicate_selection(self) -> bool:
        return self.copy_selection() and self.paste()

    def paste_data(self, data: dict, at: QPointF | None = None, text: str = "Paste") -> bool:
        try:
            edit, _ = paste_edit(self.document.spec, data, None if at is None else (at.x(), at.y()))
        except (ValueError, KeyError, TypeError, ProjectError) as error:
            self.status_message.emit(f"Cannot paste: {error}")
            return False
        return self.apply_adding(edit, text)

    def delete_selection(self) -> None:
        node_ids = self.selected_node_ids()
        edges = [item.edge for item in self.selectedItems() if isinstance(item, EdgeItem)
                 and item.edge.source[0] not in node_ids and item.edge.target[0] not in node_ids]
        edits = [Disconnect(edge) for edge in edges]
        if node_ids:
            edits.append(RemoveNodes(tuple(node_ids)))
        if edits:
            self.document.apply(CompositeEdit(tuple(edits)), "Delete")
