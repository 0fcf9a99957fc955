"""Training in a worker process, reported to the GUI as Qt signals.

The GUI process never imports TensorFlow/Keras (seconds to import, hundreds of MB, and a
crash in native code would take the app down). `EngineClient` starts one 'spawn' worker per
run; the worker calls `engine.training.session.run_training`, and every event it emits (a
plain dict; kernels and examples are NumPy arrays) travels back over a pipe. A QTimer drains
the pipe on the GUI thread without ever blocking on it and re-emits each event as a signal.

    client = EngineClient()
    client.epoch_ended.connect(...)            # every signal carries the event dict
    client.finished.connect(...)               # stopped / failed likewise
    client.state_changed.connect(...)          # "idle" "starting" "training" "paused" "stopping"
    client.start(spec, config, runs_root)      # or client.resume(run_dir)
    client.pause(); client.continue_training(); client.stop()

Exactly one terminal signal (finished, stopped or failed) follows each start()/resume(),
also when the worker dies (killed by the system for memory, a crash in native code): then
`failed` carries crashed=True and says from which epoch the run can be resumed.

This module must stay Keras-free at import time: `engine.training.session` is imported
only inside `_child_main`, which runs in the worker.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.errors import ProjectError
from engine.graph.spec import NetworkSpec
from engine.native_log import native_log_filter
from engine.training import events
from engine.training.config import TrainingConfig
from engine.training.runs import FAILED, RUNNING, RunFolder

IDLE, STARTING, TRAINING, PAUSED, STOPPING = "idle", "starting", "training", "paused", "stopping"

POLL_INTERVAL_MS = 30
MAX_EVENTS_PER_TICK = 200     # the GUI thread reads at most this many events per tick ...
MAX_DRAIN_SECONDS = 0.015     # ... or for this long; the rest waits for the next tick
KEEP_BATCHES_PER_DRAIN = 3    # of a run of batch_ended events read together, only the newest few
STOP_GRACE_S = 15.0           # stop(): a worker still running this long after it is ended
EXIT_GRACE_S = 10.0           # a worker still alive this long after its terminal event is killed
_PARENT_CHECK_S = 1.0

_SIGNAL_FOR_EVENT = {
    events.STARTED: "started",
    events.BATCH_ENDED: "batch_ended",
    events.EPOCH_ENDED: "epoch_ended",
    events.FILTERS_SNAPSHOT: "filters_snapshot",
    events.FINISHED: "finished",
    events.STOPPED: "stopped",
    events.FAILED: "failed",
}


# -- the worker side (runs in the spawned process) ----------------------------------------------

def _child_main(job: dict, connection, stop_event, pause_event) -> None:
    """Run one training (job: plain data, see EngineClient._spawn) and send its events."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    # Ctrl+C in the terminal that started the app reaches the worker too: the GUI decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    outbox: queue.Queue = queue.Queue()
    sender = threading.Thread(target=_send_events, args=(outbox, connection, stop_event),
                              name="event-sender", daemon=True)
    sender.start()
    threading.Thread(target=_stop_when_parent_dies, args=(stop_event,), name="parent-watch",
                     daemon=True).start()
    try:
        _train(job, outbox.put, stop_event.is_set, pause_event.is_set)
    except BaseException as error:  # a bug or an environment problem: report, keep the trace
        traceback.print_exc()
        outbox.put(events.make_event(
            events.FAILED, 0.0, epochs_completed=0, run_dir=job.get("resume_dir"),
            message=f"Unexpected error in the training process: {type(error).__name__}: {error}"))
    finally:
        outbox.put(None)
        sender.join()  # everything emitted is in the pipe before this process exits
        connection.close()


