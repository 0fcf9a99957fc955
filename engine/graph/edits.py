"""Edits: pure functions from one spec to the next, each with its inverse.

`edit.apply(spec)` returns the new spec (or raises EditRefused for an impossible edit);
`edit.inverse(spec)`, given the spec *before* the edit, returns the edit that undoes it.
The GUI's undo stack wraps these; they are testable without Qt.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, Mapping

from engine.blocks.catalog import block_type
from engine.errors import EditRefused
from engine.graph.layout import room_on_edge
from engine.graph.spec import EdgeSpec, GroupSpec, NetworkSpec, NodeSpec, Position, iter_ancestors


class Edit(ABC):
    """One change to a spec. Every edit can be applied and can say how to undo itself."""

    @abstractmethod
    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        """The new spec; EditRefused when the edit is impossible."""

    @abstractmethod
    def inverse(self, spec: NetworkSpec) -> Edit:
        """Given the spec before the edit, the edit that restores it."""


def new_node(spec: NetworkSpec, type_name: str, params: Mapping[str, Any] | None = None,
             name: str | None = None, node_id: str | None = None) -> NodeSpec:
    """A node of a catalogue type with default params, a free id and a unique display name."""
    block = block_type(type_name)
    merged = block.default_params()
    merged.update(params or {})
    return NodeSpec(id=node_id or spec.new_id(), type=type_name, params=merged,
                    name=spec.unique_name(name or block.base_name))


@dataclass(frozen=True)
class AddNodes(Edit):
    """Add nodes (and the edges among/into them), e.g. one block, a paste or a composite."""

    nodes: tuple[NodeSpec, ...]
    edges: tuple[EdgeSpec, ...] = ()
    positions: Mapping[str, Position] | None = None
    groups: tuple[GroupSpec, ...] = ()

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        for node in self.nodes:
            if spec.has_node(node.id):
                raise EditRefused(f"A block with id {node.id!r} already exists.")
            block_type(node.type, node.id)
        taken = {g.id for g in spec.groups}
        if any(g.id in taken for g in self.groups):
            raise EditRefused("A group with that id already exists.")
        grown = replace(spec, nodes=spec.nodes + tuple(self.nodes),
                        layout={**spec.layout, **(self.positions or {})},
                        groups=spec.groups + tuple(self.groups))
        for edge in self.edges:
            grown = Connect(edge).apply(grown)
        return grown

    def inverse(self, spec: NetworkSpec) -> Edit:
        return RemoveNodes(tuple(node.id for node in self.nodes))


def AddNode(node: NodeSpec, position: Position | None = None) -> AddNodes:  # noqa: N802
    return AddNodes(nodes=(node,), positions={node.id: position} if position is not None else None)


@dataclass(frozen=True)
class RemoveNodes(Edit):
    node_ids: tuple[str, ...]

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        gone = set(self.node_ids)
        for node_id in gone:
            if not spec.has_node(node_id):
                raise EditRefused(f"There is no block {node_id!r} to remove.")
        groups = tuple(replace(g, node_ids=tuple(n for n in g.node_ids if n not in gone))
                       for g in spec.groups)
        return replace(
            spec,
            nodes=tuple(n for n in spec.nodes if n.id not in gone),
            edges=tuple(e for e in spec.edges if e.source[0] not in gone and e.target[0] not in gone),
            layout={k: v for k, v in spec.layout.items() if k not in gone},
            groups=tuple(g for g in groups if g.node_ids),
        )

    def inverse(self, spec: NetworkSpec) -> Edit:
        gone = set(self.node_ids)
        nodes = tuple(n for n in spec.nodes if n.id in gone)
        edges = tuple(e for e in spec.edges if e.source[0] in gone or e.target[0] in gone)
        positions = {k: v for k, v in spec.layout.items() if k in gone}
        # Restore node, edge and group order too, so undo gives back exactly the same spec.
        return _RestoreNodes(nodes=nodes, edges=edges, positions=positions,
                             order=tuple(spec.node_ids), edge_order=spec.edges, groups=spec.groups)


@dataclass(frozen=True)
class _RestoreNodes(Edit):
    nodes: tuple[NodeSpec, ...]
    edges: tuple[EdgeSpec, ...]
    positions: Mapping[str, Position]
    order: tuple[str, ...]
    edge_order: tuple[EdgeSpec, ...]
    groups: tuple[GroupSpec, ...] = ()

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        grown = replace(AddNodes(self.nodes, self.edges, self.positions).apply(spec), groups=self.groups)
        rank = {node_id: index for index, node_id in enumerate(self.order)}
        edge_rank = {edge: index for index, edge in enumerate(self.edge_order)}
        return replace(grown,
                       nodes=tuple(sorted(grown.nodes, key=lambda n: rank.get(n.id, len(rank)))),
                       edges=tuple(sorted(grown.edges, key=lambda e: edge_rank.get(e, len(edge_rank)))),
                       layout={k: grown.layout[k] for k in sorted(
                           grown.layout, key=lambda k: rank.get(k, len(rank)))})

    def inverse(self, spec: NetworkSpec) -> Edit:
        return RemoveNodes(tuple(node.id for node in self.nodes))


@dataclass(frozen=True)
class Connect(Edit):
    edge: EdgeSpec

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        (source, source_port), (target, target_port) = self.edge.source, self.edge.target
        for node_id in (source, target):
            if not spec.has_node(node_id):
                raise EditRefused(f"There is no block {node_id!r} to connect.")
        source_name, target_node = spec.node(source).name, spec.node(target)
        if source_port != 0:
            raise EditRefused(f"{source_name} has a single output.")
        block = block_type(target_node.type)
        if block.max_inputs == 0:
            raise EditRefused(f"{target_node.name} is an Input: nothing can feed into it.")
        if not block.accepts_port(target_port):
            raise EditRefused(f"{target_node.name} has no input port {target_port}.")
        if any(e.target == self.edge.target for e in spec.edges):
            raise EditRefused(f"Input {target_port} of {target_node.name} is already connected; "
                              "disconnect it first.")
        if source == target or target in iter_ancestors(spec, source):
            raise EditRefused(f"Connecting {source_name} to {target_node.name} would make a cycle: "
                              "data must flow one way.")
        return replace(spec, edges=spec.edges + (self.edge,))

    def inverse(self, spec: NetworkSpec) -> Edit:
        return Disconnect(self.edge)


@dataclass(frozen=True)
class Disconnect(Edit):
    edge: EdgeSpec

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        if self.edge not in spec.edges:
            raise EditRefused("That connection does not exist.")
        return replace(spec, edges=tuple(e for e in spec.edges if e != self.edge))

    def inverse(self, spec: NetworkSpec) -> Edit:
        return _Reconnect(self.edge, spec.edges.index(self.edge))


@dataclass(frozen=True)
class _Reconnect(Edit):
    """Connect at the original position in the edge list, so undo restores exactly."""

    edge: EdgeSpec
    index: int

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        connected = Connect(self.edge).apply(spec)
        edges = list(spec.edges)
        edges.insert(self.index, self.edge)
        return replace(connected, edges=tuple(edges))

    def inverse(self, spec: NetworkSpec) -> Edit:
        return Disconnect(self.edge)


@dataclass(frozen=True)
class SetParams(Edit):
    """Change some parameters of one node. Values of the wrong type are refused; values out
    of range are kept and reported by validate(), as half-typed values are a normal state."""

    node_id: str
    changes: Mapping[str, Any]

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        node = _existing(spec, self.node_id)
        block = block_type(node.type)
        canonical = {}
        for name, value in self.changes.items():
            try:
                canonical[name] = block.param(name).canonical(value)
            except KeyError:
                raise EditRefused(f"{node.type} has no parameter {name!r}.") from None
            except ValueError as error:
                raise EditRefused(f"{node.name}: {error}.") from None
        return _replace_node(spec, node.with_params(**canonical))

    def inverse(self, spec: NetworkSpec) -> Edit:
        node = _existing(spec, self.node_id)
        return SetParams(self.node_id, {name: node.params[name] for name in self.changes})


@dataclass(frozen=True)
class RenameNode(Edit):
    node_id: str
    name: str

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        node = _existing(spec, self.node_id)
        if not self.name.strip():
            raise EditRefused("A block name cannot be empty.")
        return _replace_node(spec, replace(node, name=self.name))

    def inverse(self, spec: NetworkSpec) -> Edit:
        return RenameNode(self.node_id, _existing(spec, self.node_id).name)


@dataclass(frozen=True)
class ChangeNodeType(Edit):
    """Swap a block for another type in place (keeps id, name, position and connections)."""

    node_id: str
    type: str
    params: Mapping[str, Any] | None = None

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        node = _existing(spec, self.node_id)
        block = block_type(self.type)
        params = block.default_params()
        params.update(self.params or {})
        changed = replace(node, type=self.type, params=params)
        kept = tuple(e for e in spec.edges if e.target[0] != node.id or block.accepts_port(e.target[1]))
        return replace(_replace_node(spec, changed), edges=kept)

    def inverse(self, spec: NetworkSpec) -> Edit:
        node = _existing(spec, self.node_id)
        dropped = tuple(e for e in spec.edges if e.target[0] == node.id
                        and not block_type(self.type).accepts_port(e.target[1]))
        restore = ChangeNodeType(node.id, node.type, dict(node.params))
        return CompositeEdit((restore, *[_Reconnect(e, spec.edges.index(e)) for e in dropped]))


@dataclass(frozen=True)
class SetGroupCollapsed(Edit):
    """Show a composite as one card (collapsed) or as its blocks (expanded)."""

    group_id: str
    collapsed: bool

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        try:
            group = spec.group(self.group_id)
        except KeyError:
            raise EditRefused(f"There is no group {self.group_id!r}.") from None
        changed = replace(group, collapsed=self.collapsed)
        return replace(spec, groups=tuple(changed if g.id == group.id else g for g in spec.groups))

    def inverse(self, spec: NetworkSpec) -> Edit:
        return SetGroupCollapsed(self.group_id, spec.group(self.group_id).collapsed)


@dataclass(frozen=True)
class MoveNodes(Edit):
    positions: Mapping[str, Position]

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        for node_id in self.positions:
            _existing(spec, node_id)
        return replace(spec, layout={**spec.layout, **self.positions})

    def inverse(self, spec: NetworkSpec) -> Edit:
        missing = [k for k in self.positions if k not in spec.layout]
        if missing:
            return CompositeEdit((MoveNodes({k: v for k, v in spec.layout.items() if k in self.positions}),
                                  _ForgetPositions(tuple(missing))))
        return MoveNodes({k: spec.layout[k] for k in self.positions})


@dataclass(frozen=True)
class _ForgetPositions(Edit):
    node_ids: tuple[str, ...]

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        return replace(spec, layout={k: v for k, v in spec.layout.items() if k not in self.node_ids})

    def inverse(self, spec: NetworkSpec) -> Edit:
        return MoveNodes({k: spec.layout[k] for k in self.node_ids if k in spec.layout})


@dataclass(frozen=True)
class InsertNodeOnEdge(Edit):
    """Put a new single-input block in the middle of a connection, rewiring both ends."""

    edge: EdgeSpec
    node: NodeSpec
    position: Position | None = None

    def _steps(self, spec: NetworkSpec) -> tuple[Edit, ...]:
        if self.edge not in spec.edges:
            raise EditRefused("That connection does not exist.")
        if block_type(self.node.type).max_inputs == 0:
            raise EditRefused("An Input block cannot be inserted on a connection.")
        position, room = self.position, {}
        ends = (self.edge.source[0], self.edge.target[0])
        if position is None and all(end in spec.layout for end in ends):
            # Without a position (a Problems fix), the block goes on the connection and
            # the blocks after it move along, so it lands where the user looks, on no other.
            position, room = room_on_edge(spec, *ends)
        steps = (Disconnect(self.edge), AddNode(self.node, position),
                 Connect(EdgeSpec(self.edge.source, (self.node.id, 0))),
                 _Reconnect(EdgeSpec((self.node.id, 0), self.edge.target), spec.edges.index(self.edge)))
        return steps + ((MoveNodes(room),) if room else ())

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        return CompositeEdit(self._steps(spec)).apply(spec)

    def inverse(self, spec: NetworkSpec) -> Edit:
        return CompositeEdit(self._steps(spec)).inverse(spec)


@dataclass(frozen=True)
class CompositeEdit(Edit):
    """Several edits as one undo step (applied in order, undone in reverse)."""

    edits: tuple[Edit, ...]

    def apply(self, spec: NetworkSpec) -> NetworkSpec:
        for edit in self.edits:
            spec = edit.apply(spec)
        return spec

    def inverse(self, spec: NetworkSpec) -> Edit:
        inverses = []
        for edit in self.edits:
            inverses.append(edit.inverse(spec))
            spec = edit.apply(spec)
        return CompositeEdit(tuple(reversed(inverses)))


def _existing(spec: NetworkSpec, node_id: str) -> NodeSpec:
    try:
        return spec.node(node_id)
    except KeyError:
        raise EditRefused(f"There is no block {node_id!r}.") from None


def _replace_node(spec: NetworkSpec, changed: NodeSpec) -> NetworkSpec:
    return replace(spec, nodes=tuple(changed if n.id == changed.id else n for n in spec.nodes))
