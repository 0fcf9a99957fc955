"""Settings file and crash recovery (autosave copy survives a SIGKILL)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from desktop.document import ProjectDocument
from desktop.recovery import (FILE_NAME, RECOVERY_DIR_ENV, AutosaveController, RecoveryStore,
                              recovery_dir)
from desktop.settings import (CONFIG_DIR_ENV, MAX_RECENT_FILES, SCHEMA_VERSION, Settings,
                              config_dir, decode_bytes)
from engine.graph.edits import SetParams
from engine.graph.spec import NetworkSpec
from engine.templates import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def new_document():
    """Documents made clean again at teardown: a modified ProjectDocument that is garbage
    collected later emits cleanChanged from its dying undo stack, which would surface as a
    "Signal source has been deleted" error in whichever test runs then."""
    documents = []

    def make() -> ProjectDocument:
        documents.append(ProjectDocument(load_template("lenet5")))
        return documents[-1]

    yield make
    for document in documents:
        document.undo_stack.clear()


def edited_lenet() -> NetworkSpec:
    return SetParams("n2", {"filters": 8}).apply(load_template("lenet5"))


# -- settings ---------------------------------------------------------------------------------

def test_settings_default_when_there_is_no_file(config_folder):
    settings = Settings.load()
    assert settings.path == config_folder / "settings.json"
    assert config_dir() == config_folder
    assert (settings.recent_files, settings.theme, settings.window_geometry) == ([], "system", "")
    assert not config_folder.exists()  # loading writes nothing


def test_settings_round_trip(config_folder, tmp_path):
    project = tmp_path / "net.json"
    project.write_text("{}")
    settings = Settings.load()
    settings.add_recent(project)
    settings.theme = "dark"
    settings.last_directory = str(tmp_path)
    settings.store_window(b"\x01\x02geometry", b"\x00state")
    settings.save()

    data = json.loads((config_folder / "settings.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    again = Settings.load()
    assert again.recent_files == [str(project)]
    assert (again.theme, again.last_directory) == ("dark", str(tmp_path))
    assert again.geometry_bytes() == b"\x01\x02geometry"
    assert again.state_bytes() == b"\x00state"


def test_recent_files_most_recent_first_deduplicated_capped(config_folder, tmp_path):
    files = []
    for index in range(MAX_RECENT_FILES + 3):
        files.append(tmp_path / f"p{index}.json")
        files[-1].write_text("{}")
    settings = Settings.load()
    for path in files:
        settings.add_recent(path)
    settings.add_recent(tmp_path / "sub" / ".." / "p5.json")  # same file, other spelling
    recent = settings.recent_files
    assert recent[0] == str(files[5])
    assert len(recent) == MAX_RECENT_FILES == len(set(recent))
    assert recent[1] == str(files[-1])
    assert str(files[0]) not in recent  # the oldest fell off


def test_missing_recent_files_are_pruned(config_folder, tmp_path):
    kept, deleted = tmp_path / "kept.json", tmp_path / "deleted.json"
    kept.write_text("{}")
    deleted.write_text("{}")
    settings = Settings.load()
    settings.add_recent(kept)
    settings.add_recent(deleted)
    settings.save()
    deleted.unlink()
    assert Settings.load().recent_files == [str(kept)]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"schema_version": 99}',
                                     b"\xff\xfe binary", b'{"theme": "dark"}'])
def test_broken_or_foreign_settings_give_defaults_and_are_kept_aside(config_folder, content):
    config_folder.mkdir()
    (config_folder / "settings.json").write_bytes(content)
    settings = Settings.load()
    assert settings.theme == "system" and settings.recent_files == []
    assert (config_folder / "settings.json.broken").read_bytes() == content
    settings.save()
    assert Settings.load().theme == "system"


def test_bad_fields_fall_back_one_by_one(config_folder, tmp_path):
    config_folder.mkdir()
    (config_folder / "settings.json").write_text(json.dumps({
        "schema_version": 1, "theme": "purple", "recent_files": "not a list",
        "window_geometry": 12, "last_directory": str(tmp_path)}))
    settings = Settings.load()
    assert (settings.theme, settings.recent_files, settings.window_geometry) == ("system", [], "")
    assert settings.last_directory == str(tmp_path)
    assert not (config_folder / "settings.json.broken").exists()


def test_damaged_geometry_text_gives_no_bytes():
    assert decode_bytes("%%% not base64") == b""


# -- recovery store ---------------------------------------------------------------------------

def test_recovery_round_trip_and_clear(tmp_path):
    store = RecoveryStore(tmp_path)
    assert store.pending() is None
    spec = edited_lenet()
    store.save(spec, tmp_path / "lenet.json")
    data = json.loads((tmp_path / FILE_NAME).read_text())
    assert (data["format"], data["version"]) == ("cnn-studio-recovery", 1)

    recovered = store.pending()
    assert recovered.spec == spec
    assert recovered.original_path == tmp_path / "lenet.json"
    assert abs((datetime.now(timezone.utc) - recovered.saved_at).total_seconds()) < 60

    store.save(spec, None)
    assert store.pending().original_path is None
    store.clear()
    assert store.pending() is None
    store.clear()  # clearing twice is fine


def test_recovery_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv(RECOVERY_DIR_ENV, str(tmp_path / "rec"))
    assert recovery_dir() == tmp_path / "rec"
    assert RecoveryStore().path == tmp_path / "rec" / FILE_NAME


@pytest.mark.parametrize("content", [
    "{truncated", "[]", '{"format": "something-else", "version": 1}',
    '{"format": "cnn-studio-recovery", "version": 2, "original_path": null, '
    '"saved_at": "2024-01-01T00:00:00+00:00", "project": {}}',
    '{"format": "cnn-studio-recovery", "version": 1, "original_path": null, '
    '"saved_at": "yesterday", "project": {}}',
    '{"format": "cnn-studio-recovery", "version": 1, "original_path": 5, '
    '"saved_at": "2024-01-01T00:00:00+00:00", "project": {}}',
])
def test_corrupt_recovery_file_is_none_and_moved_aside(tmp_path, content):
    (tmp_path / FILE_NAME).write_text(content)
    assert RecoveryStore(tmp_path).pending() is None
    assert not (tmp_path / FILE_NAME).exists()
    assert (tmp_path / (FILE_NAME + ".broken")).read_text() == content


def test_recovery_with_an_invalid_project_is_none(tmp_path):
    store = RecoveryStore(tmp_path)
    store.save(load_template("lenet5"), None)
    data = json.loads(store.path.read_text())
    data["project"]["nodes"] = "nope"
    store.path.write_text(json.dumps(data))
    assert store.pending() is None


# -- autosave controller ------------------------------------------------------------------------

def test_autosave_writes_when_modified_and_clears_when_clean(qtbot, tmp_path, new_document):
    store = RecoveryStore(tmp_path)
    document = new_document()
    autosave = AutosaveController(document, store)
    assert autosave.interval_ms == 60_000
    assert not autosave.save_now() and store.pending() is None  # nothing unsaved yet

    document.apply(SetParams("n2", {"filters": 8}), "Set filters")
    with qtbot.waitSignal(autosave.saved):
        assert autosave.save_now()
    assert store.pending().spec == edited_lenet()
    assert not autosave.save_now()  # nothing new since the last copy

    document.undo_stack.undo()  # back to the saved state: the copy is obsolete
    assert store.pending() is None

    document.undo_stack.redo()
    assert autosave.save_now()
    document.save(tmp_path / "lenet.json")
    assert store.pending() is None


def test_autosave_timer_fires(qtbot, tmp_path, new_document):
    store = RecoveryStore(tmp_path)
    document = new_document()
    autosave = AutosaveController(document, store, interval_ms=50)
    document.apply(SetParams("n2", {"filters": 8}), "Set filters")
    with qtbot.waitSignal(autosave.saved, timeout=5000):
        pass
    assert store.pending().spec == document.spec


def test_autosave_failure_is_reported_not_raised(qtbot, tmp_path, new_document):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    document = new_document()
    autosave = AutosaveController(document, RecoveryStore(blocker / "recovery"))
    document.apply(SetParams("n2", {"filters": 8}), "Set filters")
    with qtbot.waitSignal(autosave.failed) as failure:
        assert not autosave.save_now()
    assert "Autosave failed" in failure.args[0]


def test_restore_opens_the_copy_as_unsaved_and_keeps_it(qtbot, tmp_path, new_document):
    store = RecoveryStore(tmp_path)
    store.save(edited_lenet(), tmp_path / "lenet.json")
    recovered = store.pending()

    document = new_document()
    autosave = AutosaveController(document, store)
    autosave.restore(recovered)
    assert document.spec == edited_lenet()
    assert document.path == tmp_path / "lenet.json"
    assert document.is_modified
    assert store.pending().spec == edited_lenet()

    autosave.discard()  # "Discard changes"
    assert store.pending() is None


CRASHING_APP = textwrap.dedent("""
    import sys, time
    from PySide6.QtCore import QCoreApplication
    from desktop.document import ProjectDocument
    from desktop.recovery import AutosaveController, RecoveryStore
    from engine.graph.edits import SetParams
    from engine.templates import load_template

    app = QCoreApplication(sys.argv)
    document = ProjectDocument(load_template("lenet5"))
    autosave = AutosaveController(document, RecoveryStore(), interval_ms=200)
    autosave.saved.connect(lambda: print("ready", flush=True))
    document.apply(SetParams("n2", {"filters": 8}), "Set filters")
    app.exec()  # sits in the event loop, autosaving, until it is killed
""")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_autosave_copy_survives_sigkill(tmp_path):
    environment = {**os.environ, RECOVERY_DIR_ENV: str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                               os.environ.get("PYTHONPATH")]))}
    app = subprocess.Popen([sys.executable, "-c", CRASHING_APP], env=environment,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        readable, _, _ = select.select([app.stdout], [], [], 60)  # never hang the test run
        line = app.stdout.readline() if readable else ""
        if line.strip() != "ready":
            app.kill()
            pytest.fail(f"the app did not autosave: {line!r} {app.stderr.read()}")
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(timeout=30)
    assert app.returncode == -signal.SIGKILL

    recovered = RecoveryStore(tmp_path).pending()
    assert recovered is not None
    assert recovered.spec == edited_lenet()
    assert recovered.original_path is None
