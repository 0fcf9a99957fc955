"""Automatic canvas positions: a simple layered drawing of the graph. Pure Python.

Each node goes in the layer of its depth (the longest path from an input), so data flows
one way across the canvas; within a layer, nodes are ordered by where their parents are,
which keeps a shortcut beside the path it skips and avoids most crossings.
"""

from __future__ import annotations

from engine.graph.spec import NetworkSpec, Position, topological_order


# Spacing between layers and between blocks in a layer, per direction (block cards are
# about 200 x 92 units, so there is room left for the shape labels on connections).
DEFAULT_GAPS = {"TB": (260.0, 150.0), "LR": (300.0, 130.0)}


def layered_positions(spec: NetworkSpec, direction: str = "TB", x_gap: float | None = None,
                      y_gap: float | None = None) -> dict[str, Position]:
    """Positions for every node of `spec`, each layer centred on the main axis.

    "TB" (top down): y = y_gap * depth, x = x_gap * (index - centre of the layer).
    "LR" (left to right): x = x_gap * depth, y = y_gap * (index - centre of the layer).
    """
    if direction not in DEFAULT_GAPS:
        raise ValueError(f"direction must be 'LR' or 'TB', not {direction!r}")
    default_x, default_y = DEFAULT_GAPS[direction]
    x_gap = default_x if x_gap is None else x_gap
    y_gap = default_y if y_gap is None else y_gap
    positions: dict[str, Position] = {}
    for depth, layer in enumerate(_layers(spec)):
        centre = (len(layer) - 1) / 2
        for index, node_id in enumerate(layer):
            offset = index - centre
            if direction == "LR":
                positions[node_id] = (x_gap * depth, y_gap * offset)
            else:
                positions[node_id] = (x_gap * offset, y_gap * depth)
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
