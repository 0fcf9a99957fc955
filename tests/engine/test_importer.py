"""Importing Keras models: exact architecture, safe loading, clear refusals; and the layout."""

from __future__ import annotations

import gc
import zipfile

import keras
import pytest

from engine.errors import ProjectError
from engine.export import export_keras
from engine.graph.layout import layered_positions
from engine.graph.shapes import infer
from engine.graph.spec import NetworkSpec
from engine.graph.validate import ERROR, validate
from engine.importer import import_keras_file, spec_from_model


def assert_same_as_keras(spec: NetworkSpec, model) -> None:
    """The spec's inferred shapes and parameter counts are Keras's, layer by layer."""
    assert [d.message for d in validate(spec) if d.severity == ERROR] == []
    info = infer(spec)
    assert info.total_params == model.count_params()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert info.trainable_params == trainable
    assert len(spec.nodes) == len(model.get_config()["layers"])
    for node in spec.nodes:
        if node.type == "InputLayer":  # not among a Sequential's layers
            assert info.nodes[node.id].output_shape == tuple(model.inputs[0].shape[1:])
            continue
        layer = model.get_layer(node.name)
        assert info.nodes[node.id].output_shape == tuple(layer.output.shape[1:]), node.name
        assert info.nodes[node.id].params == layer.count_params(), node.name


def import_through_file(model, tmp_path) -> NetworkSpec:
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    try:
        return import_keras_file(path)
    finally:
        path.unlink()  # VGG16 is 550 MB: do not leave it in pytest's kept tmp dirs


# -- real architectures --------------------------------------------------------------------

def _small_vgg16(weights=None):
    """The whole VGG16 architecture (top included) on 32x32 inputs and 10 classes: the same
    layers as the ImageNet one at a 150 MB file instead of 550 MB."""
    return keras.applications.VGG16(weights=weights, input_shape=(32, 32, 3), classes=10)


@pytest.mark.parametrize("application", [
    _small_vgg16, keras.applications.ResNet50,
    pytest.param(keras.applications.VGG16, marks=pytest.mark.slow)],  # a 550 MB file
    ids=["VGG16-32px", "ResNet50", "VGG16"])
def test_application_imports_exactly(application, tmp_path):
    model = application(weights=None)
    spec = import_through_file(model, tmp_path)
    assert spec.name == model.name
    assert spec.description == f"Imported from {model.name}.keras."
    assert_same_as_keras(spec, model)
    assert set(spec.layout) == set(spec.node_ids)
    del model
    gc.collect()


def test_resnet_merges_keep_their_input_order():
    model = keras.applications.ResNet50(weights=None)
    spec = spec_from_model(model)
    add = next(n for n in spec.nodes if n.name == "conv2_block1_add")
    sources = [spec.node(e.source[0]).name for e in spec.incoming(add.id)]
    assert sources == ["conv2_block1_0_bn", "conv2_block1_3_bn"]
    # ResNet writes BatchNormalization(axis=3): the channel axis, like the catalogue's -1.
    assert {n.type for n in spec.nodes} >= {"ZeroPadding2D", "Add", "BatchNormalization"}
    # Keras says "linear" for no activation; the import keeps it.
    assert spec.node(next(n.id for n in spec.nodes if n.name == "conv1_conv")).params["activation"] \
        == "linear"


def test_mobilenet_lists_every_unsupported_layer(tmp_path):
    model = keras.applications.MobileNet(weights=None)
    with pytest.raises(ProjectError) as caught:
        import_through_file(model, tmp_path)
    message = str(caught.value)
    assert "conv_dw_1 (DepthwiseConv2D): not a CNN Studio block" in message
    assert "conv_dw_13 (DepthwiseConv2D)" in message
    assert "conv1_relu (ReLU)" in message
    assert "(Reshape)" in message
    # A known type with a setting the catalogue cannot express names the setting.
    assert "(GlobalAveragePooling2D): keepdims = True is not supported" in message
    assert "DepthwiseConv2D (13)" in message
    assert "Traceback" not in message


# -- safe loading ------------------------------------------------------------------------------

def _marker_lambda():
    """A Lambda whose code leaves a file where $LAMBDA_MARKER says (no closure: it must
    survive saving), so a test can see whether loading ran it."""
    return keras.layers.Lambda(
        lambda t: (open(__import__("os").environ["LAMBDA_MARKER"], "w").close(), t)[1])


