"""The runs browser: every training run under a runs folder, newest first, to compare,
reopen, resume or delete.

Only JSON is read (run.json for the table; history/metrics/config/spec.json for the
selected runs), never a model, so a folder of many runs lists instantly and the GUI
process stays free of Keras. Selecting runs overlays their validation accuracy and loss
per epoch (one colour per run) and lines their numbers up in a compare table.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel,
                               QMessageBox, QPushButton, QSizePolicy, QSplitter,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from engine.errors import ProjectError
from engine.graph.shapes import infer
from engine.training.progress import format_duration
from engine.training.runs import FAILED, RUNNING, STOPPED, RunFolder, RunSummary, list_runs
from desktop.formatting import MISSING, metric, percent
from desktop.models.run_history import RunHistory
from desktop.plots import add_legend, series_color, themed_plot
from desktop.style import ERROR_COLOR, WARNING_COLOR, is_dark_theme

COLUMNS = ("Run", "Status", "Dataset", "Epochs", "Best val acc", "Test acc", "Time", "Samples/s")
(NAME_COLUMN, STATUS_COLUMN, DATASET_COLUMN, EPOCHS_COLUMN, VAL_COLUMN, TEST_COLUMN, TIME_COLUMN,
 SPEED_COLUMN) = range(len(COLUMNS))
PATH_ROLE = Qt.ItemDataRole.UserRole
RESUMABLE_STATUSES = (STOPPED, FAILED)
EMPTY_SELECTION_HINT = ("Select a run to see its validation accuracy and loss per epoch; "
                        "select several (Ctrl/Shift+click) to compare them.")


def _percent(value) -> str:
    return "" if value is None else percent(value)


def _status_color(status: str) -> QColor | None:
    if status == FAILED:
        return QColor(ERROR_COLOR)
    if status == STOPPED:
        amber = QColor(WARNING_COLOR)
        return amber if is_dark_theme() else amber.darker(140)
    if status == RUNNING:
        return QColor("#3D7FD9")
    return None


def _swatch(color: QColor) -> QIcon:
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


class RunsPanel(QWidget):
    open_spec_requested = Signal(object)  # the NetworkSpec the run trained
    show_run_requested = Signal(str)      # run folder
    resume_requested = Signal(str)        # run folder
    export_requested = Signal(str)        # run folder: export its trained model
    selection_changed = Signal(list)      # the selected run folders (str)
    refreshed = Signal(list)              # (label, run folder) of every run listed, newest first

    def __init__(self, root: str | Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._root: Path | None = None
        self._runs: list[RunSummary] = []
        self._details: dict[tuple, RunDetails] = {}
        self.curves: list[pg.PlotDataItem] = []  # the plotted validation-accuracy curves
        # Curves and the compare table follow the selection once per event-loop turn, so a
        # selection made row by row redraws once.
        self._details_timer = QTimer(self)
        self._details_timer.setSingleShot(True)
        self._details_timer.setInterval(0)
        self._details_timer.timeout.connect(self.update_details)

        self.root_label = QLabel()
        self.root_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.root_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(f"color: {ERROR_COLOR};")
        self.message_label.hide()

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(50)
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 8)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemDoubleClicked.connect(lambda item: self._show_results())
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.empty_label)

        self.open_button = QPushButton("Open network")
        self.open_button.setToolTip("Open the exact network this run trained")
        self.results_button = QPushButton("Show results")
        self.resume_button = QPushButton("Resume")
        self.export_button = QPushButton("Export model…")
        self.export_button.setToolTip("Save the trained model: .keras, or a Keras script with "
                                      "its weights")
        self.delete_button = QPushButton("Delete")
        self.refresh_button = QPushButton("Refresh")
        self.open_button.clicked.connect(self._open_spec)
        self.results_button.clicked.connect(self._show_results)
        self.resume_button.clicked.connect(self._resume)
        self.export_button.clicked.connect(self._export)
        self.delete_button.clicked.connect(self.delete_selected)
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.results_button, self.resume_button,
                       self.export_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)

        # Below the table: curves and the compare table, or a hint when nothing is selected.
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

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.root_label)
        top_layout.addWidget(self.table_stack, 1)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.message_label)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.details_stack)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self._sized_for: Path | None | bool = False  # the root the splitter was last sized for
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

        self.set_root(root)

    # -- the list -----------------------------------------------------------------------------
    def root(self) -> Path | None:
        return self._root

    def set_root(self, path: str | Path | None) -> None:
        self._root = Path(path) if path else None
        self.root_label.setText(f"Runs in {self._root}" if self._root else "")
        self.root_label.setToolTip(str(self._root or ""))
        self.refresh()

    def runs(self) -> list[RunSummary]:
        return list(self._runs)

    def refresh(self) -> None:
        """Read the runs folder again (run.json files only), keeping the selection."""
        selected = set(self.selected_paths())
        runs = list_runs(self._root) if self._root else []
        self._runs = sorted(runs, key=lambda run: (run.started_at, run.path.name), reverse=True)
        self._details.clear()
        table = self.table
        table.blockSignals(True)
        table.clearSelection()
        table.setRowCount(len(self._runs))
        for row, run in enumerate(self._runs):
            planned = f"/{run.epochs_planned}" if run.epochs_planned else ""
            values = (run.path.name, run.status, run.dataset,
                      f"{run.epochs_completed}{planned}", _percent(run.best_val_accuracy),
                      _percent(run.test_accuracy),
                      format_duration(run.training_time) if run.training_time is not None else "",
                      f"{run.samples_per_second:,.0f}" if run.samples_per_second else "")
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(PATH_ROLE, str(run.path))
                if column != NAME_COLUMN and column not in (STATUS_COLUMN, DATASET_COLUMN):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
            name_item = table.item(row, NAME_COLUMN)
            name_item.setToolTip(f"{run.name}\nstarted {run.started_at or '?'}\n{run.path}")
            color = _status_color(run.status)
            if color is not None:
                table.item(row, STATUS_COLUMN).setForeground(QBrush(color))
        table.blockSignals(False)
        self.select_paths([path for path in selected if any(str(r.path) == path for r in self._runs)])
        self.refreshed.emit(list(zip(run_labels(self._runs), (str(r.path) for r in self._runs))))
        if self._runs:
            self.table_stack.setCurrentWidget(self.table)
        else:
            self.empty_label.setText(
                f"No training runs yet in {self._root}.\nTrain a network: each run is saved there "
                "and appears in this list." if self._root else
                "No runs folder: save the project, then train; its runs appear here.")
            self.table_stack.setCurrentWidget(self.empty_label)
        if self._sized_for != self._root:  # a new folder: the list as tall as its rows
            self._sized_for = self._root
            self._fit_splitter()
        self._selection_changed()

    def _fit_splitter(self) -> None:
        """Give the list the height of its rows (3 to 8 of them); the curves get the rest."""
        rows = min(max(len(self._runs), 3), 8)
        table = (self.table.horizontalHeader().sizeHint().height()
                 + rows * self.table.verticalHeader().defaultSectionSize() + 4)
        top = table + self.root_label.sizeHint().height() + self.refresh_button.sizeHint().height() + 16
        total = max(sum(self.splitter.sizes()), self.height(), top + 300)
        self.splitter.setSizes([top, total - top])

    # -- selection ------------------------------------------------------------------------------
    def selected_paths(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(row, NAME_COLUMN).data(PATH_ROLE) for row in rows
                if self.table.item(row, NAME_COLUMN) is not None]

    def select_paths(self, paths) -> None:
        wanted = {str(path) for path in paths}
        model = self.table.selectionModel()
        self.table.blockSignals(True)
        self.table.clearSelection()
        for row in range(self.table.rowCount()):
            if self.table.item(row, NAME_COLUMN).data(PATH_ROLE) in wanted:
                model.select(self.table.model().index(row, 0),
                             model.SelectionFlag.Select | model.SelectionFlag.Rows)
        self.table.blockSignals(False)
        self._selection_changed()

    def _selected_runs(self) -> list[RunSummary]:
        paths = self.selected_paths()
        by_path = {str(run.path): run for run in self._runs}
        return [by_path[path] for path in paths if path in by_path]

    def _selection_changed(self) -> None:
        runs = self._selected_runs()
        one = len(runs) == 1
        self.open_button.setEnabled(one)
        self.results_button.setEnabled(one)
        self.export_button.setEnabled(one and (runs[0].path / "model.keras").is_file())
        self.delete_button.setEnabled(bool(runs))
        self.resume_button.setEnabled(False)
        self.resume_button.setToolTip("Continue a stopped or failed run from its last checkpoint")
        if one:
            run = runs[0]
            if run.status not in RESUMABLE_STATUSES:
                self.resume_button.setToolTip(f"Only stopped or failed runs can be resumed; this "
                                              f"one is {run.status}.")
            else:
                try:
                    epoch = RunFolder(run.path).resume_epoch()
                except (ProjectError, ValueError, TypeError):
                    epoch = 0
                self.resume_button.setEnabled(epoch > 0)
                self.resume_button.setToolTip(
                    f"Continue after epoch {epoch}" if epoch > 0 else
                    "This run has no checkpoint to continue from.")
        self._details_timer.start()
        self.selection_changed.emit([str(run.path) for run in runs])

    def details_pending(self) -> bool:
        return self._details_timer.isActive()

    def update_details(self) -> None:
        """Show the selected runs' curves and compare table now."""
        self._details_timer.stop()
        self._show_details(self._selected_runs())

    def _details_for(self, run: RunSummary) -> RunDetails:
        try:
            stamp = (run.path / "run.json").stat().st_mtime_ns
        except OSError:
            stamp = 0
        key = (str(run.path), stamp)
        if key not in self._details:
            self._details[key] = read_details(run.path)
        return self._details[key]

    def _show_details(self, runs: list[RunSummary]) -> None:
        for row in range(self.table.rowCount()):
            self.table.item(row, NAME_COLUMN).setIcon(QIcon())
        self.accuracy_plot.getPlotItem().clear()
        self.loss_plot.getPlotItem().clear()
        self.accuracy_legend.clear()
        self.loss_legend.clear()
        self.curves = []
        if not runs:
            self.details_stack.setCurrentWidget(self.hint_label)
            return
        self.details_stack.setCurrentIndex(1)
        row_of = {self.table.item(row, NAME_COLUMN).data(PATH_ROLE): row
                  for row in range(self.table.rowCount())}
        details = [self._details_for(run) for run in runs]
        single = len(runs) == 1
        labels = run_labels(runs)
        for index, (run, detail) in enumerate(zip(runs, details)):
            color = series_color(index)
            self.table.item(row_of[str(run.path)], NAME_COLUMN).setIcon(_swatch(color))
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
        rows = [
            ("Status", lambda r, d: r.status),
            ("Dataset", lambda r, d: r.dataset),
            ("Epochs", lambda r, d: f"{r.epochs_completed}/{r.epochs_planned}"),
            ("Best val accuracy", lambda r, d: _percent(r.best_val_accuracy)),
            ("Best epoch", lambda r, d: str((d.metrics or {}).get("best_epoch")
                                            or d.series.best_epoch() or "")),
            ("Test accuracy", lambda r, d: _percent(r.test_accuracy)),
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
        ]
        table = self.compare_table
        table.clear()
        table.setColumnCount(len(runs))
        table.setRowCount(len(rows))
        table.setVerticalHeaderLabels([title for title, _ in rows])
        labels = run_labels(runs)
        for column, (run, detail) in enumerate(zip(runs, details)):
            header = QTableWidgetItem(_swatch(series_color(column)), labels[column])
            header.setToolTip(str(run.path) + (f"\n{detail.problem}" if detail.problem else ""))
            table.setHorizontalHeaderItem(column, header)
            for row, (_, value) in enumerate(rows):
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
        total = sum(self.details_splitter.sizes()) or self.width()
        compare = max(table.minimumWidth(), min(wanted, int(total * 0.55)))
        self.details_splitter.setSizes([total - compare, compare])

    # -- actions --------------------------------------------------------------------------------
    def _single(self) -> RunSummary | None:
        runs = self._selected_runs()
        return runs[0] if len(runs) == 1 else None

    def _open_spec(self) -> None:
        run = self._single()
        if run is None:
            return
        try:
            spec = RunFolder(run.path).spec()
        except (ProjectError, OSError) as error:
            self._show_message(f"Cannot open the network of {run.path.name}: {error}")
            return
        self._show_message("")
        self.open_spec_requested.emit(spec)

    def _show_results(self) -> None:
        run = self._single()
        if run is not None:
            self.show_run_requested.emit(str(run.path))

    def _resume(self) -> None:
        run = self._single()
        if run is not None and self.resume_button.isEnabled():
            self.resume_requested.emit(str(run.path))

    def _export(self) -> None:
        run = self._single()
        if run is not None and self.export_button.isEnabled():
            self.export_requested.emit(str(run.path))

    def delete_selected(self) -> bool:
        """Ask, then delete the selected run folders. True when something was deleted."""
        runs = self._selected_runs()
        if not runs:
            return False
        if len(runs) == 1:
            question = f"Delete the run {runs[0].path.name}?"
        else:
            question = f"Delete these {len(runs)} runs?\n" + "\n".join(
                run.path.name for run in runs[:10]) + ("\n..." if len(runs) > 10 else "")
        if any(run.status == RUNNING for run in runs):
            question += "\n\nA run marked running may still be training."
        question += "\n\nIts folder (model, checkpoints, logs) is removed; this cannot be undone."
        answer = QMessageBox.question(self, "Delete runs", question,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        failures = []
        for run in runs:
            try:
                shutil.rmtree(run.path)
            except FileNotFoundError:
                pass
            except OSError as error:
                failures.append(f"{run.path.name}: {error.strerror or error}")
        self.refresh()
        self._show_message("Could not delete " + "; ".join(failures) if failures else "")
        return True

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))


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
