"""The comparison half of the runs browser: the selected runs' validation accuracy and loss
per epoch (one colour per run) and their numbers side by side in a compare table.

Split from RunsPanel (desktop/panels/runs.py), which owns the list of runs and the actions
on them; this widget only reads each selected run's JSON files and shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QSplitter,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from engine.errors import ProjectError
from engine.graph.shapes import infer
from engine.training.progress import format_duration
from engine.training.runs import RunFolder, RunSummary
from desktop.formatting import MISSING, metric, percent
from desktop.models.run_history import RunHistory
from desktop.plots import add_legend, series_color, themed_plot

EMPTY_SELECTION_HINT = ("Select a run to see its validation accuracy and loss per epoch; "
                        "select several (Ctrl/Shift+click) to compare them.")


def percent_or_blank(value) -> str:
    return "" if value is None else percent(value)


def swatch(color: QColor) -> QIcon:
    """A small rounded square of a run's colour, for the table rows and compare headers."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(1, 1, 10, 10, 2, 2)
    painter.end()
    return QIcon(pixmap)


def run_label(summary: RunSummary) -> str:
    """A short name for legends: the run's name and when it started (MM-DD HH:MM)."""
    when = summary.started_at[5:16] if len(summary.started_at) >= 16 else ""
    return f"{summary.name} {when}".strip() or summary.path.name


def run_labels(runs: list[RunSummary]) -> list[str]:
    """Legend names: just the run names when they tell the runs apart, else with the time."""
    names = [run.name or run.path.name for run in runs]
    return names if len(set(names)) == len(names) else [run_label(run) for run in runs]


@dataclass
class RunDetails:
    """What the curves and the compare table show of one run (read on selection)."""

    history: list[dict]
    metrics: dict | None
    config: dict | None
    parameters: int | None
    problem: str = ""
    series: RunHistory = field(default_factory=RunHistory)  # the history as curves and numbers


def read_details(path: Path) -> RunDetails:
    """history, metrics, config and parameter count of one run; what cannot be read is
    left empty and named in `problem`."""
    folder = RunFolder(path)
    problems: list[str] = []

    def attempt(read, default):
        try:
            return read()
        except (ProjectError, OSError, AttributeError, TypeError, ValueError) as error:
            problems.append(str(error))
            return default

    history = attempt(folder.history, [])
    metrics = attempt(folder.metrics, None)
    config = attempt(lambda: folder.read_json("config.json"), None)
    parameters = attempt(lambda: infer(folder.spec()).total_params, None)
    history = [entry for entry in history if isinstance(entry, dict)]
    series = RunHistory(max_batch_points=2)  # from disk: epochs only
    series.load(history)
    return RunDetails(history=history, metrics=metrics if isinstance(metrics, dict) else None,
                      config=config if isinstance(config, dict) else None,
                      parameters=parameters, problem=" ".join(problems), series=series)


# The compare table's rows: a title and how to read it from a run's summary and details.
COMPARE_ROWS: tuple[tuple[str, Callable[[RunSummary, RunDetails], str]], ...] = (
    ("Status", lambda r, d: r.status),
    ("Dataset", lambda r, d: r.dataset),
    ("Weights", lambda r, d: r.origin or "trained from scratch"),
    ("Epochs", lambda r, d: "–" if r.imported else f"{r.epochs_completed}/{r.epochs_planned}"),
    ("Best val accuracy", lambda r, d: percent_or_blank(r.best_val_accuracy)),
    ("Best epoch", lambda r, d: str((d.metrics or {}).get("best_epoch")
                                    or d.series.best_epoch() or "")),
    ("Test accuracy", lambda r, d: percent_or_blank(r.test_accuracy)),
    ("Test loss", lambda r, d: _number((d.metrics or {}).get("test_loss"))),
    ("Last val loss", lambda r, d: _number(d.series.summary()["last_val_loss"])),
    ("Training time", lambda r, d: format_duration(r.training_time)
     if r.training_time is not None else ""),
    ("Samples/s", lambda r, d: f"{r.samples_per_second:,.0f}"
     if r.samples_per_second else ""),
    ("Parameters", lambda r, d: f"{d.parameters:,}" if d.parameters is not None else ""),
    ("Optimizer", lambda r, d: str((d.config or {}).get("optimizer", ""))),
    ("Learning rate", lambda r, d: _rate_text((d.config or {}).get("learning_rate"))),
    ("Schedule", lambda r, d: str((d.config or {}).get("schedule", ""))),
    ("Batch size", lambda r, d: str((d.config or {}).get("batch_size", ""))),
    ("Augmentation", lambda r, d: _augmentation_text((d.config or {}).get("augmentation"))),
    ("Seed", lambda r, d: str((d.config or {}).get("seed", ""))),
    ("Started", lambda r, d: r.started_at),
)


