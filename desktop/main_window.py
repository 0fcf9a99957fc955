"""The main window: canvas in the centre, palette, inspector and problems in docks,
menus and shortcuts following desktop conventions."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QWidget)

from desktop.canvas.scene import GraphScene
from desktop.canvas.view import GraphView
from desktop.document import ProjectDocument
from desktop.engine_tasks import EngineTask
from desktop.recovery import AutosaveController, RecoveryStore
from desktop.settings import Settings, decode_bytes
from desktop.style import MIME_NODES
from desktop.engine_client import EngineClient
from desktop.workers import Engine, shared_engine
from desktop.panels.inspector import InspectorPanel
from desktop.panels.lab import FeaturesLab
from desktop.panels.monitor import TrainingMonitor
from desktop.panels.runs import RunsPanel
from desktop.panels.training_panel import TrainingPanel
from desktop.panels.palette import PalettePanel
from desktop.panels.problems import ProblemsPanel
from engine import __version__
from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.blocks.composites import COMPOSITES_BY_KEY
from engine.errors import ProjectError
from engine.graph.edits import (AddNode, AddNodes, CompositeEdit, Connect, Disconnect,
                                InsertNodeOnEdge, MoveNodes, new_node)
from engine.graph.layout import layered_positions
from engine.graph.spec import EdgeSpec, NetworkSpec
from engine.graph.validate import ERROR
from engine.templates import list_templates

APP_NAME = "CNN Studio"
PROJECT_FILTER = "CNN Studio project (*.json)"
PASTE_OFFSET = 40.0


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


class MainWindow(QMainWindow):
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
        self.runs_root_override: Path | None = None  # tests and the CLI-like uses set this
        self.trainer = EngineClient(self, engine=self.engine)
        self.scene = GraphScene(self.document, self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self.palette = PalettePanel(self)
        self.inspector = InspectorPanel(self.document, self)
        self.problems = ProblemsPanel(self.document, self)
        self.training = TrainingPanel(self.document, self)
        self.monitor = TrainingMonitor(self)
        self.runs = RunsPanel(parent=self)
        self.lab = FeaturesLab(self)
        self.docks: dict[str, QDockWidget] = {}
        self._add_dock("Blocks", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("Properties", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("Train", self.training, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.docks["Properties"], self.docks["Train"])
        self.docks["Properties"].raise_()
        self._add_dock("Problems", self.problems, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("Monitor", self.monitor, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("Runs", self.runs, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("Features Lab", self.lab, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["Monitor"], self.docks["Runs"])
        self.tabifyDockWidget(self.docks["Runs"], self.docks["Features Lab"])
        self.docks["Monitor"].raise_()
        self.resizeDocks([self.docks["Properties"], self.docks["Problems"]], [640, 220],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["Blocks"], self.docks["Properties"]], [250, 340],
                         Qt.Orientation.Horizontal)
        self.totals = QLabel()
        self.statusBar().addPermanentWidget(self.totals)
        self._build_menus()
        self._connect_signals()
        self._refresh_title()
        self._refresh_totals()
        self.resize(1400, 860)
        self._restore_window_layout()
        self._refresh_recent_menu()
        self._warm_after_first_paint = _FirstPaint(self.view.viewport(), self._first_painted)

    def _first_painted(self) -> None:
        """TensorFlow loads in the workers while the user reads the canvas."""
        QTimer.singleShot(0, self.engine.warm_up)

    # -- layout ------------------------------------------------------------------------------
    def _add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")  # saveState() needs stable names
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        return dock

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&New", self.new_network, QKeySequence.StandardKey.New)
        templates = file_menu.addMenu("New from &Template")
        for template in list_templates():
            action = self._action(templates, template.title, lambda _=False, k=template.key: self.open_template(k))
            action.setStatusTip(template.description)
        self._action(file_menu, "&Open...", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        self._action(file_menu, "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Save &As...", self.save_as, QKeySequence.StandardKey.SaveAs)
        file_menu.addSeparator()
        self.import_action = self._action(file_menu, "&Import .keras Model...", self.import_dialog)
        export = file_menu.addMenu("&Export")
        self.export_actions = [
            self._action(export, "Keras &Python Script...", lambda: self.export_dialog("python")),
            self._action(export, "&Keras Model (.keras)...", lambda: self.export_dialog("keras")),
        ]
        self._action(export, "Diagram as &PNG...", lambda: self.export_diagram_dialog("png"))
        self._action(export, "Diagram as &SVG...", lambda: self.export_diagram_dialog("svg"))
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        undo = self.document.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.document.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit.addActions([undo, redo])
        edit.addSeparator()
        self._action(edit, "Cu&t", self.cut, QKeySequence.StandardKey.Cut)
        self._action(edit, "&Copy", self.copy, QKeySequence.StandardKey.Copy)
        self._action(edit, "&Paste", self.paste, QKeySequence.StandardKey.Paste)
        self._action(edit, "D&uplicate", self.duplicate, "Ctrl+D")
        self._action(edit, "&Delete", self.scene.delete_selection, QKeySequence.StandardKey.Delete)
        edit.addSeparator()
        self._action(edit, "Select &All", self.select_all, QKeySequence.StandardKey.SelectAll)

        view = bar.addMenu("&View")
        self._action(view, "Zoom &In", self.view.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Zoom &Out", self.view.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self._action(view, "&Fit to Window", self.view.fit, "Ctrl+0")
        view.addSeparator()
        self._action(view, "Auto-layout &Left to Right", lambda: self.auto_layout("LR"), "Ctrl+L")
        self._action(view, "Auto-layout &Top Down", lambda: self.auto_layout("TB"), "Ctrl+Shift+L")
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About CNN Studio", self.about)

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
        self.palette.block_requested.connect(lambda payload: self.add_from_payload(payload, None, None))
        self.view.block_dropped.connect(self.add_from_payload)
        self.problems.node_activated.connect(self.reveal_node)
        self._connect_training()

    # -- training ----------------------------------------------------------------------------
    def _connect_training(self) -> None:
        panel, client, monitor = self.training, self.trainer, self.monitor
        panel.train_requested.connect(self.start_training)
        panel.pause_requested.connect(client.pause)
        panel.continue_requested.connect(client.continue_training)
        panel.stop_requested.connect(client.stop)
        client.state_changed.connect(panel.set_state)
        client.state_changed.connect(monitor.set_state)  # "Paused" is shown as such
        client.event_received.connect(monitor.handle_event)
        client.filters_snapshot.connect(self.lab.handle_event)  # kernels forming, live
        for signal in (client.started, client.batch_ended, client.epoch_ended):
            signal.connect(panel.show_progress)
        client.finished.connect(self._training_finished)
        client.stopped.connect(self._training_stopped)
        client.failed.connect(self._training_failed)
        # The Runs list follows the run live: its status and epochs as they happen.
        client.started.connect(lambda _: self.runs.refresh())
        client.epoch_ended.connect(lambda _: self.runs.refresh())
        self.runs.open_spec_requested.connect(self.open_run_spec)
        self.runs.show_run_requested.connect(self.show_run)
        self.runs.resume_requested.connect(self.resume_training)
        self.runs.export_requested.connect(self.export_run_dialog)
        self.runs.selection_changed.connect(self._runs_selected)
        self.runs.set_root(self.runs_root())
        self.document.path_changed.connect(lambda: self.runs.set_root(self.runs_root()))

    def runs_root(self) -> Path:
        """runs/ beside the project file; for a never-saved project, in the user's data folder."""
        if self.runs_root_override is not None:
            return self.runs_root_override
        if self.document.path is not None:
            return self.document.path.parent / "runs"
        import platformdirs

        return Path(platformdirs.user_data_dir("cnn-studio")) / "runs"

    def start_training(self, config) -> bool:
        if config is None:  # the form is invalid: its red line says why
            reason = self.training.config_problem() or "the training settings are not valid"
            self.statusBar().showMessage(f"Cannot train: {reason}", 8000)
            return False
        if self.trainer.is_running():
            self.statusBar().showMessage("A training run is already going.", 6000)
            return False
        errors = [d for d in self.document.diagnostics if d.severity == ERROR]
        if errors:  # the panel disables Train too; this guards every other way in
            QMessageBox.warning(self, APP_NAME, f"Fix the {len(errors)} problem(s) first: {errors[0].message}")
            return False
        self.monitor.clear()
        self.docks["Monitor"].raise_()
        self.trainer.start(self.document.spec, config, self.runs_root(), name=self.document.title)
        self.statusBar().showMessage("Starting the training process...", 4000)
        return True

    def resume_training(self, run_dir: str) -> None:
        if self.trainer.is_running():
            self.statusBar().showMessage("A training run is already going.", 6000)
            return
        self.monitor.clear()
        self.docks["Monitor"].raise_()
        self.trainer.resume(run_dir)

    def _runs_selected(self, paths: list) -> None:
        """The Features Lab follows the run picked in the Runs list (one with a model)."""
        if len(paths) == 1 and (Path(paths[0]) / "model.keras").is_file() \
                and not self.trainer.is_running():
            self.lab.set_run(paths[0])

    def _training_finished(self, event: dict) -> None:
        self.runs.refresh()
        self.lab.training_ended(event["run_dir"])
        self.statusBar().showMessage(f"Training finished: test accuracy {100 * event['test_accuracy']:.1f}%", 10000)

    def _training_stopped(self, event: dict) -> None:
        self.runs.refresh()
        self.lab.training_ended(event.get("run_dir"))
        self.statusBar().showMessage(event.get("message", "Training stopped."), 10000)

    def _training_failed(self, event: dict) -> None:
        self.runs.refresh()
        self.lab.training_ended(event.get("run_dir"))
        message = event.get("message", "Training failed.")
        if event.get("resumable") and event.get("run_dir"):
            answer = QMessageBox.question(
                self, APP_NAME, f"{message}\n\nResume from epoch {event.get('resume_epoch')}?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
            if answer == QMessageBox.StandardButton.Yes:
                self.resume_training(event["run_dir"])
            return
        QMessageBox.warning(self, APP_NAME, message)

    def open_run_spec(self, spec) -> None:
        """Open the exact network a run trained (a new, unsaved document)."""
        if self._confirm_discard():
            self.document.replace_document(spec, None)
            self.view.show_network()

    def show_run(self, run_dir: str) -> None:
        from engine.training.runs import RunFolder

        folder = RunFolder(Path(run_dir))
        try:
            self.monitor.show_run(folder.history(), folder.metrics(), folder.examples())
        except ProjectError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        if folder.metrics() is not None:  # a finished run: its model can be inspected
            self.lab.set_run(run_dir)
        self.docks["Monitor"].raise_()

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

    def reveal_node(self, node_id: str) -> None:
        if not node_id or not self.document.spec.has_node(node_id):
            return
        self.scene.select_nodes([node_id])
        self.view.centre_on_rect(self.scene.block_rect(node_id))

    # -- adding blocks -----------------------------------------------------------------------
    def add_from_payload(self, payload: dict, position: QPointF | None, edge: EdgeSpec | None) -> bool:
        """A palette item dropped at `position` (on `edge`, inserting it), or double-clicked
        (position None: the view centre)."""
        if position is None:
            position = self.view.view_centre() - QPointF(100, 46)
        where = (position.x(), position.y())
        spec = self.document.spec
        if "composite" in payload:
            return self._add_composite(payload["composite"], where, edge)
        type_name = payload.get("type")
        if type_name not in BLOCKS_BY_TYPE:
            return False
        try:
            node = new_node(spec, type_name, payload.get("params") or {}, name=payload.get("name"))
        except Exception as error:  # noqa: BLE001 - a malformed payload from another app
            self.statusBar().showMessage(f"Cannot add that block: {error}", 6000)
            return False
        block = BLOCKS_BY_TYPE[type_name]
        if edge is not None and block.max_inputs != 0:
            ok = self.document.apply(InsertNodeOnEdge(edge, node, where), f"Insert {node.name}")
        else:
            ok = self.document.apply(AddNode(node, where), f"Add {node.name}")
        if ok:
            self.scene.select_nodes([node.id])
        return ok

    def _add_composite(self, key: str, where: tuple[float, float], edge: EdgeSpec | None) -> bool:
        composite = COMPOSITES_BY_KEY.get(key)
        if composite is None:
            return False
        parts = composite.build(self.document.spec)
        inner = NetworkSpec(nodes=parts.nodes, edges=parts.edges)
        positions = {node_id: (x + where[0], y + where[1])
                     for node_id, (x, y) in layered_positions(inner).items()}
        edges = list(parts.edges)
        edits = []
        if edge is not None:
            edits.append(Disconnect(edge))
            edges += [EdgeSpec(edge.source, entry) for entry in parts.entries]
        edits.append(AddNodes(parts.nodes, tuple(edges), positions, groups=(parts.group,)))
        if edge is not None:
            edits.append(Connect(EdgeSpec((parts.exit, 0), edge.target)))
        return self.document.apply(CompositeEdit(tuple(edits)), f"Add {composite.label}")

    # -- clipboard ---------------------------------------------------------------------------
    def copy(self) -> None:
        ids = set(self.scene.selected_node_ids())
        if not ids:
            return
        spec = self.document.spec
        data = {
            "nodes": [n.to_dict() for n in spec.nodes if n.id in ids],
            "edges": [e.to_dict() for e in spec.edges if e.source[0] in ids and e.target[0] in ids],
            "layout": {k: list(v) for k, v in spec.layout.items() if k in ids},
        }
        mime = QMimeData()
        mime.setData(MIME_NODES, QByteArray(json.dumps(data).encode("utf-8")))
        mime.setText(json.dumps(data, indent=2))
        QGuiApplication.clipboard().setMimeData(mime)

    def cut(self) -> None:
        self.copy()
        self.scene.delete_selection()

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(MIME_NODES):
            return
        try:
            data = json.loads(bytes(mime.data(MIME_NODES)).decode("utf-8"))
            self._paste_data(data, "Paste")
        except (ValueError, KeyError, TypeError, ProjectError) as error:
            self.statusBar().showMessage(f"Cannot paste: {error}", 6000)

    def duplicate(self) -> None:
        self.copy()
        self.paste()

    def _paste_data(self, data: dict, label: str) -> None:
        """Add copied blocks with fresh ids and names, offset so they do not hide the originals."""
        spec = self.document.spec
        fragment = NetworkSpec.from_dict({"format_version": 1, "nodes": data["nodes"],
                                          "edges": data["edges"], "layout": data.get("layout", {})})
        renamed, new_ids, working = [], {}, spec
        for node in fragment.nodes:
            fresh = new_node(working, node.type, dict(node.params), name=node.name)
            new_ids[node.id] = fresh.id
            working = AddNode(fresh).apply(working)
            renamed.append(fresh)
        edges = tuple(EdgeSpec((new_ids[e.source[0]], 0), (new_ids[e.target[0]], e.target[1]))
                      for e in fragment.edges)
        positions = {new_ids[k]: (x + PASTE_OFFSET, y + PASTE_OFFSET) for k, (x, y) in fragment.layout.items()}
        if self.document.apply(AddNodes(tuple(renamed), edges, positions), label):
            self.scene.select_nodes(list(new_ids.values()))

    def select_all(self) -> None:
        for item in self.scene.items():
            if item.isVisible() and item.flags() & item.GraphicsItemFlag.ItemIsSelectable:
                item.setSelected(True)

    def auto_layout(self, direction: str) -> None:
        positions = layered_positions(self.document.spec, direction)
        if self.document.apply(MoveNodes(positions), "Auto-layout"):
            self.view.show_network()

    # -- files ---------------------------------------------------------------------------------
    def new_network(self) -> None:
        if not self._confirm_discard():
            return
        spec = NetworkSpec(name="Untitled")
        node = new_node(spec, "InputLayer", {"shape": [32, 32, 1]}, name="input")
        self.document.replace_document(AddNode(node, (0.0, 0.0)).apply(spec), None)

    def open_template(self, key: str) -> None:
        if not self._confirm_discard():
            return
        self._guarded(lambda: self.document.open_template(key))
        self.view.show_network()

    def open_dialog(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open project", "", PROJECT_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open a project; a broken file shows the engine's message and changes nothing."""
        if self._guarded(lambda: self.document.open(path)):
            self.view.show_network()
            return True
        return False

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._guarded(self.document.save)

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save project", f"{self.document.title}.json",
                                              PROJECT_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self._guarded(lambda: self.document.save(path))

    # -- Keras work, in a worker process ------------------------------------------------------
    def import_dialog(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import Keras model", self._start_folder(),
                                              "Keras model (*.keras)")
        if path:
            self.import_model(path)

    def import_model(self, path: str | Path) -> None:
        """Turn a .keras file into a new, auto-laid-out project (Keras runs in a worker)."""
        self._run_task("import_keras", f"Importing {Path(path).name}...", self._imported, path=str(path))

    def _imported(self, spec_dict: dict) -> None:
        try:
            spec = NetworkSpec.from_dict(spec_dict)
        except ProjectError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self.document.replace_document(spec, None)
        self.view.show_network()
        self.statusBar().showMessage(f"Imported {spec.name}: {len(spec.nodes)} blocks", 6000)

    def export_dialog(self, kind: str) -> None:
        errors = [d for d in self.document.diagnostics if d.severity == ERROR]
        if errors:
            QMessageBox.warning(self, APP_NAME, f"Fix the {len(errors)} problem(s) in the Problems "
                                f"list before exporting. First: {errors[0].message}")
            return
        suffix, file_filter = {"python": (".py", "Python script (*.py)"),
                               "keras": (".keras", "Keras model (*.keras)")}[kind]
        path, _ = QFileDialog.getSaveFileName(self, "Export", str(Path(self._start_folder())
                                              / f"{self.document.title}{suffix}"), file_filter)
        if path:
            self.export_model(kind, path if path.endswith(suffix) else path + suffix)

    def export_model(self, kind: str, path: str | Path) -> None:
        self._run_task(f"export_{kind}", f"Exporting to {Path(path).name}...",
                       lambda out: self.statusBar().showMessage(f"Saved {out}", 8000),
                       spec=self.document.spec, path=str(path))

    def export_run_dialog(self, run_dir: str) -> None:
        """Export a run's trained model: .keras, or a Keras script with its weights beside it."""
        name = Path(run_dir).name
        keras_filter, script_filter = "Keras model (*.keras)", "Keras script + weights (*.py)"
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the trained model", str(Path(self._start_folder()) / f"{name}.keras"),
            f"{keras_filter};;{script_filter}")
        if path:
            suffix = ".py" if chosen == script_filter else ".keras"
            self.export_trained_model(run_dir, path if path.endswith((".py", ".keras")) else path + suffix)

    def export_trained_model(self, run_dir: str | Path, path: str | Path) -> None:
        extra = " (and its .weights.h5)" if str(path).endswith(".py") else ""
        self._run_task("export_run", f"Exporting the trained model to {Path(path).name}...",
                       lambda out: self.statusBar().showMessage(f"Saved {out}{extra}", 8000),
                       run_dir=str(run_dir), path=str(path))

    def _run_task(self, kind: str, message: str, on_done, **arguments) -> None:
        if self.task is not None and self.task.is_running():
            self.statusBar().showMessage("Another import or export is still running.", 6000)
            return
        self.task = EngineTask(self, engine=self.engine)
        self.task.finished.connect(lambda _: self._task_ended())  # first: on_done may set a message
        self.task.finished.connect(on_done)
        self.task.failed.connect(lambda error: (self._task_ended(),
                                                QMessageBox.warning(self, APP_NAME, error)))
        for action in [self.import_action, *self.export_actions]:
            action.setEnabled(False)
        self.statusBar().showMessage(message)
        self.task.start(kind, **arguments)

    def _task_ended(self) -> None:
        for action in [self.import_action, *self.export_actions]:
            action.setEnabled(True)
        self.statusBar().clearMessage()

    def export_diagram_dialog(self, kind: str) -> None:
        from desktop import diagram

        suffix = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)"}[kind]
        path, _ = QFileDialog.getSaveFileName(self, "Export diagram", f"{self.document.title}.{kind}", suffix)
        if not path:
            return
        export = diagram.export_diagram_png if kind == "png" else diagram.export_diagram_svg
        if self._guarded(lambda: export(self.document.spec, path)):
            self.statusBar().showMessage(f"Diagram saved to {path}", 6000)

    # -- settings --------------------------------------------------------------------------
    def _start_folder(self) -> str:
        if self.document.path:
            return str(self.document.path.parent)
        return self.settings.last_directory if self.settings else ""

    def _remember_path(self) -> None:
        if self.settings is None or self.document.path is None:
            return
        self.settings.add_recent(self.document.path)
        self.settings.last_directory = str(self.document.path.parent)
        self._save_settings()
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files if self.settings else []
        for path in recent:
            self._action(self.recent_menu, Path(path).name, lambda _=False, p=path: self.open_recent(p),
                         tip=path)
        self.recent_menu.setEnabled(bool(recent))

    def open_recent(self, path: str) -> None:
        if self._confirm_discard() and not self.open_path(path) and self.settings:
            self.settings.remove_recent(path)
            self._refresh_recent_menu()

    def _restore_window_layout(self) -> None:
        if self.settings is None:
            return
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray(decode_bytes(self.settings.window_geometry)))
        if self.settings.window_state:
            self.restoreState(QByteArray(decode_bytes(self.settings.window_state)))

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except ProjectError as error:  # settings are a convenience: never block the user on them
            self.statusBar().showMessage(str(error), 6000)

    def offer_recovery(self) -> bool:
        """At start-up: if the last session ended with unsaved changes, offer them back."""
        store = self.autosave.store if self.autosave else None
        recovered = store.pending() if store else None
        if recovered is None:
            return False
        where = recovered.original_path.name if recovered.original_path else "an unsaved project"
        answer = QMessageBox.question(
            self, APP_NAME, f"CNN Studio did not close normally. Restore the unsaved changes to "
            f"{where} from {recovered.saved_at.astimezone():%Y-%m-%d %H:%M}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Yes:
            self.autosave.restore(recovered)
            self.view.show_network()
            return True
        self.autosave.discard()
        return False

    def _guarded(self, action) -> bool:
        """Run a file action; a ProjectError becomes a dialog and the project stays as it was."""
        try:
            action()
            return True
        except ProjectError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return False

    def _confirm_discard(self) -> bool:
        """True when there are no unsaved changes, or the user saved or discarded them."""
        if not self.document.is_modified:
            return True
        answer = QMessageBox.question(
            self, APP_NAME, f"Save the changes to {self.document.title}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            if self.autosave is not None:
                self.autosave.discard()
            return True
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self._confirm_discard():
            event.ignore()
            return
        if self.settings is not None:
            self.settings.store_window(bytes(self.saveGeometry().data()), bytes(self.saveState().data()))
            self._save_settings()
        if self.autosave is not None:
            self.autosave.stop()
        if self.task is not None:
            self.task.cancel()
        if self.trainer.is_running():
            self.trainer.shutdown()  # stops after the batch; the run stays resumable
        event.accept()

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

