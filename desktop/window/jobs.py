"""Keras work started from the window (import, export), run in the engine's worker; and the
diagram export (Qt only)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.engine_tasks import EngineTask
from engine.errors import ProjectError
from engine.export import MODEL_FORMATS
from engine.graph.spec import NetworkSpec
from engine.graph.validate import ERROR

APP_NAME = "CNN Studio"
# What the Export menu and a run's Export button write: kind -> (suffix, file dialog filter).
# A SavedModel is a folder: the name chosen in the dialog is the folder's.
EXPORT_TARGETS = {
    "python": (".py", "Python script (*.py)"),
    "keras": (".keras", "Keras model (*.keras)"),
    **{key: (known.suffix, f"{known.title} (*{known.suffix})" if known.suffix
             else f"{known.title} folder (*)") for key, known in MODEL_FORMATS.items()},
}


class KerasJobs:
    def import_dialog(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import Keras model", self._start_folder(),
                                              "Keras model (*.keras)")
        if path:
            self.import_model(path)

    def import_model(self, path: str | Path) -> None:
        """Turn a .keras file into a new, auto-laid-out project (Keras runs in a worker); its
        weights become an imported run in the runs folder of the new, unsaved project."""
        self._run_task("import_keras_run", f"Importing {Path(path).name}...", self._imported,
                       on_failed=self._import_failed, path=str(path),
                       runs_root=str(self.unsaved_runs_root()))

    def _import_failed(self, message: str) -> None:
        """A refused model: its summary line, with one line per layer under Show Details (the
        engine sends them as the lines after the first)."""
        summary, _, details = message.partition("\n")
        if not details.strip():
            QMessageBox.warning(self, APP_NAME, message)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, summary, QMessageBox.StandardButton.Ok,
                          self)
        box.setDetailedText("\n".join(line.strip() for line in details.splitlines() if line.strip()))
        box.exec()

    def _imported(self, result: dict) -> None:
        try:
            spec = NetworkSpec.from_dict(result["spec"])
        except ProjectError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        self.document.replace_document(spec, None)  # the Runs list now shows unsaved_runs_root()
        self.view.show_network()
        message = result.get("message") or f"Imported {spec.name}: {len(spec.nodes)} blocks"
        run_dir = result.get("run_dir")
        if run_dir:
            self.runs.refresh()
            self.runs.select_paths([run_dir])  # the Lab follows the Runs list's selection
            message = (f"Imported {spec.name}: {len(spec.nodes)} blocks; its weights are in the "
                       f"run {Path(run_dir).name}: the Features Lab shows its kernels and feature "
                       "maps, and Fine-tune (Runs) trains on from them")
        self.statusBar().showMessage(message, 15000)

    def export_dialog(self, kind: str) -> None:
        errors = [d for d in self.document.diagnostics if d.severity == ERROR]
        if errors:
            QMessageBox.warning(self, APP_NAME, f"Fix the {len(errors)} problem(s) in the Problems "
                                f"list before exporting. First: {errors[0].message}")
            return
        suffix, file_filter = EXPORT_TARGETS[kind]
        path, _ = QFileDialog.getSaveFileName(self, "Export", str(Path(self._start_folder())
                                              / f"{self.document.title}{suffix}"), file_filter)
        if path:
            self.export_model(kind, path if path.endswith(suffix) else path + suffix)

    def export_model(self, kind: str, path: str | Path) -> None:
        """Export the open network (untrained) as `kind`, a key of EXPORT_TARGETS."""
        task, extra = (("export_format", {"format": kind}) if kind in MODEL_FORMATS
                       else (f"export_{kind}", {}))
        self._run_task(task, f"Exporting to {Path(path).name}...",
                       lambda out: self.statusBar().showMessage(f"Saved {out}", 8000),
                       spec=self.document.spec, path=str(path), **extra)

    def export_run_dialog(self, run_dir: str) -> None:
        """Export a run's trained model: .keras, a Keras script with its weights beside it, or
        ONNX, SavedModel, TFLite. A name ending in a known suffix says which; else the filter."""
        filters = {"Keras model (*.keras)": "keras", "Keras script + weights (*.py)": "python",
                   **{EXPORT_TARGETS[kind][1]: kind for kind in MODEL_FORMATS}}
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the trained model", str(Path(self._start_folder()) / Path(run_dir).name),
            ";;".join(filters))
        if not path:
            return
        typed = next((kind for kind, (suffix, _) in EXPORT_TARGETS.items()
                      if suffix and path.endswith(suffix)), None)
        kind = typed or filters.get(chosen, "keras")
        path = path if typed else path + EXPORT_TARGETS[kind][0]
        self.export_trained_model(run_dir, path, kind if kind in MODEL_FORMATS else None)

    def export_trained_model(self, run_dir: str | Path, path: str | Path, format: str | None = None) -> None:
        """`format`: a key of MODEL_FORMATS (needed for a SavedModel folder); None: by the
        path's suffix (.keras, .py, .onnx, .tflite)."""
        extra = " (and its .weights.h5)" if str(path).endswith(".py") else ""
        self._run_task("export_run", f"Exporting the trained model to {Path(path).name}...",
                       lambda out: self.statusBar().showMessage(f"Saved {out}{extra}", 8000),
                       run_dir=str(run_dir), path=str(path), format=format)

    def _run_task(self, kind: str, message: str, on_done, on_failed=None, **arguments) -> None:
        """Run an engine task; on_failed(message) replaces the plain warning box."""
        if self.task is not None and self.task.is_running():
            self.statusBar().showMessage("Another import or export is still running.", 6000)
            return
        self.task = EngineTask(self, engine=self.engine)
        self.task.finished.connect(lambda _: self._task_ended())  # first: on_done may set a message
        self.task.finished.connect(on_done)
        show = on_failed or (lambda error: QMessageBox.warning(self, APP_NAME, error))
        self.task.failed.connect(lambda error: (self._task_ended(), show(error)))
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

