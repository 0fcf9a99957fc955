"""Edits that add blocks to the canvas: where new blocks go, what they are called and what
they connect to. Pure Python; the canvas and the window only choose which one to call.

Every function returns one edit (one undo step) whose new blocks land on no other block:
a spot that is taken is traded for the nearest free one (sideways first), and a block
inserted between two neighbours pushes the blocks after it one layer on.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from engine.blocks.catalog import block_type
from engine.blocks.composites import COMPOSITES_BY_KEY, channels_of
from engine.graph.edits import (AddNode, AddNodes, CompositeEdit, Connect, Disconnect, Edit,
                                InsertNodeOnEdge, MoveNodes, new_node)
from engine.graph.layout import (card_rect, flow_direction, free_offset, free_position,
                                 layered_positions, pitch, resolved_positions, snap)
from engine.graph.spec import EdgeSpec, NetworkSpec, NodeSpec, Position

PASTE_SHIFT = 40.0  # a paste without a target spot starts this far from the originals
_COPY_SUFFIX = re.compile(r"^(.*\S)_(\d+)$")


def paste_name(spec: NetworkSpec, name: str) -> str:
    """A free name for a copy: "C1" -> "C1_1", and a copy of "C1_1" -> "C1_2" (not "C1_1_1")."""
    match = _COPY_SUFFIX.match(name)
    return spec.unique_name(match.group(1) if match else name)


def paste_edit(spec: NetworkSpec, data: Mapping[str, Any],
               at: Position | None = None) -> tuple[Edit, list[str]]:
    """Copied blocks ({"nodes", "edges", "layout"} as the clipboard holds them) with fresh
    ids and names, their top-left corner at `at` (or beside the originals), moved as a
    whole to the nearest spot where they cover no block. Returns (edit, new ids)."""
    fragment = NetworkSpec.from_dict({"format_version": 1, "nodes": list(data["nodes"]),
                                      "edges": list(data.get("edges", [])),
                                      "layout": dict(data.get("layout", {}))})
    working, added, new_ids = spec, [], {}
    for node in fragment.nodes:
        fresh = new_node(working, node.type, dict(node.params), name=paste_name(working, node.name))
        new_ids[node.id] = fresh.id
        working = AddNode(fresh).apply(working)
        added.append(fresh)
    edges = tuple(EdgeSpec((new_ids[e.source[0]], 0), (new_ids[e.target[0]], e.target[1]))
                  for e in fragment.edges)
    local = _fragment_positions(fragment)
    left, top = min(x for x, _ in local.values()), min(y for _, y in local.values())
    origin = snap(at) if at is not None else (left + PASTE_SHIFT, top + PASTE_SHIFT)
    wanted = {new_ids[n]: (x - left + origin[0], y - top + origin[1]) for n, (x, y) in local.items()}
    positions = _clear_of(spec, wanted)
    return AddNodes(tuple(added), edges, positions), list(new_ids.values())


def add_block_edit(spec: NetworkSpec, node: NodeSpec, position: Position | None = None,
                   edge: EdgeSpec | None = None, below: str | None = None) -> Edit:
    """The edit adding one palette block:

    - on `edge`: inserted into that connection (a spot on it, making room if needed);
    - with `below` (the one selected block): added after it and fed by its output,
      at `position` or else right below it (in the flow direction);
    - otherwise at the free spot nearest `position` (or nearest the network's end)."""
    block = block_type(node.type)
    if edge is not None and block.max_inputs != 0:
        spot = None if position is None else free_position(spec, position)
        return InsertNodeOnEdge(edge, node, spot)
    feeds = below is not None and spec.has_node(below) and block.max_inputs != 0
    if position is None:
        position = _after(spec, below) if feeds else _after_everything(spec)
    add = AddNode(node, free_position(spec, position))
    if not feeds:
        return add
    return CompositeEdit((add, Connect(EdgeSpec((below, 0), (node.id, 0)))))


def add_composite_edit(spec: NetworkSpec, key: str, position: Position | None = None,
                       edge: EdgeSpec | None = None, below: str | None = None) -> Edit | None:
    """A composite (residual block, inception module) as one group: laid out in the
    canvas' direction, clear of other blocks, wired into `edge` or after `below`."""
    composite = COMPOSITES_BY_KEY.get(key)
    if composite is None:
        return None
    source = edge.source[0] if edge is not None else (below if below and spec.has_node(below) else None)
    parts = composite.build(spec, channels_of(spec, source))
    direction = flow_direction(spec)
    inner = layered_positions(NetworkSpec(nodes=parts.nodes, edges=parts.edges), direction)
    if position is None:
        position = _after(spec, source) if source else _after_everything(spec)
    left = min(x for x, _ in inner.values())
    top = min(y for _, y in inner.values())
    wanted = {n: (x - left + position[0], y - top + position[1]) for n, (x, y) in inner.items()}
    edges = list(parts.edges)
    if source is not None:
        edges += [EdgeSpec((source, 0), entry) for entry in parts.entries]
    edits: list[Edit] = [Disconnect(edge)] if edge is not None else []
    edits.append(AddNodes(parts.nodes, tuple(edges), _clear_of(spec, wanted), groups=(parts.group,)))
    if edge is not None:
        edits.append(Connect(EdgeSpec((parts.exit, 0), edge.target)))
    return CompositeEdit(tuple(edits))


def auto_layout_edit(spec: NetworkSpec, direction: str) -> MoveNodes:
    return MoveNodes(layered_positions(spec, direction))


def _fragment_positions(fragment: NetworkSpec) -> dict[str, Position]:
    automatic = layered_positions(fragment)
    return {n: fragment.layout.get(n, automatic[n]) for n in fragment.node_ids}


def _clear_of(spec: NetworkSpec, wanted: dict[str, Position]) -> dict[str, Position]:
    """`wanted` shifted as a whole to the nearest place where it covers no block of `spec`."""
    positions = resolved_positions(spec)
    occupied = [card_rect(p) for p in positions.values()]
    dx, dy = free_offset(occupied, list(wanted.values()), flow_direction(spec, positions))
    return {n: (x + dx, y + dy) for n, (x, y) in wanted.items()}


def _after(spec: NetworkSpec, node_id: str) -> Position:
    """One layer after `node_id`, in the canvas' flow direction."""
    positions = resolved_positions(spec)
    direction = flow_direction(spec, positions)
    x, y = positions.get(node_id, (0.0, 0.0))
    along = pitch(direction)[0]
    return (x, y + along) if direction == "TB" else (x + along, y)


def _after_everything(spec: NetworkSpec) -> Position:
    """Below (or right of) the whole network: a new block never covers an old one."""
    positions = resolved_positions(spec)
    if not positions:
        return (0.0, 0.0)
    direction = flow_direction(spec, positions)
    along = pitch(direction)[0]
    if direction == "TB":
        return (min(x for x, _ in positions.values()), max(y for _, y in positions.values()) + along)
    return (max(x for x, _ in positions.values()) + along, min(y for _, y in positions.values()))

