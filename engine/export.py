"""Export a network: as a `.keras` model file, a standalone Keras Python script, or for
inference elsewhere through Keras' own `model.export`: ONNX, TensorFlow SavedModel, TFLite.

Every export writes atomically (a temporary file or folder beside the target, then a
rename), so an interrupted export never leaves a half-written file behind under the final
name. The script needs only `keras` (and a backend) to rebuild the same, untrained model.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import keyword
import logging
import os
import re
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.deep_graphs import load_keras_model, room_for
from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.build import _model_name, build_model, keras_kwargs
from engine.errors import ProjectError, cannot_write
from engine.graph.io import atomic_write_with, file_mode_for
from engine.paths import output_folder
from engine.graph.spec import NetworkSpec, topological_order
from engine.graph.validate import ERROR, output_node_id, validate

# Names the script itself uses; a block named like one gets a suffix instead.
_SCRIPT_NAMES = {"keras", "layers", "ops", "model", "inputs", "outputs"}


# -- .keras ---------------------------------------------------------------------------------

def export_keras(spec: NetworkSpec, path, abandon=None) -> None:
    """Build the model (untrained) and save it as a `.keras` file at `path` (unless abandon()
    says the user cancelled meanwhile)."""
    path = Path(path)
    if not path.name.endswith(".keras"):
        raise ProjectError(f"Cannot export to {path.name}: a Keras model file must end in '.keras'.")
    _refuse_invalid(spec)
    model = build_model(spec)
    with room_for(len(model.layers)):  # Keras serialises the graph recursively
        atomic_write_with(path, lambda temporary: model.save(temporary), suffix=".keras",
                          abandon=abandon)


# -- ONNX, SavedModel, TFLite: Keras' model.export -------------------------------------------

@dataclass(frozen=True)
class ModelFormat:
    title: str                # in messages and menus
    suffix: str               # the file name's ending; "" for a format that is a folder
    keras_format: str         # model.export(format=...)
    packages: tuple[str, ...]  # what it needs besides TensorFlow (pip names = module names)
    use: str                  # what it is for


MODEL_FORMATS = {
    "onnx": ModelFormat("ONNX", ".onnx", "onnx", ("tf2onnx", "onnxruntime"),
                        "onnxruntime and other ONNX runtimes, in any language"),
    "saved_model": ModelFormat("TensorFlow SavedModel", "", "tf_saved_model", (),
                               "TensorFlow Serving and TensorFlow programs (its 'serve' signature)"),
    "tflite": ModelFormat("TFLite", ".tflite", "litert", (),
                          "phones and small devices (TensorFlow Lite / LiteRT)"),
}
SAVED_MODEL_MARKER = "saved_model.pb"  # a folder holding it was an earlier export: replaced


def export_format(spec: NetworkSpec, path, format: str, abandon=None) -> None:
    """Build the model (untrained) and export it as `format`, a key of MODEL_FORMATS."""
    known = _model_format(format, Path(path))
    _refuse_invalid(spec)
    _export_model(build_model(spec), Path(path), known, abandon)


def _model_format(key: str, path: Path) -> ModelFormat:
    known = MODEL_FORMATS[key]
    if known.suffix and not path.name.endswith(known.suffix):
        raise ProjectError(f"Cannot export to {path.name}: {known.title} files must end in "
                           f"'{known.suffix}'.")
    if not known.suffix and path.suffix in (".onnx", ".tflite", ".keras", ".py"):
        raise ProjectError(f"Cannot export to {path.name}: a {known.title} is a folder; name "
                           "it without a file ending.")
    return known


def _export_model(model, path: Path, known: ModelFormat, abandon) -> None:
    """model.export to a temporary file or folder beside `path`, checked, then renamed."""
    import keras
    import numpy as np

    if keras.backend.backend() != "tensorflow":
        raise ProjectError(f"Exporting to {known.title} needs Keras' TensorFlow backend, not "
                           f"{keras.backend.backend()}: run with KERAS_BACKEND=tensorflow.")
    _require(known)
    probe = [np.zeros((1, *(size or 32 for size in tensor.shape[1:])), tensor.dtype)
             for tensor in model.inputs]
    model(probe[0] if len(probe) == 1 else probe)  # Keras exports only a model called once

    def write(temporary: Path) -> None:
        logged: list[str] = []
        try:
            with warnings.catch_warnings(), _logged_errors("tf2onnx", logged):
                warnings.simplefilter("ignore")  # tf2onnx's and TensorFlow's deprecations
                model.export(str(temporary), format=known.keras_format, verbose=False)
            if known.keras_format == "onnx":
                _run_onnx(temporary, probe)  # tf2onnx writes ops it cannot convert, and goes on
        except OSError:
            raise
        except Exception as error:  # noqa: BLE001 - a conversion failure: one line, no traceback
            layers = {layer.name for layer in model.layers}
            raise ProjectError(f"Cannot export {model.name} to {known.title}: "
                               f"{_reason(error, logged, layers)}") from None

    with room_for(len(model.layers)):
        if known.suffix:
            atomic_write_with(path, write, suffix=known.suffix, abandon=abandon)
        else:
            _write_folder(output_folder(path, known.title, SAVED_MODEL_MARKER), write, abandon)


def _require(known: ModelFormat) -> None:
    missing = []
    for package in known.packages:
        try:
            if package == "tf2onnx":
                import tf2onnx  # noqa: F401 - plain imports: PyInstaller finds them
            elif package == "onnxruntime":
                import onnxruntime  # noqa: F401
        except ImportError:
            missing.append(package)
    if missing:
        raise ProjectError(f"Exporting to {known.title} needs {' and '.join(missing)}, which "
                           f"{'is' if len(missing) == 1 else 'are'} not installed: "
                           f"pip install {' '.join(missing)}")


def _run_onnx(path: Path, probe: list) -> None:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    session.run(None, {spec.name: value for spec, value in zip(session.get_inputs(), probe)})


@contextmanager
def _logged_errors(logger_name: str, into: list[str]):
    """The error messages a library logs meanwhile (tf2onnx names each op it cannot convert)."""
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: into.append(record.getMessage())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


MAX_NAMED_LAYERS = 3


def _reason(error: Exception, logged: list[str], layers: set[str]) -> str:
    """One line for a conversion failure: the ops and layers it names, else its first line."""
    unconverted = [found.groups() for found in
                   (re.search(r"op \[(.+?): (\w+)\] is not supported", line) for line in logged) if found]
    if unconverted:  # tf2onnx: "Tensorflow op [model_1/C1_1/Conv2D: Conv2D] is not supported"
        ops = ", ".join(dict.fromkeys(op for _, op in unconverted))
        found = list(dict.fromkeys(name for name in (_layer_of(node, layers)
                                                      for node, _ in unconverted) if name))
        where = ", ".join(found[:MAX_NAMED_LAYERS])
        if len(found) > MAX_NAMED_LAYERS:  # one line, however many layers (ConvNeXt: 36)
            where += f" and {len(found) - MAX_NAMED_LAYERS} more"
        return (f"tf2onnx cannot convert the TensorFlow op(s) {ops}"
                + (f" (in layer {where})" if where else ""))
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = next((line for line in lines if re.search(r"\bops?\b|[Uu]nsupported|not supported", line)),
                  lines[0] if lines else type(error).__name__)
    layer = re.search(r"when calling (\w+)\.call\(\)", text)  # Keras: the layer that failed
    if layer and layer.group(1) not in reason:
        reason = f"{reason} (in a {layer.group(1)} layer)"
    return reason if len(reason) <= 300 else reason[:297] + "..."


def _layer_of(node: str, layers: set[str]) -> str | None:
    """The layer a TensorFlow node belongs to: the innermost name scope that names one (the
    scopes may carry a suffix, C1_1)."""
    for scope in reversed(node.split("/")[:-1]):
        for name in (scope, re.sub(r"_\d+$", "", scope)):
            if name in layers:
                return name
    return None


def _write_folder(path: Path, write, abandon=None) -> None:
    """Let `write` fill a temporary folder beside `path`, then rename it to `path` (an
    earlier export there is moved aside first and deleted after): never half a folder."""
    try:
        temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))
    except OSError as error:
        raise cannot_write(f"write {path}", error) from None
    previous = temporary.with_name(temporary.name + "-previous")
    try:
        write(temporary)
        if abandon is not None and abandon():
            return
        mode = file_mode_for(path)  # mkdtemp makes a private (0700) folder: a file's mode,
        os.chmod(temporary, mode | (mode & 0o444) >> 2)  # searchable wherever readable
        if path.exists():
            os.replace(path, previous)
        try:
            os.replace(temporary, path)
        except OSError:
            if previous.exists():
                os.replace(previous, path)  # put the earlier export back
            raise
    except OSError as error:
        raise cannot_write(f"write {path}", error) from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(previous, ignore_errors=True)


# -- Python script ------------------------------------------------------------------------------

def export_python(spec: NetworkSpec, path, abandon=None) -> None:
    """Write python_script(spec) to `path`."""
    text = python_script(spec)
    atomic_write_with(Path(path), lambda temporary: temporary.write_text(text, encoding="utf-8"),
                      suffix=".py", abandon=abandon)


def export_trained(run_dir, path, abandon=None, format: str | None = None) -> None:
    """A finished run's trained network: `.keras` (the model as trained), `.py` (a script
    that rebuilds it) with `<name>.weights.h5` beside it, which the script loads, or one of
    MODEL_FORMATS (`format`, or known by the suffix: `.onnx`, `.tflite`)."""
    from engine.training.runs import RunFolder

    folder, path = RunFolder(Path(run_dir)), Path(path)
    model_file = folder.path / "model.keras"
    if format is None:
        format = next((key for key, known in MODEL_FORMATS.items()
                       if known.suffix and path.name.endswith(known.suffix)), None)
    if format is not None:
        _model_format(format, path)  # a wrong name is refused before the model loads
    if not model_file.is_file():
        raise ProjectError(f"{folder.path.name} has no trained model (model.keras) to export: "
                           "only runs that finished or were stopped have one.")
    if format is None and path.name.endswith(".keras"):
        data = model_file.read_bytes()
        atomic_write_with(path, lambda temporary: temporary.write_bytes(data), suffix=".keras",
                          abandon=abandon)
        return
    if format is None and path.suffix != ".py":
        raise ProjectError(f"Cannot export to {path.name}: choose a .keras or a .py file, "
                           "or an .onnx or a .tflite file.")
    try:
        model = load_keras_model(model_file, compile=False)
    except Exception as error:  # noqa: BLE001 - a damaged file: one readable message
        raise ProjectError(f"Cannot load {model_file}: {error}") from None
    if format is not None:
        _export_model(model, path, _model_format(format, path), abandon)
        return
    weights = path.with_name(f"{path.stem}.weights.h5")
    script = python_script(folder.spec(), weights_file=weights.name)
    atomic_write_with(weights, lambda temporary: model.save_weights(temporary),
                      suffix=".weights.h5", abandon=abandon)
    atomic_write_with(path, lambda temporary: temporary.write_text(script, encoding="utf-8"),
                      suffix=".py", abandon=abandon)


def python_script(spec: NetworkSpec, weights_file: str | None = None) -> str:
    """A readable Keras script that rebuilds the network with the functional API; with
    weights_file (a name beside the script), it loads those trained weights."""
    _refuse_invalid(spec)
    order, _ = topological_order(spec)
    output_id = output_node_id(spec)
    custom_classes = _custom_layer_classes(spec)
    variables = _variable_names(spec, output_id, reserved={cls.__name__ for cls in custom_classes})

    weights_note = (f"# Rebuilds the trained network using only Keras; its weights are read from "
                    f"{_one_line(weights_file)}." if weights_file else
                    "# Rebuilds the network's architecture (with fresh, untrained weights) using only Keras.")
    header = [
        f"# Generated by CNN Studio from {_one_line(spec.name)!r}.",
        weights_note,
        "",
        *_imports(custom_classes),
    ]
    classes = [*_module_helpers(custom_classes), *(inspect.getsource(cls).rstrip() for cls in custom_classes)]
    network = [_layer_line(spec, node_id, variables) for node_id in order]
    network.append(f"model = keras.Model(inputs, outputs, name={_literal(_model_name(spec.name))})")
    if weights_file:
        network += ["", "# The trained weights, saved beside this script.",
                    "from pathlib import Path",
                    f"model.load_weights(Path(__file__).with_name({_literal(weights_file)}))"]
    main = ['if __name__ == "__main__":', "    model.summary()"]
    sections = ["\n".join(header), *classes, "\n".join(network), "\n".join(main)]
    return "\n\n\n".join(sections) + "\n"


def _imports(custom_classes: list[type]) -> list[str]:
    imports = ["import keras", "from keras import layers"]
    # The pasted classes need whatever their module imports (engine.layers: keras only).
    modules = []
    for cls in custom_classes:
        if inspect.getmodule(cls) not in modules:
            modules.append(inspect.getmodule(cls))
    for module in modules:
        for statement in ast.parse(inspect.getsource(module)).body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                line = ast.unparse(statement)
                if line not in imports:
                    imports.append(line)
    return imports


def _module_helpers(custom_classes: list[type]) -> list[str]:
    """The plain functions the pasted classes' module defines (shared shape helpers)."""
    helpers: list[str] = []
    for module in dict.fromkeys(inspect.getmodule(cls) for cls in custom_classes):
        source = inspect.getsource(module)
        for statement in ast.parse(source).body:
            if isinstance(statement, ast.FunctionDef):
                helpers.append(ast.get_source_segment(source, statement))
    return helpers


