"""The network as plain data: nodes, edges and canvas layout.

A node's `type` is the Keras class name and its `params` are that class's constructor
keyword arguments (see engine.blocks.catalog), so a spec and a Keras `get_config()` agree.
Positions live under `layout`, apart from what the network means.
"""

from __future__ import annotations

import copy
import heapq
import json
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Iterable, Mapping

from engine.errors import ProjectError

FORMAT_VERSION = 1

Port = tuple[str, int]
Position = tuple[float, float]


@dataclass(frozen=True)
class NodeSpec:
    id: str
    type: str
    params: Mapping[str, Any]
    name: str

    def with_params(self, **changes: Any) -> NodeSpec:
        return replace(self, params={**self.params, **changes})

    def to_dict(self) -> dict:
        return {"id": self.id, "type": self.type, "name": self.name,
                "params": copy.deepcopy(dict(self.params))}


@dataclass(frozen=True)
class EdgeSpec:
    source: Port
    target: Port

    def to_dict(self) -> dict:
        return {"source": list(self.source), "target": list(self.target)}


@dataclass(frozen=True)
class GroupSpec:
    """Blocks inserted together as one composite (a residual block, an inception module),
    which the canvas can collapse into one card. Grouping never changes what the network
    computes."""

    id: str
    name: str
    kind: str
    node_ids: tuple[str, ...]
    collapsed: bool = False

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "kind": self.kind, "nodes": list(self.node_ids),
                "collapsed": self.collapsed}


@dataclass(frozen=True)
class NetworkSpec:
    nodes: tuple[NodeSpec, ...] = ()
    edges: tuple[EdgeSpec, ...] = ()
    layout: Mapping[str, Position] = field(default_factory=dict)
    name: str = "Untitled"
    description: str = ""
    groups: tuple[GroupSpec, ...] = ()

    # -- lookups ---------------------------------------------------------------
    # Indexes built on first use (the spec never changes): the editor looks nodes and edges
    # up once per block after every edit, which scanning made quadratic.
    @cached_property
    def _nodes_by_id(self) -> dict[str, NodeSpec]:
        index: dict[str, NodeSpec] = {}
        for node in self.nodes:
            index.setdefault(node.id, node)  # the first, as a scan would find
        return index

    @cached_property
    def _edges_by_end(self) -> tuple[dict[str, list[EdgeSpec]], dict[str, list[EdgeSpec]]]:
        into: dict[str, list[EdgeSpec]] = {}
        out_of: dict[str, list[EdgeSpec]] = {}
        for edge in self.edges:
            into.setdefault(edge.target[0], []).append(edge)
            out_of.setdefault(edge.source[0], []).append(edge)
        return into, out_of

    def node(self, node_id: str) -> NodeSpec:
        return self._nodes_by_id[node_id]

    @property
    def nodes_by_id(self) -> dict[str, NodeSpec]:
        """id -> node, built once per spec (do not change it)."""
        return self._nodes_by_id

    def has_node(self, node_id: str) -> bool:
        return node_id in self._nodes_by_id

    @property
    def node_ids(self) -> list[str]:
        return [node.id for node in self.nodes]

    def incoming(self, node_id: str) -> list[EdgeSpec]:
        """Edges into a node, ordered by target port (the order Keras sees the inputs)."""
        return sorted(self._edges_by_end[0].get(node_id, ()), key=lambda e: e.target[1])

    def outgoing(self, node_id: str) -> list[EdgeSpec]:
        return list(self._edges_by_end[1].get(node_id, ()))

    def new_id(self, prefix: str = "n") -> str:
        """An id not used in this spec (ids are opaque; the prefix only helps reading files)."""
        taken = set(self.node_ids)
        index = len(self.nodes) + 1
        while f"{prefix}{index}" in taken:
            index += 1
        return f"{prefix}{index}"

    def unique_name(self, base: str) -> str:
        taken = {node.name for node in self.nodes}
        if base not in taken:
            return base
        index = 1
        while f"{base}_{index}" in taken:
            index += 1
        return f"{base}_{index}"

    # -- plain data ---------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "nodes": [node.to_dict() for node in self.nodes],
            "edges": [edge.to_dict() for edge in self.edges],
            "layout": {node_id: list(pos) for node_id, pos in self.layout.items()},
            **({"groups": [group.to_dict() for group in self.groups]} if self.groups else {}),
        }

    def group(self, group_id: str) -> GroupSpec:
        for group in self.groups:
            if group.id == group_id:
                return group
        raise KeyError(group_id)

    def group_of(self, node_id: str) -> GroupSpec | None:
        return next((g for g in self.groups if node_id in g.node_ids), None)

    def to_json(self) -> str:
        return readable_json(self.to_dict())

    @staticmethod
    def from_dict(data: Any) -> NetworkSpec:
        """Strictly parse a current-format dict; raise ProjectError naming the bad part."""
        return _parse_network(data)


