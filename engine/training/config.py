"""TrainingConfig: every choice of a training run, as plain JSON-able data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from engine.errors import ProjectError
from engine.training.backends import BACKENDS  # Keras backends a run can train on

OPTIMIZERS = ("adam", "sgd", "sgd_momentum", "rmsprop")
SCHEDULES = ("constant", "cosine", "step")
LOSSES = ("crossentropy", "mean_squared_error")
STRATEGIES = ("default", "mirrored")


@dataclass(frozen=True)
class Augmentation:
    """Random changes to training images (Keras preprocessing layers; off when all zero)."""

    translation: float = 0.0  # fraction of height/width to shift by, at most
    rotation: float = 0.0     # fraction of a full turn, at most
    zoom: float = 0.0         # fraction to zoom in or out, at most
    flip: bool = False        # random horizontal flips

    @property
    def enabled(self) -> bool:
        return bool(self.translation or self.rotation or self.zoom or self.flip)

    @staticmethod
    def default_on() -> Augmentation:
        """What `--augment` turns on: small shifts, rotations and zooms (no flips: digits
        and letters change meaning when mirrored)."""
        return Augmentation(translation=0.1, rotation=0.05, zoom=0.1)


@dataclass(frozen=True)
class TrainingConfig:
    dataset: str = "digits"
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 0.001
    momentum: float = 0.9           # used by sgd_momentum (and rmsprop)
    schedule: str = "constant"      # constant | cosine (to 0 over the run) | step (halve every step_epochs)
    step_epochs: int = 5
    loss: str = "crossentropy"
    early_stopping: bool = False
    patience: int = 3               # epochs without validation improvement before stopping
    validation_fraction: float = 0.15
    test_fraction: float = 0.15
    max_samples: int | None = None  # cap the dataset for quick experiments
    seed: int = 0
    mixed_precision: bool = False
    strategy: str = "default"
    # The Keras backend: "tensorflow" or "jax" (a worker started with KERAS_BACKEND).
    backend: str = "tensorflow"
    augmentation: Augmentation = field(default_factory=Augmentation)
    gradient_norms: bool = True     # per-layer gradient norms each epoch (vanishing gradients)
    kernel_snapshots: bool = True   # conv kernels each epoch (watch filters form)
    # Fine-tuning: a run folder or .keras file whose weights the network starts from, layer
    # by layer where names and shapes match (engine.weights); None starts from scratch.
    initial_weights: str | None = None
    # Batches per call of Keras' compiled training function; None: chosen per run from the
    # network's cost (engine.training.speed), shown in the started event and run.json.
    steps_per_execution: int | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ProjectError("Training settings: " + " ".join(problems))

    def problems(self) -> list[str]:
        found = []
        if not (1 <= self.epochs <= 100_000):
            found.append(f"epochs must be between 1 and 100000 (got {self.epochs}).")
        if not (1 <= self.batch_size <= 65_536):
            found.append(f"batch size must be between 1 and 65536 (got {self.batch_size}).")
        if self.optimizer not in OPTIMIZERS:
            found.append(f"optimizer must be one of {', '.join(OPTIMIZERS)} (got {self.optimizer!r}).")
        if not (0 < self.learning_rate <= 10):
            found.append(f"learning rate must be above 0 and at most 10 (got {self.learning_rate}); "
                         "typical values are 0.1 (SGD) to 0.001 (Adam).")
        if not (0 <= self.momentum < 1):
            found.append(f"momentum must be in [0, 1) (got {self.momentum}).")
        if self.schedule not in SCHEDULES:
            found.append(f"schedule must be one of {', '.join(SCHEDULES)} (got {self.schedule!r}).")
        if self.step_epochs < 1:
            found.append("step_epochs must be at least 1.")
        if self.loss not in LOSSES:
            found.append(f"loss must be one of {', '.join(LOSSES)} (got {self.loss!r}).")
        if self.patience < 1:
            found.append("patience must be at least 1 epoch.")
        if not (0 < self.validation_fraction < 0.9 and 0 < self.test_fraction < 0.9
                and self.validation_fraction + self.test_fraction < 0.9):
            found.append("validation and test fractions must be above 0 and leave room for training.")
        if self.max_samples is not None and self.max_samples < 10:
            found.append("max_samples must be at least 10.")
        if self.initial_weights is not None and not (isinstance(self.initial_weights, str)
                                                     and self.initial_weights.strip()):
            found.append("initial weights must name a run folder or a .keras file.")
        if self.steps_per_execution is not None and not (1 <= self.steps_per_execution <= 1024):
            found.append("steps per execution must be between 1 and 1024, or empty (automatic).")
        if self.strategy not in STRATEGIES:
            found.append(f"strategy must be one of {', '.join(STRATEGIES)} (got {self.strategy!r}).")
        if self.backend not in BACKENDS:
            found.append(f"backend must be one of {', '.join(BACKENDS)} (got {self.backend!r}).")
        elif self.strategy == "mirrored" and self.backend != "tensorflow":
            found.append("the mirrored strategy needs the TensorFlow backend.")
        return found

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: Any) -> TrainingConfig:
        if not isinstance(data, dict):
            raise ProjectError("Training settings must be a JSON object.")
        known = {f.name: f for f in fields(TrainingConfig)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ProjectError(f"Training settings: unknown setting {unknown[0]!r}.")
        values = dict(data)
        if "augmentation" in values:
            augmentation = values["augmentation"]
            if not isinstance(augmentation, dict) or set(augmentation) - {f.name for f in fields(Augmentation)}:
                raise ProjectError("Training settings: 'augmentation' must be an object with "
                                   "translation, rotation, zoom and flip.")
            values["augmentation"] = Augmentation(**augmentation)
        for name, value in values.items():
            if name == "augmentation":
                continue
            expected = known[name].default
            if not _same_kind(value, expected, name):
                raise ProjectError(f"Training settings: {name} = {value!r} has the wrong type.")
        return TrainingConfig(**values)


def _same_kind(value: Any, default: Any, name: str) -> bool:
    if name in ("max_samples", "steps_per_execution"):
        return value is None or (isinstance(value, int) and not isinstance(value, bool))
    if name == "initial_weights":
        return value is None or isinstance(value, str)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))
