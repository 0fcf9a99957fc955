"""Imported models in the window: the Runs list, compare table, monitor and Features Lab show
an imported run (no epochs) sensibly, and Fine-tune starts a run from its weights."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from desktop.panels.lab import FeaturesLab  # noqa: E402
from desktop.panels.monitor.training_monitor import TrainingMonitor  # noqa: E402
from engine.graph.io import atomic_write_text  # noqa: E402
from engine.templates import load_template  # noqa: E402
from engine.training.config import TrainingConfig  # noqa: E402
from engine.training.runs import FINISHED, IMPORTED, RunFolder  # noqa: E402
from tests.desktop.held_widgets import delete_held_widgets_on_the_gui_thread, hold  # noqa: E402, F401
from tests.desktop.test_training_runs_panels import runs_panel  # noqa: E402
from tests.desktop.training_window import WORKER_TIMEOUT, set_training_form, window  # noqa: E402, F401


def fake_imported_run(root: Path, source: str = "/models/my model.keras") -> RunFolder:
    """An imported run as engine.training.imported writes one, without Keras (the model file
    is a stand-in: these panels never load it)."""
    folder = RunFolder.create(root, "imported")
    atomic_write_text(folder.path / "spec.json", load_template("lenet5").to_json())
    folder.write_json("config.json", TrainingConfig().to_dict())
    folder.write_json("history.json", {"epochs": []})
    (folder.path / "model.keras").write_bytes(b"stand-in")
    folder.save_kernels(0, {"conv1": np.random.default_rng(0).normal(size=(5, 5, 1, 6))
                            .astype(np.float32)})
    folder.write_status({"name": "imported", "status": IMPORTED, "dataset": "digits",
                         "dataset_guessed": True, "epochs_planned": 0, "epochs_completed": 0,
                         "best_val_accuracy": None, "test_accuracy": None, "training_time": None,
                         "samples_per_second": None, "started_at": "2025-01-02 10:00:00",
                         "source_file": source})
    return folder


def fake_tuned_run(root: Path, imported: RunFolder) -> RunFolder:
    folder = RunFolder.create(root, "tuned")
    atomic_write_text(folder.path / "spec.json", load_template("lenet5").to_json())
    folder.write_json("config.json", TrainingConfig(initial_weights=str(imported.path)).to_dict())
    folder.write_json("history.json", {"epochs": [{"epoch": 1, "loss": 0.3, "accuracy": 0.9,
                                                   "val_loss": 0.35, "val_accuracy": 0.88}]})
    folder.write_status({"name": "tuned", "status": FINISHED, "dataset": "digits",
                         "epochs_planned": 1, "epochs_completed": 1, "best_val_accuracy": 0.88,
                         "started_at": "2025-01-03 10:00:00",
                         "weights_from": {"path": str(imported.path / "model.keras"),
                                          "run": str(imported.path),
                                          "file": "/models/my model.keras",
                                          "loaded": ["conv1"], "fresh": []}})
    return folder


def test_runs_panel_shows_an_imported_run_and_offers_fine_tuning(qtbot, tmp_path):
    imported = fake_imported_run(tmp_path)
    tuned = fake_tuned_run(tmp_path, imported)
    panel = runs_panel(qtbot, tmp_path)
    rows = {panel.table.item(row, 0).text(): row for row in range(panel.table.rowCount())}
    row = rows[imported.path.name]
    assert panel.table.item(row, 1).text() == "imported"
    assert panel.table.item(row, 3).text() == "–"
    assert "imported from my model.keras, not trained here" in panel.table.item(row, 0).toolTip()

    panel.select_paths([str(imported.path)])
    panel.update_details()
    assert not panel.resume_button.isEnabled() and "Fine-tune" in panel.resume_button.toolTip()
    assert panel.fine_tune_button.isEnabled() and panel.export_button.isEnabled()
    table = panel.compare_table
    values = {table.verticalHeaderItem(r).text(): table.item(r, 0).text()
              for r in range(table.rowCount())}
    assert values["Weights"] == "imported from my model.keras, not trained here"
    assert values["Epochs"] == "–" and values["Test accuracy"] == ""
    menu = panel.context_menu()
    actions = {action.text(): action for action in menu.actions()}
    assert actions["Fine-tune from this run"].isEnabled() and not actions["Resume"].isEnabled()
    with qtbot.waitSignal(panel.fine_tune_requested) as requested:
        actions["Fine-tune from this run"].trigger()
    assert requested.args == [str(imported.path)]

    panel.select_paths([str(tuned.path)])
    panel.update_details()
    values = {table.verticalHeaderItem(r).text(): table.item(r, 0).text()
              for r in range(table.rowCount())}
    assert values["Weights"] == (f"fine-tuned from run {imported.path.name}, imported from "
                                 "my model.keras")


def test_monitor_and_lab_say_an_imported_run_was_not_trained_here(qtbot, tmp_path):
    imported = fake_imported_run(tmp_path)
    monitor = TrainingMonitor()
    qtbot.addWidget(monitor)
    monitor.show_run([], None, None, run_dir=str(imported.path),
                     origin="imported from my model.keras, not trained here")
    assert monitor.status_text().startswith("Imported from my model.keras, not trained here")

    lab = FeaturesLab()
    qtbot.addWidget(lab)
    lab.run_dir = str(imported.path)  # the kernels need no worker (set_run also asks one)
    lab.kernels_tab.load_run(lab.run_dir)
    assert lab.kernels_tab.epoch_label.text() == "As imported"
    assert "6 filters" in lab.kernels_tab.status.text()
    from desktop.panels.lab.features_lab import _run_title

    title = _run_title(str(imported.path))
    assert "imported from my model.keras, not trained here" in title and "a guess" in title


def _trained_keras_file(path: Path) -> Path:
    """A tiny CNN trained on digits for a few epochs, saved as .keras."""
    import keras

    from engine.datasets import load_dataset

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="out")(x),
                        name="mine")
    data = load_dataset("digits", seed=0, max_samples=300)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=10, verbose=0)
    model.save(path)
    return path


def test_window_import_keeps_the_weights_and_fine_tunes_them(window, qtbot, tmp_path):
    source = _trained_keras_file(tmp_path / "mine.keras")
    window.import_model(source)
    with qtbot.waitSignal(window.task.finished, timeout=WORKER_TIMEOUT):
        pass
    message = window.statusBar().currentMessage()
    assert "its weights are in the run" in message and "Features Lab" in message, message
    runs = window.runs.runs()
    imported = next(run for run in runs if run.imported)
    assert json.loads((imported.path / "run.json").read_text())["source_file"] == str(source.resolve())
    assert window.runs.selected_paths() == [str(imported.path)]
    assert window.lab.run_dir == str(imported.path)
    assert "not trained here" in window.lab.title.text()
    qtbot.waitUntil(lambda: bool(window.lab.images), timeout=WORKER_TIMEOUT)

    set_training_form(window, epochs=1, max_samples=300)
    with qtbot.waitSignal(window.trainer.finished, timeout=WORKER_TIMEOUT) as finished:
        assert window.fine_tune(str(imported.path))
    status = RunFolder(Path(finished.args[0]["run_dir"])).status()
    assert status["weights_from"]["file"] == str(source.resolve())
    assert status["weights_from"]["run"] == str(imported.path.resolve())
    assert "Started from the weights of run" in window.monitor.notes_text()
    assert finished.args[0]["test_accuracy"] > 0.5  # a fresh 1-epoch run is near 10-30%
