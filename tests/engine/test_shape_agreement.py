"""infer() must agree exactly with Keras: output shapes and parameter counts, node by node.

Hypothesis generates valid graphs (chains, residual and Inception-like DAGs, fixed and
variable input sizes) through the edits API; each is built with Keras and compared with
the pure-formula inference the editor shows. A few readable examples pin the tricky cases.
"""

from __future__ import annotations

import math

import keras
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from engine.blocks.catalog import ACTIVATIONS, format_shape
from engine.build import build_model
from engine.graph.edits import AddNode, Connect, InsertNodeOnEdge, new_node
from engine.graph.shapes import infer
from engine.graph.spec import EdgeSpec, NetworkSpec
from engine.graph.validate import ERROR, validate
from tests.engine.catalogue_strategies import single_input_layer

# Derandomized so CI sees the same graphs every run; no deadline since Keras builds vary.
AGREEMENT_SETTINGS = settings(deadline=None, derandomize=True, database=None,
                              suppress_health_check=[HealthCheck.too_slow])

BODY_NODE_BUDGET = 8  # no new block past this many nodes: most graphs end near 12 layers


# -- the comparison ---------------------------------------------------------------------------

def weight_count(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


def describe(spec: NetworkSpec) -> str:
    """One line per node, so a failing example reads like a model summary."""
    info = infer(spec)
    lines = []
    for node in spec.nodes:
        sources = [e.source[0] for e in spec.incoming(node.id)]
        shape = format_shape(info.nodes[node.id].output_shape)
        lines.append(f"{node.id} {node.name} <- {sources}: {node.type} {dict(node.params)} -> {shape}")
    return "\n".join(lines)


def assert_agrees_with_keras(spec: NetworkSpec) -> None:
    info = infer(spec)
    model = build_model(spec)
    for node in spec.nodes:
        layer = model.get_layer(node.name)
        expected = info.nodes[node.id]
        where = f"{node.name} ({node.type}, {dict(node.params)})"
        assert tuple(layer.output.shape[1:]) == expected.output_shape, where
        assert layer.count_params() == expected.params, where
        assert weight_count(layer.trainable_weights) == expected.trainable_params, where
        assert weight_count(layer.non_trainable_weights) == expected.non_trainable_params, where
    assert model.count_params() == info.total_params
    assert weight_count(model.trainable_weights) == info.trainable_params


@pytest.fixture(scope="module", autouse=True)
def fresh_keras_session():
    # Building hundreds of models grows Keras' global state only slowly; clearing once per
    # module is enough (clear_session itself costs ~150 ms, more than a small build).
    yield
    keras.backend.clear_session()


# -- growing a graph through the edits API --------------------------------------------------

class GraphBuilder:
    """Grows a spec with edits and reports each node's shape as inference sees it."""

    def __init__(self, input_shape: list):
        self.spec = NetworkSpec()
        self.input_id = self.add("InputLayer", {"shape": list(input_shape)}, [])

    def add(self, type_name: str, params: dict, sources: list[str]) -> str:
        node = new_node(self.spec, type_name, params)
        self.spec = AddNode(node).apply(self.spec)
        for port, source in enumerate(sources):
            self.spec = Connect(EdgeSpec((source, 0), (node.id, port))).apply(self.spec)
        return node.id

    def insert_on_edge(self, source: str, target: str, port: int, type_name: str, params: dict) -> str:
        node = new_node(self.spec, type_name, params)
        edge = EdgeSpec((source, 0), (target, port))
        self.spec = InsertNodeOnEdge(edge, node).apply(self.spec)
        return node.id

    def shape(self, node_id: str) -> tuple:
        shape = infer(self.spec).nodes[node_id].output_shape
        assume(shape is not None)  # only if a choice below did not fit after all
        return shape

    @property
    def size(self) -> int:
        return len(self.spec.nodes)


# -- parameter strategies ---------------------------------------------------------------------

def draw_pair(draw, low: int, highs: tuple[int, int]) -> list[int]:
    """[h, w] within low..high per axis; square most of the time, like real networks."""
    if draw(st.booleans()):
        side = draw(st.integers(low, min(highs)))
        return [side, side]
    return [draw(st.integers(low, high)) for high in highs]


def largest_window(size: int | None, largest: int, padding: str) -> int:
    """With 'valid' padding a window must fit inside the map; 'same' (or unknown size) takes any."""
    if padding == "valid" and size is not None:
        return min(largest, size)
    return largest


def draw_window_params(draw, shape: tuple, largest: int) -> tuple[list[int], str]:
    padding = draw(st.sampled_from(["valid", "same"]))
    window = draw_pair(draw, 1, tuple(largest_window(size, largest, padding) for size in shape[:2]))
    return window, padding


def draw_pool_params(draw, shape: tuple) -> dict:
    pool_size, padding = draw_window_params(draw, shape, largest=3)
    strides = draw(st.one_of(st.none(), st.lists(st.integers(1, 3), min_size=2, max_size=2)))
    return {"pool_size": pool_size, "strides": strides, "padding": padding}


def draw_batch_norm_params(draw) -> dict:
    return {"center": draw(st.booleans()), "scale": draw(st.booleans())}


def draw_dense_params(draw) -> dict:
    return {"units": draw(st.integers(1, 12)), "use_bias": draw(st.booleans()),
            "activation": draw(st.sampled_from(ACTIVATIONS + (None,)))}


def same_conv(filters: int, kernel: int, stride: int, activation: str | None = "relu",
              padding: str = "same", use_bias: bool = True) -> dict:
    return {"filters": filters, "kernel_size": [kernel, kernel], "strides": [stride, stride],
            "padding": padding, "activation": activation, "use_bias": use_bias}


# -- single-input layers: every such catalogue block, its parameters drawn from its specs -----

POOLS = ("MaxPooling2D", "AveragePooling2D", "WeightedAveragePooling2D")


def draw_simple_layer(draw, graph: GraphBuilder, x: str) -> str:
    type_name, params = draw(single_input_layer(graph.shape(x)))
    return graph.add(type_name, params, [x])


# -- branching blocks -------------------------------------------------------------------------

def draw_residual_block(draw, graph: GraphBuilder, x: str) -> str:
    """Conv-(BN)-Activation-Conv-Add, with a 1x1 projection shortcut when the shape changes."""
    channels = graph.shape(x)[2]
    filters = draw(st.sampled_from([channels, draw(st.integers(1, 12))]))
    stride = draw(st.sampled_from([1, 1, 2]))
    kernel = draw(st.integers(1, 4))  # 'same' keeps ceil(size / stride) for any kernel
    use_bias = draw(st.booleans())  # real ResNets drop it before BatchNormalization; try both
    main = graph.add("Conv2D", same_conv(filters, kernel, stride, None, use_bias=use_bias), [x])
    if draw(st.booleans()):
        main = graph.add("BatchNormalization", draw_batch_norm_params(draw), [main])
    main = graph.add("Activation", {"activation": "relu"}, [main])
    main = graph.add("Conv2D", same_conv(filters, kernel, 1, None, use_bias=use_bias), [main])
    # Decided from the parameters, not from inferred shapes: with a variable input size
    # (None x None) a strided path and the identity would look alike but differ at run time.
    needs_projection = stride != 1 or filters != channels
    sources = [main, x]
    if draw(st.integers(0, 3)) == 0:  # a third branch, as Add takes any number of inputs
        padding = draw(st.sampled_from(["valid", "same"]))
        sources.append(graph.add("Conv2D", same_conv(filters, 1, stride, None, padding), [x]))
    # Every element-wise merge of the catalogue; the scaled residual takes exactly two inputs.
    merges = ["Add", "Multiply"] + (["ScaledResidual"] if len(sources) == 2 else [])
    merge = draw(st.sampled_from(merges))
    add = graph.add(merge, {"scale": 0.2} if merge == "ScaledResidual" else {}, sources)
    if needs_projection:
        padding = draw(st.sampled_from(["valid", "same"]))  # equal for a 1x1 kernel
        graph.insert_on_edge(x, add, 1, "Conv2D", same_conv(filters, 1, stride, None, padding))
    if draw(st.booleans()):
        add = graph.add("Activation", {"activation": "relu"}, [add])
    return add


def draw_inception_branch(draw, graph: GraphBuilder, x: str, stride: int) -> str:
    """One branch that maps H x W to ceil(H / stride) x ceil(W / stride)."""
    kinds = ["conv", "reduce_then_conv", "pool_then_project", "pad_then_valid_conv"]
    if stride == 1:
        kinds.append("identity")
    kind = draw(st.sampled_from(kinds))
    filters = draw(st.integers(1, 8))
    if kind == "identity":
        return x
    if kind == "conv":
        return graph.add("Conv2D", same_conv(filters, draw(st.integers(1, 5)), stride), [x])
    if kind == "reduce_then_conv":
        reduced = graph.add("Conv2D", same_conv(draw(st.integers(1, 4)), 1, 1), [x])
        return graph.add("Conv2D", same_conv(filters, draw(st.integers(2, 5)), stride), [reduced])
    if kind == "pool_then_project":
        size = draw(st.integers(1, 3))
        pool = {"pool_size": [size, size], "strides": [stride, stride], "padding": "same"}
        pooled = graph.add(draw(st.sampled_from(POOLS)), pool, [x])
        return graph.add("Conv2D", same_conv(filters, 1, 1), [pooled]) if draw(st.booleans()) else pooled
    # ZeroPadding by p then a valid (2p+1)-kernel equals 'same': another road to the same size.
    pad = draw(st.integers(0, 2))
    padded = graph.add("ZeroPadding2D", {"padding": [[pad, pad], [pad, pad]]}, [x])
    return graph.add("Conv2D", same_conv(filters, 2 * pad + 1, stride, padding="valid"), [padded])


def draw_inception_block(draw, graph: GraphBuilder, x: str) -> str:
    stride = draw(st.sampled_from([1, 1, 2]))
    branches = [draw_inception_branch(draw, graph, x, stride) for _ in range(draw(st.integers(2, 3)))]
    return graph.add("Concatenate", {}, branches)


# -- whole graphs -------------------------------------------------------------------------------

def draw_head(draw, graph: GraphBuilder, x: str) -> None:
    """Global pooling or Flatten (fixed size only), or Dense on the map, then Dense layers."""
    shape = graph.shape(x)
    fixed_size = None not in shape
    if len(shape) == 3:
        heads = ["GlobalAveragePooling2D", "GlobalMaxPooling2D", "dense_on_map"]
        head = draw(st.sampled_from(heads + (["Flatten"] if fixed_size else [])))
        if head == "dense_on_map":
            x = graph.add("Dense", draw_dense_params(draw), [x])
            if draw(st.booleans()):
                return  # ends on a feature map: a warning, not an error
            head = draw(st.sampled_from(["GlobalAveragePooling2D", "GlobalMaxPooling2D"]))
        x = graph.add(head, {}, [x])
    for _ in range(draw(st.integers(0, 2))):
        extra = draw(st.sampled_from([None, "BatchNormalization", "Dropout", "Flatten", "merge"]))
        if extra == "merge":
            x = draw_vector_merge(draw, graph, x)
        elif extra is not None:
            x = graph.add(extra, {}, [x])  # Flatten of a vector leaves it as it is
        x = graph.add("Dense", draw_dense_params(draw), [x])


def draw_vector_merge(draw, graph: GraphBuilder, x: str) -> str:
    """Two Dense heads on one vector, added (same units) or concatenated."""
    merge = draw(st.sampled_from(["Add", "Multiply", "Concatenate"]))
    first = draw_dense_params(draw)
    second = {**draw_dense_params(draw), **({"units": first["units"]} if merge != "Concatenate" else {})}
    return graph.add(merge, {}, [graph.add("Dense", first, [x]), graph.add("Dense", second, [x])])


def draw_input_shape(draw, variable: bool) -> list:
    channels = draw(st.sampled_from([1, 3]))  # grayscale or RGB
    height, width = draw(st.integers(1, 32)), draw(st.integers(1, 32))
    if variable:  # at least one axis of any size; the other may stay fixed
        height, width = draw(st.sampled_from([(None, None), (None, width), (height, None)]))
    return [height, width, channels]


def finish(draw, graph: GraphBuilder, x: str) -> NetworkSpec:
    draw_head(draw, graph, x)
    errors = [d.message for d in validate(graph.spec) if d.severity == ERROR]
    note(describe(graph.spec))
    assume(not errors)
    return graph.spec


@st.composite
def chains(draw) -> NetworkSpec:
    graph = GraphBuilder(draw_input_shape(draw, variable=False))
    x = graph.input_id
    for _ in range(draw(st.integers(1, 7))):
        x = draw_simple_layer(draw, graph, x)
    return finish(draw, graph, x)


BLOCK_STRATEGIES = {"simple": draw_simple_layer, "residual": draw_residual_block,
                    "inception": draw_inception_block}


@st.composite
def dags(draw, variable_size: bool = False) -> NetworkSpec:
    graph = GraphBuilder(draw_input_shape(draw, variable=variable_size))
    x = graph.input_id
    for _ in range(draw(st.integers(1, 4))):
        if graph.size >= BODY_NODE_BUDGET:
            break
        # Residual and inception blocks need a feature map; a simple layer may have flattened it.
        kinds = sorted(BLOCK_STRATEGIES) if len(graph.shape(x)) == 3 else ["simple"]
        x = BLOCK_STRATEGIES[draw(st.sampled_from(kinds))](draw, graph, x)
    return finish(draw, graph, x)


# -- the properties -----------------------------------------------------------------------------

@settings(AGREEMENT_SETTINGS, max_examples=100)
@given(chains())
def test_chains_agree_with_keras(spec):
    assert_agrees_with_keras(spec)


@settings(AGREEMENT_SETTINGS, max_examples=100)
@given(dags())
def test_residual_and_inception_graphs_agree_with_keras(spec):
    assert_agrees_with_keras(spec)


@settings(AGREEMENT_SETTINGS, max_examples=50)
@given(dags(variable_size=True))
def test_variable_size_inputs_agree_with_keras(spec):
    assert_agrees_with_keras(spec)


# -- readable examples of the tricky cases -----------------------------------------------------

def chain(input_shape: list, *layers: tuple[str, dict]) -> tuple[NetworkSpec, list[str]]:
    graph = GraphBuilder(input_shape)
    ids = [graph.input_id]
    for type_name, params in layers:
        ids.append(graph.add(type_name, params, [ids[-1]]))
    return graph.spec, ids


def shapes_of(spec: NetworkSpec, ids: list[str]) -> list[tuple]:
    info = infer(spec)
    return [info.nodes[node_id].output_shape for node_id in ids]


def test_valid_padding_with_a_stride_that_does_not_divide_the_size():
    # (10 - 3) // 2 + 1 = 4: the last column is never covered, and dropped.
    spec, ids = chain([10, 11, 1], ("Conv2D", {"filters": 8, "kernel_size": [3, 3], "strides": [2, 2]}),
                      ("GlobalAveragePooling2D", {}))
    assert shapes_of(spec, ids)[1] == (4, 5, 8)
    assert_agrees_with_keras(spec)


def test_same_padding_with_stride_two_on_odd_sizes_rounds_up():
    spec, ids = chain([7, 9, 3], ("Conv2D", {"filters": 4, "strides": [2, 2], "padding": "same"}),
                      ("MaxPooling2D", {"padding": "same"}), ("Flatten", {}))
    assert shapes_of(spec, ids)[1:] == [(4, 5, 4), (2, 3, 4), (24,)]
    assert_agrees_with_keras(spec)


def test_pool_strides_different_from_pool_size():
    spec, ids = chain([9, 10, 3],
                      ("MaxPooling2D", {"pool_size": [3, 3], "strides": [2, 2]}),       # overlapping
                      ("AveragePooling2D", {"pool_size": [2, 2], "strides": [3, 1], "padding": "same"}),
                      ("WeightedAveragePooling2D", {"pool_size": [1, 2], "strides": [1, 3]}),
                      ("Flatten", {}))
    assert shapes_of(spec, ids)[1:] == [(4, 4, 3), (2, 4, 3), (2, 1, 3), (6,)]
    assert_agrees_with_keras(spec)


def test_asymmetric_zero_padding():
    spec, ids = chain([5, 6, 1], ("ZeroPadding2D", {"padding": [[1, 2], [0, 3]]}),
                      ("Conv2D", {"filters": 2, "kernel_size": [8, 9]}), ("Flatten", {}))
    assert shapes_of(spec, ids)[1:] == [(8, 9, 1), (1, 1, 2), (2,)]
    assert_agrees_with_keras(spec)


def test_dense_on_a_feature_map_keeps_height_and_width():
    spec, ids = chain([4, 6, 3], ("Conv2D", {"filters": 8, "padding": "same"}),
                      ("Dense", {"units": 5}), ("GlobalMaxPooling2D", {}))
    info = infer(spec)
    dense = info.nodes[ids[2]]
    assert dense.output_shape == (4, 6, 5)
    assert dense.trainable_params == 8 * 5 + 5  # weights shared over positions
    assert_agrees_with_keras(spec)


def test_variable_size_input_through_convs_to_global_pooling():
    spec, ids = chain([None, None, 3], ("Conv2D", {"filters": 8, "strides": [2, 2]}),
                      ("MaxPooling2D", {}), ("Conv2D", {"filters": 6, "padding": "same"}),
                      ("GlobalAveragePooling2D", {}), ("Dense", {"units": 3, "use_bias": False}))
    assert shapes_of(spec, ids)[1:] == [(None, None, 8), (None, None, 8), (None, None, 6), (6,), (3,)]
    assert_agrees_with_keras(spec)


def test_batch_norm_without_center_or_scale_and_conv_without_bias():
    spec, ids = chain([8, 8, 1], ("Conv2D", {"filters": 4, "use_bias": False}),
                      ("BatchNormalization", {"center": False, "scale": True}),
                      ("BatchNormalization", {"center": False, "scale": False}),
                      ("GlobalAveragePooling2D", {}))
    info = infer(spec)
    assert [(info.nodes[i].trainable_params, info.nodes[i].non_trainable_params) for i in ids[1:4]] \
        == [(3 * 3 * 4, 0), (4, 8), (0, 8)]
    assert_agrees_with_keras(spec)
