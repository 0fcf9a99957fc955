"""Keras work (export to .keras or a script, import of a .keras file) in a worker process.

The GUI process never imports TensorFlow/Keras: it costs seconds and hundreds of MB, and a
crash in native code would take the app down with it. So the work runs in a fresh 'spawn'
process; only plain data crosses the boundary (a spec dict and path strings in, a spec
dict or a path string or an error message out).

This module must stay Keras-free at import time: `engine.export` / `engine.importer` are
imported only inside `_child_main`, which runs in the worker.

The app's entry script must guard its start with `if __name__ == "__main__":` (spawn
re-imports it in the worker) and, when frozen with PyInstaller, call
`multiprocessing.freeze_support()` first.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine.errors import ProjectError
from engine.graph.spec import NetworkSpec

POLL_INTERVAL_MS = 50
SHUTDOWN_GRACE_S = 10  # a worker still alive this long after answering or cancel() is killed

# kind -> the keyword arguments it needs
TASK_ARGUMENTS = {
    "export_keras": ("spec", "path"),
    "export_python": ("spec", "path"),
    "import_keras": ("path",),
    # the Features lab (desktop/panels/lab.py): engine.inspection / engine.features on a run
    "lab_run_images": ("run_dir", "split", "count"),
    "lab_feature_maps": ("run_dir", "layer_name", "image"),
    "lab_excite": ("run_dir", "layer_name", "filters", "image", "class_index"),
    "lab_histograms": ("run_dir",),
    "lab_compare": ("run_dir",),
    "lab_shift": ("run_dir", "image", "max_shift"),
    "lab_embedding": ("run_dir",),
}
# arguments that are file or folder paths (sent as strings); the rest cross as they are
PATH_ARGUMENTS = {"path", "run_dir"}


# -- the worker side (runs in the spawned process) ----------------------------------------------

def _child_main(kind: str, arguments: dict, results) -> None:
    """Do one task and put ("ok", result) or ("error", message) on `results`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported
    # cancel() sends SIGTERM: exit through Python so the engine removes its temporary file.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        results.put(("ok", _run_task(kind, arguments)))
    except ProjectError as error:
        results.put(("error", str(error)))
    except Exception as error:  # a bug or an environment problem: keep the trace for a report
        traceback.print_exc()
        results.put(("error", f"Unexpected error in the worker: {type(error).__name__}: {error}"))


def _run_task(kind: str, arguments: dict) -> Any:
    if kind == "export_keras":
        from engine.export import export_keras
        export_keras(NetworkSpec.from_dict(arguments["spec"]), arguments["path"])
        return arguments["path"]
    if kind == "export_python":
        from engine.export import export_python
        export_python(NetworkSpec.from_dict(arguments["spec"]), arguments["path"])
        return arguments["path"]
    if kind == "import_keras":
        from engine.importer import import_keras_file
        return import_keras_file(arguments["path"]).to_dict()
    if kind.startswith("lab_"):
        return _run_lab_task(kind, arguments)
    raise ValueError(f"unknown task {kind!r}")


def _run_lab_task(kind: str, arguments: dict) -> Any:
    """The Features lab's tasks: one per user action, so one TensorFlow start each."""
    from engine import inspection
    run_dir = arguments["run_dir"]
    if kind == "lab_run_images":
        result = dict(inspection.run_images(run_dir, split=arguments["split"],
                                            count=arguments["count"]))
        shape = tuple(result["images"].shape[1:])
        result["photos"] = inspection.sample_photos(shape)
        result["layers"] = inspection.layer_names(run_dir)
        return result
    if kind == "lab_feature_maps":
        return inspection.feature_maps(run_dir, arguments["layer_name"], arguments["image"])
    if kind == "lab_excite":
        return {"patterns": inspection.activation_maximization(run_dir, arguments["layer_name"],
                                                               arguments["filters"]),
                "gradcam": inspection.gradcam(run_dir, arguments["image"],
                                              class_index=arguments["class_index"])}
    if kind == "lab_histograms":
        return inspection.weight_histograms(run_dir)
    if kind == "lab_compare":
        from engine.features import compare_run
        return compare_run(run_dir)
    if kind == "lab_shift":
        return inspection.shift_experiment(run_dir, arguments["image"],
                                           max_shift=arguments["max_shift"])
    if kind == "lab_embedding":
        return inspection.embedding(run_dir)
    raise ValueError(f"unknown task {kind!r}")


# -- the GUI side -----------------------------------------------------------------------------

