"""App settings (recent files, window geometry, theme, last folder) as one small JSON file.

Plain Python on purpose: no QSettings, so the file is readable, atomic to write and easy to
test. Geometry and window state are stored as base64 text; the window converts them with
`geometry_bytes()` / `store_geometry()` (QByteArray accepts and gives `bytes`).

Loading never fails: settings are a convenience, so a damaged or foreign file is kept aside
as `settings.json.broken` and the app starts with defaults.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

import platformdirs

from engine.errors import cannot_write
from engine.graph.io import atomic_write_text

SCHEMA_VERSION = 1
FILE_NAME = "settings.json"
CONFIG_DIR_ENV = "CNN_STUDIO_CONFIG_DIR"
MAX_RECENT_FILES = 10
THEMES = ("system", "light", "dark")
_MAX_FILE_BYTES = 1024 * 1024  # real settings are a few KB; anything larger is not ours


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir("cnn-studio"))


def encode_bytes(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def decode_bytes(text: str) -> bytes:
    """The bytes of a base64 string; empty for empty or damaged text (the window then
    simply opens at its default size)."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return b""


class Settings:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else config_dir() / FILE_NAME
        self.window_geometry = ""   # base64 of QMainWindow.saveGeometry()
        self.window_state = ""      # base64 of QMainWindow.saveState()
        self.layout: dict = {}      # workspace shown and splitter sizes (Workspaces.save_layout)
        self.show_guide = True      # the first-run guide at start-up
        self.theme = "system"
        self.last_directory = ""
        self._recent_files: list[str] = []

    # -- file -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """The saved settings, or defaults when there are none or they cannot be read."""
        settings = cls(path)
        try:
            if settings.path.stat().st_size > _MAX_FILE_BYTES:
                raise ValueError("too large")
            data = json.loads(settings.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
                raise ValueError("not a CNN Studio settings file")
        except FileNotFoundError:
            return settings
        except (OSError, ValueError, RecursionError):  # JSON and Unicode errors are ValueErrors
            settings._keep_broken_file()
            return settings
        settings._read_fields(data)
        return settings

    def save(self) -> None:
        """Write atomically (a crash leaves the old file or the new one); ProjectError when the
        folder cannot be written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise cannot_write(f"create {self.path.parent}", error) from None
        atomic_write_text(self.path, json.dumps(self.to_dict(), indent=2) + "\n")

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "recent_files": list(self._recent_files),
            "window_geometry": self.window_geometry,
            "window_state": self.window_state,
            "theme": self.theme,
            "last_directory": self.last_directory,
            "layout": self.layout,
            "show_guide": self.show_guide,
        }

    def _read_fields(self, data: dict) -> None:
        """Take each field that has the right type; a bad field falls back to its default
        alone, so one odd value does not cost the rest."""
        self.window_geometry = _string(data.get("window_geometry"), self.window_geometry)
        self.window_state = _string(data.get("window_state"), self.window_state)
        self.last_directory = _string(data.get("last_directory"), self.last_directory)
        layout = data.get("layout")
        self.layout = layout if isinstance(layout, dict) else {}
        self.show_guide = data.get("show_guide") is not False
        theme = data.get("theme")
        self.theme = theme if theme in THEMES else "system"
        recent = data.get("recent_files")
        if isinstance(recent, list):
            for entry in reversed(recent[:MAX_RECENT_FILES]):
                if isinstance(entry, str) and entry:
                    self.add_recent(entry)

    def _keep_broken_file(self) -> None:
        try:
            os.replace(self.path, self.path.with_name(self.path.name + ".broken"))
        except OSError:
            pass  # unreadable and unmovable: the next save() replaces it

    # -- recent files -----------------------------------------------------------------------
    @property
    def recent_files(self) -> list[str]:
        """Most recent first; files deleted or moved since are dropped on each read."""
        self._recent_files = [entry for entry in self._recent_files if Path(entry).is_file()]
        return list(self._recent_files)

    def add_recent(self, path: str | os.PathLike) -> None:
        entry = _normalized(path)
        self._recent_files = [entry] + [e for e in self._recent_files if e != entry]
        del self._recent_files[MAX_RECENT_FILES:]

    def remove_recent(self, path: str | os.PathLike) -> None:
        entry = _normalized(path)
        self._recent_files = [e for e in self._recent_files if e != entry]

    # -- window geometry as bytes (what QMainWindow.saveGeometry/restoreGeometry use) ---------
    def geometry_bytes(self) -> bytes:
        return decode_bytes(self.window_geometry)

    def state_bytes(self) -> bytes:
        return decode_bytes(self.window_state)

    def store_window(self, geometry: bytes, state: bytes) -> None:
        """Pass `bytes(window.saveGeometry())` and `bytes(window.saveState())`."""
        self.window_geometry = encode_bytes(geometry)
        self.window_state = encode_bytes(state)


def _string(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _normalized(path: str | os.PathLike) -> str:
    """One spelling per file ("a/../b.json" and "b.json" are the same entry)."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))
