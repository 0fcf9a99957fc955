"""Composite blocks: groups of catalogue blocks inserted in one go (and collapsible on the
canvas). Each is built through the same edits as everything else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.graph.edits import AddNodes, new_node
from engine.graph.spec import EdgeSpec, GroupSpec, NetworkSpec, NodeSpec, Port


@dataclass(frozen=True)
class CompositeParts:
    """What a composite adds: its blocks and inner connections, the input ports that take
    the composite's input, and the block whose output is the composite's output."""

    nodes: tuple[NodeSpec, ...]
    edges: tuple[EdgeSpec, ...]
    entries: tuple[Port, ...]
    exit: str
    group: GroupSpec


@dataclass(frozen=True)
class Composite:
    key: str
    label: str
    glyph: str  # 1-2 characters on its palette icon
    help: str
    # (the spec it is added to, the channels it receives when known) -> its parts
    build: Callable[[NetworkSpec, int | None], CompositeParts]


class _Builder:
    """Creates nodes with ids and names unique in the spec being extended."""

    def __init__(self, spec: NetworkSpec, prefix: str):
        self.spec = spec
        self.prefix = prefix
        self.nodes: list[NodeSpec] = []
        self.edges: list[EdgeSpec] = []

    def add(self, type_name: str, params: dict | None, name: str, inputs: tuple[str, ...] = ()) -> str:
        node = new_node(self.spec, type_name, params, name=f"{self.prefix}_{name}")
        self.spec = AddNodes((node,)).apply(self.spec)
        self.nodes.append(node)
        for port, source in enumerate(inputs):
            self.edges.append(EdgeSpec((source, 0), (node.id, port)))
        return node.id

    def parts(self, kind: str, entries: tuple[Port, ...], exit_id: str) -> CompositeParts:
        group_ids = {g.id for g in self.spec.groups}
        index = 1
        while f"g{index}" in group_ids:
            index += 1
        group = GroupSpec(id=f"g{index}", name=self.prefix, kind=kind,
                          node_ids=tuple(n.id for n in self.nodes))
        return CompositeParts(tuple(self.nodes), tuple(self.edges), entries, exit_id, group)


def _unique_prefix(spec: NetworkSpec, base: str) -> str:
    names = {node.name for node in spec.nodes}
    index = 1
    while any(name.startswith(f"{base}{index}_") for name in names):
        index += 1
    return f"{base}{index}"


def _conv(filters: int, kernel: int, activation: str | None = "relu", bias: bool = True) -> dict:
    return {"filters": filters, "kernel_size": [kernel, kernel], "padding": "same",
            "activation": activation, "use_bias": bias}


def residual_block(spec: NetworkSpec, channels: int | None = None) -> CompositeParts:
    """Conv-BN-ReLU-Conv-BN, plus the block's input (identity shortcut), then ReLU."""
    filters = channels or 16  # as many as it receives, so the shortcut adds up
    b = _Builder(spec, _unique_prefix(spec, "res"))
    conv1 = b.add("Conv2D", _conv(filters, 3, None, bias=False), "conv1")
    bn1 = b.add("BatchNormalization", None, "bn1", (conv1,))
    relu1 = b.add("Activation", {"activation": "relu"}, "relu1", (bn1,))
    conv2 = b.add("Conv2D", _conv(filters, 3, None, bias=False), "conv2", (relu1,))
    bn2 = b.add("BatchNormalization", None, "bn2", (conv2,))
    add = b.add("Add", None, "add", (bn2,))  # port 1: the shortcut from the block's input
    out = b.add("Activation", {"activation": "relu"}, "out", (add,))
    return b.parts("residual", entries=((conv1, 0), (add, 1)), exit_id=out)


def inception_module(spec: NetworkSpec, channels: int | None = None) -> CompositeParts:
    """Parallel 1x1, 1x1->3x3, 1x1->5x5 and pool->1x1 branches, concatenated (GoogLeNet)."""
    b = _Builder(spec, _unique_prefix(spec, "inception"))
    one = b.add("Conv2D", _conv(16, 1), "1x1")
    reduce3 = b.add("Conv2D", _conv(16, 1), "3x3_reduce")
    three = b.add("Conv2D", _conv(32, 3), "3x3", (reduce3,))
    reduce5 = b.add("Conv2D", _conv(8, 1), "5x5_reduce")
    five = b.add("Conv2D", _conv(16, 5), "5x5", (reduce5,))
    pool = b.add("MaxPooling2D", {"pool_size": [3, 3], "strides": [1, 1], "padding": "same"}, "pool")
    project = b.add("Conv2D", _conv(16, 1), "pool_proj", (pool,))
    concat = b.add("Concatenate", None, "concat", (one, three, five, project))
    return b.parts("inception", entries=((one, 0), (reduce3, 0), (reduce5, 0), (pool, 0)), exit_id=concat)


