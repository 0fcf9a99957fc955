"""Imported trained models: the weights come along as an "imported" run, the Lab's engine
functions work on it, and a fine-tuning run starts from its weights (engine.weights)."""

from __future__ import annotations

import json
from dataclasses import replace

import keras
import numpy as np
import pytest

from engine import inspection
from engine.datasets import load_dataset
from engine.errors import ProjectError
from engine.training.config import TrainingConfig
from engine.training.imported import import_keras_run
from engine.training.runs import IMPORTED, RunFolder, list_runs
from engine.training.session import run_training
from engine.weights import load_initial_weights, weight_source

DIGITS = dict(dataset="digits", max_samples=300, seed=0)


def _trained_model(epochs: int = 25):
    """A tiny real CNN trained on digits (8x8x1, 10 classes), with a BatchNormalization (moving
    statistics are weights too) and a layer name the importer must clean ("conv>1")."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8, 8, 1), name="pixels")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv>1")(inputs)
    x = keras.layers.BatchNormalization(name="norm")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Flatten(name="flat")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="scores")(x)
    model = keras.Model(inputs, outputs, name="my_digits")
    data = load_dataset("digits", seed=0, max_samples=300)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    history = model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0)
    model.final_loss = history.history["loss"][-1]  # training mode, as a fit's epoch loss is
    return model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(the trained Keras model, its .keras file, the imported run)."""
    folder = tmp_path_factory.mktemp("imported")
    model = _trained_model()
    path = folder / "my digits.keras"
    model.save(path)
    imported = import_keras_run(path, folder / "runs")
    return model, path, imported


def test_import_creates_a_run_with_the_files_weights(trained, tmp_path):
    model, path, imported = trained
    assert imported.run_dir is not None and "weights" in imported.message
    folder = RunFolder(imported.run_dir)
    status = folder.status()
    assert status["status"] == IMPORTED
    assert status["source_file"] == str(path.resolve())
    assert status["epochs_completed"] == 0 and folder.history() == []
    assert folder.spec() == imported.spec
    assert folder.config().dataset == "digits"  # 10 classes, offline: what the Lab shows
    names = {node.name for node in imported.spec.nodes}
    assert "conv_1" in names  # the importer's cleaned name

    x = np.random.default_rng(0).random((5, 8, 8, 1), dtype=np.float32)
    expected = model.predict(x, verbose=0)
    reloaded = inspection.load_run_model(imported.run_dir)
    assert [layer.name for layer in reloaded.layers][1:] == [
        node.name for node in imported.spec.nodes if node.type != "InputLayer"]
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=0, atol=1e-6)

    summary = next(run for run in list_runs(imported.run_dir.parent)
                   if run.path == imported.run_dir)
    assert summary.imported and summary.origin == "imported from my digits.keras, not trained here"
    assert summary.epochs_completed == 0 and summary.test_accuracy is None


def test_the_labs_engine_functions_work_on_an_imported_run(trained):
    model, _, imported = trained
    run_dir = str(imported.run_dir)
    kernels = RunFolder(imported.run_dir).kernels(0)  # the kernels as imported
    np.testing.assert_array_equal(kernels["conv_1"], model.get_layer("conv>1").kernel.numpy())
    layers = [layer["name"] for layer in inspection.layer_names(run_dir)]
    assert layers == ["conv_1", "norm", "pool", "flat", "scores"]
    images = inspection.run_images(run_dir, count=4)
    assert images["images"].shape == (4, 8, 8, 1)
    maps = inspection.feature_maps(run_dir, "conv_1", images["images"][0])
    expected = keras.Model(model.inputs[0], model.get_layer("conv>1").output)(images["images"][:1])
    np.testing.assert_allclose(np.asarray(maps).reshape(expected.shape), expected, atol=1e-6)
    assert inspection.weight_histograms(run_dir)


def test_an_import_without_weights_makes_no_run(tmp_path):
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.GlobalAveragePooling2D()(keras.layers.MaxPooling2D()(inputs))
    path = tmp_path / "pooling.keras"
    keras.Model(inputs, outputs, name="pooling").save(path)
    imported = import_keras_run(path, tmp_path / "runs")
    assert imported.run_dir is None and "no weights" in imported.message
    assert not (tmp_path / "runs").exists()


