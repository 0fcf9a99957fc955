"""The Keras callback that turns fitting into CNN Studio events and run-folder files."""

from __future__ import annotations

import math
import os
import threading
import time

import keras
import numpy as np

from engine.deep_graphs import load_keras_model
from engine.blocks.catalog import block_of_layer, kernels_as_conv
from engine.training import events
from engine.training.checkpoints import CheckpointWriter, assign_values, host_values
from engine.training.gradients import GradientProbe

# Seconds between batch events: at most ~20 a second. CNN_STUDIO_BATCH_EVENT_INTERVAL=0 sends
# one per batch (the load tests use it to push 50,000 events through the GUI in minutes).
BATCH_EVENT_INTERVAL = float(os.environ.get("CNN_STUDIO_BATCH_EVENT_INTERVAL", "0.05"))
PAUSE_POLL = 0.05
# Checkpoints cost a model.save(); write one at most every MIN_CHECKPOINT_INTERVAL seconds and
# keep their share of the time near 3%. In between, the last completed epoch is kept in memory.
# The training thread only copies the variables to host memory; a CheckpointWriter saves them
# on its own thread (engine.training.checkpoints), so the share is of the writer's CPU time.
MIN_CHECKPOINT_INTERVAL = 5.0
CHECKPOINT_TIME_SHARE = 0.03
# Above this many bytes of weights and optimizer state, checkpoints are saved on the training
# thread: the writer's own copy of the model would double the memory a big network takes.
ASYNC_CHECKPOINT_MAX_BYTES = 1 << 30
# Gradient norms and kernel snapshots: every epoch while they cost under 1% of the training
# time; with short epochs, every k-th. The session's first two epochs (the first one compiles
# the gradient probe) and the run's last epoch always have them.
DIAGNOSTICS_TIME_SHARE = 0.01


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
        self._snapshot = None  # (epoch, model, optimizer variables) of the last complete epoch
        self._drop_pending = False  # run.json names a new checkpoint: the older ones can go
        # run.json is written by this thread and by the checkpoint writer's (its commit)
        self._status_lock = threading.RLock()
        self._writer: CheckpointWriter | None = None
        self._writer_refused = False  # none can be made for this model: save on this thread
        self._diagnostics = EpochDiagnostics(network, loss_fn, probe, config)

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
        # With steps_per_execution > 1 Keras calls this once per call of its training function,
        # with the call's last step; the epoch's last call may name a step past the end.
        batch = min(batch, self.steps_per_epoch - 1)
        # Keras' callback pool may finish these out of order (seen on JAX): keep the furthest.
        self._batches_done = max(self._batches_done, batch + 1)
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
        norms, kernels = self._diagnostics.take(number, self._paused)
        record = {
            "epoch": number,
            "loss": _number(logs.get("loss")), "accuracy": _number(logs.get("accuracy")),
            "val_loss": _number(logs.get("val_loss")), "val_accuracy": _number(logs.get("val_accuracy")),
            "learning_rate": self._learning_rate(),
            "gradient_norms": norms,
            "epoch_time": epoch_time,
            "samples_per_second": self.steps_per_epoch * self._full_batch / max(epoch_time, 1e-9),
        }
        self._commit(record, kernels)
        remaining = self.config.epochs - number
        average = sum(self._epoch_times) / len(self._epoch_times)
        self.emit(events.make_event(events.EPOCH_ENDED, self.clock(), epochs=self.config.epochs,
                                    elapsed=self.clock() - self._paused, eta=remaining * average,
                                    paused_seconds=self._paused, **record))
        if kernels:
            self.emit(events.make_event(events.FILTERS_SNAPSHOT, self.clock(), epoch=number,
                                        kernels=kernels))

    def on_train_begin(self, logs=None):
        self.folder.remove_unfinished_checkpoints()  # left by a crash (a resumed run)

    def on_train_end(self, logs=None):
        self._finish_checkpoints()

    def _commit(self, record: dict, kernels: dict) -> None:
        """Kernels, history, then run.json: the last write makes the epoch count. The epoch's
        checkpoint (when due) is saved before run.json when it is the session's first, else
        in the background after it: its writer names it in run.json once it is on the disk."""
        folder, state = self.folder, self.state
        epoch = record["epoch"]
        self._raise_write_error()  # a failed background write ends the run, as a failed save did
        self._snapshot = (epoch, *self._copy_to_host())
        due = self._checkpoint_due(epoch)
        if due and self._last_checkpoint_cost == 0.0:
            # The session's first, here: a run is resumable once its first epoch_ended is out
            self._save_checkpoint(epoch)
            due = False
            if epoch < self.config.epochs:
                self._checkpoint_writer()  # serialises the model's configuration: once, now
        started = time.perf_counter()
        folder.save_kernels(epoch, kernels)
        if kernels:
            self._diagnostics.add_cost(time.perf_counter() - started)  # the kernels' file
        with self._status_lock:
            state.history = state.history[: state.epochs_completed] + [record]
            folder.write_json("history.json", {"epochs": state.history})
            state.epochs_completed = epoch
            self._write_status()
        if due:
            self._checkpoint_in_background(epoch)

    def _checkpoint_due(self, epoch: int) -> bool:
        since = time.perf_counter() - self._last_checkpoint_time
        first_of_session = self._last_checkpoint_cost == 0.0  # any completed epoch is resumable
        # The latest write's cost: the writer's CPU time once it has written, else this thread's
        writer = self._writer
        cost = (writer.last_cost if writer is not None and writer.last_cost
                else self._last_checkpoint_cost)
        return (first_of_session or epoch >= self.config.epochs
                or since >= max(MIN_CHECKPOINT_INTERVAL, cost / CHECKPOINT_TIME_SHARE))

    def _save_checkpoint(self, epoch: int) -> None:
        """Save the training model as this epoch's checkpoint, here, on the training thread;
        the next run.json write names it."""
        started = time.perf_counter()
        self.folder.save_checkpoint(self.training_model, epoch)
        self._last_checkpoint_time = time.perf_counter()
        self._last_checkpoint_cost = self._last_checkpoint_time - started
        with self._status_lock:
            self.state.checkpoint_epoch = epoch
            self._drop_pending = True

    def _checkpoint_in_background(self, epoch: int) -> None:
        """Hand this epoch's host copy (the snapshot) to the writer. One write at a time: if
        the previous one is still being written, this epoch is skipped rather than waited
        for (the training thread never waits for the disk; the epoch stays in memory for a
        stop, and the next epoch is due at once), except the run's last epoch, which waits."""
        writer = self._checkpoint_writer()
        if writer is not None and writer.busy:
            if epoch < self.config.epochs:
                return
            writer.wait()
            self._raise_write_error()
            writer = self._checkpoint_writer()
        _, weights, optimizer_state = self._snapshot
        if writer is None:  # no writer for this model: save here, as before
            self._save_checkpoint(epoch)
            self._write_status()
            return
        self._last_checkpoint_time = time.perf_counter()
        writer.submit(epoch, weights, optimizer_state)

    def _checkpoint_writer(self) -> CheckpointWriter | None:
        """The background writer, made at the first background checkpoint; None where there
        can be none (a model too big to hold twice, one Keras cannot rebuild)."""
        if self._writer is None and not self._writer_refused and self._snapshot is not None:
            _, weights, optimizer_state = self._snapshot
            if sum(a.nbytes for a in weights + optimizer_state) > ASYNC_CHECKPOINT_MAX_BYTES:
                self._writer_refused = True
            else:
                try:
                    self._writer = CheckpointWriter(self.folder, self.training_model,
                                                    commit=self._place_written)
                except Exception:  # noqa: BLE001 - a model Keras cannot serialise: save here
                    self._writer_refused = True
        writer = self._writer
        return writer if writer is not None and not writer.unavailable else None

    def _place_written(self, epoch: int, temporary) -> None:
        """The writer's commit, on its thread, once the checkpoint is on the disk: rename it
        into place and name it in run.json. The older checkpoint is deleted by the training
        thread (its next run.json write, or the end of fitting): after a failure the session
        writes run.json from a copy it read earlier, which must still name a file that is
        there."""
        with self._status_lock:
            state = self.state
            if epoch <= state.checkpoint_epoch or epoch > state.epochs_completed:
                self.folder.discard_checkpoint(temporary)
                return
            self.folder.place_checkpoint(temporary, epoch)
            state.checkpoint_epoch = epoch
            self._drop_pending = True
            self._write_status(drop_older=False)

    def _raise_write_error(self) -> None:
        error = self._writer.take_error() if self._writer is not None else None
        if error is not None:
            raise error

    def _finish_checkpoints(self) -> None:
        """The end of fitting (finished, stopped, early-stopped): wait for the write in
        flight; then the last completed epoch is the checkpoint run.json names, and the
        older ones go."""
        writer = self._writer
        if writer is not None:
            writer.wait()
            self._raise_write_error()
        if self._snapshot is not None and not self.state.non_finite_loss:
            epoch, weights, optimizer_state = self._snapshot
            writer = self._checkpoint_writer()
            if epoch > self.state.checkpoint_epoch and writer is not None:
                writer.submit(epoch, weights, optimizer_state)
                writer.wait()
                self._raise_write_error()
            if epoch > self.state.checkpoint_epoch:  # no writer: save here (after a stop the
                # training model holds a part of the next epoch: put the epoch's values back)
                assign_values(self.training_model.variables, weights)
                assign_values(self.training_model.optimizer.variables, optimizer_state)
                self._save_checkpoint(epoch)
        with self._status_lock:
            if self._drop_pending:
                self._write_status()

    def _write_status(self, drop_older: bool = True) -> None:
        with self._status_lock:
            state = self.state
            best = max(((e.get("val_accuracy") or 0.0) for e in state.history), default=None)
            self.folder.write_status({**self.folder.status(),
                                      "epochs_completed": state.epochs_completed,
                                      "checkpoint_epoch": state.checkpoint_epoch,
                                      "best_val_accuracy": best})
            if drop_older and self._drop_pending:  # run.json names the new one: the old can go
                self.folder.drop_checkpoints_except(state.checkpoint_epoch)
                self._drop_pending = False

    def _copy_to_host(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The model's and the optimizer's variables as host arrays."""
        model = self.training_model
        return host_values(model.variables), host_values(model.optimizer.variables)

    def roll_back_to_last_epoch(self) -> None:
        """After a stop mid-epoch: put the weights of the last completed epoch back; its
        checkpoint is on the disk and named (on_train_end), so the run resumes exactly from
        there."""
        self._finish_checkpoints()
        if self._snapshot is not None:
            _, weights, optimizer_state = self._snapshot
            assign_values(self.training_model.variables, weights)
            assign_values(self.training_model.optimizer.variables, optimizer_state)
        elif self.state.checkpoint_epoch:
            # The last completed epoch is the checkpoint itself: reload its weights.
            saved = load_keras_model(self.folder.checkpoint)
            assign_values(self.training_model.variables, host_values(saved.variables))

    def _learning_rate(self) -> float | None:
        try:
            return float(keras.ops.convert_to_numpy(self.training_model.optimizer.learning_rate))
        except Exception:  # noqa: BLE001
            return None



class EpochDiagnostics:
    """Gradient norms and kernel snapshots at an epoch's end, taken while they cost at most
    DIAGNOSTICS_TIME_SHARE of the training time since the last ones (every epoch unless epochs
    are short); the session's first two epochs and the run's last always get them."""

    def __init__(self, network, loss_fn, probe, config):
        self.network = network
        self.probe = probe
        self.config = config
        self._gradient_probe = GradientProbe(network, loss_fn)
        self._samples = 0
        self._cost = 0.0                 # seconds the last gradient norms + kernels took
        self._last_time = 0.0
        self._paused_at_last = 0.0

    def take(self, epoch: int, paused: float) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """(gradient norms, kernels) for this epoch, empty when not due or switched off;
        `paused`: the session's paused seconds so far (left out of the time since)."""
        if not self._due(epoch, paused):
            return {}, {}
        started = time.perf_counter()
        norms = self._gradient_norms() if self.config.gradient_norms else {}
        kernels = self.kernels() if self.config.kernel_snapshots else {}
        self._samples += 1
        self._cost = time.perf_counter() - started
        self._last_time = time.perf_counter()
        self._paused_at_last = paused
        return norms, kernels

    def add_cost(self, seconds: float) -> None:
        self._cost += seconds

    def _due(self, epoch: int, paused: float) -> bool:
        if self._samples < 2 or epoch >= self.config.epochs:
            return True
        since = time.perf_counter() - self._last_time - (paused - self._paused_at_last)
        return self._cost <= DIAGNOSTICS_TIME_SHARE * since

    def _gradient_norms(self) -> dict[str, float]:
        x, y = self.probe
        try:
            return self._gradient_probe(x, y)
        except Exception:  # noqa: BLE001 - a diagnostic plot must never end a training run
            return {}

    def kernels(self) -> dict[str, np.ndarray]:
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


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
