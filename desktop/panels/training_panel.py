"""The training panel: choose a dataset and look at it, set the augmentation and the
hyperparameters, start, pause and stop a run, and follow its progress.

It composes four boxes, each its own module: DatasetBox (training_dataset: the choice, the
preview, the network check), AugmentationBox (training_augmentation), SettingsForm
(training_settings: the two-column hyperparameter form) and RunControls (training_run). It
has no scroll area of its own: the window's Train workspace puts it in one, and at 560x690
everything fits without scrolling.

The panel only asks: Train emits `train_requested(TrainingConfig)`, Pause/Continue emit
`pause_requested()`/`continue_requested()`, Stop emits `stop_requested()`. Its owner runs
the engine and reports back with `set_state(...)` and `show_progress(event)`.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from engine.augmentation_preview import augment_images
from engine.dataset_preview import PREVIEW_COUNT, DatasetPreview, sample_indices
from engine.errors import ProjectError
from engine.graph.validate import ERROR
from engine.training.config import Augmentation, TrainingConfig
from desktop.document import ProjectDocument
from desktop.panels.training_augmentation import AugmentationBox
from desktop.panels.training_dataset import KERAS_PREVIEW_HINT, DatasetBox, is_previewable
from desktop.panels.training_run import STATES, RunControls
from desktop.panels.training_settings import SettingsForm

# Names tests and tools import from here, besides the panel itself.
__all__ = ["KERAS_PREVIEW_HINT", "PREVIEW_COUNT", "STATES", "TrainingPanel", "augment_images",
           "is_previewable", "sample_indices"]

# The boxes' widgets, reachable on the panel as before the split (tests and the window use them).
_DATASET_WIDGETS = ("dataset_combo", "description_label", "load_label", "summary_label",
                    "mismatch_label", "fix_button", "mismatch_row", "shape_label", "preview_grid",
                    "counts_label")
_AUGMENTATION_WIDGETS = ("augment_check", "flip_check", "augment_hint", "augmented_grid",
                         "reroll_button")
_SETTINGS_WIDGETS = ("epochs_spin", "batch_spin", "optimizer_combo", "learning_rate_edit",
                     "momentum_spin", "schedule_combo", "step_spin", "loss_combo", "early_check",
                     "patience_spin", "validation_spin", "seed_spin", "max_samples_spin",
                     "mixed_check", "strategy_combo")
_RUN_WIDGETS = ("train_button", "pause_button", "stop_button", "config_error_label",
                "epoch_bar", "batch_bar", "progress_label")


class TrainingPanel(QWidget):
    train_requested = Signal(object)   # the TrainingConfig
    pause_requested = Signal()
    continue_requested = Signal()
    stop_requested = Signal()
    dataset_changed = Signal(str)      # the dataset name, after the user (or set_dataset) picks one

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self._base_config = TrainingConfig()  # keeps the settings this form has no field for
        self.settings_box = SettingsForm()
        self.dataset_box = DatasetBox(document, self._load_options)
        self.augmentation_box = AugmentationBox()
        self.run_controls = RunControls()
        for part, names in ((self.dataset_box, _DATASET_WIDGETS),
                            (self.augmentation_box, _AUGMENTATION_WIDGETS),
                            (self.settings_box, _SETTINGS_WIDGETS),
                            (self.run_controls, _RUN_WIDGETS)):
            for name in names:
                setattr(self, name, getattr(part, name))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        for part in (self.dataset_box, self.augmentation_box, self.settings_box,
                     self.run_controls):
            layout.addWidget(part)
        layout.addStretch(1)  # a taller column leaves the space below the Train button

        self.dataset_box.dataset_changed.connect(self._dataset_changed)
        self.dataset_box.preview_changed.connect(self._preview_changed)
        self.settings_box.changed.connect(self._form_changed)
        self.settings_box.load_options_changed.connect(self.dataset_box.schedule_reload)
        self.augmentation_box.changed.connect(self._form_changed)
        self.run_controls.train_clicked.connect(self._train_clicked)
        self.run_controls.pause_requested.connect(self.pause_requested)
        self.run_controls.continue_requested.connect(self.continue_requested)
        self.run_controls.stop_requested.connect(self.stop_requested)
        document.spec_changed.connect(self._update_buttons)
        self._preview_changed()
        # The first preview waits for the event loop: importing scikit-learn on the preview
        # thread holds the GIL and would delay the window's first paint by ~0.5 s.
        self.dataset_box.schedule_reload()
        self.set_state("idle")

    # -- the dataset (DatasetBox) ---------------------------------------------------------------
    def dataset_name(self) -> str:
        return self.dataset_box.dataset_name()

    def set_dataset(self, name: str) -> None:
        self.dataset_box.set_dataset(name)

    def choose_folder(self) -> None:
        self.dataset_box.choose_folder()

    def choose_npz(self) -> None:
        self.dataset_box.choose_npz()

    def is_loading(self) -> bool:
        return self.dataset_box.is_loading()

    def wait_for_preview(self, timeout: float = 30.0) -> None:
        self.dataset_box.wait_for_preview(timeout)

    @property
    def preview(self) -> DatasetPreview | None:
        return self.dataset_box.preview

    def dataset_classes(self) -> int | None:
        return self.dataset_box.dataset_classes()

    def dataset_image_shape(self) -> tuple | None:
        return self.dataset_box.dataset_image_shape()

    def mismatch_text(self) -> str:
        return self.dataset_box.mismatch_text()

    def fix_output_units(self) -> bool:
        return self.dataset_box.fix_output_units()

    def _load_options(self) -> dict:
        return self.settings_box.load_options(self._base_config.test_fraction)

    def _dataset_changed(self, name: str) -> None:
        self._form_changed()
        self.dataset_changed.emit(name)

    def _preview_changed(self) -> None:
        self.augmentation_box.set_preview(self.preview, is_previewable(self.dataset_name()))

    # -- the config -----------------------------------------------------------------------------
    def augmentation(self) -> Augmentation:
        return self.augmentation_box.augmentation()

    def set_config(self, config: TrainingConfig) -> None:
        """Show a config in the form (its dataset too); settings without a field are kept."""
        self._base_config = config
        self.settings_box.set_config(config)
        self.augmentation_box.set_augmentation(config.augmentation)
        if config.dataset != self.dataset_name():
            self.set_dataset(config.dataset)

    def _form_values(self) -> dict:
        values = self.settings_box.values()
        if not self.dataset_name():
            raise ProjectError("Choose a dataset.")
        return {**values, "dataset": self.dataset_name(), "augmentation": self.augmentation()}

    def config_problem(self) -> str:
        """Why the form is not a valid TrainingConfig ("" when it is)."""
        try:
            replace(self._base_config, **self._form_values())
        except ProjectError as error:
            return str(error)
        return ""

    def config(self) -> TrainingConfig | None:
        """The form as a TrainingConfig; None (with the reason shown in red) when invalid."""
        try:
            config = replace(self._base_config, **self._form_values())
        except ProjectError as error:
            self.run_controls.show_config_problem(str(error))
            return None
        self.run_controls.show_config_problem("")
        return config

    def _form_changed(self) -> None:
        self.run_controls.show_config_problem(self.config_problem())
        self._update_buttons()

    # -- run control (RunControls) -----------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.run_controls.state

    def set_state(self, state: str) -> None:
        """idle | starting | training | paused | stopping: what the buttons allow."""
        self.run_controls.set_state(state)
        idle = state == "idle"
        self.settings_box.setEnabled(idle)
        self.dataset_box.set_editable(idle)
        self.augmentation_box.set_editable(idle)
        self._update_buttons()

    def train_blocker(self) -> str:
        """Why Train is disabled ("" when it is not)."""
        if self.state != "idle":
            return "A run is in progress."
        errors = [d for d in self.document.diagnostics if d.severity == ERROR]
        if errors:
            count = len(errors)  # the messages name their block already
            return (f"Fix the {count} problem{'s' if count != 1 else ''} first: "
                    f"{errors[0].message}")
        return self.config_problem()

    def _update_buttons(self) -> None:
        self.run_controls.set_train_blocker(
            self.train_blocker(), f"Train {self.document.title} on {self.dataset_name()}")

    def _train_clicked(self) -> None:
        config = self.config()
        if config is not None and not self.train_blocker():
            self.train_requested.emit(config)

    def show_progress(self, event: dict) -> None:
        """Follow a training event: started, batch_ended, epoch_ended (others: the outcome)."""
        self.run_controls.show_progress(event)

    def reset_progress(self) -> None:
        self.run_controls.reset_progress()
