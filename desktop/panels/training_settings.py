"""The Train panel's hyperparameter form, in two columns: the data and the length of the run
on the left, the optimisation on the right. Fields that only matter for some choices
(momentum, the step schedule's period, patience) show only then. The Backend choice offers
JAX only when it is installed (found without importing it); otherwise its tooltip says how."""

from __future__ import annotations

import math

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit, QWidget

from engine.errors import ProjectError
from engine.training.backends import BACKEND_TITLES, DEFAULT_BACKEND, unavailable_reason
from engine.training.config import BACKENDS, LOSSES, OPTIMIZERS, SCHEDULES, STRATEGIES, TrainingConfig
from desktop.panels.training_widgets import select_data, titled_combo
from desktop.widgets import DoubleSpinBox, SpinBox

OPTIMIZER_TITLES = {"adam": "Adam", "sgd": "SGD", "sgd_momentum": "SGD with momentum",
                    "rmsprop": "RMSprop"}
SCHEDULE_TITLES = {"constant": "Constant", "cosine": "Cosine decay to 0",
                   "step": "Halve in steps"}
LOSS_TITLES = {"crossentropy": "Cross-entropy", "mean_squared_error": "Mean squared error"}
STRATEGY_TITLES = {"default": "One device", "mirrored": "Mirrored (all GPUs)"}
MOMENTUM_OPTIMIZERS = ("sgd_momentum", "rmsprop")
BACKEND_HELP = ("Backend: the Keras backend the network trains on. TensorFlow's engine is warm at once; "
                "the first JAX run starts a JAX process (several seconds), later ones reuse it. "
                "run.json records the backend a run used.")


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setContentsMargins(0, 0, 0, 0)
    form.setVerticalSpacing(4)
    form.setHorizontalSpacing(6)
    return form


