import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from engine.graph.edits import SetParams
from engine.graph.validate import ERROR
from engine.templates import load_template
from engine.training.config import Augmentation, TrainingConfig
from engine.training.runs import FAILED, FINISHED, STOPPED, RunFolder
from desktop.document import ProjectDocument
from tests.desktop.held_widgets import delete_held_widgets_on_the_gui_thread, hold  # noqa: F401
from desktop.panels.runs import RunsPanel
from desktop.panels.training_panel import (KERAS_PREVIEW_HINT, TrainingPanel, augment_images,
                                           sample_indices)

OUTPUT = "n9"  # lenet5's output Dense (10 units)


# -- helpers ----------------------------------------------------------------------------------

def lenet_document(**changes) -> ProjectDocument:
    spec = load_template("lenet5")
    for node_id, params in changes.items():
        spec = SetParams(node_id, params).apply(spec)
    return ProjectDocument(spec)


def make_panel(qtbot, document: ProjectDocument | None = None) -> TrainingPanel:
    panel = TrainingPanel(document or lenet_document())
    hold(panel)
    qtbot.addWidget(panel)
    panel.resize(350, 900)
    panel.show()
    return panel


def loaded_panel(qtbot, document: ProjectDocument | None = None, dataset: str = "digits"):
    panel = make_panel(qtbot, document)
    panel.set_dataset(dataset)
    qtbot.waitUntil(lambda: not panel.is_loading() and panel.preview is not None, timeout=30_000)
    return panel


def fake_history(epochs: int, rate: float) -> list[dict]:
    history = []
    for epoch in range(1, epochs + 1):
        accuracy = 1 - 0.9 * math.exp(-rate * epoch)
        history.append({"epoch": epoch, "loss": 2.3 * math.exp(-rate * epoch),
                        "accuracy": accuracy, "val_loss": 2.3 * math.exp(-rate * epoch) + 0.05,
                        "val_accuracy": accuracy - 0.02, "epoch_time": 1.5,
                        "samples_per_second": 900.0})
    return history


def make_run(root: Path, name: str, *, status: str = FINISHED, epochs: int = 10,
             planned: int = 10, started: str = "2025-01-01 10:00:00", rate: float = 0.3,
             checkpoint: int | None = None, dataset: str = "digits") -> RunFolder:
    """A complete run folder written the way the engine writes one, without Keras."""
    folder = RunFolder.create(root, name)
    spec = load_template("lenet5")
    config = TrainingConfig(dataset=dataset, epochs=planned, learning_rate=0.001 * rate * 10)
    history = fake_history(epochs, rate)
    best = max(entry["val_accuracy"] for entry in history) if history else None
    run = {"name": name, "status": status, "dataset": dataset, "epochs_planned": planned,
           "epochs_completed": epochs, "best_val_accuracy": best,
           "test_accuracy": best - 0.01 if status == FINISHED and best else None,
           "training_time": 1.5 * epochs, "samples_per_second": 900.0, "started_at": started}
    folder.write_start(spec, config, {**run, "status": "running", "epochs_completed": 0})
    folder.write_json("history.json", {"epochs": history})
    if status == FINISHED:
        folder.write_json("metrics.json", {"test_loss": 0.2, "test_accuracy": run["test_accuracy"],
                                           "best_epoch": epochs, "training_time": 1.5 * epochs})
    if checkpoint is not None:
        folder.checkpoint_path(checkpoint).touch()
        run["checkpoint_epoch"] = checkpoint
    folder.write_status(run)
    return folder


def runs_panel(qtbot, root: Path) -> RunsPanel:
    panel = RunsPanel()
    hold(panel)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    panel.set_root(root)
    return panel


def select_rows(panel: RunsPanel, rows: list[int]) -> None:
    model = panel.table.selectionModel()
    panel.table.clearSelection()
    for row in rows:
        model.select(panel.table.model().index(row, 0),
                     model.SelectionFlag.Select | model.SelectionFlag.Rows)
    panel.update_details()  # what the next turn of the event loop does


# -- training panel: datasets and preview -----------------------------------------------------

def test_dataset_list_has_the_offline_datasets_and_file_choices(qtbot):
    panel = make_panel(qtbot)
    combo = panel.dataset_combo
    names = [combo.itemData(index) for index in range(combo.count())]
    texts = [combo.itemText(index) for index in range(combo.count())]
    for name in ("digits", "shapes", "faces", "mnist"):
        assert name in names
    assert "Image folder..." in texts and ".npz file..." in texts
    for index, name in enumerate(names):
        if name == "mnist" and "download needed" not in texts[index]:
            pytest.skip("MNIST is in this machine's Keras cache")
    assert any("(download needed)" in text for text in texts)
    assert panel.dataset_name() == "digits"


