"""Validation: everything wrong with a graph, as diagnostics a student can act on.

`validate(spec)` never raises: half-finished graphs are the normal editing state. Each
diagnostic is attached to a node (and port where it matters) and, where a repair is
obvious, carries it as a list of edits the GUI can apply in one click.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

from engine.blocks.catalog import BLOCKS_BY_TYPE, format_shape
from engine.graph.edits import (ChangeNodeType, Edit, InsertNodeOnEdge, RenameNode,
                                SetParams, new_node)
from engine.graph.shapes import NetworkInfo, infer, param_problems
from engine.graph.spec import NetworkSpec

ERROR = "error"
WARNING = "warning"

# Keras layer names: no slashes, spaces or control characters, nothing that breaks file paths
# or scopes. ASCII only: TensorFlow refuses other letters in its name scopes (fit, predict).
_VALID_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Diagnostic:
    node_id: str | None
    severity: str
    message: str
    fix: tuple[Edit, ...] = ()
    fix_label: str = ""
    port: int | None = None

    def to_dict(self) -> dict:
        return {"node_id": self.node_id, "severity": self.severity, "message": self.message,
                "port": self.port, "fix": self.fix_label or None}


def validate(spec: NetworkSpec, info: NetworkInfo | None = None) -> list[Diagnostic]:
    info = info or infer(spec)
    found: list[Diagnostic] = []
    found += _structure(spec, info)
    found += _parameters(spec)
    found += _shapes(spec, info)
    found += _names(spec)
    found += _memory(spec, info)
    return found


TRAINING_BYTES_PER_PARAM = 16  # float32 weights, their gradients and Adam's two moments


@lru_cache(maxsize=1)
def physical_memory_bytes() -> int | None:
    """This machine's memory, or None where the OS does not say (then nothing is checked)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _memory(spec: NetworkSpec, info: NetworkInfo) -> list[Diagnostic]:
    """A network whose weights alone cannot be trained in this machine's memory."""
    memory = physical_memory_bytes()
    needed = TRAINING_BYTES_PER_PARAM * info.total_params
    if memory is None or needed <= memory or not info.nodes:
        return []
    largest = max(info.nodes, key=lambda node_id: info.nodes[node_id].params)
    name = spec.node(largest).name
    return [Diagnostic(largest, WARNING, f"Training needs at least {needed / 2**30:,.0f} GiB "
                       f"({info.total_params:,} parameters with their gradients and optimizer "
                       f"state) but this machine has {memory / 2**30:,.0f} GiB: it cannot train "
                       f"here. Shrink {name} ({info.nodes[largest].params:,} parameters), e.g. "
                       "with pooling or a smaller input before it.")]


# When a half-built graph has several blocks nothing reads from, the one that looks like a
# classifier head is the output the user means (not, say, a Flatten left dangling).
_HEAD_RANK = {"Dense": 2, "Activation": 2, "GlobalAveragePooling2D": 1, "GlobalMaxPooling2D": 1,
              "Flatten": 1}


def output_node_id(spec: NetworkSpec, info: NetworkInfo | None = None) -> str | None:
    """The network's output: the block nothing reads from (if several, the most head-like,
    then the deepest). Asked several times per edit (checks, the Train panel): the answer for
    the latest spec is kept."""
    last = _last_output[0]  # one (spec, answer) pair, replaced whole: safe across threads
    if last is not None and last[0] is spec:
        return last[1]
    found = _output_node_id(spec, info)
    _last_output[0] = (spec, found)
    return found


_last_output: list = [None]


def _output_node_id(spec: NetworkSpec, info: NetworkInfo | None) -> str | None:
    sinks = _sinks(spec)
    if not sinks:
        return None
    depth = _depths(spec, info or infer(spec))
    types = {node.id: node.type for node in spec.nodes}
    position = {node_id: index for index, node_id in enumerate(spec.node_ids)}
    return max(sinks, key=lambda node_id: (_HEAD_RANK.get(types[node_id], 0), depth.get(node_id, -1),
                                           -position[node_id]))


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == ERROR for d in diagnostics)


