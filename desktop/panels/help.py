"""Help dialogs: the keyboard shortcut sheet and the first-run guide.

`ShortcutSheet(actions)` lists every action that has a shortcut, grouped by menu, plus
the canvas gestures (only those GraphView / GraphScene really support).
`FirstRunGuide` walks through a first session; the caller reads `show_at_start()`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QHeaderView, QLabel,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

GESTURES_GROUP = "Canvas"

# What the canvas understands (desktop/canvas/view.py and scene.py); keep in step with them.
CANVAS_GESTURES: tuple[tuple[str, str], ...] = (
    ("Drag from Blocks", "Add a block where you drop it (on a connection: insert it there)"),
    ("Double-click in Blocks", "Add the block to the canvas"),
    ("Drag output port to input port", "Connect two blocks"),
    ("Drag a block", "Move it (all selected blocks move together)"),
    ("Drag on empty canvas", "Select the blocks inside the rectangle"),
    ("Delete", "Delete the selected blocks and connections"),
    ("Mouse wheel", "Zoom around the pointer"),
    ("Shift+wheel or Alt+wheel", "Scroll instead of zooming"),
    ("Middle-drag", "Pan the view"),
    ("Click or drag in the minimap", "Move the view there"),
    ("Double-click a composite", "Expand it; double-click its frame's title to collapse it"),
)


def shortcut_text(action: QAction) -> str:
    """All of an action's shortcuts, as this platform writes them ("Ctrl+S")."""
    return ", ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts())


def plain_text(text: str) -> str:
    """Menu text without its mnemonic ampersand or trailing dots: "Save &As..." -> "Save As"."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".").strip()


def shortcut_groups(actions: list[tuple[str, QAction]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(menu title, [(action, keys)])] for the actions that have a shortcut, menus in the
    order given, each action once."""
    groups: dict[str, list[tuple[str, str]]] = {}
    seen: set[int] = set()
    for menu, action in actions:
        keys = shortcut_text(action)
        if not keys or id(action) in seen:
            continue
        seen.add(id(action))
        groups.setdefault(plain_text(menu), []).append((plain_text(action.text()), keys))
    return list(groups.items())


class ShortcutSheet(QDialog):
    def __init__(self, actions: list[tuple[str, QAction]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts and Gestures")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys / gesture"])
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)

        groups = shortcut_groups(actions)
        gestures = [(what, how) for how, what in CANVAS_GESTURES]
        for title, entries in groups + [(GESTURES_GROUP, gestures)]:
            self._add_group(title, entries)
        self.tree.expandAll()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(640, 520)

    def _add_group(self, title: str, entries: list[tuple[str, str]]) -> None:
        group = QTreeWidgetItem(self.tree, [title])
        group.setFirstColumnSpanned(True)
        font = group.font(0)
        font.setBold(True)
        group.setFont(0, font)
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        for label, keys in entries:
            QTreeWidgetItem(group, [label, keys])

    def entries(self) -> dict[str, list[tuple[str, str]]]:
        """{group: [(action or gesture effect, keys or gesture)]}, as shown."""
        shown = {}
        for index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(index)
            shown[group.text(0)] = [(group.child(i).text(0), group.child(i).text(1))
                                    for i in range(group.childCount())]
        return shown


GUIDE_STEPS: tuple[tuple[str, str], ...] = (
    ("Start from a template",
     "LeNet-5 is open to begin with. File > New from Template offers VGG, ResNet and more."),
    ("Check the shapes",
     "Every connection shows the shape that flows along it. Click a block to see its "
     "settings, parameters and receptive field in Properties."),
    ("Fix what Problems lists",
     "Problems names every block that cannot work yet. Click a problem to find the block; "
     "many have a one-click Fix."),
    ("Train it",
     "Switch to the Train workspace, pick a dataset (Digits and Shapes need no download), "
     "and click Train."),
    ("Watch it learn",
     "Loss and accuracy curves update after every batch; Stop whenever you like."),
    ("Look inside",
     "In the Inspect workspace, see the learned filters and the feature maps one image makes."),
)


class FirstRunGuide(QDialog):
    """A short walk through the first session; "Don't show at start" is read by the caller."""

    def __init__(self, show_at_start: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to CNN Studio")
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        title = QLabel("Build a network, train it, and look inside, in six steps")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        title.setWordWrap(True)
        layout.addWidget(title)
        self.step_labels: list[QLabel] = []
        for number, (heading, text) in enumerate(GUIDE_STEPS, start=1):
            label = QLabel(f"<b>{number}. {heading}</b><br>{text}")
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            self.step_labels.append(label)
            layout.addWidget(label)
        layout.addSpacing(6)
        self.dont_show = QCheckBox("Don't show at start")
        self.dont_show.setChecked(not show_at_start)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self.accept)
        layout.addWidget(self.dont_show)
        layout.addWidget(buttons)
        self.resize(540, self.heightForWidth(540) if self.hasHeightForWidth() else 420)

    def show_at_start(self) -> bool:
        return not self.dont_show.isChecked()
