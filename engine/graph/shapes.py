"""Live shape inference: output shape, parameters, MACs and receptive field per node.

Pure formulas from the block catalogue, no TensorFlow: fast enough to run on every edit.
Never raises: a node whose inputs are missing or impossible gets `output_shape = None`
and a `problem`, and nodes downstream of it stay unknown rather than failing again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from engine.blocks.catalog import (GLOBAL, BLOCKS_BY_TYPE, Shape, ShapeProblem, Window,
                                   dense_equivalent_params, receptive_growth)
from engine.graph.memo import NodeMemo
from engine.graph.spec import NetworkSpec, topological_order

# Which parameters of a node are out of range: asked by infer and validate on every edit.
param_problems = NodeMemo(lambda node: BLOCKS_BY_TYPE[node.type].param_problems(node.params))


@dataclass(frozen=True)
class ReceptiveField:
    """How much of the input image one output position sees, and its step on the input grid.

    `size` is None along an axis when it covers the whole (variable-size) input."""

    size: tuple[int | None, int | None]
    stride: tuple[int, int]
    whole_input: bool = False

    def to_dict(self) -> dict:
        return {"size": list(self.size), "stride": list(self.stride), "whole_input": self.whole_input}


@dataclass(frozen=True)
class NodeInfo:
    output_shape: Shape | None
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int | None = None  # None: unknown (variable input size, or the shape is unknown)
    receptive_field: ReceptiveField | None = None
    dense_equivalent_params: int | None = None
    problem: ShapeProblem | None = None  # why output_shape is None when inputs were known

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


@dataclass(frozen=True)
class NetworkInfo:
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    cyclic: frozenset[str] = frozenset()

    @cached_property
    def trainable_params(self) -> int:
        return sum(info.trainable_params for info in self.nodes.values())

    @cached_property
    def non_trainable_params(self) -> int:
        return sum(info.non_trainable_params for info in self.nodes.values())

    @cached_property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @cached_property
    def total_macs(self) -> int | None:
        """MACs per sample; None when a variable input size makes them unknown."""
        values = [info.macs for info in self.nodes.values()]
        return None if any(v is None for v in values) else sum(values)

    @cached_property
    def weight_bytes(self) -> int:
        return 4 * self.total_params  # float32


def _incoming(spec: NetworkSpec) -> dict[str, list]:
    incoming: dict[str, list] = {node_id: [] for node_id in spec.node_ids}
    for edge in spec.edges:
        incoming[edge.target[0]].append(edge)
    return incoming


def infer(spec: NetworkSpec, previous: tuple[NetworkSpec, NetworkInfo] | None = None) -> NetworkInfo:
    """`previous`: the spec before an edit and its info. A node whose NodeSpec object, incoming
    connections and inputs' results are all unchanged keeps its result (the same object), so
    an edit costs what it changed, not the whole graph."""
    same_edges = previous is not None and previous[0].edges is spec.edges
    if same_edges and previous[0].node_ids == spec.node_ids:  # same connections: same order
        order, cyclic = list(previous[1].order), set(previous[1].cyclic)
    else:
        order, cyclic = topological_order(spec)
    incoming = _incoming(spec)
    nodes_by_id = spec.nodes_by_id
    old_nodes, old_incoming, old_results = {}, {}, {}
    if previous is not None:
        old_nodes, old_results = previous[0].nodes_by_id, previous[1].nodes
        old_incoming = incoming if same_edges else _incoming(previous[0])
    results: dict[str, NodeInfo] = {}
    for node_id in order:
        node = nodes_by_id[node_id]
        edges = incoming[node_id]
        kept = old_results.get(node_id)
        if kept is not None and old_nodes.get(node_id) is node \
                and (same_edges or old_incoming.get(node_id) == edges) \
                and all(results[e.source[0]] is old_results.get(e.source[0]) for e in edges):
            results[node_id] = kept
            continue
        block = BLOCKS_BY_TYPE[node.type]
        edges = sorted(edges, key=lambda e: e.target[1])
        sources = [results[e.source[0]] for e in edges]
        if len(edges) < block.min_inputs or any(s.output_shape is None for s in sources):
            results[node_id] = NodeInfo(output_shape=None)
            continue
        in_shapes = [s.output_shape for s in sources]
        if param_problems(node):  # validate() reports them; shapes wait for a fix
            results[node_id] = NodeInfo(output_shape=None)
            continue
        try:
            out = block.output_shape(node.params, in_shapes)
        except ShapeProblem as problem:
            results[node_id] = NodeInfo(output_shape=None, problem=problem)
            continue
        trainable, frozen = block.weights(node.params, in_shapes, out)
        dense_equivalent = None
        if block.shares_weights:
            dense_equivalent = dense_equivalent_params(in_shapes[0], out)
        results[node_id] = NodeInfo(
            output_shape=out, trainable_params=trainable, non_trainable_params=frozen,
            macs=block.macs(node.params, in_shapes, out),
            receptive_field=_receptive_field(block.window(node.params),
                                             [s.receptive_field for s in sources], node.params, node.type),
            dense_equivalent_params=dense_equivalent,
        )
    for node_id in cyclic:
        results[node_id] = NodeInfo(output_shape=None)
    return NetworkInfo(nodes=results, order=tuple(order), cyclic=frozenset(cyclic))


def _receptive_field(window: Window | str | None, inputs: list[ReceptiveField | None],
                     params: dict, type_name: str) -> ReceptiveField:
    if type_name == "InputLayer":
        return ReceptiveField(size=(1, 1), stride=(1, 1))
    known = [rf for rf in inputs if rf is not None]
    if any(rf.whole_input for rf in known):
        return next(rf for rf in known if rf.whole_input)
    # Merges: the widest branch decides what one output position can see.
    size = tuple(max(rf.size[axis] for rf in known) for axis in (0, 1))
    stride = tuple(max(rf.stride[axis] for rf in known) for axis in (0, 1))
    if window == GLOBAL:
        return ReceptiveField(size=(None, None), stride=stride, whole_input=True)
    if isinstance(window, Window):
        grown = [receptive_growth(size[axis], stride[axis], window, axis) for axis in (0, 1)]
        return ReceptiveField(size=(grown[0][0], grown[1][0]), stride=(grown[0][1], grown[1][1]))
    return ReceptiveField(size=size, stride=stride)
