"""Every block is described once, in its catalogue entry: the traits the rest of the code asks
about hold for the Keras layer it builds."""

import pytest

from engine.blocks.catalog import BLOCKS, BLOCKS_BY_TYPE, block_of_layer
from engine.build import build_model
from engine.graph.edits import AddNode, Connect, new_node
from engine.graph.spec import EdgeSpec, NetworkSpec
from engine.templates import list_templates, load_template

FAMILIES = {"input", "convolution", "pooling", "shape", "merge", "dense", "normalization",
            "activation", "regularization", "preprocessing"}


def one_block_network(type_name: str) -> NetworkSpec:
    """Input (16x16x3) -> the block, with as many inputs as it needs."""
    spec = NetworkSpec(name=type_name)
    source = new_node(spec, "InputLayer", {"shape": [16, 16, 3]})
    spec = AddNode(source, (0.0, 0.0)).apply(spec)
    block = new_node(spec, type_name)
    spec = AddNode(block, (0.0, 150.0)).apply(spec)
    for port in range(max(1, BLOCKS_BY_TYPE[type_name].min_inputs)):
        spec = Connect(EdgeSpec((source.id, 0), (block.id, port))).apply(spec)
    return spec


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.type != "InputLayer"], ids=lambda b: b.type)
def test_each_blocks_traits_hold_for_the_layer_it_builds(block):
    assert block.family in FAMILIES
    model = build_model(one_block_network(block.type))
    [layer] = [layer for layer in model.layers if block_of_layer(layer) is block]
    if block.kernel_weight:  # its kernels: height x width x inputs x filters
        assert len(getattr(layer, block.kernel_weight).shape) == 4
    if block.width_param:
        assert model.output.shape[-1] == block.default_params()[block.width_param]
    if block.shares_weights:
        assert block.family == "convolution" and block.kernel_weight


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.type)
def test_each_block_names_its_words_in_the_diagram(block):
    assert block.arrow_words is not None
    words = block.arrow_words(block.default_params())
    assert words and all(isinstance(word, str) and word for word in words)


def test_every_layer_of_every_template_has_its_catalogue_entry():
    for template in list_templates():
        model = build_model(load_template(template.key))
        assert all(block_of_layer(layer) is not None for layer in model.layers), template.key


# -- the whole catalogue, one block at a time ------------------------------------------------

BUILT_BLOCKS = [b for b in BLOCKS if b.type != "InputLayer"]


@pytest.mark.parametrize("block", BUILT_BLOCKS, ids=lambda b: b.type)
def test_each_block_agrees_with_keras_and_survives_export_then_import(block, tmp_path):
    from engine.export import export_keras
    from engine.importer import import_keras_file
    from tests.engine.test_shape_agreement import assert_agrees_with_keras

    spec = one_block_network(block.type)
    assert_agrees_with_keras(spec)
    export_keras(spec, tmp_path / "one.keras")
    imported = import_keras_file(tmp_path / "one.keras")
    [node] = [n for n in imported.nodes if n.type == block.type]
    # The same layer, though not always the same spelling (no activation = "linear",
    # pool strides "same as the pool size" = the pool size).
    assert layer_config(build_model(imported), node.name) \
        == layer_config(build_model(spec), spec.nodes[-1].name)


def layer_config(model, name: str) -> dict:
    config = dict(model.get_layer(name).get_config())
    config.pop("name")
    return config


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kernel_weight], ids=lambda b: b.type)
def test_each_blocks_kernels_reach_the_snapshots_one_column_per_output_map(block):
    from engine.training.callbacks import network_kernels

    model = build_model(one_block_network(block.type))
    [layer] = [layer for layer in model.layers if block_of_layer(layer) is block]
    kernels = network_kernels(model)
    assert set(kernels) == {layer.name}
    height, width, _, maps = kernels[layer.name].shape
    params = block.default_params()
    assert [height, width] == params["kernel_size"]
    if block.kernel_layout == "depthwise":  # the spatial step: kernels per input channel
        assert maps == layer.input.shape[-1] * params["depth_multiplier"]
    else:
        assert maps == layer.output.shape[-1]


def test_every_palette_entry_has_its_own_glyph():
    from engine.blocks.catalog import PRESETS
    from engine.blocks.composites import COMPOSITES

    glyphs = [b.glyph for b in BLOCKS] + [p.glyph for p in PRESETS] + [c.glyph for c in COMPOSITES]
    assert all(1 <= len(glyph) <= 2 for glyph in glyphs)
    assert len(set(glyphs)) == len(glyphs)


def test_dilation_widens_the_receptive_field_and_upsampling_shrinks_the_step():
    from engine.graph.shapes import infer
    from tests.engine.helpers import GraphBuilder

    g = GraphBuilder()
    x = g.add("InputLayer", {"shape": [32, 32, 1]})
    dilated = g.add("Conv2D", {"dilation_rate": [2, 2]}, [x])  # a 3x3 kernel spread over 5x5
    down = g.add("Conv2D", {"strides": [2, 2], "padding": "same"}, [dilated])
    up = g.add("Conv2DTranspose", {"strides": [2, 2], "kernel_size": [4, 4]}, [down])
    nearest = g.add("UpSampling2D", {}, [up])
    info = infer(g.spec).nodes
    assert info[dilated].receptive_field.size == (5, 5)
    assert info[down].receptive_field.stride == (2, 2)
    # A 4x4 transposed kernel at stride 2 reaches 2 inputs per axis; outputs are 1 input apart.
    assert info[up].receptive_field.size == (9, 9) and info[up].receptive_field.stride == (1, 1)
    assert info[nearest].receptive_field.size == (9, 9) and info[nearest].receptive_field.stride == (0.5, 0.5)
    assert info[dilated].macs == 28 * 28 * 16 * 3 * 3 * 1
