"""Keras model -> NetworkSpec: open a `.keras` file (or a live model) as an editable graph.

Only the architecture is imported: layer types, their settings and the connections.
Weights, initializers, dtype policies, `trainable` flags and the compile state are
ignored, so the imported network is a fresh, untrained copy of the design.

Safety: files are loaded with `safe_mode=True`, so a `.keras` file can carry no Python
code (Lambda layers with lambdas are refused) and nothing is ever unpickled.

Every layer must be a catalogue block with settings the catalogue can express exactly;
otherwise the import fails with one ProjectError listing every layer it cannot take.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.deep_graphs import load_keras_model
from engine.blocks.catalog import BLOCKS_BY_TYPE, BlockType
from engine.errors import ProjectError
from engine.graph.layout import layered_positions
from engine.graph.spec import EdgeSpec, NetworkSpec, NodeSpec
from engine.paths import input_file

_VALID_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")  # what validate() accepts in a block name


class _Unsupported(Exception):
    """One layer the catalogue cannot represent; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# -- entry points -------------------------------------------------------------------------

def import_keras_file(path) -> NetworkSpec:
    """The network of a `.keras` file, loaded with safe_mode (no code runs, no pickle)."""
    model = _load_safely(Path(path))
    return replace(spec_from_model(model), description=f"Imported from {Path(path).name}.")


def spec_from_model(model) -> NetworkSpec:
    """The NetworkSpec of a functional or Sequential Keras model (architecture only)."""
    import keras

    _refuse_nested_models(model, keras)
    if isinstance(model, keras.Sequential):
        layer_configs = _sequential_as_functional(model)
    else:
        layer_configs = _functional_layer_configs(model)
        _refuse_several_inputs_or_outputs(model)
    return _build_spec(model, layer_configs)


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
    return line if len(line) <= limit else line[:limit - 3] + "..."


# -- model shape checks ---------------------------------------------------------------------

def _refuse_nested_models(model, keras) -> None:
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if nested:
        names = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in nested)
        raise ProjectError(f"Cannot import {model.name}: it uses other models as layers ({names}). "
                           "Only flat models of single layers can be imported.")


def _refuse_several_inputs_or_outputs(model) -> None:
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ProjectError(
            f"Cannot import {model.name}: it has {len(model.inputs)} input(s) and "
            f"{len(model.outputs)} output(s); CNN Studio networks have exactly one of each.")


def _is_functional(model) -> bool:
    """Functional models describe their layer graph in get_config(); a subclassed model's
    graph lives in its Python call() and cannot be read."""
    return any(cls.__name__ == "Functional" and cls.__module__.startswith("keras")
               for cls in type(model).__mro__)


def _functional_layer_configs(model) -> list[dict]:
    config = model.get_config() if _is_functional(model) else None
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ProjectError(f"Cannot import {model.name}: only functional and Sequential Keras "
                           f"models can be imported, not a {type(model).__name__} subclass.")
    return config["layers"]


def _sequential_as_functional(model) -> list[dict]:
    """Sequential layer configs given the inbound_nodes of a chain, so one walker does both."""
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
    except (AttributeError, ValueError, IndexError):
        raise ProjectError(f"Cannot import {model.name}: the Sequential model does not know its "
                           "input shape. Start it with keras.Input(shape=...) and save it again.") \
            from None
    names = {layer.name for layer in model.layers}
    name = next(n for n in ("input", "input_layer", "input_1") if n not in names)
    return {"class_name": "InputLayer", "name": name,
            "config": {"name": name, "batch_shape": batch_shape}}


# -- walking the config -----------------------------------------------------------------------

def _build_spec(model, layer_configs: list[dict]) -> NetworkSpec:
    operations = {operation.name: operation for operation in _operations(model)}
    ids = {config["name"]: f"n{index}" for index, config in enumerate(layer_configs, start=1)}
    names = _valid_unique_names([config["name"] for config in layer_configs])

    nodes: list[NodeSpec] = []
    edges: list[EdgeSpec] = []
    problems: list[tuple[str, str, str]] = []  # (layer name, type, reason)
    for config in layer_configs:
        name, class_name = config["name"], config["class_name"]
        try:
            block = _catalogue_block(class_name, operations.get(name))
            sources, input_rank = _inbound(config, block)
            params = _params_from_config(block, config["config"], input_rank)
        except _Unsupported as unsupported:
            problems.append((name, class_name, unsupported.reason))
            continue
        node_id = ids[name]
        nodes.append(NodeSpec(id=node_id, type=block.type, params=params, name=names[name]))
        edges += [EdgeSpec(source=(ids[source], 0), target=(node_id, port))
                  for port, source in enumerate(sources)]
    if problems:
        raise ProjectError(_unsupported_message(model.name, problems))

    spec = NetworkSpec(nodes=tuple(nodes), edges=tuple(edges), name=model.name)
    return replace(spec, layout=layered_positions(spec))


def _operations(model) -> list:
    # Functional models also list non-layer ops (keras.ops.add on tensors) here.
    return list(getattr(model, "operations", model.layers))


