"""The runs browser: every training run under a runs folder, newest first, to compare,
reopen, resume, fine-tune or delete. Imported models (a .keras file's weights, status
"imported") are listed too: they have no epochs, but can be inspected and fine-tuned.

Only JSON is read (run.json for the table; history/metrics/config/spec.json for the
selected runs), never a model, so a folder of many runs lists instantly and the GUI
process stays free of Keras. Selecting runs overlays their validation accuracy and loss
per epoch (one colour per run) and lines their numbers up in a compare table; that part
is RunComparison (desktop/panels/run_compare.py), which this panel composes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMenu,
                               QMessageBox, QPushButton, QSizePolicy, QSplitter,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from engine.errors import ProjectError
from engine.graph.validate import WARNING
from engine.training.progress import format_duration
from engine.training.runs import FAILED, RUNNING, STOPPED, RunFolder, RunSummary, list_runs
from desktop.panels.run_compare import RunComparison, percent_or_blank, run_labels, swatch
from desktop.plots import series_color
from desktop.panels.inspector import severity_color
from desktop.style import ERROR_COLOR

COLUMNS = ("Run", "Status", "Dataset", "Epochs", "Best val acc", "Test acc", "Time", "Samples/s")
(NAME_COLUMN, STATUS_COLUMN, DATASET_COLUMN, EPOCHS_COLUMN, VAL_COLUMN, TEST_COLUMN, TIME_COLUMN,
 SPEED_COLUMN) = range(len(COLUMNS))
PATH_ROLE = Qt.ItemDataRole.UserRole
RESUMABLE_STATUSES = (STOPPED, FAILED)


def _status_color(status: str) -> QColor | None:
    if status == FAILED:
        return QColor(ERROR_COLOR)
    if status == STOPPED:
        return severity_color(WARNING)
    if status == RUNNING:
        return QColor("#3D7FD9")
    return None


def _runs_table() -> QTableWidget:
    """The list of runs: one row per run, whole rows selected, several at a time."""
    table = QTableWidget(0, len(COLUMNS))
    table.setHorizontalHeaderLabels(COLUMNS)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(NAME_COLUMN, QHeaderView.ResizeMode.Stretch)
    header.setMinimumSectionSize(50)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    return table


def _resume_state(run: RunSummary) -> tuple[bool, str]:
    """Whether the run can be resumed, and the Resume button's tooltip saying why (not)."""
    if run.imported:
        return False, "An imported model was not trained here: nothing to resume. Fine-tune it."
    if run.status not in RESUMABLE_STATUSES:
        return False, f"Only stopped or failed runs can be resumed; this one is {run.status}."
    try:
        epoch = RunFolder(run.path).resume_epoch()
    except (ProjectError, ValueError, TypeError):
        epoch = 0
    return epoch > 0, (f"Continue after epoch {epoch}" if epoch > 0 else
                       "This run has no checkpoint to continue from.")


def _fine_tune_state(run: RunSummary) -> tuple[bool, str]:
    """Whether a run's weights can start a new run, and the Fine-tune button's tooltip."""
    if run.status == RUNNING:
        return False, "This run is still training."
    if not (run.path / "model.keras").is_file():
        return False, "This run saved no trained model to start from."
    return True, ("Train the open network starting from this run's weights, with the Train "
                  "settings; blocks you changed start fresh")


def _delete_question(runs: list[RunSummary]) -> str:
    """What the Delete button asks before removing the runs' folders."""
    if len(runs) == 1:
        question = f"Delete the run {runs[0].path.name}?"
    else:
        question = f"Delete these {len(runs)} runs?\n" + "\n".join(
            run.path.name for run in runs[:10]) + ("\n..." if len(runs) > 10 else "")
    if any(run.status == RUNNING for run in runs):
        question += "\n\nA run marked running may still be training."
    return question + "\n\nIts folder (model, checkpoints, logs) is removed; this cannot be undone."


def _action_buttons(panel: "RunsPanel") -> QHBoxLayout:
    """The row of run actions under the list (the context menu offers the same)."""
    row = QHBoxLayout()
    for attribute, text, slot in (
            ("open_button", "Open network", panel._open_spec),
            ("results_button", "Show results", panel._show_results),
            ("resume_button", "Resume", panel._resume),
            ("fine_tune_button", "Fine-tune", panel._fine_tune),
            ("export_button", "Export model…", panel._export),
            ("delete_button", "Delete", panel.delete_selected),
            ("refresh_button", "Refresh", panel.refresh)):
        button = QPushButton(text)
        button.clicked.connect(slot)
        setattr(panel, attribute, button)
        if attribute == "refresh_button":
            row.addStretch(1)
        row.addWidget(button)
    panel.open_button.setToolTip("Open the exact network this run trained")
    panel.export_button.setToolTip("Save the trained model: .keras, a Keras script with its "
                                   "weights, ONNX, a TensorFlow SavedModel or TFLite")
    return row


