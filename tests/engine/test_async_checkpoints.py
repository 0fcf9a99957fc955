"""Checkpoints written off the training thread (engine.training.checkpoints): a crash in the
middle of a background write (os._exit, SIGKILL of a real training process) leaves the
previous checkpoint named and whole, and `cnn-studio resume` continues from it; the end of
training waits for the last write and run.json names it; a stop mid-epoch with a write in
flight resumes exactly; the writer's file holds what model.save of the training model holds.
Also: with short epochs, gradient norms and kernel snapshots every few epochs."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.training import callbacks
from engine.training.config import TrainingConfig
from engine.training.runs import RunFolder, list_runs
from engine.training.session import run_training
from tests.engine.helpers import tiny_cnn
from tests.engine.test_cli import run_here
from tests.engine.test_training import QUICK, Recorder

ROOT = Path(__file__).resolve().parents[2]
STEPS = 280 // 32 + 1  # digits capped at 400 images: 280 train images, batches of 32


def checkpoint_every_epoch(monkeypatch):
    monkeypatch.setattr(callbacks, "MIN_CHECKPOINT_INTERVAL", 0.0)
    monkeypatch.setattr(callbacks, "CHECKPOINT_TIME_SHARE", 1e9)


def background_writes(monkeypatch, hold=None):
    """Record every checkpoint write as (epoch, on the training thread?, what had happened
    when it ended); hold[epoch]() runs inside that epoch's write, after the file is written
    and before it is placed and named (a slow disk)."""
    writes = []
    write = RunFolder.write_checkpoint

    def recorded(folder, model, epoch):
        temporary = write(folder, model, epoch)
        main = threading.current_thread() is threading.main_thread()
        if not main and hold and epoch in hold:
            hold[epoch]()
        writes.append({"epoch": epoch, "main": main})
        return temporary

    monkeypatch.setattr(RunFolder, "write_checkpoint", recorded)
    return writes


def wait_for(condition, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def iterations(path) -> int:
    import keras

    return int(keras.saving.load_model(path).optimizer.iterations)


def conv_kernel(path) -> np.ndarray:
    import keras

    model = keras.saving.load_model(path)
    return model.get_layer("conv").kernel.numpy()


# -- a crash while a checkpoint is being written ----------------------------------------------

EPOCHS = 6
CRASHER = textwrap.dedent(f"""
    import os, sys, threading
    from engine.training import callbacks
    from engine.training.config import TrainingConfig
    from engine.training.runs import RunFolder
    from engine.training.session import run_training
    from tests.engine.helpers import tiny_cnn

    runs_root, how = sys.argv[1:]
    callbacks.MIN_CHECKPOINT_INTERVAL, callbacks.CHECKPOINT_TIME_SHARE = 0.0, 1e9  # every epoch
    write = RunFolder.write_checkpoint

    def crash_inside_the_write(folder, model, epoch):
        temporary = write(folder, model, epoch)
        if threading.current_thread() is not threading.main_thread() and epoch >= 3:
            with open(temporary, "r+b") as stream:  # half of it on the disk, the rest to come
                stream.truncate(os.path.getsize(temporary) // 2)
            print("crashing in the write of epoch", epoch, flush=True)
            if how == "exit":
                os._exit(3)
            threading.Event().wait()  # SIGKILLed here
        return temporary

    RunFolder.write_checkpoint = crash_inside_the_write
    run_training(tiny_cnn(), TrainingConfig(epochs={EPOCHS}, dataset="digits", max_samples=400,
                                            batch_size=32), runs_root=runs_root)
    print("finished without a crash", flush=True)
""")


@pytest.mark.parametrize("crash", ["exit", pytest.param("sigkill", marks=pytest.mark.slow)])
def test_a_crash_inside_a_background_write_resumes_from_the_previous_checkpoint(tmp_path, crash):
    runs_root, log = tmp_path / "runs", tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", CRASHER, str(runs_root), crash], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=stderr, text=True,
            env={**os.environ, "CNN_STUDIO_TENSORBOARD": "0", "TF_CPP_MIN_LOG_LEVEL": "3"})
        crashed_in = None
        for line in process.stdout:
            if line.startswith("crashing in the write of epoch"):
                crashed_in = int(line.split()[-1])
                break
        if crash == "sigkill" and crashed_in is not None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=120)
        process.stdout.close()
    assert crashed_in is not None, log.read_text()[-2000:]
    assert process.returncode == (3 if crash == "exit" else -signal.SIGKILL)

    [summary] = list_runs(runs_root)
    folder = RunFolder(summary.path)
    status = folder.status()
    committed = status["checkpoint_epoch"]
    # A background write was committed before (epoch 1's is written on the training thread);
    # the interrupted one is only a hidden temporary file, never named.
    assert status["status"] == "running" and 2 <= committed < crashed_in
    assert status["epochs_completed"] >= committed
    assert list(folder.path.glob(f".checkpoint-{crashed_in:04d}-*.keras"))
    assert not folder.checkpoint_path(crashed_in).exists()
    assert folder.checkpoint == folder.checkpoint_path(committed)
    assert iterations(folder.checkpoint) == committed * STEPS  # whole, with the optimizer state

    resumed = run_here("resume", str(folder.path)).stdout
    assert f"Resuming after epoch {committed}" in resumed
    status = folder.status()
    assert status["status"] == "finished" and status["checkpoint_epoch"] == EPOCHS
    assert [e["epoch"] for e in folder.history()] == list(range(1, EPOCHS + 1))
    assert iterations(folder.checkpoint) == EPOCHS * STEPS
    left = sorted(p.name for p in folder.path.iterdir())
    assert not [name for name in left if name.startswith(".")]  # the crash's file is gone
    assert [name for name in left if name.startswith("checkpoint")] == [f"checkpoint-{EPOCHS:04d}.keras"]


# -- the end of training, a stop ----------------------------------------------------------------

def test_the_end_of_training_waits_for_the_last_write_and_names_it(tmp_path, monkeypatch):
    checkpoint_every_epoch(monkeypatch)
    record = Recorder()
    seen = {}

    def epochs_ended():
        return [e["epoch"] for e in record.of("epoch_ended")]

    def hold_2():  # epoch 2's write lasts until epoch 3 has ended: epoch 3's is skipped
        wait_for(lambda: 3 in epochs_ended())

    def hold_4():  # the last write: the epoch's event goes out while it is written
        wait_for(lambda: 4 in epochs_ended())
        time.sleep(0.3)
        seen["terminal during the last write"] = record.kinds[-1] in ("finished", "failed")

    writes = background_writes(monkeypatch, hold={2: hold_2, 4: hold_4})
    result = run_training(tiny_cnn(), TrainingConfig(epochs=4, **QUICK), record, runs_root=tmp_path)
    assert result["type"] == "finished", result
    assert writes == [{"epoch": 1, "main": True}, {"epoch": 2, "main": False},
                      {"epoch": 4, "main": False}]
    assert seen == {"terminal during the last write": False}  # finished came after it
    folder = RunFolder(result["run_dir"])
    assert folder.status()["checkpoint_epoch"] == 4 and folder.resume_epoch() == 4
    names = sorted(p.name for p in folder.path.iterdir())
    assert [n for n in names if "checkpoint" in n] == ["checkpoint-0004.keras"]
    assert iterations(folder.checkpoint) == 4 * STEPS
    np.testing.assert_array_equal(conv_kernel(folder.checkpoint),
                                  conv_kernel(folder.path / "model.keras"))


def test_stop_mid_epoch_with_a_write_in_flight_resumes_exactly(tmp_path, monkeypatch):
    checkpoint_every_epoch(monkeypatch)
    record = Recorder()
    asked = threading.Event()
    order = []

    def stop():
        if len(record.of("epoch_ended")) >= 2 and not asked.is_set():
            order.append("stop asked")
            asked.set()
        return asked.is_set()

    def hold_2():  # still writing epoch 2 when the stop comes, mid-epoch 3, and a while after
        asked.wait(60)
        time.sleep(0.5)
        order.append("epoch 2 written")

    writes = background_writes(monkeypatch, hold={2: hold_2})
    stopped = run_training(tiny_cnn(), TrainingConfig(epochs=5, **QUICK), record, should_stop=stop,
                           runs_root=tmp_path)
    assert stopped["type"] == "stopped" and stopped["resumable"], stopped
    assert order == ["stop asked", "epoch 2 written"]
    assert {"epoch": 2, "main": False} in writes
    assert stopped["epochs_completed"] == 2 and stopped["resume_epoch"] == 2
    folder = RunFolder(stopped["run_dir"])
    assert folder.status()["status"] == "stopped" and folder.resume_epoch() == 2
    assert iterations(folder.checkpoint) == 2 * STEPS
    kernel = conv_kernel(folder.checkpoint)
    np.testing.assert_array_equal(kernel, folder.kernels(2)["conv"])
    np.testing.assert_array_equal(kernel, conv_kernel(folder.path / "model.keras"))  # rolled back

    resumed = Recorder()
    result = run_training(folder.spec(), folder.config(), resumed, resume_dir=folder.path)
    assert result["type"] == "finished", result
    assert resumed.of("started")[0]["initial_epoch"] == 2
    assert [e["epoch"] for e in folder.history()] == [1, 2, 3, 4, 5]
    assert iterations(folder.checkpoint) == 5 * STEPS


# -- the writer's file --------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_the_writer_saves_what_model_save_saves(tmp_path, policy):
    import keras

    from engine.build import build_model
    from engine.training.checkpoints import CheckpointWriter, host_values
    from engine.templates import load_template

    keras.config.set_dtype_policy(policy)
    try:
        network = build_model(load_template("lenet5"), name="network")
        model = keras.Sequential([keras.layers.Input(shape=network.input_shape[1:]),
                                  keras.layers.RandomFlip("horizontal", seed=3), network])
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        rng = np.random.default_rng(0)
        x = rng.random((64, *network.input_shape[1:]), dtype=np.float32)
        y = rng.integers(0, 10, 64)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        folder = RunFolder(tmp_path)
        placed = []

        def commit(epoch, temporary):
            folder.place_checkpoint(temporary, epoch)
            placed.append(epoch)

        writer = CheckpointWriter(folder, model, commit)
        writer.submit(1, host_values(model.variables), host_values(model.optimizer.variables))
        writer.wait()
        assert writer.take_error() is None and not writer.unavailable and placed == [1]
        model.save(tmp_path / "direct.keras")
        from_writer = keras.saving.load_model(folder.checkpoint_path(1), safe_mode=True)
        direct = keras.saving.load_model(tmp_path / "direct.keras", safe_mode=True)
        assert type(from_writer.optimizer) is type(direct.optimizer)
        for ours, theirs in ((from_writer.variables, direct.variables),
                             (from_writer.optimizer.variables, direct.optimizer.variables)):
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert from_writer.get_layer("network").get_layer("C1").dtype_policy.name == policy
    finally:
        keras.config.set_dtype_policy("float32")


# -- gradient norms and kernel snapshots --------------------------------------------------------

def test_short_epochs_measure_gradients_and_kernels_every_few_epochs(tmp_path, monkeypatch):
    monkeypatch.setattr(callbacks, "DIAGNOSTICS_TIME_SHARE", 1e-9)  # never cheap enough
    record = Recorder()
    result = run_training(tiny_cnn(), TrainingConfig(epochs=5, **QUICK), record, runs_root=tmp_path)
    assert result["type"] == "finished", result
    measured = [e["epoch"] for e in record.of("epoch_ended") if e["gradient_norms"]]
    assert measured == [1, 2, 5]  # the first two (the first compiles the probe) and the last
    assert [e["epoch"] for e in record.of("filters_snapshot")] == [1, 2, 5]
    folder = RunFolder(result["run_dir"])
    assert sorted(p.name for p in (folder.path / "kernels").iterdir()) == [
        "epoch-0001.npz", "epoch-0002.npz", "epoch-0005.npz"]
    assert [bool(e["gradient_norms"]) for e in folder.history()] == [True, True, False, False, True]


def test_epochs_long_enough_measure_every_epoch(tmp_path, monkeypatch):
    monkeypatch.setattr(callbacks, "DIAGNOSTICS_TIME_SHARE", 1e9)  # always cheap enough
    record = Recorder()
    result = run_training(tiny_cnn(), TrainingConfig(epochs=4, **QUICK), record, runs_root=tmp_path)
    assert result["type"] == "finished", result
    assert all(e["gradient_norms"] for e in record.of("epoch_ended"))
    assert [e["epoch"] for e in record.of("filters_snapshot")] == [1, 2, 3, 4]


@pytest.mark.slow  # a 1,200-block network builds in ~15 s; the writer builds its own (make test-all)
def test_the_writer_rebuilds_and_saves_a_network_deeper_than_the_recursion_limit(tmp_path):
    from engine.build import build_model
    from engine.training.checkpoints import CheckpointWriter, host_values
    from tests.engine.test_deep_graphs import dense_chain

    model = build_model(dense_chain(1200))
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    folder = RunFolder(tmp_path)
    writer = CheckpointWriter(folder, model,
                              lambda epoch, temporary: folder.place_checkpoint(temporary, epoch))
    writer.submit(1, host_values(model.variables), host_values(model.optimizer.variables))
    writer.wait()
    assert writer.take_error() is None and not writer.unavailable
    assert folder.checkpoint_path(1).exists()
