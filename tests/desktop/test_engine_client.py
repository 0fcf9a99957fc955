"""Training in the warm training worker, driven from the GUI side: real Keras runs on a tiny
network (300 digits, 8x8 images, a few epochs). The worker is the session's shared engine:
TensorFlow loads once, and run after run reuses it.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from desktop.engine_client import WARMING_UP, EngineClient  # noqa: E402
from engine.training.config import TrainingConfig  # noqa: E402
from engine.training.runs import RunFolder  # noqa: E402
from tests.engine.helpers import tiny_cnn  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 120_000
QUICK = dict(dataset="digits", max_samples=300, batch_size=32)


class Recorder:
    """Every event and state change a client signals, in order."""

    def __init__(self, client: EngineClient):
        self.events: list[dict] = []
        self.states: list[str] = []
        self.signals: list[tuple[str, dict]] = []
        client.event_received.connect(self.events.append)
        client.state_changed.connect(self.states.append)
        for name in ("phase", "started", "batch_ended", "epoch_ended", "filters_snapshot", "finished",
                     "stopped", "failed"):
            getattr(client, name).connect(
                lambda event, name=name: self.signals.append((name, event)))

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def kinds(self) -> list[str]:
        return [e["type"] for e in self.events]

    def terminal(self) -> list[dict]:
        return [e for e in self.events if e["type"] in ("finished", "stopped", "failed")]


@pytest.fixture
def client(qtbot):
    client = EngineClient()
    yield client
    client.shutdown(timeout_s=10)


def pid_gone(pid: int) -> bool:
    """True once the process has exited and been reaped (the client reaps its workers)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_terminal(qtbot, record: Recorder, timeout=TIMEOUT_MS) -> dict:
    qtbot.waitUntil(lambda: bool(record.terminal()), timeout=timeout)
    return record.terminal()[0]


def test_a_run_reports_its_events_in_order(qtbot, client, tmp_path):
    record = Recorder(client)
    t0 = time.monotonic()
    client.start(tiny_cnn(), TrainingConfig(epochs=2, **QUICK), tmp_path / "runs", name="first")
    assert client.is_running() and client.state == "starting"
    pid = client.pid
    finished = wait_terminal(qtbot, record)
    print(f"\nworker start {client.last_start_seconds:.2f} s, "
          f"whole run {time.monotonic() - t0:.2f} s")

    assert finished["type"] == "finished", finished
    # First what the run is doing before it trains (the Monitor shows it at once) ...
    phases = [e["message"] for e in record.of("phase") if e["message"] != WARMING_UP]
    assert phases == ["Loading digits…", "Building the network…", "Compiling the first batch…"]
    assert record.kinds.index("started") < record.kinds.index("batch_ended")
    assert record.kinds[-1] == "finished"
    first_epoch = record.kinds.index("epoch_ended")
    assert "batch_ended" in record.kinds[1:first_epoch]
    assert [e["epoch"] for e in record.of("epoch_ended")] == [1, 2]
    assert record.kinds[first_epoch + 1] == "filters_snapshot"
    assert record.of("filters_snapshot")[0]["kernels"]["conv"].shape == (3, 3, 1, 4)
    # Each event came on its own signal too, in the same order.
    assert [name for name, _ in record.signals] == record.kinds

    assert record.states == ["starting", "training", "idle"]
    assert not client.is_running() and client.state == "idle"
    run_dir = Path(finished["run_dir"])
    assert run_dir.parent == tmp_path / "runs" and run_dir.name.endswith("first")
    assert client.last_run_dir == str(run_dir)
    confusion = np.array(finished["confusion_matrix"])
    assert confusion.shape == (10, 10)
    assert confusion.sum() == record.of("started")[0]["dataset"]["sizes"]["test"]
    examples = finished["examples"]
    assert isinstance(examples["image"], np.ndarray) and examples["image"].dtype == np.uint8
    assert examples["probabilities"].shape[1] == 10
    assert RunFolder(run_dir).status()["status"] == "finished"
    assert len(record.terminal()) == 1

    # The same warm worker serves the next run: no new TensorFlow start.
    again = Recorder(client)
    client.start(tiny_cnn(), TrainingConfig(epochs=1, **QUICK), tmp_path / "runs", name="second")
    assert wait_terminal(qtbot, again)["type"] == "finished"
    assert client.pid == pid


def test_stop_ends_the_run_after_the_current_batch(qtbot, client, tmp_path):
    record = Recorder(client)
    client.epoch_ended.connect(lambda event: client.stop())
    client.start(tiny_cnn(), TrainingConfig(epochs=50, **QUICK), tmp_path)
    pid = client.pid
    stopped = wait_terminal(qtbot, record)

    assert stopped["type"] == "stopped", stopped
    assert stopped["resumable"] and stopped["epochs_completed"] >= 1
    assert record.states == ["starting", "training", "stopping", "idle"]
    assert RunFolder(stopped["run_dir"]).status()["status"] == "stopped"
    assert len(record.of("epoch_ended")) < 50
    assert client.pid == pid  # stopping a run does not end the warm worker