def mobilenet_block(spec: NetworkSpec, channels: int | None = None) -> CompositeParts:
    """Depthwise 3x3 -> BN -> ReLU6, then pointwise 1x1 -> BN -> ReLU6 (MobileNet v1)."""
    b = _Builder(spec, _unique_prefix(spec, "mobile"))
    depthwise = b.add("DepthwiseConv2D", {"kernel_size": [3, 3], "padding": "same",
                                          "use_bias": False}, "dw")
    bn1 = b.add("BatchNormalization", None, "dw_bn", (depthwise,))
    relu1 = b.add("ReLU", {"max_value": 6.0}, "dw_relu", (bn1,))
    pointwise = b.add("Conv2D", _conv(2 * (channels or 16), 1, None, bias=False), "pw", (relu1,))
    bn2 = b.add("BatchNormalization", None, "pw_bn", (pointwise,))
    out = b.add("ReLU", {"max_value": 6.0}, "pw_relu", (bn2,))
    return b.parts("mobilenet", entries=((depthwise, 0),), exit_id=out)


def squeeze_excitation(spec: NetworkSpec, channels: int | None = None) -> CompositeParts:
    """Average each map to one number, learn a weight per channel from all of them (1x1 convs
    down to a quarter and back, sigmoid), and scale the maps by it (SENet, EfficientNet)."""
    channels = channels or 16
    b = _Builder(spec, _unique_prefix(spec, "se"))
    squeeze = b.add("GlobalAveragePooling2D", {"keepdims": True}, "squeeze")
    reduce = b.add("Conv2D", _conv(max(1, channels // 4), 1), "reduce", (squeeze,))
    expand = b.add("Conv2D", _conv(channels, 1, "sigmoid"), "expand", (reduce,))
    scale = b.add("Multiply", None, "scale")
    b.edges.append(EdgeSpec((expand, 0), (scale, 1)))  # port 0: the maps being scaled
    return b.parts("squeeze-excitation", entries=((squeeze, 0), (scale, 0)), exit_id=scale)


COMPOSITES: tuple[Composite, ...] = (
    Composite("residual", "Residual block", "Rb",
              "Two 3x3 convolutions with batch norm, plus a shortcut adding the block's input to "
              "its output (ResNet): gradients flow through the shortcut.", residual_block),
    Composite("inception", "Inception module", "I",
              "1x1, 3x3 and 5x5 convolutions and pooling side by side, concatenated; 1x1 "
              "convolutions reduce channels first (GoogLeNet).", inception_module),
    Composite("mobilenet", "MobileNet block", "Mb",
              "A depthwise 3x3 convolution (one kernel per channel) then a 1x1 convolution that "
              "mixes channels, each with batch norm and ReLU6: a Conv2D's job for about a "
              "ninth of the weights (MobileNet).", mobilenet_block),
    Composite("squeeze-excitation", "Squeeze-and-excitation", "SE",
              "Learns one weight per channel from the whole image (global pooling, two 1x1 "
              "convolutions, sigmoid) and multiplies the maps by it: channel attention "
              "(SENet, EfficientNet).", squeeze_excitation),
)
COMPOSITES_BY_KEY = {composite.key: composite for composite in COMPOSITES}


def channels_of(spec: NetworkSpec, node_id: str | None) -> int | None:
    """The channels a composite receives, so its shortcut or gate can match them."""
    from engine.graph.shapes import infer  # shapes -> catalogue; composites sit beside them

    if node_id is None or not spec.has_node(node_id):
        return None
    shape = infer(spec).nodes[node_id].output_shape
    return shape[-1] if shape and len(shape) == 3 else None


def insert_composite(spec: NetworkSpec, key: str, source: str | None = None,
                     positions: dict | None = None) -> AddNodes:
    """The edit adding a composite; with `source`, its entries are wired from that block."""
    parts = COMPOSITES_BY_KEY[key].build(spec, channels_of(spec, source))
    edges = list(parts.edges)
    if source is not None:
        edges += [EdgeSpec((source, 0), entry) for entry in parts.entries]
    return AddNodes(parts.nodes, tuple(edges), positions, groups=(parts.group,))
