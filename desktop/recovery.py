"""Autosave and crash recovery.

While the document has unsaved changes, AutosaveController copies it every minute into
`recovery.json` (atomically, so a crash during the write still leaves the previous copy).
A clean save, an undo back to the saved state or opening another document removes the
copy. If the app dies (crash, kill, power cut) the copy stays, and on the next start
`RecoveryStore.pending()` offers it back.

Start-up order matters for the window: read `pending()` *before* creating the controller
and opening the first document, because a clean document clears the copy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, QTimer, Signal

from engine.errors import ProjectError, cannot_write
from engine.graph.io import MAX_FILE_BYTES, atomic_write_text, migrate
from engine.graph.spec import NetworkSpec, readable_json

RECOVERY_FORMAT = "cnn-studio-recovery"
RECOVERY_VERSION = 1
FILE_NAME = "recovery.json"
RECOVERY_DIR_ENV = "CNN_STUDIO_RECOVERY_DIR"
DEFAULT_INTERVAL_MS = 60_000


def recovery_dir() -> Path:
    override = os.environ.get(RECOVERY_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_state_dir("cnn-studio")) / "recovery"


@dataclass(frozen=True)
class RecoveredProject:
    spec: NetworkSpec
    original_path: Path | None   # the file it was opened from; None for a never-saved network
    saved_at: datetime           # when the copy was written (timezone-aware)


class RecoveryStore:
    """The one recovery file of this user: write it, find it after a crash, remove it."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder else recovery_dir()
        self.path = self.folder / FILE_NAME

    def save(self, spec: NetworkSpec, original_path: str | os.PathLike | None) -> None:
        """Write the copy; ProjectError when the folder cannot be written."""
        content = {
            "format": RECOVERY_FORMAT,
            "version": RECOVERY_VERSION,
            "original_path": str(original_path) if original_path else None,
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "project": spec.to_dict(),
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise cannot_write(f"create {self.folder}", error) from None
        atomic_write_text(self.path, readable_json(content))

    def pending(self) -> RecoveredProject | None:
        """The copy left by a session that did not end cleanly, or None. A damaged copy is
        moved aside (recovery.json.broken) rather than offered or silently deleted."""
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError("too large")
            return _parse(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError, ProjectError):
            self._move_aside()
            return None

    def clear(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a leftover copy is offered once more at the next start: harmless

    def _move_aside(self) -> None:
        try:
            os.replace(self.path, self.path.with_name(self.path.name + ".broken"))
        except OSError:
            self.clear()


def _parse(data) -> RecoveredProject:
    """Strictly read a recovery file's content; ValueError/ProjectError when it is not one."""
    if not isinstance(data, dict) or data.get("format") != RECOVERY_FORMAT \
            or data.get("version") != RECOVERY_VERSION:
        raise ValueError("not a CNN Studio recovery file")
    original = data.get("original_path")
    if original is not None and not (isinstance(original, str) and original):
        raise ValueError("bad original_path")
    saved_at = data.get("saved_at")
    if not isinstance(saved_at, str):
        raise ValueError("bad saved_at")
    saved_at = datetime.fromisoformat(saved_at)
    if saved_at.tzinfo is None:
        saved_at = saved_at.replace(tzinfo=timezone.utc)
    # The project part is an ordinary project dict: older format versions are migrated.
    spec = NetworkSpec.from_dict(migrate(data.get("project")))
    return RecoveredProject(spec=spec, original_path=Path(original) if original else None,
                            saved_at=saved_at)


class AutosaveController(QObject):
    """Keeps the recovery copy of one ProjectDocument up to date.

    Each timer tick writes the copy if the document has unsaved changes that are not in the
    copy yet; the document becoming clean (saved, undone to the saved state, replaced)
    removes it.
    """

    saved = Signal()         # the copy was written
    failed = Signal(str)     # it could not be (disk full, no permission): for the status bar

    def __init__(self, document, store: RecoveryStore, interval_ms: int = DEFAULT_INTERVAL_MS,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.store = store
        self._saved_spec: NetworkSpec | None = None  # specs are immutable: identity = content
        self._restoring = False
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.save_now)
        self._timer.start()
        document.modified_changed.connect(self._on_modified_changed)

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def set_interval(self, interval_ms: int) -> None:
        self._timer.setInterval(interval_ms)

    def save_now(self) -> bool:
        """Write the copy if there is something new to keep; True when it was written."""
        if not self.document.is_modified or self.document.spec is self._saved_spec:
            return False
        try:
            self.store.save(self.document.spec, self.document.path)
        except ProjectError as error:
            self.failed.emit(f"Autosave failed: {error}")
            return False
        self._saved_spec = self.document.spec
        self.saved.emit()
        return True

    def restore(self, recovered: RecoveredProject) -> None:
        """Open a recovered copy in the document, marked as unsaved (it is not in its file),
        and keep the copy until the user saves or discards it."""
        self._restoring = True  # replacing the document must not delete the copy meanwhile
        try:
            self.document.replace_document(recovered.spec, recovered.original_path)
            self.document.undo_stack.resetClean()  # no state of the stack matches the file now
        finally:
            self._restoring = False
        self.save_now()

    def discard(self) -> None:
        """The user chose not to keep the changes (e.g. "Discard" when closing)."""
        self._saved_spec = None
        self.store.clear()

    def stop(self) -> None:
        self._timer.stop()

    def _on_modified_changed(self, modified: bool) -> None:
        if not modified and not self._restoring:
            self.discard()
