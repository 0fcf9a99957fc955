"""Keras work in a spawned worker: results arrive as signals, the test process stays Keras-free.

Each task that touches Keras starts a fresh Python and imports TensorFlow (a few seconds).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from desktop.engine_tasks import EngineTask, run_task
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


def test_a_worker_that_dies_is_reported(qtbot):
    # Killed from outside: what an out-of-memory kill or a crash in native code looks like.
    task = EngineTask()
    with qtbot.waitSignal(task.failed, timeout=TIMEOUT_MS) as failure:
        task.start("import_keras", path="/nonexistent.keras")
        task._process.kill()
    assert failure.args[0].startswith("The worker stopped unexpectedly (exit code -9")


def test_cancel_stops_the_worker_without_a_signal(qtbot, tmp_path):
    task = EngineTask()
    outcomes = []
    task.finished.connect(outcomes.append)
    task.failed.connect(outcomes.append)
    task.start("export_keras", spec=load_template("lenet5"), path=tmp_path / "model.keras")
    process = task._process
    task.cancel()
    assert not task.is_running()
    qtbot.waitUntil(lambda: not process.is_alive(), timeout=10_000)
    qtbot.wait(200)
    assert outcomes == []
    assert list(tmp_path.iterdir()) == []  # neither the model nor a temporary file


def test_arguments_are_checked_before_a_worker_starts():
    task = EngineTask()
    with pytest.raises(ValueError, match="Unknown task"):
        task.start("train", path="x")
    with pytest.raises(TypeError, match="path, spec"):
        task.start("export_keras", path="x.keras")
    assert not task.is_running()


def test_only_one_task_at_a_time(qtbot, tmp_path):
    task = EngineTask()
    task.start("export_python", spec=load_template("lenet5"), path=tmp_path / "a.py")
    try:
        with pytest.raises(RuntimeError, match="already running"):
            task.start("export_python", spec=load_template("lenet5"), path=tmp_path / "b.py")
    finally:
        task.cancel()


def test_blocking_helper(tmp_path):
    script = tmp_path / "lenet.py"
    assert run_task("export_python", spec=load_template("lenet5"), path=script) == str(script)
    with pytest.raises(ProjectError, match="Cannot export to model.h5"):
        run_task("export_keras", spec=load_template("lenet5"), path=tmp_path / "model.h5")
