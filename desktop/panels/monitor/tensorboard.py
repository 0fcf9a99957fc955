"""The "Open in TensorBoard" button: starts (or reuses) a TensorBoard on the run shown, off
the GUI thread, then opens the browser. One launcher for the whole application."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QPushButton, QWidget

from engine.errors import ProjectError
from engine.tensorboard_launcher import TensorBoardLauncher

_launcher: TensorBoardLauncher | None = None


def launcher() -> TensorBoardLauncher:
    global _launcher
    if _launcher is None:
        _launcher = TensorBoardLauncher()
    return _launcher


def shutdown_tensorboard() -> None:
    """End every TensorBoard the application started (the window calls it at quit)."""
    if _launcher is not None:
        _launcher.shutdown()


class _Answer(QObject):
    """Carries the worker thread's answer to the GUI thread (a queued signal)."""
    arrived = Signal(str, str)  # (url, error message)


class TensorBoardButton(QPushButton):
    """Opens the run folder set with `set_run_dir` in TensorBoard; `message` says what
    happens ("Starting TensorBoard…", the address, or why it cannot)."""

    message = Signal(str, bool)   # (text, is an error)
    opened = Signal(str)          # the address shown in the browser

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Open in TensorBoard", parent)
        self._run_dir: str | None = None
        self._busy = False
        self._answer = _Answer(self)
        self._answer.arrived.connect(self._arrived)
        self.clicked.connect(self.open_run)
        self.set_run_dir(None)

    def set_run_dir(self, run_dir: str | None) -> None:
        self._run_dir = str(run_dir) if run_dir else None
        self.setEnabled(self._run_dir is not None and not self._busy)
        self.setToolTip(f"TensorBoard on {self._run_dir}" if self._run_dir else
                        "TensorBoard shows a run once it has a run folder (train or open one).")

    def run_dir(self) -> str | None:
        return self._run_dir

    def open_run(self) -> None:
        if self._run_dir is None or self._busy:
            return
        self._busy = True
        self.setEnabled(False)
        self.message.emit("Starting TensorBoard…", False)
        run_dir, answer = self._run_dir, self._answer

        def start() -> None:
            try:
                url, error = launcher().open(run_dir), ""
            except ProjectError as problem:
                url, error = "", str(problem)
            try:
                answer.arrived.emit(url, error)
            except RuntimeError:  # the window closed meanwhile
                pass

        threading.Thread(target=start, name="tensorboard-start", daemon=True).start()

    def _arrived(self, url: str, error: str) -> None:
        self._busy = False
        self.set_run_dir(self._run_dir)
        if error:
            self.message.emit(error, True)
            return
        self.message.emit(f"TensorBoard: {url}", False)
        QDesktopServices.openUrl(QUrl(url))
        self.opened.emit(url)
