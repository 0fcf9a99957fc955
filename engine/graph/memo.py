"""Per-node results kept between edits. Specs are immutable and an edit keeps every other
node's NodeSpec object, so a result that depends on one node alone (its type and params) is
looked up by that object's identity and only the changed nodes are worked out again: on a
1,000-block graph this is most of what makes an edit's analysis take milliseconds."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from engine.graph.spec import NodeSpec

T = TypeVar("T")


class NodeMemo(Generic[T]):
    def __init__(self, compute: Callable[[NodeSpec], T], limit: int = 50_000):
        self._compute = compute
        self._limit = limit
        self._results: dict[int, tuple[NodeSpec, T]] = {}

    def __call__(self, node: NodeSpec) -> T:
        hit = self._results.get(id(node))
        if hit is not None and hit[0] is node:  # the same object, not a reused id
            return hit[1]
        if len(self._results) >= self._limit:
            self._results.clear()
        value = self._compute(node)
        self._results[id(node)] = (node, value)
        return value
