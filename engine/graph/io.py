"""Project files: JSON with a format_version, a migration chain, and atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from engine.errors import ProjectError, cannot_write
from engine.graph.spec import FORMAT_VERSION, NetworkSpec
from engine.paths import input_file

MAX_FILE_BYTES = 64 * 1024 * 1024  # far above any real network; keeps a hostile file from eating memory

# format_version N -> function turning a version-N dict into a version-(N+1) dict.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def migrate(data: Any) -> Any:
    """Bring an older project dict up to FORMAT_VERSION, one step at a time."""
    if not isinstance(data, dict):
        return data
    version = data.get("format_version")
    while isinstance(version, int) and not isinstance(version, bool) and version in MIGRATIONS:
        data = MIGRATIONS[version](data)
        version = data.get("format_version")
    return data


def spec_from_json(text: str, source: str = "project") -> NetworkSpec:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        detail = f" (line {error.lineno}, column {error.colno}: {error.msg})" \
            if isinstance(error, json.JSONDecodeError) else " (nested too deeply)"
        raise ProjectError(f"{source} is not valid JSON{detail}.") from None
    try:
        return NetworkSpec.from_dict(migrate(data))
    except ProjectError as error:
        raise ProjectError(f"{source}: {error}") from None


def load_spec(path: str | os.PathLike) -> NetworkSpec:
    path = input_file(path, "project file")  # never open() a pipe or device: it could block
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ProjectError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB; it is not a "
                               "CNN Studio project.")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise ProjectError(f"{path} is a folder, not a project file.") from None
    except OSError as error:
        raise ProjectError(f"Cannot read {path}: {error.strerror or error}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectError(f"{path} is not a text (UTF-8) file, so not a CNN Studio project.") from None
    return spec_from_json(text, source=str(path))


def save_spec(spec: NetworkSpec, path: str | os.PathLike) -> None:
    atomic_write_text(Path(path), spec.to_json())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then replace: a crash at any
    point leaves either the old file or the new one, never half of one."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise cannot_write(f"write in {folder}", error) from None
    try:
        os.chmod(temp_name, file_mode_for(path))  # mkstemp makes 0600; keep what the file had
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except OSError as error:
        _remove_quietly(temp_name)
        raise cannot_write(f"write {path}", error) from None
    except BaseException:
        _remove_quietly(temp_name)
        raise
    _fsync_folder(folder)


def atomic_write_with(path: Path, write: Callable[[Path], None], suffix: str = ".tmp",
                      abandon: Callable[[], bool] | None = None) -> None:
    """Let `write` fill a temporary file beside `path` (for writers that want a path, such
    as model.save), then rename it over `path`: never half a file. When abandon() is true
    once written (the user cancelled), nothing is renamed and `path` is left as it was."""
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=suffix)
        os.close(handle)
    except OSError as error:
        raise cannot_write(f"write {path}", error) from None
    try:
        write(Path(temporary))
        if abandon is not None and abandon():
            return
        os.chmod(temporary, file_mode_for(path))  # mkstemp makes a private (0600) file
        os.replace(temporary, path)
    except OSError as error:
        raise cannot_write(f"write {path}", error) from None
    finally:
        _remove_quietly(temporary)


def file_mode_for(path: Path) -> int:
    """The replaced file's permissions, or a new file's as the umask says (like open())."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def _read_umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); not possible on Windows, where it is skipped."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["FORMAT_VERSION", "MIGRATIONS", "atomic_write_bytes", "atomic_write_text", "load_spec",
           "migrate", "save_spec", "spec_from_json"]
