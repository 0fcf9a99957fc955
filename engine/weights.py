"""Weights from elsewhere: a network built from a spec takes, layer by layer, the weights of a
`.keras` file or of a run folder's trained model (fine-tuning, and imported models).

Layers are matched by block name (a run's model.keras names its layers after the nodes; an
imported file's layers map to nodes through `engine.importer.imported_layers`). A layer gets the
source's weights only when the source layer is of the same type and every weight has the same
shape; any other layer keeps its fresh initial weights, and the transfer says which and why
(the user changed it, or added it). Copies are exact (no casting, no resizing).

`.keras` files are loaded with safe_mode=True (engine.deep_graphs.load_keras_model).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ProjectError
from engine.paths import input_file

_INVALID_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")  # what the importer replaces in a block name


@dataclass(frozen=True)
class WeightSource:
    """Where initial weights come from: a .keras file, or a run folder's model.keras."""

    path: Path                      # the file the weights are read from
    run_dir: Path | None = None     # the run folder, when the source is a run
    original_file: str | None = None  # the .keras file the weights first came from (an import)

    def describe(self) -> str:
        if self.run_dir is None:
            return self.path.name
        origin = f", imported from {Path(self.original_file).name}" if self.original_file else ""
        return f"run {self.run_dir.name}{origin}"


@dataclass
class WeightTransfer:
    """What a transfer did: the layers that got the source's weights, and those left fresh."""

    source: WeightSource
    loaded: list[str] = field(default_factory=list)
    fresh: list[dict] = field(default_factory=list)   # [{"name", "reason"}]

    def to_dict(self) -> dict:
        """Plain data for run.json and the started event."""
        return {"path": str(self.source.path),
                "run": str(self.source.run_dir) if self.source.run_dir else None,
                "file": self.source.original_file or (None if self.source.run_dir
                                                      else str(self.source.path)),
                "loaded": list(self.loaded), "fresh": [dict(item) for item in self.fresh]}

    def note(self) -> str:
        """One line for the run's notes: where the weights came from, what starts fresh."""
        text = (f"Started from the weights of {self.source.describe()}: "
                f"{len(self.loaded)} of {len(self.loaded) + len(self.fresh)} layers loaded.")
        if self.fresh:
            listed = "; ".join(f"{item['name']} ({item['reason']})" for item in self.fresh[:8])
            more = f"; and {len(self.fresh) - 8} more" if len(self.fresh) > 8 else ""
            text += f" Starting fresh: {listed}{more}."
        return text


# -- where the weights are ----------------------------------------------------------------------

def weight_source(path) -> WeightSource:
    """A run folder (its model.keras) or a .keras file; ProjectError naming what is wrong."""
    path = Path(path).expanduser()
    if path.is_dir():
        model = path / "model.keras"
        if not model.is_file():
            raise ProjectError(f"{path} has no trained model (model.keras) to start from: choose "
                               "a finished, stopped or imported run, or a .keras file.")
        return WeightSource(path=model.resolve(), run_dir=path.resolve(),
                            original_file=_original_file(path))
    input_file(path, ".keras model")
    if path.suffix.lower() != ".keras":
        raise ProjectError(f"Cannot start from {path.name}: initial weights come from a .keras "
                           "file or a run folder.")
    return WeightSource(path=path.resolve())


def _original_file(run_dir: Path) -> str | None:
    """The .keras file a run's weights first came from: its import, or what it was tuned from."""
    try:
        status = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(status, dict):
        return None
    if status.get("source_file"):
        return str(status["source_file"])
    weights_from = status.get("weights_from")
    if isinstance(weights_from, dict) and weights_from.get("file"):
        return str(weights_from["file"])
    return None


def load_source_model(source: WeightSource):
    from engine.deep_graphs import load_keras_model

    try:
        return load_keras_model(source.path, compile=False)
    except Exception as error:  # noqa: BLE001 - Keras raises many types; the user needs the reason
        first = (str(error).strip().splitlines() or ["unknown error"])[0][:300]
        raise ProjectError(f"Cannot load the weights in {source.path}: {first}") from None


# -- which source layer feeds which block ---------------------------------------------------------

def leaf_layers(model) -> list:
    """The model's layers with nested models flattened into theirs, in order."""
    found = []
    for layer in model.layers:
        inner = getattr(layer, "layers", None)
        if inner is not None and hasattr(layer, "inputs"):
            found.extend(leaf_layers(layer))
        else:
            found.append(layer)
    return found


def layers_by_node_name(model, imported: bool) -> dict:
    """Block name -> the source's Keras layer. imported: the model is a file being imported
    (its layers map to blocks as the importer named them); otherwise a CNN Studio model,
    whose layer names are the block names."""
    if imported:
        from engine.importer import imported_layers

        try:
            return dict(imported_layers(model))
        except ProjectError:
            pass  # a file the importer refuses (--weights): its layers may still match by name
    layers = leaf_layers(model)
    mapping = {layer.name: layer for layer in layers}
    if imported:
        cleaned: dict[str, list] = {}
        for layer in layers:
            name = _INVALID_NAME.sub("_", layer.name).strip("_") or "block"
            cleaned.setdefault(name, []).append(layer)
        for name, candidates in cleaned.items():
            if name not in mapping and len(candidates) == 1:
                mapping[name] = candidates[0]
    return mapping


# -- copying --------------------------------------------------------------------------------------

def _shapes(layer) -> list[tuple]:
    return [tuple(int(side) for side in weight.shape) for weight in layer.weights]


def _shape_text(shapes: list[tuple]) -> str:
    return ", ".join("x".join(str(side) for side in shape) for shape in shapes) or "none"


def transfer_weights(network, sources: dict, source: WeightSource) -> WeightTransfer:
    """Copy each weighted layer's weights from `sources[layer.name]` when type and shapes match."""
    transfer = WeightTransfer(source=source)
    for layer in leaf_layers(network):
        if not layer.weights:
            continue
        donor = sources.get(layer.name)
        if donor is None:
            transfer.fresh.append({"name": layer.name, "reason": "not in the source"})
            continue
        if type(donor).__name__ != type(layer).__name__:
            transfer.fresh.append({"name": layer.name, "reason": f"was a {type(donor).__name__}"})
            continue
        want, have = _shapes(layer), _shapes(donor)
        if want != have:
            transfer.fresh.append({"name": layer.name,
                                   "reason": f"shape changed: {_shape_text(have)} -> "
                                             f"{_shape_text(want)}"})
            continue
        layer.set_weights(donor.get_weights())
        transfer.loaded.append(layer.name)
    return transfer


def load_initial_weights(network, path) -> WeightTransfer:
    """Give `network` (built from a spec) the weights at `path` (a run folder or a .keras
    file), layer by layer. ProjectError when no layer at all could take them."""
    source = weight_source(path)
    model = load_source_model(source)
    transfer = transfer_weights(network, layers_by_node_name(model, imported=source.run_dir is None),
                                source)
    if transfer.fresh and not transfer.loaded:
        raise ProjectError(f"None of the network's layers match the weights of "
                           f"{source.describe()} (names, types or shapes differ), so there is "
                           "nothing to start from. Choose the run or file this network came from.")
    return transfer
