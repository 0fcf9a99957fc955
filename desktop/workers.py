"""The app's warm engine: worker processes that load Keras once and answer job after job.

The GUI process never imports TensorFlow/Keras (seconds to import, hundreds of MB, and a
crash in native code would take the window down). Two warm workers do that work instead:
"training" runs training jobs, "inspection" everything else (the Features Lab, export,
import), so the Lab stays usable during a run. They start right after the window's first
paint (`Engine.warm_up`), so TensorFlow loads while the user reads the canvas.

Keras picks its backend when a process first imports it, so the warm training worker is a
TensorFlow one. A run on another backend (JAX, `TrainingConfig.backend`) goes to a training
worker of its own, started with that backend the first time such a run starts (the window
says so while it loads) and then kept warm beside the TensorFlow one for the next run on that
backend: `engine.start("train", ..., backend="jax")`.

`WorkerProcess` is the one harness around a worker: spawn, pipe, the protocol's Hello (its
version checked), exit detection, grace-then-kill, reaping, the message a person reads when
it dies - and a fresh warm worker in its place. `Engine` is the one way to start long work,
the Orange way:

    job = engine.start("lab_feature_maps", dict(run_dir=..., layer_name=..., image=...),
                       on_done=show, on_error=lambda failure: say(failure.message),
                       on_progress=lambda message, fraction: ..., supersede="feature-maps")
    job.cancel()

Messages are read by a QTimer on the GUI thread without ever blocking on the pipe, and sent
by a thread, so neither a busy worker nor a large image holds the window up.
"""

from __future__ import annotations

import itertools
import multiprocessing
from concurrent.futures import Future, ThreadPoolExecutor
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from engine import protocol
from engine.tasks import TASKS, plain_arguments
from engine.training.backends import BACKEND_TITLES, DEFAULT_BACKEND, unavailable_reason

TRAINING, INSPECTION = "training", "inspection"
ROLES = (TRAINING, INSPECTION)
HERE = "here"  # Keras-free tasks on a thread of this process (the dataset preview)
NOT_STARTED, STARTING, READY, DEAD = "not started", "starting", "ready", "dead"

POLL_INTERVAL_MS = 30
MAX_MESSAGES_PER_TICK = 200   # the GUI thread reads at most this many messages per tick ...
MAX_DRAIN_SECONDS = 0.015     # ... or for this long; the rest waits for the next tick
HELLO_TIMEOUT_S = 60.0        # a spawned worker that has not introduced itself by then is ended
QUIT_GRACE_S = 3.0            # a worker asked to quit and still alive this long later is killed
RESTART_LIMIT = 5             # deaths within RESTART_WINDOW_S after which no new worker starts
RESTART_WINDOW_S = 60.0


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


def death_message(role: str, exitcode: int | None) -> str:
    what = f"The {role} process stopped unexpectedly ({describe_exit(exitcode)})."
    if exitcode == -getattr(signal, "SIGKILL", 9):
        what += " The system may have run out of memory."
    return what


@dataclass(frozen=True)
class JobFailure:
    message: str                 # for the user: what happened and what to do
    crashed: bool = False        # the worker died (or was ended) while the job was in it
    exitcode: int | None = None


