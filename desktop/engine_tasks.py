"""One engine job at a time for a widget (export, import, a Features Lab view), as signals.

A thin view of `desktop.workers.Engine` for widgets that show one result at a time: start()
sends the job to the warm inspection worker (TensorFlow already loaded); a newer start()
supersedes the running one, whose answer is then dropped.

    task = EngineTask()
    task.finished.connect(...)   # the task's result: a spec dict, a path, arrays...
    task.failed.connect(...)     # a message for the user
    task.progress.connect(...)   # (message, fraction or None) while it runs
    task.start("export_keras", spec=document.spec, path="model.keras")

This module must stay Keras-free at import time.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.workers import Engine, Job, JobFailure, run_job, shared_engine

__all__ = ["EngineTask", "run_task"]


class EngineTask(QObject):
    finished = Signal(object)
    failed = Signal(str)
    progress = Signal(str, object)

    def __init__(self, parent: QObject | None = None, engine: Engine | None = None,
                 supersede: str | None = None):
        super().__init__(parent)
        self.engine = engine or shared_engine()
        self.supersede = supersede  # jobs of every task with this key replace each other
        self._job: Job | None = None

    def start(self, kind: str, **arguments) -> None:
        """Run `kind`; an earlier job of this task that has not answered yet is dropped."""
        self.cancel()
        job = self.engine.start(kind, arguments, supersede=self.supersede, owner=self,
                                on_done=lambda result: self._answer(job, self.finished, result),
                                on_error=lambda failure: self._answer(job, self.failed,
                                                                      _message(failure)),
                                on_progress=lambda message, fraction: self._answer(
                                    job, self.progress, message, fraction, last=False),
                                on_cancelled=lambda: self._answer(job, None))
        self._job = job

    def is_running(self) -> bool:
        return self._job is not None

    def cancel(self) -> None:
        """Drop the running job: no signal follows. An export is never left half-written
        (the engine writes a temporary file and renames it when done)."""
        job, self._job = self._job, None
        if job is not None:
            job.cancel()

    def _answer(self, job: Job, signal, *payload, last: bool = True) -> None:
        if job is not self._job:
            return
        if last:
            self._job = None
        if signal is not None:
            signal.emit(*payload)


def _message(failure: JobFailure) -> str:
    if failure.crashed:
        return f"{failure.message} A fresh engine process has started: try again."
    return failure.message


def run_task(kind: str, timeout: float | None = None, **arguments) -> Any:
    """The blocking form (scripts, tests): the result, or ProjectError with the message."""
    return run_job(kind, timeout=timeout, **arguments)