def test_lambda_layer_is_refused_without_running_it(tmp_path, monkeypatch):
    marker = tmp_path / "lambda-ran.txt"
    monkeypatch.setenv("LAMBDA_MARKER", str(marker))
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Flatten()(_marker_lambda()(inputs))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink()  # building the model ran it once

    with pytest.raises(ProjectError) as caught:
        import_keras_file(path)
    assert "Lambda" in str(caught.value)
    assert "never run" in str(caught.value)
    assert not marker.exists()


def test_lambda_marker_really_fires_when_code_is_allowed(tmp_path, monkeypatch):
    """Control for the test above: unsafe loading does run the saved code."""
    marker = tmp_path / "lambda-ran.txt"
    monkeypatch.setenv("LAMBDA_MARKER", str(marker))
    inputs = keras.Input((4,))
    outputs = _marker_lambda()(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink()
    keras.saving.load_model(path, safe_mode=False, compile=False)
    assert marker.exists()


def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        import_keras_file(tmp_path / "absent.keras")


def test_not_a_zip(tmp_path):
    path = tmp_path / "fake.keras"
    path.write_text("not a model")
    with pytest.raises(ProjectError, match="not a valid .keras file"):
        import_keras_file(path)


def test_other_formats_are_refused(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ProjectError, match="only Keras 3 '.keras' files"):
        import_keras_file(path)


def test_broken_archive_is_a_project_error(tmp_path):
    path = tmp_path / "broken.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{ not json")
    with pytest.raises(ProjectError, match="Cannot import broken.keras"):
        import_keras_file(path)


def test_unregistered_custom_layer_is_refused(tmp_path):
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    inputs = keras.Input((4, 4, 1))
    path = tmp_path / "custom.keras"
    keras.Model(inputs, keras.layers.Flatten()(Doubler()(inputs))).save(path)
    with pytest.raises(ProjectError, match="Cannot import custom.keras"):
        import_keras_file(path)


# -- settings and structure -----------------------------------------------------------------------

def test_unsupported_settings_are_named_together():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, dilation_rate=2, activation="swish",
                            kernel_regularizer=keras.regularizers.L1(0.1), name="odd_conv")(inputs)
    x = keras.layers.BatchNormalization(axis=1, name="odd_bn")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L2(0.001), name="fine")(x)
    with pytest.raises(ProjectError) as caught:
        spec_from_model(keras.Model(inputs, x))
    message = str(caught.value)
    assert "2 layer(s)" in message
    assert "odd_conv (Conv2D): dilation_rate = [2, 2] is not supported" in message
    assert "activation = 'silu'" in message
    assert "kernel_regularizer = L1 is not supported" in message
    assert "odd_bn (BatchNormalization): axis = 1 is not supported" in message
    assert "fine" not in message


def test_channel_axis_may_be_counted_from_the_start():
    inputs = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    b = keras.layers.Conv2D(2, 1)(inputs)
    x = keras.layers.Concatenate(axis=3)([a, b])
    x = keras.layers.BatchNormalization(axis=3)(x)
    x = keras.layers.GlobalMaxPooling2D()(x)
    x = keras.layers.Dense(3, kernel_regularizer=keras.regularizers.L2(0.0005), activation="softmax")(x)
    model = keras.Model(inputs, x)
    spec = spec_from_model(model)
    assert_same_as_keras(spec, model)
    dense = next(n for n in spec.nodes if n.type == "Dense")
    assert dense.params["kernel_regularizer"] == 0.0005
    assert dense.params["activation"] == "softmax"


def test_keras_ops_and_subclasses_are_not_taken_for_blocks():
    class Conv2D(keras.layers.Conv2D):  # same class name, different class
        pass

    inputs = keras.Input((8, 8, 2))
    x = Conv2D(2, 1, name="lookalike")(inputs)
    x = keras.ops.add(inputs, x)  # an op, serialized with class_name "Add"
    x = keras.layers.Flatten()(x)
    with pytest.raises(ProjectError) as caught:
        spec_from_model(keras.Model(inputs, x))
    message = str(caught.value)
    assert "lookalike (Conv2D): a " in message and "not the standard keras.layers.Conv2D" in message
    assert "(Add): a keras.src.ops" in message


