"""Real (tiny) training runs on real data: events, stop, pause, resume, NaN, run folders."""

import json
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from engine.graph.edits import SetParams
from engine.training.config import Augmentation, TrainingConfig
from engine.training.runs import RunFolder, list_runs, sanitize_run_name
from engine.training.session import run_training
from tests.engine.helpers import diverging_mlp, tiny_cnn

QUICK = dict(dataset="digits", max_samples=400, batch_size=32)


class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def of(self, kind):
        return [e for e in self.events if e["type"] == kind]

    @property
    def kinds(self):
        return [e["type"] for e in self.events]


def test_events_come_in_order_with_their_content(tmp_path):
    record = Recorder()
    result = run_training(tiny_cnn(), TrainingConfig(epochs=2, **QUICK), record, runs_root=tmp_path)
    assert result["type"] == "finished" and record.kinds[-1] == "finished"
    first = record.kinds.index("started")  # only "phase" events (loading, building) before it
    assert set(record.kinds[:first]) <= {"phase"}
    started = record.events[first]
    assert started["devices"] and started["dataset"]["num_classes"] == 10
    assert [row["name"] for row in started["model_summary"]][:2] == ["input", "conv"]
    epochs = record.of("epoch_ended")
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "gradient_norms",
            "eta", "elapsed", "samples_per_second"} <= set(epochs[0])
    assert set(epochs[0]["gradient_norms"]) == {"conv", "output"}
    assert all(norm > 0 for norm in epochs[0]["gradient_norms"].values())
    # Each epoch: its batches, then epoch_ended, then the kernel snapshot.
    first_epoch_end = record.kinds.index("epoch_ended")
    assert "batch_ended" in record.kinds[1:first_epoch_end]
    snapshot = record.events[first_epoch_end + 1]
    assert snapshot["type"] == "filters_snapshot"
    kernel = snapshot["kernels"]["conv"]
    assert kernel.dtype == np.float32 and kernel.shape == (3, 3, 1, 4)
    confusion = np.array(result["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == started["dataset"]["sizes"]["test"]
    assert len(result["per_class_accuracy"]) == 10 and result["best_epoch"] in (1, 2)
    examples = result["examples"]
    assert examples["image"].dtype == np.uint8 and examples["probabilities"].shape[1] == 10
    for true, predicted in zip(examples["true"], examples["predicted"]):
        assert confusion[true, predicted] > 0  # each example sits in a non-empty cell
    saved = RunFolder(result["run_dir"]).examples()
    np.testing.assert_array_equal(saved["index"], examples["index"])


def test_run_folder_contents(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_STUDIO_TENSORBOARD", "1")
    result = run_training(tiny_cnn(), TrainingConfig(epochs=2, **QUICK), runs_root=tmp_path)
    folder = RunFolder(result["run_dir"])
    names = {p.name for p in folder.path.iterdir()}
    assert {"run.json", "spec.json", "config.json", "history.json", "metrics.json", "model.keras",
            "checkpoint-0002.keras", "kernels", "logs"} <= names
    assert not [n for n in names if n.startswith(".")], "no temporary files left behind"
    assert "checkpoint-0001.keras" not in names  # only the checkpoint run.json commits to stays
    assert folder.spec() == tiny_cnn()
    assert folder.config() == TrainingConfig(epochs=2, **QUICK)
    assert [e["epoch"] for e in folder.history()] == [1, 2]
    assert folder.metrics()["test_accuracy"] == result["test_accuracy"]
    assert folder.kernels(2)["conv"].shape == (3, 3, 1, 4)
    status = folder.status()
    assert status["status"] == "finished" and status["epochs_completed"] == 2
    [summary] = list_runs(tmp_path)
    assert summary.test_accuracy == result["test_accuracy"]
    import keras
    model = keras.saving.load_model(folder.path / "model.keras", safe_mode=True)
    assert model.count_params() == 4 * 9 + 4 + 64 * 10 + 10


def test_stop_after_a_batch_keeps_completed_epochs_and_resume_continues(tmp_path):
    record = Recorder()
    stop = lambda: len(record.of("epoch_ended")) >= 1  # noqa: E731 - stops in epoch 2
    config = TrainingConfig(epochs=3, **QUICK)
    stopped = run_training(tiny_cnn(), config, record, should_stop=stop, runs_root=tmp_path)
    assert stopped["type"] == "stopped" and stopped["resumable"]
    assert stopped["epochs_completed"] == 1
    folder = RunFolder(stopped["run_dir"])
    assert folder.status()["status"] == "stopped" and len(folder.history()) == 1

    import keras
    steps = record.of("started")[0]["steps_per_epoch"]
    assert int(keras.saving.load_model(folder.checkpoint).optimizer.iterations) == steps

    resumed = Recorder()
    result = run_training(folder.spec(), folder.config(), resumed, resume_dir=folder.path)
    assert result["type"] == "finished", result
    assert resumed.of("started")[0]["initial_epoch"] == 1
    assert [e["epoch"] for e in resumed.of("epoch_ended")] == [2, 3]
    assert [e["epoch"] for e in folder.history()] == [1, 2, 3]
    # Optimizer state came back: iterations continue rather than restart.
    assert int(keras.saving.load_model(folder.checkpoint).optimizer.iterations) == 3 * steps


def test_stop_rolls_back_to_the_last_completed_epoch_between_checkpoints(tmp_path):
    record = Recorder()
    stop = lambda: len(record.of("epoch_ended")) >= 2  # noqa: E731 - epoch 2 is only in memory
    stopped = run_training(tiny_cnn(), TrainingConfig(epochs=5, **QUICK), record, should_stop=stop,
                           runs_root=tmp_path)
    assert stopped["type"] == "stopped" and stopped["resume_epoch"] == 2
    folder = RunFolder(stopped["run_dir"])
    assert folder.resume_epoch() == 2
    import keras
    steps = record.of("started")[0]["steps_per_epoch"]
    checkpoint = keras.saving.load_model(folder.checkpoint)
    assert int(checkpoint.optimizer.iterations) == 2 * steps
    # The checkpoint holds exactly the weights the network had at the end of epoch 2.
    np.testing.assert_array_equal(checkpoint.get_layer("conv").kernel.numpy(),
                                  folder.kernels(2)["conv"])


def test_pause_waits_between_batches(tmp_path):
    record = Recorder()
    paused = threading.Event()
    paused.set()
    threading.Timer(1.0, paused.clear).start()
    started = time.perf_counter()
    result = run_training(tiny_cnn(), TrainingConfig(epochs=1, **QUICK), record,
                          should_pause=paused.is_set, runs_root=tmp_path)
    assert result["type"] == "finished"
    assert time.perf_counter() - started >= 1.0
    assert len(record.of("batch_ended")) >= 1


class PauseOnce:
    """should_pause that holds training for `seconds` from its `at_check`-th call (it is asked
    once before each batch), then lets it go on."""

    def __init__(self, at_check: int, seconds: float):
        self.at_check, self.seconds = at_check, seconds
        self.checks = 0
        self.until: float | None = None

    def __call__(self) -> bool:
        self.checks += 1
        if self.checks == self.at_check:
            self.until = time.perf_counter() + self.seconds
        return self.until is not None and time.perf_counter() < self.until


def test_paused_time_is_left_out_of_timings_and_eta(tmp_path):
    record = Recorder()
    # One batch per call, so the pause check below counts batches.
    config = TrainingConfig(epochs=3, steps_per_execution=1, **QUICK)
    steps = 280 // 32 + 1  # digits capped at 400 images: 280 train images, batches of 32
    pause = PauseOnce(at_check=steps + 4, seconds=1.0)  # mid-epoch 2: epoch 1 also traces
    result = run_training(tiny_cnn(), config, record, should_pause=pause, runs_root=tmp_path)
    assert result["type"] == "finished"
    assert record.of("started")[0]["steps_per_epoch"] == steps
    first, second, third = record.of("epoch_ended")
    paused = second["paused_seconds"]
    assert first["paused_seconds"] == 0.0 and paused >= 0.9 and third["paused_seconds"] == paused
    # Wall-clock spans ("time" is seconds since the start, pauses included) minus the pause
    # bound what the run reports; 0.01 s covers the rounding of "time".
    assert second["epoch_time"] <= second["time"] - first["time"] - paused + 0.01
    assert second["elapsed"] <= second["time"] - paused + 0.01
    assert second["eta"] == pytest.approx(first["epoch_time"] / 2 + second["epoch_time"] / 2)
    assert second["samples_per_second"] == pytest.approx(steps * 32 / second["epoch_time"])
    last_batch = [e for e in record.of("batch_ended") if e["epoch"] == 2][-1]
    seconds_reported = last_batch["batch"] * 32 / last_batch["samples_per_second"]
    assert seconds_reported <= last_batch["time"] - first["time"] - paused + 0.01
    # The run's total training time is the sum of the epochs': no pause in it either.
    assert result["training_time"] == pytest.approx(sum(e["epoch_time"] for e in (first, second, third)))


def test_non_finite_loss_fails_with_advice_and_leaves_no_half_run(tmp_path):
    config = TrainingConfig(epochs=2, optimizer="sgd_momentum", learning_rate=10.0,
                            loss="mean_squared_error", **QUICK)
    result = run_training(diverging_mlp(), config, runs_root=tmp_path)
    assert result["type"] == "failed"
    assert "NaN" in result["message"] and "learning rate" in result["message"]
    assert list(tmp_path.iterdir()) == []


def test_output_size_mismatch_names_the_node_and_the_fix(tmp_path):
    spec = SetParams("n5", {"units": 7}).apply(tiny_cnn())
    result = run_training(spec, TrainingConfig(epochs=1, **QUICK), runs_root=tmp_path)
    assert result["type"] == "failed"
    assert "output has 7 units" in result["message"] and "set units of output to 10" in result["message"]
    assert list(tmp_path.iterdir()) == []


def test_invalid_graph_is_refused_before_training(tmp_path):
    spec = SetParams("n2", {"kernel_size": [20, 20], "padding": "valid"}).apply(tiny_cnn())
    result = run_training(spec, TrainingConfig(epochs=1, **QUICK), runs_root=tmp_path)
    assert result["type"] == "failed" and "fix them before training" in result["message"]


def test_augmentation_schedule_and_other_optimizers_train(tmp_path):
    config = TrainingConfig(epochs=2, optimizer="rmsprop", schedule="cosine", early_stopping=True,
                            augmentation=Augmentation.default_on(), **QUICK)
    result = run_training(tiny_cnn(), config, runs_root=tmp_path)
    assert result["type"] == "finished", result
    history = RunFolder(result["run_dir"]).history()
    assert history[1]["learning_rate"] < history[0]["learning_rate"]  # cosine decays


def test_batch_larger_than_dataset_is_explained(tmp_path):
    record = Recorder()
    config = TrainingConfig(epochs=1, dataset="digits", max_samples=60, batch_size=4096)
    result = run_training(tiny_cnn(), config, record, runs_root=tmp_path)
    assert result["type"] == "finished"
    assert "larger than the" in record.of("started")[0]["notes"][0]


def test_config_json_round_trip_and_validation():
    config = TrainingConfig(epochs=3, augmentation=Augmentation(translation=0.2), max_samples=100)
    assert TrainingConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    from engine.errors import ProjectError
    with pytest.raises(ProjectError, match="learning rate"):
        TrainingConfig(learning_rate=-1)
    with pytest.raises(ProjectError, match="unknown setting"):
        TrainingConfig.from_dict({"epochz": 3})


def test_run_names_cannot_escape_the_runs_folder(tmp_path):
    assert sanitize_run_name("../../etc/passwd") == "etc-passwd"
    assert sanitize_run_name("/absolute/path") == "absolute-path"
    folder = RunFolder.create(tmp_path, "../escape")
    assert folder.path.parent == tmp_path


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    from engine.training.config import TrainingConfig
    from engine.training.session import run_training
    from tests.engine.helpers import tiny_cnn
    events = []
    result = run_training(tiny_cnn(), TrainingConfig(epochs=1, strategy="mirrored", dataset="digits",
                          max_samples=200, batch_size=32), events.append, runs_root=sys.argv[1])
    started = next(event for event in events if event["type"] == "started")
    print(json.dumps({"type": result["type"], "devices": started["devices"],
                      "message": result.get("message")}))
""")


@pytest.mark.slow  # a second process with two logical CPUs (~11 s); make test-all
def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    out = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path)], capture_output=True,
                         text=True, timeout=300, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["type"] == "finished", report
    assert report["devices"] == ["CPU:0", "CPU:1"]


def test_mixed_precision_trains_and_resets_the_policy(tmp_path):
    import keras
    config = TrainingConfig(epochs=1, mixed_precision=True, **QUICK)
    result = run_training(tiny_cnn(), config, runs_root=tmp_path)
    assert result["type"] == "finished", result
    assert keras.config.dtype_policy().name == "float32"
    model = keras.saving.load_model(RunFolder(result["run_dir"]).path / "model.keras", compile=False)
    assert model.get_layer("conv").dtype_policy.name == "mixed_float16"
