from engine.blocks.composites import COMPOSITES, insert_composite
from engine.graph.edits import RemoveNodes, SetGroupCollapsed
from engine.graph.io import spec_from_json
from engine.graph.validate import has_errors, validate
from tests.engine.helpers import GraphBuilder


def base():
    g = GraphBuilder()
    x = g.add("InputLayer", {"shape": [16, 16, 24]}, name="input")  # not the default 16
    return g, x


def finish(g, spec, exit_id):
    g.spec = spec
    pooled = g.add("GlobalAveragePooling2D", {}, [exit_id])
    g.add("Dense", {"units": 3, "activation": "softmax"}, [pooled])
    return g.spec


def test_each_composite_wires_into_a_valid_network_and_round_trips():
    for composite in COMPOSITES:
        g, x = base()
        original = g.spec
        edit = insert_composite(original, composite.key, source=x)
        assert edit.inverse(original).apply(edit.apply(original)) == original
        spec = edit.apply(original)
        group = spec.groups[0]
        exit_id = [n for n in group.node_ids if not spec.outgoing(n)][0]
        spec = finish(g, spec, exit_id)
        assert not has_errors(validate(spec)), composite.key
        assert spec_from_json(spec.to_json()) == spec


def test_collapse_and_remove_keep_groups_consistent():
    g, x = base()
    spec = insert_composite(g.spec, "residual", source=x).apply(g.spec)
    collapsed = SetGroupCollapsed("g1", True).apply(spec)
    assert collapsed.group("g1").collapsed
    member = spec.groups[0].node_ids[0]
    removed = RemoveNodes((member,)).apply(spec)
    assert member not in removed.groups[0].node_ids
    assert RemoveNodes((member,)).inverse(spec).apply(removed) == spec


def test_two_residual_blocks_get_distinct_names():
    g, x = base()
    spec = insert_composite(g.spec, "residual", source=x).apply(g.spec)
    spec = insert_composite(spec, "residual").apply(spec)
    names = [n.name for n in spec.nodes]
    assert len(names) == len(set(names)) and "res2_conv1" in names
    assert [grp.id for grp in spec.groups] == ["g1", "g2"]


def test_the_gate_and_the_shortcut_match_the_channels_they_receive():
    from engine.graph.shapes import infer

    for key in ("residual", "squeeze-excitation"):
        g, x = base()
        spec = insert_composite(g.spec, key, source=x).apply(g.spec)
        exit_id = [n for n in spec.groups[0].node_ids if not spec.outgoing(n)][0]
        assert infer(spec).nodes[exit_id].output_shape == (16, 16, 24), key


def test_a_mobilenet_block_is_a_depthwise_then_a_pointwise_convolution():
    g, x = base()
    spec = insert_composite(g.spec, "mobilenet", source=x).apply(g.spec)
    types = [spec.node(n).type for n in spec.groups[0].node_ids]
    assert types[0] == "DepthwiseConv2D" and "Conv2D" in types and types.count("ReLU") == 2
