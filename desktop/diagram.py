"""The network as a "building blocks" figure (lecture notes, section 4.2.4).

Feature maps are drawn as 3-D boxes, like the classic LeNet/AlexNet figures: the front
face is height (H) by thickness (channels, C), the oblique side face is the spatial grid
H x W, and operations are arrows between the boxes, labelled with what they do ("conv 5x5
+ tanh", "max pool 2x2", "dense"). A small window on the side face of a box shows the
kernel (receptive window) of the convolution or pooling that reads it. Vectors (after
Flatten, global pooling or Dense) are thin tall bars. The shape is written under each box.

Element-wise, shape-preserving blocks (Activation, Dropout, BatchNormalization) get no box
of their own: they are folded into the label of the operation next to them, so a
conv -> BN -> ReLU chain is one arrow "conv 3x3 + BN + ReLU".

Branching networks (residual, inception) use the layered layout of engine.graph.layout:
depth is the column, parallel branches stack vertically, fan-outs share a vertical trunk,
merges collect every branch on a trunk before one labelled arrow, and long shortcuts run
in a lane above (or below) the blocks they skip.

Pure QPainter: the same drawing goes to a QImage (PNG), an SVG or a widget. Never imports
TensorFlow/Keras.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import (QColor, QFont, QFontMetricsF, QGuiApplication, QImage,
                           QPainter, QPainterPath, QPen, QPolygonF)

from engine.blocks.catalog import BLOCKS_BY_TYPE, format_shape
from engine.errors import ProjectError
from engine.graph.io import atomic_write_bytes
from engine.graph.layout import layered_positions
from engine.graph.shapes import NetworkInfo, infer
from engine.graph.spec import EdgeSpec, NetworkSpec, NodeSpec, topological_order
from desktop.style import CATEGORY_COLORS

# -- look -------------------------------------------------------------------------------------

BACKGROUND = QColor("#FFFFFF")
TEXT_COLOR = QColor("#1E1E1E")
MUTED_TEXT = QColor("#6B6B6B")
ARROW_COLOR = QColor("#3C3C3C")
UNKNOWN_COLOR = QColor("#8A8A8A")

FONT_FAMILIES = ["Segoe UI", "Helvetica Neue", "Arial", "DejaVu Sans", "Sans Serif"]
LABEL_PX, SHAPE_PX, NAME_PX, TITLE_PX, SUBTITLE_PX = 12, 12, 11, 17, 12

# Box sizes (pixels): sub-linear in the tensor size, clamped, so 224x224 and 7x7 both read.
SPATIAL_SCALE, SPATIAL_MIN, SPATIAL_MAX = 17.0, 24.0, 190.0  # sqrt(H or W) -> px
CHANNEL_SCALE, CHANNEL_MIN, CHANNEL_MAX = 3.0, 4.0, 60.0      # sqrt(C) -> px
OBLIQUE_X, OBLIQUE_Y = 0.48, 0.38                             # depth W drawn up-right
BAR_THICKNESS, BAR_DEPTH = 10.0, 12.0                          # vectors: thin tall bars
BAR_SCALE, BAR_OFFSET, BAR_MIN, BAR_MAX = 10.0, 8.0, 16.0, 160.0  # log2(units) -> px
UNKNOWN_SIZE = (50.0, 50.0, 14.0)                              # h, depth, thickness of "?"
DEFAULT_SPATIAL = 32                                           # for a variable (None) size

MARGIN = 28.0
TITLE_GAP = 18.0
V_GAP = 34.0          # between boxes stacked in one column
MIN_GAP = 44.0        # between columns
TRUNK_MARGIN = 12.0   # from a box to the vertical trunk of its fan-out
TRUNK_STEP = 7.0      # between two trunks in one gap
LABEL_PAD = 6.0
LABEL_WRAP = 104.0    # labels wrap onto a second line past this width
ARROW_SIZE = 7.0
LANE_GAP = 16.0       # between a shortcut lane and the blocks it passes
NAME_MAX = 150.0      # names are elided past this width

FOLDABLE = {"Activation", "Dropout", "BatchNormalization"}
WINDOWED = {"Conv2D", "MaxPooling2D", "AveragePooling2D", "WeightedAveragePooling2D"}
MERGES = {"Add", "Concatenate"}

_ACTIVATION_TEXT = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU",
                    "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax", "linear": "linear"}


# -- what each block says on its arrow ----------------------------------------------------------

def _activation_text(name) -> str | None:
    if not name or name == "linear":
        return None
    return _ACTIVATION_TEXT.get(name, str(name))


def _pair(value) -> str:
    try:
        return f"{int(value[0])}x{int(value[1])}"
    except (TypeError, ValueError, IndexError):
        return "?"


def _stride_suffix(strides, window=None) -> str:
    try:
        strides = [int(strides[0]), int(strides[1])]
    except (TypeError, ValueError, IndexError):
        return ""
    if window is not None and strides == list(window):
        return ""
    if strides == [1, 1] and window is None:
        return ""
    return f", s{strides[0]}" if strides[0] == strides[1] else f", s{strides[0]}x{strides[1]}"


def operation_parts(node: NodeSpec) -> list[str]:
    """The words for one block on an arrow: the operation, then its built-in activation."""
    p = node.params
    kind = node.type
    try:
        if kind == "Conv2D":
            parts = [f"conv {_pair(p['kernel_size'])}{_stride_suffix(p['strides'])}"]
            act = _activation_text(p.get("activation"))
            return parts + ([act] if act else [])
        if kind in ("MaxPooling2D", "AveragePooling2D", "WeightedAveragePooling2D"):
            word = {"MaxPooling2D": "max", "AveragePooling2D": "avg",
                    "WeightedAveragePooling2D": "weighted"}[kind]
            pool = p["pool_size"]
            strides = p.get("strides")
            suffix = "" if strides is None else _stride_suffix(strides, [int(v) for v in pool])
            return [f"{word} pool {_pair(pool)}{suffix}"]
        if kind == "GlobalAveragePooling2D":
            return ["global avg pool"]
        if kind == "GlobalMaxPooling2D":
            return ["global max pool"]
        if kind == "Dense":
            act = _activation_text(p.get("activation"))
            return ["dense"] + ([act] if act else [])
        if kind == "Flatten":
            return ["flatten"]
        if kind == "ZeroPadding2D":
            return [BLOCKS_BY_TYPE[kind].summary(p).replace("pad", "zero pad", 1)]
        if kind == "Add":
            return ["add"]
        if kind == "Concatenate":
            return ["concat"]
        if kind == "BatchNormalization":
            return ["BN"]
        if kind == "Dropout":
            return [f"dropout {float(p['rate']):g}"]
        if kind == "Activation":
            return [_ACTIVATION_TEXT.get(p.get("activation"), str(p.get("activation")))]
        if kind == "InputLayer":
            return ["input"]
    except (KeyError, TypeError, ValueError):
        pass
    block = BLOCKS_BY_TYPE.get(kind)
    return [block.label.lower() if block else kind]


# -- the figure as data -------------------------------------------------------------------------

@dataclass
class _Item:
    """One drawn box or bar: a block and the element-wise blocks folded into it."""

    id: str
    type: str
    name: str
    category: str
    parts: list[str]               # the label of the arrow(s) into it
    shape: tuple | None
    kind: str = "box"              # "box", "bar" or "unknown"
    h: float = 0.0                 # front face height
    t: float = 0.0                 # front face width (thickness)
    dx: float = 0.0                # oblique depth, x
    dy: float = 0.0                # oblique depth, y (upwards)
    column: int = 0
    row: float = 0.0               # index within the layered layer (tie-break)
    cx: float = 0.0
    cy: float = 0.0
    shape_text: str = ""
    name_text: str = ""
    text_h: float = 0.0
    text_w: float = 0.0

    @property
    def sil_w(self) -> float:
        return self.t + self.dx

    @property
    def sil_h(self) -> float:
        return self.h + self.dy

    @property
    def left(self) -> float:
        return self.cx - self.sil_w / 2

    @property
    def right(self) -> float:
        return self.cx + self.sil_w / 2

    @property
    def top_offset(self) -> float:
        return -self.sil_h / 2

    @property
    def bottom_offset(self) -> float:
        return self.sil_h / 2 + self.text_h

    def rect(self) -> QRectF:
        """Box and the text under it, in one rectangle."""
        width = max(self.sil_w, self.text_w)
        return QRectF(self.cx - width / 2, self.cy + self.top_offset, width,
                      self.bottom_offset - self.top_offset)

    def box_rect(self) -> QRectF:
        return QRectF(self.left, self.cy - self.sil_h / 2, self.sil_w, self.sil_h)

    def text_rect(self) -> QRectF:
        return QRectF(self.cx - self.text_w / 2, self.cy + self.sil_h / 2, self.text_w, self.text_h)


@dataclass
class _Edge:
    source: str
    target: str
    prefix: list[str] = field(default_factory=list)
    points: list[QPointF] = field(default_factory=list)
    arrow: bool = True
    kernel: bool = False


@dataclass
class _Label:
    lines: list[str]
    rect: QRectF


def _font(px: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(px)
    font.setBold(bold)
    return font


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _spatial_px(size) -> float:
    size = DEFAULT_SPATIAL if size is None else max(1, int(size))
    return _clamp(SPATIAL_SCALE * math.sqrt(size), SPATIAL_MIN, SPATIAL_MAX)


def _channel_px(channels) -> float:
    channels = 8 if channels is None else max(1, int(channels))
    return _clamp(CHANNEL_SCALE * math.sqrt(channels) + 2.0, CHANNEL_MIN, CHANNEL_MAX)


def _bar_px(units) -> float:
    units = 64 if units is None else max(1, int(units))
    return _clamp(BAR_SCALE * math.log2(units + 1) + BAR_OFFSET, BAR_MIN, BAR_MAX)


def _ensure_app() -> None:
    """Fonts need a QGuiApplication; exports from a script get an offscreen one."""
    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        global _APP
        _APP = QGuiApplication([])


_APP = None


class DiagramRenderer:
    """Lays out a network figure once; `size` and `paint` can then be used any number of
    times (a widget, a PNG, an SVG)."""

    def __init__(self, spec: NetworkSpec, info: NetworkInfo | None = None):
        _ensure_app()
        self.spec = spec
        self.info = info if info is not None else infer(spec)
        self.label_font, self.shape_font = _font(LABEL_PX), _font(SHAPE_PX, bold=True)
        self.name_font, self.title_font = _font(NAME_PX), _font(TITLE_PX, bold=True)
        self.subtitle_font = _font(SUBTITLE_PX)
        self.note_font = _font(NAME_PX)
        self.note_font.setItalic(True)
        self.items: dict[str, _Item] = {}
        self.edges: list[_Edge] = []
        self.labels: dict[str, _Label] = {}     # by target item id (one per merge)
        self.edge_labels: list[_Label] = []     # per-edge labels (prefix ops on a fan-out)
        self.notes: list[_Label] = []           # "identity" on residual shortcuts
        self._build()
        self._size_items()
        self._place_columns_y()
        self._place_columns_x()
        self._route()
        self._frame()

    # -- structure ---------------------------------------------------------------------------
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

    # -- sizes -------------------------------------------------------------------------------
    def _size_items(self) -> None:
        shape_metrics = QFontMetricsF(self.shape_font)
        name_metrics = QFontMetricsF(self.name_font)
        for item in self.items.values():
            shape = item.shape
            if shape is None:
                item.kind = "unknown"
                item.h, depth, item.t = UNKNOWN_SIZE
            elif len(shape) <= 1:
                item.kind = "bar"
                item.h = _bar_px(shape[0] if shape else 1)
                item.t, depth = BAR_THICKNESS, BAR_DEPTH
            else:
                item.kind = "box"
                dims = list(shape[-3:]) if len(shape) >= 3 else [shape[0], shape[1], 1]
                item.h, depth, item.t = _spatial_px(dims[0]), _spatial_px(dims[1]), _channel_px(dims[2])
            item.dx, item.dy = OBLIQUE_X * depth, OBLIQUE_Y * depth
            if item.kind == "bar":
                item.dx, item.dy = 0.5 * depth, 0.42 * depth
            item.shape_text = format_shape(shape)
            item.name_text = name_metrics.elidedText(item.name, Qt.TextElideMode.ElideMiddle, NAME_MAX)
            item.text_w = max(shape_metrics.horizontalAdvance(item.shape_text),
                              name_metrics.horizontalAdvance(item.name_text)) + 4
            item.text_h = 6 + shape_metrics.height() + name_metrics.height()

    def _label_lines(self, parts: list[str]) -> list[str]:
        metrics = QFontMetricsF(self.label_font)
        lines: list[str] = []
        for part in parts:
            if not lines:
                lines.append(part)
                continue
            joined = f"{lines[-1]} + {part}"
            if metrics.horizontalAdvance(joined) <= LABEL_WRAP:
                lines[-1] = joined
            else:
                lines.append(f"+ {part}")
        return lines or [""]

    def _label_size(self, lines: list[str]) -> QSizeF:
        metrics = QFontMetricsF(self.label_font)
        width = max(metrics.horizontalAdvance(line) for line in lines)
        return QSizeF(width + 2 * LABEL_PAD, metrics.height() * len(lines) + 2)

    # -- placement ---------------------------------------------------------------------------
    def _columns(self) -> list[list[_Item]]:
        count = 1 + max((item.column for item in self.items.values()), default=-1)
        columns: list[list[_Item]] = [[] for _ in range(count)]
        for item in self.items.values():
            columns[item.column].append(item)
        return columns

    def _place_columns_y(self) -> None:
        parents: dict[str, list[str]] = {item_id: [] for item_id in self.items}
        for edge in self.edges:
            parents[edge.target].append(edge.source)
        for column in self._columns():
            desired = {}
            for item in column:
                ys = [self.items[p].cy for p in parents[item.id] if self.items[p].column < item.column]
                desired[item.id] = sum(ys) / len(ys) if ys else 0.0
            column.sort(key=lambda item: (desired[item.id], item.row))
            placed: list[float] = []
            for index, item in enumerate(column):
                y = desired[item.id]
                if index:
                    above = column[index - 1]
                    y = max(y, placed[-1] + above.bottom_offset + V_GAP - item.top_offset)
                placed.append(y)
            shift = sum(desired[item.id] - y for item, y in zip(column, placed)) / max(1, len(column))
            for item, y in zip(column, placed):
                item.cy = y + shift

    def _outgoing(self, item_id: str) -> list[_Edge]:
        return [e for e in self.edges if e.source == item_id]

    def _incoming(self, item_id: str) -> list[_Edge]:
        return [e for e in self.edges if e.target == item_id]

    def _is_merge(self, item_id: str) -> bool:
        return len(self._incoming(item_id)) > 1 or self.items[item_id].type in MERGES

    def _needs_trunk(self, item: _Item) -> bool:
        """A source whose arrows bend to other rows gets a vertical trunk beside it."""
        return any(abs(self.items[e.target].cy - item.cy) > 0.5 and not self._is_merge(e.target)
                   and self.items[e.target].column == item.column + 1
                   for e in self._outgoing(item.id))

    def _place_columns_x(self) -> None:
        columns = self._columns()
        self.label_sizes: dict[str, QSizeF] = {}
        for edge in self.edges:
            lines = self._label_lines(edge.prefix + self.items[edge.target].parts)
            self.label_sizes[f"{edge.source}->{edge.target}"] = self._label_size(lines)
        x = 0.0
        self.column_left: list[float] = []
        self.column_right: list[float] = []
        self.trunk_x: dict[str, float] = {}
        for index, column in enumerate(columns):
            if index:
                trunks = [item for item in columns[index - 1] if self._needs_trunk(item)]
                widest = max((self.label_sizes[f"{e.source}->{e.target}"].width()
                              for item in column for e in self._incoming(item.id)), default=0.0)
                merge_room = TRUNK_MARGIN if any(self._is_merge(item.id) for item in column) else 0.0
                gap = (TRUNK_MARGIN + TRUNK_STEP * max(0, len(trunks) - 1) + widest + merge_room
                       + ARROW_SIZE + 6)
                gap = max(MIN_GAP, gap)
                for slot, item in enumerate(trunks):
                    self.trunk_x[item.id] = x + TRUNK_MARGIN + TRUNK_STEP * slot
                x += gap
            width = max((max(item.sil_w, item.text_w) for item in column), default=0.0)
            for item in column:
                item.cx = x + width / 2
            self.column_left.append(x)
            self.column_right.append(x + width)
            x += width

    # -- arrows ------------------------------------------------------------------------------
    def _obstacles(self, exclude: set[str]) -> list[QRectF]:
        rects = [rect.adjusted(-4, -4, 4, 4) for item in self.items.values()
                 if item.id not in exclude for rect in (item.box_rect(), item.text_rect())]
        rects.extend(label.rect for key, label in self.labels.items() if key not in exclude)
        rects.extend(label.rect for label in self.edge_labels)
        return rects

    def _route(self) -> None:
        # Labels first: they sit on the last, horizontal piece of each arrow.
        merge_trunk: dict[str, float] = {}
        for edge in self.edges:
            source, target = self.items[edge.source], self.items[edge.target]
            size = self.label_sizes[f"{edge.source}->{edge.target}"]
            lines = self._label_lines(edge.prefix + target.parts)
            if target.column <= source.column:
                continue  # a cycle: drawn, not labelled
            if self._is_merge(target.id):
                if target.id in self.labels:
                    continue
                start = target.left - size.width() - ARROW_SIZE - 4
                merge_trunk[target.id] = start
            elif abs(source.cy - target.cy) > 0.5 and source.id in self.trunk_x:
                start = self.trunk_x[source.id]
            else:
                start = source.right
            end = target.left - ARROW_SIZE
            centre = max(start + size.width() / 2, (start + end) / 2)
            rect = QRectF(centre - size.width() / 2, target.cy - 3 - size.height(),
                          size.width(), size.height())
            label = _Label(lines=lines, rect=rect)
            if self._is_merge(target.id):
                self.labels[target.id] = label
            else:
                self.edge_labels.append(label)

        self.lanes: list[tuple[float, float, float]] = []
        for edge in self.edges:
            source, target = self.items[edge.source], self.items[edge.target]
            start = QPointF(source.right, source.cy)
            end = QPointF(target.left, target.cy)
            if target.column <= source.column:
                edge.points = self._lane_path(source, target, start, end,
                                              source.right + TRUNK_MARGIN, target.left - TRUNK_MARGIN)
                continue
            if self._is_merge(target.id):
                trunk = merge_trunk[target.id]
                if self._clear(start.y(), source.right, trunk, {source.id, target.id}):
                    edge.points = [start, QPointF(trunk, source.cy), QPointF(trunk, target.cy), end]
                else:
                    exit_x = self.trunk_x.get(source.id, source.right + TRUNK_MARGIN)
                    edge.points = self._lane_path(source, target, start, end, exit_x, trunk)
                    if target.type == "Add":
                        self._note_on_lane("identity", edge.points)
            elif abs(source.cy - target.cy) > 0.5:
                trunk = self.trunk_x.get(source.id, source.right + TRUNK_MARGIN)
                edge.points = [start, QPointF(trunk, source.cy), QPointF(trunk, target.cy), end]
            else:
                edge.points = [start, end]
                edge.kernel = (target.type in WINDOWED and source.kind == "box"
                               and len(self._outgoing(source.id)) == 1)
            edge.points = _dedupe(edge.points)

    def _note_on_lane(self, text: str, points: list[QPointF]) -> None:
        """A word on the longest horizontal piece of a shortcut, on its outer side."""
        pieces = [(a, b) for a, b in zip(points, points[1:]) if abs(a.y() - b.y()) < 0.01]
        if not pieces:
            return
        a, b = max(pieces, key=lambda piece: abs(piece[1].x() - piece[0].x()))
        metrics = QFontMetricsF(self.note_font)
        width, height = metrics.horizontalAdvance(text) + 8, metrics.height()
        if width > abs(b.x() - a.x()) - 16:
            return
        outer_up = a.y() <= min(points[0].y(), points[-1].y())
        top = a.y() - height - 1 if outer_up else a.y() + 1
        self.notes.append(_Label([text], QRectF((a.x() + b.x() - width) / 2, top, width, height)))

    def _clear(self, y: float, x0: float, x1: float, exclude: set[str]) -> bool:
        for rect in self._obstacles(exclude):
            if rect.top() < y < rect.bottom() and rect.left() < x1 and rect.right() > x0:
                return False
        return True

    def _lane_path(self, source: _Item, target: _Item, start: QPointF, end: QPointF,
                   exit_x: float, entry_x: float) -> list[QPointF]:
        low, high = min(exit_x, entry_x), max(exit_x, entry_x)
        blocking = [r for r in self._obstacles({source.id, target.id})
                    if r.left() < high and r.right() > low]
        blocking += [source.rect(), target.rect()] if target.column <= source.column else []
        top = min((r.top() for r in blocking), default=min(start.y(), end.y())) - LANE_GAP
        bottom = max((r.bottom() for r in blocking), default=max(start.y(), end.y())) + LANE_GAP
        above = abs(start.y() - top) + abs(end.y() - top)
        below = abs(start.y() - bottom) + abs(end.y() - bottom)
        going_up = above <= below
        lane = top if going_up else bottom
        # Keep apart from lanes already used over the same stretch.
        moved = True
        while moved:
            moved = False
            for lo, hi, y in self.lanes:
                if lo < high and hi > low and abs(y - lane) < 8:
                    lane = y - 10 if going_up else y + 10
                    moved = True
        self.lanes.append((low, high, lane))
        return _dedupe([start, QPointF(exit_x, start.y()), QPointF(exit_x, lane),
                        QPointF(entry_x, lane), QPointF(entry_x, end.y()), end])

    # -- frame -------------------------------------------------------------------------------
    def _frame(self) -> None:
        bounds = QRectF()
        for item in self.items.values():
            bounds = bounds.united(item.rect())
        for label in list(self.labels.values()) + self.edge_labels + self.notes:
            bounds = bounds.united(label.rect)
        for edge in self.edges:
            for point in edge.points:
                bounds = bounds.united(QRectF(point.x() - 1, point.y() - 4, 2, 8))
        self.title = self.spec.name or "Untitled"
        total = self.info.total_params
        drawn = len(self.spec.nodes)
        self.subtitle = f"{drawn} block{'s' if drawn != 1 else ''} \u00b7 {total:,} parameters"
        title_metrics, sub_metrics = QFontMetricsF(self.title_font), QFontMetricsF(self.subtitle_font)
        self.title_h = title_metrics.height() + sub_metrics.height() + TITLE_GAP
        title_w = max(title_metrics.horizontalAdvance(self.title),
                      sub_metrics.horizontalAdvance(self.subtitle))
        if bounds.isNull():
            bounds = QRectF(0, 0, 0, 0)
        self.bounds = bounds
        self.offset = QPointF(MARGIN - bounds.left(), MARGIN + self.title_h - bounds.top())
        self.size = QSizeF(math.ceil(max(bounds.width(), title_w) + 2 * MARGIN),
                           math.ceil(bounds.height() + self.title_h + 2 * MARGIN))

    # -- painting ----------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.fillRect(QRectF(QPointF(0, 0), self.size), BACKGROUND)
        self._paint_title(painter)
        painter.translate(self.offset)
        for edge in self.edges:
            self._paint_edge(painter, edge)
        for item in self.items.values():
            self._paint_item(painter, item)
        for edge in self.edges:
            if edge.kernel:
                self._paint_kernel(painter, edge)
        for edge in self.edges:
            if len(edge.points) >= 2:
                self._paint_arrowhead(painter, edge.points[-2], edge.points[-1])
        for label in list(self.labels.values()) + self.edge_labels:
            self._paint_label(painter, label)
        for note in self.notes:
            self._paint_label(painter, note, self.note_font, MUTED_TEXT)
        painter.restore()

    def _paint_title(self, painter: QPainter) -> None:
        title_metrics = QFontMetricsF(self.title_font)
        painter.setPen(TEXT_COLOR)
        painter.setFont(self.title_font)
        painter.drawText(QPointF(MARGIN, MARGIN + title_metrics.ascent()), self.title)
        painter.setPen(MUTED_TEXT)
        painter.setFont(self.subtitle_font)
        sub_metrics = QFontMetricsF(self.subtitle_font)
        painter.drawText(QPointF(MARGIN, MARGIN + title_metrics.height() + sub_metrics.ascent()),
                         self.subtitle)

    def _paint_edge(self, painter: QPainter, edge: _Edge) -> None:
        if len(edge.points) < 2:
            return
        pen = QPen(ARROW_COLOR, 1.4)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        if self.items[edge.target].column <= self.items[edge.source].column:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        points = list(edge.points)
        points[-1] = _towards(points[-2], points[-1], ARROW_SIZE - 1)  # the head finishes it
        painter.drawPath(_rounded_path(points, 7.0))

    def _paint_arrowhead(self, painter: QPainter, before: QPointF, tip: QPointF) -> None:
        length = math.hypot(tip.x() - before.x(), tip.y() - before.y())
        if length < 1e-6:
            return
        ux, uy = (tip.x() - before.x()) / length, (tip.y() - before.y()) / length
        back = QPointF(tip.x() - ux * ARROW_SIZE, tip.y() - uy * ARROW_SIZE)
        half = ARROW_SIZE * 0.45
        head = QPolygonF([tip, QPointF(back.x() - uy * half, back.y() + ux * half),
                          QPointF(back.x() + uy * half, back.y() - ux * half)])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(ARROW_COLOR)
        painter.drawPolygon(head)

    def _faces(self, item: _Item) -> tuple[QPolygonF, QPolygonF, QPolygonF]:
        x0 = item.left
        y0 = item.cy - item.sil_h / 2 + item.dy   # front face top
        t, h, dx, dy = item.t, item.h, item.dx, item.dy
        front = QPolygonF([QPointF(x0, y0), QPointF(x0 + t, y0), QPointF(x0 + t, y0 + h),
                           QPointF(x0, y0 + h)])
        top = QPolygonF([QPointF(x0, y0), QPointF(x0 + dx, y0 - dy), QPointF(x0 + t + dx, y0 - dy),
                         QPointF(x0 + t, y0)])
        side = QPolygonF([QPointF(x0 + t, y0), QPointF(x0 + t + dx, y0 - dy),
                          QPointF(x0 + t + dx, y0 + h - dy), QPointF(x0 + t, y0 + h)])
        return front, top, side

    def _paint_item(self, painter: QPainter, item: _Item) -> None:
        front, top, side = self._faces(item)
        if item.kind == "unknown":
            pen = QPen(UNKNOWN_COLOR, 1.3, Qt.PenStyle.DashLine)
            fills = (QColor("#F4F4F4"), QColor("#FAFAFA"), QColor("#EDEDED"))
        else:
            base = QColor(CATEGORY_COLORS.get(item.category, "#666666"))
            pen = QPen(base.darker(125), 1.2)
            fills = (_tint(base, 0.70), _tint(base, 0.82), _tint(base, 0.58))
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        for polygon, fill in zip((front, top, side), fills):
            painter.setBrush(fill)
            painter.drawPolygon(polygon)
        if item.kind == "unknown":
            painter.setPen(UNKNOWN_COLOR)
            painter.setFont(_font(20, bold=True))
            box = QRectF(item.left, item.cy - item.sil_h / 2, item.sil_w, item.sil_h)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "?")
        # Shape, then name, under the box.
        shape_metrics = QFontMetricsF(self.shape_font)
        y = item.cy + item.sil_h / 2 + 4
        width = max(item.sil_w, item.text_w) + 40
        painter.setFont(self.shape_font)
        painter.setPen(TEXT_COLOR)
        painter.drawText(QRectF(item.cx - width / 2, y, width, shape_metrics.height()),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, item.shape_text)
        painter.setFont(self.name_font)
        painter.setPen(MUTED_TEXT)
        painter.drawText(QRectF(item.cx - width / 2, y + shape_metrics.height() + 1, width,
                                QFontMetricsF(self.name_font).height()),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, item.name_text)

    def _paint_kernel(self, painter: QPainter, edge: _Edge) -> None:
        """The window the operation slides over its input, on the input's spatial face."""
        source, target = self.items[edge.source], self.items[edge.target]
        node = next(n for n in self.spec.nodes if n.id == target.id)
        window = node.params.get("kernel_size") or node.params.get("pool_size")
        shape = source.shape
        try:
            kh, kw = int(window[0]), int(window[1])
        except (TypeError, ValueError, IndexError):
            return
        height = shape[-3] if shape and len(shape) >= 3 and shape[-3] else DEFAULT_SPATIAL
        width = shape[-2] if shape and len(shape) >= 3 and shape[-2] else DEFAULT_SPATIAL
        fv = _clamp(kh / height, 0.0, 1.0)
        fu = _clamp(kw / width, 0.0, 1.0)
        fv = max(fv, min(1.0, 10.0 / source.h))                # at least a few pixels
        fu = max(fu, min(1.0, 10.0 / max(1.0, math.hypot(source.dx, source.dy))))
        fv, fu = min(fv, 0.8), min(fu, 0.8)
        x0 = source.left + source.t
        y0 = source.cy - source.sil_h / 2 + source.dy

        def at(u: float, v: float) -> QPointF:  # a point on the side face
            return QPointF(x0 + u * source.dx, y0 - u * source.dy + v * source.h)

        u0, v0 = 0.5 - fu / 2, 0.5 - fv / 2
        patch = QPolygonF([at(u0, v0), at(u0 + fu, v0), at(u0 + fu, v0 + fv), at(u0, v0 + fv)])
        colour = QColor(CATEGORY_COLORS.get(target.category, "#666666"))
        fill = QColor(colour)
        fill.setAlpha(170)
        painter.setPen(QPen(colour.darker(150), 1.0))
        painter.setBrush(fill)
        painter.drawPolygon(patch)
        # The arrow leaves from the window: this window, slid over the map, makes the next one.
        painter.setPen(QPen(ARROW_COLOR, 1.4))
        painter.drawLine(at(0.5, 0.5), QPointF(source.right, source.cy))

    def _paint_label(self, painter: QPainter, label: _Label, font: QFont | None = None,
                     colour: QColor = TEXT_COLOR) -> None:
        font = font or self.label_font
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 225))
        painter.drawRoundedRect(label.rect.adjusted(1, 0, -1, 0), 3, 3)
        painter.setPen(colour)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        for index, line in enumerate(label.lines):
            line_rect = QRectF(label.rect.left(), label.rect.top() + 1 + index * metrics.height(),
                               label.rect.width(), metrics.height())
            painter.drawText(line_rect, Qt.AlignmentFlag.AlignCenter, line)