def test_shared_layer_is_refused():
    inputs = keras.Input((8, 8, 2))
    shared = keras.layers.Conv2D(2, 1, name="shared")
    x = keras.layers.Flatten()(shared(shared(inputs)))
    with pytest.raises(ProjectError, match=r"shared \(Conv2D\): used 2 times"):
        spec_from_model(keras.Model(inputs, x))


def test_nested_model_is_refused_by_name():
    inner = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)], name="backbone")
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Flatten()(inner(inputs))
    with pytest.raises(ProjectError, match=r"backbone \(Sequential\)"):
        spec_from_model(keras.Model(inputs, outputs))


def test_several_inputs_or_outputs_are_refused():
    a, b = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
    merged = keras.layers.Flatten()(keras.layers.Add()([a, b]))
    with pytest.raises(ProjectError, match=r"2 input\(s\) and 1 output\(s\)"):
        spec_from_model(keras.Model([a, b], merged))
    flat = keras.layers.Flatten()(a)
    with pytest.raises(ProjectError, match=r"1 input\(s\) and 2 output\(s\)"):
        spec_from_model(keras.Model(a, [keras.layers.Dense(2)(flat), keras.layers.Dense(3)(flat)]))


def test_non_image_input_is_refused():
    inputs = keras.Input((784,), name="pixels")
    with pytest.raises(ProjectError, match=r"pixels \(InputLayer\): input shape \[784\]"):
        spec_from_model(keras.Model(inputs, keras.layers.Dense(10)(inputs)))


