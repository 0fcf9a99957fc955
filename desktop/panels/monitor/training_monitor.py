"""The live training view: a status line over three tabs (Curves, Gradients, Results), all
views over one RunHistory (desktop/models/run_history.py).

`handle_event(event)` takes any engine training event (engine/training/events.py). It only
appends to the history; a 100 ms single-shot timer redraws, so thousands of batch events
per second never block the GUI.

`show_run(history, metrics, examples, run_dir=None)` shows a finished run from disk
(RunFolder.history(), .metrics(), .examples()): the same plots without the per-batch
curves. A resumed run (a `started` event with initial_epoch > 0) shows its earlier epochs
from its run folder.

The status line says what the run is doing: `show_phase(message)` before the first epoch
starts ("Loading digits…", with a busy bar), `set_state(state)` with the training client's
state ("paused" and "stopping" are shown as such until training goes on), else the latest
event's progress (desktop/panels/monitor/status.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QProgressBar, QTabWidget, QVBoxLayout, QWidget

from desktop.models.run_history import RunHistory
from desktop.panels.inspector import severity_color
from desktop.panels.monitor.curves import CurvesView
from desktop.panels.monitor.gradients import GradientsView
from desktop.panels.monitor.results import ResultsView
from desktop.panels.monitor.status import RunStatus
from desktop.panels.monitor.tensorboard import shutdown_tensorboard
from desktop.style import ERROR_COLOR
from engine.errors import ProjectError
from engine.graph.validate import WARNING
from engine.training import events as ev
from engine.training.runs import RunFolder

REFRESH_MS = 100               # plots redraw at most this often


class TrainingMonitor(QWidget):
    """Live curves, gradient norms and results of one training run."""

    cell_selected = Signal(int, int)  # (true class, predicted class) of a clicked confusion cell

    CURVES_TAB, GRADIENTS_TAB, RESULTS_TAB = range(3)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = RunHistory()
        self.run_status = RunStatus(self.history)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh)
        self._dirty = True
        self._build()
        self.clear()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.status_label.font()
        font.setBold(True)
        self.status_label.setFont(font)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        # What the engine adjusted for this run (e.g. a batch larger than the dataset).
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_label.setStyleSheet(f"color: {severity_color(WARNING).name()};")
        self.notes_label.hide()
        # How the loop runs this network fast, and why (hover): the started event's `speed`.
        self.speed_label = QLabel()
        self.speed_label.setWordWrap(True)
        self.speed_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.speed_label.hide()
        layout.addWidget(self.status_label)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.speed_label)
        layout.addWidget(self.progress)

        self.curves_view = CurvesView()
        self.curves_view.history = self.history
        self.gradients_view = GradientsView()
        self.results_view = ResultsView()
        self.results_view.cell_selected.connect(self.cell_selected)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.curves_view, "Curves")
        self.tabs.addTab(self.gradients_view, "Gradients")
        self.tabs.addTab(self.results_view, "Results")
        layout.addWidget(self.tabs, 1)

    # -- public API ----------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget everything: empty plots, no results."""
        self._timer.stop()
        self.history.clear()
        self.run_status.clear()
        self.curves_view.reset_view()
        self.gradients_view.clear()
        self.results_view.clear()
        self._dirty = True
        self._refresh()

    def handle_event(self, event: dict) -> None:
        """Take one engine event; the plots follow within REFRESH_MS."""
        kind = event.get("type")
        if kind not in ev.SCHEMAS or kind == ev.FILTERS_SNAPSHOT:
            return
        if kind == ev.STARTED:
            self._start(event)
        self.history.add(event)
        self.run_status.add(event)
        if kind == ev.FINISHED:
            self.results_view.show_results(event, event.get("examples"))
        self._dirty = True
        if kind in ev.TERMINAL:  # the run is over: no more pausing or stopping to show
            self.set_state("idle")
        elif kind in (ev.STARTED, ev.PHASE):
            self.flush()
        elif not self._timer.isActive():
            self._timer.start()

    def _start(self, event: dict) -> None:
        initial = int(event.get("initial_epoch") or 0)
        if initial <= 0:
            self.clear()
            return
        # A resumed run: the curves show its whole history, from epoch 1.
        self.history.resume(initial, _saved_history(event.get("run_dir"), initial))
        self.results_view.clear()

    def show_run(self, history: list[dict], metrics: dict | None = None,
                 examples: dict | None = None, run_dir: str | None = None,
                 origin: str = "") -> None:
        """A run from disk: RunFolder.history(), .metrics(), .examples() (and its folder, for
        TensorBoard and as where exports go); origin: where its weights came from."""
        self.clear()
        self.history.load(history)
        self.history.run_dir = str(run_dir) if run_dir else None
        self.run_status.show_saved(metrics, origin)
        if metrics:
            self.results_view.show_results(metrics, examples)
        self._dirty = True
        self.flush()

    def flush(self) -> None:
        """Redraw now instead of at the next timer tick."""
        self._timer.stop()
        self._refresh()

    def show_phase(self, message: str) -> None:
        """What the run is doing before its first epoch ("Loading digits…", "Compiling…"),
        with a busy bar; the `started` event (or the run's end) replaces it."""
        self.run_status.show_phase(message)
        self._dirty = True
        self.flush()

    def set_state(self, state: str) -> None:
        """The training client's state: idle | starting | training | paused | stopping.
        Paused and stopping are shown in the status line until the run goes on or ends."""
        self.run_status.set_state(state)
        self._dirty = True
        self.flush()

    def shutdown(self) -> None:
        """End the TensorBoard servers started from here (call when the application quits)."""
        shutdown_tensorboard()

    @property
    def state(self) -> str:
        return self.run_status.state

    def best_epoch(self) -> int | None:
        return self.history.best_epoch()

    @property
    def batch_point_count(self) -> int:
        return self.history.batch_count

    @property
    def epoch_count(self) -> int:
        return len(self.history.epochs)

    def status_text(self) -> str:
        return self.run_status.text()

    def notes_text(self) -> str:
        """The engine's notes on the current run (what it adjusted), one per line."""
        return "\n".join(self.run_status.notes)

    def select_cell(self, true_class: int, predicted_class: int) -> None:
        """Show the gallery of one confusion-matrix cell (as a click on it does)."""
        self.results_view.confusion.select_cell(true_class, predicted_class)

    # -- drawing ----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        status = self.run_status
        self.status_label.setText(status.text())
        self.status_label.setStyleSheet(f"color: {ERROR_COLOR};" if status.is_error else "")
        maximum = 0 if status.busy() else 1000  # a moving bar while the run gets ready
        if self.progress.maximum() != maximum:
            self.progress.setRange(0, maximum)
        self.notes_label.setText(self.notes_text())
        self.notes_label.setVisible(bool(status.notes))
        self.speed_label.setText(status.speed)
        self.speed_label.setToolTip(status.speed_why)
        self.speed_label.setVisible(bool(status.speed))
        self.progress.setValue(round(1000 * min(max(status.progress, 0.0), 1.0)))
        self.curves_view.refresh()
        self.gradients_view.refresh(self.history)


def _saved_history(run_dir, epochs: int) -> list[dict]:
    """The first `epochs` completed epochs of a run folder; none if it cannot be read (the
    curves then start where the resumed run does)."""
    if not run_dir:
        return []
    try:
        history = RunFolder(run_dir).history()[:epochs]
    except (ProjectError, OSError, ValueError, TypeError, AttributeError):
        return []
    return [dict(record) for record in history if isinstance(record, dict)]
