"""Keras model -> NetworkSpec: open a `.keras` file (or a live model) as an editable graph.

Only the architecture is imported: layer types, their settings and the connections.
Weights, initializers, dtype policies, `trainable` flags and the compile state are
ignored, so the imported network is a fresh, untrained copy of the design.

Safety: files are loaded with `safe_mode=True`, so a `.keras` file can carry no Python
code (Lambda layers with lambdas are refused) and nothing is ever unpickled.

What becomes what:
- Every layer must be a catalogue block with settings the catalogue can express exactly.
- A model used as a layer (a Sequential or functional sub-model, as ConvNeXt's stem) is
  opened up: its layers become blocks wired exactly as Keras runs them, and a GroupSpec
  (kind "imported", named after the sub-model) holds them. Sub-models inside sub-models
  work too; each gets its own group of the blocks directly in it (a block is in one group).
- `keras.ops` arithmetic that functional models record as operations (MobileNetV3's
  `x + 3.0`, `x * (1 / 6)`, `x * y`): on two tensors it is the Add / Multiply block; on a
  tensor and a Python number it is a Rescaling block (x + c: scale 1, offset c; x * c:
  scale c, offset 0), which computes the same. Any other operation is refused by name.
- Layer names stay as they are when validate() accepts them; others are made valid and
  unique (accents dropped, other characters '_'): TensorFlow refuses non-ASCII names in
  its name scopes, so a network keeping them could not be trained.

A model that cannot be imported raises ImportRefused (a ProjectError): str() is one short
line naming the layer types that block it, and `details` lists every such layer as
{"name", "type", "reason"} (a nested layer's name is its path, "sub_model/layer").

`imported_layers(model)` gives, for each block name of the imported network, the Keras
layer it came from (sub-models opened up; the keras.ops operations, which have no weights,
are absent): weight import copies a file's weights into the imported network with it.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.deep_graphs import load_keras_model
from engine.blocks.catalog import BLOCKS_BY_TYPE, BlockType
from engine.errors import ImportRefused, ProjectError
from engine.graph.layout import layered_positions
from engine.graph.spec import MAX_NAME_LENGTH, EdgeSpec, GroupSpec, NetworkSpec, NodeSpec
from engine.paths import input_file

_VALID_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")  # what validate() refuses in a block name
SUMMARY_LIMIT = 300  # characters of the one-line refusal
GROUP_KIND = "imported"  # GroupSpec.kind of an opened-up sub-model

Key = tuple[str, ...]  # a leaf's enclosing sub-models' names, then its own: unique in a model


class _Unsupported(Exception):
    """One layer the catalogue cannot represent: `reason` in full; `settings` the config
    values at fault and `short` a phrase, for the one-line summary."""

    def __init__(self, reason: str, short: str | None = None, settings: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.settings = settings or {}
        self.short = _clip(reason, 60) if short is None else short


# -- entry points -------------------------------------------------------------------------

def import_keras_file(path) -> NetworkSpec:
    """The network of a `.keras` file, loaded with safe_mode (no code runs, no pickle)."""
    model = _load_safely(Path(path))
    return replace(spec_from_model(model), description=f"Imported from {Path(path).name}.")


def spec_from_model(model) -> NetworkSpec:
    """The NetworkSpec of a functional or Sequential Keras model (architecture only);
    ImportRefused naming every layer it cannot take."""
    return _build_spec(model, _flat_graph(model))


def imported_layers(model) -> dict[str, Any]:
    """Block name in spec_from_model(model) -> the Keras layer that block came from (layers
    of sub-models included; keras.ops operations absent). Raises as spec_from_model does."""
    graph = _flat_graph(model)
    names = _block_names(graph.leaves)
    return {names[leaf.key]: leaf.operation for leaf in graph.leaves
            if leaf.is_layer and leaf.operation is not None}


def _flat_graph(model) -> _FlatGraph:
    if _is_functional(model) and not _is_sequential(model):
        _refuse_several_inputs_or_outputs(model)
    graph = _FlatGraph()
    graph.add_model(model, path=(), feeds=None)
    if graph.problems:
        raise _refusal(model.name, graph.problems)
    return graph


# -- loading ------------------------------------------------------------------------------

def _load_safely(path: Path):
    # Checked before Keras loads (seconds): a wrong path is refused at once.
    input_file(path, ".keras model")
    if path.suffix.lower() != ".keras":
        raise ProjectError(f"Cannot import {path.name}: only Keras 3 '.keras' files can be imported "
                           "(not .h5 or SavedModel). Re-save the model with model.save('name.keras').")
    if not zipfile.is_zipfile(path):
        raise ProjectError(f"Cannot import {path.name}: it is not a valid .keras file (a .keras "
                           "file is a zip archive); it may be damaged or of another format.")
    try:
        return load_keras_model(path, compile=False)
    except Exception as error:  # Keras raises many types; the user needs the reason, not a trace
        raise ProjectError(f"Cannot import {path.name}: {_load_failure_reason(error)}") from None


def _load_failure_reason(error: Exception) -> str:
    message = str(error).strip()
    if "Lambda" in message and "safe_mode" in message:
        return ("it contains a Lambda layer, i.e. Python code, which is never run from a file "
                "for safety. Replace the Lambda with standard layers and save it again.")
    if "Could not locate" in message or "registered" in message:
        return ("it uses a custom layer or object that CNN Studio does not know. "
                f"Keras says: {_first_line(message)}")
    return f"Keras could not load it: {_first_line(message)}"


def _first_line(text: str, limit: int = 300) -> str:
    line = text.splitlines()[0] if text else "unknown error"
    return _clip(line, limit)


# -- reading a model's config ---------------------------------------------------------------

def _refuse_several_inputs_or_outputs(model) -> None:
    inputs, outputs = getattr(model, "inputs", None) or [], getattr(model, "outputs", None) or []
    if len(inputs) != 1 or len(outputs) != 1:
        raise ProjectError(
            f"Cannot import {model.name}: it has {len(inputs)} input(s) and "
            f"{len(outputs)} output(s); CNN Studio networks have exactly one of each.")


def _is_sequential(model) -> bool:
    import keras

    return isinstance(model, keras.Sequential)


def _is_functional(model) -> bool:
    """Functional models describe their layer graph in get_config(); a subclassed model's
    graph lives in its Python call() and cannot be read."""
    return any(cls.__name__ == "Functional" and cls.__module__.startswith("keras")
               for cls in type(model).__mro__)


@dataclass
class _ModelConfig:
    """A model's layers as functional configs (a Sequential's given the inbound_nodes of a
    chain, so one walker reads both), and which of them are its inputs and outputs."""

    layers: list[dict]
    inputs: list[str]                 # names of its InputLayers, in call order
    outputs: list[tuple[str, int]]    # (layer name, output index), in output order


def _model_config(model) -> _ModelConfig:
    if _is_sequential(model):
        layers = _sequential_as_functional(model)
        return _ModelConfig(layers, [layers[0]["name"]], [(layers[-1]["name"], 0)])
    config = model.get_config() if _is_functional(model) else None
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ProjectError(f"Cannot import {model.name}: only functional and Sequential Keras "
                           f"models can be imported, not a {type(model).__name__} subclass.")
    return _ModelConfig(config["layers"], [name for name, _, _ in _refs(config.get("input_layers"))],
                        [(name, index) for name, _, index in _refs(config.get("output_layers"))])


def _refs(value: Any) -> list[list]:
    """A functional config's input_layers / output_layers as [name, node, tensor] triples
    (Keras writes one triple bare, several as a list or a dict)."""
    if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str):
        return [list(value)]
    if isinstance(value, dict):
        value = list(value.values())
    return [ref for item in value or () for ref in _refs(item)]


def _sequential_as_functional(model) -> list[dict]:
    configs = [dict(layer) for layer in model.get_config()["layers"]]
    if not configs or configs[0]["class_name"] != "InputLayer":
        configs.insert(0, _input_config_for(model))
    output_shapes = {layer.name: _output_shape(layer) for layer in model.layers}
    previous, previous_shape = None, None
    for config in configs:
        config.setdefault("name", config["config"]["name"])
        config["inbound_nodes"] = [] if previous is None else [
            {"args": [{"class_name": "__keras_tensor__",
                       "config": {"shape": previous_shape, "keras_history": [previous, 0, 0]}}],
             "kwargs": {}}]
        previous = config["name"]
        previous_shape = (config["config"].get("batch_shape") if config["class_name"] == "InputLayer"
                          else output_shapes.get(previous))
    return configs


def _output_shape(layer) -> list | None:
    try:
        return list(layer.output.shape)
    except (AttributeError, ValueError):  # a layer never called has no output yet
        return None


def _input_config_for(model) -> dict:
    try:
        batch_shape = list(model.inputs[0].shape)
    except (AttributeError, ValueError, IndexError, TypeError):
        raise ProjectError(f"Cannot import {model.name}: the Sequential model does not know its "
                           "input shape. Start it with keras.Input(shape=...) and save it again.") \
            from None
    names = {layer.name for layer in model.layers}
    name = next(n for n in ("input", "input_layer", "input_1") if n not in names)
    return {"class_name": "InputLayer", "name": name,
            "config": {"name": name, "batch_shape": batch_shape}}


def _operations(model) -> list:
    # Functional models also list non-layer ops (keras.ops.add on tensors) here.
    return list(getattr(model, "operations", model.layers))


# -- the flat graph: sub-models opened up ----------------------------------------------------

@dataclass
class _Leaf:
    """One block to be: a layer, or a keras.ops operation, with what feeds it."""

    key: Key
    block: BlockType
    params: dict
    sources: list[Key]        # the leaves feeding it, in the order Keras passes them
    operation: Any            # the live Keras layer or operation (None: an added InputLayer)
    is_layer: bool = True     # False: a keras.ops operation (no layer, no weights)


@dataclass
class _FlatGraph:
    """The model's leaves in Keras's order with its sub-models opened up, and the layers it
    cannot take (then no spec is made)."""

    leaves: list[_Leaf] = field(default_factory=list)
    sub_models: list[Key] = field(default_factory=list)   # in the order they were opened
    problems: list[dict] = field(default_factory=list)    # {"name", "type", "reason", ...}
    _owners: dict[int, Key] = field(default_factory=dict)  # id(live layer) -> where it is

    def add_model(self, model, path: Key, feeds: list[Key] | None) -> list[Key]:
        """Add the leaves of `model` under `path`. `feeds`: the leaves a sub-model is called
        on (its InputLayers stand for them); None for the imported model itself, whose
        InputLayer is a block. Returns the leaves that give the model's outputs."""
        config = _model_config(model)
        if feeds is not None and len(feeds) != len(config.inputs):
            raise _Unsupported(f"called on {len(feeds)} tensor(s) but has {len(config.inputs)} "
                               "input(s)")
        live = {operation.name: operation for operation in _operations(model)}
        produced: dict[str, list[Key]] = {}  # a layer of this model -> the leaves of its outputs
        for layer_config in config.layers:
            name = layer_config["name"]
            if feeds is not None and name in config.inputs:  # the sub-model's caller's tensor
                produced[name] = [feeds[config.inputs.index(name)]]
                continue
            key, operation = path + (name,), live.get(name)
            try:
                produced[name] = self._add(key, layer_config, operation, produced)
            except _Unsupported as unsupported:
                self._refused(key, _type_name(layer_config, operation), unsupported)
                produced[name] = _StandIn([key])  # the layers after it are still checked
        return [_produced_by(produced, name, 0, index) for name, index in config.outputs]

    def _add(self, key: Key, config: dict, operation, produced: dict) -> list[Key]:
        self._claim(key, operation)
        call = _single_call(config)
        if _is_model(operation):
            feeds = [_produced_by(produced, *_history(t)) for t in _call_tensors(call)]
            if not _is_functional(operation) and not _is_sequential(operation):
                raise _Unsupported(f"a {type(operation).__name__} subclass: its layers are "
                                   "Python code, not a graph", short="a subclassed model")
            self.sub_models.append(key)
            return self.add_model(operation, key, feeds)
        if _is_operation(config, operation):
            block, params, sources = _operation_block(config, call, produced)
            self.leaves.append(_Leaf(key, block, params, sources, operation, is_layer=False))
        else:
            block = _catalogue_block(config["class_name"], operation)
            sources, input_rank = _inbound(call, block, produced)
            params = _params_from_config(block, config["config"], input_rank)
            self.leaves.append(_Leaf(key, block, params, sources, operation))
        return [key]

    def _claim(self, key: Key, operation) -> None:
        # A layer met twice (in a sub-model and beside it) shares its weights: not two blocks.
        if operation is None:
            return
        first = self._owners.setdefault(id(operation), key)
        if first != key:
            raise _Unsupported(f"the same layer as {'/'.join(first)} (shared weights cannot be "
                               "drawn as one block)", short="shared by several calls")

    def _refused(self, key: Key, type_name: str, unsupported: _Unsupported) -> None:
        self.problems.append({"name": "/".join(key), "type": type_name,
                              "reason": unsupported.reason, "short": unsupported.short,
                              "settings": unsupported.settings})


