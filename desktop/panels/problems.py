"""The problems list: every diagnostic of the document, errors first, with one-click fixes.

Clicking a row emits `node_activated(node_id)` so the main window can select and centre
the block; a "Fix" button applies the diagnostic's repair as one undo step.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPixmap, QPolygonF
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QPushButton,
                               QStyledItemDelegate, QStyleOptionViewItem, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from engine.graph.edits import CompositeEdit
from engine.graph.validate import ERROR, WARNING, Diagnostic
from desktop.document import ProjectDocument
from desktop.panels.inspector import severity_color
from desktop.style import ERROR_COLOR, WARNING_COLOR

SEVERITY_COLUMN, BLOCK_COLUMN, MESSAGE_COLUMN, FIX_COLUMN = range(4)
_NODE_ROLE = Qt.ItemDataRole.UserRole
SEVERITY_ROLE = Qt.ItemDataRole.UserRole + 1
# Below this width the Block column is hidden: every message starts with the block's name,
# and in a ~320 px dock the message needs the room to stay readable.
BLOCK_COLUMN_MIN_WIDTH = 480
_SEVERITY_ORDER = {ERROR: 0, WARNING: 1}


@lru_cache(maxsize=None)
def severity_icon(severity: str) -> QIcon:
    """A red disc (error) or amber triangle (warning) with "!", drawn at 2x for high DPI."""
    size, ratio = 16, 2
    pixmap = QPixmap(size * ratio, size * ratio)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    box = QRectF(1, 1, size - 2, size - 2)
    if severity == ERROR:
        painter.setBrush(QColor(ERROR_COLOR))
        painter.drawEllipse(box)
    else:
        painter.setBrush(QColor(WARNING_COLOR))
        painter.drawPolygon(QPolygonF([box.bottomLeft(), box.bottomRight(),
                                       QPointF(box.center().x(), box.top())]))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(11)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    text_box = box.adjusted(0, 2, 0, 0) if severity != ERROR else box
    painter.drawText(text_box, Qt.AlignmentFlag.AlignCenter, "!")
    painter.end()
    return QIcon(pixmap)


def summary_text(diagnostics: list[Diagnostic]) -> str:
    """ "2 errors, 1 warning" or "No problems"."""
    errors = sum(d.severity == ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "No problems"


def sorted_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Errors first; otherwise the engine's order (graph order) is kept."""
    return sorted(diagnostics, key=lambda d: _SEVERITY_ORDER.get(d.severity, 2))


class _WrappingDelegate(QStyledItemDelegate):
    """Row heights from the wrapped message at the column's current width (QTreeView
    otherwise measures text as one unbounded line, so wrapped messages get clipped)."""

    def __init__(self, view: QTreeWidget):
        super().__init__(view)
        self.view = view

    PADDING = 3  # above and below each row's text, so wrapped rows do not run together

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:
        super().initStyleOption(option, index)
        # Icon and text on the first line, like the message beside them.
        option.decorationAlignment = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        option.displayAlignment = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        padded = QStyleOptionViewItem(option)
        padded.rect = option.rect.adjusted(0, self.PADDING, 0, -self.PADDING)
        super().paint(painter, padded, index)

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        sized = QStyleOptionViewItem(option)
        if index.column() == MESSAGE_COLUMN:
            sized.rect = QRect(0, 0, max(40, self.view.columnWidth(MESSAGE_COLUMN)), 1)
        hint = super().sizeHint(sized, index)
        return QSize(hint.width(), hint.height() + 2 * self.PADDING)


