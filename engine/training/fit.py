"""The Keras side of a training run: data, model, optimizer, fit and evaluation."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from engine.blocks.catalog import block_of_layer
from engine.deep_graphs import load_keras_model
from engine.build import build_model
from engine.datasets import DatasetSplits
from engine.training.data import training_splits
from engine.errors import ProjectError
from engine.graph.shapes import infer
from engine.graph.spec import NetworkSpec
from engine.graph.validate import ERROR, output_node_id, validate
from engine.training import events
from engine.training.callbacks import EpochTensorBoard, StudioCallback
from engine.training.compatibility import output_mismatch
from engine.training.config import TrainingConfig
from engine.training.devices import list_devices
from engine.training.runs import RunFolder
from engine.training.speed import StepsChoice, choose_steps_per_execution

NETWORK_NAME = "network"
ADAPT_SAMPLE_SIZE = 2000  # images Normalization measures: its mean/variance settle long before
GRADIENT_PROBE_SIZE = 32  # images per gradient-norm measurement: enough for a stable norm, cheap  # the spec's model inside the training wrapper (augmentation)


class Trainer:
    def __init__(self, spec: NetworkSpec, config: TrainingConfig, clock, on_phase=None):
        import keras

        self.on_phase = on_phase or (lambda message: None)  # "Loading digits…" and so on
        self.keras = keras
        self.spec = spec
        self.config = config
        self.clock = clock
        self.backend = keras.backend.backend()
        self.data: DatasetSplits | None = None
        self.network = None   # the spec's model
        self.model = None     # what is fitted: the network, behind augmentation if enabled
        self.initial_epoch = 0
        self.notes: list[str] = []
        self.devices: list[str] = []
        self.weights_transfer = None  # engine.weights.WeightTransfer when fine-tuning
        self._steps_choice: StepsChoice | None = None

    # -- setting up --------------------------------------------------------------------------
    def prepare(self) -> None:
        self._check_graph()
        self._load_data()
        keras = self.keras
        self.on_phase("Building the network…")
        keras.utils.set_random_seed(self.config.seed)
        if self.config.mixed_precision:
            keras.config.set_dtype_policy("mixed_float16")
        with self._strategy_scope():
            self.network = build_model(self.spec, name=NETWORK_NAME)
            self._adapt_to_data()
            self._load_initial_weights()
            self.model = self._with_augmentation(self.network)
            self.model.compile(optimizer=self._optimizer(), loss=self._loss(),
                               metrics=[self._accuracy()],
                               steps_per_execution=self.steps_choice().steps)
            self._compile_augmentation_on_jax()

    def _adapt_to_data(self) -> None:
        """Blocks that measure the training images (Normalization's mean and variance) do it
        now, on what reaches them: the images after the blocks before them."""
        keras = self.keras
        sample = self.data.x_train[:ADAPT_SAMPLE_SIZE]
        for layer in self.network.layers:
            block = block_of_layer(layer)
            if block is None or not block.adapts_to_data or getattr(layer, "input_mean", 1) is not None:
                continue
            self.on_phase(f"Measuring the training images for {layer.name}…")
            reaching = keras.Model(self.network.inputs, layer.input)
            layer.adapt(reaching.predict(sample, batch_size=256, verbose=0))

    def _load_initial_weights(self) -> None:
        """Fine-tuning: the built network takes the weights of a run or .keras file, layer by
        layer; the layers that start fresh are named in the notes and the started event."""
        if not self.config.initial_weights:
            return
        from engine.weights import load_initial_weights

        self.on_phase("Loading the initial weights…")
        self.weights_transfer = load_initial_weights(self.network, self.config.initial_weights)
        self.notes.append(self.weights_transfer.note())

    def weights_from(self) -> dict | None:
        """Where the starting weights came from (run.json's weights_from), None from scratch."""
        return None if self.weights_transfer is None else self.weights_transfer.to_dict()

    def resume_from(self, checkpoint: Path, epochs_completed: int) -> None:
        if epochs_completed == 0 or not Path(checkpoint).exists():
            raise ProjectError("This run has no completed epoch to resume from; start a new run.")
        if epochs_completed >= self.config.epochs:
            raise ProjectError(f"This run already completed all {self.config.epochs} epochs.")
        self._check_graph()
        self._load_data()
        self.on_phase("Loading the checkpoint…")
        if self.config.mixed_precision:
            self.keras.config.set_dtype_policy("mixed_float16")
        with self._strategy_scope():
            try:
                self.model = load_keras_model(checkpoint)
            except Exception as error:  # noqa: BLE001
                raise ProjectError(f"Cannot load the checkpoint {checkpoint}: {error}") from None
        self.network = self._network_of(self.model)
        self.model.steps_per_execution = self.steps_choice().steps  # as a new run would
        self._compile_augmentation_on_jax()
        self.initial_epoch = epochs_completed

    def _check_graph(self) -> None:
        errors = [d for d in validate(self.spec) if d.severity == ERROR]
        if errors:
            raise ProjectError(f"The network has {len(errors)} error(s); fix them before training. "
                               f"First: {errors[0].message}")

    def _load_data(self) -> None:
        self.on_phase(f"Loading {self.config.dataset}…")
        self.data = training_splits(self.spec, self.config)
        self._check_classes()
        train_size = len(self.data.x_train)
        if self.config.batch_size > train_size:
            self.notes.append(f"The batch size {self.config.batch_size} is larger than the "
                              f"{train_size} training images: each epoch is one batch of "
                              f"{train_size}.")

    def _check_classes(self) -> None:
        mismatch = output_mismatch(self.spec, self.data.num_classes,
                                   f"dataset '{self.config.dataset}'")
        if mismatch is not None:
            raise ProjectError(mismatch.message)

    def _strategy_scope(self):
        import contextlib

        if self.config.strategy != "mirrored":
            return contextlib.nullcontext()
        if self.backend != "tensorflow":
            raise ProjectError("The mirrored strategy needs the TensorFlow backend "
                               f"(KERAS_BACKEND is {self.backend}).")
        import tensorflow as tf

        # With TF_CONFIG naming several workers, the same run spans machines.
        if os.environ.get("TF_CONFIG"):
            self._strategy = tf.distribute.MultiWorkerMirroredStrategy()
        else:
            self._strategy = tf.distribute.MirroredStrategy()
        return self._strategy.scope()

    def _with_augmentation(self, network):
        augmentation = self.config.augmentation
        if not augmentation.enabled:
            return network
        layers = self.keras.layers
        steps = [layers.Input(shape=network.input_shape[1:])]
        if augmentation.flip:
            steps.append(layers.RandomFlip("horizontal", seed=self.config.seed))
        if augmentation.translation:
            steps.append(layers.RandomTranslation(augmentation.translation, augmentation.translation,
                                                  fill_mode="constant", seed=self.config.seed))
        if augmentation.rotation:
            steps.append(layers.RandomRotation(augmentation.rotation, fill_mode="constant",
                                               seed=self.config.seed))
        if augmentation.zoom:
            steps.append(layers.RandomZoom(augmentation.zoom, fill_mode="constant", seed=self.config.seed))
        return self.keras.Sequential(steps + [network], name="augmented")

    def _network_of(self, model):
        if model.name == NETWORK_NAME:
            return model
        try:
            return model.get_layer(NETWORK_NAME)
        except ValueError:
            raise ProjectError("The checkpoint does not contain a CNN Studio network.") from None

    def steps_choice(self) -> StepsChoice:
        """How many batches Keras runs per call (engine.training.speed), decided once a run."""
        if self._steps_choice is None:
            self._steps_choice = choose_steps_per_execution(
                infer(self.spec).total_macs, self.config.batch_size, self._steps_per_epoch(),
                self.config.steps_per_execution, self.config.strategy)
        return self._steps_choice

    def _steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.data.x_train) / self.config.batch_size))

    def _optimizer(self):
        config, optimizers = self.config, self.keras.optimizers
        rate = config.learning_rate
        steps = self._steps_per_epoch()
        if config.schedule == "cosine":
            rate = optimizers.schedules.CosineDecay(rate, decay_steps=steps * config.epochs)
        elif config.schedule == "step":
            rate = optimizers.schedules.ExponentialDecay(rate, decay_steps=steps * config.step_epochs,
                                                         decay_rate=0.5, staircase=True)
        if config.optimizer == "adam":
            return optimizers.Adam(rate)
        if config.optimizer == "rmsprop":
            return optimizers.RMSprop(rate)
        return optimizers.SGD(rate, momentum=config.momentum if config.optimizer == "sgd_momentum" else 0.0)

    def _outputs_probabilities(self) -> bool:
        node = self.spec.node(output_node_id(self.spec))
        return node.params.get("activation") == "softmax"

    def _loss(self):
        losses = self.keras.losses
        if self.config.loss == "mean_squared_error":
            return losses.MeanSquaredError()
        return losses.SparseCategoricalCrossentropy(from_logits=not self._outputs_probabilities())

    def _accuracy(self):
        metrics = self.keras.metrics
        if self.config.loss == "mean_squared_error":
            return metrics.CategoricalAccuracy(name="accuracy")
        return metrics.SparseCategoricalAccuracy(name="accuracy")

    # -- running -----------------------------------------------------------------------------
    def started_event(self, run_dir: Path, initial_epoch: int) -> dict:
        self.devices = list_devices()
        info = infer(self.spec)
        summary = [{"name": node.name, "type": node.type,
                    "output_shape": list(info.nodes[node.id].output_shape or ()),
                    "params": info.nodes[node.id].params}
                   for node in sorted(self.spec.nodes, key=lambda n: info.order.index(n.id))]
        return events.make_event(
            events.STARTED, self.clock(), model_summary=summary, devices=self.devices,
            backend=self.backend, dataset=self.data.describe(), config=self.config.to_dict(),
            run_dir=str(run_dir), initial_epoch=initial_epoch, epochs=self.config.epochs,
            steps_per_epoch=self._steps_per_epoch(), total_params=info.total_params,
            notes=list(self.notes), initial_weights=self.weights_from(),
            speed=self.speed_choices())

    def speed_choices(self) -> dict:
        """What this run chose to train fast, and why: the started event and run.json."""
        jit = bool(self.model.jit_compile)
        return {**self.steps_choice().to_dict(), "jit_compile": jit,
                "jit_why": ("the train step is compiled with XLA (Keras does so on JAX, and "
                            "with TensorFlow on GPUs)" if jit else
                            "Keras uses XLA with TensorFlow only on GPUs; on a CPU it is slower "
                            "(benchmarks/bench_training.py --expert measures both)"),
                "backend": self.backend, "devices": self.devices or list_devices(),
                "cpu_threads": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count()}

    def fit(self, folder: RunFolder, state, emit, should_stop, should_pause) -> None:
        data, config = self.data, self.config
        probe = slice(0, min(GRADIENT_PROBE_SIZE, len(data.x_train)))
        callback = StudioCallback(
            folder=folder, state=state, emit=emit, clock=self.clock, network=self.network,
            config=config, steps_per_epoch=self._steps_per_epoch(), should_stop=should_stop,
            should_pause=should_pause, loss_fn=self._loss(),
            probe=(data.x_train[probe], self.targets(data.y_train[probe])), training_model=self.model)
        self.callback = callback
        callbacks = [callback]
        if config.early_stopping:
            callbacks.append(self.keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.patience, restore_best_weights=False))
        if _tensorflow_installed() and os.environ.get("CNN_STUDIO_TENSORBOARD", "1") != "0":
            callbacks.append(EpochTensorBoard(log_dir=str(folder.path / "logs"), write_graph=False,
                                              update_freq="epoch"))
        self.on_phase("Compiling the first batch…")
        self.model.fit(data.x_train, self.targets(data.y_train),
                       validation_data=(data.x_val, self.targets(data.y_val)),
                       epochs=config.epochs, initial_epoch=self.initial_epoch,
                       batch_size=min(config.batch_size, len(data.x_train)), shuffle=True,
                       verbose=0, callbacks=callbacks)

    def _compile_augmentation_on_jax(self) -> None:
        """Keras marks its random shift/rotation/zoom layers as not compilable (a TensorFlow
        limit), and on JAX one such layer makes the whole step run op by op: 5-9x slower.
        Under jax.jit they compile and take ~1 ms a batch; Keras falls back (with a warning)
        if another layer cannot."""
        if self.backend != "jax" or self.model.jit_compile:
            return
        layers = self.keras.layers
        random_layers = (layers.RandomTranslation, layers.RandomRotation, layers.RandomZoom,
                         layers.RandomFlip)
        for layer in self.model._flatten_layers():
            if isinstance(layer, random_layers):
                layer.supports_jit = True
        self.model.jit_compile = True

    def targets(self, labels: np.ndarray) -> np.ndarray:
        """Labels as the loss wants them: class indices, or one-hot rows for squared error."""
        if self.config.loss == "mean_squared_error":
            return np.eye(self.data.num_classes, dtype="float32")[labels]
        return labels

    def evaluate(self, state) -> dict:
        data = self.data
        # Augmentation layers are inactive at inference, so the fitted model evaluates the network.
        probabilities = self.model.predict(data.x_test, batch_size=256, verbose=0)
        test_loss, test_accuracy = self.model.evaluate(data.x_test, self.targets(data.y_test),
                                                       batch_size=256, verbose=0)
        labels = data.y_test
        predicted = np.asarray(probabilities).argmax(axis=1)
        classes = data.num_classes
        confusion = np.zeros((classes, classes), dtype=np.int64)
        np.add.at(confusion, (labels, predicted), 1)
        per_class = [float(confusion[k, k] / confusion[k].sum()) if confusion[k].sum() else None
                     for k in range(classes)]
        self.examples = confusion_examples(data.x_test, labels, predicted, np.asarray(probabilities))
        history = state.history
        best_index = int(np.argmax([e.get("val_accuracy") or 0.0 for e in history])) if history else None
        train_time = sum(e.get("epoch_time", 0.0) for e in history)
        samples = len(data.x_train) * len(history)
        return {
            "test_loss": float(test_loss), "test_accuracy": float(test_accuracy),
            "confusion_matrix": confusion.tolist(), "per_class_accuracy": per_class,
            "class_names": list(data.class_names),
            "best_epoch": None if best_index is None else history[best_index]["epoch"],
            "best_val_accuracy": None if best_index is None else history[best_index].get("val_accuracy"),
            "training_time": train_time,
            "samples_per_second": samples / train_time if train_time else None,
            "epochs_completed": state.epochs_completed,
        }


