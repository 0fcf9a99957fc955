"""`cnn-studio train / resume / runs / datasets`: Ctrl-C in a real subprocess, the rest run
in this process (TensorFlow already loaded)."""

import os
import signal
import subprocess

import pytest

from engine.training.runs import RunFolder, list_runs
from tests.engine.test_cli import CLI, run_here


@pytest.mark.slow  # an accuracy threshold: ten full epochs (`make test-all`)
def test_lenet5_on_digits_reaches_90_percent_validation_accuracy(tmp_path):
    out = run_here("train", "--template", "lenet5", "--dataset", "digits", "--epochs", "10",
              "--out", str(tmp_path)).stdout
    assert "Test accuracy" in out and "Run saved in" in out
    [summary] = list_runs(tmp_path)
    assert summary.status == "finished" and summary.epochs_completed == 10
    assert summary.best_val_accuracy >= 0.90
    table = run_here("runs", str(tmp_path)).stdout
    assert summary.path.name in table and "finished" in table


def test_ctrl_c_stops_cleanly_and_resume_finishes_the_run(tmp_path):
    process = subprocess.Popen(
        [*CLI, "train", "--template", "lenet5", "--dataset", "digits", "--epochs", "400",
         "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    # Wait for the first completed epoch, then press Ctrl-C.
    for line in process.stdout:
        if line.startswith("epoch 2/"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "Stopped after" in out and "cnn-studio resume" in out
    [summary] = list_runs(tmp_path)
    assert summary.status == "stopped" and summary.epochs_completed >= 2
    folder = RunFolder(summary.path)
    # Make the remaining work short, as a user would by editing config.json: resume to epoch N+1.
    config = folder.read_json("config.json")
    config["epochs"] = summary.epochs_completed + 1
    folder.write_json("config.json", config)
    resumed = run_here("resume", str(summary.path)).stdout
    assert f"Resuming after epoch {summary.epochs_completed}" in resumed
    [after] = list_runs(tmp_path)
    assert after.status == "finished" and after.epochs_completed == summary.epochs_completed + 1
    epochs = [e["epoch"] for e in folder.history()]
    assert epochs == list(range(1, after.epochs_completed + 1))


def test_datasets_lists_offline_availability():
    out = run_here("datasets").stdout
    assert "digits" in out and "shapes" in out and "folder:PATH" in out


def test_training_problems_exit_1_with_one_line(tmp_path):
    result = run_here("train", "--template", "lenet5", "--dataset", "faces", "--epochs", "1",
                 "--out", str(tmp_path), check=False)
    assert result.returncode == 1
    assert "has 10 units but dataset 'faces' has 2 classes" in result.stderr
    result = run_here("train", "--template", "lenet5", "--dataset", "nosuch", "--out", str(tmp_path),
                 check=False)
    assert result.returncode == 1 and "nosuch" in result.stderr
    assert "Traceback" not in result.stderr