def _custom_layer_classes(spec: NetworkSpec) -> list[type]:
    """The CNN Studio layer classes (not in keras.layers) the spec uses, in a stable order."""
    from engine.build import layer_class

    classes: list[type] = []
    for node in spec.nodes:
        block = BLOCKS_BY_TYPE[node.type]
        if not block.keras_path.startswith("keras.layers."):
            cls = layer_class(block)
            if cls not in classes:
                classes.append(cls)
    return classes


def _layer_line(spec: NetworkSpec, node_id: str, variables: dict[str, str]) -> str:
    node = spec.node(node_id)
    target = variables[node_id]
    if node.type == "InputLayer":
        return (f"{target} = keras.Input(shape={_literal(tuple(node.params['shape']))}, "
                f"name={_literal(node.name)})")
    block = BLOCKS_BY_TYPE[node.type]
    constructor = (f"layers.{node.type}" if block.keras_path.startswith("keras.layers.")
                   else block.keras_path.rsplit(".", 1)[1])
    arguments = ", ".join(f"{key}={_literal(value)}" for key, value in keras_kwargs(block, node).items()
                          if not _left_alone(block, node, key))
    sources = [variables[edge.source[0]] for edge in spec.incoming(node_id)]
    called_on = f"[{', '.join(sources)}]" if block.takes_list else sources[0]
    return f"{target} = {constructor}({arguments})({called_on})"


