"""run_training: build, compile and fit a network, reporting progress as plain events.

The same function runs in the GUI's worker process, in the CLI and in tests. It never
raises for problems a user can cause: those end the run with a `failed` event whose
message says what to do; the run folder is left consistent (or removed when no epoch
completed).
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Callable

from engine.errors import ProjectError
from engine.graph.spec import NetworkSpec
from engine.training import events
from engine.training.config import TrainingConfig
from engine.training.runs import FAILED, FINISHED, RUNNING, STOPPED, RunFolder, default_runs_root

Emit = Callable[[dict], None]
NAN_ADVICE = ("The loss became NaN or infinite, so training stopped. Lower the learning rate "
              "(e.g. divide it by 10), add BatchNormalization, or use Adam.")
OOM_ADVICE = ("Out of memory. Use a smaller batch size, a smaller input size or fewer filters, "
              "or train on a device with more memory.")


class _RunState:
    """What the callback learned while Keras was fitting."""

    def __init__(self):
        self.non_finite_loss = False
        self.stopped_by_user = False
        self.epochs_completed = 0
        self.checkpoint_epoch = 0
        self.history: list[dict] = []


def run_training(spec: NetworkSpec, config: TrainingConfig, emit: Emit | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 should_pause: Callable[[], bool] | None = None,
                 runs_root: str | Path | None = None, resume_dir: str | Path | None = None,
                 name: str | None = None) -> dict:
    """Train `spec` as `config` says; return the terminal event (finished/stopped/failed).

    resume_dir: continue that run from its last completed epoch (spec/config from the run).
    config.initial_weights: start from a run's or .keras file's weights (fine-tuning);
    run.json's weights_from then says which file and run they came from.
    """
    emit = emit or (lambda event: None)
    should_stop = should_stop or (lambda: False)
    should_pause = should_pause or (lambda: False)
    clock = _Clock()
    folder: RunFolder | None = None
    state = _RunState()
    try:
        from engine.training.fit import Trainer  # imports Keras: only now, in the worker

        trainer = Trainer(spec, config, clock=clock, on_phase=lambda message: emit(
            events.make_event(events.PHASE, clock(), message=message)))
        if resume_dir is not None:
            folder = RunFolder(Path(resume_dir))
            state.checkpoint_epoch = folder.resume_epoch()
            state.history = folder.history()[: state.checkpoint_epoch]
            state.epochs_completed = len(state.history)
            trainer.resume_from(folder.checkpoint, state.checkpoint_epoch)
        else:
            trainer.prepare()
            folder = RunFolder.create(Path(runs_root) if runs_root else default_runs_root(),
                                      name or spec.name)
            start = {**_status(trainer, state, RUNNING, name or spec.name),
                     "started_at": time.strftime("%Y-%m-%d %H:%M:%S")}
            if trainer.weights_from() is not None:  # fine-tuning: where its weights came from
                start["weights_from"] = trainer.weights_from()
            start["speed"] = trainer.speed_choices()
            folder.write_start(spec, config, start)
        emit(trainer.started_event(folder.path, state.epochs_completed))
        trainer.fit(folder, state, emit, should_stop, should_pause)
    except ProjectError as error:
        return _fail(emit, clock, folder, state, str(error))
    except Exception as error:  # noqa: BLE001 - anything from Keras/TensorFlow becomes a message
        if _is_out_of_memory(error):
            return _fail(emit, clock, folder, state, OOM_ADVICE, can_resume=False)
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        if folder is not None and folder.path.exists():
            (folder.path / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        return _fail(emit, clock, folder, state, f"Training failed: {detail}")
    finally:
        _reset_precision()

    run_name = _run_name(folder)
    if state.non_finite_loss:
        return _fail(emit, clock, folder, state, NAN_ADVICE, can_resume=False)
    if state.stopped_by_user:
        trainer.callback.roll_back_to_last_epoch()
        folder.save_model(trainer.network, "model.keras")
        resumable = state.checkpoint_epoch > 0 and folder.checkpoint.exists()
        folder.write_status({**folder.status(), "status": STOPPED})
        event = events.make_event(events.STOPPED, clock(), epochs_completed=state.epochs_completed,
                                  resume_epoch=state.checkpoint_epoch,
                                  run_dir=str(folder.path), resumable=resumable,
                                  message=f"Stopped after {state.epochs_completed} complete epoch(s)."
                                  + (" Resume continues from there." if resumable else ""))
        emit(event)
        return event
    summary = trainer.evaluate(state)
    folder.save_model(trainer.network, "model.keras")
    folder.save_arrays("examples.npz", trainer.examples)
    folder.write_json("metrics.json", summary)
    folder.write_status({**folder.status(), **_status(trainer, state, FINISHED, run_name, summary),
                         "finished_at": time.strftime("%Y-%m-%d %H:%M:%S")})
    event = events.make_event(events.FINISHED, clock(), run_dir=str(folder.path),
                              examples=trainer.examples, **summary)
    emit(event)
    return event


def _run_name(folder: RunFolder) -> str:
    try:
        return str(folder.status().get("name", folder.path.name))
    except ProjectError:
        return folder.path.name


def _status(trainer, state: _RunState, status: str, name: str, summary: dict | None = None) -> dict:
    summary = summary or {}
    best = max((e.get("val_accuracy") or 0.0 for e in state.history), default=None)
    return {
        "name": name, "status": status, "dataset": trainer.config.dataset,
        "epochs_planned": trainer.config.epochs, "epochs_completed": state.epochs_completed,
        "best_val_accuracy": best, "test_accuracy": summary.get("test_accuracy"),
        "training_time": summary.get("training_time"),
        "samples_per_second": summary.get("samples_per_second"),
        "backend": trainer.backend,
    }


def _fail(emit: Emit, clock, folder: RunFolder | None, state: _RunState, message: str,
          can_resume: bool = True) -> dict:
    """The failed event. can_resume: whether continuing from the checkpoint can help (after
    a full disk, yes; after a NaN loss or running out of memory, the same thing happens)."""
    run_dir, resume_epoch = None, 0
    if folder is not None and folder.path.exists():
        if state.epochs_completed == 0 and not folder.checkpoint.exists():
            folder.remove()  # nothing worth keeping: no half-written run left behind
        else:
            run_dir = str(folder.path)  # kept even when run.json cannot be updated (a full disk)
            try:
                resume_epoch = folder.resume_epoch() if can_resume else 0
            except ProjectError:
                pass
            if resume_epoch:
                message += (f" The run is saved up to epoch {resume_epoch}: resume it to continue "
                            "from there.")
            try:
                folder.write_status({**folder.status(), "status": FAILED, "message": message})
            except ProjectError:
                pass
    event = events.make_event(events.FAILED, clock(), message=message,
                              epochs_completed=state.epochs_completed, run_dir=run_dir,
                              resume_epoch=resume_epoch, resumable=bool(resume_epoch))
    emit(event)
    return event


def _is_out_of_memory(error: Exception) -> bool:
    text = f"{type(error).__name__} {error}".lower()
    return "resourceexhausted" in text or "out of memory" in text or isinstance(error, MemoryError)


def _reset_precision() -> None:
    try:
        import keras

        keras.config.set_dtype_policy("float32")
    except Exception:  # noqa: BLE001 - best effort; the process may not have Keras at all
        pass


class _Clock:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start