class RunComparison(QWidget):
    """Curves and compare table of the selected runs, or a hint when none is selected."""

    def __init__(self, fallback_width: Callable[[], int] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        # The compare table's share is sized from the splitter's width; before the splitter is
        # laid out that is 0, so the owner says which width to use instead.
        self._fallback_width = fallback_width or self.width
        self._details: dict[tuple, RunDetails] = {}  # (run folder, run.json mtime) -> details
        self.curves: list[pg.PlotDataItem] = []  # the plotted validation-accuracy curves

        self.accuracy_plot = themed_plot("Validation accuracy", "accuracy (%)", "epoch")
        self.loss_plot = themed_plot("Validation loss", "loss", "epoch")
        # Where curves seldom are: accuracy rises (top left is empty), loss falls (bottom left).
        self.accuracy_legend = add_legend(self.accuracy_plot, offset=(8, 8))
        self.loss_legend = add_legend(self.loss_plot, offset=(8, -8))
        plots = QWidget()
        plots_layout = QVBoxLayout(plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addWidget(self.accuracy_plot)
        plots_layout.addWidget(self.loss_plot)
        self.compare_table = QTableWidget(0, 0)
        self.compare_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.compare_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.compare_table.setAlternatingRowColors(True)
        self.compare_table.setWordWrap(False)
        self.compare_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.compare_table.horizontalHeader().setStretchLastSection(True)
        self.compare_table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.details_note = QLabel()
        self.details_note.setWordWrap(True)
        self.details_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        details = self.details_splitter = QSplitter(Qt.Orientation.Horizontal)
        details.addWidget(plots)
        details.addWidget(self.compare_table)
        details.setStretchFactor(0, 3)
        details.setStretchFactor(1, 2)
        details.setChildrenCollapsible(False)
        self.compare_table.setMinimumWidth(220)
        self.hint_label = QLabel(EMPTY_SELECTION_HINT)
        self.hint_label.setWordWrap(True)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.details_stack = QStackedWidget()
        self.details_stack.addWidget(self.hint_label)
        self.details_stack.addWidget(details)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.details_stack)

    def forget(self) -> None:
        """Drop the details read so far (the runs folder was read again)."""
        self._details.clear()

    def details_for(self, run: RunSummary) -> RunDetails:
        """The run's details, read again only when its run.json changed."""
        try:
            stamp = (run.path / "run.json").stat().st_mtime_ns
        except OSError:
            stamp = 0
        key = (str(run.path), stamp)
        if key not in self._details:
            self._details[key] = read_details(run.path)
        return self._details[key]

    def show_runs(self, runs: list[RunSummary]) -> None:
        """Overlay the runs' curves (run i in series_color(i)) and fill the compare table."""
        self.accuracy_plot.getPlotItem().clear()
        self.loss_plot.getPlotItem().clear()
        self.accuracy_legend.clear()
        self.loss_legend.clear()
        self.curves = []
        if not runs:
            self.details_stack.setCurrentWidget(self.hint_label)
            return
        self.details_stack.setCurrentIndex(1)
        details = [self.details_for(run) for run in runs]
        single = len(runs) == 1
        labels = run_labels(runs)
        for index, detail in enumerate(details):
            color = series_color(index)
            label = labels[index]
            epochs = detail.series.epoch_x()
            for plot, key, scale in ((self.accuracy_plot, "accuracy", 100.0),
                                     (self.loss_plot, "loss", 1.0)):
                values = scale * detail.series.epoch_values(f"val_{key}")
                curve = plot.plot(epochs, values, pen=pg.mkPen(color, width=2), symbol="o",
                                  symbolSize=5, symbolBrush=color, symbolPen=None,
                                  name=("validation" if single else label), connect="finite")
                if key == "accuracy":
                    self.curves.append(curve)
                if single:  # one run: its training curve too, dashed
                    train = scale * detail.series.epoch_values(key)
                    plot.plot(epochs, train, pen=pg.mkPen(color, width=1.5,
                                                          style=Qt.PenStyle.DashLine),
                              name="training", connect="finite")
        for plot in (self.accuracy_plot, self.loss_plot):
            plot.getPlotItem().enableAutoRange()
        self._fill_compare_table(runs, details)

    def _fill_compare_table(self, runs: list[RunSummary], details: list[RunDetails]) -> None:
        table = self.compare_table
        table.clear()
        table.setColumnCount(len(runs))
        table.setRowCount(len(COMPARE_ROWS))
        table.setVerticalHeaderLabels([title for title, _ in COMPARE_ROWS])
        labels = run_labels(runs)
        for column, (run, detail) in enumerate(zip(runs, details)):
            header = QTableWidgetItem(swatch(series_color(column)), labels[column])
            header.setToolTip(str(run.path) + (f"\n{detail.problem}" if detail.problem else ""))
            table.setHorizontalHeaderItem(column, header)
            for row, (_, value) in enumerate(COMPARE_ROWS):
                try:
                    text = value(run, detail)
                except (TypeError, ValueError, AttributeError):
                    text = ""
                table.setItem(row, column, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        self._fit_compare_width()

    def _fit_compare_width(self) -> None:
        """Room for the whole compare table, up to 55% of the width; the curves get the rest."""
        table = self.compare_table
        wanted = (table.verticalHeader().sizeHint().width() + table.frameWidth() * 2 + 4
                  + sum(table.columnWidth(column) for column in range(table.columnCount()))
                  + table.verticalScrollBar().sizeHint().width())
        total = sum(self.details_splitter.sizes()) or self._fallback_width()
        compare = max(table.minimumWidth(), min(wanted, int(total * 0.55)))
        self.details_splitter.setSizes([total - compare, compare])


def _number(value) -> str:
    """A loss in the compare table: blank when the run has none."""
    text = metric(value)
    return "" if text == MISSING else text


def _rate_text(value) -> str:
    try:
        return format(float(value), "g")
    except (TypeError, ValueError):
        return "" if value is None else str(value)


def _augmentation_text(augmentation) -> str:
    if not isinstance(augmentation, dict):
        return ""
    parts = [f"{name} {augmentation[name]:g}" for name in ("translation", "rotation", "zoom")
             if isinstance(augmentation.get(name), (int, float)) and augmentation.get(name)]
    if augmentation.get("flip"):
        parts.append("flip")
    return ", ".join(parts) or "off"
