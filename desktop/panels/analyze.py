"""Analyze: every layer in one sortable table (like MATLAB's analyzeNetwork).

Name, Keras type, activations, learnables, MACs, receptive field and problems per layer,
with totals above, a filter box, and "Copy as CSV". Clicking a row emits
`node_activated(node_id)` so the window selects the block; `select_node` does the reverse.

Updates are cheap: while the layers stay the same (a parameter edit), only the rows whose
values changed are re-announced; the table is rebuilt only when layers come or go. While
the panel is hidden it only notes that it is out of date.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from PySide6.QtCore import (QAbstractTableModel, QEvent, QItemSelectionModel, QModelIndex,
                            QSortFilterProxyModel, Qt, Signal)
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QTableView, QVBoxLayout, QWidget)

from desktop.document import ProjectDocument
from desktop.formatting import compact, count, plural
from desktop.models.layer_table import (COLUMNS, LEARNABLES, NAME, NUMERIC_COLUMNS, PROBLEMS,
                                        LayerRow, Totals, csv_text, rows, totals)
from desktop.panels.inspector import severity_color
from desktop.style import ERROR_COLOR

SORT_ROLE = Qt.ItemDataRole.UserRole
NODE_ROLE = Qt.ItemDataRole.UserRole + 1
MAX_SPLICES = 8  # more separate insertions/removals than this: one reset is cheaper
_ERROR_TINT_ALPHA = 48  # a wash of red that reads on light and dark backgrounds


class LayerTableModel(QAbstractTableModel):
    """The layer rows of one document, refreshed in place when only values change."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer_rows: list[LayerRow] = []
        self._row_of: dict[str, int] = {}
        self._sort_values: list[list[float | str]] = []  # per row and column: sorting asks often
        tint = QColor(ERROR_COLOR)
        tint.setAlpha(_ERROR_TINT_ALPHA)
        self._error_tint = tint

    # -- Qt model API -------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.layer_rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(section)
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == SORT_ROLE:  # first: a sorted 1,000-row table asks this ~10,000 times
            return self._sort_values[index.row()][index.column()]
        row, column = self.layer_rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.text(column)
        if role == NODE_ROLE:
            return row.node_id
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column)
        if role == Qt.ItemDataRole.BackgroundRole and row.has_error:
            return self._error_tint
        if role == Qt.ItemDataRole.ForegroundRole and column == PROBLEMS and row.severity \
                and not row.has_error:  # an error row is tinted already: red on red reads badly
            return severity_color(row.severity)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == PROBLEMS and row.problems:
                return "\n".join(row.problems)
            if column == LEARNABLES and row.learnables is not None:
                return f"{count(row.learnables)} parameters"
        return None

    # -- updates ------------------------------------------------------------------------------
    def set_rows(self, new_rows: list[LayerRow]) -> bool:
        """Show `new_rows`; True when the table had to be rebuilt.

        Layers that came or went are removed / inserted as such (a sorted view then places
        one row instead of re-sorting them all); rows whose values changed are re-announced.
        Only when the order changed in many places is the whole table reset."""
        old_ids = [row.node_id for row in self.layer_rows]
        new_ids = [row.node_id for row in new_rows]
        if old_ids != new_ids:
            steps = [op for op in SequenceMatcher(None, old_ids, new_ids, autojunk=False).get_opcodes()
                     if op[0] != "equal"]
            if len(steps) > MAX_SPLICES or not self.layer_rows:
                self.beginResetModel()
                self._splice(0, len(self.layer_rows), new_rows)
                self.endResetModel()
                return True
            self._apply_splices(steps, new_rows)
        changed = [i for i, (a, b) in enumerate(zip(new_rows, self.layer_rows)) if a != b]
        for i in changed:
            self._splice(i, 1, [new_rows[i]], reindex=False)
        for first, last in _runs(changed):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        return False

    def _apply_splices(self, steps, new_rows: list[LayerRow]) -> None:
        shift = 0  # how far earlier steps moved the old positions
        for tag, old_start, old_end, new_start, new_end in steps:
            at = old_start + shift
            if tag in ("delete", "replace"):
                self.beginRemoveRows(QModelIndex(), at, at + old_end - old_start - 1)
                self._splice(at, old_end - old_start, [])
                self.endRemoveRows()
                shift -= old_end - old_start
            if tag in ("insert", "replace"):
                self.beginInsertRows(QModelIndex(), at, at + new_end - new_start - 1)
                self._splice(at, 0, new_rows[new_start:new_end])
                self.endInsertRows()
                shift += new_end - new_start

    def _splice(self, at: int, remove: int, rows_in: list[LayerRow], reindex: bool = True) -> None:
        """Replace `remove` rows at `at` by `rows_in`, keeping the sort keys alongside."""
        self.layer_rows[at:at + remove] = rows_in
        self._sort_values[at:at + remove] = [
            [row.sort_value(column) for column in range(len(COLUMNS))] for row in rows_in]
        if reindex:
            self._row_of = {row.node_id: i for i, row in enumerate(self.layer_rows)}

    def row_of(self, node_id: str) -> int | None:
        return self._row_of.get(node_id)


