"""The canvas' right-click menus. Each item calls the same scene/view command as the
keyboard shortcut or main-menu action that does the same thing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit, QMenu, QWidgetAction

from desktop.canvas import clipboard
from desktop.canvas.items import BlockItem, GroupCardItem
from desktop.panels.palette import block_icon, palette_entries
from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.graph.edits import Disconnect
from engine.graph.spec import EdgeSpec

if TYPE_CHECKING:
    from desktop.canvas.view import GraphView


def block_menu(view: GraphView, block: BlockItem) -> QMenu:
    scene = view.scene()
    menu = QMenu(view)
    _add(menu, "Delete", scene.delete_selection)
    _add(menu, "Duplicate", scene.duplicate_selection)
    if isinstance(block, GroupCardItem):
        group = scene.document.spec.group(block.group_id)
        _add(menu, f"Expand {group.name}", lambda: scene.set_group_collapsed(group.id, False))
        return menu
    group = scene.document.spec.group_of(block.node_id)
    if group is not None:
        _add(menu, f"Collapse {group.name}", lambda: scene.set_group_collapsed(group.id, True))
    menu.addSeparator()
    node_id = block.node_id
    _add(menu, "Show in Analyze", lambda: scene.analyze_requested.emit(node_id))
    _add(menu, "Feature maps for this layer", lambda: scene.feature_maps_requested.emit(node_id))
    return menu


def edge_menu(view: GraphView, edge: EdgeSpec) -> QMenu:
    scene = view.scene()
    menu = QMenu(view)
    insert = InsertBlockMenu(view, lambda payload: scene.add_block(payload, None, edge))
    insert.setTitle("Insert block…")
    menu.addMenu(insert)
    menu.insert_menu = insert  # reachable for tests and keyboard users alike
    _add(menu, "Delete", lambda: scene.document.apply(Disconnect(edge), "Delete connection"))
    return menu


def background_menu(view: GraphView, point: QPointF) -> QMenu:
    scene = view.scene()
    menu = QMenu(view)
    paste = _add(menu, "Paste", lambda: scene.paste(point))
    paste.setEnabled(clipboard.has_copied_nodes())
    _add(menu, "Auto-layout", view.auto_layout)
    _add(menu, "Fit to window", view.fit)
    return menu


class InsertBlockMenu(QMenu):
    """Every catalogue block that can sit on a connection, with a search box on top: type
    a few letters, press Enter to insert the first match."""

    def __init__(self, parent, insert):
        super().__init__(parent)
        self.insert = insert
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search blocks")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._insert_first)
        box = QWidgetAction(self)
        box.setDefaultWidget(self.search)
        self.addAction(box)
        self.block_actions: list[QAction] = []
        for entry in palette_entries():
            block = BLOCKS_BY_TYPE.get(entry.payload.get("type", ""))
            if block is not None and block.max_inputs == 0:
                continue  # nothing can feed an Input
            action = QAction(block_icon(entry.glyph, entry.category), entry.label, self)
            action.setData(entry.search_text)
            action.triggered.connect(lambda _=False, payload=entry.payload: self.insert(payload))
            self.addAction(action)
            self.block_actions.append(action)
        self.aboutToShow.connect(lambda: self.search.setFocus(Qt.FocusReason.PopupFocusReason))

    def set_filter(self, text: str) -> None:
        words = text.lower().split()
        for action in self.block_actions:
            action.setVisible(all(word in action.data() for word in words))

    def visible_actions(self) -> list[QAction]:
        return [a for a in self.block_actions if a.isVisible()]

    def _insert_first(self) -> None:
        visible = self.visible_actions()
        if visible:
            visible[0].trigger()
            self.close()


def _add(menu: QMenu, text: str, slot) -> QAction:
    action = menu.addAction(text)
    action.triggered.connect(lambda _=False: slot())
    return action
