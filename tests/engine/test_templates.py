import pytest

from engine.build import build_model
from engine.graph.shapes import infer
from engine.graph.validate import validate
from engine.templates import list_templates, load_template, template_keys

EXPECTED = {"lenet5", "vgg-mini", "nin-mini", "googlenet-mini", "resnet-mini", "deep-mlp"}


def test_all_lecture_templates_ship_with_a_description():
    infos = {info.key: info for info in list_templates()}
    assert EXPECTED <= set(infos)
    assert template_keys()[0] == "lenet5"
    assert all(len(info.description) > 80 for info in infos.values())


def test_lenet5_has_the_classic_parameter_count():
    assert infer(load_template("lenet5")).total_params == 61_706


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_template_is_valid_and_agrees_with_keras(key):
    spec = load_template(key)
    assert validate(spec) == []
    info = infer(spec)
    model = build_model(spec)
    assert model.count_params() == info.total_params
    for node in spec.nodes:
        layer = model.get_layer(node.name)
        assert tuple(layer.output.shape[1:]) == info.nodes[node.id].output_shape, node.name
        assert layer.count_params() == info.nodes[node.id].params, node.name
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert trainable == info.trainable_params
    assert all(node.id in spec.layout for node in spec.nodes)