def test_sequential_models():
    with_input = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3),
                                   keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                                   keras.layers.Dropout(0.25), keras.layers.Dense(3)])
    assert_same_as_keras(spec_from_model(with_input), with_input)

    built_later = keras.Sequential([keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(),
                                    keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    built_later.build((None, None, None, 3))
    spec = spec_from_model(built_later)
    assert spec.nodes[0].type == "InputLayer" and spec.nodes[0].params["shape"] == [None, None, 3]
    assert infer(spec).total_params == built_later.count_params()
    assert [d.message for d in validate(spec) if d.severity == ERROR] == []

    never_built = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ProjectError, match="does not know its input shape"):
        spec_from_model(never_built)


def test_names_become_valid_unique_block_names():
    inputs = keras.Input((8, 8, 1), name="in put")
    a = keras.layers.Conv2D(2, 3, padding="same", name="conv 1")(inputs)
    b = keras.layers.Conv2D(2, 3, padding="same", name="conv_1")(a)
    spec = spec_from_model(keras.Model(inputs, keras.layers.Flatten()(b)))
    assert [n.name for n in spec.nodes][:3] == ["in_put", "conv_1_1", "conv_1"]
    assert [d.message for d in validate(spec) if d.severity == ERROR] == []
    assert spec.node_ids[:3] == ["n1", "n2", "n3"]


def test_round_trip_through_export(tmp_path):
    spec = NetworkSpec.from_dict({
        "format_version": 1, "name": "round_trip",
        "nodes": [
            {"id": "in", "type": "InputLayer", "name": "image", "params": {"shape": [28, 28, 1]}},
            {"id": "c", "type": "Conv2D", "name": "conv",
             "params": {"filters": 8, "kernel_size": [5, 3], "strides": [2, 1], "padding": "same",
                        "activation": "tanh", "kernel_regularizer": 0.0005}},
            {"id": "p", "type": "WeightedAveragePooling2D", "name": "pool",
             "params": {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}},
            {"id": "z", "type": "ZeroPadding2D", "name": "pad", "params": {"padding": [[1, 0], [2, 1]]}},
            {"id": "f", "type": "Flatten", "name": "flat", "params": {}},
            {"id": "d", "type": "Dense", "name": "scores", "params": {"units": 10, "use_bias": False,
                                                                     "activation": "softmax"}},
        ],
        "edges": [{"source": [a, 0], "target": [b, 0]}
                  for a, b in [("in", "c"), ("c", "p"), ("p", "z"), ("z", "f"), ("f", "d")]],
    })
    path = tmp_path / "round_trip.keras"
    export_keras(spec, path)
    imported = import_keras_file(path)

    def described(network):
        names = {n.id: n.name for n in network.nodes}
        return ([(n.type, n.name, dict(n.params)) for n in network.nodes],
                sorted((names[e.source[0]], names[e.target[0]], e.target[1]) for e in network.edges))

    assert described(imported) == described(spec)


# -- layout ---------------------------------------------------------------------------------------

def _branching_spec() -> NetworkSpec:
    nodes = [{"id": i, "type": t, "name": i, "params": {}} for i, t in
             [("in", "InputLayer"), ("a", "Conv2D"), ("b", "Conv2D"), ("c", "Conv2D"),
              ("add", "Add"), ("out", "Flatten")]]
    edges = [("in", "a", 0), ("a", "b", 0), ("b", "c", 0), ("c", "add", 0), ("a", "add", 1),
             ("add", "out", 0)]
    return NetworkSpec.from_dict({"format_version": 1, "nodes": nodes, "edges": [
        {"source": [s, 0], "target": [t, p]} for s, t, p in edges]})


def test_layered_positions_left_to_right():
    positions = layered_positions(_branching_spec(), "LR", x_gap=220, y_gap=120)
    assert positions == {"in": (0.0, 0.0), "a": (220.0, 0.0), "b": (440.0, 0.0),
                         "c": (660.0, 0.0), "add": (880.0, 0.0), "out": (1100.0, 0.0)}
    spec = NetworkSpec.from_dict({"format_version": 1, "nodes": [
        {"id": i, "type": t, "name": i, "params": {}} for i, t in
        [("in", "InputLayer"), ("x", "Conv2D"), ("y", "Conv2D"), ("cat", "Concatenate")]],
        "edges": [{"source": [s, 0], "target": [t, p]} for s, t, p in
                  [("in", "x", 0), ("in", "y", 0), ("x", "cat", 0), ("y", "cat", 1)]]})
    positions = layered_positions(spec, "LR", x_gap=100, y_gap=50)
    assert positions == {"in": (0, 0), "x": (100, -25), "y": (100, 25), "cat": (200, 0)}


def test_layered_positions_top_to_bottom_swaps_axes():
    spec = NetworkSpec.from_dict({"format_version": 1, "nodes": [
        {"id": i, "type": t, "name": i, "params": {}} for i, t in
        [("in", "InputLayer"), ("x", "Conv2D"), ("y", "Conv2D")]],
        "edges": [{"source": ["in", 0], "target": [t, 0]} for t in ("x", "y")]})
    assert layered_positions(spec, direction="TB", x_gap=220, y_gap=120) == {
        "in": (0.0, 0.0), "x": (-110.0, 120.0), "y": (110.0, 120.0)}
    with pytest.raises(ValueError):
        layered_positions(spec, direction="diagonal")


def test_layered_positions_of_unconnected_and_empty_graphs():
    assert layered_positions(NetworkSpec()) == {}
    spec = NetworkSpec.from_dict({"format_version": 1, "nodes": [
        {"id": "a", "type": "Conv2D", "name": "a", "params": {}},
        {"id": "b", "type": "Dense", "name": "b", "params": {}}]})
    assert layered_positions(spec, "LR", y_gap=120) == {"a": (0.0, -60.0), "b": (0.0, 60.0)}


def test_layered_positions_park_a_cycle_after_the_rest():
    spec = NetworkSpec.from_dict({"format_version": 1, "nodes": [
        {"id": i, "type": t, "name": i, "params": {}} for i, t in
        [("in", "InputLayer"), ("a", "Conv2D"), ("x", "Add"), ("y", "Add")]],
        "edges": [{"source": [s, 0], "target": [t, p]} for s, t, p in
                  [("in", "a", 0), ("a", "x", 0), ("y", "x", 1), ("x", "y", 0)]]})
    positions = layered_positions(spec, "LR", x_gap=220, y_gap=120)
    assert positions["in"] == (0.0, 0.0) and positions["a"] == (220.0, 0.0)
    assert positions["x"][0] == positions["y"][0] == 440.0
    assert {positions["x"][1], positions["y"][1]} == {-60.0, 60.0}


def test_subclassed_model_is_refused():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Tiny()
    model(keras.ops.zeros((1, 4)))
    with pytest.raises(ProjectError, match="only functional and Sequential"):
        spec_from_model(model)
