"""The Keras backend a run trains on: TrainingConfig.backend, `cnn-studio train --backend`,
and the worker's refusal of a run for another backend. The end-to-end JAX run is skipped
where JAX is not installed (`pip install "cnn-studio[jax]"`: not part of the test extra)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine import protocol
from engine.errors import ProjectError
from engine.training.backends import is_installed, run_backend, unavailable_reason
from engine.training.config import TrainingConfig
from engine.worker import WorkerLoop
from tests.engine.test_cli import CLI

# Runs the CLI as if JAX were not installed: find_spec("jax") finds nothing.
WITHOUT_JAX = """
import importlib.util, sys
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a, **k: None if name.split('.')[0] == 'jax' else real(name, *a, **k)
from engine.cli import main
code = main(sys.argv[1:])
loaded = [m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules]
print('loaded:', ','.join(loaded) or 'nothing')
sys.exit(code)
"""


def test_the_backend_is_a_setting_tensorflow_by_default():
    assert TrainingConfig().backend == "tensorflow"
    assert TrainingConfig(backend="jax").to_dict()["backend"] == "jax"
    # A config.json from before the choice existed trains on TensorFlow, as it did.
    old = TrainingConfig().to_dict()
    del old["backend"]
    assert TrainingConfig.from_dict(old).backend == "tensorflow"
    with pytest.raises(ProjectError, match="backend must be one of tensorflow, jax"):
        TrainingConfig(backend="torch")
    with pytest.raises(ProjectError, match="mirrored strategy needs the TensorFlow backend"):
        TrainingConfig(backend="jax", strategy="mirrored")


def test_availability_is_found_without_importing(monkeypatch):
    before = "jax" in sys.modules
    assert is_installed("tensorflow") and unavailable_reason("tensorflow") is None
    is_installed("jax")
    assert ("jax" in sys.modules) == before
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a, **k: None)
    assert unavailable_reason("jax") == 'JAX is not installed here: pip install "cnn-studio[jax]"'
    assert unavailable_reason("jax", in_app=True).endswith("Restart CNN Studio after installing it.")


def test_a_runs_backend_is_read_from_its_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"backend": "jax"}))
    assert run_backend(tmp_path) == "jax"
    (tmp_path / "config.json").write_text(json.dumps({"epochs": 3}))  # before the choice
    assert run_backend(tmp_path) == "tensorflow"
    assert run_backend(tmp_path / "missing") is None


def test_a_worker_refuses_a_run_for_another_backend(tmp_path):
    loop = WorkerLoop(connection=None, role="training")
    loop.backend = "tensorflow"
    loop._check_backend(protocol.Submit(1, "train", {"config": {"backend": "tensorflow"}}))
    with pytest.raises(ProjectError, match="ask for the jax backend, but this training process "
                                           "runs Keras on tensorflow"):
        loop._check_backend(protocol.Submit(2, "train", {"config": {"backend": "jax"}}))
    (tmp_path / "config.json").write_text(json.dumps({"backend": "jax"}))
    with pytest.raises(ProjectError, match="ask for the jax backend"):
        loop._check_backend(protocol.Submit(3, "resume", {"run_dir": str(tmp_path)}))
    loop._check_backend(protocol.Submit(4, "export_keras", {"spec": {}, "path": "x"}))


def test_train_on_jax_without_jax_is_one_line_and_exit_2_before_tensorflow_loads(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_JAX, "train", "--template", "lenet5", "--dataset", "digits",
         "--backend", "jax", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == 'cnn-studio: JAX is not installed here: pip install "cnn-studio[jax]"\n'
    assert "loaded: nothing" in result.stdout
    assert not any(tmp_path.iterdir())


def test_lenet5_trains_on_jax_through_the_cli(tmp_path):
    pytest.importorskip("jax")
    result = subprocess.run(
        [*CLI, "train", "--template", "lenet5", "--dataset", "digits", "--backend", "jax",
         "--epochs", "1", "--max-samples", "300", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "with jax on" in result.stdout and "Test accuracy" in result.stdout
    [run_dir] = tmp_path.iterdir()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished" and run["backend"] == "jax"
    assert json.loads((run_dir / "config.json").read_text())["backend"] == "jax"
