"""Automatic canvas positions: a simple layered drawing of the graph. Pure Python.

Each node goes in the layer of its depth (the longest path from an input), so data flows
one way across the canvas; within a layer, nodes are ordered by where their parents are,
which keeps a shortcut beside the path it skips and avoids most crossings.
"""

from __future__ import annotations

from engine.graph.spec import NetworkSpec, Position, topological_order


def layered_positions(spec: NetworkSpec, direction: str = "LR", x_gap: float = 220.0,
                      y_gap: float = 120.0) -> dict[str, Position]:
    """Positions for every node of `spec`.

    "LR" (left to right): x = x_gap * depth, y = y_gap * index within the layer.
    "TB" (top to bottom): the axes swap roles, y = y_gap * depth and x = x_gap * index;
    each gap stays the spacing along its own axis.
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB', not {direction!r}")
    layers = _layers(spec)
    positions: dict[str, Position] = {}
    for depth, layer in enumerate(layers):
        for index, node_id in enumerate(layer):
            if direction == "LR":
                positions[node_id] = (x_gap * depth, y_gap * index)
            else:
                positions[node_id] = (x_gap * index, y_gap * depth)
    return positions


def _layers(spec: NetworkSpec) -> list[list[str]]:
    """Node ids grouped by depth, each group in a crossing-reducing order."""
    order, cyclic = topological_order(spec)
    # Kahn's order first, then nodes on a cycle (they have no depth; they go last).
    ranked = order + [node_id for node_id in spec.node_ids if node_id in cyclic]
    rank = {node_id: index for index, node_id in enumerate(ranked)}
    parents: dict[str, list[str]] = {node_id: [] for node_id in spec.node_ids}
    for edge in spec.edges:
        parents[edge.target[0]].append(edge.source[0])

    depth: dict[str, int] = {}
    for node_id in order:
        depth[node_id] = 1 + max((depth[p] for p in parents[node_id]), default=-1)
    after_all = 1 + max(depth.values(), default=-1)
    depth.update({node_id: after_all for node_id in cyclic})

    layers: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    for node_id in ranked:
        layers[depth[node_id]].append(node_id)
    slot: dict[str, int] = {}
    for layer in layers:
        layer.sort(key=lambda node_id: (_mean_parent_slot(parents[node_id], slot), rank[node_id]))
        slot.update({node_id: index for index, node_id in enumerate(layer)})
    return layers


def _mean_parent_slot(parents: list[str], slot: dict[str, int]) -> float:
    """Barycentre ordering: a node sits near the mean slot of its already placed parents."""
    placed = [slot[p] for p in parents if p in slot]
    return sum(placed) / len(placed) if placed else 0.0
