"""The Keras callback that turns fitting into CNN Studio events and run-folder files."""

from __future__ import annotations

import math
import os
import time

import keras
import numpy as np

from engine.deep_graphs import load_keras_model
from engine.blocks.catalog import block_of_layer, kernels_as_conv
from engine.training import events
from engine.training.gradients import GradientProbe

# Seconds between batch events: at most ~20 a second. CNN_STUDIO_BATCH_EVENT_INTERVAL=0 sends
# one per batch (the load tests use it to push 50,000 events through the GUI in minutes).
BATCH_EVENT_INTERVAL = float(os.environ.get("CNN_STUDIO_BATCH_EVENT_INTERVAL", "0.05"))
PAUSE_POLL = 0.05
# Checkpoints cost a model.save(); write one at most every MIN_CHECKPOINT_INTERVAL seconds and
# keep their share of the time near 3%. In between, the last completed epoch is kept in memory.
MIN_CHECKPOINT_INTERVAL = 5.0
CHECKPOINT_TIME_SHARE = 0.03


class StudioCallback(keras.callbacks.Callback):
    """Emits batch/epoch/filter events, honours stop and pause between batches, stops on a
    non-finite loss, and commits each completed epoch to the run folder.

    Time spent paused is left out of every timing (epoch time, elapsed, ETA, samples/s): a
    coffee break is not training time. epoch_ended carries the total as paused_seconds.

    Batch-end work runs on Keras' callback thread (async_safe), so the training loop never
    waits for it; stop and pause are checked synchronously before each batch."""

    async_safe = True

    def __init__(self, *, folder, state, emit, clock, network, config, steps_per_epoch,
                 should_stop, should_pause, loss_fn, probe, training_model):
        super().__init__()
        self.folder = folder
        self.state = state
        self.emit = emit
        self.clock = clock
        self.network = network
        self.config = config
        self.steps_per_epoch = steps_per_epoch
        self.should_stop = should_stop
        self.should_pause = should_pause
        self.loss_fn = loss_fn
        self.probe = probe
        self.training_model = training_model
        self._full_batch = config.batch_size
        self._epoch = 0
        self._epoch_start = 0.0
        self._paused = 0.0              # seconds paused in this session so far
        self._paused_at_epoch_start = 0.0
        self._batches_done = 0
        self._last_batch_event = 0.0
        self._epoch_times: list[float] = []
        self._last_checkpoint_time = time.perf_counter()
        self._last_checkpoint_cost = 0.0
        self._snapshot = None  # (epoch, model variables, optimizer variables) not yet on disk
        self._checkpoint_uncommitted = False  # saved, but run.json still names the previous one
        self._gradient_probe = GradientProbe(network, loss_fn)

    # -- batches ---------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.perf_counter()
        self._paused_at_epoch_start = self._paused
        self._batches_done = 0

    def on_train_batch_begin(self, batch, logs=None):
        self._wait_while_paused()
        if self.should_stop():
            self.state.stopped_by_user = True
            self.model.stop_training = True  # Keras finishes this batch, then stops

    def on_train_batch_end(self, batch, logs=None):
        self._batches_done = batch + 1
        now = time.perf_counter()
        last_of_epoch = batch + 1 == self.steps_per_epoch
        # Reading the logs waits for the device; do it only when an event is due (~20/s).
        # A non-finite loss is still caught within that interval, and at every epoch end.
        if now - self._last_batch_event < BATCH_EVENT_INTERVAL and not last_of_epoch:
            return
        self._last_batch_event = now
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.state.non_finite_loss = True
            self.model.stop_training = True
            return
        elapsed = max(self._epoch_seconds(now), 1e-9)
        self.emit(events.make_event(
            events.BATCH_ENDED, self.clock(), epoch=self._epoch + 1, batch=batch + 1,
            batches=self.steps_per_epoch, loss=_number(loss), accuracy=_number(logs.get("accuracy")),
            samples_per_second=(batch + 1) * self._full_batch / elapsed))

    def _wait_while_paused(self):
        if not self.should_pause():
            return
        started = time.perf_counter()
        while self.should_pause() and not self.should_stop():
            time.sleep(PAUSE_POLL)
        self._paused += time.perf_counter() - started

    def _epoch_seconds(self, now: float) -> float:
        """Seconds of this epoch spent training, not paused."""
        return now - self._epoch_start - (self._paused - self._paused_at_epoch_start)

    # -- epochs ----------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        # Keras calls this after a stop mid-epoch too; only complete, finite epochs count.
        if self._batches_done < self.steps_per_epoch or self.state.non_finite_loss:
            return
        if not math.isfinite(float(logs.get("loss", 0.0))):
            self.state.non_finite_loss = True
            self.model.stop_training = True
            return
        epoch_time = self._epoch_seconds(time.perf_counter())
        self._epoch_times.append(epoch_time)
        number = epoch + 1
        norms = self._gradient_norms() if self.config.gradient_norms else {}
        record = {
            "epoch": number,
            "loss": _number(logs.get("loss")), "accuracy": _number(logs.get("accuracy")),
            "val_loss": _number(logs.get("val_loss")), "val_accuracy": _number(logs.get("val_accuracy")),
            "learning_rate": self._learning_rate(),
            "gradient_norms": norms,
            "epoch_time": epoch_time,
            "samples_per_second": self.steps_per_epoch * self._full_batch / max(epoch_time, 1e-9),
        }
        kernels = self._kernels() if self.config.kernel_snapshots else {}
        self._commit(record, kernels)
        remaining = self.config.epochs - number
        average = sum(self._epoch_times) / len(self._epoch_times)
        self.emit(events.make_event(events.EPOCH_ENDED, self.clock(), epochs=self.config.epochs,
                                    elapsed=self.clock() - self._paused, eta=remaining * average,
                                    paused_seconds=self._paused, **record))
        if kernels:
            self.emit(events.make_event(events.FILTERS_SNAPSHOT, self.clock(), epoch=number,
                                        kernels=kernels))

    def _commit(self, record: dict, kernels: dict) -> None:
        """Checkpoint (when due), kernels, history, then run.json: the last write makes the
        epoch count."""
        folder, state = self.folder, self.state
        epoch = record["epoch"]
        if self._checkpoint_due(epoch):
            self._save_checkpoint(epoch)
        else:
            self._snapshot = (epoch, _values(self.training_model.variables),
                              _values(self.training_model.optimizer.variables))
        folder.save_kernels(epoch, kernels)
        state.history = state.history[: state.epochs_completed] + [record]
        folder.write_json("history.json", {"epochs": state.history})
        state.epochs_completed = epoch
        self._write_status()

    def _checkpoint_due(self, epoch: int) -> bool:
        since = time.perf_counter() - self._last_checkpoint_time
        first_of_session = self._last_checkpoint_cost == 0.0  # any completed epoch is resumable
        return (first_of_session or epoch >= self.config.epochs
                or since >= max(MIN_CHECKPOINT_INTERVAL,
                                self._last_checkpoint_cost / CHECKPOINT_TIME_SHARE))

    def _save_checkpoint(self, epoch: int) -> None:
        started = time.perf_counter()
        self.folder.save_checkpoint(self.training_model, epoch)
        self._last_checkpoint_time = time.perf_counter()
        self._last_checkpoint_cost = self._last_checkpoint_time - started
        self._snapshot = None
        self.state.checkpoint_epoch = epoch
        self._checkpoint_uncommitted = True

    def _write_status(self) -> None:
        state = self.state
        best = max((e.get("val_accuracy") or 0.0) for e in state.history)
        self.folder.write_status({**self.folder.status(), "epochs_completed": state.epochs_completed,
                                  "checkpoint_epoch": state.checkpoint_epoch, "best_val_accuracy": best})
        if self._checkpoint_uncommitted:  # run.json names the new one now: the old can go
            self.folder.drop_checkpoints_except(state.checkpoint_epoch)
            self._checkpoint_uncommitted = False

    def roll_back_to_last_epoch(self) -> None:
        """After a stop mid-epoch: put the weights of the last completed epoch back and
        checkpoint them, so the run resumes exactly from there."""
        if self._snapshot is not None:
            epoch, weights, optimizer_state = self._snapshot
            _assign(self.training_model.variables, weights)
            _assign(self.training_model.optimizer.variables, optimizer_state)
            self._save_checkpoint(epoch)
            self._write_status()
        elif self.state.checkpoint_epoch:
            # The last completed epoch is the checkpoint itself: reload its weights.
            saved = load_keras_model(self.folder.checkpoint)
            _assign(self.training_model.variables, _values(saved.variables))

    def _gradient_norms(self) -> dict[str, float]:
        x, y = self.probe
        try:
            return self._gradient_probe(x, y)
        except Exception:  # noqa: BLE001 - a diagnostic plot must never end a training run
            return {}

    def _learning_rate(self) -> float | None:
        try:
            return float(keras.ops.convert_to_numpy(self.training_model.optimizer.learning_rate))
        except Exception:  # noqa: BLE001
            return None

    def _kernels(self) -> dict[str, np.ndarray]:
        return network_kernels(self.network)


def network_kernels(network) -> dict[str, np.ndarray]:
    """Layer name -> kernel of every layer whose block shows kernels (what kernels/*.npz hold)."""
    kernels = {}
    for layer in network.layers:
        block = block_of_layer(layer)
        if block is not None and block.kernel_weight:
            kernel = np.asarray(keras.ops.convert_to_numpy(getattr(layer, block.kernel_weight)),
                                dtype=np.float32)
            kernels[layer.name] = kernels_as_conv(block, kernel)
    return kernels


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """TensorBoard writing per epoch only. Its batch hook then does nothing, so it is safe
    to run off the training thread instead of stalling the loop every batch."""

    async_safe = True


def _values(variables) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def _assign(variables, values) -> None:
    for variable, value in zip(variables, values):
        variable.assign(value)


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
