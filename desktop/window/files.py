"""Project files from the window: new, open, save, recent files, crash recovery; a broken
file shows the engine's message and changes nothing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.window.menus import add_action
from engine.errors import ProjectError
from engine.graph.edits import AddNode, new_node
from engine.graph.spec import NetworkSpec

APP_NAME = "CNN Studio"
PROJECT_FILTER = "CNN Studio project (*.json)"


class FileActions:
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
            add_action(self, self.recent_menu, Path(path).name, lambda _=False, p=path: self.open_recent(p),
                         tip=path)
        self.recent_menu.setEnabled(bool(recent))

    def open_recent(self, path: str) -> None:
        if self._confirm_discard() and not self.open_path(path) and self.settings:
            self.settings.remove_recent(path)
            self._refresh_recent_menu()

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

