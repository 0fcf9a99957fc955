"""Keras work started from the window (import, export), run in the engine's worker; and the
diagram export (Qt only)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.engine_tasks import EngineTask
from engine.errors import ProjectError
from engine.graph.spec import NetworkSpec
from engine.graph.validate import ERROR

APP_NAME = "CNN Studio"


class KerasJobs:
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