class WorkerProcess(QObject):
    """One warm worker process. Messages other than Hello/Ready come out as `received`."""

    state_changed = Signal(str)
    ready = Signal()
    received = Signal(object)          # a protocol message (dataclass)
    died = Signal(str, object)         # the message a person reads, the exit code

    def __init__(self, role: str, parent: QObject | None = None,
                 target: Callable | None = None, backend: str | None = None):
        super().__init__(parent)
        self.role = role
        self.target = target  # tests start workers of other versions this way
        self.requested_backend = backend  # KERAS_BACKEND for the worker; None: the environment's
        # The Engine's name for it: "training" for the default backend, "training-jax", ...
        self.key = role if backend in (None, DEFAULT_BACKEND) else f"{role}-{backend}"
        self.title = role if self.key == role else f"{role} ({BACKEND_TITLES.get(backend, backend)})"
        self.state = NOT_STARTED
        self.backend: str | None = None   # the backend it really loaded (its Ready says)
        self.warm_seconds: float | None = None
        self.restart = True
        self.max_messages_per_tick = MAX_MESSAGES_PER_TICK
        self.max_drain_seconds = MAX_DRAIN_SECONDS
        self._process = None
        self._connection = None
        self._outbox: queue.Queue | None = None
        self._spawned_at = 0.0
        self._deaths: list[float] = []
        self._exiting: list = []  # (process, kill time): quit or abandoned, to be reaped
        self._refused: str | None = None  # a version mismatch: starting again would not help
        self._hello: protocol.Hello | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_alive(self) -> bool:
        return self._process is not None

    # -- starting and stopping ---------------------------------------------------------------
    def start(self) -> None:
        """Spawn the worker if none is running (it warms up by itself)."""
        if self._process is not None or self._refused:
            return
        arguments: tuple = ()
        if self.target is None:
            from engine.worker import serve
            target = serve
            arguments = () if self.requested_backend is None else (self.requested_backend,)
        else:
            target = self.target
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe(duplex=True)
        process = context.Process(target=target, args=(theirs, self.role, *arguments),
                                  name=f"cnn-studio-{self.key}", daemon=True)  # dies with the app
        process.start()
        # Only the worker holds its end now: when it dies, reading ends (EOF) instead of
        # waiting forever for the rest of a half-written message.
        theirs.close()
        self._process, self._connection = process, mine
        self._outbox = queue.Queue()
        threading.Thread(target=_send_loop, args=(self._outbox, mine), daemon=True,
                         name=f"{self.key}-sender").start()
        self._spawned_at = time.monotonic()
        self._set_state(STARTING)
        self._timer.start()

    def send(self, message) -> None:
        """Queue a protocol message; starts the worker if it is not running."""
        if self._process is None:
            self.start()
        if self._outbox is not None:
            self._outbox.put(protocol.encode(message))

    def kill(self) -> None:
        """End the worker at once (SIGKILL), as a crash would; `died` follows."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def shutdown(self, timeout_s: float = QUIT_GRACE_S) -> None:
        """Ask the worker to quit, wait up to timeout_s (this blocks), then kill it. Nothing
        is signalled and no new worker starts."""
        self.restart = False
        process = self._process
        if process is not None:
            self.send(protocol.Quit())
            process.join(timeout_s)
            self._forget(kill_after=0.0)
        for process, _ in self._exiting:
            if process.is_alive():
                process.kill()
            process.join(1.0)
        self._exiting = []
        self._timer.stop()
        self._set_state(NOT_STARTED)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # -- reading -----------------------------------------------------------------------------
    def _poll(self) -> None:
        self._reap_exiting()
        process = self._process
        if process is None:
            if not self._exiting:
                self._timer.stop()
            return
        # Read the exit code before the pipe: once the worker has exited, everything it sent
        # is in the pipe, so "exited and nothing left to read" means it died without a word.
        exitcode = process.exitcode
        drained_all = self._drain()
        if self._process is not process:
            return  # refused (another version) or ended by a handler
        if exitcode is not None and drained_all:
            self._worker_died(death_message(self.title, exitcode), exitcode)
        elif self._hello is None and time.monotonic() - self._spawned_at > HELLO_TIMEOUT_S:
            self._process.kill()
            self._worker_died(f"The {self.title} process did not start within "
                              f"{HELLO_TIMEOUT_S:g} s and was ended.", None)

    def _drain(self) -> bool:
        """Read what the worker sent within this tick's budget. True when nothing is left."""
        deadline = time.perf_counter() + self.max_drain_seconds
        count = 0
        while count < self.max_messages_per_tick and time.perf_counter() < deadline:
            connection = self._connection
            if connection is None:
                return True
            try:
                if not connection.poll(0):
                    return True
                raw = connection.recv()
            except (EOFError, OSError):
                return True  # the worker closed its end: it exited or is exiting
            count += 1
            try:
                message = protocol.decode(raw)
                if self._hello is None:
                    self._hello = protocol.check_hello(message)
                    continue
            except protocol.ProtocolError as error:
                self._refuse(str(error))
                return True
            if isinstance(message, protocol.Ready):
                wanted = self.requested_backend
                if wanted is not None and message.backend != wanted:
                    self._refuse(f"it loaded Keras with the {message.backend} backend instead "
                                 f"of {wanted}")
                    return True
                self.backend, self.warm_seconds = message.backend, message.seconds
                self._set_state(READY)
                self.ready.emit()
            else:
                self.received.emit(message)
        return False

    def _refuse(self, reason: str) -> None:
        """A worker that does not speak this app's protocol: end it and say why, once."""
        self._refused = f"Cannot use the {self.title} process: {reason}."
        if self._process is not None:
            self._process.kill()
        self._forget(kill_after=0.0)
        self._set_state(DEAD)
        self.died.emit(self._refused, None)

    def _worker_died(self, message: str, exitcode: int | None) -> None:
        self._forget(kill_after=0.0)
        self._set_state(DEAD)
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < RESTART_WINDOW_S] + [now]
        if len(self._deaths) >= RESTART_LIMIT:
            message += (f" It failed {RESTART_LIMIT} times within a minute, so no new one was "
                        "started; restart the app.")
            self.restart = False
        self.died.emit(message, exitcode)
        if self.restart:
            self.start()  # a fresh warm worker takes its place, unasked

    def _forget(self, kill_after: float) -> None:
        process, connection, outbox = self._process, self._connection, self._outbox
        self._process = self._connection = self._outbox = None
        self._hello = None
        self.warm_seconds = None
        if outbox is not None:
            outbox.put(None)
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass
        if process is not None:
            self._exiting.append((process, time.monotonic() + kill_after))

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

    def refused_reason(self) -> str | None:
        return self._refused


