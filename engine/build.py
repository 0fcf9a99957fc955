"""NetworkSpec -> keras.Model (functional API). Keras is imported lazily, on first build."""

from __future__ import annotations

from engine.blocks.catalog import BLOCKS_BY_TYPE, BlockType
from engine.deep_graphs import room_for
from engine.errors import ProjectError
from engine.graph.spec import NetworkSpec, NodeSpec
from engine.graph.validate import ERROR, output_node_id, validate


def keras_kwargs(block: BlockType, node: NodeSpec) -> dict:
    """The constructor keyword arguments Keras gets for a node (params converted, plus name)."""
    kwargs = {spec.name: spec.to_keras(node.params[spec.name]) for spec in block.params}
    kwargs["name"] = node.name
    return kwargs


def layer_class(block: BlockType):
    import keras

    import engine.layers

    module_name, class_name = block.keras_path.rsplit(".", 1)
    module = {"keras.layers": keras.layers, "engine.layers": engine.layers}[module_name]
    return getattr(module, class_name)


def build_model(spec: NetworkSpec, name: str | None = None):
    """Build the Keras model for a valid spec; ProjectError listing the errors otherwise."""
    import keras

    errors = [d for d in validate(spec) if d.severity == ERROR]
    if errors:
        listing = "\n".join(f"  - {d.message}" for d in errors[:20])
        raise ProjectError(f"The network has {len(errors)} error(s) to fix before it can be built:\n"
                           f"{listing}")
    from engine.graph.spec import topological_order

    order, _ = topological_order(spec)
    tensors = {}
    input_tensor = None
    for node_id in order:
        node = spec.node(node_id)
        block = BLOCKS_BY_TYPE[node.type]
        if node.type == "InputLayer":
            input_tensor = keras.Input(shape=tuple(node.params["shape"]), name=node.name)
            tensors[node_id] = input_tensor
            continue
        layer = layer_class(block)(**keras_kwargs(block, node))
        inputs = [tensors[edge.source[0]] for edge in spec.incoming(node_id)]
        tensors[node_id] = layer(inputs if block.takes_list else inputs[0])
    output = output_node_id(spec)
    with room_for(len(spec.nodes)):  # Keras maps the graph recursively
        return keras.Model(inputs=input_tensor, outputs=tensors[output],
                           name=name or _model_name(spec.name))


def _model_name(name: str) -> str:
    # ASCII only: TensorFlow refuses other letters in the scope names it makes from it.
    cleaned = "".join(c if (c.isascii() and c.isalnum()) or c in "_-." else "_" for c in name).strip("_")
    return cleaned or "model"
