"""Which boxes and arrows the figure has: element-wise blocks are folded into their
neighbour's label, and every box gets a column (depth) and a row from the layered layout."""

from __future__ import annotations

from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.graph.layout import layered_positions
from engine.graph.shapes import NetworkInfo
from engine.graph.spec import EdgeSpec, NetworkSpec, NodeSpec, topological_order
from desktop.diagram.figure import _Edge, _Item
from desktop.diagram.look import FOLDABLE
from desktop.diagram.words import operation_parts


class FigureStructure:
    """The items (one per drawn box) and edges (one per arrow) of a network's figure."""

    def __init__(self, spec: NetworkSpec, info: NetworkInfo):
        self.spec = spec
        self.info = info
        self.items: dict[str, _Item] = {}
        self.edges: list[_Edge] = []
        self._build()

    def _build(self) -> None:
        spec = self.spec
        order, cyclic = topological_order(spec)
        nodes = {node.id: node for node in spec.nodes}
        outgoing = {node_id: 0 for node_id in nodes}
        incoming: dict[str, list[EdgeSpec]] = {node_id: [] for node_id in nodes}
        for edge in spec.edges:
            outgoing[edge.source[0]] += 1
            incoming[edge.target[0]].append(edge)
        for edges in incoming.values():
            edges.sort(key=lambda e: e.target[1])

        rep: dict[str, str] = {}          # node id -> id of the item that shows it
        pending: dict[str, list[str]] = {}  # folded forward: words to put before the next op
        last_member: dict[str, str] = {}

        def forward_ok(node_id: str) -> bool:
            outs = [e for e in spec.edges if e.source[0] == node_id]
            return (len(outs) == 1 and outs[0].target[0] not in cyclic
                    and len(incoming[outs[0].target[0]]) == 1)

        for node_id in order:
            node = nodes[node_id]
            words = operation_parts(node)
            ins = incoming[node_id]
            if node.type in FOLDABLE and len(ins) == 1:
                parent = ins[0].source[0]
                if parent in pending:
                    if forward_ok(node_id):
                        rep[node_id] = rep[parent]
                        pending[node_id] = pending[parent] + words
                        continue
                elif (outgoing[parent] == 1 and nodes[rep[parent]].type != "InputLayer"):
                    rep[node_id] = rep[parent]
                    self.items[rep[parent]].parts.extend(words)
                    last_member[rep[parent]] = node_id
                    continue
                elif forward_ok(node_id):
                    rep[node_id] = rep[parent]
                    pending[node_id] = words
                    continue
            rep[node_id] = node_id
            last_member[node_id] = node_id
            self.items[node_id] = self._new_item(node, words)
        for node_id in spec.node_ids:  # blocks on a cycle: drawn, never folded
            if node_id in cyclic:
                rep[node_id] = node_id
                last_member[node_id] = node_id
                self.items[node_id] = self._new_item(nodes[node_id], operation_parts(nodes[node_id]))
        for item_id, item in self.items.items():
            node_info = self.info.nodes.get(last_member[item_id])
            item.shape = None if node_info is None else node_info.output_shape

        seen: set[tuple[str, str]] = set()
        for node_id in spec.node_ids:
            if rep.get(node_id) != node_id:
                continue
            for edge in incoming[node_id]:
                source = edge.source[0]
                key = (rep[source], node_id)
                if rep[source] == node_id or key in seen:
                    continue
                seen.add(key)
                self.edges.append(_Edge(source=rep[source], target=node_id,
                                        prefix=list(pending.get(source, []))))

        reduced = NetworkSpec(
            nodes=tuple(NodeSpec(id=i, type=item.type, params={}, name=item.name)
                        for i, item in self.items.items()),
            edges=tuple(EdgeSpec(source=(e.source, 0), target=(e.target, index))
                        for index, e in enumerate(self.edges)))
        for item_id, (x, y) in layered_positions(reduced, "LR", x_gap=1.0, y_gap=1.0).items():
            self.items[item_id].column = int(round(x))
            self.items[item_id].row = y
        # Blocks on a cycle have no depth: one after another, after the rest, in file order.
        after = 1 + max((item.column for item_id, item in self.items.items() if item_id not in cyclic),
                        default=-1)
        for index, item_id in enumerate(i for i in spec.node_ids if i in cyclic):
            self.items[item_id].column, self.items[item_id].row = after + index, 0.0

    def _new_item(self, node: NodeSpec, words: list[str]) -> _Item:
        block = BLOCKS_BY_TYPE.get(node.type)
        category = block.category if block else ""
        return _Item(id=node.id, type=node.type, name=node.name, category=category,
                     parts=list(words), shape=None)