# -- geometry helpers -----------------------------------------------------------------------------

def _tint(colour: QColor, amount: float) -> QColor:
    """`colour` mixed with white (amount 1 = white)."""
    return QColor(round(colour.red() + (255 - colour.red()) * amount),
                  round(colour.green() + (255 - colour.green()) * amount),
                  round(colour.blue() + (255 - colour.blue()) * amount))


def _dedupe(points: list[QPointF]) -> list[QPointF]:
    out: list[QPointF] = []
    for point in points:
        if out and abs(out[-1].x() - point.x()) < 0.01 and abs(out[-1].y() - point.y()) < 0.01:
            continue
        out.append(point)
    # Drop middle points on a straight run.
    cleaned: list[QPointF] = []
    for point in out:
        if len(cleaned) >= 2:
            a, b = cleaned[-2], cleaned[-1]
            if (abs(a.x() - b.x()) < 0.01 and abs(b.x() - point.x()) < 0.01) or \
               (abs(a.y() - b.y()) < 0.01 and abs(b.y() - point.y()) < 0.01):
                cleaned[-1] = point
                continue
        cleaned.append(point)
    return cleaned


def _towards(a: QPointF, b: QPointF, shorten: float) -> QPointF:
    length = math.hypot(b.x() - a.x(), b.y() - a.y())
    if length <= shorten or length < 1e-6:
        return b
    scale = (length - shorten) / length
    return QPointF(a.x() + (b.x() - a.x()) * scale, a.y() + (b.y() - a.y()) * scale)