def test_a_refused_import_leaves_no_run(tmp_path):
    with pytest.raises(ProjectError):
        import_keras_run(tmp_path / "missing.keras", tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def _first_epoch_loss(spec, runs_root, **config) -> tuple[dict, float]:
    epochs = []
    result = run_training(spec, TrainingConfig(epochs=1, learning_rate=1e-5, batch_size=32,
                                               gradient_norms=False, **DIGITS, **config),
                          emit=lambda event: epochs.append(event) if event["type"] in (
                              "epoch_ended", "started") else None,
                          runs_root=runs_root)
    assert result["type"] == "finished", result.get("message")
    started = next(e for e in epochs if e["type"] == "started")
    loss = next(e["loss"] for e in epochs if e["type"] == "epoch_ended")
    return {"result": result, "started": started}, loss


def test_fine_tuning_starts_from_the_imported_weights(trained, tmp_path):
    model, path, imported = trained
    source_loss = model.final_loss  # on the same training split (digits, seed 0, 300 images)
    _, fresh_loss = _first_epoch_loss(imported.spec, tmp_path)
    tuned, tuned_loss = _first_epoch_loss(imported.spec, tmp_path,
                                          initial_weights=str(imported.run_dir))
    assert source_loss < 0.5 * fresh_loss  # the source really learned something
    assert tuned_loss == pytest.approx(source_loss, abs=0.15)
    assert tuned_loss < 0.5 * fresh_loss
    weights = tuned["started"]["initial_weights"]
    assert weights["run"] == str(imported.run_dir.resolve())
    assert weights["file"] == str(path.resolve())
    assert set(weights["loaded"]) == {"conv_1", "norm", "scores"} and weights["fresh"] == []
    assert any("Started from the weights of run" in note for note in tuned["started"]["notes"])
    status = RunFolder(tuned["result"]["run_dir"]).status()
    assert status["weights_from"]["file"] == str(path.resolve())
    assert status["weights_from"]["run"] == str(imported.run_dir.resolve())
    assert status["status"] == "finished"
    assert RunFolder(tuned["result"]["run_dir"]).config().initial_weights == str(imported.run_dir)
    summary = next(run for run in list_runs(tmp_path) if str(run.path) == tuned["result"]["run_dir"])
    assert summary.origin == f"fine-tuned from run {imported.run_dir.name}, imported from my digits.keras"


def test_edited_layers_start_fresh_and_are_listed(trained):
    """A new output for 3 classes: the conv and norm layers keep their weights, the output
    starts fresh and the transfer says why."""
    _, path, imported = trained
    spec = imported.spec
    edited = replace(spec, nodes=tuple(replace(node, params={**node.params, "units": 3})
                                       if node.name == "scores" else node for node in spec.nodes))
    from engine.build import build_model

    network = build_model(edited)
    transfer = load_initial_weights(network, path)  # straight from the .keras file
    assert set(transfer.loaded) == {"conv_1", "norm"}
    assert transfer.fresh == [{"name": "scores", "reason": "shape changed: 96x10, 10 -> 96x3, 3"}]
    assert transfer.to_dict()["file"] == str(path.resolve()) and transfer.to_dict()["run"] is None
    assert "Starting fresh: scores (shape changed" in transfer.note()


def test_weights_that_fit_no_layer_are_refused(trained, tmp_path):
    _, path, _ = trained
    from engine.build import build_model
    from tests.engine.helpers import small_cnn

    with pytest.raises(ProjectError, match="None of the network's layers match"):
        load_initial_weights(build_model(small_cnn()), path)
    with pytest.raises(ProjectError, match="no trained model"):
        weight_source(tmp_path)
    (tmp_path / "weights.h5").write_bytes(b"")
    with pytest.raises(ProjectError, match=".keras file or a run folder"):
        weight_source(tmp_path / "weights.h5")


def test_config_round_trips_initial_weights():
    config = TrainingConfig(initial_weights="runs/x")
    assert TrainingConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ProjectError):
        TrainingConfig(initial_weights=" ")


def test_weights_of_nested_sub_models_come_along(tmp_path):
    """A sub-model used as a layer is opened up into blocks (engine.importer.imported_layers
    maps each block to its leaf layer): its weights are copied too, exactly."""
    keras.utils.set_random_seed(2)
    stem = keras.Sequential([keras.Input((8, 8, 1)),
                             keras.layers.Conv2D(3, 3, padding="same", name="stem_conv"),
                             keras.layers.BatchNormalization(name="stem_norm")], name="stem")
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Flatten(name="flat")(stem(inputs))
    model = keras.Model(inputs, keras.layers.Dense(4, name="out")(x), name="nested")
    model.get_layer("stem").get_layer("stem_norm").moving_mean.assign(np.arange(3.0) / 10)
    path = tmp_path / "nested.keras"
    model.save(path)
    imported = import_keras_run(path, tmp_path / "runs")
    assert imported.run_dir is not None, imported.message
    x = np.random.default_rng(1).random((3, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(inspection.load_run_model(imported.run_dir).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=0, atol=1e-6)


def test_cli_train_weights_fine_tunes_and_refuses_a_bad_path(trained, tmp_path):
    from engine.graph.io import save_spec
    from tests.engine.test_cli import run_here

    _, path, imported = trained
    project = tmp_path / "mine.json"
    save_spec(imported.spec, project)
    out = run_here("train", project, "--dataset", "digits", "--epochs", "1", "--max-samples",
                   "100", "--weights", path, "--out", tmp_path / "runs").stdout
    assert "Started from the weights of my digits.keras: 3 of 3 layers loaded." in out
    [run] = [run for run in list_runs(tmp_path / "runs")]
    assert run.origin == "fine-tuned from my digits.keras" and run.status == "finished"
    bad = run_here("train", project, "--dataset", "digits", "--weights", tmp_path / "none.keras",
                   check=False)
    assert bad.returncode == 2 and "none.keras" in bad.stderr