def _send_loop(outbox: queue.Queue, connection) -> None:
    while True:
        raw = outbox.get()
        if raw is None:
            return
        try:
            connection.send(raw)
        except (OSError, ValueError):  # the worker is gone: its death is reported by the poll
            return


class Job:
    """A job started with Engine.start: cancel it, or send it stop / pause / continue."""

    def __init__(self, engine: Engine, job_id: int, kind: str, role: str, callbacks: dict,
                 supersede: str | None = None, owner: QObject | None = None):
        self.engine = engine
        self.job_id = job_id
        self.kind = kind
        self.role = role
        self.callbacks = callbacks
        self.supersede = supersede
        self.owner = owner  # a widget whose deletion drops the job's answers
        self.done = False
        self.future: Future | None = None  # a job run HERE, on a thread

    def cancel(self) -> None:
        """No callback follows; the worker drops the job (or its result)."""
        if not self.done:
            self.done = True
            self.engine._control(self, protocol.CANCEL)

    def control(self, action: str) -> None:
        if not self.done:
            self.engine._control(self, action)

    def wait(self, timeout: float) -> None:
        """Block until a job run HERE has finished and its callback has run (tests and
        screenshots); a job in a worker is answered through the event loop instead."""
        if self.future is None:
            raise RuntimeError("Only a job that runs on a thread of this process can be waited for.")
        try:
            self.future.result(timeout)
        except Exception:  # noqa: BLE001 - its on_error callback reports it
            pass
        self.engine._finish_threads()

    def _call(self, name: str, *args) -> None:
        if self.owner is not None and not shiboken6.isValid(self.owner):
            self.cancel()  # its widget was deleted while it ran
            return
        callback = self.callbacks.get(name)
        if callback is not None:
            callback(*args)


