"""ProjectDocument: the open network, its undo stack, and its live analysis.

Every change goes through `apply(edit)`, which pushes an undoable command; after each
change the engine's validate + infer run (milliseconds) and `spec_changed` is emitted.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.errors import EditRefused, ProjectError
from engine.graph.edits import Edit
from engine.graph.io import load_spec, save_spec
from engine.graph.shapes import NetworkInfo, infer
from engine.graph.spec import NetworkSpec
from engine.graph.validate import Diagnostic, validate
from engine.templates import load_template

class EditCommand(QUndoCommand):
    """One engine edit on the undo stack. A drag of many blocks is one MoveNodes edit, made
    when the drag ends, so it is one undo step."""

    def __init__(self, document: ProjectDocument, edit: Edit, text: str):
        super().__init__(text)
        self.document = document
        self.edit = edit
        self.before = document.spec
        self.after = edit.apply(self.before)  # raises EditRefused before anything is pushed

    def redo(self) -> None:
        self.document._replace_spec(self.after)

    def undo(self) -> None:
        self.document._replace_spec(self.before)


class ProjectDocument(QObject):
    spec_changed = Signal()            # spec, info and diagnostics are up to date
    edit_refused = Signal(str)         # a message for the status bar
    path_changed = Signal()
    modified_changed = Signal(bool)

    def __init__(self, spec: NetworkSpec | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.path: Path | None = None
        self.spec = spec or NetworkSpec()
        self.info: NetworkInfo = infer(self.spec)
        self.diagnostics: list[Diagnostic] = validate(self.spec, self.info)

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    # -- editing ------------------------------------------------------------------------------
    def apply(self, edit: Edit, text: str) -> bool:
        """Apply an edit as one undo step; False (and edit_refused) when it is impossible."""
        try:
            command = EditCommand(self, edit, text)
        except EditRefused as error:
            self.edit_refused.emit(str(error))
            return False
        self.undo_stack.push(command)
        return True

    def _replace_spec(self, spec: NetworkSpec) -> None:
        previous = (self.spec, self.info)  # what did not change keeps its analysis
        self.spec = spec
        self.info = infer(spec, previous)
        self.diagnostics = validate(spec, self.info)
        self.spec_changed.emit()

    # -- whole documents ----------------------------------------------------------------------
    def replace_document(self, spec: NetworkSpec, path: Path | None) -> None:
        """A new document (open, new, template): the undo history starts over."""
        self.undo_stack.clear()
        self.path = Path(path) if path else None
        self._replace_spec(spec)
        self.undo_stack.setClean()
        self.path_changed.emit()
        self.modified_changed.emit(False)

    def open(self, path: str | Path) -> None:
        """Load a project; on a ProjectError the current document is untouched."""
        spec = load_spec(path)
        self.replace_document(spec, Path(path))

    def open_template(self, key: str) -> None:
        self.replace_document(load_template(key), None)

    def save(self, path: str | Path | None = None) -> None:
        target = Path(path) if path else self.path
        if target is None:
            raise ProjectError("Choose a file name to save to.")
        save_spec(self.spec, target)
        self.path = target
        self.undo_stack.setClean()
        self.path_changed.emit()

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def title(self) -> str:
        return self.path.stem if self.path else self.spec.name

    def diagnostics_for(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.node_id == node_id]
