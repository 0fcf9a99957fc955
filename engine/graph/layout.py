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


# -- the canvas' geometry, for placing blocks where they do not overlap others ------------------

CARD_SIZE = (200.0, 92.0)  # a block card's footprint, scene units (the canvas draws this size)
GRID = 20.0                # the canvas snap grid
CLEARANCE = 24.0           # free space kept around a card (ports, connection stubs, labels)
Rect = tuple[float, float, float, float]  # left, top, right, bottom


def pitch(direction: str) -> tuple[float, float]:
    """(along the flow, across it): the distance between neighbouring layers / blocks."""
    x_gap, y_gap = DEFAULT_GAPS[direction]
    return (y_gap, x_gap) if direction == "TB" else (x_gap, y_gap)


def flow_direction(spec: NetworkSpec, positions: dict[str, Position] | None = None) -> str:
    """"TB" when most connections run downwards, "LR" when most run to the right.

    A property of the layout as a whole (a majority of edges), so one connection drawn
    upwards or sideways does not flip every port on the canvas."""
    positions = resolved_positions(spec) if positions is None else positions
    down = right = 0
    for edge in spec.edges:
        a, b = positions.get(edge.source[0]), positions.get(edge.target[0])
        if a is None or b is None:
            continue
        dx, dy = b[0] - a[0], b[1] - a[1]
        down += dy > abs(dx)
        right += dx > abs(dy)
    return "LR" if right > down else "TB"


def resolved_positions(spec: NetworkSpec) -> dict[str, Position]:
    """Saved positions, with the automatic layout's for blocks that have none."""
    if all(node_id in spec.layout for node_id in spec.node_ids):
        return dict(spec.layout)
    return {**layered_positions(spec), **spec.layout}


def card_rect(position: Position, clearance: float = 0.0) -> Rect:
    x, y = position
    return (x - clearance, y - clearance, x + CARD_SIZE[0] + clearance, y + CARD_SIZE[1] + clearance)


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def snap(position: Position) -> Position:
    return (round(position[0] / GRID) * GRID, round(position[1] / GRID) * GRID)


def free_offset(occupied: list[Rect], wanted: list[Position], direction: str,
                max_steps: int = 8) -> tuple[float, float]:
    """The smallest shift of the cards at `wanted` (a block, or a pasted fragment) that
    keeps every one clear of the `occupied` rects; sideways moves are tried first, as
    moving across the flow keeps the shifted blocks beside their neighbours."""
    along, across = pitch(direction)
    steps = []
    for a in range(-max_steps, max_steps + 1):
        for b in range(-2, max_steps + 1):
            # A half pitch across, a half pitch along; moving along the flow costs more.
            dx, dy = (a * across / 2, b * along / 2) if direction == "TB" else (b * along / 2, a * across / 2)
            steps.append((abs(a) + 1.5 * abs(b), -a, snap((dx, dy))))
    steps.sort()
    near = _rects_near(occupied, wanted, max_steps * max(along, across))
    for _, _, (dx, dy) in steps:
        moved = [card_rect((x + dx, y + dy), CLEARANCE) for x, y in wanted]
        if not any(overlaps(m, r) for m in moved for r in near):
            return (dx, dy)
    return (0.0, 0.0)  # a canvas that full: leave it where asked


def free_position(spec: NetworkSpec, preferred: Position, direction: str | None = None,
                  exclude: set[str] | frozenset = frozenset()) -> Position:
    """The free spot nearest `preferred` for one new card."""
    positions = resolved_positions(spec)
    occupied = [card_rect(p) for n, p in positions.items() if n not in exclude]
    direction = direction or flow_direction(spec, positions)
    x, y = snap(preferred)
    dx, dy = free_offset(occupied, [(x, y)], direction)
    return (x + dx, y + dy)


def _rects_near(rects: list[Rect], wanted: list[Position], radius: float) -> list[Rect]:
    if not wanted:
        return []
    left = min(x for x, _ in wanted) - radius
    top = min(y for _, y in wanted) - radius
    right = max(x for x, _ in wanted) + CARD_SIZE[0] + radius
    bottom = max(y for _, y in wanted) + CARD_SIZE[1] + radius
    return [r for r in rects if overlaps(r, (left, top, right, bottom))]


def room_on_edge(spec: NetworkSpec, source_id: str, target_id: str) -> tuple[Position, dict[str, Position]]:
    """Where a block inserted on the connection source -> target goes, and the blocks that
    move to make room: the midpoint when it is free; right after the source, pushing the
    target and everything downstream one layer on, when the two are neighbours; otherwise
    (a long shortcut past occupied blocks) the nearest free spot beside the midpoint."""
    positions = resolved_positions(spec)
    direction = flow_direction(spec, positions)
    flow = 1 if direction == "TB" else 0
    (sx, sy), (tx, ty) = positions[source_id], positions[target_id]
    middle = snap(((sx + tx) / 2, (sy + ty) / 2))
    others = [card_rect(p) for p in positions.values()]
    if not any(overlaps(card_rect(middle, CLEARANCE), r) for r in others):
        return middle, {}
    along = pitch(direction)[0]
    source, target = positions[source_id], positions[target_id]
    if 0 <= target[flow] - source[flow] < 2 * along:
        spot = list(target)
        spot[flow] = source[flow] + along
        shift = source[flow] + 2 * along - target[flow]
        moved = {}
        for node_id in _downstream(spec, target_id):
            moved_to = list(positions[node_id])
            moved_to[flow] += shift
            moved[node_id] = (moved_to[0], moved_to[1])
        return (spot[0], spot[1]), moved
    return free_position(spec, middle, direction), {}


def _downstream(spec: NetworkSpec, node_id: str) -> list[str]:
    seen, todo = {node_id}, [node_id]
    while todo:
        for edge in spec.outgoing(todo.pop()):
            if edge.target[0] not in seen:
                seen.add(edge.target[0])
                todo.append(edge.target[0])
    return [n for n in spec.node_ids if n in seen]