def _is_model(operation) -> bool:
    import keras

    return isinstance(operation, keras.Model)


def _is_operation(config: dict, operation) -> bool:
    """A keras.ops call recorded in the graph (not a layer)."""
    import keras

    if operation is not None:
        return not isinstance(operation, keras.layers.Layer)
    return str(config.get("module", "")).startswith("keras.src.ops")


def _type_name(config: dict, operation) -> str:
    if _is_operation(config, operation):
        return _operation_name(config["class_name"])
    return type(operation).__name__ if _is_model(operation) else config["class_name"]


def _operation_name(class_name: str) -> str:
    """keras.ops' function for an operation class: TrueDivide -> keras.ops.true_divide."""
    return "keras.ops." + re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def _single_call(config: dict) -> dict | None:
    """The one call of a layer (None for an InputLayer): a layer called twice shares its
    weights between both places, which one block cannot show."""
    calls = config.get("inbound_nodes", [])
    if config["class_name"] == "InputLayer" and not calls:
        return None
    if len(calls) != 1:
        raise _Unsupported(f"used {len(calls)} times (shared weights cannot be drawn as one block)",
                           short="shared by several calls")
    return calls[0]


def _call_tensors(call: dict | None) -> list[dict]:
    if call is None:
        return []
    return _keras_tensors(call.get("args", [])) or _keras_tensors(call.get("kwargs", {}))


