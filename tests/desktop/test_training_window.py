"""Click Train in the real window: a real worker process trains, the monitor fills, the
run appears in the list; stop, pause, a killed worker and resume; a broken graph can't train."""

import os
import signal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from engine.graph.edits import SetParams  # noqa: E402
from engine.training.runs import RunFolder, list_runs  # noqa: E402
from tests.desktop.training_window import WORKER_TIMEOUT, set_training_form, window  # noqa: E402, F401


def test_click_train_fills_the_monitor_and_lists_the_run(window, qtbot):
    set_training_form(window, epochs=2)
    spec_before = window.document.spec
    with qtbot.waitSignal(window.trainer.finished, timeout=WORKER_TIMEOUT) as finished:
        qtbot.mouseClick(window.training.train_button, Qt.MouseButton.LeftButton)
    event = finished.args[0]
    assert event["test_accuracy"] > 0.3
    assert window.monitor.epoch_count == 2
    assert window.monitor.batch_point_count > 0
    qtbot.waitUntil(lambda: window.runs.table.rowCount() == 1)
    [run] = list_runs(window.runs_root())
    assert run.status == "finished" and run.epochs_completed == 2
    assert window.document.spec == spec_before  # training never changes the project
    assert RunFolder(run.path).spec() == spec_before


def test_stop_mid_epoch_and_pause_continue(window, qtbot):
    set_training_form(window, epochs=100)
    client = window.trainer
    with qtbot.waitSignal(client.epoch_ended, timeout=WORKER_TIMEOUT):
        window.training.train_requested.emit(window.training.config())
    client.pause()
    qtbot.waitUntil(lambda: window.training.state == "paused", timeout=5000)
    client.continue_training()
    with qtbot.waitSignal(client.batch_ended, timeout=60_000):
        pass
    with qtbot.waitSignal(client.stopped, timeout=60_000) as stopped:
        qtbot.mouseClick(window.training.stop_button, Qt.MouseButton.LeftButton)
    assert stopped.args[0]["resumable"]
    qtbot.waitUntil(lambda: not client.is_running(), timeout=30_000)
    assert list_runs(window.runs_root())[0].status == "stopped"


def test_killed_worker_leaves_the_gui_alive_and_resume_continues(window, qtbot):
    set_training_form(window, epochs=4)
    client = window.trainer
    with qtbot.waitSignal(client.epoch_ended, timeout=WORKER_TIMEOUT):
        window.start_training(window.training.config())
    spec_before = window.document.spec
    window.answers["question"] = QMessageBox.StandardButton.No  # don't resume from the dialog
    killed = client.pid
    with qtbot.waitSignal(client.failed, timeout=60_000) as failed:
        os.kill(killed, signal.SIGKILL)
    event = failed.args[0]
    assert event["crashed"] and event["resumable"] and event["resume_epoch"] >= 1
    assert event["epochs_completed"] >= 1
    assert "signal 9" in event["message"]
    assert f"from epoch {event['resume_epoch']}" in event["message"]
    assert window.isVisible() and window.document.spec == spec_before
    assert client.state == "idle" and not client.is_running()
    run_dir = event["run_dir"]
    assert run_dir == client.last_run_dir
    assert RunFolder(run_dir).status()["status"] == "failed"  # the runs list shows it ended
    assert client.pid not in (None, killed)  # a fresh worker took its place, unasked

    started = []
    client.started.connect(started.append)
    with qtbot.waitSignal(client.finished, timeout=WORKER_TIMEOUT):
        window.resume_training(run_dir)
    assert started[0]["initial_epoch"] == event["resume_epoch"]
    folder = RunFolder(run_dir)
    assert [e["epoch"] for e in folder.history()] == [1, 2, 3, 4]
    assert folder.status()["status"] == "finished"


def test_a_broken_graph_cannot_be_trained(window, qtbot):
    conv = window.document.spec.nodes[1]
    window.document.apply(SetParams(conv.id, {"kernel_size": [40, 40]}), "break")
    assert not window.training.train_button.isEnabled()
    assert "problem" in window.training.train_button.toolTip().lower()
    assert not window.start_training(window.training.config())
    assert not window.trainer.is_running()
