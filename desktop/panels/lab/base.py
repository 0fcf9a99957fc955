"""What the Lab's tabs share: the empty-state hint, a muted status line, themed plots, a
titled box, and the base of every tab whose data comes from the inspection worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from desktop.engine_tasks import EngineTask
from desktop.plots import themed_plot

if TYPE_CHECKING:
    from desktop.panels.lab.features_lab import FeaturesLab

EMPTY_HINT = "Train a network (Train workspace, F5), or choose a trained run above, to inspect it."


class StatusLabel(QLabel):
    """A tab's one line (wrapping) of secondary text in the palette's muted colour;
    hidden while empty, so a tab showing results has no blank strip on top."""

    def __init__(self, text: str = EMPTY_HINT):
        super().__init__()
        self.setWordWrap(True)
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.setContentsMargins(2, 2, 2, 2)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        super().setText(text)
        self.setVisible(bool(text))


def lab_plot(title: str, left: str = "", bottom: str = "", minimum_height: int = 160,
             ) -> pg.PlotWidget:
    """A plot in the window's theme (re-styled when the palette changes)."""
    return themed_plot(title, left, bottom, grid=0.25, minimum_height=minimum_height)


def titled(title: str, widget: QWidget) -> QWidget:
    """The widget under a bold one-line title."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel(f"<b>{title}</b>"))
    layout.addWidget(widget, 1)
    return box


class WorkerTab(QWidget):
    """A tab whose data comes from one worker task per action; errors show inline.

    Each tab defines what it fills in: `load()` starts its task, `show_result(result)` shows
    the answer, `clear()` empties its views."""

    needs_image = False

    def __init__(self, lab: FeaturesLab):
        super().__init__()
        self.lab = lab
        # A newer request of this tab replaces one still waiting: no stale work queues up.
        self.task = EngineTask(self, supersede=f"lab:{type(self).__name__}")
        self.task.finished.connect(self._finished)
        self.task.failed.connect(self._failed)
        self.task.progress.connect(self._progressed)
        self.status = StatusLabel()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(8)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.busy)
        self.loaded_key = None
        self.result = None

    def key(self):
        return (self.lab.run_dir, self.lab.image_index if self.needs_image else None)

    def ensure_loaded(self) -> None:
        if self.lab.run_dir is None:
            self.clear()
            self.status.setText(EMPTY_HINT)
            return
        if self.needs_image and self.lab.current_image() is None:
            self.status.setText(self.lab.images_status)
            return
        if self.loaded_key != self.key():  # a job for other inputs is superseded by run()
            self.load()

    def run(self, kind: str, message: str, **arguments) -> None:
        if self.task.is_running():
            self.task.cancel()
        self.loaded_key = self.key()
        self.status.setText(message)
        self.busy.setRange(0, 0)  # busy until the task says how far it is
        self.busy.show()
        try:
            self.task.start(kind, run_dir=self.lab.run_dir, **arguments)
        except Exception as error:  # noqa: BLE001 - shown, never raised into Qt
            self._failed(str(error))

    def _progressed(self, message: str, fraction) -> None:
        self.status.setText(message)
        if fraction is not None:
            self.busy.setRange(0, 100)
            self.busy.setValue(int(100 * fraction))

    def _finished(self, result) -> None:
        self.busy.hide()
        self.result = result
        try:
            self.status.setText("")
            self.show_result(result)
        except Exception as error:  # noqa: BLE001 - an unexpected result shape: say so
            self.status.setText(f"Cannot show the result: {type(error).__name__}: {error}")

    def _failed(self, message: str) -> None:
        self.busy.hide()
        self.status.setText(f"⚠ {message}")

    def reset(self) -> None:
        if self.task.is_running():
            self.task.cancel()
        self.busy.hide()
        self.loaded_key = None
        self.result = None
        self.clear()
