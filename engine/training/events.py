"""The events a training run emits, one frozen dataclass each: the schema is the code.

On the wire (and to the CLI and the window) an event is a plain dict, `{"type": ..., "time":
..., **fields}` with NumPy arrays for kernels and examples; `make_event` builds it through its
dataclass, so an event missing a field or carrying one the schema does not name is a bug
that fails at once instead of drifting from this file. `parse` turns a dict back into its
dataclass. "time" is seconds since the run started.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

PHASE = "phase"
STARTED = "started"
BATCH_ENDED = "batch_ended"
EPOCH_ENDED = "epoch_ended"
FILTERS_SNAPSHOT = "filters_snapshot"
FINISHED = "finished"
STOPPED = "stopped"
FAILED = "failed"

TERMINAL = (FINISHED, STOPPED, FAILED)


@dataclass(frozen=True)
class Phase:
    """What the run is doing before its first batch: "Loading digits…", "Compiling…"."""
    message: str


@dataclass(frozen=True)
class Started:
    model_summary: list          # [{name, type, output_shape, params}] in model order
    devices: list
    backend: str
    dataset: dict                # DatasetSplits.describe()
    config: dict                 # TrainingConfig.to_dict()
    run_dir: str
    initial_epoch: int           # > 0 when resuming
    epochs: int
    steps_per_epoch: int
    total_params: int
    notes: list                  # things the user should know (batch > dataset, ...)
    initial_weights: dict | None = None  # fine-tuning: engine.weights.WeightTransfer.to_dict()
    # What the loop chose to train fast and why: steps_per_execution (+ why), jit_compile,
    # backend, devices, cpu_threads (Trainer.speed_choices)
    speed: dict | None = None


@dataclass(frozen=True)
class BatchEnded:                # at most ~20 a second
    epoch: int
    batch: int
    batches: int
    loss: float | None
    accuracy: float | None
    samples_per_second: float    # paused time left out


@dataclass(frozen=True)
class EpochEnded:
    epoch: int                   # 1-based
    epochs: int
    loss: float | None
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float | None
    gradient_norms: dict         # {layer name: norm}
    epoch_time: float            # paused time left out, as in elapsed, eta, samples/s
    samples_per_second: float
    elapsed: float
    eta: float
    paused_seconds: float = 0.0  # paused so far in this run


@dataclass(frozen=True)
class FiltersSnapshot:
    epoch: int
    kernels: dict                # {conv layer name: float32 array (kh, kw, in, out)}


@dataclass(frozen=True)
class Finished:
    run_dir: str
    examples: dict               # arrays: index, image uint8 (M,h,w,C), true, predicted,
                                 # probabilities (M,K): up to 12 test images per matrix cell
    test_loss: float
    test_accuracy: float
    confusion_matrix: list       # K x K
    per_class_accuracy: list
    class_names: list
    best_epoch: int | None
    best_val_accuracy: float | None
    training_time: float
    samples_per_second: float | None
    epochs_completed: int


@dataclass(frozen=True)
class Stopped:
    epochs_completed: int
    resume_epoch: int
    run_dir: str | None
    resumable: bool
    message: str


@dataclass(frozen=True)
class Failed:
    message: str                 # what happened and what to do
    epochs_completed: int
    run_dir: str | None
    resume_epoch: int | None = None
    resumable: bool = False
    crashed: bool = False        # the worker died without saying how (killed, native crash)
    exitcode: int | None = None


SCHEMAS: dict[str, type] = {PHASE: Phase, STARTED: Started, BATCH_ENDED: BatchEnded,
                            EPOCH_ENDED: EpochEnded, FILTERS_SNAPSHOT: FiltersSnapshot,
                            FINISHED: Finished, STOPPED: Stopped, FAILED: Failed}


def make_event(kind: str, time: float, **fields) -> dict:
    """The event as a plain dict, checked against its schema (TypeError when it does not fit)."""
    record = SCHEMAS[kind](**fields)
    return {"type": kind, "time": round(time, 4), **_fields(record)}


def parse(event: dict) -> Any:
    """The dataclass of a plain event dict (ValueError for an unknown or malformed one)."""
    try:
        schema = SCHEMAS[event["type"]]
        names = {f.name for f in dataclasses.fields(schema)}
        return schema(**{k: v for k, v in event.items() if k in names})
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a training event: {error}") from None


def _fields(record) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