def _history(tensor: dict) -> tuple[str, int, int]:
    layer_name, node_index, tensor_index = tensor["config"]["keras_history"]
    return layer_name, node_index, tensor_index


class _StandIn(list):
    """The outputs of a refused layer: whatever its readers read of it is its own problem."""


def _produced_by(produced: dict, layer_name: str, node_index: int, tensor_index: int) -> Key:
    """The leaf giving output `tensor_index` of `layer_name` (a leaf or a sub-model)."""
    outputs = produced.get(layer_name)
    if isinstance(outputs, _StandIn):
        return outputs[0]
    if node_index != 0 or outputs is None or tensor_index >= len(outputs):
        raise _Unsupported(f"reads output {tensor_index} of call {node_index} of {layer_name}",
                           short="reads a second output or call")
    return outputs[tensor_index]


def _keras_tensors(value: Any) -> list[dict]:
    """Every `__keras_tensor__` entry in a call's args/kwargs, depth first (merge order)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value]
        return [t for item in value.values() for t in _keras_tensors(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _keras_tensors(item)]
    return []


# -- one layer -> one block -----------------------------------------------------------------

_IMPORTED_AS = {path: block for block in BLOCKS_BY_TYPE.values() for path in block.import_classes}


def _catalogue_block(class_name: str, operation) -> BlockType:
    from engine.build import layer_class

    if operation is not None:  # the same computation under another class (catalogue trait)
        aliased = _IMPORTED_AS.get(f"{type(operation).__module__}.{type(operation).__name__}")
        if aliased is not None:
            return aliased
    block = BLOCKS_BY_TYPE.get(class_name)
    if block is None:
        raise _Unsupported("not a CNN Studio block")
    # The exact class, not just its name: a subclass or a keras.ops call named "Add"
    # would behave differently from the catalogue block.
    if operation is not None and type(operation) is not layer_class(block):
        raise _Unsupported(f"a {type(operation).__module__}.{type(operation).__name__}, "
                           f"not the standard {block.keras_path}")
    return block


def _inbound(call: dict | None, block: BlockType, produced: dict) -> tuple[list[Key], int | None]:
    """The leaves feeding a layer, in the order Keras passes them, and the rank (batch axis
    included) of its first input as Keras recorded it (None if unknown)."""
    if block.type == "InputLayer":
        return [], None
    tensors = _call_tensors(call)
    sources = [_produced_by(produced, *_history(tensor)) for tensor in tensors]
    too_many = block.max_inputs is not None and len(sources) > block.max_inputs
    if len(sources) < block.min_inputs or too_many:
        raise _Unsupported(f"has {len(sources)} input(s)")
    shape = tensors[0]["config"].get("shape") if tensors else None
    return sources, None if shape is None else len(shape)


# keras.ops arithmetic -> (the block for two tensors, the Rescaling (scale, offset) for x op c)
_ARITHMETIC = {"Add": ("Add", lambda c: (1.0, c)), "Multiply": ("Multiply", lambda c: (c, 0.0))}


def _operation_block(config: dict, call: dict, produced: dict) -> tuple[BlockType, dict, list[Key]]:
    """The block computing a keras.ops call exactly: x + y, x * y, x + c, x * c."""
    class_name, operation = config["class_name"], _operation_name(config["class_name"])
    if class_name not in _ARITHMETIC:
        raise _Unsupported(f"the operation {operation} has no CNN Studio block", short="")
    args = list(call.get("args", ()))
    if len(args) != 2 or any(value is not None for value in call.get("kwargs", {}).values()):
        raise _Unsupported(f"{operation} with {len(args)} argument(s) or keyword arguments",
                           short="with other arguments")
    tensors = [arg for arg in args if _keras_tensors(arg) == [arg]]
    numbers = [arg for arg in args if isinstance(arg, (int, float)) and not isinstance(arg, bool)]
    rank = _rank(tensors[0]) if tensors else None
    merge, scale_offset = _ARITHMETIC[class_name]
    if len(tensors) == 2:
        block = _block_for(merge, f"{operation} of two tensors")
        return block, _params_from_config(block, {}, rank), [
            _produced_by(produced, *_history(tensor)) for tensor in tensors]
    if len(tensors) == 1 and len(numbers) == 1:
        block = _block_for("Rescaling", f"{operation} of a tensor and a number")
        scale, offset = scale_offset(float(numbers[0]))
        params = _params_from_config(block, {"scale": scale, "offset": offset}, rank)
        return block, params, [_produced_by(produced, *_history(tensors[0]))]
    raise _Unsupported(f"{operation} of a tensor and a constant that is not one number",
                       short="with a constant array")


def _block_for(block_type: str, what: str) -> BlockType:
    block = BLOCKS_BY_TYPE.get(block_type)
    if block is None:
        raise _Unsupported(f"{what} needs a {block_type} block, which this CNN Studio lacks")
    return block


def _rank(tensor: dict) -> int | None:
    shape = tensor["config"].get("shape")
    return None if shape is None else len(shape)


def _params_from_config(block: BlockType, config: dict, input_rank: int | None) -> dict:
    """Catalogue params from a layer config; _Unsupported naming every setting that differs."""
    if block.type == "InputLayer":
        return {"shape": _input_shape(config)}
    problems, settings = [], {}
    for key, required in block.import_requires.items():
        actual = config.get(key, required)  # Keras leaves some defaults out of get_config
        if not _same_setting(key, actual, required, input_rank):
            problems.append(f"{key} = {_short(_plain(actual))} is not supported "
                            f"(CNN Studio needs {_short(_plain(required))})")
            settings[key] = actual
    params = {}
    for spec in block.params:
        if spec.name not in config:
            problems.append(f"the setting {spec.name} is missing from its config")
            settings[spec.name] = None
            continue
        try:
            params[spec.name] = spec.from_keras(config[spec.name])
        except ProjectError as error:
            problems.append(_reason(error, spec.name, config[spec.name]))
            settings[spec.name] = config[spec.name]
    if problems:
        raise _Unsupported("; ".join(problems), short="", settings=settings)
    return params


def _input_shape(config: dict) -> list:
    batch_shape = config.get("batch_shape", config.get("batch_input_shape"))
    if config.get("sparse") or config.get("ragged"):
        raise _Unsupported("sparse or ragged inputs are not supported")
    if not isinstance(batch_shape, (list, tuple)) or len(batch_shape) != 4:
        shape = None if batch_shape is None else list(batch_shape)[1:]
        raise _Unsupported(f"input shape {_short(shape)} is not height x width x channels",
                           short=f"of shape {_compact(shape)}, not height x width x channels")
    try:
        return BLOCKS_BY_TYPE["InputLayer"].param("shape").from_keras(list(batch_shape[1:]))
    except ProjectError as error:
        raise _Unsupported(_reason(error, "input shape")) from None


def _same_setting(key: str, actual: Any, required: Any, rank: int | None) -> bool:
    actual, required = _plain(actual), _plain(required)
    if actual == required:
        return True
    if key == "axis":  # [-1] and -1 name the same single axis
        actual, required = (v[0] if isinstance(v, list) and len(v) == 1 else v
                            for v in (actual, required))
    # An axis counted from the end or the start is the same axis: -1 == 3 on a 4-D tensor.
    if key == "axis" and isinstance(actual, int) and isinstance(required, int) and rank:
        return actual % rank == required % rank
    return False


def _plain(value: Any) -> Any:
    """Tuples and lists compare equal (configs use lists, catalogue values either)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _reason(error: ProjectError, setting: str, value: Any = None) -> str:
    """ParamSpec's message without its 'imported layer: ' prefix, naming the setting."""
    if isinstance(value, dict) and "class_name" in value:  # a serialized regularizer
        return f"{setting} = {value['class_name']} is not supported (only L2 weight decay is)"
    text = str(error).removeprefix("imported layer: ").rstrip(".")
    if not text.startswith(setting):
        text = f"{setting}: {text}"
    return _clip(text, 200)


