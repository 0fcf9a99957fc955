"""What each card says (title, summary, shape, parameters, problems), computed only for the
blocks an edit changed: a block is unchanged when its NodeSpec is the same object (the spec
is immutable) and its analysis and problems compare equal to what the card shows."""

from __future__ import annotations

from desktop.formatting import compact
from desktop.document import ProjectDocument
from engine.blocks.catalog import BLOCKS_BY_TYPE, format_shape
from engine.graph.spec import GroupSpec, NetworkSpec


class CardContent:
    def __init__(self, document: ProjectDocument):
        self.document = document
        self._shown: dict[str, tuple] = {}

    def reset(self) -> None:
        self._shown.clear()

    def for_spec(self, spec: NetworkSpec) -> dict[str, dict | None]:
        """Per node: the set_content keywords when its card must change, else None."""
        info = self.document.info
        problems_of: dict[str, list] = {}
        for diagnostic in self.document.diagnostics:
            problems_of.setdefault(diagnostic.node_id, []).append(diagnostic)
        highest_port: dict[str, int] = {}
        for edge in spec.edges:
            target, port = edge.target
            if port > highest_port.get(target, -1):
                highest_port[target] = port
        result: dict[str, dict | None] = {}
        for node in spec.nodes:
            block = BLOCKS_BY_TYPE[node.type]
            node_info = info.nodes.get(node.id)
            problems = tuple(problems_of.get(node.id, ()))
            inputs = _input_count(block, highest_port.get(node.id))
            key = (node, node_info, problems, inputs)
            if self._shown.get(node.id) == key:
                result[node.id] = None
                continue
            self._shown[node.id] = key
            severity = _worst(problems)
            result[node.id] = dict(
                title=node.name, type_label=node.type.replace("2D", ""),
                summary=block.summary(node.params) or block.label,
                shape_text=format_shape(node_info.output_shape if node_info else None),
                params_text=_params_text(node_info), category=block.category,
                severity=severity, problem_count=len(problems), input_count=inputs,
                has_output=True, tooltip=_tooltip(node, block, problems))
        for gone in [n for n in self._shown if not spec.has_node(n)]:
            del self._shown[gone]
        return result

    def group_content(self, spec: NetworkSpec, group: GroupSpec) -> dict:
        """A collapsed composite's card: its exit's shape, its blocks' parameters and problems."""
        info = self.document.info
        members = set(group.node_ids)
        exits = [n for n in group.node_ids if not any(e.target[0] in members for e in spec.outgoing(n))]
        exit_shape = info.nodes[exits[-1]].output_shape if exits and exits[-1] in info.nodes else None
        params = sum(info.nodes[n].params for n in group.node_ids if n in info.nodes)
        problems = tuple(d for d in self.document.diagnostics if d.node_id in members)
        return dict(
            title=group.name, type_label=group.kind.capitalize(),
            summary=f"{len(group.node_ids)} blocks (double-click to expand)",
            shape_text=format_shape(exit_shape), params_text=f"{params:,} params",
            category="Composite", severity=_worst(problems), problem_count=len(problems),
            input_count=1, has_output=True, tooltip=f"<b>{group.name}</b>: a collapsed {group.kind} composite")


def _worst(problems) -> str | None:
    severities = {d.severity for d in problems}
    return "error" if "error" in severities else (next(iter(severities)) if severities else None)


def _input_count(block, highest_used_port: int | None) -> int:
    if block.max_inputs is not None:
        return block.max_inputs
    # Merges grow: every connected port plus one free port, at least their minimum.
    return max(block.min_inputs, (highest_used_port + 2) if highest_used_port is not None else 0)


def _params_text(node_info) -> str:
    if node_info is None or node_info.output_shape is None:
        return "parameters: ?"
    text = f"{node_info.params:,} params"
    if node_info.macs:
        text += f" · {compact(node_info.macs)} MACs"
    return text


def _tooltip(node, block, problems) -> str:
    lines = [f"<b>{node.name}</b> ({node.type})", block.help]
    lines += [f"<span style='color:#D32F2F'>{d.severity}: {d.message}</span>" for d in problems]
    return "<br>".join(lines)