def _train(job: dict, emit, should_stop, should_pause) -> None:
    if should_stop():  # stopped while this process was starting: nothing was done yet
        emit(events.make_event(events.STOPPED, 0.0, epochs_completed=0, resume_epoch=0,
                               run_dir=job.get("resume_dir"), resumable=False,
                               message="Stopped before training began."))
        return
    from engine.training.session import run_training

    with native_log_filter():
        _load_keras()

    if job.get("resume_dir"):
        folder = RunFolder(Path(job["resume_dir"]))
        try:
            spec, config = folder.spec(), folder.config()
        except (ProjectError, OSError, ValueError) as error:
            emit(events.make_event(events.FAILED, 0.0, epochs_completed=0, run_dir=None,
                                   message=f"Cannot resume {folder.path}: {error}"))
            return
        run_training(spec, config, emit, should_stop, should_pause, resume_dir=folder.path)
    else:
        run_training(NetworkSpec.from_dict(job["spec"]), TrainingConfig.from_dict(job["config"]),
                     emit, should_stop, should_pause, runs_root=job["runs_root"],
                     name=job.get("name"))


def _load_keras() -> None:
    """Import Keras and find the devices now, while native start-up chatter is filtered."""
    try:
        from engine.training.devices import list_devices

        list_devices()
    except Exception:  # noqa: BLE001 - run_training meets the same problem and reports it
        pass


def _send_events(outbox: queue.Queue, connection, stop_event) -> None:
    """Send events from a thread, so a slow reader never holds training up (as mp.Queue)."""
    while True:
        event = outbox.get()
        if event is None:
            return
        try:
            connection.send(event)
        except OSError:  # the GUI is gone: stop cleanly (the run folder stays resumable)
            stop_event.set()
            return
        except Exception:  # an event that cannot be pickled: a bug; keep going without it
            traceback.print_exc()


def _stop_when_parent_dies(stop_event) -> None:
    parent = multiprocessing.parent_process()
    while parent is not None:
        time.sleep(_PARENT_CHECK_S)
        if not parent.is_alive():
            stop_event.set()
            return


# -- the GUI side -----------------------------------------------------------------------------

