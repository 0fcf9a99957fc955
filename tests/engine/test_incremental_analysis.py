"""An edit's analysis reuses what it did not change (incremental infer, per-node memos), and
gives exactly what analysing the whole graph again gives."""

from dataclasses import replace

import pytest

from engine.graph.edits import (AddNode, Connect, Disconnect, InsertNodeOnEdge, RemoveNodes,
                                SetParams, new_node)
from engine.graph.shapes import infer
from engine.graph.validate import output_node_id, validate
from engine.templates import list_templates, load_template


def edits_for(spec):
    """A run of typical edits: a parameter early (everything downstream changes), one at the
    end, a block inserted on a connection, a connection removed and put back, a block added
    and removed, and an impossible parameter."""
    convs = [n for n in spec.nodes if "filters" in n.params]
    edge = spec.edges[len(spec.edges) // 2]
    dropout = new_node(spec, "Dropout")
    yield SetParams(convs[0].id, {"filters": convs[0].params["filters"] + 1}) if convs else None
    yield InsertNodeOnEdge(edge, new_node(spec, "BatchNormalization"), (0.0, 0.0))
    yield Disconnect(edge)
    yield Connect(edge)
    yield AddNode(dropout, (500.0, 500.0))
    yield RemoveNodes((dropout.id,))
    if convs:
        yield SetParams(convs[-1].id, {"filters": 0})  # out of range: an error, unknown shapes


def plain(info) -> dict:
    """NodeInfos with their problem as text (exceptions compare by identity)."""
    return {node_id: replace(node, problem=str(node.problem) if node.problem else None)
            for node_id, node in info.nodes.items()} | {"order": info.order, "cyclic": info.cyclic}


@pytest.mark.parametrize("template", [t.key for t in list_templates()])
def test_incremental_analysis_equals_a_fresh_one(template):
    spec = load_template(template)
    info = infer(spec)
    for edit in edits_for(spec):
        if edit is None:
            continue
        try:
            edited = edit.apply(spec)
        except Exception:  # noqa: BLE001 - an edit this graph refuses (e.g. a port in use)
            continue
        incremental = infer(edited, (spec, info))
        assert plain(incremental) == plain(infer(edited)), f"{template}: {edit}"
        assert [d.to_dict() for d in validate(edited, incremental)] == [d.to_dict() for d in validate(edited)]
        assert output_node_id(edited, incremental) == output_node_id(edited)
        spec, info = edited, incremental


def test_an_edit_at_the_end_reuses_every_other_result():
    spec = load_template("resnet-mini")
    info = infer(spec)
    head = spec.nodes[-1]
    edited = SetParams(head.id, {"units": 7}).apply(spec)
    after = infer(edited, (spec, info))
    assert after.nodes[head.id].output_shape == (7,)
    changed = [node_id for node_id in after.nodes if after.nodes[node_id] is not info.nodes[node_id]]
    assert changed == [head.id]