class SettingsForm(QGroupBox):
    changed = Signal()               # any field
    load_options_changed = Signal()  # seed, validation fraction or max samples: a new split

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Training settings", parent)
        self._build_fields()
        self.left, self.right = _form(), _form()
        for label, field in (("Epochs", self.epochs_spin), ("Batch size", self.batch_spin),
                             ("Max images", self.max_samples_spin),
                             ("Validation", self.validation_spin), ("Seed", self.seed_spin)):
            self.left.addRow(label, field)
        self.early_row = QHBoxLayout()  # the patience spin follows its switch on one line
        self.early_row.addWidget(self.early_check)
        self.early_row.addWidget(self.patience_spin, 1)
        self.left.addRow(self.early_row)
        # How it computes, on one line (a row more would not fit a 1280x800 window): mixed
        # precision, and the Keras backend ("TensorFlow", "JAX") at the end of the line.
        self.compute_row = QHBoxLayout()
        self.compute_row.addWidget(self.mixed_check)
        self.compute_row.addStretch(1)
        self.compute_row.addWidget(self.backend_combo)
        self.left.addRow(self.compute_row)
        for label, field in (("Optimizer", self.optimizer_combo),
                             ("Momentum", self.momentum_spin),
                             ("Learning rate", self.learning_rate_edit),
                             ("Schedule", self.schedule_combo), ("Halve", self.step_spin),
                             ("Loss", self.loss_combo), ("Strategy", self.strategy_combo)):
            self.right.addRow(label, field)
        columns = QHBoxLayout(self)
        columns.setContentsMargins(8, 4, 8, 6)
        columns.setSpacing(12)
        columns.addLayout(self.left, 1)
        columns.addLayout(self.right, 1)
        self._connect()
        self._show_relevant_rows()

    def _build_fields(self) -> None:
        self.epochs_spin = SpinBox()
        self.epochs_spin.setRange(1, 100_000)
        self.batch_spin = SpinBox()
        self.batch_spin.setRange(1, 65_536)
        self.optimizer_combo = titled_combo(OPTIMIZERS, OPTIMIZER_TITLES)
        self.learning_rate_edit = QLineEdit()
        validator = QDoubleValidator(0.0, 10.0, 10, self.learning_rate_edit)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        validator.setLocale(QLocale.c())  # "0.001" everywhere, parsed with float()
        self.learning_rate_edit.setValidator(validator)
        self.learning_rate_edit.setToolTip("Typical: 0.001 for Adam and RMSprop, 0.01 to 0.1 "
                                           "for SGD. 1e-3 works too.")
        self.momentum_spin = DoubleSpinBox()
        self.momentum_spin.setRange(0.0, 0.999)
        self.momentum_spin.setDecimals(3)
        self.momentum_spin.setSingleStep(0.05)
        self.schedule_combo = titled_combo(SCHEDULES, SCHEDULE_TITLES)
        self.step_spin = SpinBox()
        self.step_spin.setRange(1, 100_000)
        self.step_spin.setPrefix("every ")
        self.step_spin.setSuffix(" epochs")
        self.loss_combo = titled_combo(LOSSES, LOSS_TITLES)
        self.early_check = QCheckBox("Stop when stalled")
        self.early_check.setToolTip("Early stopping: end the run when the validation loss has "
                                    "not improved for the given number of epochs (patience).")
        self.patience_spin = SpinBox()
        self.patience_spin.setRange(1, 10_000)
        self.patience_spin.setPrefix("for ")
        self.patience_spin.setSuffix(" epochs")
        self.patience_spin.setToolTip("Patience: stop after this many epochs without a better "
                                      "validation loss.")
        self.validation_spin = DoubleSpinBox()
        self.validation_spin.setRange(0.01, 0.8)
        self.validation_spin.setDecimals(3)
        self.validation_spin.setSingleStep(0.05)
        self.validation_spin.setToolTip("The share of all images kept aside to check the "
                                        "network after each epoch.")
        self.seed_spin = SpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The same seed gives the same split, shuffles and "
                                  "initial weights.")
        self.max_samples_spin = SpinBox()
        self.max_samples_spin.setRange(0, 100_000_000)
        self.max_samples_spin.setSingleStep(100)
        self.max_samples_spin.setSpecialValueText("All")
        self.max_samples_spin.setToolTip("Use only this many images (all splits together) for "
                                         "a quick experiment; All uses every image.")
        self.mixed_check = QCheckBox("Mixed precision")
        self.mixed_check.setToolTip("Compute in float16 on GPUs that support it (faster, less "
                                    "memory); weights stay float32.")
        self.strategy_combo = titled_combo(STRATEGIES, STRATEGY_TITLES)
        self.backend_combo = self._backend_combo()
        self.set_config(TrainingConfig())

    @staticmethod
    def _backend_combo():
        """TensorFlow and JAX; one that is not installed is shown greyed out, its tooltip
        naming the pip command."""
        combo = titled_combo(BACKENDS, BACKEND_TITLES)
        combo.setAccessibleName("Backend")
        # As wide as "TensorFlow" (the list shows "JAX (not installed)" in full).
        combo.setMinimumContentsLength(len(BACKEND_TITLES[DEFAULT_BACKEND]))
        missing = []
        for index, backend in enumerate(BACKENDS):
            reason = unavailable_reason(backend, in_app=True)
            if reason is None:
                continue
            missing.append(reason)
            combo.model().item(index).setEnabled(False)
            combo.setItemText(index, f"{BACKEND_TITLES[backend]} (not installed)")
            combo.setItemData(index, reason, Qt.ItemDataRole.ToolTipRole)
        combo.setToolTip(" ".join([BACKEND_HELP, *missing]))
        return combo

    def backend_available(self, backend: str) -> bool:
        index = self.backend_combo.findData(backend)
        return index >= 0 and self.backend_combo.model().item(index).isEnabled()

    def _connect(self) -> None:
        for spin in (self.epochs_spin, self.batch_spin, self.patience_spin, self.step_spin,
                     self.momentum_spin, self.validation_spin, self.seed_spin,
                     self.max_samples_spin):
            spin.valueChanged.connect(self._changed)
        for combo in (self.optimizer_combo, self.schedule_combo, self.loss_combo,
                      self.strategy_combo, self.backend_combo):
            combo.currentIndexChanged.connect(self._changed)
        for check in (self.early_check, self.mixed_check):
            check.toggled.connect(self._changed)
        self.learning_rate_edit.textChanged.connect(self._changed)
        for spin in (self.validation_spin, self.seed_spin, self.max_samples_spin):
            spin.valueChanged.connect(self.load_options_changed)

    def _changed(self) -> None:
        self._show_relevant_rows()
        self.changed.emit()

    def _show_relevant_rows(self) -> None:
        self.right.setRowVisible(self.momentum_spin,
                                 self.optimizer_combo.currentData() in MOMENTUM_OPTIMIZERS)
        self.right.setRowVisible(self.step_spin, self.schedule_combo.currentData() == "step")
        self.patience_spin.setVisible(self.early_check.isChecked())

    def set_config(self, config: TrainingConfig) -> None:
        """Show a config's hyperparameters (not its dataset or augmentation)."""
        self.epochs_spin.setValue(config.epochs)
        self.batch_spin.setValue(config.batch_size)
        select_data(self.optimizer_combo, config.optimizer)
        self.learning_rate_edit.setText(f"{config.learning_rate:g}")
        self.momentum_spin.setValue(config.momentum)
        select_data(self.schedule_combo, config.schedule)
        self.step_spin.setValue(config.step_epochs)
        select_data(self.loss_combo, config.loss)
        self.early_check.setChecked(config.early_stopping)
        self.patience_spin.setValue(config.patience)
        self.validation_spin.setValue(config.validation_fraction)
        self.seed_spin.setValue(config.seed)
        self.max_samples_spin.setValue(config.max_samples or 0)
        self.mixed_check.setChecked(config.mixed_precision)
        select_data(self.strategy_combo, config.strategy)
        # A backend not installed here (settings from another machine) trains on the default.
        select_data(self.backend_combo, config.backend if self.backend_available(config.backend)
                    else DEFAULT_BACKEND)

    def values(self) -> dict:
        """The fields as TrainingConfig keyword arguments; ProjectError when one is not valid."""
        try:
            learning_rate = float(self.learning_rate_edit.text().strip())
        except ValueError:
            raise ProjectError("Training settings: the learning rate must be a number such as "
                               "0.001 (or 1e-3).") from None
        if not math.isfinite(learning_rate):
            raise ProjectError("Training settings: the learning rate must be a finite number.")
        return {
            "epochs": self.epochs_spin.value(), "batch_size": self.batch_spin.value(),
            "optimizer": self.optimizer_combo.currentData(), "learning_rate": learning_rate,
            "momentum": round(self.momentum_spin.value(), 6),
            "schedule": self.schedule_combo.currentData(), "step_epochs": self.step_spin.value(),
            "loss": self.loss_combo.currentData(), "early_stopping": self.early_check.isChecked(),
            "patience": self.patience_spin.value(),
            "validation_fraction": round(self.validation_spin.value(), 6),
            "max_samples": self.max_samples_spin.value() or None, "seed": self.seed_spin.value(),
            "mixed_precision": self.mixed_check.isChecked(),
            "strategy": self.strategy_combo.currentData(),
            "backend": self.backend_combo.currentData(),
        }

    def load_options(self, test_fraction: float) -> dict:
        """How the dataset is split for these settings (what the preview loads with)."""
        return {"seed": self.seed_spin.value(),
                "validation_fraction": round(self.validation_spin.value(), 6),
                "test_fraction": test_fraction, "max_samples": self.max_samples_spin.value() or None}