def _rounded_path(points: list[QPointF], radius: float) -> QPainterPath:
    """A polyline with its corners rounded."""
    path = QPainterPath(points[0])
    for index in range(1, len(points) - 1):
        before, corner, after = points[index - 1], points[index], points[index + 1]
        r = min(radius, _distance(before, corner) / 2, _distance(corner, after) / 2)
        path.lineTo(_towards(before, corner, r))
        path.quadTo(corner, _towards(after, corner, r))
    path.lineTo(points[-1])
    return path


def _distance(a: QPointF, b: QPointF) -> float:
    return math.hypot(b.x() - a.x(), b.y() - a.y())


# -- public API -------------------------------------------------------------------------------------

def diagram_size(spec: NetworkSpec, info: NetworkInfo | None = None) -> QSizeF:
    """The size, in pixels at scale 1, of the figure `paint_diagram` draws."""
    return DiagramRenderer(spec, info).size


def paint_diagram(painter: QPainter, spec: NetworkSpec, info: NetworkInfo | None = None) -> None:
    """Draw the whole figure with its top-left corner at the painter's origin (white
    background included), at scale 1: scale the painter for other sizes."""
    DiagramRenderer(spec, info).paint(painter)


MAX_IMAGE_SIDE = 16_000  # pixels; larger exports get a smaller scale


