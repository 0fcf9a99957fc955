import pytest

from engine.graph.edits import ChangeNodeType, Disconnect, RenameNode, SetParams
from engine.graph.shapes import infer
from engine.graph.spec import NetworkSpec
from engine.graph.validate import ERROR, WARNING, has_errors, validate
from engine.templates import load_template
from tests.engine.helpers import GraphBuilder, small_cnn


def messages(spec, severity=ERROR):
    return [d for d in validate(spec) if d.severity == severity]


def apply_fix(spec, diagnostic):
    for edit in diagnostic.fix:
        spec = edit.apply(spec)
    return spec


def test_valid_network_has_no_diagnostics():
    assert validate(small_cnn()) == []


def test_empty_network_needs_an_input_and_layers():
    found = messages(NetworkSpec())
    assert any("no Input" in d.message for d in found)
    assert any("no layers" in d.message for d in found)


def test_unconnected_port_and_unused_block():
    spec = Disconnect(small_cnn().edges[1]).apply(small_cnn())  # conv -x- pool
    found = messages(spec)
    assert any(d.node_id == "n3" and "has no input" in d.message and d.port == 0 for d in found)
    assert any(d.node_id == "n2" and "is a dead end" in d.message for d in found)


def test_cycle_in_a_loaded_file_is_reported_not_raised():
    data = small_cnn().to_dict()
    data["nodes"].append({"id": "m", "type": "Add", "name": "loop_add", "params": {}})
    data["edges"] += [{"source": ["n2", 0], "target": ["m", 0]},
                      {"source": ["m", 0], "target": ["m", 1]}]
    spec = NetworkSpec.from_dict(data)
    assert any("cycle" in d.message for d in messages(spec))


def test_kernel_larger_than_input_suggests_same_padding():
    spec = SetParams("n2", {"kernel_size": [20, 20]}).apply(small_cnn())
    [problem] = [d for d in messages(spec) if d.node_id == "n2"]
    assert "larger than the input" in problem.message
    assert not has_errors(validate(apply_fix(spec, problem)))


def test_flatten_after_variable_size_input_suggests_global_pooling():
    spec = SetParams("n1", {"shape": [None, None, 1]}).apply(small_cnn())
    [problem] = [d for d in messages(spec) if d.node_id == "n4"]
    assert "GlobalAveragePooling2D" in problem.message
    fixed = apply_fix(spec, problem)
    assert fixed.node("n4").type == "GlobalAveragePooling2D"
    assert not has_errors(validate(fixed))


def test_dense_on_feature_map_warns_with_global_pooling_fix():
    spec = ChangeNodeType("n4", "Dropout").apply(small_cnn())
    [warning] = [d for d in messages(spec, WARNING) if "feature map" in d.message]
    assert infer(apply_fix(spec, warning)).nodes["n5"].output_shape == (3,)


def test_add_mismatch_fix_inserts_strided_projection():
    g = GraphBuilder()
    x = g.add("InputLayer", {"shape": [16, 16, 8]})
    y = g.add("Conv2D", {"filters": 16, "strides": [2, 2], "padding": "same"}, [x])
    add = g.add("Add", {}, [y, x])
    g.add("GlobalAveragePooling2D", {}, [add])
    [problem] = [d for d in messages(g.spec) if d.node_id == add]
    assert "same shape" in problem.message
    fixed = apply_fix(g.spec, problem)
    assert not has_errors(validate(fixed))
    projection = [n for n in fixed.nodes if n.name == "projection"][0]
    assert projection.params["strides"] == [2, 2] and projection.params["filters"] == 16


def test_concatenate_mismatch():
    g = GraphBuilder()
    x = g.add("InputLayer", {"shape": [16, 16, 3]})
    a = g.add("Conv2D", {"padding": "valid"}, [x])
    b = g.add("Conv2D", {"padding": "same"}, [x])
    g.add("Concatenate", {}, [a, b])
    assert any("heights and widths must match" in d.message for d in messages(g.spec))


def test_out_of_range_parameter_has_clamp_fix():
    spec = SetParams("n2", {"filters": 0, "strides": [0, 1]}).apply(small_cnn())
    found = [d for d in messages(spec) if d.node_id == "n2"]
    assert {"filters", "strides"} <= {next(iter(d.fix[0].changes)) for d in found}
    for problem in found:
        spec = apply_fix(spec, problem)
    assert not has_errors(validate(spec))


def test_merge_needs_two_inputs_and_names_must_be_unique():
    g = GraphBuilder()
    x = g.add("InputLayer", {"shape": [8, 8, 1]}, name="same")
    add = g.add("Add", {}, [x])
    found = messages(RenameNode(add, "same").apply(g.spec))
    assert any(d.node_id == add and "at least 2 inputs" in d.message for d in found)
    assert any("Two blocks are named 'same'" in d.message for d in found)


def test_a_network_too_big_to_train_in_this_machines_memory_is_flagged_on_its_largest_block():
    from engine.graph.validate import physical_memory_bytes

    nodes = [{"id": "a", "type": "InputLayer", "name": "input", "params": {"shape": [100000, 100000, 1]}},
             {"id": "b", "type": "Flatten", "name": "flatten", "params": {}},
             {"id": "c", "type": "Dense", "name": "output", "params": {"units": 10, "activation": "softmax"}}]
    edges = [{"source": ["a", 0], "target": ["b", 0]}, {"source": ["b", 0], "target": ["c", 0]}]
    spec = NetworkSpec.from_dict({"format_version": 1, "nodes": nodes, "edges": edges})
    if physical_memory_bytes() is None:
        pytest.skip("this OS does not report its memory")
    [warning] = [d for d in validate(spec) if "cannot train here" in d.message]
    assert warning.severity == WARNING and warning.node_id == "c"
    assert "100,000,000,010 parameters" in warning.message
    assert not [d for d in validate(load_template("lenet5")) if "cannot train" in d.message]