def _catalogue_block(class_name: str, operation) -> BlockType:
    from engine.build import layer_class

    block = BLOCKS_BY_TYPE.get(class_name)
    if block is None:
        raise _Unsupported("not a CNN Studio block")
    # The exact class, not just its name: a subclass or a keras.ops call named "Add"
    # would behave differently from the catalogue block.
    if operation is not None and type(operation) is not layer_class(block):
        raise _Unsupported(f"a {type(operation).__module__}.{type(operation).__name__}, "
                           f"not the standard {block.keras_path}")
    return block


def _inbound(config: dict, block: BlockType) -> tuple[list[str], int | None]:
    """Names of the layers feeding this one, in the order Keras passes them, and the rank
    (batch axis included) of the first input as Keras recorded it (None if unknown)."""
    calls = config.get("inbound_nodes", [])
    if block.type == "InputLayer":
        return [], None
    if len(calls) != 1:
        raise _Unsupported(f"used {len(calls)} times (shared weights cannot be drawn as one block)")
    call = calls[0]
    tensors = _keras_tensors(call.get("args", [])) or _keras_tensors(call.get("kwargs", {}))
    sources = []
    for tensor in tensors:
        layer_name, node_index, tensor_index = tensor["config"]["keras_history"]
        if node_index != 0 or tensor_index != 0:
            raise _Unsupported(f"reads output {tensor_index} of call {node_index} of {layer_name}")
        sources.append(layer_name)
    too_many = block.max_inputs is not None and len(sources) > block.max_inputs
    if len(sources) < block.min_inputs or too_many:
        raise _Unsupported(f"has {len(sources)} input(s)")
    shape = tensors[0]["config"].get("shape") if tensors else None
    return sources, None if shape is None else len(shape)


def _keras_tensors(value: Any) -> list[dict]:
    """Every `__keras_tensor__` entry in a call's args/kwargs, depth first (merge order)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value]
        return [t for item in value.values() for t in _keras_tensors(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _keras_tensors(item)]
    return []


def _params_from_config(block: BlockType, config: dict, input_rank: int | None) -> dict:
    """Catalogue params from a layer config; _Unsupported naming every setting that differs."""
    if block.type == "InputLayer":
        return {"shape": _input_shape(config)}
    problems = []
    for key, required in block.import_requires.items():
        actual = config.get(key, required)  # Keras leaves some defaults out of get_config
        if not _same_setting(key, actual, required, input_rank):
            problems.append(f"{key} = {_short(_plain(actual))} is not supported "
                            f"(CNN Studio needs {_short(_plain(required))})")
    params = {}
    for spec in block.params:
        if spec.name not in config:
            problems.append(f"the setting {spec.name} is missing from its config")
            continue
        try:
            params[spec.name] = spec.from_keras(config[spec.name])
        except ProjectError as error:
            problems.append(_reason(error, spec.name, config[spec.name]))
    if problems:
        raise _Unsupported("; ".join(problems))
    return params


def _input_shape(config: dict) -> list:
    batch_shape = config.get("batch_shape", config.get("batch_input_shape"))
    if config.get("sparse") or config.get("ragged"):
        raise _Unsupported("sparse or ragged inputs are not supported")
    if not isinstance(batch_shape, (list, tuple)) or len(batch_shape) != 4:
        shape = None if batch_shape is None else list(batch_shape)[1:]
        raise _Unsupported(f"input shape {_short(shape)} is not height x width x channels")
    try:
        return BLOCKS_BY_TYPE["InputLayer"].param("shape").from_keras(list(batch_shape[1:]))
    except ProjectError as error:
        raise _Unsupported(_reason(error, "input shape")) from None


def _same_setting(key: str, actual: Any, required: Any, rank: int | None) -> bool:
    actual, required = _plain(actual), _plain(required)
    if actual == required:
        return True
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
    return text if len(text) <= 200 else text[:197] + "..."


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _valid_unique_names(keras_names: list[str]) -> dict[str, str]:
    """Keras names as block names; characters validate() refuses become '_'."""
    taken = {name for name in keras_names if not _VALID_NAME.search(name)}
    result: dict[str, str] = {}
    for keras_name in keras_names:
        if keras_name in taken:
            result[keras_name] = keras_name
            continue
        name = base = _VALID_NAME.sub("_", keras_name).strip("_") or "block"
        index = 1
        while name in taken:
            name = f"{base}_{index}"
            index += 1
        taken.add(name)
        result[keras_name] = name
    return result


def _unsupported_message(model_name: str, problems: list[tuple[str, str, str]]) -> str:
    counts = Counter(class_name for _, class_name, _ in problems)
    summary = ", ".join(f"{class_name} ({count})" for class_name, count in counts.items())
    lines = [f"  - {name} ({class_name}): {reason}" for name, class_name, reason in problems]
    return (f"Cannot import {model_name}: {len(problems)} layer(s) have no exact CNN Studio "
            f"equivalent [{summary}]:\n" + "\n".join(lines))