def _tensorflow_installed() -> bool:
    """Keras' TensorBoard writer needs the tensorflow package, whatever the backend."""
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


EXAMPLES_PER_CELL = 12
EXAMPLE_MAX_SIDE = 64


def confusion_examples(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                       probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Up to EXAMPLES_PER_CELL test images for every (true, predicted) cell of the confusion
    matrix, as small uint8 thumbnails with their predicted probabilities: what the GUI shows
    when a cell is clicked, without loading the dataset again."""
    chosen = []
    for true_class in np.unique(labels):
        for predicted_class in np.unique(predicted):
            cell = np.flatnonzero((labels == true_class) & (predicted == predicted_class))
            chosen.extend(cell[:EXAMPLES_PER_CELL].tolist())
    chosen = np.array(sorted(chosen), dtype=np.int64)
    thumbnails = images[chosen]
    step = max(1, int(np.ceil(max(images.shape[1:3]) / EXAMPLE_MAX_SIDE)))
    thumbnails = thumbnails[:, ::step, ::step, :]  # plain subsampling: thumbnails only
    return {
        "index": chosen,
        "image": np.clip(thumbnails * 255.0 + 0.5, 0, 255).astype(np.uint8),
        "true": labels[chosen].astype(np.int64),
        "predicted": predicted[chosen].astype(np.int64),
        "probabilities": probabilities[chosen].astype(np.float32),
    }