def test_digits_preview_shows_images_classes_and_counts(qtbot):
    panel = loaded_panel(qtbot)
    assert panel.preview_grid.count() == 24
    assert set(panel.preview_grid.captions()) == {str(digit) for digit in range(10)}
    summary = panel.summary_label.text()
    assert "10 classes" in summary and "1,257 train / 270 val / 270 test" in summary
    assert "Images per class" in panel.counts_label.text()
    # lenet5 takes 32x32x1: the 8x8 digits are resized, and nothing is mismatched
    assert "Images are 8x8x1; they will be resized to 32x32x1" in panel.shape_label.text()
    assert panel.mismatch_text() == ""
    assert "sklearn" in sys.modules  # the worker loaded it (Keras: see the last test)


def test_keras_datasets_are_not_loaded_in_the_gui(qtbot):
    panel = make_panel(qtbot)
    panel.set_dataset("cifar10")
    assert not panel.is_loading() and panel.preview is None
    assert KERAS_PREVIEW_HINT in panel.load_label.text()
    assert panel.preview_grid.count() == 0
    assert "10 classes" in panel.summary_label.text()
    assert "converted to grayscale" in panel.shape_label.text()  # cifar10 is RGB, lenet5 gray


def test_a_bad_folder_shows_a_red_message_not_a_traceback(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    (tmp_path / "only").mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path))
    panel = make_panel(qtbot)
    panel.choose_folder()
    assert panel.dataset_name() == f"folder:{tmp_path}"
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=10_000)
    text = panel.load_label.text()
    assert "only one class subfolder" in text and "Traceback" not in text
    assert "color" in panel.load_label.styleSheet()
    assert panel.preview_grid.count() == 0


def test_picking_image_folder_in_the_list_opens_a_folder_dialog(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path))
    panel = make_panel(qtbot)
    combo = panel.dataset_combo
    combo.setCurrentIndex(combo.findText("Image folder..."))
    qtbot.waitUntil(lambda: panel.dataset_name() == f"folder:{tmp_path}")
    assert combo.currentText() == f"Folder: {tmp_path}"
    qtbot.waitUntil(lambda: not panel.is_loading(), timeout=10_000)
    assert "no images" in panel.load_label.text()  # empty class folders, said inline


def test_cancelled_file_dialog_keeps_the_dataset(qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: ("", ""))
    panel = make_panel(qtbot)
    panel.set_dataset("faces")
    panel.choose_npz()
    assert panel.dataset_name() == "faces"


def test_npz_dataset_preview(qtbot, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, x=rng.integers(0, 256, (60, 12, 12, 3), dtype=np.uint8),
             y=np.repeat(np.arange(3), 20), class_names=np.array(["cat", "dog", "owl"]))
    panel = loaded_panel(qtbot, dataset=f"npz:{path}")
    assert panel.preview_grid.count() == 24
    assert panel.preview.class_names == ("cat", "dog", "owl")
    assert panel.mismatch_text().startswith(f"Output output has 10 units but npz:{path} has 3 classes")
    assert panel.preview.images.shape[1:] == (12, 12, 3)
    assert "converted to grayscale" in panel.shape_label.text()


# -- training panel: the network against the data ---------------------------------------------

def test_class_mismatch_warns_and_fix_sets_the_units(qtbot):
    document = lenet_document(**{OUTPUT: {"units": 7}})
    panel = loaded_panel(qtbot, document)
    name = document.spec.node(OUTPUT).name
    assert panel.mismatch_text().startswith(f"Output {name} has 7 units but digits has 10 classes")
    assert panel.fix_button.isVisibleTo(panel)
    panel.fix_button.click()
    assert document.spec.node(OUTPUT).params["units"] == 10
    assert panel.mismatch_text() == ""
    document.undo_stack.undo()  # the fix is one undo step, and the warning comes back
    assert "has 7 units" in panel.mismatch_text()


def test_mismatch_on_a_non_dense_output_explains_instead_of_fixing(qtbot):
    spec = load_template("nin-mini")  # ends in an Activation after global pooling
    panel = loaded_panel(qtbot, ProjectDocument(spec), dataset="faces")
    assert "has 10 units but faces has 2 classes" in panel.mismatch_text()
    assert "Activation" in panel.mismatch_text()
    assert not panel.fix_button.isVisibleTo(panel)
    assert not panel.fix_output_units()


