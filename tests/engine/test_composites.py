from engine.blocks.composites import COMPOSITES, insert_composite
from engine.graph.edits import RemoveNodes, SetGroupCollapsed
from engine.graph.io import spec_from_json
from engine.graph.validate import has_errors, validate
from tests.engine.helpers import GraphBuilder


def base():
    g = GraphBuilder()
    x = g.add("InputLayer", {"shape": [16, 16, 16]}, name="input")
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
