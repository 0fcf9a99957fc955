"""Workspaces: the window arranged around the task at hand, as in MATLAB's Deep Network
Designer: **Design** (blocks, canvas, properties, problems), **Train** (settings, live
curves, runs) and **Inspect** (what the trained network learned). One page shows at a time,
so each gets the whole window; the splitters inside remember their sizes."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QStackedWidget, QTabBar, QWidget

from desktop.settings import decode_bytes, encode_bytes


@dataclass(frozen=True)
class Workspace:
    key: str
    title: str
    shortcut: str
    tip: str


WORKSPACES = (
    Workspace("design", "Design", "Ctrl+1", "Build the network: blocks, canvas, properties, problems"),
    Workspace("train", "Train", "Ctrl+2", "Choose data and settings, train, watch the curves, compare runs"),
    Workspace("inspect", "Inspect", "Ctrl+3", "Filters, feature maps and baselines of a trained run"),
)
WORKSPACE_KEYS = tuple(workspace.key for workspace in WORKSPACES)


def splitter(name: str, orientation: Qt.Orientation, widgets: list[QWidget],
             sizes: list[int], stretch: list[int] | None = None) -> QSplitter:
    """A named splitter (its sizes are saved under `name`); no pane collapses to nothing
    by accident, and the stretch factors say which pane takes a window's extra room."""
    pane = QSplitter(orientation)
    pane.setObjectName(name)
    pane.setChildrenCollapsible(False)
    pane.setHandleWidth(6)
    for index, widget in enumerate(widgets):
        pane.addWidget(widget)
        pane.setStretchFactor(index, (stretch or [1] * len(widgets))[index])
    pane.setSizes(sizes)
    pane.setProperty("default_sizes", sizes)  # applied, scaled, when its page first shows
    return pane


def scrolling(widget: QWidget, name: str) -> QScrollArea:
    """A panel that scrolls only when the window is smaller than it needs (below 1280x800)."""
    area = QScrollArea()
    area.setObjectName(name)
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return area


class Workspaces(QStackedWidget):
    """The pages, the tab bar that switches them and the View menu's actions (Ctrl+1..3)."""

    changed = Signal(str)  # the key of the workspace now shown

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._pages: dict[str, QWidget] = {}
        self.tabs = QTabBar()
        self.tabs.setObjectName("workspace_tabs")
        self.tabs.setDrawBase(False)
        self.tabs.setExpanding(False)
        self.actions_group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for workspace in WORKSPACES:
            index = self.tabs.addTab(workspace.title)
            self.tabs.setTabToolTip(index, f"{workspace.tip} ({workspace.shortcut})")
            action = QAction(workspace.title, self, checkable=True)
            action.setShortcut(QKeySequence(workspace.shortcut))
            action.setStatusTip(workspace.tip)
            action.triggered.connect(lambda _=False, key=workspace.key: self.show_workspace(key))
            self.actions_group.addAction(action)
            self.actions[workspace.key] = action
        self.tabs.currentChanged.connect(lambda index: self.show_workspace(WORKSPACE_KEYS[index]))

    def add_page(self, key: str, page: QWidget) -> None:
        self._pages[key] = page
        self.addWidget(page)
        if len(self._pages) == 1:
            self.show_workspace(key)

    @property
    def current(self) -> str:
        for key, page in self._pages.items():
            if page is self.currentWidget():
                return key
        return WORKSPACE_KEYS[0]

    def show_workspace(self, key: str) -> None:
        if key not in self._pages:
            return
        changed = self.currentWidget() is not self._pages[key]
        self.setCurrentWidget(self._pages[key])
        self._size_page(self._pages[key])
        index = WORKSPACE_KEYS.index(key)
        if self.tabs.currentIndex() != index:
            self.tabs.setCurrentIndex(index)
        self.actions[key].setChecked(True)
        if changed:
            self.changed.emit(key)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._size_page(self.currentWidget())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._size_page(self.currentWidget())

    def _size_page(self, page: QWidget | None) -> None:
        """Default splitter sizes mean proportions of the window as first shown: applied
        once the page has its real size (before that, Qt rescales them from size hints)."""
        if page is None or not self.isVisible():
            return
        panes = [page] if isinstance(page, QSplitter) else []
        for pane in panes + page.findChildren(QSplitter):
            wanted = pane.property("default_sizes")
            total = sum(pane.sizes())
            if not wanted or total <= 0 or pane.property("sized"):
                continue
            pane.setProperty("sized", True)
            pane.setSizes([round(total * size / sum(wanted)) for size in wanted])

    # -- what is remembered between sessions ------------------------------------------------
    def splitters(self) -> list[QSplitter]:
        return [pane for pane in self.findChildren(QSplitter) if pane.objectName()]

    def save_layout(self) -> dict:
        return {"workspace": self.current,
                "splitters": {pane.objectName(): encode_bytes(bytes(pane.saveState().data()))
                              for pane in self.splitters()}}

    def restore_layout(self, layout: dict) -> None:
        """Sizes from a previous session; a missing or damaged entry keeps the defaults."""
        states = layout.get("splitters") if isinstance(layout, dict) else None
        if isinstance(states, dict):
            for pane in self.splitters():
                state = states.get(pane.objectName())
                if isinstance(state, str) and state and pane.restoreState(
                        QByteArray(decode_bytes(state))):
                    pane.setProperty("sized", True)  # the user's sizes, not the defaults
        key = layout.get("workspace") if isinstance(layout, dict) else None
        if key in WORKSPACE_KEYS:
            self.show_workspace(key)