def _alignment(column: int):
    horizontal = Qt.AlignmentFlag.AlignRight if column in NUMERIC_COLUMNS else Qt.AlignmentFlag.AlignLeft
    return horizontal | Qt.AlignmentFlag.AlignVCenter


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7] -> [(1, 3), (7, 7)]: one dataChanged per block of neighbouring rows."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def totals_text(summary: Totals) -> str:
    parts = [plural(summary.layers, "layer"),
             "learnables unknown" if summary.learnables is None else f"{count(summary.learnables)} learnables",
             "MACs unknown" if summary.macs is None else f"{compact(summary.macs)} MACs per sample"]
    if summary.errors:
        parts.append(plural(summary.errors, "error"))
    if summary.warnings:
        parts.append(plural(summary.warnings, "warning"))
    return " · ".join(parts)


class _LayerTableView(QTableView):
    """A table that keeps Ctrl+C for itself (copy the selected rows as CSV) even though the
    window's Edit > Copy uses the same keys: it claims the shortcut while it has focus."""

    copy_requested = Signal()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.matches(QKeySequence.StandardKey.Copy):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)


FILTER_HINT = "Filter by name, type or problem"


class AnalyzePanel(QWidget):
    node_activated = Signal(str)

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self._stale = True

        self.summary = QLabel()
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(FILTER_HINT)
        self.filter.setClearButtonEnabled(True)
        self.filter.setMinimumWidth(self.filter.fontMetrics().horizontalAdvance(
            FILTER_HINT) + 48)  # room for the whole hint and the clear button
        self.copy_button = QPushButton("Copy as CSV")
        self.copy_button.setToolTip("Copy the rows shown (or the selected ones) for a spreadsheet")

        self.model = LayerTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)  # any column
        self.proxy.setDynamicSortFilter(True)

        self.table = _LayerTableView()
        self.table.setModel(self.proxy)
        # Data-flow order until a header is clicked.
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)  # Problems takes the room that is left
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        self._size_columns()

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.filter)
        top.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.table)

        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.copy_button.clicked.connect(self.copy_csv)
        self.table.copy_requested.connect(self.copy_selection)
        self.table.clicked.connect(self._activate)
        self.table.activated.connect(self._activate)
        document.spec_changed.connect(self._on_spec_changed)
        self.refresh()

    # -- updating ---------------------------------------------------------------------------
    def _on_spec_changed(self) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True  # caught up when shown: a hidden table costs nothing per edit

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._stale:
            self.refresh()
        super().showEvent(event)

    def refresh(self) -> None:
        document = self.document
        selected = self.selected_node_ids()
        new_rows = rows(document.spec, document.info, document.diagnostics)
        rebuilt = self.model.set_rows(new_rows)
        self.summary.setText(totals_text(totals(new_rows, document.diagnostics)))
        if rebuilt:
            self._select(selected)
        self._stale = False

    def _size_columns(self) -> None:
        """Fixed widths from the headers and typical values: measuring every cell of a
        1,000-layer table on each rebuild would cost more than the rebuild itself."""
        metrics = self.fontMetrics()
        samples = ("conv2d_block_12", "BatchNormalization", "112x112x64", "1,234,567",
                   "123,456,789", "whole input")
        for column, sample in enumerate(samples):
            wide = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(COLUMNS[column]) + 16)
            self.table.setColumnWidth(column, wide + 16)

    # -- selection --------------------------------------------------------------------------
    def select_node(self, node_id: str | None) -> None:
        """Highlight the layer's row (the window calls this when the canvas selection changes)."""
        if node_id is None or self.model.row_of(node_id) is None:
            self.table.clearSelection()
            return
        if self._proxy_index(node_id) is None:
            self.filter.clear()  # the row is filtered out: show everything rather than nothing
        self._select([node_id])
        index = self._proxy_index(node_id)
        if index is not None:
            self.table.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def _proxy_index(self, node_id: str) -> QModelIndex | None:
        row = self.model.row_of(node_id)
        if row is None:
            return None
        index = self.proxy.mapFromSource(self.model.index(row, NAME))
        return index if index.isValid() else None

    def _select(self, node_ids: list[str]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for node_id in node_ids:
            index = self._proxy_index(node_id)
            if index is not None:
                selection.select(index, flags)
                selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)

    def selected_node_ids(self) -> list[str]:
        return [index.data(NODE_ROLE) for index in self.table.selectionModel().selectedRows(NAME)]

    def _activate(self, index: QModelIndex) -> None:
        node_id = index.data(NODE_ROLE)
        if node_id:
            self.node_activated.emit(node_id)

    # -- copying ----------------------------------------------------------------------------
    def shown_rows(self) -> list[LayerRow]:
        """The rows as the table shows them: filtered and sorted."""
        return [self.model.layer_rows[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
                for r in range(self.proxy.rowCount())]

    def copy_csv(self) -> None:
        """Every row shown, as CSV with a header line."""
        QGuiApplication.clipboard().setText(csv_text(self.shown_rows()))

    def copy_selection(self) -> None:
        """Ctrl+C: the selected rows (all rows shown when none is selected)."""
        selected = set(self.selected_node_ids())
        shown = self.shown_rows()
        chosen = [row for row in shown if row.node_id in selected] or shown
        QGuiApplication.clipboard().setText(csv_text(chosen))
