"""The real window on the session's warm engine: exporting a run's trained model from the Runs
list, the Features Lab following the Runs list and the end of a run, the Runs list following a
run live, Train's feedback at once, an inspection worker killed mid-job, and a run folder
deleted under the Lab. Real Keras in the warm workers, on a tiny network and 300 digits; one
run trained for the whole module (through a window's trainer) is copied where a test needs it.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import shiboken6  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox  # noqa: E402

from desktop.main_window import MainWindow  # noqa: E402
from desktop.panels.monitor import EMPTY_STATUS  # noqa: E402
from desktop.panels.runs import STATUS_COLUMN  # noqa: E402
from desktop.workers import INSPECTION  # noqa: E402
from engine.training.config import TrainingConfig  # noqa: E402
from engine.training.runs import RUNNING, STOPPED  # noqa: E402
from tests.desktop.training_window import WORKER_TIMEOUT, set_training_form  # noqa: E402
from tests.engine.helpers import tiny_cnn  # noqa: E402

QUICK = dict(dataset="digits", max_samples=300, batch_size=32)
LONG = 1000        # epochs: a run that is stopped long before it would finish
TIMEOUT_MS = 120_000


def _wait_until(condition, timeout_s: float) -> None:
    """qtbot.waitUntil for a module-scoped fixture (qtbot is per test)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s")
        QApplication.processEvents()
        time.sleep(0.01)


@pytest.fixture(scope="module")
def trained_run(qapp, tmp_path_factory) -> Path:
    """A finished 2-epoch run of tiny_cnn, trained in the warm training worker by a window."""
    root = tmp_path_factory.mktemp("trained") / "runs"
    trainer_window = MainWindow()
    trainer_window.runs_root_override = root
    trainer_window.engine.warm_up()  # the inspection worker loads meanwhile
    ended: list[dict] = []
    for signal in (trainer_window.trainer.finished, trainer_window.trainer.stopped,
                   trainer_window.trainer.failed):
        signal.connect(ended.append)
    trainer_window.trainer.start(tiny_cnn(), TrainingConfig(epochs=2, **QUICK), root, name="trained")
    _wait_until(lambda: bool(ended), WORKER_TIMEOUT / 1000)
    assert ended[0]["type"] == "finished", ended[0]
    _wait_until(lambda: not trainer_window.lab.images_task.is_running(), TIMEOUT_MS / 1000)
    trainer_window.close()
    shiboken6.delete(trainer_window)
    run_dir = Path(ended[0]["run_dir"])
    assert (run_dir / "model.keras").is_file()
    return run_dir


def copy_run(trained_run: Path, destination: Path) -> Path:
    shutil.copytree(trained_run, destination)
    return destination


def lab_idle(window) -> bool:
    """No Lab job in flight (a job left running would answer into a deleted widget)."""
    lab = window.lab
    return not lab.images_task.is_running() and not any(
        page.task.is_running() for page in lab.pages if hasattr(page, "task"))


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """LeNet-5 loaded, runs in tmp_path/runs, QMessageBox.warning collected in
    `window.answers["warnings"]` (questions answered No). Before pytest-qt closes it, it waits
    for its Lab jobs and its training run to end: an answer must not come into a deleted widget."""
    answers = {"warnings": []}
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.No)
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: answers["warnings"].append(text))
    win = MainWindow()
    win.answers = answers
    win.runs_root_override = tmp_path / "runs"

    def settle(widget):
        if widget.trainer.is_running():
            widget.trainer.stop()
        qtbot.waitUntil(lambda: lab_idle(widget) and not widget.trainer.is_running(),
                        timeout=TIMEOUT_MS)

    qtbot.addWidget(win, before_close_func=settle)
    win.open_template("lenet5")
    win.show()
    return win


def summary_of(window, run_dir) -> object:
    [summary] = [run for run in window.runs.runs() if str(run.path) == str(run_dir)]
    return summary


def status_cell(window, run_dir) -> str:
    table = window.runs.table
    row = [run.path for run in window.runs.runs()].index(Path(run_dir))
    return table.item(row, STATUS_COLUMN).text()


# -- a. exporting a run's trained model ---------------------------------------------------------