# -- training panel: the form -------------------------------------------------------------------

def test_config_reads_every_field(qtbot):
    panel = make_panel(qtbot)
    panel.set_dataset("shapes")
    panel.epochs_spin.setValue(7)
    panel.batch_spin.setValue(64)
    panel.optimizer_combo.setCurrentIndex(panel.optimizer_combo.findData("sgd_momentum"))
    panel.learning_rate_edit.setText("0.05")
    panel.schedule_combo.setCurrentIndex(panel.schedule_combo.findData("cosine"))
    panel.loss_combo.setCurrentIndex(panel.loss_combo.findData("mean_squared_error"))
    panel.early_check.setChecked(True)
    panel.patience_spin.setValue(4)
    panel.validation_spin.setValue(0.2)
    panel.seed_spin.setValue(42)
    panel.mixed_check.setChecked(True)
    panel.strategy_combo.setCurrentIndex(panel.strategy_combo.findData("mirrored"))
    panel.augment_check.setChecked(True)
    panel.flip_check.setChecked(True)
    panel.max_samples_spin.setValue(500)
    config = panel.config()
    default = Augmentation.default_on()
    assert config == TrainingConfig(
        dataset="shapes", epochs=7, batch_size=64, optimizer="sgd_momentum", learning_rate=0.05,
        schedule="cosine", loss="mean_squared_error", early_stopping=True, patience=4,
        validation_fraction=0.2, seed=42, mixed_precision=True, strategy="mirrored",
        augmentation=Augmentation(default.translation, default.rotation, default.zoom, True),
        max_samples=500)
    panel.max_samples_spin.setValue(0)
    assert panel.config().max_samples is None


def test_set_config_round_trip_keeps_hidden_settings(qtbot):
    panel = make_panel(qtbot)
    config = TrainingConfig(dataset="faces", epochs=3, batch_size=16, optimizer="rmsprop",
                            learning_rate=0.0003, momentum=0.5, schedule="step", step_epochs=2,
                            test_fraction=0.2, seed=9, gradient_norms=False,
                            augmentation=Augmentation(translation=0.2, rotation=0.1, zoom=0.0))
    panel.set_config(config)
    assert panel.dataset_name() == "faces"
    assert panel.config() == config


def test_invalid_settings_show_inline_and_give_no_config(qtbot):
    panel = make_panel(qtbot)
    panel.learning_rate_edit.setText("")
    assert panel.config() is None
    assert "learning rate" in panel.config_error_label.text()
    assert panel.config_error_label.isVisibleTo(panel)
    assert not panel.train_button.isEnabled()
    panel.learning_rate_edit.setText("0.01")
    panel.max_samples_spin.setValue(5)  # TrainingConfig wants at least 10
    assert panel.config() is None and "max_samples" in panel.config_error_label.text()
    panel.max_samples_spin.setValue(0)
    assert panel.config() is not None and not panel.config_error_label.isVisibleTo(panel)


def test_train_is_disabled_until_the_network_has_no_errors(qtbot):
    document = lenet_document()
    panel = make_panel(qtbot, document)
    assert panel.train_button.isEnabled()
    with qtbot.waitSignal(panel.train_requested) as signal:
        panel.train_button.click()
    assert isinstance(signal.args[0], TrainingConfig) and signal.args[0].dataset == "digits"

    document.apply(SetParams("n2", {"kernel_size": [40, 40]}), "break it")  # larger than 32x32
    errors = [d for d in document.diagnostics if d.severity == ERROR]
    assert errors
    assert not panel.train_button.isEnabled()
    tooltip = panel.train_button.toolTip()
    assert tooltip.startswith(f"Fix the {len(errors)} problem")
    assert errors[0].message in tooltip
    document.undo_stack.undo()
    assert panel.train_button.isEnabled()


def test_set_state_drives_the_buttons(qtbot):
    panel = make_panel(qtbot)

    def enabled():
        return (panel.train_button.isEnabled(), panel.pause_button.isEnabled(),
                panel.stop_button.isEnabled())

    assert enabled() == (True, False, False)
    panel.set_state("starting")
    assert enabled() == (False, False, True) and not panel.settings_box.isEnabled()
    panel.set_state("training")
    assert enabled() == (False, True, True) and panel.pause_button.text() == "Pause"
    with qtbot.waitSignal(panel.pause_requested):
        panel.pause_button.click()
    panel.set_state("paused")
    assert enabled() == (False, True, True) and panel.pause_button.text() == "Continue"
    with qtbot.waitSignal(panel.continue_requested):
        panel.pause_button.click()
    with qtbot.waitSignal(panel.stop_requested):
        panel.stop_button.click()
    panel.set_state("stopping")
    assert enabled() == (False, False, False)
    panel.set_state("idle")
    assert enabled() == (True, False, False) and panel.settings_box.isEnabled()
    with pytest.raises(ValueError):
        panel.set_state("flying")


