"""The Analyze table as plain data (no Qt): one row per layer, in the order data flows.

Like MATLAB's analyzeNetwork: name, Keras type, activations (output shape), learnables,
MACs, receptive field and the problems found on the layer. The panel shows these rows;
`csv_text` is what "Copy as CSV" puts on the clipboard.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from engine.blocks.catalog import format_shape
from engine.graph.shapes import NetworkInfo, NodeInfo, ReceptiveField
from engine.graph.spec import NetworkSpec
from engine.graph.validate import ERROR, WARNING, Diagnostic
from desktop.formatting import MISSING, count

COLUMNS = ("Name", "Type", "Activations", "Learnables", "MACs", "Receptive field", "Problems")
NAME, TYPE, ACTIVATIONS, LEARNABLES, MACS, RECEPTIVE_FIELD, PROBLEMS = range(len(COLUMNS))
NUMERIC_COLUMNS = frozenset({ACTIVATIONS, LEARNABLES, MACS, RECEPTIVE_FIELD})  # sort by number

WHOLE_INPUT = "whole input"
UNKNOWN_SORT = -1.0  # unknown values sort before every known one
_WHOLE_INPUT_SORT = math.inf  # after every finite receptive field
_SEVERITY_ORDER = {ERROR: 0, WARNING: 1}


@dataclass(frozen=True)
class LayerRow:
    node_id: str
    name: str
    type: str
    output_shape: tuple | None     # without the batch axis; None = unknown
    learnables: int | None         # None: unknown until the shape is known
    macs: int | None
    receptive_field: ReceptiveField | None
    problems: tuple[str, ...] = ()  # messages, errors first
    severity: str | None = None    # the worst problem's severity, None when there are none

    @property
    def has_error(self) -> bool:
        return self.severity == ERROR

    def text(self, column: int) -> str:
        """What the table shows in `column`."""
        if column == NAME:
            return self.name
        if column == TYPE:
            return self.type
        if column == ACTIVATIONS:
            return MISSING if self.output_shape is None else format_shape(self.output_shape)
        if column == LEARNABLES:
            return count(self.learnables)
        if column == MACS:
            return count(self.macs)
        if column == RECEPTIVE_FIELD:
            return receptive_field_text(self.receptive_field)
        return "; ".join(self.problems)

    def sort_value(self, column: int) -> float | str:
        """Numbers for the numeric columns (so 1,000 sorts after 200), text otherwise."""
        if column == ACTIVATIONS:
            return _size(self.output_shape)
        if column == LEARNABLES:
            return UNKNOWN_SORT if self.learnables is None else float(self.learnables)
        if column == MACS:
            return UNKNOWN_SORT if self.macs is None else float(self.macs)
        if column == RECEPTIVE_FIELD:
            field = self.receptive_field
            if field is None:
                return UNKNOWN_SORT
            if _is_whole(field):
                return _WHOLE_INPUT_SORT
            return float(field.size[0] * field.size[1])
        if column == PROBLEMS:  # errors, then warnings, then clean layers
            return f"{_SEVERITY_ORDER.get(self.severity, 2)} {self.text(column).lower()}"
        return self.text(column).lower()

    def csv_values(self) -> list:
        """Plain values for CSV: whole numbers without separators, empty when unknown."""
        return [self.name, self.type,
                "" if self.output_shape is None else format_shape(self.output_shape),
                "" if self.learnables is None else self.learnables,
                "" if self.macs is None else self.macs,
                "" if self.receptive_field is None else receptive_field_text(self.receptive_field),
                "; ".join(self.problems)]


@dataclass(frozen=True)
class Totals:
    layers: int
    learnables: int | None  # None: some layer's shape (so its weights) is unknown
    macs: int | None  # None: unknown (a variable input size, or an unknown shape)
    errors: int
    warnings: int


def receptive_field_text(field: ReceptiveField | None) -> str:
    """16x16, "whole input", or the dash when unknown."""
    if field is None:
        return MISSING
    if _is_whole(field):
        return WHOLE_INPUT
    return f"{field.size[0]}x{field.size[1]}"


def _is_whole(field: ReceptiveField) -> bool:
    return field.whole_input or None in field.size


def _size(shape: tuple | None) -> float:
    """Activations per sample, for sorting; a variable axis counts as 1."""
    if shape is None:
        return UNKNOWN_SORT
    return float(math.prod(1 if v is None else v for v in shape))


def row_order(spec: NetworkSpec, info: NetworkInfo) -> list[str]:
    """Topological order, then any node it leaves out (those in a cycle), in spec order."""
    ordered = list(info.order)
    placed = set(ordered)
    return ordered + [node_id for node_id in spec.node_ids if node_id not in placed]


def _problems_by_node(diagnostics: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    found: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        if diagnostic.node_id is not None:
            found.setdefault(diagnostic.node_id, []).append(diagnostic)
    return found


def _row(node, info: NodeInfo | None, diagnostics: list[Diagnostic]) -> LayerRow:
    diagnostics = sorted(diagnostics, key=lambda d: _SEVERITY_ORDER.get(d.severity, 2))
    known = info is not None and info.output_shape is not None
    return LayerRow(
        node_id=node.id, name=node.name, type=node.type,
        output_shape=info.output_shape if known else None,
        learnables=info.params if known else None,
        macs=info.macs if known else None,
        receptive_field=info.receptive_field if known else None,
        problems=tuple(d.message for d in diagnostics),
        severity=diagnostics[0].severity if diagnostics else None,
    )


def rows(spec: NetworkSpec, info: NetworkInfo, diagnostics: list[Diagnostic]) -> list[LayerRow]:
    """One row per layer, in the order data flows through the network."""
    nodes = {node.id: node for node in spec.nodes}
    problems = _problems_by_node(diagnostics)
    return [_row(nodes[node_id], info.nodes.get(node_id), problems.get(node_id, []))
            for node_id in row_order(spec, info)]


def totals(layer_rows: list[LayerRow], diagnostics: list[Diagnostic]) -> Totals:
    macs = [row.macs for row in layer_rows]
    learnables = [row.learnables for row in layer_rows]
    return Totals(layers=len(layer_rows),
                  learnables=None if None in learnables else sum(learnables),
                  macs=None if any(m is None for m in macs) else sum(macs),
                  errors=sum(d.severity == ERROR for d in diagnostics),
                  warnings=sum(d.severity == WARNING for d in diagnostics))


def csv_text(layer_rows: list[LayerRow]) -> str:
    """A header line, then one line per row (spreadsheets read it as is)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in layer_rows:
        writer.writerow(row.csv_values())
    return buffer.getvalue()