def test_export_model_button_and_export(window, qtbot, trained_run, tmp_path, monkeypatch):
    root = window.runs_root()
    run = copy_run(trained_run, root / "trained")
    other = copy_run(trained_run, root / "other")
    bare = copy_run(trained_run, root / "no-model")
    (bare / "model.keras").unlink()
    window.runs.refresh()
    button = window.runs.export_button
    assert button.text() == "Export model…"
    assert not button.isEnabled()  # nothing selected
    window.runs.select_paths([run])
    assert button.isEnabled()
    window.runs.select_paths([run, other])
    assert not button.isEnabled()  # one run at a time
    window.runs.select_paths([bare])
    assert not button.isEnabled()  # no trained model to export
    window.runs.select_paths([run])
    assert button.isEnabled()

    out = tmp_path / "digits.keras"
    window.export_trained_model(run, out)
    assert window.task.is_running()
    qtbot.waitUntil(lambda: not window.task.is_running(), timeout=TIMEOUT_MS)
    assert window.answers["warnings"] == []
    assert out.read_bytes() == (run / "model.keras").read_bytes()
    assert window.statusBar().currentMessage() == f"Saved {out}"

    # The button, through its dialog: a name without a suffix and the script filter chosen.
    chosen = tmp_path / "script"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (
        str(chosen), "Keras script + weights (*.py)"))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.task.is_running(), timeout=TIMEOUT_MS)
    assert window.answers["warnings"] == []
    script, weights = tmp_path / "script.py", tmp_path / "script.weights.h5"
    assert script.is_file() and weights.is_file()
    assert "script.weights.h5" in script.read_text(encoding="utf-8")
    assert window.statusBar().currentMessage() == f"Saved {script} (and its .weights.h5)"

    # For inference elsewhere: the SavedModel filter (a folder), and a typed .onnx, which
    # wins over the filter.
    for typed, chosen_filter in (("served", "TensorFlow SavedModel folder (*)"),
                                 ("net.onnx", "Keras model (*.keras)")):
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, name=typed,
                            answer=chosen_filter, **kwargs: (str(tmp_path / name), answer))
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.task.is_running(), timeout=TIMEOUT_MS)
        assert window.answers["warnings"] == []
    assert (tmp_path / "served" / "saved_model.pb").is_file()
    assert (tmp_path / "net.onnx").stat().st_size > 0 and not (tmp_path / "net.onnx.keras").exists()


# -- b. the Lab follows the Runs list -----------------------------------------------------------

def test_the_lab_follows_the_run_selected_in_the_runs_list(window, qtbot, trained_run):
    root = window.runs_root()
    first = copy_run(trained_run, root / "first")
    second = copy_run(trained_run, root / "second")
    bare = copy_run(trained_run, root / "no-model")
    (bare / "model.keras").unlink()
    window.runs.refresh()
    assert window.lab.run_dir is None
    window.runs.select_paths([first])
    assert window.lab.run_dir == str(first)
    assert "first" in window.lab.title.text()
    window.runs.select_paths([second])
    assert window.lab.run_dir == str(second)
    # Two runs, or one without a model: the Lab keeps what it shows.
    window.runs.select_paths([first, second])
    assert window.lab.run_dir == str(second)
    window.runs.select_paths([bare])
    assert window.lab.run_dir == str(second)
    qtbot.waitUntil(lambda: bool(window.lab.images), timeout=TIMEOUT_MS)  # the run's digits
    # And back: the Lab's own chooser lists the runs with a model and selects in the Runs list.
    chooser = window.lab.run_combo
    listed = [chooser.itemData(i) for i in range(chooser.count()) if chooser.itemData(i)]
    assert sorted(listed) == sorted([str(first), str(second)])
    chooser.setCurrentIndex(chooser.findData(str(first)))
    chooser.activated.emit(chooser.currentIndex())
    assert window.lab.run_dir == str(first)
    assert window.runs.selected_paths() == [str(first)]


# -- c. d. the Runs list and the Lab during and after a run -------------------------------------

def start_long_run(window, qtbot, name: str) -> dict:
    """A run of LONG epochs; returns its first epoch_ended event once it arrived."""
    with qtbot.waitSignal(window.trainer.epoch_ended, timeout=WORKER_TIMEOUT) as first:
        window.trainer.start(tiny_cnn(), TrainingConfig(epochs=LONG, **QUICK), window.runs_root(),
                             name=name)
    return first.args[0]


def stop_run(window, qtbot) -> dict:
    with qtbot.waitSignal(window.trainer.stopped, timeout=60_000) as stopped:
        window.trainer.stop()
    return stopped.args[0]