def describe_exit(exitcode: int | None) -> str:
    """'killed by signal 9 (SIGKILL)', 'exit code 1'."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class _Worker:
    """One worker process and what the GUI learned from its events."""

    def __init__(self, process, connection, stop_event, pause_event, run_dir: str | None):
        self.process = process
        self.connection = connection
        self.stop_event = stop_event
        self.pause_event = pause_event
        self.run_dir = run_dir
        self.started_at = time.monotonic()
        self.seen_started = False
        self.epochs_completed = 0
        self.stop_deadline: float | None = None
        self.eof = False


class EngineClient(QObject):
    """Owns at most one training worker; its events come back as signals (dicts)."""

    started = Signal(object)
    batch_ended = Signal(object)
    epoch_ended = Signal(object)
    filters_snapshot = Signal(object)
    finished = Signal(object)
    stopped = Signal(object)
    failed = Signal(object)
    event_received = Signal(object)   # every event, before its own signal
    state_changed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.stop_grace_s = STOP_GRACE_S
        self.exit_grace_s = EXIT_GRACE_S
        self.max_events_per_tick = MAX_EVENTS_PER_TICK
        self.max_drain_seconds = MAX_DRAIN_SECONDS
        self.keep_batches_per_drain = KEEP_BATCHES_PER_DRAIN
        self.last_run_dir: str | None = None
        self.last_start_seconds: float | None = None  # start() to the started event
        self._state = IDLE
        self._worker: _Worker | None = None
        self._exiting: list = []  # (process, kill time): done or abandoned, to be reaped
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)

    # -- commands ---------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def pid(self) -> int | None:
        return self._worker.process.pid if self._worker else None

    def is_running(self) -> bool:
        return self._worker is not None

    def start(self, spec: NetworkSpec, config: TrainingConfig, runs_root: str | Path,
              name: str | None = None) -> None:
        """Train `spec` in a new worker; runs go under runs_root. Returns at once."""
        self._spawn({"spec": spec.to_dict(), "config": config.to_dict(),
                     "runs_root": str(Path(runs_root)), "name": name}, run_dir=None)

    def resume(self, run_dir: str | Path) -> None:
        """Continue a stopped, failed or crashed run from its last completed epoch."""
        self._spawn({"resume_dir": str(Path(run_dir))}, run_dir=str(Path(run_dir)))

    def pause(self) -> None:
        """Training waits before its next batch (the one in flight completes)."""
        if self._worker is None or self._state not in (STARTING, TRAINING):
            return
        self._worker.pause_event.set()
        self._set_state(PAUSED)

    def continue_training(self) -> None:
        if self._worker is None or self._state != PAUSED:
            return
        self._worker.pause_event.clear()
        self._set_state(TRAINING if self._worker.seen_started else STARTING)

    def stop(self) -> None:
        """Ask the worker to stop after the current batch; it saves the run and a `stopped`
        signal follows. A worker still running stop_grace_s later is ended (`failed`)."""
        worker = self._worker
        if worker is None or worker.stop_event.is_set():
            return
        worker.stop_event.set()
        worker.stop_deadline = time.monotonic() + self.stop_grace_s
        self._set_state(STOPPING)

    def kill(self) -> None:
        """End the worker at once (SIGKILL); `failed` (crashed=True) follows, as for a crash."""
        if self._worker is not None and self._worker.process.is_alive():
            self._worker.process.kill()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """For quitting the app: stop the run, wait up to timeout_s (this blocks), then kill.
        No signal follows. Completed epochs stay on disk and can be resumed later."""
        worker = self._worker
        if worker is not None:
            worker.stop_event.set()
            worker.pause_event.clear()
            worker.process.join(timeout_s)
            self._retire(worker)
            self._set_state(IDLE)
        for process, _ in self._exiting:
            if process.is_alive():
                process.kill()
            process.join(1.0)
        self._exiting = []
        self._timer.stop()

    # -- the worker ---------------------------------------------------------------------------
    def _spawn(self, job: dict, run_dir: str | None) -> None:
        if self._worker is not None:
            raise RuntimeError("A training run is already in progress; stop it first.")
        context = multiprocessing.get_context("spawn")
        reader, writer = context.Pipe(duplex=False)
        stop_event, pause_event = context.Event(), context.Event()
        process = context.Process(target=_child_main, args=(job, writer, stop_event, pause_event),
                                  name="cnn-studio-training", daemon=True)  # dies with the app
        process.start()
        # Only the worker holds the write end now: when it dies, reading ends (EOF) instead of
        # waiting forever for the rest of a half-written event.
        writer.close()
        self._worker = _Worker(process, reader, stop_event, pause_event, run_dir)
        self.last_run_dir = run_dir
        self.last_start_seconds = None
        self._set_state(STARTING)
        self._timer.start()

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def _poll(self) -> None:
        self._reap_exiting()
        worker = self._worker
        if worker is None:
            if not self._exiting:
                self._timer.stop()
            return
        # Read the exit code before the pipe: once the worker has exited, everything it sent
        # is in the pipe, so "exited and nothing left to read" means it died without a word.
        exitcode = worker.process.exitcode
        drained_all = self._drain(worker)
        if self._worker is not worker:
            return  # a terminal event (or a handler) ended this worker
        if exitcode is not None and drained_all:
            self._worker_died(worker, exitcode)
        elif worker.stop_deadline is not None and time.monotonic() > worker.stop_deadline:
            self._stop_timed_out(worker)

    def _drain(self, worker: _Worker) -> bool:
        """Read what the worker sent, within this tick's budget, and re-emit it. True when
        nothing is left to read."""
        batch: list[dict] = []
        deadline = time.perf_counter() + self.max_drain_seconds
        drained_all = False
        while len(batch) < self.max_events_per_tick and time.perf_counter() < deadline:
            if worker.eof:
                drained_all = True
                break
            try:
                if not worker.connection.poll(0):
                    drained_all = True
                    break
                event = worker.connection.recv()
            except (EOFError, OSError):
                worker.eof = True  # the worker closed its end (it exited or is exiting)
                continue
            batch.append(event)
            if isinstance(event, dict) and event.get("type") in events.TERMINAL:
                drained_all = True
                break
        for event in self._coalesce(batch):
            if self._worker is not worker:
                break  # a handler stopped following this worker (kill, shutdown, ...)
            self._handle(worker, event)
        return drained_all

    def _coalesce(self, batch: list[dict]) -> list[dict]:
        """Of each run of consecutive batch_ended events, keep only the newest few."""
        keep = self.keep_batches_per_drain
        if not keep or len(batch) <= keep:
            return batch
        kept, run = [], []
        for event in batch:
            if isinstance(event, dict) and event.get("type") == events.BATCH_ENDED:
                run.append(event)
                continue
            kept.extend(run[-keep:])
            run = []
            kept.append(event)
        kept.extend(run[-keep:])
        return kept

    def _handle(self, worker: _Worker, event) -> None:
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == events.STARTED:
            worker.seen_started = True
            worker.run_dir = event.get("run_dir") or worker.run_dir
            worker.epochs_completed = int(event.get("initial_epoch") or 0)
            self.last_run_dir = worker.run_dir
            self.last_start_seconds = time.monotonic() - worker.started_at
            if self._state == STARTING:
                self._set_state(TRAINING)
            elif self._state == STOPPING and worker.stop_deadline is not None:
                # The grace period is for stopping training, not for importing TensorFlow.
                worker.stop_deadline = max(worker.stop_deadline,
                                           time.monotonic() + self.stop_grace_s)
        elif kind == events.EPOCH_ENDED:
            worker.epochs_completed = int(event.get("epoch") or worker.epochs_completed)
        elif kind in events.TERMINAL:
            if "run_dir" in event:
                self.last_run_dir = event.get("run_dir")
            self._retire(worker)
            self._set_state(IDLE)
        self.event_received.emit(event)
        name = _SIGNAL_FOR_EVENT.get(kind)
        if name is not None:
            getattr(self, name).emit(event)

    def _worker_died(self, worker: _Worker, exitcode: int) -> None:
        self._retire(worker)
        what = f"The training process stopped unexpectedly ({describe_exit(exitcode)})."
        if exitcode == -getattr(signal, "SIGKILL", 9):
            what += " The system may have run out of memory."
        self._fail_abnormally(worker, what, exitcode)

    def _stop_timed_out(self, worker: _Worker) -> None:
        worker.process.terminate()
        self._retire(worker)
        self._fail_abnormally(worker, f"The training process did not stop within "
                                      f"{self.stop_grace_s:g} s and was ended.",
                              -int(getattr(signal, "SIGTERM", 15)))

    def _fail_abnormally(self, worker: _Worker, what: str, exitcode: int | None) -> None:
        event = crash_event(what, worker.run_dir, worker.epochs_completed, exitcode,
                            elapsed=time.monotonic() - worker.started_at)
        self._set_state(IDLE)
        self.event_received.emit(event)
        self.failed.emit(event)

    def _retire(self, worker: _Worker) -> None:
        """Forget the worker; it is reaped once it has exited, without blocking the GUI while
        TensorFlow shuts down (and killed if it does not)."""
        if self._worker is worker:
            self._worker = None
        try:
            worker.connection.close()
        except OSError:
            pass
        self._exiting.append((worker.process, time.monotonic() + self.exit_grace_s))

    def _reap_exiting(self) -> None:
        still = []
        for process, kill_at in self._exiting:
            if process.is_alive():  # is_alive() also reaps an exited worker
                if time.monotonic() > kill_at:
                    process.kill()  # stuck in native code: the app must not wait for it
                still.append((process, kill_at))
            else:
                process.join(timeout=0)
        self._exiting = still


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