def test_show_progress_updates_the_bars_and_label(qtbot):
    panel = make_panel(qtbot)
    panel.show_progress({"type": "started", "devices": ["CPU"], "epochs": 5,
                         "steps_per_epoch": 40, "initial_epoch": 0})
    assert (panel.epoch_bar.maximum(), panel.epoch_bar.value()) == (5, 0)
    assert panel.batch_bar.maximum() == 40
    panel.show_progress({"type": "batch_ended", "epoch": 2, "batch": 10, "batches": 40,
                         "samples_per_second": 1234.5})
    assert panel.batch_bar.value() == 10 and panel.epoch_bar.value() == 1
    assert "1,234 samples/s" in panel.progress_label.text() or "1,235 samples/s" in panel.progress_label.text()
    assert "CPU" in panel.progress_label.text()
    panel.show_progress({"type": "epoch_ended", "epoch": 2, "epochs": 5, "eta": 83.0})
    assert panel.epoch_bar.value() == 2
    assert "ETA 1:23" in panel.progress_label.text()
    panel.show_progress({"type": "finished", "test_accuracy": 0.9731})
    assert "97.31%" in panel.progress_label.text()


def test_augmentation_preview(qtbot):
    panel = loaded_panel(qtbot)
    assert panel.augmented_grid.count() == 0
    panel.augment_check.setChecked(True)
    assert panel.augmented_grid.count() == 12
    assert panel.config().augmentation == Augmentation.default_on()
    images = panel.preview.images
    augmented = augment_images(images, Augmentation.default_on(), np.random.default_rng(1))
    assert augmented.shape == images.shape and augmented.dtype == np.float32
    assert not np.allclose(augmented, images)
    assert 0.0 <= augmented.min() and augmented.max() <= 1.0
    flipped = augment_images(images[:1], Augmentation(flip=True), np.random.default_rng(0))
    assert np.allclose(flipped, images[:1]) or np.allclose(flipped, images[:1, :, ::-1])


def test_sample_indices_cover_every_class():
    labels = np.repeat(np.arange(5), [1, 10, 10, 10, 10])
    chosen = sample_indices(labels, 12)
    assert len(chosen) == 12 and set(labels[chosen]) == set(range(5))


# -- runs panel --------------------------------------------------------------------------------

@pytest.fixture
def three_runs(tmp_path):
    root = tmp_path / "runs"
    make_run(root, "lenet-adam", started="2025-01-01 10:00:00", rate=0.3)
    make_run(root, "lenet-sgd", status=STOPPED, epochs=4, started="2025-01-02 10:00:00", rate=0.15)
    make_run(root, "lenet-fast", started="2025-01-03 10:00:00", rate=0.6, epochs=6, planned=6)
    return root


def test_runs_table_lists_runs_newest_first(qtbot, three_runs):
    panel = runs_panel(qtbot, three_runs)
    table = panel.table
    assert table.rowCount() == 3
    names = [table.item(row, 0).text() for row in range(3)]
    assert names[0].endswith("lenet-fast") and names[2].endswith("lenet-adam")
    row = names.index(next(name for name in names if name.endswith("lenet-sgd")))
    assert table.item(row, 1).text() == STOPPED
    assert table.item(row, 2).text() == "digits"
    assert table.item(row, 3).text() == "4/10"
    assert table.item(row, 4).text().endswith("%")


def test_selecting_runs_overlays_their_curves(qtbot, three_runs):
    panel = runs_panel(qtbot, three_runs)
    assert panel.details_stack.currentWidget() is panel.hint_label
    select_rows(panel, [0, 2])
    assert len(panel.selected_paths()) == 2
    assert len(panel.curves) == 2
    assert panel.compare_table.columnCount() == 2
    assert panel.compare_table.verticalHeaderItem(0).text() == "Status"
    xs, ys = panel.curves[0].getData()
    assert len(xs) == 6  # lenet-fast: 6 epochs
    select_rows(panel, [1])
    assert len(panel.curves) == 1