class Engine(QObject):
    """The warm workers and the jobs in them: one place to start any Keras work."""

    worker_state_changed = Signal(str, str)   # role, state
    worker_died = Signal(str, str)            # role, message

    def __init__(self, parent: QObject | None = None, targets: dict | None = None):
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._threads: ThreadPoolExecutor | None = None
        self._thread_jobs: list[Job] = []
        self._thread_timer = QTimer(self)
        self._thread_timer.setInterval(POLL_INTERVAL_MS)
        self._thread_timer.timeout.connect(self._finish_threads)
        # By key: "training" (the default backend, TensorFlow), "inspection", and one
        # "training-<backend>" per other backend a run has asked for.
        self.workers: dict[str, WorkerProcess] = {}
        for role in ROLES:
            backend = DEFAULT_BACKEND if role == TRAINING else None
            self._add_worker(WorkerProcess(role, self, target=(targets or {}).get(role),
                                           backend=backend))

    def _add_worker(self, worker: WorkerProcess) -> WorkerProcess:
        key = worker.key
        worker.received.connect(self._received)
        worker.died.connect(lambda message, exitcode, key=key: self._died(key, message, exitcode))
        worker.state_changed.connect(lambda state, key=key: self.worker_state_changed.emit(key, state))
        self.workers[key] = worker
        return worker

    def training_worker(self, backend: str | None = None) -> WorkerProcess:
        """The training worker for a Keras backend (None: the default, TensorFlow); one for
        another backend is made (not started) the first time it is asked for, then kept."""
        if backend in (None, DEFAULT_BACKEND):
            return self.workers[TRAINING]
        known = self.workers.get(f"{TRAINING}-{backend}")
        return known or self._add_worker(WorkerProcess(TRAINING, self, backend=backend))

    def warm_up(self) -> None:
        """Start the workers now, so Keras loads while the user reads the canvas: training
        first (Train is what a user presses first), inspection once that one is ready - two
        TensorFlow imports at once would take twice as long each on a small machine. A job
        for a worker that has not started yet starts it at once."""
        for worker in self.workers.values():
            worker.restart = True
        training, inspection = self.workers[TRAINING], self.workers[INSPECTION]
        training.start()
        if training.state == READY:
            inspection.start()
        else:
            training.ready.connect(inspection.start, Qt.ConnectionType.SingleShotConnection)

    def is_ready(self, role: str) -> bool:
        return self.workers[role].state == READY

    def start(self, kind: str, arguments: dict | None = None, *, on_done=None, on_error=None,
              on_progress=None, on_event=None, on_cancelled=None, supersede: str | None = None,
              owner: QObject | None = None, backend: str | None = None) -> Job:
        """Run the task `kind` in its warm worker; the callbacks run on the GUI thread (none
        after `owner`, a widget, has been deleted). `backend`: for a training task, the Keras
        backend of the worker it runs in (None: the default); `job.role` names that worker.
        Raises ValueError/TypeError for an unknown task or wrong arguments (a bug)."""
        plain = plain_arguments(kind, dict(arguments or {}))
        role = TASKS[kind].worker
        unavailable = None
        if role == TRAINING and backend not in (None, DEFAULT_BACKEND):
            # Not installed: the job fails with the pip command; no process is started.
            unavailable = unavailable_reason(backend, in_app=True)
            if unavailable is None:
                role = self.training_worker(backend).key
        job = Job(self, next(self._ids), kind, role, {
            "done": on_done, "error": on_error, "progress": on_progress, "event": on_event,
            "cancelled": on_cancelled}, supersede, owner)
        if role == HERE:
            return self._start_here(job, plain)
        worker = self.workers[role]
        refused = unavailable or worker.refused_reason()
        if refused:
            job.done = True
            failure = JobFailure(refused, crashed=unavailable is None)
            QTimer.singleShot(0, lambda: job._call("error", failure))
            return job
        if supersede is not None:  # the older job's answer is not wanted any more
            for old in list(self._jobs.values()):
                if old.role == role and old.supersede == supersede:
                    old.done = True
                    self._jobs.pop(old.job_id, None)
        self._jobs[job.job_id] = job
        worker.send(protocol.Submit(job.job_id, kind, plain, supersede))
        return job

    def _start_here(self, job: Job, arguments: dict) -> Job:
        """Run a Keras-free task on this process's one background thread."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-here")
        from engine.tasks import run_task

        job.future = self._threads.submit(run_task, job.kind, None, **arguments)
        self._thread_jobs.append(job)
        self._thread_timer.start()
        return job

    def _finish_threads(self) -> None:
        """Callbacks of finished thread jobs, on the GUI thread."""
        from engine.errors import ProjectError

        for job in [j for j in self._thread_jobs if j.future.done()]:
            self._thread_jobs.remove(job)
            if job.done or job.future.cancelled():
                continue
            job.done = True
            error = job.future.exception()
            if error is None:
                job._call("done", job.future.result())
            elif isinstance(error, ProjectError):
                job._call("error", JobFailure(str(error)))
            else:
                job._call("error", JobFailure(f"Unexpected error: {type(error).__name__}: {error}"))
        if not self._thread_jobs:
            self._thread_timer.stop()

    def wait_for_threads(self, timeout: float = 60.0) -> None:
        """Let jobs on the background thread finish (their answers are then delivered)."""
        if self._threads is not None:
            self._threads.submit(lambda: None).result(timeout)
            self._finish_threads()

    def kill(self, role: str) -> None:
        self.workers[role].kill()

    def pid(self, role: str) -> int | None:
        return self.workers[role].pid

    def shutdown(self, timeout_s: float = QUIT_GRACE_S) -> None:
        """For quitting: running jobs are asked to stop, the workers to quit; this blocks up
        to about timeout_s per worker. No callback follows."""
        for job in list(self._jobs.values()):
            if job.kind in ("train", "resume"):
                self._control(job, protocol.STOP)
            job.done = True
        self._jobs.clear()
        for worker in self.workers.values():
            worker.shutdown(timeout_s)

    # -- messages ----------------------------------------------------------------------------
    def _control(self, job: Job, action: str) -> None:
        if job.future is not None:  # on a thread: only cancelling means anything
            if action == protocol.CANCEL:
                job.future.cancel()
            return
        if action == protocol.CANCEL:
            self._jobs.pop(job.job_id, None)
        worker = self.workers[job.role]
        if worker.is_alive():
            worker.send(protocol.Control(job.job_id, action))

    def _received(self, message) -> None:
        job = self._jobs.get(getattr(message, "job_id", None))
        if job is None or job.done:
            return  # cancelled or superseded: its answer is not wanted
        if isinstance(message, protocol.Progress):
            job._call("progress", message.message, message.fraction)
        elif isinstance(message, protocol.Event):
            job._call("event", message.event)
        elif isinstance(message, protocol.JOB_ENDINGS):
            job.done = True
            self._jobs.pop(job.job_id, None)
            if isinstance(message, protocol.Done):
                job._call("done", message.result)
            elif isinstance(message, protocol.Failed):
                job._call("error", JobFailure(message.message))
            else:
                job._call("cancelled")

    def _died(self, role: str, message: str, exitcode) -> None:
        """Every job the dead worker held fails with its message; the worker restarts itself."""
        self.worker_died.emit(role, message)
        for job in [j for j in self._jobs.values() if j.role == role]:
            job.done = True
            self._jobs.pop(job.job_id, None)
            job._call("error", JobFailure(message, crashed=True, exitcode=exitcode))


_shared: Engine | None = None


def shared_engine() -> Engine:
    """The app's engine (one per GUI process): panels and the window start jobs here."""
    global _shared
    if _shared is None:
        _shared = Engine()
    return _shared


def run_job(kind: str, timeout: float | None = None, engine: Engine | None = None, **arguments) -> Any:
    """The blocking form (scripts, benchmarks, tests): the result, or ProjectError with the
    message. Runs a Qt event loop while it waits."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    from engine.errors import ProjectError

    app = QCoreApplication.instance() or QCoreApplication([])
    engine = engine or shared_engine()
    answer: list = []
    loop = QEventLoop()

    def finish(outcome):
        answer.append(outcome)
        loop.quit()

    job = engine.start(kind, arguments, on_done=lambda result: finish(("ok", result)),
                       on_error=lambda failure: finish(("error", failure.message)),
                       on_cancelled=lambda: finish(("error", "The job was cancelled.")))
    if timeout is not None:
        QTimer.singleShot(int(timeout * 1000), lambda: answer or finish(("timeout", None)))
    if not answer:
        loop.exec()
    del app
    status, payload = answer[0]
    if status == "timeout":
        job.cancel()
        raise ProjectError(f"The engine did not answer within {timeout} s.")
    if status != "ok":
        raise ProjectError(payload)
    return payload
