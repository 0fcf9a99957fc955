"""The confusion matrix of a finished run beside the test images of its clicked cell."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QListView, QListWidget,
                               QListWidgetItem, QSplitter, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from desktop.plots import to_pixmap
from desktop.style import CATEGORY_COLORS, ERROR_COLOR

THUMBNAIL_SIDE = 64            # gallery images are scaled up (nearest neighbour) to about this
TOP_PROBABILITIES = 2          # class probabilities under each gallery image
CORRECT_COLOR = CATEGORY_COLORS["Convolution"]
WRONG_COLOR = ERROR_COLOR


def image_pixmap(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> QPixmap:
    """A uint8 test image as a crisp pixmap about `side` pixels on its longer edge."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return to_pixmap(array, side)


def pixmap_icon(pixmap: QPixmap) -> QIcon:
    icon = QIcon()
    icon.addPixmap(pixmap, QIcon.Mode.Normal)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)  # no tinting of the image when selected
    return icon


def top_probabilities(probabilities, class_names: list[str], count: int = TOP_PROBABILITIES) -> str:
    """ "7: 0.91, 1: 0.05" — the most probable classes, best first."""
    probabilities = np.asarray(probabilities, dtype=float).ravel()
    order = np.argsort(-probabilities)[:count]
    return ", ".join(f"{class_name(class_names, k)}: {probabilities[k]:.2f}" for k in order)


def class_name(class_names: list[str], index: int) -> str:
    return str(class_names[index]) if 0 <= index < len(class_names) else str(index)


def class_names_of(metrics: dict) -> list[str]:
    names = [str(n) for n in (metrics.get("class_names") or [])]
    size = len(metrics.get("confusion_matrix") or []) or len(metrics.get("per_class_accuracy") or [])
    return names + [str(k) for k in range(len(names), size)]


def _blend(base: QColor, target: QColor, amount: float) -> QColor:
    amount = min(max(amount, 0.0), 1.0)
    return QColor(round(base.red() + (target.red() - base.red()) * amount),
                  round(base.green() + (target.green() - base.green()) * amount),
                  round(base.blue() + (target.blue() - base.blue()) * amount))


class _ConfusionDelegate(QStyledItemDelegate):
    """Keeps a cell's heat-map colour when selected and frames it instead."""

    def paint(self, painter, option, index):
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        plain = QStyleOptionViewItem(option)
        plain.state &= ~(QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_HasFocus)
        super().paint(painter, plain, index)
        if selected:
            painter.save()
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 3))
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
            painter.restore()


