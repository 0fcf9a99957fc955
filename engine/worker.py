"""A warm engine worker: a long-lived process that loads Keras once, then runs job after job.

`serve(connection, role, backend)` is the spawned process's entry point. It says Hello (the
protocol version) at once, loads Keras and warms up (`engine.tasks.warm_up`), says Ready (with
the Keras backend it really loaded), then runs the jobs it is sent, one at a time, in order.
Keras picks its backend when it is first imported, so a worker is of one backend for its
whole life: `backend` sets KERAS_BACKEND before that import (None keeps the environment's),
and a training job whose settings ask for another backend is refused with a message.

A reader thread takes messages while a job runs, so stop / pause / cancel reach a running job
and a newer job can supersede a queued one; a sender thread writes outgoing messages, so a
slow app never holds training up. When the app goes away (the pipe closes), running work is
stopped and the process exits.

Qt-free: this runs in the worker, and in tests without a window.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
import traceback
from collections import deque

from engine import protocol
from engine.errors import ProjectError

_QUIT = object()
PARENT_CHECK_S = 1.0


class _Job:
    def __init__(self, submit: protocol.Submit, context):
        self.submit = submit
        self.context = context


class WorkerLoop:
    """The worker's state: the job queue, the running job, the outgoing messages."""

    def __init__(self, connection, role: str):
        self.connection = connection
        self.role = role
        self.backend: str | None = None  # the Keras backend, once warm
        self.outbox: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.waiting: deque[_Job] = deque()
        self.running: _Job | None = None
        self.wake = threading.Condition(self.lock)
        self.quitting = False

    # -- sending -----------------------------------------------------------------------------
    def send(self, message) -> None:
        self.outbox.put(protocol.encode(message))

    def _send_loop(self) -> None:
        while True:
            raw = self.outbox.get()
            if raw is _QUIT:
                return
            try:
                self.connection.send(raw)
            except OSError:  # the app is gone
                self._app_gone()
                return
            except Exception:  # a result that cannot be pickled: a bug; say so, keep going
                traceback.print_exc()
                job_id = raw[1].get("job_id")
                if job_id is not None and raw[0] == "Done":
                    self.connection.send(protocol.encode(protocol.Failed(
                        job_id, "The engine produced a result it cannot send back (a bug).")))

    # -- receiving ---------------------------------------------------------------------------
    def _receive_loop(self) -> None:
        while True:
            try:
                message = protocol.decode(self.connection.recv())
            except (EOFError, OSError):
                self._app_gone()
                return
            except protocol.ProtocolError:
                traceback.print_exc()
                continue
            if isinstance(message, protocol.Quit):
                self._quit()
                return
            if isinstance(message, protocol.Submit):
                self._enqueue(message)
            elif isinstance(message, protocol.Control):
                self._control(message)

    def _enqueue(self, submit: protocol.Submit) -> None:
        from engine.tasks import JobContext

        job_id = submit.job_id
        context = JobContext(
            send_progress=lambda message, fraction: self.send(
                protocol.Progress(job_id, message, fraction)),
            send_event=lambda event: self.send(protocol.Event(job_id, event)))
        with self.lock:
            if submit.supersede is not None:
                for old in [job for job in self.waiting if job.submit.supersede == submit.supersede]:
                    self.waiting.remove(old)
                    self.send(protocol.Cancelled(old.submit.job_id))
            self.waiting.append(_Job(submit, context))
            self.wake.notify()

    def _control(self, control: protocol.Control) -> None:
        with self.lock:
            queued = next((job for job in self.waiting if job.submit.job_id == control.job_id), None)
            if queued is not None and control.action in (protocol.CANCEL, protocol.STOP):
                self.waiting.remove(queued)
                if control.action == protocol.CANCEL:
                    self.send(protocol.Cancelled(control.job_id))
                    return
                # A stop before the run began still answers as a run does (stopped).
                queued.context.stop_requested.set()
                self.waiting.appendleft(queued)
                return
            job = queued or self.running
            if job is None or job.submit.job_id != control.job_id:
                return  # finished meanwhile
            context = job.context
        if control.action == protocol.STOP:
            context.stop_requested.set()
        elif control.action == protocol.CANCEL:
            context.cancel_requested.set()
        elif control.action == protocol.PAUSE:
            context.pause_requested.set()
        elif control.action == protocol.CONTINUE:
            context.pause_requested.clear()

    def _watch_parent(self) -> None:
        """The pipe's EOF says the app is gone; this also covers an app killed so abruptly
        that something else still holds its end of the pipe."""
        import multiprocessing

        parent = multiprocessing.parent_process()
        while parent is not None and not self.quitting:
            time.sleep(PARENT_CHECK_S)
            if not parent.is_alive():
                self._app_gone()
                return

    def _app_gone(self) -> None:
        """Stop what runs (a run stays resumable) and let the main loop end."""
        with self.lock:
            if self.running is not None:
                self.running.context.stop_requested.set()
            self.waiting.clear()
        self._quit()

    def _quit(self) -> None:
        with self.lock:
            self.quitting = True
            self.wake.notify()

    # -- running -----------------------------------------------------------------------------
    def next_job(self) -> _Job | None:
        with self.lock:
            while not self.waiting and not self.quitting:
                self.wake.wait()
            if self.quitting and not self.waiting:
                return None
            self.running = self.waiting.popleft()
            return self.running

    def run(self, job: _Job) -> None:
        from engine.tasks import TASKS

        submit = job.submit
        try:
            task = TASKS.get(submit.kind)
            if task is None:
                raise ProjectError(f"This engine has no task {submit.kind!r}.")
            self._check_backend(submit)
            result = task.run(job.context, **submit.arguments)
            reply = (protocol.Cancelled(submit.job_id) if job.context.cancel_requested.is_set()
                     else protocol.Done(submit.job_id, result))
        except ProjectError as error:
            reply = protocol.Failed(submit.job_id, str(error))
        except Exception as error:  # noqa: BLE001 - a bug or an environment problem: keep the trace
            traceback.print_exc()
            reply = protocol.Failed(submit.job_id, f"Unexpected error in the engine: "
                                                   f"{type(error).__name__}: {error}")
        with self.lock:
            self.running = None
        self.send(reply)

    def _check_backend(self, submit: protocol.Submit) -> None:
        """A run trains on the backend its settings name, or not at all: a worker cannot
        change its Keras backend (the app sends each run to a worker of its backend)."""
        wanted = _job_backend(submit)
        if wanted is not None and self.backend is not None and wanted != self.backend:
            raise ProjectError(f"This run's settings ask for the {wanted} backend, but this "
                               f"training process runs Keras on {self.backend}.")


