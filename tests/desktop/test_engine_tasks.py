"""Keras work in the warm inspection worker: results arrive as signals, the test process
stays Keras-free. The worker is the app's shared engine: warm once for the whole session.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from desktop import workers
from desktop.engine_tasks import EngineTask, run_task
from desktop.workers import Engine
from engine.errors import ProjectError
from engine.graph.shapes import infer
from engine.graph.spec import NetworkSpec
from engine.templates import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 120_000
KERAS_MODULES = ("keras", "tensorflow")


@pytest.fixture(scope="module")
def keras_loaded_before():
    """Other test modules may import Keras in this process; only what happens here counts."""
    return {name for name in KERAS_MODULES if name in sys.modules}


def run_and_wait(qtbot, kind: str, **arguments):
    """Start a task; the (signal name, value) it ends with."""
    task = EngineTask()
    outcomes = []
    task.finished.connect(lambda result: outcomes.append(("finished", result)))
    task.failed.connect(lambda message: outcomes.append(("failed", message)))
    task.start(kind, **arguments)
    assert task.is_running()
    qtbot.waitUntil(lambda: bool(outcomes), timeout=TIMEOUT_MS)
    assert not task.is_running()
    qtbot.wait(100)  # no second signal follows
    assert len(outcomes) == 1
    return outcomes[0]


def test_importing_the_gui_modules_does_not_import_keras():
    code = ("import sys, desktop.engine_tasks, desktop.recovery, desktop.settings, desktop.document\n"
            "print([m for m in ('keras', 'tensorflow') if m in sys.modules])")
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True).stdout
    assert output.strip() == "[]"


def test_export_import_round_trip_in_the_worker(qtbot, tmp_path, keras_loaded_before):
    spec = load_template("lenet5")

    script = tmp_path / "lenet.py"
    assert run_and_wait(qtbot, "export_python", spec=spec, path=script) == ("finished", str(script))
    assert "import keras" in script.read_text()

    model_file = tmp_path / "lenet.keras"
    assert run_and_wait(qtbot, "export_keras", spec=spec, path=model_file) == \
        ("finished", str(model_file))
    assert model_file.stat().st_size > 0

    outcome, result = run_and_wait(qtbot, "import_keras", path=model_file)
    assert outcome == "finished" and isinstance(result, dict)
    imported = NetworkSpec.from_dict(result)
    assert infer(imported).total_params == 61706

    outcome, message = run_and_wait(qtbot, "import_keras", path=script)
    assert outcome == "failed"
    assert "lenet.py" in message and ".keras" in message

    assert {name for name in KERAS_MODULES if name in sys.modules} == keras_loaded_before


def test_an_engine_refusal_is_a_failed_signal(qtbot, tmp_path):
    outcome, message = run_and_wait(qtbot, "export_keras", spec=load_template("lenet5"),
                                    path=tmp_path / "model.h5")
    assert outcome == "failed" and "must end in '.keras'" in message


# A killed inspection worker (reported, replaced, the next request served) is tested once, in
# the window's Features Lab: tests/desktop/test_warm_engine_window.py.


def test_cancel_drops_the_job_without_a_signal_or_a_file(qtbot, tmp_path):
    task = EngineTask()
    outcomes = []
    task.finished.connect(outcomes.append)
    task.failed.connect(outcomes.append)
    task.start("export_keras", spec=load_template("lenet5"), path=tmp_path / "model.keras")
    task.cancel()
    assert not task.is_running()
    run_task("export_python", spec=load_template("lenet5"), path=tmp_path / "after.py")
    qtbot.wait(200)
    assert outcomes == []
    # Neither the model nor a temporary file: the worker abandoned it before the rename.
    assert [p.name for p in tmp_path.iterdir()] == ["after.py"]


def test_arguments_are_checked_before_a_job_is_sent():
    task = EngineTask()
    with pytest.raises(ValueError, match="Unknown task"):
        task.start("no_such_task", path="x")
    with pytest.raises(TypeError, match="spec, path"):
        task.start("export_keras", path="x.keras")
    assert not task.is_running()


def test_a_newer_request_supersedes_the_older_one(qtbot, tmp_path):
    task = EngineTask()
    outcomes = []
    task.finished.connect(outcomes.append)
    task.start("export_python", spec=load_template("lenet5"), path=tmp_path / "a.py")
    task.start("export_python", spec=load_template("lenet5"), path=tmp_path / "b.py")
    qtbot.waitUntil(lambda: not task.is_running(), timeout=TIMEOUT_MS)
    qtbot.wait(200)
    assert outcomes == [str(tmp_path / "b.py")]  # only the answer still wanted


def test_a_run_folder_deleted_meanwhile_is_named(tmp_path):
    gone = tmp_path / "20260101-000000-gone"
    with pytest.raises(ProjectError, match="20260101-000000-gone no longer exists"):
        run_task("lab_histograms", run_dir=gone)


def test_a_worker_of_another_protocol_version_is_refused_clearly(qtbot):
    from tests.desktop import fake_workers

    engine = Engine(targets={"inspection": fake_workers.old_version_worker})
    failures = []
    try:
        engine.start("import_keras", {"path": "x.keras"}, on_error=failures.append)
        qtbot.waitUntil(lambda: bool(failures), timeout=30_000)
        assert "protocol 1" in failures[0].message and f"this app {workers.protocol.PROTOCOL_VERSION}" \
            in failures[0].message
        # Starting again would meet the same worker: the next job is refused at once, no hang.
        engine.start("import_keras", {"path": "x.keras"}, on_error=failures.append)
        qtbot.waitUntil(lambda: len(failures) == 2, timeout=1000)
        assert "another version of CNN Studio" in failures[1].message
    finally:
        engine.shutdown()


def test_a_worker_that_never_says_hello_is_ended(qtbot, monkeypatch):
    from tests.desktop import fake_workers

    monkeypatch.setattr(workers, "HELLO_TIMEOUT_S", 2.0)
    engine = Engine(targets={"inspection": fake_workers.silent_worker})
    engine.workers["inspection"].restart = False
    failures = []
    try:
        engine.start("import_keras", {"path": "x.keras"}, on_error=failures.append)
        qtbot.waitUntil(lambda: bool(failures), timeout=30_000)
        assert "did not start within 2 s" in failures[0].message
    finally:
        engine.shutdown()


def test_blocking_helper(tmp_path):
    script = tmp_path / "lenet.py"
    assert run_task("export_python", spec=load_template("lenet5"), path=script) == str(script)
    with pytest.raises(ProjectError, match="Cannot export to model.h5"):
        run_task("export_keras", spec=load_template("lenet5"), path=tmp_path / "model.h5")