class ConfusionBrowser(QSplitter):
    """A clickable confusion matrix (heat-mapped per true class) and a gallery of the test
    images of the chosen cell with their most probable classes."""

    cell_selected = Signal(int, int)  # (true class, predicted class)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._metrics: dict = {}
        self._examples: dict[str, np.ndarray] | None = None
        self.selected_cell: tuple[int, int] | None = None
        self._filling = False
        self.setChildrenCollapsible(False)
        self.addWidget(self._build_matrix())
        self.addWidget(self._build_gallery())
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.setSizes([540, 360])

    def _build_matrix(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.caption = QLabel("Confusion matrix (row: true, column: predicted) — click a cell")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        table = self.table = QTableWidget()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setCornerButtonEnabled(False)
        table.setMinimumHeight(80)
        table.setItemDelegate(_ConfusionDelegate(table))
        for header in (table.horizontalHeader(), table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setMinimumSectionSize(22)
            header.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.horizontalHeader().setMinimumSectionSize(40)
        table.currentCellChanged.connect(lambda row, column, *_: self._chosen(row, column, False))
        table.cellClicked.connect(lambda row, column: self._chosen(row, column, True))
        table.cellActivated.connect(lambda row, column: self._chosen(row, column, True))
        layout.addWidget(table, 1)
        return box

    def _build_gallery(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.gallery_label = QLabel()
        self.gallery_label.setWordWrap(True)
        layout.addWidget(self.gallery_label)
        gallery = self.gallery = QListWidget()
        gallery.setViewMode(QListView.ViewMode.IconMode)
        gallery.setResizeMode(QListView.ResizeMode.Adjust)
        gallery.setMovement(QListView.Movement.Static)
        gallery.setWrapping(True)
        gallery.setWordWrap(False)  # wrapping would narrow captions to the icon width
        gallery.setUniformItemSizes(True)
        gallery.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        gallery.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        gallery.setSpacing(2)
        # Room for one whole row: a thumbnail and two caption lines.
        line = gallery.fontMetrics().height()
        gallery.setGridSize(QSize(THUMBNAIL_SIDE + 56, THUMBNAIL_SIDE + TOP_PROBABILITIES * line + 12))
        gallery.setMinimumHeight(gallery.gridSize().height() + 2 * gallery.frameWidth() + 2)
        layout.addWidget(gallery, 1)
        return box

    # -- contents -------------------------------------------------------------------------------
    def clear(self) -> None:
        self._metrics, self._examples, self.selected_cell = {}, None, None
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.gallery.clear()
        self.gallery_label.setText("")

    def show_results(self, metrics: dict, examples: dict | None) -> None:
        self.clear()
        self._metrics = metrics
        self._examples = ({key: np.asarray(value) for key, value in examples.items()}
                          if examples is not None else None)
        self.fill()
        self.gallery_label.setText("Click a cell of the confusion matrix to see its test images."
                                   if self._examples is not None else
                                   "No example images were saved for this run.")

    def fill(self) -> None:
        """The matrix in the current palette (again after a theme change)."""
        matrix = np.asarray(self._metrics.get("confusion_matrix") or [], dtype=np.int64)
        if matrix.ndim != 2:
            return
        names = class_names_of(self._metrics)
        table = self.table
        self._filling = True
        try:
            table.setRowCount(matrix.shape[0])
            table.setColumnCount(matrix.shape[1])
            table.setHorizontalHeaderLabels([class_name(names, k) for k in range(matrix.shape[1])])
            table.setVerticalHeaderLabels([class_name(names, k) for k in range(matrix.shape[0])])
            for k in range(matrix.shape[1]):
                table.horizontalHeaderItem(k).setToolTip(f"predicted {class_name(names, k)}")
            for k in range(matrix.shape[0]):
                table.verticalHeaderItem(k).setToolTip(f"true {class_name(names, k)}")
            base = self.palette().color(QPalette.ColorRole.Base)
            text_color = self.palette().color(QPalette.ColorRole.Text)
            for row in range(matrix.shape[0]):
                total = int(matrix[row].sum())
                for column in range(matrix.shape[1]):
                    count = int(matrix[row, column])
                    share = count / total if total else 0.0
                    item = QTableWidgetItem(f"{count:,}")
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    target = QColor(CORRECT_COLOR if row == column else WRONG_COLOR)
                    # Off-diagonal errors are rare: a square-root scale keeps small ones visible.
                    amount = share if row == column else math.sqrt(share)
                    item.setBackground(QBrush(_blend(base, target, amount)))
                    item.setForeground(QBrush(QColor("white") if amount > 0.55 else text_color))
                    item.setToolTip(f"true {class_name(names, row)}, predicted "
                                    f"{class_name(names, column)}: {count:,} "
                                    f"({100 * share:.1f}% of {class_name(names, row)})")
                    table.setItem(row, column, item)
            table.setCurrentCell(*(self.selected_cell or (-1, -1)))
        finally:
            self._filling = False

    def select_cell(self, row: int, column: int) -> None:
        """Show the gallery of one cell (as a click on it does)."""
        if 0 <= row < self.table.rowCount() and 0 <= column < self.table.columnCount():
            self._filling = True
            self.table.setCurrentCell(row, column)
            self._filling = False
            self._show_cell(row, column)

    def _chosen(self, row: int, column: int, from_click: bool) -> None:
        if self._filling or row < 0 or column < 0:
            return
        if from_click and self.selected_cell == (row, column):
            return  # the press already moved the current cell here
        self._show_cell(row, column)

    def _show_cell(self, row: int, column: int) -> None:
        self.selected_cell = (row, column)
        self.gallery.clear()
        names = class_names_of(self._metrics)
        matrix = self._metrics.get("confusion_matrix") or []
        total = int(matrix[row][column]) if row < len(matrix) and column < len(matrix[row]) else 0
        true_name, predicted_name = class_name(names, row), class_name(names, column)
        heading = (f"{true_name} predicted correctly: " if row == column else
                   f"{true_name} predicted as {predicted_name}: ")
        examples = self._examples
        if examples is None or "image" not in examples:
            self.gallery_label.setText(heading + f"{total:,} test images (no images saved).")
            self.cell_selected.emit(row, column)
            return
        chosen = np.flatnonzero((examples["true"] == row) & (examples["predicted"] == column))
        self.gallery_label.setText(heading + (f"{len(chosen)} of {total:,} test images"
                                              if len(chosen) else f"{total:,} test images"))
        probabilities = examples.get("probabilities")
        indices = examples.get("index")
        for position in chosen:
            item = QListWidgetItem()
            item.setIcon(pixmap_icon(image_pixmap(examples["image"][position])))
            detail = ""
            if probabilities is not None:
                item.setText(top_probabilities(probabilities[position], names).replace(", ", "\n"))
                detail = top_probabilities(probabilities[position], names, count=3)
            number = f"test image #{int(indices[position])}" if indices is not None else "test image"
            item.setToolTip(f"{number}: true {true_name}, predicted {predicted_name}"
                            + (f"\n{detail}" if detail else ""))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            item.setSizeHint(self.gallery.gridSize() - QSize(4, 4))  # else captions elide to the icon width
            self.gallery.addItem(item)
        self.cell_selected.emit(row, column)
