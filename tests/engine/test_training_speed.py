"""The loop's own speed choices: steps per execution chosen from the network's cost, the live
batch curve and stop still answered per call, and every choice recorded with its reason."""

from engine.training.config import TrainingConfig
from engine.training.runs import RunFolder
from engine.training.session import run_training
from engine.training.speed import CHUNK_SECONDS, choose_steps_per_execution, estimated_step_seconds
from tests.engine.helpers import tiny_cnn
from tests.engine.test_training import QUICK, Recorder


def test_small_networks_run_several_steps_per_call_and_big_ones_one():
    small = choose_steps_per_execution(400_000, 32, steps_per_epoch=40)  # LeNet-5
    assert 1 < small.steps <= 10 and "steps per call" in small.why
    assert small.steps * estimated_step_seconds(400_000, 32) <= CHUNK_SECONDS
    assert choose_steps_per_execution(20_000_000, 32, 40).steps == 1  # ResNet-mini: ~90 ms a step
    assert choose_steps_per_execution(None, 32, 40).steps == 1  # variable size: cost unknown
    assert choose_steps_per_execution(1_000, 32, 8).steps == 2  # at least four calls an epoch
    assert choose_steps_per_execution(1_000, 32, 40, requested=3).steps == 3


def test_the_choice_is_recorded_and_the_curve_and_stop_still_work(tmp_path):
    record = Recorder()
    stop = lambda: len(record.of("epoch_ended")) >= 1  # noqa: E731 - stops in epoch 2
    result = run_training(tiny_cnn(), TrainingConfig(epochs=3, **QUICK), record, should_stop=stop,
                          runs_root=tmp_path)
    assert result["type"] == "stopped" and result["epochs_completed"] == 1
    started = record.of("started")[0]
    speed = started["speed"]
    assert speed["steps_per_execution"] > 1 and speed["why"]
    assert {"jit_compile", "backend", "devices", "cpu_threads"} <= set(speed)
    assert RunFolder(result["run_dir"]).status()["speed"] == speed
    batches = [e["batch"] for e in record.of("batch_ended") if e["epoch"] == 1]
    assert batches[-1] == started["steps_per_epoch"] and len(batches) >= 2  # not only the end


def test_the_mirrored_strategy_runs_one_batch_per_call():
    choice = choose_steps_per_execution(400_000, 32, 40, strategy="mirrored")
    assert choice.steps == 1 and "mirrored" in choice.why
