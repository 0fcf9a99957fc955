"""Editing from the window: adding blocks from the palette, the clipboard, auto-layout."""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QMimeData, QPointF
from PySide6.QtGui import QGuiApplication

from desktop.style import MIME_NODES
from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.blocks.composites import COMPOSITES_BY_KEY
from engine.errors import ProjectError
from engine.graph.edits import (AddNode, AddNodes, CompositeEdit, Connect, Disconnect,
                                InsertNodeOnEdge, MoveNodes, new_node)
from engine.graph.layout import layered_positions
from engine.graph.spec import EdgeSpec, NetworkSpec

PASTE_OFFSET = 40.0


class EditingActions:
    def add_from_payload(self, payload: dict, position: QPointF | None, edge: EdgeSpec | None) -> bool:
        """A palette item dropped at `position` (on `edge`, inserting it), or double-clicked
        (position None: the view centre)."""
        if position is None:
            position = self.view.view_centre() - QPointF(100, 46)
        where = (position.x(), position.y())
        spec = self.document.spec
        if "composite" in payload:
            return self._add_composite(payload["composite"], where, edge)
        type_name = payload.get("type")
        if type_name not in BLOCKS_BY_TYPE:
            return False
        try:
            node = new_node(spec, type_name, payload.get("params") or {}, name=payload.get("name"))
        except Exception as error:  # noqa: BLE001 - a malformed payload from another app
            self.statusBar().showMessage(f"Cannot add that block: {error}", 6000)
            return False
        block = BLOCKS_BY_TYPE[type_name]
        if edge is not None and block.max_inputs != 0:
            ok = self.document.apply(InsertNodeOnEdge(edge, node, where), f"Insert {node.name}")
        else:
            ok = self.document.apply(AddNode(node, where), f"Add {node.name}")
        if ok:
            self.scene.select_nodes([node.id])
        return ok

    def _add_composite(self, key: str, where: tuple[float, float], edge: EdgeSpec | None) -> bool:
        composite = COMPOSITES_BY_KEY.get(key)
        if composite is None:
            return False
        parts = composite.build(self.document.spec)
        inner = NetworkSpec(nodes=parts.nodes, edges=parts.edges)
        positions = {node_id: (x + where[0], y + where[1])
                     for node_id, (x, y) in layered_positions(inner).items()}
        edges = list(parts.edges)
        edits = []
        if edge is not None:
            edits.append(Disconnect(edge))
            edges += [EdgeSpec(edge.source, entry) for entry in parts.entries]
        edits.append(AddNodes(parts.nodes, tuple(edges), positions, groups=(parts.group,)))
        if edge is not None:
            edits.append(Connect(EdgeSpec((parts.exit, 0), edge.target)))
        return self.document.apply(CompositeEdit(tuple(edits)), f"Add {composite.label}")

    # -- clipboard ---------------------------------------------------------------------------
    def copy(self) -> None:
        ids = set(self.scene.selected_node_ids())
        if not ids:
            return
        spec = self.document.spec
        data = {
            "nodes": [n.to_dict() for n in spec.nodes if n.id in ids],
            "edges": [e.to_dict() for e in spec.edges if e.source[0] in ids and e.target[0] in ids],
            "layout": {k: list(v) for k, v in spec.layout.items() if k in ids},
        }
        mime = QMimeData()
        mime.setData(MIME_NODES, QByteArray(json.dumps(data).encode("utf-8")))
        mime.setText(json.dumps(data, indent=2))
        QGuiApplication.clipboard().setMimeData(mime)

    def cut(self) -> None:
        self.copy()
        self.scene.delete_selection()

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(MIME_NODES):
            return
        try:
            data = json.loads(bytes(mime.data(MIME_NODES)).decode("utf-8"))
            self._paste_data(data, "Paste")
        except (ValueError, KeyError, TypeError, ProjectError) as error:
            self.statusBar().showMessage(f"Cannot paste: {error}", 6000)

    def duplicate(self) -> None:
        self.copy()
        self.paste()

    def _paste_data(self, data: dict, label: str) -> None:
        """Add copied blocks with fresh ids and names, offset so they do not hide the originals."""
        spec = self.document.spec
        fragment = NetworkSpec.from_dict({"format_version": 1, "nodes": data["nodes"],
                                          "edges": data["edges"], "layout": data.get("layout", {})})
        renamed, new_ids, working = [], {}, spec
        for node in fragment.nodes:
            fresh = new_node(working, node.type, dict(node.params), name=node.name)
            new_ids[node.id] = fresh.id
            working = AddNode(fresh).apply(working)
            renamed.append(fresh)
        edges = tuple(EdgeSpec((new_ids[e.source[0]], 0), (new_ids[e.target[0]], e.target[1]))
                      for e in fragment.edges)
        positions = {new_ids[k]: (x + PASTE_OFFSET, y + PASTE_OFFSET) for k, (x, y) in fragment.layout.items()}
        if self.document.apply(AddNodes(tuple(renamed), edges, positions), label):
            self.scene.select_nodes(list(new_ids.values()))

    def select_all(self) -> None:
        for item in self.scene.items():
            if item.isVisible() and item.flags() & item.GraphicsItemFlag.ItemIsSelectable:
                item.setSelected(True)

    def auto_layout(self, direction: str) -> None:
        positions = layered_positions(self.document.spec, direction)
        if self.document.apply(MoveNodes(positions), "Auto-layout"):
            self.view.show_network()