_FLAT_LIST = re.compile(r"\[[^\[\]{}]*\]")


def readable_json(data: dict) -> str:
    """Indented JSON with short lists (shapes, kernel sizes, ports, positions) on one line."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    collapse = lambda match: json.dumps(json.loads(match.group(0)), ensure_ascii=False)  # noqa: E731
    return _FLAT_LIST.sub(collapse, text) + "\n"


# -- parsing ------------------------------------------------------------------------

def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProjectError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


MAX_NAME_LENGTH = 200


def _parse_network(data: Any) -> NetworkSpec:
    from engine.blocks.catalog import block_type  # catalog imports spec's types

    _require(isinstance(data, dict), "The project file must contain a JSON object at the top level.")
    version = data.get("format_version")
    _require(version == FORMAT_VERSION,
             f"Unsupported format_version {version!r}: this CNN Studio reads version {FORMAT_VERSION}.")
    name = data.get("name", "Untitled")
    description = data.get("description", "")
    _require(isinstance(name, str), "The project's 'name' must be text.")
    _require(isinstance(description, str), "The project's 'description' must be text.")
    raw_nodes = data.get("nodes")
    raw_edges = data.get("edges", [])
    raw_layout = data.get("layout", {})
    _require(isinstance(raw_nodes, list), "The project needs a 'nodes' list.")
    _require(isinstance(raw_edges, list), "'edges' must be a list.")
    _require(isinstance(raw_layout, dict), "'layout' must be an object mapping node ids to [x, y].")

    nodes: list[NodeSpec] = []
    seen_ids: set[str] = set()
    for index, raw in enumerate(raw_nodes):
        where = f"nodes[{index}]"
        _require(isinstance(raw, dict), f"{where} must be an object with id, type, name and params.")
        node_id = raw.get("id")
        _require(isinstance(node_id, str) and 0 < len(node_id) <= MAX_NAME_LENGTH,
                 f"{where}: 'id' must be a non-empty text of at most {MAX_NAME_LENGTH} characters.")
        _require(node_id not in seen_ids, f"Duplicate node id {node_id!r} ({where}): ids must be unique.")
        seen_ids.add(node_id)
        type_name = raw.get("type")
        _require(isinstance(type_name, str), f"Node {node_id!r}: 'type' must be a block type name.")
        block = block_type(type_name, node_id)  # raises ProjectError for unknown types
        display_name = raw.get("name", node_id)
        _require(isinstance(display_name, str) and 0 < len(display_name) <= MAX_NAME_LENGTH,
                 f"Node {node_id!r}: 'name' must be a non-empty text of at most {MAX_NAME_LENGTH} characters.")
        raw_params = raw.get("params", {})
        _require(isinstance(raw_params, dict), f"Node {node_id!r}: 'params' must be an object.")
        params = block.parse_params(raw_params, node_id)
        nodes.append(NodeSpec(id=node_id, type=type_name, params=params, name=display_name))

    node_by_id = {node.id: node for node in nodes}
    edges: list[EdgeSpec] = []
    used_targets: set[Port] = set()
    for index, raw in enumerate(raw_edges):
        where = f"edges[{index}]"
        _require(isinstance(raw, dict), f"{where} must be an object with 'source' and 'target'.")
        source = _parse_port(raw.get("source"), f"{where}.source")
        target = _parse_port(raw.get("target"), f"{where}.target")
        for end, (node_id, _) in (("source", source), ("target", target)):
            _require(node_id in node_by_id, f"{where}: {end} node {node_id!r} does not exist.")
        _require(source[1] == 0, f"{where}: block {source[0]!r} has one output, port 0 (got {source[1]}).")
        block = block_type(node_by_id[target[0]].type, target[0])
        _require(block.accepts_port(target[1]),
                 f"{where}: block {target[0]!r} ({block.type}) has no input port {target[1]}.")
        _require(target not in used_targets,
                 f"{where}: input port {target[1]} of {target[0]!r} is connected twice.")
        used_targets.add(target)
        edges.append(EdgeSpec(source=source, target=target))

    layout: dict[str, Position] = {}
    for node_id, raw in raw_layout.items():
        _require(node_id in node_by_id, f"layout: node {node_id!r} does not exist.")
        _require(isinstance(raw, list) and len(raw) == 2 and all(_is_number(v) for v in raw)
                 and all(abs(v) < 1e9 for v in raw),
                 f"layout[{node_id!r}] must be [x, y] with finite numbers.")
        layout[node_id] = (raw[0], raw[1])

    groups = _parse_groups(data.get("groups", []), node_by_id)
    return NetworkSpec(nodes=tuple(nodes), edges=tuple(edges), layout=layout, groups=groups,
                       name=name, description=description)


def _parse_groups(raw_groups: Any, node_by_id: dict) -> tuple[GroupSpec, ...]:
    _require(isinstance(raw_groups, list), "'groups' must be a list.")
    groups: list[GroupSpec] = []
    grouped: set[str] = set()
    for index, raw in enumerate(raw_groups):
        where = f"groups[{index}]"
        _require(isinstance(raw, dict), f"{where} must be an object.")
        group_id, name, kind = raw.get("id"), raw.get("name", ""), raw.get("kind", "")
        members, collapsed = raw.get("nodes"), raw.get("collapsed", False)
        _require(isinstance(group_id, str) and group_id and all(g.id != group_id for g in groups),
                 f"{where}: 'id' must be a unique, non-empty text.")
        _require(isinstance(name, str) and isinstance(kind, str), f"{where}: name and kind must be text.")
        _require(isinstance(collapsed, bool), f"{where}: 'collapsed' must be true or false.")
        _require(isinstance(members, list) and members and all(isinstance(m, str) for m in members),
                 f"{where}: 'nodes' must list node ids.")
        for member in members:
            _require(member in node_by_id, f"{where}: node {member!r} does not exist.")
            _require(member not in grouped, f"{where}: node {member!r} is already in another group.")
            grouped.add(member)
        groups.append(GroupSpec(id=group_id, name=name, kind=kind, node_ids=tuple(members),
                                collapsed=collapsed))
    return tuple(groups)


def _parse_port(raw: Any, where: str) -> Port:
    _require(isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], str) and _is_int(raw[1])
             and 0 <= raw[1] < 10_000,
             f"{where} must be [node_id, port] with a text id and a port number.")
    return (raw[0], raw[1])


def topological_order(spec: NetworkSpec) -> tuple[list[str], set[str]]:
    """Node ids in data-flow order (ties kept in file order), and the ids on or behind a
    cycle, which are left out of the order."""
    position = {node_id: index for index, node_id in enumerate(spec.node_ids)}
    indegree = dict.fromkeys(spec.node_ids, 0)
    successors: dict[str, list[str]] = {node_id: [] for node_id in spec.node_ids}
    for edge in spec.edges:
        indegree[edge.target[0]] += 1
        successors[edge.source[0]].append(edge.target[0])
    ready = [(position[node_id], node_id) for node_id in spec.node_ids if indegree[node_id] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node_id = heapq.heappop(ready)
        order.append(node_id)
        for nxt in successors[node_id]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, (position[nxt], nxt))
    return order, set(spec.node_ids) - set(order)


def iter_ancestors(spec: NetworkSpec, node_id: str) -> Iterable[str]:
    seen: set[str] = set()
    stack = [node_id]
    while stack:
        current = stack.pop()
        for edge in spec.incoming(current):
            if edge.source[0] not in seen:
                seen.add(edge.source[0])
                stack.append(edge.source[0])
    return seen