def test_a_stopped_run_ends_the_labs_live_view_and_shows_as_stopped(window, qtbot):
    start_long_run(window, qtbot, "to-stop")
    run_dir = window.trainer.last_run_dir
    qtbot.waitUntil(lambda: window.lab.live, timeout=30_000)  # the first kernel snapshot
    assert "Training in progress" in window.lab.title.text()
    event = stop_run(window, qtbot)
    assert event["run_dir"] == run_dir
    assert "Training in progress" not in window.lab.title.text()
    assert not window.lab.live
    assert (Path(run_dir) / "model.keras").is_file()  # a stopped run keeps its model ...
    assert window.lab.run_dir == str(Path(run_dir))   # ... which the Lab now shows
    # Refreshed without pressing Refresh.
    assert summary_of(window, run_dir).status == STOPPED
    assert status_cell(window, run_dir) == STOPPED


def test_the_runs_list_follows_a_run_live(window, qtbot):
    with qtbot.waitSignal(window.trainer.started, timeout=WORKER_TIMEOUT) as started:
        window.trainer.start(tiny_cnn(), TrainingConfig(epochs=LONG, **QUICK), window.runs_root(),
                             name="live")
    run_dir = started.args[0]["run_dir"]
    assert summary_of(window, run_dir).status == RUNNING  # listed as soon as it starts
    with qtbot.waitSignal(window.trainer.epoch_ended, timeout=60_000):
        pass
    summary = summary_of(window, run_dir)
    assert summary.status == RUNNING and summary.epochs_completed >= 1
    assert summary.epochs_planned == LONG
    assert status_cell(window, run_dir) == RUNNING
    stop_run(window, qtbot)
    assert summary_of(window, run_dir).status == STOPPED


# -- e. Train answers at once -------------------------------------------------------------------

def test_train_gives_feedback_at_once(window, qtbot):
    set_training_form(window, epochs=LONG)
    config = window.training.config()
    assert config is not None
    assert window.monitor.status_text() == EMPTY_STATUS
    phases: list[str] = []
    window.trainer.phase.connect(lambda event: phases.append(window.monitor.status_text()))
    assert window.start_training(config)
    text = window.monitor.status_text()
    assert text and text != EMPTY_STATUS, text
    assert "Starting" in text or "…" in text, text  # "Starting the training run…" or a phase
    with qtbot.waitSignal(window.trainer.started, timeout=WORKER_TIMEOUT):
        pass
    assert phases and all(p and p != EMPTY_STATUS for p in phases)  # "Loading digits…", …
    stop_run(window, qtbot)


# -- f. g. the Lab when its worker dies or its run goes away ------------------------------------

def show_weights_tab(window):
    page = window.lab.weights_tab
    index = window.lab.pages.index(page)
    if window.lab.tabs.currentIndex() == index:
        window.lab._tab_shown(index)
    else:
        window.lab.tabs.setCurrentIndex(index)
    return page


def test_a_killed_inspection_worker_is_reported_and_replaced(window, qtbot, trained_run):
    lab = window.lab
    lab.set_run(str(trained_run))
    qtbot.waitUntil(lambda: bool(lab.images), timeout=TIMEOUT_MS)  # the worker is ready
    old_pid = window.engine.pid(INSPECTION)
    os.kill(old_pid, signal.SIGSTOP)  # the job cannot finish before the kill lands
    page = show_weights_tab(window)
    assert page.task.is_running()
    window.engine.kill(INSPECTION)
    qtbot.waitUntil(lambda: "stopped unexpectedly" in page.status.text(), timeout=30_000)
    assert page.status.text().startswith(
        "⚠ The inspection process stopped unexpectedly (killed by signal 9 (SIGKILL))")
    assert "try again" in page.status.text()
    assert page.result is None and not page.task.is_running()
    # Asking again: a fresh worker (TensorFlow loads again) answers.
    page.reset()
    lab._tab_shown(lab.pages.index(page))
    qtbot.waitUntil(lambda: page.result is not None, timeout=TIMEOUT_MS)
    assert window.engine.pid(INSPECTION) not in (None, old_pid)
    assert page.curves and "Weight distributions" in page.status.text()
    assert window.isVisible()


def test_a_run_folder_deleted_under_the_lab_is_named(window, qtbot, trained_run, tmp_path):
    lab = window.lab
    doomed = copy_run(trained_run, tmp_path / "doomed-run")
    lab.set_run(str(doomed))
    qtbot.waitUntil(lambda: bool(lab.images), timeout=TIMEOUT_MS)
    shutil.rmtree(doomed)
    page = lab.weights_tab
    page.reset()
    show_weights_tab(window)
    qtbot.waitUntil(lambda: not page.task.is_running(), timeout=TIMEOUT_MS)
    text = page.status.text()
    assert text.startswith("⚠") and str(doomed) in text and "no longer exists" in text, text
    assert page.result is None
