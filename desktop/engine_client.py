"""Training in the warm training worker, reported to the GUI as Qt signals.

`EngineClient` is the training view of the app's `Engine` (desktop/workers.py): it sends a
`train` or `resume` job to the warm training worker (TensorFlow already loaded, so a run
starts in about a second) and re-emits every event of the run (a plain dict; kernels and
examples are NumPy arrays) on its own signal. Panels subscribe to the signals they need.

    client = EngineClient()
    client.epoch_ended.connect(...)            # every signal carries the event dict
    client.finished.connect(...)               # stopped / failed likewise
    client.state_changed.connect(...)          # "idle" "starting" "training" "paused" "stopping"
    client.start(spec, config, runs_root)      # or client.resume(run_dir)
    client.pause(); client.continue_training(); client.stop()

A run trains on the Keras backend its settings name (`TrainingConfig.backend`; a resumed run on
the one it started with): TensorFlow in the warm training worker, another backend (JAX) in a
training worker of that backend, started for the first such run (the `phase` signal says so
while it loads) and kept warm for the next.

Exactly one terminal signal (finished, stopped or failed) follows each start()/resume(),
also when the worker dies (killed by the system for memory, a crash in native code): then
`failed` carries crashed=True and says from which epoch the run can be resumed, and a fresh
warm worker takes the dead one's place.

This module must stay Keras-free at import time.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine import protocol
from engine.errors import ProjectError
from engine.graph.spec import NetworkSpec
from engine.training import events
from engine.training.backends import BACKEND_TITLES, DEFAULT_BACKEND, run_backend
from engine.training.config import TrainingConfig
from engine.training.runs import FAILED, RUNNING, RunFolder
from desktop.workers import TRAINING as TRAINING_WORKER
from desktop.workers import Engine, Job, JobFailure, describe_exit, shared_engine

IDLE, STARTING, TRAINING, PAUSED, STOPPING = "idle", "starting", "training", "paused", "stopping"

KEEP_BATCHES_PER_DRAIN = 3    # of a run of batch_ended events read together, only the newest few
STOP_GRACE_S = 15.0           # stop(): a run still going this long after it is asked is ended
WARMING_UP = "Starting the engine (TensorFlow loads once, a few seconds)…"
# A run on another backend, the first time: a worker of that backend starts for it.
WARMING_UP_BACKEND = ("Starting the {title} engine: a new training process loads {title} "
                      "(once, several seconds; later {title} runs start at once)…")

_SIGNAL_FOR_EVENT = {
    events.PHASE: "phase",
    events.STARTED: "started",
    events.BATCH_ENDED: "batch_ended",
    events.EPOCH_ENDED: "epoch_ended",
    events.FILTERS_SNAPSHOT: "filters_snapshot",
    events.FINISHED: "finished",
    events.STOPPED: "stopped",
    events.FAILED: "failed",
}

__all__ = ["EngineClient", "crash_event", "describe_exit", "IDLE", "STARTING", "TRAINING",
           "PAUSED", "STOPPING"]


class _Run:
    """One run in the worker and what the GUI learned from its events."""

    def __init__(self, job: Job, run_dir: str | None):
        self.job = job
        self.run_dir = run_dir
        self.started_at = time.monotonic()
        self.seen_started = False
        self.epochs_completed = 0
        self.stop_asked_at: float | None = None
        self.timed_out = False


class EngineClient(QObject):
    """At most one training run at a time, in the engine's warm training worker."""

    phase = Signal(object)
    started = Signal(object)
    batch_ended = Signal(object)
    epoch_ended = Signal(object)
    filters_snapshot = Signal(object)
    finished = Signal(object)
    stopped = Signal(object)
    failed = Signal(object)
    event_received = Signal(object)   # every event, before its own signal
    state_changed = Signal(str)

    def __init__(self, parent: QObject | None = None, engine: Engine | None = None):
        super().__init__(parent)
        self.engine = engine or shared_engine()
        self.stop_grace_s = STOP_GRACE_S
        self.keep_batches_per_drain = KEEP_BATCHES_PER_DRAIN
        self.last_run_dir: str | None = None
        self.last_start_seconds: float | None = None  # start() to the started event
        self._state = IDLE
        self._run: _Run | None = None
        self._pending: list[dict] = []  # events of this tick, emitted together (thinned)
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.timeout.connect(self._check_stop_deadline)

    # -- commands ---------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def pid(self) -> int | None:
        """The training worker's process id (the same from run to run while it lives): the
        current run's worker, else the default (TensorFlow) one."""
        return self.engine.pid(self._worker_role())

    def _worker_role(self) -> str:
        """The Engine's key of the worker the current run is in ("training" when idle)."""
        return self._run.job.role if self._run is not None else TRAINING_WORKER

    def is_running(self) -> bool:
        return self._run is not None

    def start(self, spec: NetworkSpec, config: TrainingConfig, runs_root: str | Path,
              name: str | None = None) -> None:
        """Train `spec` in the warm worker of config.backend; runs go under runs_root.
        Returns at once."""
        self._begin("train", {"spec": spec, "config": config.to_dict(),
                              "runs_root": Path(runs_root), "name": name}, run_dir=None,
                    backend=config.backend)

    def resume(self, run_dir: str | Path) -> None:
        """Continue a stopped, failed or crashed run from its last completed epoch, on the
        backend it started with."""
        self._begin("resume", {"run_dir": Path(run_dir)}, run_dir=str(Path(run_dir)),
                    backend=run_backend(run_dir))

    def pause(self) -> None:
        """Training waits before its next batch (the one in flight completes)."""
        if self._run is None or self._state not in (STARTING, TRAINING):
            return
        self._run.job.control(protocol.PAUSE)
        self._set_state(PAUSED)

    def continue_training(self) -> None:
        if self._run is None or self._state != PAUSED:
            return
        self._run.job.control(protocol.CONTINUE)
        self._set_state(TRAINING if self._run.seen_started else STARTING)

    def stop(self) -> None:
        """Ask the run to stop after the current batch; it saves the run and a `stopped`
        signal follows. A run still going stop_grace_s later (the worker hung) is ended by
        ending its worker (`failed`); a fresh worker takes its place."""
        run = self._run
        if run is None or run.stop_asked_at is not None:
            return
        run.job.control(protocol.STOP)
        run.stop_asked_at = time.monotonic()
        self._stop_timer.start(int(self.stop_grace_s * 1000))
        self._set_state(STOPPING)

    def kill(self) -> None:
        """End the training worker at once (SIGKILL); `failed` (crashed=True) follows, as for
        a crash, and a fresh worker starts."""
        if self._run is not None:
            self.engine.kill(self._worker_role())

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop following the run: it is asked to stop (completed epochs stay on disk and can
        be resumed later). No signal follows. Quitting the app ends the workers
        (Engine.shutdown)."""
        run = self._run
        if run is not None:
            run.job.control(protocol.STOP)
            run.job.done = True
            self._run = None
        self._pending = []
        self._stop_timer.stop()
        self._set_state(IDLE)

    # -- the job ----------------------------------------------------------------------------
    def _begin(self, kind: str, arguments: dict, run_dir: str | None,
               backend: str | None = None) -> None:
        if self._run is not None:
            raise RuntimeError("A training run is already in progress; stop it first.")
        job = self.engine.start(kind, arguments, on_event=self._event_arrived,
                                on_done=self._job_done, on_error=self._job_failed,
                                on_cancelled=lambda: None, backend=backend)
        self._run = run = _Run(job, run_dir)
        self.last_run_dir = run_dir
        self.last_start_seconds = None
        self._set_state(STARTING)
        if not job.done and not self.engine.is_ready(job.role):
            if backend in (None, DEFAULT_BACKEND):
                message = WARMING_UP
            else:
                message = WARMING_UP_BACKEND.format(title=BACKEND_TITLES.get(backend, backend))
            self._event_arrived(events.make_event(events.PHASE, 0.0, message=message), run=run)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _event_arrived(self, event: dict, run: _Run | None = None) -> None:
        run = run or self._run
        if run is None or run is not self._run:
            return
        if not self._pending:
            QTimer.singleShot(0, lambda: self._flush(run))
        self._pending.append(event)

    def _flush(self, run: _Run) -> None:
        pending, self._pending = self._pending, []
        for event in self._coalesce(pending):
            if self._run is not run:
                break  # a handler stopped following this run (kill, shutdown, ...)
            self._handle(run, event)

    def _coalesce(self, batch: list[dict]) -> list[dict]:
        """Of each run of consecutive batch_ended events, keep only the newest few."""
        keep = self.keep_batches_per_drain
        if not keep or len(batch) <= keep:
            return batch
        kept, streak = [], []
        for event in batch:
            if isinstance(event, dict) and event.get("type") == events.BATCH_ENDED:
                streak.append(event)
                continue
            kept.extend(streak[-keep:])
            streak = []
            kept.append(event)
        kept.extend(streak[-keep:])
        return kept

    def _handle(self, run: _Run, event) -> None:
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == events.STARTED:
            run.seen_started = True
            run.run_dir = event.get("run_dir") or run.run_dir
            run.epochs_completed = int(event.get("initial_epoch") or 0)
            self.last_run_dir = run.run_dir
            self.last_start_seconds = time.monotonic() - run.started_at
            if self._state == STARTING:
                self._set_state(TRAINING)
        elif kind == events.EPOCH_ENDED:
            run.epochs_completed = int(event.get("epoch") or run.epochs_completed)
        elif kind in events.TERMINAL:
            if "run_dir" in event:
                self.last_run_dir = event.get("run_dir")
            self._retire(run)
        self.event_received.emit(event)
        name = _SIGNAL_FOR_EVENT.get(kind)
        if name is not None:
            getattr(self, name).emit(event)

    def _retire(self, run: _Run) -> None:
        if self._run is run:
            self._run = None
            self._stop_timer.stop()
            self._set_state(IDLE)

    def _job_done(self, result) -> None:
        """The worker finished the job: its terminal event came first, unless it was lost."""
        run = self._run
        if run is not None and run.job.done:
            self._flush(run)
            if self._run is run and isinstance(result, dict) and result.get("type") in events.TERMINAL:
                self._handle(run, result)

    def _job_failed(self, failure: JobFailure) -> None:
        run = self._run
        if run is None:
            return
        self._flush(run)
        if self._run is not run:
            return
        if failure.crashed:
            what = (f"The training process did not stop within {self.stop_grace_s:g} s and was "
                    "ended." if run.timed_out else failure.message)
            event = crash_event(what, run.run_dir, run.epochs_completed, failure.exitcode,
                                elapsed=time.monotonic() - run.started_at)
        else:
            event = events.make_event(events.FAILED, time.monotonic() - run.started_at,
                                      message=failure.message, run_dir=run.run_dir,
                                      epochs_completed=run.epochs_completed)
        self._handle(run, event)

    def _check_stop_deadline(self) -> None:
        run = self._run
        if run is None or run.stop_asked_at is None:
            return
        if not self.engine.is_ready(run.job.role) and not run.seen_started:
            # The grace period is for stopping training, not for importing TensorFlow.
            self._stop_timer.start(int(self.stop_grace_s * 1000))
            return
        run.timed_out = True
        self.engine.kill(run.job.role)


def crash_event(what: str, run_dir: str | None, epochs_completed: int,
                exitcode: int | None = None, elapsed: float = 0.0) -> dict:
    """The `failed` event for a worker that ended without saying how: where the run stands
    on disk and whether it can be resumed. Marks the run folder as failed."""
    resume_epoch, status = None, None
    if run_dir:
        folder = RunFolder(Path(run_dir))
        try:
            resume_epoch = folder.resume_epoch()
            status = folder.status()
        except (ProjectError, OSError, ValueError, TypeError):
            pass
    resumable = bool(resume_epoch)
    if resumable:
        advice = (f" The run was saved after epoch {resume_epoch}: resume it to continue "
                  f"from epoch {resume_epoch}.")
    elif run_dir:
        advice = " No epoch was saved, so there is nothing to resume: start the training again."
    else:
        advice = " Training had not begun; start it again."
    message = what + advice
    if run_dir and status is not None and status.get("status") == RUNNING:
        try:  # the worker could not record how it ended: record it for the runs list
            RunFolder(Path(run_dir)).write_status({**status, "status": FAILED, "message": message})
        except (ProjectError, OSError):
            pass
    return {"type": events.FAILED, "time": round(elapsed, 4), "message": message,
            "run_dir": run_dir, "epochs_completed": epochs_completed, "resume_epoch": resume_epoch,
            "resumable": resumable, "crashed": True, "exitcode": exitcode}
