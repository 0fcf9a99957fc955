"""Checkpoints written off the training thread.

At an epoch's end the training thread copies the model's and the optimizer's variables to
host NumPy arrays (host_values: under 1 ms for LeNet-5, about 2 ms for ResNet-mini) and
hands them to a CheckpointWriter. Training goes on while the writer's thread writes the
.keras file; when the file is on the disk (fsynced, renamed into place) the writer calls
`commit`, which names it in run.json. A crash before that leaves the previous checkpoint
named and whole; the new one is a hidden temporary file nothing reads.

The writer never touches the training model. On its first job it builds a model of its own
from the configuration the training thread serialised (what model.save writes as
config.json, compiled: the optimizer's variables exist too), on the CPU; each job assigns
the host arrays to that model's variables and saves it. Keras keeps its global state
(dtype policy, names, distribution strategy) per thread; the writer's model is made and
used by the writer's threads only, one job at a time.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Callable

import keras
import numpy as np

from engine.deep_graphs import room_for
from engine.training.runs import layer_count

# The writer's threads get a stack that holds Keras' recursion through a deep graph (a
# secondary thread's default is 512 KB on macOS; 8 MB holds 5,000 blocks).
WRITER_STACK_BYTES = 32 << 20


def host_values(variables) -> list[np.ndarray]:
    """Fresh host (NumPy) copies of the variables' values. On TensorFlow one raw read per
    variable: ResNet-mini's 130 variables and their Adam slots in about 2 ms here, against 5
    through tf.Variable.numpy() and 9 through keras.ops (a compiled read of them all takes
    1 ms, but 180 ms to trace)."""
    if keras.backend.backend() == "tensorflow":
        try:
            import tensorflow as tf

            read = tf.raw_ops.ReadVariableOp
            return [np.array(read(resource=v.value.handle, dtype=v.value.dtype)) for v in variables]
        except Exception:  # noqa: BLE001 - e.g. a distribution strategy's variables
            pass
    return [np.array(keras.ops.convert_to_numpy(variable)) for variable in variables]


def assign_values(variables, values) -> None:
    for variable, value in zip(variables, values):
        variable.assign(value)


class WriterUnavailable(Exception):
    """The writer cannot build a model like the training one: save on the training thread."""


class CheckpointWriter:
    """Writes checkpoints from host copies, one at a time, on its own thread.

    commit(epoch, temporary) runs on the writer's thread once the file is written and
    fsynced; it places the file and names it in run.json. A failed write is kept as
    `error` for the training thread to raise (a full disk ends the run, as it did when the
    checkpoint was written on the training thread). The thread waits for jobs and ends
    after IDLE_SECONDS without one (a run that failed never asks it to); the next job
    starts another."""

    IDLE_SECONDS = 30.0

    def __init__(self, folder, model, commit: Callable[[int, object], None]):
        # On the training thread: everything the writer needs from the training model.
        self.folder = folder
        self._config = keras.saving.serialize_keras_object(model)
        self._policy = keras.config.dtype_policy().name
        self._layers = layer_count(model)
        self._signature = (_signature(model.variables), _signature(model.optimizer.variables))
        self._commit = commit
        self._model = None       # built and used only by the writer's threads
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.writing: int | None = None  # the epoch being written
        self.error: BaseException | None = None
        self.unavailable = False
        self.last_cost = 0.0     # CPU seconds the last write took on the writer's thread

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def submit(self, epoch: int, weights: list[np.ndarray], optimizer_state: list[np.ndarray]) -> None:
        """Start writing this epoch's checkpoint; the caller checked that none is in flight."""
        if self.busy:
            raise RuntimeError("a checkpoint is already being written")
        self._idle.clear()
        self.writing = epoch
        with self._lock:
            self._jobs.put((epoch, weights, optimizer_state))
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="checkpoint-writer",
                                                daemon=True)
                previous = threading.stack_size()
                threading.stack_size(max(previous, WRITER_STACK_BYTES))
                try:
                    self._thread.start()
                finally:
                    threading.stack_size(previous)

    def wait(self) -> None:
        """Until the write in flight (if any) has finished: committed or failed."""
        self._idle.wait()

    def take_error(self) -> BaseException | None:
        error, self.error = self.error, None
        return error

    # -- the writer's thread -----------------------------------------------------------------
    def _serve(self) -> None:
        keras.config.set_dtype_policy(self._policy)  # this thread's; the training one keeps its own
        while True:
            try:
                job = self._jobs.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._thread = None
                        return
                continue
            try:
                self._write(*job)
            finally:
                self.writing = None
                self._idle.set()

    def _write(self, epoch, weights, optimizer_state) -> None:
        started = time.thread_time()  # the CPU it takes from training, not the wait for the GIL
        try:
            model = self._writer_model()
            assign_values(model.variables, weights)
            assign_values(model.optimizer.variables, optimizer_state)
            temporary = self.folder.write_checkpoint(model, epoch)
            self.last_cost = time.thread_time() - started
            self._commit(epoch, temporary)
        except WriterUnavailable:
            self.unavailable = True
        except BaseException as error:  # noqa: BLE001 - handed to the training thread
            self.error = error

    def _writer_model(self):
        if self._model is None:
            import engine.layers  # noqa: F401 - registers the custom layers

            try:
                with keras.device("cpu:0"), room_for(self._layers):
                    model = keras.saving.deserialize_keras_object(self._config, safe_mode=True)
            except Exception as error:  # noqa: BLE001
                raise WriterUnavailable(str(error)) from None
            optimizer = getattr(model, "optimizer", None)
            if optimizer is None or (_signature(model.variables),
                                     _signature(optimizer.variables)) != self._signature:
                raise WriterUnavailable("the rebuilt model's variables differ")
            self._model = model
        return self._model


def _signature(variables) -> list[tuple]:
    return [(tuple(v.shape), str(v.dtype)) for v in variables]