def _left_alone(block, node, key: str) -> bool:
    """An advanced setting at its default: Keras' own default is the same, so say nothing."""
    spec = next((s for s in block.params if s.name == key), None)
    return spec is not None and spec.advanced and node.params[key] == spec.default


def _literal(value: Any) -> str:
    """Python source for a Keras keyword value (a repr, except for regularizer objects)."""
    import keras

    if isinstance(value, keras.regularizers.L2):
        return f"keras.regularizers.L2({float(value.l2)!r})"
    if isinstance(value, keras.regularizers.Regularizer):
        raise ProjectError(f"Cannot write regularizer {value!r} in a script.")  # catalogue has L2 only
    if isinstance(value, str) and re.fullmatch(r"[\w .\-]*", value, flags=re.ASCII):
        return f'"{value}"'  # the quotes of the pasted layer source and of most Keras code
    return repr(value)


def _variable_names(spec: NetworkSpec, output_id: str | None, reserved: set[str]) -> dict[str, str]:
    """A unique Python identifier per node, readable from its name; inputs/outputs fixed."""
    taken = set(_SCRIPT_NAMES) | reserved
    names: dict[str, str] = {}
    for node in spec.nodes:
        if node.type == "InputLayer":
            names[node.id] = "inputs"
        elif node.id == output_id:
            names[node.id] = "outputs"
    for node in spec.nodes:
        if node.id in names:
            continue
        base = re.sub(r"\W", "_", node.name.lower()).strip("_") or "layer"
        if base[0].isdigit():
            base = f"layer_{base}"
        if keyword.iskeyword(base) or hasattr(builtins, base):
            base += "_"
        name, index = base, 2
        while name in taken:
            name = f"{base}_{index}"
            index += 1
        taken.add(name)
        names[node.id] = name
    return names


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- shared ---------------------------------------------------------------------------------------

def _refuse_invalid(spec: NetworkSpec) -> None:
    errors = [d for d in validate(spec) if d.severity == ERROR]
    if errors:
        listing = "\n".join(f"  - {d.message}" for d in errors[:20])
        raise ProjectError(f"The network has {len(errors)} error(s) to fix before it can be "
                           f"exported:\n{listing}")


