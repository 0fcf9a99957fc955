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
    parents: dict[str, list[str]] = {node_id: [] for node_id in spec.node_ids}
    for edge in spec.edges:
        parents[edge.target[0]].append(edge.source[0])

    depth: dict[str, int] = {}
    for node_id in order:
        depth[node_id] = 1 + max((depth[p] for p in parents[node_id]), default=-1)
    # Nodes on a cycle have no depth; park them in one layer after everything else.
    last = 1 + max(depth.values(), default=-1)
    for node_id in spec.node_ids:
        if node_id in cyclic:
            depth[node_id] = last

    layers: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    rank = {node_id: index for index, node_id in enumerate(order + sorted(cyclic, key=spec.node_ids.index))}
    slot: dict[str, int] = {}
    for node_id in sorted(depth, key=lambda n: (depth[n], rank[n])):
        layers[depth[node_id]].append(node_id)
    for layer in layers:
        # Barycentre ordering: a node sits near the mean slot of its placed parents.
        def key(node_id: str) -> tuple[float, int]:
            placed = [slot[p] for p in parents[node_id] if p in slot]
            return (sum(placed) / len(placed) if placed else 0.0, rank[node_id])
        layer.sort(key=key)
        for index, node_id in enumerate(layer):
            slot[node_id] = index
    return layers