class RunsPanel(QWidget):
    open_spec_requested = Signal(object)  # the NetworkSpec the run trained
    show_run_requested = Signal(str)      # run folder
    resume_requested = Signal(str)        # run folder
    fine_tune_requested = Signal(str)     # run folder whose weights a new run starts from
    export_requested = Signal(str)        # run folder: export its trained model
    selection_changed = Signal(list)      # the selected run folders (str)
    refreshed = Signal(list)              # (label, run folder) of every run listed, newest first

    def __init__(self, root: str | Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._root: Path | None = None
        self._runs: list[RunSummary] = []
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

        self.table = _runs_table()
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemDoubleClicked.connect(lambda item: self._show_results())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(
            lambda point: self.context_menu().exec(self.table.viewport().mapToGlobal(point)))
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.empty_label)

        buttons = _action_buttons(self)

        # Below the table: curves and the compare table, or a hint when nothing is selected.
        self.comparison = RunComparison(fallback_width=self.width)
        # The comparison's parts under the panel's own names, where callers and tests look.
        self.accuracy_plot = self.comparison.accuracy_plot
        self.loss_plot = self.comparison.loss_plot
        self.compare_table = self.comparison.compare_table
        self.details_note = self.comparison.details_note
        self.hint_label = self.comparison.hint_label
        self.details_stack = self.comparison.details_stack

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.root_label)
        top_layout.addWidget(self.table_stack, 1)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.message_label)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.comparison)
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
        self.comparison.forget()
        table = self.table
        table.blockSignals(True)
        table.clearSelection()
        table.setRowCount(len(self._runs))
        for row, run in enumerate(self._runs):
            planned = f"/{run.epochs_planned}" if run.epochs_planned else ""
            epochs = "–" if run.imported else f"{run.epochs_completed}{planned}"
            values = (run.path.name, run.status, run.dataset,
                      epochs, percent_or_blank(run.best_val_accuracy),
                      percent_or_blank(run.test_accuracy),
                      format_duration(run.training_time) if run.training_time is not None else "",
                      f"{run.samples_per_second:,.0f}" if run.samples_per_second else "")
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(PATH_ROLE, str(run.path))
                if column != NAME_COLUMN and column not in (STATUS_COLUMN, DATASET_COLUMN):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
            name_item = table.item(row, NAME_COLUMN)
            origin = f"\n{run.origin}" if run.origin else ""
            name_item.setToolTip(f"{run.name}\nstarted {run.started_at or '?'}{origin}\n{run.path}")
            if run.origin:
                table.item(row, STATUS_COLUMN).setToolTip(run.origin)
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
        self.fine_tune_button.setEnabled(False)
        self.fine_tune_button.setToolTip("Train the open network starting from a run's weights")
        if one:
            resumable, why = _resume_state(runs[0])
            self.resume_button.setEnabled(resumable)
            self.resume_button.setToolTip(why)
            tunable, why = _fine_tune_state(runs[0])
            self.fine_tune_button.setEnabled(tunable)
            self.fine_tune_button.setToolTip(why)
        self._details_timer.start()
        self.selection_changed.emit([str(run.path) for run in runs])

    def details_pending(self) -> bool:
        return self._details_timer.isActive()

    @property
    def curves(self) -> list:
        """The plotted validation-accuracy curves, one per selected run."""
        return self.comparison.curves

    def update_details(self) -> None:
        """Show the selected runs' curves and compare table now."""
        self._details_timer.stop()
        self._show_details(self._selected_runs())

    def _show_details(self, runs: list[RunSummary]) -> None:
        # Each selected run's row wears the colour of its curves and compare column.
        for row in range(self.table.rowCount()):
            self.table.item(row, NAME_COLUMN).setIcon(QIcon())
        row_of = {self.table.item(row, NAME_COLUMN).data(PATH_ROLE): row
                  for row in range(self.table.rowCount())}
        for index, run in enumerate(runs):
            self.table.item(row_of[str(run.path)], NAME_COLUMN).setIcon(swatch(series_color(index)))
        self.comparison.show_runs(runs)

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

    def _request(self, signal, button: QPushButton | None = None) -> None:
        """Ask for `signal`'s action on the one selected run, if its button allows it."""
        run = self._single()
        if run is not None and (button is None or button.isEnabled()):
            signal.emit(str(run.path))

    def _show_results(self) -> None:
        self._request(self.show_run_requested)

    def _resume(self) -> None:
        self._request(self.resume_requested, self.resume_button)

    def _fine_tune(self) -> None:
        self._request(self.fine_tune_requested, self.fine_tune_button)

    def context_menu(self) -> QMenu:
        """The selected runs' actions, as the buttons below the list offer them."""
        menu = QMenu(self)
        for text, button, slot in (
                ("Show results", self.results_button, self._show_results),
                ("Open network", self.open_button, self._open_spec),
                ("Fine-tune from this run", self.fine_tune_button, self._fine_tune),
                ("Resume", self.resume_button, self._resume),
                ("Export model…", self.export_button, self._export),
                ("Delete…", self.delete_button, self.delete_selected)):
            action = menu.addAction(text, slot)
            action.setEnabled(button.isEnabled())
            action.setToolTip(button.toolTip())
        menu.setToolTipsVisible(True)
        return menu

    def _export(self) -> None:
        self._request(self.export_requested, self.export_button)

    def delete_selected(self) -> bool:
        """Ask, then delete the selected run folders. True when something was deleted."""
        runs = self._selected_runs()
        if not runs:
            return False
        answer = QMessageBox.question(self, "Delete runs", _delete_question(runs),
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