def _job_backend(submit: protocol.Submit) -> str | None:
    """The backend a training job's settings name (a resumed run's: its config.json)."""
    if submit.kind == "train":
        config = submit.arguments.get("config")
        return config.get("backend", "tensorflow") if isinstance(config, dict) else None
    if submit.kind == "resume":
        from engine.training.backends import run_backend

        return run_backend(submit.arguments.get("run_dir"))
    return None


def serve(connection, role: str = "inspection", backend: str | None = None) -> None:
    """The worker process: Hello, warm up, Ready, then jobs until Quit or the app goes away.
    `backend`: the Keras backend to load ("tensorflow", "jax"); None keeps KERAS_BACKEND."""
    if backend is not None:
        os.environ["KERAS_BACKEND"] = backend  # before Keras is first imported, below
    if os.environ.get("KERAS_BACKEND") == "jax":
        # JAX takes 75% of a GPU's memory up front by default; the TensorFlow workers beside
        # this one need theirs: take it as it is needed instead.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    # Ctrl+C in the terminal that started the app reaches the worker too: the app decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loop = WorkerLoop(connection, role)
    sender = threading.Thread(target=loop._send_loop, name="sender", daemon=True)
    sender.start()
    loop.send(protocol.Hello(protocol.PROTOCOL_VERSION, os.getpid(), role))
    threading.Thread(target=loop._receive_loop, name="receiver", daemon=True).start()
    threading.Thread(target=loop._watch_parent, name="parent-watch", daemon=True).start()
    started = time.perf_counter()
    try:
        from engine.tasks import warm_up

        loop.backend = warm_up(role)
        loop.send(protocol.Ready(loop.backend, round(time.perf_counter() - started, 3)))
        while (job := loop.next_job()) is not None:
            loop.run(job)
    finally:
        loop.outbox.put(_QUIT)
        sender.join(timeout=10)
        connection.close()