def render_diagram_image(spec: NetworkSpec, scale: float = 2.0,
                         info: NetworkInfo | None = None) -> QImage:
    renderer = DiagramRenderer(spec, info)
    size = renderer.size
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ProjectError(f"The image scale must be a positive number, not {scale!r}.")
    scale = min(scale, MAX_IMAGE_SIDE / max(size.width(), size.height(), 1.0))
    pixels = QSize(max(1, math.ceil(size.width() * scale)), max(1, math.ceil(size.height() * scale)))
    image = QImage(pixels, QImage.Format.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise ProjectError(f"Cannot make a {pixels.width()}x{pixels.height()} image: not enough memory.")
    image.setDevicePixelRatio(1.0)
    image.setDotsPerMeterX(round(96 * scale / 0.0254))
    image.setDotsPerMeterY(round(96 * scale / 0.0254))
    image.fill(BACKGROUND)
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        renderer.paint(painter)
    finally:
        painter.end()
    return image


def export_diagram_png(spec: NetworkSpec, path, scale: float = 2.0,
                       info: NetworkInfo | None = None) -> None:
    """Write the figure as a PNG, `scale` pixels per diagram unit (2 = sharp on high-DPI
    screens and in print). Atomic: a failure leaves any old file as it was."""
    image = render_diagram_image(spec, scale, info)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, "PNG")
    buffer.close()
    if not ok:
        raise ProjectError(f"Cannot encode the diagram as PNG for {path}.")
    atomic_write_bytes(Path(path), bytes(data))


def export_diagram_svg(spec: NetworkSpec, path, info: NetworkInfo | None = None) -> None:
    """Write the figure as an SVG (vector: text stays text). Atomic, like the PNG."""
    from PySide6.QtSvg import QSvgGenerator

    renderer = DiagramRenderer(spec, info)
    size = renderer.size
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(math.ceil(size.width()), math.ceil(size.height())))
    generator.setViewBox(QRectF(QPointF(0, 0), size))
    generator.setResolution(96)
    generator.setTitle(renderer.title)
    generator.setDescription(
        f"CNN Studio building-block diagram of {renderer.title}: {renderer.subtitle}."
        + (f" {spec.description}" if spec.description else ""))
    painter = QPainter()
    if not painter.begin(generator):
        buffer.close()
        raise ProjectError(f"Cannot draw the SVG diagram for {path}.")
    try:
        renderer.paint(painter)
    finally:
        painter.end()
    buffer.close()
    if data.isEmpty():
        raise ProjectError(f"Cannot encode the diagram as SVG for {path}.")
    atomic_write_bytes(Path(path), bytes(data))


__all__ = ["DiagramRenderer", "diagram_size", "export_diagram_png", "export_diagram_svg",
           "operation_parts", "paint_diagram", "render_diagram_image"]