# -- checks ---------------------------------------------------------------------------------

def _sinks(spec: NetworkSpec) -> list[str]:
    read = {e.source[0] for e in spec.edges}
    return [n.id for n in spec.nodes if n.id not in read and n.type != "InputLayer"]


def _incoming_ports(spec: NetworkSpec) -> dict[str, list]:
    """node id -> its incoming edges; built once so checks stay linear in graph size."""
    incoming: dict[str, list] = {node_id: [] for node_id in spec.node_ids}
    for edge in spec.edges:
        incoming[edge.target[0]].append(edge)
    return incoming


def _depths(spec: NetworkSpec, info: NetworkInfo) -> dict[str, int]:
    incoming = _incoming_ports(spec)
    depth: dict[str, int] = {}
    for node_id in info.order:
        depth[node_id] = 1 + max((depth[e.source[0]] for e in incoming[node_id]), default=-1)
    return depth


def _structure(spec: NetworkSpec, info: NetworkInfo) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    inputs = [n for n in spec.nodes if n.type == "InputLayer"]
    if not inputs:
        found.append(Diagnostic(None, ERROR, "The network has no Input block: add one and connect it "
                                "to the first layer."))
    for extra in inputs[1:]:
        found.append(Diagnostic(extra.id, ERROR, f"{extra.name}: only one Input block is supported; "
                                "remove the extra one."))
    non_inputs = [n for n in spec.nodes if n.type != "InputLayer"]
    if not non_inputs:
        found.append(Diagnostic(None, ERROR, "The network has no layers after the Input: add blocks "
                                "ending in a Dense layer with one unit per class."))
    for node_id in sorted(info.cyclic, key=spec.node_ids.index):
        found.append(Diagnostic(node_id, ERROR, f"{spec.node(node_id).name} is part of a cycle (or "
                                "fed by one): data must flow one way. Remove one of the connections."))

    incoming = _incoming_ports(spec)
    for node in spec.nodes:
        block = BLOCKS_BY_TYPE[node.type]
        connected = [e.target[1] for e in incoming[node.id]]
        if block.max_inputs == 1 and not connected:
            found.append(Diagnostic(node.id, ERROR, f"{node.name} has no input: connect a block's "
                                    "output to it.", port=0))
        elif block.takes_list and len(connected) < block.min_inputs:
            how_many = "exactly" if block.max_inputs == block.min_inputs else "at least"
            found.append(Diagnostic(node.id, ERROR, f"{node.name} ({node.type}) needs {how_many} "
                                    f"{block.min_inputs} inputs; it has {len(connected)}.",
                                    port=len(connected)))

    output = output_node_id(spec, info)
    if output is not None:
        # One error per dead end (a block whose result goes nowhere), not one per block
        # behind it: a single missing connection should read as a single problem.
        output_name = spec.node(output).name
        for sink in _sinks(spec):
            if sink != output:
                found.append(Diagnostic(sink, ERROR, f"{spec.node(sink).name} is a dead end: its "
                                        f"result does not reach the output ({output_name}). "
                                        "Connect it onward or delete it."))
        out_node = spec.node(output)
        out_shape = info.nodes[output].output_shape
        if out_shape is not None and len(out_shape) != 1:
            found.append(Diagnostic(output, WARNING, f"The network's output ({out_node.name}) is "
                                    f"{format_shape(out_shape)}, not one score per class. End with "
                                    "global pooling or Flatten, then Dense."))
    return found


def _parameters(spec: NetworkSpec) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for node in spec.nodes:
        for param, problem in param_problems(node):
            try:
                fixed = param.clamp(param.canonical(node.params.get(param.name)))
            except ValueError:
                fixed = param.default
            found.append(Diagnostic(node.id, ERROR, f"{node.name}: {problem}",
                                    fix=(SetParams(node.id, {param.name: fixed}),),
                                    fix_label=f"Set {param.name} to {fixed!r}"))
    return found


