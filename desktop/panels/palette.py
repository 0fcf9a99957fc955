"""The block palette: every catalogue block, preset and composite, grouped by category.

Items are dragged onto the canvas (QMimeData with MIME_BLOCK and a JSON payload) or
double-clicked / activated with Enter to add them (`block_requested`); their right-click
menu adds them (`block_requested`) or adds them after the selected block
(`block_below_requested`). The payload is the same in every case, so the canvas has one
code path for adding a palette entry:

    block      {"type": "Conv2D", "params": {}, "name": null}
    preset     {"type": "Conv2D", "params": {"kernel_size": [1, 1], "filters": 16}, "name": "conv1x1"}
    composite  {"composite": "residual"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QMimeData, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QLineEdit, QMenu, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from engine.blocks.catalog import BLOCKS, BLOCKS_BY_TYPE, CATEGORIES, PRESETS
from engine.blocks.composites import COMPOSITES
from desktop.style import MIME_BLOCK, category_color

COMPOSITE_CATEGORY = "Composite"
ICON_SIZE = 20  # logical pixels

_PAYLOAD_ROLE = Qt.ItemDataRole.UserRole  # JSON text of the item's payload; absent on headers
_SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1  # lower-case text the search box matches


# -- payloads ------------------------------------------------------------------------------

def payload_to_mime(payload: dict) -> QMimeData:
    mime = QMimeData()
    mime.setData(MIME_BLOCK, json.dumps(payload).encode("utf-8"))
    return mime


def payload_from_mime(mime: QMimeData) -> dict | None:
    """The palette payload carried by a drag, or None when it is not one of ours."""
    if mime is None or not mime.hasFormat(MIME_BLOCK):
        return None
    try:
        payload = json.loads(bytes(mime.data(MIME_BLOCK)).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    if isinstance(payload.get("composite"), str):
        return payload
    if payload.get("type") in BLOCKS_BY_TYPE and isinstance(payload.get("params", {}), dict):
        return {"type": payload["type"], "params": payload.get("params") or {},
                "name": payload.get("name")}
    return None


# -- icons -----------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def block_icon(glyph: str, category: str) -> QIcon:
    """A rounded square in the category colour with a white glyph (drawn, no image files)."""
    size, ratio = ICON_SIZE, 2  # drawn at 2x so it stays crisp on high-DPI screens
    pixmap = QPixmap(size * ratio, size * ratio)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(category_color(category))
    box = QRectF(1, 1, size - 2, size - 2)
    painter.drawRoundedRect(box, 4, 4)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(11 if len(glyph) == 1 else 9)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, glyph)
    painter.end()
    return QIcon(pixmap)


# -- entries ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaletteEntry:
    """One draggable row: what it shows and the payload it carries."""

    label: str
    category: str
    glyph: str
    tooltip: str
    search_text: str
    payload: dict


def palette_entries() -> list[PaletteEntry]:
    """Blocks in catalogue order, each followed by its presets, then the composites."""
    entries = []
    for block in BLOCKS:
        entries.append(PaletteEntry(
            label=block.label, category=block.category, glyph=block.glyph,
            tooltip=f"{block.help}\nKeras: {block.keras_path}",
            search_text=" ".join((block.label, block.type, block.help)).lower(),
            payload={"type": block.type, "params": {}, "name": None}))
        for preset in (p for p in PRESETS if p.type == block.type):
            entries.append(PaletteEntry(
                label=preset.label, category=block.category, glyph=preset.glyph,
                tooltip=f"{preset.help}\nKeras: {block.keras_path}",
                search_text=" ".join((preset.label, block.type, preset.help)).lower(),
                payload={"type": block.type, "params": dict(preset.params),
                         "name": preset.default_name}))
    for composite in COMPOSITES:
        entries.append(PaletteEntry(
            label=composite.label, category=COMPOSITE_CATEGORY, glyph=composite.glyph,
            tooltip=f"{composite.help}\nComposite: several Keras layers, inserted as one group",
            search_text=" ".join((composite.label, composite.key, composite.help)).lower(),
            payload={"composite": composite.key}))
    return entries


class _PaletteTree(QTreeWidget):
    """A tree whose drags carry the item's palette payload."""

    def mimeTypes(self) -> list[str]:
        return [MIME_BLOCK]

    def mimeData(self, items) -> QMimeData:
        payloads = [item_payload(item) for item in items]
        payloads = [p for p in payloads if p is not None]
        return payload_to_mime(payloads[0]) if payloads else QMimeData()