def test_open_network_and_show_results(qtbot, three_runs):
    panel = runs_panel(qtbot, three_runs)
    select_rows(panel, [0])
    with qtbot.waitSignal(panel.open_spec_requested) as signal:
        panel.open_button.click()
    assert signal.args[0].to_dict() == load_template("lenet5").to_dict()
    with qtbot.waitSignal(panel.show_run_requested) as signal:
        panel.results_button.click()
    assert signal.args[0] == panel.selected_paths()[0]


def test_delete_asks_then_removes(qtbot, three_runs, monkeypatch):
    panel = runs_panel(qtbot, three_runs)
    select_rows(panel, [0, 1])
    doomed = [Path(path) for path in panel.selected_paths()]
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: asked.append(args) or QMessageBox.StandardButton.No)
    panel.delete_button.click()
    assert len(asked) == 1 and all(path.exists() for path in doomed)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    panel.delete_button.click()
    assert not any(path.exists() for path in doomed)
    assert panel.table.rowCount() == 1


def test_resume_needs_a_stopped_run_with_a_checkpoint(qtbot, tmp_path):
    root = tmp_path / "runs"
    make_run(root, "finished", started="2025-01-01 10:00:00", checkpoint=10)
    make_run(root, "stopped-bare", status=STOPPED, epochs=3, started="2025-01-02 10:00:00")
    resumable = make_run(root, "stopped-ckpt", status=STOPPED, epochs=3,
                         started="2025-01-03 10:00:00", checkpoint=3)
    make_run(root, "failed-ckpt", status=FAILED, epochs=2, started="2025-01-04 10:00:00",
             checkpoint=2)
    panel = runs_panel(qtbot, root)
    by_name = {panel.table.item(row, 0).text().split("-", 2)[-1]: row
               for row in range(panel.table.rowCount())}
    expected = {"finished": False, "stopped-bare": False, "stopped-ckpt": True, "failed-ckpt": True}
    for name, enabled in expected.items():
        select_rows(panel, [by_name[name]])
        assert panel.resume_button.isEnabled() is enabled, name
    select_rows(panel, [by_name["stopped-ckpt"]])
    with qtbot.waitSignal(panel.resume_requested) as signal:
        panel.resume_button.click()
    assert signal.args[0] == str(resumable.path)


def test_twenty_runs_load_quickly(qtbot, tmp_path):
    root = tmp_path / "runs"
    for index in range(20):
        make_run(root, f"run{index:02d}", started=f"2025-02-{index + 1:02d} 10:00:00", epochs=30,
                 planned=30)
    panel = RunsPanel()
    hold(panel)
    qtbot.addWidget(panel)
    started = time.perf_counter()
    panel.set_root(root)
    model = panel.table.selectionModel()
    for row in range(20):  # row by row, as Ctrl+click does: the curves are drawn once
        model.select(panel.table.model().index(row, 0),
                     model.SelectionFlag.Select | model.SelectionFlag.Rows)
    qtbot.waitUntil(lambda: not panel.details_pending())
    elapsed = time.perf_counter() - started
    assert panel.table.rowCount() == 20 and len(panel.curves) == 20
    assert elapsed < 1.0, elapsed


def test_empty_and_missing_runs_folders(qtbot, tmp_path):
    panel = runs_panel(qtbot, tmp_path / "nowhere")
    assert panel.table.rowCount() == 0
    assert panel.table_stack.currentWidget() is panel.empty_label
    assert "No training runs yet" in panel.empty_label.text()


# -- no Keras in the GUI ---------------------------------------------------------------------------

KERAS_FREE_SCRIPT = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
app = QApplication([])
import desktop.panels.training_panel, desktop.panels.runs
from engine.datasets import list_datasets
from engine.templates import load_template
from desktop.document import ProjectDocument
list_datasets()
panel = desktop.panels.training_panel.TrainingPanel(ProjectDocument(load_template("lenet5")))
for name in ("digits", "shapes", "faces", "mnist", "cifar10"):
    panel.set_dataset(name)
    panel.wait_for_preview()
    assert panel.preview is not None or name in ("mnist", "cifar10"), name
panel.augment_check.setChecked(True)
runs = desktop.panels.runs.RunsPanel(sys.argv[1])
bad = [m for m in ("tensorflow", "keras") if m in sys.modules]
print(bad)
sys.exit(1 if bad else 0)
"""


def test_panels_never_import_keras(tmp_path):
    make_run(tmp_path / "runs", "lenet")
    result = subprocess.run([sys.executable, "-c", KERAS_FREE_SCRIPT, str(tmp_path / "runs")],
                            capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