def _short(value: Any, limit: int = 60) -> str:
    return _clip(repr(value), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


# -- the spec -------------------------------------------------------------------------------

def _build_spec(model, graph: _FlatGraph) -> NetworkSpec:
    ids = {leaf.key: f"n{index}" for index, leaf in enumerate(graph.leaves, start=1)}
    names = _block_names(graph.leaves)
    nodes = tuple(NodeSpec(id=ids[leaf.key], type=leaf.block.type, params=leaf.params,
                           name=names[leaf.key]) for leaf in graph.leaves)
    edges = tuple(EdgeSpec(source=(ids[source], 0), target=(ids[leaf.key], port))
                  for leaf in graph.leaves for port, source in enumerate(leaf.sources))
    spec = NetworkSpec(nodes=nodes, edges=edges, name=model.name, groups=_groups(graph, ids))
    return replace(spec, layout=layered_positions(spec))


def _groups(graph: _FlatGraph, ids: dict[Key, str]) -> tuple[GroupSpec, ...]:
    """One group per sub-model, of the blocks directly in it (a block is in one group only,
    so a sub-model's sub-models are groups of their own)."""
    groups = []
    for path in graph.sub_models:
        members = tuple(ids[leaf.key] for leaf in graph.leaves if leaf.key[:-1] == path)
        if members:
            groups.append(GroupSpec(id=f"g{len(groups) + 1}", name=path[-1], kind=GROUP_KIND,
                                    node_ids=members))
    return tuple(groups)


def _block_names(leaves: list[_Leaf]) -> dict[Key, str]:
    """Keras names as block names: kept where validate() accepts them and they are the first
    of their name (sub-models may repeat a name); others made valid and unique."""
    result: dict[Key, str] = {}
    kept = {}
    for leaf in leaves:
        name = leaf.key[-1]
        if not _VALID_NAME.search(name) and len(name) <= MAX_NAME_LENGTH:
            kept.setdefault(name, leaf.key)
    taken = set(kept)
    for leaf in leaves:
        name = leaf.key[-1]
        if kept.get(name) == leaf.key:
            result[leaf.key] = name
            continue
        unique = base = _valid_name(name, leaf.block.type)
        index = 1
        while unique in taken:
            unique = f"{base}_{index}"
            index += 1
        taken.add(unique)
        result[leaf.key] = unique
    return result


def _valid_name(keras_name: str, block_type: str) -> str:
    """ASCII letters, digits, '_', '-', '.': accents dropped (schicht_ä -> schicht_a), other
    characters '_'; a name left without a letter is led by its block type (卷积_1 -> conv2d_1)."""
    ascii_name = unicodedata.normalize("NFKD", keras_name).encode("ascii", "ignore").decode()
    name = _VALID_NAME.sub("_", ascii_name).strip("_")
    if not re.search("[A-Za-z]", name):
        name = "_".join(filter(None, [block_type.lower(), name]))
    return name[:MAX_NAME_LENGTH - 10]  # room for a _N suffix


# -- the refusal ------------------------------------------------------------------------------

def _refusal(model_name: str, problems: list[dict]) -> ImportRefused:
    details = [{key: problem[key] for key in ("name", "type", "reason")} for problem in problems]
    return ImportRefused(_summary(model_name, problems), details)


def _summary(model_name: str, problems: list[dict]) -> str:
    """One line of at most SUMMARY_LIMIT characters: each layer type that blocks the import
    with its reason in short, e.g. 'Conv2D with groups=96/192 (6 layers)'."""
    by_type: dict[str, list[dict]] = {}
    for problem in problems:
        by_type.setdefault(problem["type"], []).append(problem)
    count = len(by_type)
    head = (f"Cannot import {_clip(' '.join(model_name.split()), 60)}: {count} layer "
            f"{'type has' if count == 1 else 'types have'} no exact CNN Studio equivalent: ")
    items = [_summary_item(type_name, entries) for type_name, entries in by_type.items()]
    shown = len(items)
    while True:  # as many types as fit, the others counted
        rest = len(items) - shown
        line = head + ", ".join(items[:shown]) + (f" and {rest} more" if rest else "")
        if len(line) <= SUMMARY_LIMIT or shown == 1:
            return _clip(line, SUMMARY_LIMIT)
        shown -= 1


def _summary_item(type_name: str, entries: list[dict]) -> str:
    values: dict[str, list[str]] = {}  # setting -> its distinct values at fault, in order
    for entry in entries:
        for key, value in entry["settings"].items():
            text = _compact(value)
            if text not in values.setdefault(key, []):
                values[key].append(text)
    parts = [f"with {', '.join(f'{key}={_some(texts)}' for key, texts in values.items())}"] \
        if values else []
    parts += dict.fromkeys(e["short"] for e in entries if e["short"] and not e["settings"]
                           and e["short"] != "not a CNN Studio block")
    layers = f"{len(entries)} layer{'s' if len(entries) != 1 else ''}"
    return _clip(" ".join([type_name, *parts]), 90) + f" ({layers})"


def _some(texts: list[str], shown: int = 3) -> str:
    return "/".join(texts[:shown]) + ("/..." if len(texts) > shown else "")


def _compact(value: Any) -> str:
    """A config value in a few characters: silu, [2,2], L1."""
    if isinstance(value, dict) and "class_name" in value:
        return str(value["class_name"])
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_compact(v) for v in value) + "]"
    return _clip(value if isinstance(value, str) else repr(value), 24)