def _shapes(spec: NetworkSpec, info: NetworkInfo) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    incoming = _incoming_ports(spec)
    for node in spec.nodes:
        node_info = info.nodes.get(node.id)
        if node_info is None:
            continue
        problem = node_info.problem
        if problem is not None:
            fix: tuple[Edit, ...] = ()
            label = ""
            if node.type == "Add":
                fix, label = _projection_fix(spec, info, node.id)
            elif problem.fix_params:
                fix = (SetParams(node.id, problem.fix_params),)
                label = "Set " + ", ".join(f"{k} to '{v}'" for k, v in problem.fix_params.items())
            elif problem.fix_type:
                fix = (ChangeNodeType(node.id, problem.fix_type),)
                label = f"Replace with {problem.fix_type}"
            found.append(Diagnostic(node.id, ERROR, f"{node.name}: {problem.message}", fix=fix,
                                    fix_label=label))
            continue
        if BLOCKS_BY_TYPE[node.type].family == "dense":
            edges = sorted(incoming[node.id], key=lambda e: e.target[1])
            in_shape = info.nodes[edges[0].source[0]].output_shape if edges else None
            if in_shape is not None and len(in_shape) == 3:
                pool = new_node(spec, "GlobalAveragePooling2D")
                found.append(Diagnostic(
                    node.id, WARNING,
                    f"{node.name} receives a feature map {format_shape(in_shape)}, so it acts on each "
                    "position separately. Add Flatten or global pooling before it for one vector "
                    "per image.", fix=(InsertNodeOnEdge(edges[0], pool),),
                    fix_label="Insert GlobalAveragePooling2D before it"))
    return found


def _projection_fix(spec: NetworkSpec, info: NetworkInfo, add_id: str) -> tuple[tuple[Edit, ...], str]:
    """1x1 Conv with the right stride and filters on the shortcut(s) that do not match.

    The target shape is the input with the smallest grid (the main path, which was
    downsampled); each other input is projected onto it."""
    edges = spec.incoming(add_id)
    shapes = [info.nodes[e.source[0]].output_shape for e in edges]
    if any(s is None or len(s) != 3 for s in shapes):
        return (), ""
    target = min(shapes, key=lambda s: (s[0] or 0) * (s[1] or 0))
    edits: list[Edit] = []
    working = spec
    for edge, shape in zip(edges, shapes):
        if shape == target:
            continue
        strides = []
        for axis in (0, 1):
            have, want = shape[axis], target[axis]
            if have is None or want is None:
                strides.append(1)
                continue
            stride = max(1, -(-have // want))
            if (have - 1) // stride + 1 != want:
                return (), ""
            strides.append(stride)
        projection = new_node(working, "Conv2D",
                              {"filters": target[2], "kernel_size": [1, 1], "strides": strides,
                               "padding": "same", "activation": None},
                              name="projection")
        edit = InsertNodeOnEdge(edge, projection)
        working = edit.apply(working)
        edits.append(edit)
    if not edits:
        return (), ""
    return tuple(edits), "Add a 1x1 Conv2D projection on the shortcut"


def _names(spec: NetworkSpec) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    seen: dict[str, str] = {}
    for node in spec.nodes:
        if not _VALID_NAME.fullmatch(node.name):  # match() let a final newline through
            cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "_", node.name).strip("_") or "block"
            cleaned = spec.unique_name(cleaned)
            found.append(Diagnostic(node.id, ERROR, f"Block name {node.name!r} may only use ASCII "
                                    "letters, digits, '_', '-' and '.'.",
                                    fix=(RenameNode(node.id, cleaned),),
                                    fix_label=f"Rename to {cleaned}"))
        elif node.name in seen:
            renamed = spec.unique_name(node.name)
            found.append(Diagnostic(node.id, ERROR, f"Two blocks are named {node.name!r}; names must be "
                                    "unique.", fix=(RenameNode(node.id, renamed),),
                                    fix_label=f"Rename to {renamed}"))
        seen.setdefault(node.name, node.id)
    return found


