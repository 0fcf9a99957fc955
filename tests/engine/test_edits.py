import pytest

from engine.errors import EditRefused
from engine.graph.edits import (AddNode, ChangeNodeType, CompositeEdit, Connect, Disconnect,
                                InsertNodeOnEdge, MoveNodes, RemoveNodes, RenameNode, SetParams,
                                new_node)
from engine.graph.spec import EdgeSpec
from tests.engine.helpers import small_cnn


def apply_and_undo(spec, edit):
    """Apply an edit, check its inverse restores the spec exactly, return the edited spec."""
    inverse = edit.inverse(spec)
    edited = edit.apply(spec)
    assert edited != spec
    assert inverse.apply(edited) == spec
    return edited


def test_add_node_and_undo():
    spec = small_cnn()
    node = new_node(spec, "Dropout")
    edited = apply_and_undo(spec, AddNode(node, (10.0, 20.0)))
    assert edited.layout[node.id] == (10.0, 20.0)
    assert node.name == "dropout"


def test_remove_nodes_restores_connections_order_and_layout_on_undo():
    spec = small_cnn()
    edited = apply_and_undo(spec, RemoveNodes(("n2", "n4")))
    assert not any("n2" in (e.source[0], e.target[0]) for e in edited.edges)
    assert "n2" not in edited.layout


def test_connect_disconnect():
    spec = small_cnn()
    edge = spec.edges[1]
    cut = apply_and_undo(spec, Disconnect(edge))
    assert edge not in cut.edges
    apply_and_undo(cut, Connect(edge))


def test_connect_refuses_cycles_used_ports_and_inputs():
    spec = small_cnn()
    with pytest.raises(EditRefused, match="cycle"):
        Connect(EdgeSpec(("n5", 0), ("n2", 0))).apply(Disconnect(spec.edges[0]).apply(spec))
    with pytest.raises(EditRefused, match="already connected"):
        Connect(EdgeSpec(("n1", 0), ("n2", 0))).apply(spec)
    with pytest.raises(EditRefused, match="Input"):
        Connect(EdgeSpec(("n2", 0), ("n1", 0))).apply(spec)
    with pytest.raises(EditRefused, match="cycle"):
        Connect(EdgeSpec(("n3", 0), ("n3", 0))).apply(Disconnect(spec.edges[1]).apply(spec))


def test_set_params_canonicalises_and_refuses_wrong_types():
    spec = small_cnn()
    edited = apply_and_undo(spec, SetParams("n2", {"kernel_size": 5, "filters": 8}))
    assert edited.node("n2").params["kernel_size"] == [5, 5]
    with pytest.raises(EditRefused, match="kernel_size"):
        SetParams("n2", {"kernel_size": "big"}).apply(spec)
    with pytest.raises(EditRefused, match="no parameter"):
        SetParams("n2", {"units": 3}).apply(spec)


def test_out_of_range_values_are_kept_for_validate_to_report():
    edited = SetParams("n2", {"filters": 0}).apply(small_cnn())
    assert edited.node("n2").params["filters"] == 0


def test_move_rename_change_type():
    spec = small_cnn()
    apply_and_undo(spec, MoveNodes({"n2": (100.0, 5.0), "n3": (200.0, 5.0)}))
    apply_and_undo(spec, RenameNode("n2", "features"))
    changed = apply_and_undo(spec, ChangeNodeType("n3", "AveragePooling2D"))
    assert changed.node("n3").type == "AveragePooling2D"


def test_insert_node_on_edge_rewires_both_ends():
    spec = small_cnn()
    edge = spec.edges[1]  # conv -> pool
    dropout = new_node(spec, "Dropout", {"rate": 0.2})
    edited = apply_and_undo(spec, InsertNodeOnEdge(edge, dropout, (5.0, 5.0)))
    assert EdgeSpec(edge.source, (dropout.id, 0)) in edited.edges
    assert EdgeSpec((dropout.id, 0), edge.target) in edited.edges
    assert edge not in edited.edges


def test_composite_edit_is_one_undo_step():
    spec = small_cnn()
    node = new_node(spec, "Dense", {"units": 7})
    apply_and_undo(spec, CompositeEdit((AddNode(node), SetParams("n2", {"filters": 2}),
                                        RenameNode(node.id, "extra"))))