def test_stop_while_the_worker_starts(qtbot, client, tmp_path):
    record = Recorder(client)
    client.start(tiny_cnn(), TrainingConfig(epochs=50, **QUICK), tmp_path)
    client.stop()
    stopped = wait_terminal(qtbot, record)
    assert stopped["type"] == "stopped" and not stopped["resumable"]
    assert record.states[-1] == "idle" and not client.is_running()


def test_pause_holds_training_and_continue_finishes_it(qtbot, client, tmp_path):
    record = Recorder(client)
    client.epoch_ended.connect(lambda event: client.pause() if event["epoch"] == 1 else None)
    client.start(tiny_cnn(), TrainingConfig(epochs=6, **QUICK), tmp_path)
    qtbot.waitUntil(lambda: client.state == "paused", timeout=TIMEOUT_MS)
    # Events already on their way (more of them on a busy machine) and the batch in flight
    # still arrive; after that, nothing while paused.
    qtbot.wait(1000)
    batches = len(record.of("batch_ended"))
    epochs = len(record.of("epoch_ended"))
    qtbot.wait(1500)
    assert len(record.of("batch_ended")) - batches <= 1, "no batch runs while paused"
    assert len(record.of("epoch_ended")) == epochs
    assert not record.terminal() and client.is_running() and client.state == "paused"

    client.continue_training()
    assert client.state == "training"
    finished = wait_terminal(qtbot, record)
    assert finished["type"] == "finished", finished
    assert [e["epoch"] for e in record.of("epoch_ended")] == [1, 2, 3, 4, 5, 6]
    assert record.states == ["starting", "training", "paused", "training", "idle"]


# A killed worker (a failure that can be resumed, a fresh worker in its place) is tested once,
# in the window: tests/desktop/test_training_window.py.


def test_a_worker_that_does_not_stop_is_ended(qtbot, client, tmp_path):
    record = Recorder(client)
    client.stop_grace_s = 1.0
    client.start(tiny_cnn(), TrainingConfig(epochs=50, **QUICK), tmp_path)
    qtbot.waitUntil(lambda: bool(record.of("epoch_ended")), timeout=TIMEOUT_MS)
    pid = client.pid
    os.kill(pid, signal.SIGSTOP)  # hung: it can no longer see the stop request
    client.stop()
    failed = wait_terminal(qtbot, record, timeout=10_000)
    assert failed["type"] == "failed" and "did not stop within 1 s" in failed["message"]
    assert failed["resumable"] and failed["resume_epoch"] >= 1
    assert not client.is_running() and client.state == "idle"
    qtbot.waitUntil(lambda: pid_gone(pid), timeout=10_000)  # the hung worker was killed


def test_an_engine_failure_is_a_failed_signal(qtbot, client, tmp_path):
    record = Recorder(client)
    client.start(tiny_cnn(classes=7), TrainingConfig(epochs=2, **QUICK), tmp_path)
    failed = wait_terminal(qtbot, record)
    assert failed["type"] == "failed", failed
    assert "7 units" in failed["message"] and "10 classes" in failed["message"]
    assert not failed.get("crashed") and failed["run_dir"] is None
    assert record.states == ["starting", "idle"]
    assert list(tmp_path.iterdir()) == []  # no half-made run folder


def test_resuming_a_missing_run_fails_with_a_message(qtbot, client, tmp_path):
    record = Recorder(client)
    client.resume(tmp_path / "nowhere")
    failed = wait_terminal(qtbot, record)
    assert failed["type"] == "failed" and "nowhere" in failed["message"]


def test_one_run_at_a_time(qtbot, client, tmp_path):
    record = Recorder(client)
    client.start(tiny_cnn(), TrainingConfig(epochs=1, **QUICK), tmp_path)
    with pytest.raises(RuntimeError):
        client.start(tiny_cnn(), TrainingConfig(epochs=1, **QUICK), tmp_path)
    client.stop()
    assert wait_terminal(qtbot, record)["type"] == "stopped"


def test_importing_the_client_does_not_import_keras():
    code = ("import sys, desktop.engine_client\n"
            "print([m for m in ('keras', 'tensorflow') if m in sys.modules])")
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True).stdout
    assert output.strip() == "[]"


def test_a_backlog_of_batch_events_is_thinned_to_the_newest(qtbot):
    client = EngineClient()
    batch = lambda n: {"type": "batch_ended", "batch": n}  # noqa: E731
    backlog = [batch(n) for n in range(10)] + [{"type": "epoch_ended", "epoch": 1}] + \
        [batch(n) for n in range(10, 12)]
    kept = client._coalesce(backlog)
    assert [e.get("batch") for e in kept] == [7, 8, 9, None, 10, 11]
    client.keep_batches_per_drain = 0  # off: every event
    assert client._coalesce(backlog) == backlog