def plain_arguments(kind: str, arguments: dict) -> dict:
    """Check a task's arguments and turn them into plain data (a spec becomes its dict)."""
    if kind not in TASK_ARGUMENTS:
        raise ValueError(f"Unknown task {kind!r}; expected one of {', '.join(TASK_ARGUMENTS)}.")
    expected = set(TASK_ARGUMENTS[kind])
    if set(arguments) != expected:
        raise TypeError(f"{kind} takes {', '.join(sorted(expected))}; got "
                        f"{', '.join(sorted(arguments)) or 'nothing'}.")
    plain = {}
    for name, value in arguments.items():
        if name == "spec":
            plain[name] = value.to_dict() if isinstance(value, NetworkSpec) else dict(value)
        elif name in PATH_ARGUMENTS:
            plain[name] = str(Path(value))
        else:
            plain[name] = value  # plain data: numbers, strings, lists, numpy arrays
    return plain


def _spawn(kind: str, arguments: dict):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_child_main, args=(kind, arguments, results),
                              name=f"cnn-studio-{kind}", daemon=True)  # daemon: dies with the app
    process.start()
    return process, results


def _died_message(exitcode: int | None) -> str:
    return f"The worker stopped unexpectedly (exit code {exitcode})."


class EngineTask(QObject):
    """One task at a time in a worker process; the result comes back as a signal.

        task = EngineTask()
        task.finished.connect(...)   # import: a spec dict; exports: the output path (str)
        task.failed.connect(...)     # a message for the user
        task.start("export_keras", spec=document.spec, path="model.keras")
    """

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._process = None
        self._results = None
        self._exiting: list = []  # (worker, kill time): answered or cancelled, to be reaped
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)

    def start(self, kind: str, **arguments) -> None:
        if self.is_running():
            raise RuntimeError("An engine task is already running; wait for it or cancel it.")
        self._process, self._results = _spawn(kind, plain_arguments(kind, arguments))
        self._timer.start()

    def is_running(self) -> bool:
        return self._process is not None

    def cancel(self) -> None:
        """Stop the running task; no signal follows. An export is never left half-written:
        the engine writes a temporary file, which the worker removes as it stops."""
        if self._process is None:
            return
        self._process.terminate()
        self._retire()

    def _poll(self) -> None:
        self._reap_exited_workers()
        if self._process is None:
            return
        # Order matters: once the worker has exited, everything it sent is in the pipe,
        # so "exited and nothing to read" really means it died without an answer.
        exitcode = self._process.exitcode
        try:
            status, payload = self._results.get_nowait()
        except queue.Empty:
            if exitcode is not None:
                self._retire()
                self.failed.emit(_died_message(exitcode))
            return
        self._retire()
        if status == "ok":
            self.finished.emit(payload)
        else:
            self.failed.emit(payload)

    def _retire(self) -> None:
        """Forget the current worker; it is reaped once it has exited (without blocking the
        GUI while TensorFlow shuts down)."""
        self._exiting.append((self._process, time.monotonic() + SHUTDOWN_GRACE_S))
        self._process = None
        self._results.close()
        self._results = None

    def _reap_exited_workers(self) -> None:
        for process, kill_at in self._exiting:
            if process.is_alive() and time.monotonic() > kill_at:
                process.kill()  # stuck in native code: SIGTERM was not enough
        self._exiting = [(process, kill_at) for process, kill_at in self._exiting
                         if process.is_alive()]  # is_alive() also reaps an exited worker
        if self._process is None and not self._exiting:
            self._timer.stop()


def run_task(kind: str, timeout: float | None = None, **arguments) -> Any:
    """The blocking form (scripts, tests): the result, or ProjectError with the message."""
    process, results = _spawn(kind, plain_arguments(kind, arguments))
    deadline = None if timeout is None else time.monotonic() + timeout
    answer = None
    try:
        while answer is None:
            exitcode = process.exitcode  # read before the queue, as in EngineTask._poll
            try:
                answer = results.get(timeout=POLL_INTERVAL_MS / 1000)
            except queue.Empty:
                if exitcode is not None:
                    raise ProjectError(_died_message(exitcode)) from None
                if deadline is not None and time.monotonic() > deadline:
                    raise ProjectError(f"The worker did not answer within {timeout} s.") from None
    finally:
        if answer is None:
            process.terminate()
        process.join()
        results.close()
    status, payload = answer
    if status != "ok":
        raise ProjectError(payload)
    return payload