class ProblemsPanel(QWidget):
    """Summary line over a (severity, block, message, fix) list of the document's diagnostics."""

    node_activated = Signal(str)

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.diagnostics: list[Diagnostic] = []  # in display order, one per row

        self.summary = QLabel()
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["", "Block", "Message", ""])  # severity: an icon, named in its tooltip
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)  # long messages wrap; rows grow instead of clipping
        self.tree.setUniformRowHeights(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(SEVERITY_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(BLOCK_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(MESSAGE_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(FIX_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setItemDelegate(_WrappingDelegate(self.tree))
        # Wrapped rows need new heights when the message column changes width; coalesced,
        # since a relayout can itself resize sections (scroll bar appearing).
        self._relayout = QTimer(self, singleShot=True, interval=0)
        self._relayout.timeout.connect(self.tree.doItemsLayout)
        header.sectionResized.connect(self._message_resized)
        self.tree.itemClicked.connect(self._activate)
        self.tree.itemActivated.connect(self._activate)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree)

        document.spec_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        current = self.tree.currentItem()
        keep = (current.data(0, _NODE_ROLE), current.text(MESSAGE_COLUMN)) if current else None
        self.diagnostics = sorted_diagnostics(self.document.diagnostics)
        self.summary.setText(summary_text(self.diagnostics))
        self._color_summary()
        self.tree.clear()  # index widgets (Fix buttons) are deleted later, so a click may land here
        spec = self.document.spec
        for diagnostic in self.diagnostics:
            block = spec.node(diagnostic.node_id).name if diagnostic.node_id and spec.has_node(
                diagnostic.node_id) else "Network"
            item = QTreeWidgetItem(self.tree, ["", block, diagnostic.message, ""])
            item.setIcon(SEVERITY_COLUMN, severity_icon(diagnostic.severity))
            item.setToolTip(SEVERITY_COLUMN, diagnostic.severity.capitalize())
            item.setData(SEVERITY_COLUMN, SEVERITY_ROLE, diagnostic.severity)
            item.setData(SEVERITY_COLUMN, Qt.ItemDataRole.AccessibleTextRole, diagnostic.severity.capitalize())
            item.setToolTip(MESSAGE_COLUMN, diagnostic.message)
            item.setData(0, _NODE_ROLE, diagnostic.node_id or "")
            if diagnostic.fix:
                self.tree.setItemWidget(item, FIX_COLUMN, self._fix_button(diagnostic))
            if keep == (diagnostic.node_id or "", diagnostic.message):
                self.tree.setCurrentItem(item)  # the same problem stays selected across edits

    def _color_summary(self) -> None:
        worst = self.diagnostics[0].severity if self.diagnostics else None  # errors sort first
        palette = self.palette()
        if worst is not None:
            palette.setColor(QPalette.ColorRole.WindowText, severity_color(worst))
        self.summary.setPalette(palette)

    def _fix_button(self, diagnostic: Diagnostic) -> QWidget:
        button = QPushButton("Fix")
        button.setObjectName("fix_button")
        button.setToolTip(diagnostic.fix_label or "Apply the suggested repair")
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        # Sized to its word, not the style's wide minimum, so the message keeps the room.
        button.setFixedWidth(button.fontMetrics().horizontalAdvance("Fix") + 28)
        button.clicked.connect(lambda _=False, d=diagnostic: self.apply_fix(d))
        # In a container so the button keeps its height on tall (wrapped) rows.
        cell = QWidget()
        layout = QVBoxLayout(cell)
        layout.setContentsMargins(2, 1, 4, 1)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addStretch(1)
        return cell

    def fix_buttons(self) -> list[QPushButton]:
        """The Fix button of each row (None where a diagnostic has no fix), in row order."""
        buttons = []
        for row in range(self.tree.topLevelItemCount()):
            cell = self.tree.itemWidget(self.tree.topLevelItem(row), FIX_COLUMN)
            buttons.append(cell.findChild(QPushButton, "fix_button") if cell else None)
        return buttons

    def apply_fix(self, diagnostic: Diagnostic) -> bool:
        """Apply a diagnostic's repair as one undo step."""
        if not diagnostic.fix:
            return False
        return self.document.apply(CompositeEdit(tuple(diagnostic.fix)), diagnostic.fix_label or "Fix")

    def _activate(self, item: QTreeWidgetItem, column: int = 0) -> None:
        node_id = item.data(0, _NODE_ROLE)
        if node_id:
            self.node_activated.emit(node_id)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.tree.setColumnHidden(BLOCK_COLUMN, event.size().width() < BLOCK_COLUMN_MIN_WIDTH)
        super().resizeEvent(event)

    def _message_resized(self, column: int, old: int, new: int) -> None:
        if column == MESSAGE_COLUMN and old != new:
            self._relayout.start()