def item_payload(item: QTreeWidgetItem | None) -> dict | None:
    text = item.data(0, _PAYLOAD_ROLE) if item is not None else None
    return json.loads(text) if text else None


class PalettePanel(QWidget):
    """Search box over a category tree of blocks; drag or double-click to add one."""

    block_requested = Signal(dict)        # add this entry to the canvas
    block_below_requested = Signal(dict)  # add it after the selected block, connected

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._selected_block: str | None = None
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search blocks")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._add_first_match)

        self.tree = _PaletteTree()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        # itemActivated covers double-click and Enter (per platform convention).
        self.tree.itemActivated.connect(self._activate)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._show_menu)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._populate()

    # -- building ------------------------------------------------------------------------------
    def _populate(self) -> None:
        headers: dict[str, QTreeWidgetItem] = {}
        for category in (*CATEGORIES, COMPOSITE_CATEGORY):
            header = QTreeWidgetItem(self.tree, [category])
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not draggable, not selectable
            font = header.font(0)
            font.setBold(True)
            header.setFont(0, font)
            headers[category] = header
        for entry in palette_entries():
            item = QTreeWidgetItem(headers[entry.category], [entry.label])
            item.setIcon(0, block_icon(entry.glyph, entry.category))
            item.setToolTip(0, entry.tooltip)
            item.setData(0, _PAYLOAD_ROLE, json.dumps(entry.payload))
            item.setData(0, _SEARCH_ROLE, entry.search_text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsDragEnabled)
        for header in headers.values():
            if header.childCount() == 0:  # a category without blocks would only confuse
                self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(header))
        self.tree.expandAll()
        # Wide enough for the longest label: palette entries are never elided.
        self.tree.setMinimumWidth(self.tree.sizeHintForColumn(0) + 2 * self.tree.frameWidth()
                                  + self.tree.verticalScrollBar().sizeHint().width())

    # -- queries -------------------------------------------------------------------------------
    def entry_items(self) -> list[QTreeWidgetItem]:
        """Every block/preset/composite row, in display order (hidden ones included)."""
        return [header.child(row) for header in self._headers() for row in range(header.childCount())]

    def visible_entry_items(self) -> list[QTreeWidgetItem]:
        return [item for item in self.entry_items() if not item.isHidden()]

    def _headers(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    # -- search --------------------------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        """Show the rows whose label, type or help contain every word typed."""
        words = text.lower().split()
        for header in self._headers():
            shown = 0
            for row in range(header.childCount()):
                item = header.child(row)
                visible = all(word in item.data(0, _SEARCH_ROLE) for word in words)
                item.setHidden(not visible)
                shown += visible
            header.setHidden(shown == 0)
        if text != self.search.text():
            self.search.setText(text)

    def _add_first_match(self) -> None:
        """Enter in the search box adds the first match: type "dense", press Enter."""
        if self.search.text().strip():
            visible = self.visible_entry_items()
            if visible:
                self._activate(visible[0])

    def _activate(self, item: QTreeWidgetItem, column: int = 0) -> None:
        payload = item_payload(item)
        if payload is not None:
            self.block_requested.emit(payload)

    # -- right-click menu ------------------------------------------------------------------------
    def set_selected_block(self, name: str | None) -> None:
        """The canvas' single selected block (None: none or several), for "Add below"."""
        self._selected_block = name

    def item_menu(self, item: QTreeWidgetItem) -> QMenu | None:
        payload = item_payload(item)
        if payload is None:
            return None  # a category header
        menu = QMenu(self)
        menu.addAction("Add to canvas").triggered.connect(lambda _=False: self.block_requested.emit(payload))
        below = menu.addAction(f"Add below {self._selected_block}" if self._selected_block
                               else "Add below selected block")
        below.setEnabled(self._selected_block is not None)
        below.triggered.connect(lambda _=False: self.block_below_requested.emit(payload))
        return menu

    def _show_menu(self, point) -> None:
        item = self.tree.itemAt(point)
        menu = self.item_menu(item) if item is not None else None
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(point))
