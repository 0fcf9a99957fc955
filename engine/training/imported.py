"""Importing a trained model: the network as an editable spec, and its weights as a run.

`import_keras_run(path, runs_root)` imports the architecture (engine.importer) and, when the
file has weights, writes an "imported" run folder beside the training runs: spec.json,
config.json (the dataset the Lab shows images from), an empty history, model.keras (the
network built from the spec, so its layer names are the block names, holding the file's
weights copied layer by layer), the kernels as kernels/epoch-0000.npz, and run.json last
(status "imported", source_file). The Runs list and the Features Lab then show it like a
finished run, and a training run can start from it (TrainingConfig.initial_weights).

Every .keras file carries weights; one saved before training holds its random initial ones,
which cannot be told from trained ones cheaply and reliably, so every import with weights
makes a run (a model without any weights, only pooling and reshaping, makes none).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ProjectError
from engine.graph.shapes import infer
from engine.graph.spec import NetworkSpec
from engine.graph.validate import output_node_id
from engine.training.config import TrainingConfig
from engine.training.runs import IMPORTED, RunFolder

IMPORTED_EPOCH = 0  # the kernel snapshot of an imported run: the weights as imported
# Keras datasets whose images have this (height, width, channels) and class count.
_KERAS_DATASET_SHAPES = {"mnist": ((28, 28, 1), 10), "fashion_mnist": ((28, 28, 1), 10),
                         "cifar10": ((32, 32, 3), 10)}


@dataclass(frozen=True)
class ImportedModel:
    spec: NetworkSpec
    run_dir: Path | None      # the imported run with the file's weights (None: no weights)
    message: str              # one line for a person: what was imported and where

    def to_dict(self) -> dict:
        return {"spec": self.spec.to_dict(), "run_dir": str(self.run_dir) if self.run_dir else None,
                "message": self.message}


def import_keras_run(path, runs_root, dataset: str | None = None) -> ImportedModel:
    """The file's network, and (when it has weights) an imported run under runs_root.

    dataset: what the Lab shows images from (the file does not say what the model was trained
    on); by default an offline dataset with as many classes as the network has outputs."""
    from engine.deep_graphs import load_keras_model
    from engine.importer import import_keras_file
    from engine.weights import WeightSource, layers_by_node_name, transfer_weights

    path = Path(path)
    spec = import_keras_file(path)  # every check and refusal of the importer, with its messages
    source = path.resolve()
    model = load_keras_model(source, compile=False)
    if not model.weights:
        return ImportedModel(spec, None, f"Imported {spec.name}: {len(spec.nodes)} blocks "
                                         "(it has no weights).")
    network = _network(spec)
    weight_source = WeightSource(path=source, original_file=str(source))
    transfer = transfer_weights(network, layers_by_node_name(model, imported=True), weight_source)
    if transfer.fresh:  # an imported run must hold exactly the file's model: keep none then
        names = ", ".join(item["name"] for item in transfer.fresh[:5])
        return ImportedModel(spec, None, f"Imported {spec.name}: {len(spec.nodes)} blocks, "
                                         f"without its weights (no exact match for {names}).")
    dataset = dataset or guess_dataset(spec)
    folder = _write_run(Path(runs_root), spec, network, source, dataset, transfer)
    return ImportedModel(spec, folder.path,
                         f"Imported {spec.name}: {len(spec.nodes)} blocks; its weights are in "
                         f"the run {folder.path.name}.")


def _network(spec: NetworkSpec):
    from engine.build import build_model
    from engine.training.fit import NETWORK_NAME

    return build_model(spec, name=NETWORK_NAME)  # named as a trained run's model is


def _write_run(root: Path, spec: NetworkSpec, network, source: Path, dataset: str,
               transfer) -> RunFolder:
    """Everything first, run.json last (the commit point); nothing left behind on failure."""
    import keras

    from engine.graph.io import atomic_write_text
    from engine.training.callbacks import network_kernels

    folder = RunFolder.create(root, spec.name)
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    try:
        folder.write_json("config.json", TrainingConfig(dataset=dataset).to_dict())
        atomic_write_text(folder.path / "spec.json", spec.to_json())
        folder.write_json("history.json", {"epochs": []})
        folder.save_model(network, "model.keras")
        folder.save_kernels(IMPORTED_EPOCH, network_kernels(network))
        folder.write_status({
            "name": spec.name, "status": IMPORTED, "dataset": dataset, "dataset_guessed": True,
            "epochs_planned": 0, "epochs_completed": 0, "best_val_accuracy": None,
            "test_accuracy": None, "training_time": None, "samples_per_second": None,
            "backend": keras.backend.backend(), "started_at": now, "imported_at": now,
            "source_file": str(source), "layers_with_weights": len(transfer.loaded),
            "message": f"Imported from {source.name}, not trained here.",
        })
    except BaseException:
        folder.remove()
        raise
    return folder


def guess_dataset(spec: NetworkSpec) -> str:
    """An offline dataset the network can look at: same image shape and class count if one is
    (a cached Keras dataset), else a built-in one with as many classes, else digits."""
    from engine.datasets import list_datasets
    from engine.shapes_dataset import SHAPE_CLASSES

    shape, classes = _input_and_classes(spec)
    offline = {entry.name for entry in list_datasets() if entry.offline}
    for name, (image_shape, count) in _KERAS_DATASET_SHAPES.items():
        if name in offline and shape == image_shape and classes == count:
            return name
    builtin = {"digits": 10, "shapes": len(SHAPE_CLASSES), "faces": 2}
    return next((name for name, count in builtin.items() if count == classes), "digits")


def _input_and_classes(spec: NetworkSpec) -> tuple[tuple | None, int | None]:
    shape = next((tuple(node.params["shape"]) for node in spec.nodes
                  if node.type == "InputLayer"), None)
    try:
        info = infer(spec)
        output = info.nodes[output_node_id(spec, info)].output_shape
    except (ProjectError, KeyError, TypeError, ValueError):
        return shape, None
    return shape, (output[0] if output is not None and len(output) == 1 else None)
