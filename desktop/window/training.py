"""Training from the window: start, resume, follow a run, show saved runs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from engine.errors import ProjectError
from engine.graph.validate import ERROR

APP_NAME = "CNN Studio"


class TrainingActions:
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
        self.runs.fine_tune_requested.connect(self.fine_tune)
        self.runs.export_requested.connect(self.export_run_dialog)
        self.runs.selection_changed.connect(self._runs_selected)
        self.runs.refreshed.connect(self.lab.set_runs)  # the Lab's run chooser
        self.lab.run_chosen.connect(lambda path: self.runs.select_paths([path]))
        self.runs.set_root(self.runs_root())
        self.document.path_changed.connect(lambda: self.runs.set_root(self.runs_root()))

    def runs_root(self) -> Path:
        """runs/ beside the project file; for a never-saved project, in the user's data folder."""
        if self.document.path is not None and self.runs_root_override is None:
            return self.document.path.parent / "runs"
        return self.unsaved_runs_root()

    def unsaved_runs_root(self) -> Path:
        """Where the runs of a never-saved project go (an import's run too)."""
        if self.runs_root_override is not None:
            return self.runs_root_override
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
        self.show_monitor()
        self.trainer.start(self.document.spec, config, self.runs_root(), name=self.document.title)
        self.statusBar().showMessage("Starting the training process...", 4000)
        return True

    def resume_training(self, run_dir: str) -> None:
        if self.trainer.is_running():
            self.statusBar().showMessage("A training run is already going.", 6000)
            return
        self.monitor.clear()
        self.show_monitor()
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
        from engine.training.runs import IMPORTED, RunFolder, run_origin

        folder = RunFolder(Path(run_dir))
        try:
            status = folder.status()
            self.monitor.show_run(folder.history(), folder.metrics(), folder.examples(),
                                  run_dir=str(folder.path), origin=run_origin(status))
        except ProjectError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return
        # A finished or imported run: its model can be inspected.
        if folder.metrics() is not None or status.get("status") == IMPORTED:
            self.lab.set_run(run_dir)
        self.show_monitor()

    def fine_tune(self, run_dir: str) -> bool:
        """Train the open network, starting from the weights of a run (an imported one too),
        with the Train workspace's settings. When the open network shares no block with the
        run's, the run's network is offered instead."""
        from dataclasses import replace

        from engine.training.runs import RunFolder

        if self.trainer.is_running():
            self.statusBar().showMessage("A training run is already going.", 6000)
            return False
        try:
            run_spec = RunFolder(Path(run_dir)).spec()
        except ProjectError as error:
            QMessageBox.warning(self, APP_NAME, str(error))
            return False
        if not _shared_blocks(self.document.spec, run_spec):
            answer = QMessageBox.question(
                self, APP_NAME, f"The open network has no block of the run {Path(run_dir).name}. "
                "Open the run's network and fine-tune it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes)
            if answer != QMessageBox.StandardButton.Yes or not self._confirm_discard():
                return False
            self.document.replace_document(run_spec, None)
            self.view.show_network()
        config = self.training.config()
        if config is None:
            return self.start_training(None)
        self.statusBar().showMessage(f"Fine-tuning from {Path(run_dir).name}…", 4000)
        return self.start_training(replace(config, initial_weights=str(run_dir)))



def _shared_blocks(spec, other) -> set[str]:
    """Names of the blocks (Input aside) two networks have in common."""
    def names(network):
        return {node.name for node in network.nodes if node.type != "InputLayer"}

    return names(spec) & names(other)
