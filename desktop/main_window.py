"""The main window: three workspaces (Design, Train, Inspect) under one menu bar, the
status line with the network's totals, and the wiring between the panels. What the window
does lives in its parts (desktop/window/): files, editing, training and Keras jobs."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (QApplication, QLabel, QMainWindow, QMessageBox, QTabWidget,
                               QToolBar, QWidget)

from desktop.canvas.scene import GraphScene
from desktop.canvas.view import GraphView
from desktop.document import ProjectDocument
from desktop.engine_client import EngineClient
from desktop.engine_tasks import EngineTask
from desktop.panels.analyze import AnalyzePanel
from desktop.panels.inspector import InspectorPanel
from desktop.panels.lab import FeaturesLab
from desktop.panels.monitor import TrainingMonitor
from desktop.panels.palette import PalettePanel
from desktop.panels.problems import ProblemsPanel
from desktop.panels.runs import RunsPanel
from desktop.panels.training_panel import TrainingPanel
from desktop.recovery import AutosaveController, RecoveryStore
from desktop.settings import Settings, decode_bytes
from desktop.theme import apply_theme, current_theme
from desktop.window.files import FileActions
from desktop.window.jobs import KerasJobs
from desktop.window.menus import build_menus
from desktop.window.training import TrainingActions
from desktop.workers import Engine, shared_engine
from desktop.workspaces import Workspaces, scrolling, splitter
from engine import __version__
from engine.graph.validate import ERROR

APP_NAME = "CNN Studio"
DEFAULT_SIZE = QSize(1440, 900)  # shrunk to fit the screen at first start
H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical


class _FirstPaint(QObject):
    """Calls `then` once, after `widget` has painted for the first time."""

    def __init__(self, widget: QWidget, then):
        super().__init__(widget)
        self.then = then
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint and self.then is not None:
            then, self.then = self.then, None
            watched.removeEventFilter(self)
            then()
        return False


class MainWindow(FileActions, TrainingActions, KerasJobs, QMainWindow):
    """settings / recovery: where recent files, window layout and autosaves live (the app
    passes the user's; tests pass temporary ones or none)."""

    def __init__(self, document: ProjectDocument | None = None, settings: Settings | None = None,
                 recovery: RecoveryStore | None = None, engine: Engine | None = None):
        super().__init__()
        self.engine = engine or shared_engine()
        self.document = document or ProjectDocument(parent=self)
        self.settings = settings
        self.autosave = AutosaveController(self.document, recovery, parent=self) if recovery else None
        self.task: EngineTask | None = None
        self.runs_root_override = None  # tests and the CLI-like uses set this
        self.trainer = EngineClient(self, engine=self.engine)
        self.scene = GraphScene(self.document, self)
        self.view = GraphView(self.scene, self)
        self.palette_panel = PalettePanel(self)
        self.inspector = InspectorPanel(self.document, self)
        self.problems = ProblemsPanel(self.document, self)
        self.analyze = AnalyzePanel(self.document, self)
        self.training = TrainingPanel(self.document, self)
        self.monitor = TrainingMonitor(self)
        self.runs = RunsPanel(parent=self)
        self.lab = FeaturesLab(self)
        self.workspaces = Workspaces(self)
        self._build_workspaces()
        self.setCentralWidget(self.workspaces)
        self.totals = QLabel()
        self.statusBar().addPermanentWidget(self.totals)
        build_menus(self)
        self._connect_signals()
        self._refresh_title()
        self._refresh_totals()
        self.resize(_first_size())
        self._restore_window_layout()
        self._refresh_recent_menu()
        self._warm_after_first_paint = _FirstPaint(self.view.viewport(), self._first_painted)

    def _first_painted(self) -> None:
        """TensorFlow loads in the workers while the user reads the canvas."""
        QTimer.singleShot(0, self.engine.warm_up)

    # -- layout ------------------------------------------------------------------------------
    def _build_workspaces(self) -> None:
        """Design: canvas first (>= 45% of a 1280x800 window). Train: every setting in view
        beside the curves and runs. Inspect: the Lab gets the whole window."""
        side = splitter("design_side", V, [self.inspector, self.problems], [500, 200], [3, 1])
        centre = splitter("design_centre", V, [self.view, self.analyze], [520, 200], [1, 0])
        self.analyze.hide()  # canvas first: View > Show Analyze (Ctrl+Shift+A) opens it
        design = splitter("design", H, [self.palette_panel, centre, side], [200, 760, 320], [0, 1, 0])
        self.train_tabs = QTabWidget()
        self.train_tabs.setDocumentMode(True)
        self.train_tabs.addTab(self.monitor, "Monitor")
        self.train_tabs.addTab(self.runs, "Runs")
        train = splitter("train", H, [scrolling(self.training, "train_settings"), self.train_tabs],
                         [560, 720], [0, 1])
        self.design_panels = {"Analyze": (self.analyze, "Ctrl+Shift+A"), "Problems": (self.problems, None),
                              "Properties": (self.inspector, None)}
        self.workspaces.add_page("design", design)
        self.workspaces.add_page("train", train)
        self.workspaces.add_page("inspect", self.lab)
        bar = QToolBar("Workspaces", self)
        bar.setObjectName("workspace_bar")
        bar.setMovable(False)
        bar.addWidget(self.workspaces.tabs)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    def show_monitor(self) -> None:
        self.workspaces.show_workspace("train")
        self.train_tabs.setCurrentWidget(self.monitor)

    def show_runs(self) -> None:
        self.workspaces.show_workspace("train")
        self.train_tabs.setCurrentWidget(self.runs)

    def show_panel(self, title: str, visible: bool = True) -> None:
        """View > Show Analyze / Problems / Properties: a pane of the Design workspace."""
        panel, _shortcut = self.design_panels[title]
        panel.setVisible(visible)
        self.panel_actions[title].setChecked(visible)
        if visible:
            self.workspaces.show_workspace("design")

    def set_theme(self, theme: str) -> None:
        apply_theme(QApplication.instance(), theme)
        self.theme_actions[current_theme()].setChecked(True)
        if self.settings is not None:
            self.settings.theme = current_theme()
            self._save_settings()

    def _connect_signals(self) -> None:
        doc = self.document
        doc.spec_changed.connect(self._refresh_totals)
        doc.path_changed.connect(self._refresh_title)
        doc.modified_changed.connect(lambda _: self._refresh_title())
        doc.edit_refused.connect(lambda message: self.statusBar().showMessage(message, 6000))
        doc.path_changed.connect(self._remember_path)
        if self.autosave is not None:
            self.autosave.failed.connect(lambda message: self.statusBar().showMessage(message, 8000))
        self.scene.selectionChanged.connect(self._selection_changed)
        self.palette_panel.block_requested.connect(self.view.add_block_in_view)
        self.palette_panel.block_below_requested.connect(self.scene.add_below_selected)
        self.view.block_dropped.connect(self.scene.drop_block)
        self.scene.status_message.connect(lambda message: self.statusBar().showMessage(message, 6000))
        self.scene.analyze_requested.connect(self.show_in_analyze)
        self.scene.feature_maps_requested.connect(self.show_feature_maps)
        self.problems.node_activated.connect(self.reveal_node)
        self.analyze.node_activated.connect(self.reveal_node)
        self.theme_actions[current_theme()].setChecked(True)
        self._connect_training()

    def train_now(self) -> bool:
        """Train > Train (F5) from any workspace: the Train workspace shows the run."""
        self.workspaces.show_workspace("train")
        return self.start_training(self.training.config())

    # -- status ------------------------------------------------------------------------------
    def _refresh_title(self) -> None:
        self.setWindowTitle(f"{self.document.title}[*] — {APP_NAME}")
        self.setWindowModified(self.document.is_modified)

    def _refresh_totals(self) -> None:
        info, diagnostics = self.document.info, self.document.diagnostics
        errors = sum(d.severity == ERROR for d in diagnostics)
        warnings = len(diagnostics) - errors
        macs = "? MACs" if info.total_macs is None else f"{info.total_macs:,} MACs/sample"
        field = self._final_receptive_field()
        problems = "no problems" if not diagnostics else f"{errors} errors, {warnings} warnings"
        self.totals.setText(f"{info.total_params:,} params · {macs} · "
                            f"{info.weight_bytes / 1024:,.1f} KiB weights · receptive field {field} · "
                            f"{problems}")

    def _final_receptive_field(self) -> str:
        """The receptive field of the last block that still has a spatial grid."""
        info = self.document.info
        last = None
        for node_id in info.order:
            node_info = info.nodes[node_id]
            field = node_info.receptive_field
            if field is not None and not field.whole_input and node_info.output_shape \
                    and len(node_info.output_shape) == 3:
                last = field
        return "?" if last is None else f"{last.size[0]}x{last.size[1]}"


    def _selection_changed(self) -> None:
        ids = self.scene.selected_node_ids()
        self.inspector.show_node(ids[0] if len(ids) == 1 else None)
        self.analyze.select_node(ids[0] if len(ids) == 1 else None)
        single = self.scene.single_selected_node_id()
        spec = self.document.spec
        node = spec.node(single) if single and spec.has_node(single) else None
        self.palette_panel.set_selected_block(node.name if node else None)

    def select_all(self) -> None:
        for item in self.scene.items():
            if item.isVisible() and item.flags() & item.GraphicsItemFlag.ItemIsSelectable:
                item.setSelected(True)

    def reveal_node(self, node_id: str) -> None:
        if not node_id or not self.document.spec.has_node(node_id):
            return
        self.workspaces.show_workspace("design")
        self.scene.select_nodes([node_id])
        self.view.centre_on_rect(self.scene.block_rect(node_id))

    # -- settings ----------------------------------------------------------------------------
    def _restore_window_layout(self) -> None:
        if self.settings is None:
            return
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray(decode_bytes(self.settings.window_geometry)))
        self.workspaces.restore_layout(self.settings.layout)
        hidden = self.settings.layout.get("hidden_panels", [])
        for title in self.design_panels:
            if isinstance(hidden, list) and title in hidden:
                self.show_panel(title, False)

    def _store_window_layout(self) -> None:
        self.settings.store_window(bytes(self.saveGeometry().data()), bytes(self.saveState().data()))
        self.settings.layout = {**self.workspaces.save_layout(), "hidden_panels": [
            title for title, (panel, _shortcut) in self.design_panels.items() if panel.isHidden()]}

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self._confirm_discard():
            event.ignore()
            return
        if self.settings is not None:
            self._store_window_layout()
            self._save_settings()
        if self.autosave is not None:
            self.autosave.stop()
        if self.task is not None:
            self.task.cancel()
        if self.trainer.is_running():
            self.trainer.shutdown()  # stops after the batch; the run stays resumable
        self.monitor.shutdown()  # the TensorBoard servers this window started
        event.accept()

    def show_shortcuts(self) -> None:
        from desktop.panels.help import ShortcutSheet

        ShortcutSheet(self._menu_actions(), self).exec()

    def show_in_analyze(self, node_id: str) -> None:
        self.show_panel("Analyze", True)
        self.analyze.select_node(node_id)

    def show_feature_maps(self, node_id: str) -> None:
        """A block's "Feature maps for this layer": the Inspect workspace shows them for the
        trained run (the Lab explains when there is none yet)."""
        node = self.document.spec.node(node_id) if self.document.spec.has_node(node_id) else None
        if node is not None:
            self.workspaces.show_workspace("inspect")
            self.lab.show_layer(node.name)

    def show_guide(self) -> None:
        from desktop.panels.help import FirstRunGuide

        guide = FirstRunGuide(self.settings.show_guide if self.settings else True, self)
        guide.exec()
        if self.settings is not None:
            self.settings.show_guide = guide.show_at_start()
            self._save_settings()

    def _menu_actions(self) -> list:
        """(menu title, action) for every action in the menus, in menu order."""
        found = []

        def walk(menu, title):
            for action in menu.actions():
                if action.menu() is not None:
                    walk(action.menu(), title)
                elif not action.isSeparator():
                    found.append((title, action))

        for top in self.menuBar().actions():
            if top.menu() is not None:
                walk(top.menu(), top.text().replace("&", ""))
        return found

    def about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", about_html())


def about_html() -> str:
    """The About box: version (from pyproject.toml), how this copy runs, and its Qt."""
    import sys

    import PySide6
    from PySide6.QtCore import qVersion

    installed = "installed app" if getattr(sys, "frozen", False) else f"Python {sys.version.split()[0]}"
    return (f"<b>{APP_NAME}</b> {__version__}<br>Build convolutional networks from blocks, "
            "train them, and see what they learned.<br><br>"
            f"{installed} &middot; Qt {qVersion()} (PySide6 {PySide6.__version__}) &middot; "
            "Keras and TensorFlow run in a separate worker process")



def _first_size() -> QSize:
    """The default size, or the screen's available area when that is smaller."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return DEFAULT_SIZE
    available = screen.availableGeometry().size()
    return QSize(min(DEFAULT_SIZE.width(), available.width()),
                 min(DEFAULT_SIZE.height(), available.height()))
