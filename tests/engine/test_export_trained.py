"""Exporting a run's trained model (engine.export.export_trained): a `.keras` file that is the
model as trained, a Keras script plus `<name>.weights.h5` that rebuilds it exactly, or ONNX,
SavedModel and TFLite that compute what it computes. One real tiny run (digits, 8x8) is trained
for the whole module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from engine.errors import ProjectError
from engine.export import export_trained
from engine.inspection import run_images
from engine.tasks import run_task
from engine.training.config import TrainingConfig
from engine.training.session import run_training
from tests.engine.helpers import tiny_cnn

QUICK = dict(dataset="digits", max_samples=300, batch_size=32)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNN_STUDIO_TENSORBOARD", "0")  # not needed here, and slow
        result = run_training(tiny_cnn(), TrainingConfig(epochs=2, **QUICK),
                              runs_root=tmp_path_factory.mktemp("runs"), name="trained")
    assert result["type"] == "finished", result
    return Path(result["run_dir"])


@pytest.fixture(scope="module")
def digits(run_dir) -> np.ndarray:
    """Some of the run's own test digits, as the model takes them."""
    images = np.asarray(run_images(run_dir, split="test", count=16)["images"], dtype=np.float32)
    assert images.shape == (16, 8, 8, 1)
    return images


@pytest.fixture(scope="module")
def trained(run_dir) -> keras.Model:
    return keras.saving.load_model(run_dir / "model.keras", safe_mode=True, compile=False)


def predict(model, images) -> np.ndarray:
    return np.asarray(model.predict(images, verbose=0))


def test_keras_export_is_the_model_as_trained(run_dir, trained, digits, tmp_path):
    path = tmp_path / "out" / "digits.keras"
    path.parent.mkdir()
    export_trained(run_dir, path)
    assert path.read_bytes() == (run_dir / "model.keras").read_bytes()
    assert [p.name for p in path.parent.iterdir()] == ["digits.keras"]  # no temporary left
    exported = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(predict(exported, digits), predict(trained, digits), atol=1e-6)


def _script_model(script: Path) -> keras.Model:
    """Run the exported script's code the way `python script.py` would, minus the summary."""
    namespace = {"__file__": str(script), "__name__": "exported_script"}
    exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), namespace)
    return namespace["model"]


def test_python_export_rebuilds_the_trained_network(run_dir, trained, digits, tmp_path):
    script = tmp_path / "my model.py"  # a space in the name: the script finds its weights anyway
    export_trained(run_dir, script)
    weights = tmp_path / "my model.weights.h5"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my model.py", "my model.weights.h5"]
    text = script.read_text(encoding="utf-8")
    assert "untrained" not in text and "my model.weights.h5" in text
    assert weights.stat().st_size > 0
    rebuilt = _script_model(script)
    assert rebuilt.count_params() == trained.count_params()
    expected = predict(trained, digits)
    np.testing.assert_allclose(predict(rebuilt, digits), expected, atol=1e-5)
    # It is the trained network, not a fresh one: it gets most of these digits right.
    fresh = keras.Model.from_config(trained.get_config())
    assert not np.allclose(predict(fresh, digits), expected, atol=1e-3)


def test_python_export_runs_as_a_script_from_anywhere(run_dir, tmp_path):
    script = tmp_path / "export" / "net.py"
    script.parent.mkdir()
    export_trained(run_dir, script)
    # Run from another folder: the weights are found beside the script, not in the cwd.
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Total params" in done.stdout


def test_a_run_without_a_trained_model_is_named(run_dir, tmp_path):
    folder = tmp_path / "half-run"
    shutil.copytree(run_dir, folder)
    (folder / "model.keras").unlink()
    with pytest.raises(ProjectError, match="half-run has no trained model"):
        export_trained(folder, tmp_path / "out.keras")
    with pytest.raises(ProjectError, match="half-run"):
        export_trained(folder, tmp_path / "out.py")
    assert not (tmp_path / "out.keras").exists() and not (tmp_path / "out.py").exists()


def test_a_wrong_suffix_is_refused(run_dir, tmp_path):
    for name in ("model.h5", "model.weights.h5", "model"):
        with pytest.raises(ProjectError, match="choose a .keras or a .py file"):
            export_trained(run_dir, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_the_export_task_names_a_run_folder_that_went_away(run_dir, tmp_path):
    gone = tmp_path / "deleted-run"
    assert run_task("export_run", run_dir=run_dir, path=tmp_path / "ok.keras") == str(tmp_path / "ok.keras")
    with pytest.raises(ProjectError, match="deleted-run no longer exists"):
        run_task("export_run", run_dir=gone, path=tmp_path / "nope.keras")
    assert not (tmp_path / "nope.keras").exists()


# -- ONNX, SavedModel, TFLite ------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
@pytest.mark.parametrize("name, format", [("digits.onnx", None), ("digits.tflite", None),
                                          ("digits_savedmodel", "saved_model")])
def test_inference_formats_are_the_model_as_trained(name, format, run_dir, trained, digits,
                                                    tmp_path):
    from tests.engine.test_export_formats import RUNTIMES

    path = tmp_path / name
    export_trained(run_dir, path, format=format)  # .onnx and .tflite: known by the suffix
    assert [p.name for p in tmp_path.iterdir()] == [name]
    run = RUNTIMES[format or path.suffix[1:]]
    np.testing.assert_allclose(run(path, digits), predict(trained, digits), atol=1e-4)


def test_the_export_task_takes_a_format(run_dir, tmp_path):
    folder = tmp_path / "served"
    assert run_task("export_run", run_dir=run_dir, path=folder, format="saved_model") == str(folder)
    assert (folder / "saved_model.pb").is_file()
    with pytest.raises(ProjectError, match="TFLite files must end in '.tflite'"):
        run_task("export_run", run_dir=run_dir, path=tmp_path / "net.onnx", format="tflite")
    assert [p.name for p in tmp_path.iterdir()] == ["served"]


def test_the_command_line_exports_a_run_in_any_format(run_dir, trained, digits, tmp_path, capsys):
    from engine.cli import main
    from tests.engine.test_export_formats import RUNTIMES

    path = tmp_path / "digits.onnx"
    assert main(["export", "--run", str(run_dir), "--onnx", str(path)]) == 0
    assert "trained model of" in capsys.readouterr().out
    np.testing.assert_allclose(RUNTIMES["onnx"](path, digits), predict(trained, digits), atol=1e-4)
    assert main(["export", "--run", str(tmp_path), "--keras", str(tmp_path / "x.keras")]) == 2
    assert "holds no trained model" in capsys.readouterr().err
