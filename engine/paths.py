"""Paths: where the shipped resources live (a source tree, a wheel or a frozen app), and the
checks on paths a person names (files to read, folders to read, files to write).

The checks only stat(): they never open a named pipe or a device, where a read could wait
forever (a FIFO) or never end (/dev/zero). They import nothing heavy, so the command line
can refuse a bad path at once, before TensorFlow loads.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.errors import ProjectError

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"
TEMPLATES_DIR = RESOURCES_DIR / "templates"
ICONS_DIR = RESOURCES_DIR / "icons"

_SPECIAL_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def hicolor_icon_files() -> list[Path]:
    """The app icon's PNG renderings, smallest first (see packaging/make_icons.py)."""
    found = ICONS_DIR.glob("hicolor/*/apps/cnn-studio.png")
    return sorted(found, key=lambda path: int(path.parts[-3].split("x")[0]))


# -- checks on paths a person names --------------------------------------------------------

def input_file(path: str | os.PathLike, what: str = "file") -> Path:
    """`path` as a Path if it is an existing regular file this process may read; else a
    ProjectError saying in one line what it is instead. `what` names the expected file
    ("project file", ".keras model")."""
    path = Path(path)
    mode = _mode(path)
    if stat.S_ISDIR(mode):
        raise ProjectError(f"{path} is a folder, not a {what}.")
    if not stat.S_ISREG(mode):
        raise ProjectError(f"{path} is {special_kind(mode)}, not a {what}.")
    if not os.access(path, os.R_OK):
        raise ProjectError(f"Cannot read {path}: permission denied.")
    return path


def input_folder(path: str | os.PathLike, what: str = "folder") -> Path:
    """`path` as a Path if it is an existing folder this process may list; else ProjectError."""
    path = Path(path)
    mode = _mode(path)
    if not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else special_kind(mode)
        raise ProjectError(f"{path} is {kind}, not a {what}.")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ProjectError(f"Cannot read {path}: permission denied.")
    return path


def output_file(path: str | os.PathLike, what: str = "file") -> Path:
    """`path` as a Path if a file can be written there: its folder exists, and the path is
    new or a regular file. Files are written by replacing them (see graph.io), which would
    swap a folder's name, a pipe or a device such as /dev/null for a plain file."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise ProjectError(f"Cannot write {path}: the folder {folder} does not exist.")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise ProjectError(f"Cannot write {path}: {error.strerror or error}.") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise ProjectError(f"Cannot write {path}: it is a folder; name a {what} in it instead.")
    if mode is not None and not stat.S_ISREG(mode):
        raise ProjectError(f"Cannot write {path}: it is {special_kind(mode)}, not a {what}.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ProjectError(f"Cannot write {path}: you may not write in {folder}.")
    return path


def output_folder(path: str | os.PathLike, what: str = "folder", marker: str | None = None) -> Path:
    """`path` as a Path if a folder can be written there whole (a temporary folder beside it,
    then renamed): its parent exists, and the path is new, an empty folder, or a folder
    holding `marker` (one an earlier export wrote, which is replaced). Anything else there is
    refused, never deleted."""
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        raise ProjectError(f"Cannot write {path}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ProjectError(f"Cannot write {path}: you may not write in {parent}.")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path
    except OSError as error:
        raise ProjectError(f"Cannot write {path}: {error.strerror or error}.") from None
    if not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else special_kind(mode)
        raise ProjectError(f"Cannot write {path}: it is {kind}, not a {what}; choose a new name.")
    if any(path.iterdir()) and not (marker and (path / marker).exists()):
        raise ProjectError(f"Cannot write {path}: it is a folder with other files in it, not a "
                           f"{what}; choose a new folder name.")
    return path


def special_kind(mode: int) -> str:
    """What a path that is neither a regular file nor a folder is, in words."""
    return next((kind for test, kind in _SPECIAL_KINDS if test(mode)), "a special file")


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode  # follows links: a link to a pipe is a pipe
    except (FileNotFoundError, NotADirectoryError):
        raise ProjectError(f"{path} does not exist.") from None
    except OSError as error:
        raise ProjectError(f"Cannot read {path}: {error.strerror or error}.") from None
