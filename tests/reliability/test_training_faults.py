"""Training faults in the real window, each run by a real worker process: the user gets a
clear message, the GUI keeps answering, the open project and the runs already finished are
untouched, and a run that can be resumed resumes.

Covered here: a NaN loss, out-of-range learning rates typed into the form, a batch larger
than the dataset, an image folder with corrupt files, a dataset whose classes disagree with
the output layer, and a disk that refuses writes (read-only, and full in the middle of a
run: real tmpfs mounts, so those two need root). A worker SIGKILLed mid-epoch is
tests/desktop/test_training_window.py.
"""

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from engine.graph.edits import SetParams  # noqa: E402
from engine.graph.io import save_spec  # noqa: E402
from engine.templates import load_template  # noqa: E402
from engine.training.config import TrainingConfig  # noqa: E402
from engine.training.runs import RunFolder, list_runs  # noqa: E402
from engine.training.session import run_training  # noqa: E402
from tests.engine.helpers import diverging_mlp  # noqa: E402
from tests.desktop.training_window import WORKER_TIMEOUT, set_training_form, window  # noqa: E402, F401

LONGEST_ALLOWED_FREEZE_S = 2.0  # a hang, not a slow frame: the GUI must keep answering


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A completed run (trained in this process), copied into each test's runs folder."""
    root = tmp_path_factory.mktemp("finished")
    result = run_training(load_template("lenet5"), TrainingConfig(epochs=1, max_samples=200),
                          runs_root=root, name="earlier")
    assert result["type"] == "finished"
    return Path(result["run_dir"])


@pytest.fixture
def earlier_run(window, finished_run):
    """The finished run, in the window's runs folder, with a fingerprint of every file."""
    target = window.runs_root() / finished_run.name
    shutil.copytree(finished_run, target)
    return target, fingerprint(target)


def fingerprint(folder: Path) -> dict:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


class FreezeWatch:
    """A 20 ms timer in the GUI thread: the longest gap between its ticks is how long the
    window stopped answering."""

    def __init__(self):
        self.last = time.monotonic()
        self.longest = 0.0
        self.timer = QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(20)

    def _tick(self):
        now = time.monotonic()
        self.longest = max(self.longest, now - self.last)
        self.last = now


def fail_a_run(window, qtbot):
    """Click Train, wait for the run to end; it must fail. Return (event, longest freeze)."""
    watch = FreezeWatch()
    spec_before = window.document.spec
    ended = []
    for signal in (window.trainer.finished, window.trainer.stopped, window.trainer.failed):
        signal.connect(ended.append)
    qtbot.mouseClick(window.training.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(ended), timeout=WORKER_TIMEOUT)
    qtbot.waitUntil(lambda: not window.trainer.is_running(), timeout=30_000)
    watch.timer.stop()
    assert ended[0]["type"] == "failed", ended[0]
    assert window.isVisible() and window.document.spec == spec_before
    return ended[0], watch.longest


def assert_untouched(earlier_run):
    path, before = earlier_run
    assert fingerprint(path) == before
    assert RunFolder(path).status()["status"] == "finished"


def shown_to_the_user(window) -> str:
    return " ".join(window.answers["warnings"] + window.answers["questions"])


# -- the faults -------------------------------------------------------------------------------

def choose(combo, value):
    combo.setCurrentIndex(combo.findData(value))


def test_nan_loss(window, qtbot, tmp_path, earlier_run):
    save_spec(diverging_mlp(), tmp_path / "diverges.json")
    window.open_path(str(tmp_path / "diverges.json"))
    set_training_form(window, epochs=3)
    panel = window.training
    choose(panel.optimizer_combo, "sgd_momentum")
    choose(panel.loss_combo, "mean_squared_error")
    panel.learning_rate_edit.setText("10")
    event, freeze = fail_a_run(window, qtbot)
    assert "NaN" in event["message"] and "learning rate" in event["message"]
    assert event["message"] in shown_to_the_user(window)
    assert freeze < LONGEST_ALLOWED_FREEZE_S
    assert_untouched(earlier_run)
    assert [run.path.name for run in list_runs(window.runs_root())] == [earlier_run[0].name]


@pytest.mark.parametrize("typed", ["50", "0", "1e99", "nan", "-1", "abc", "0.5.5"])
def test_out_of_range_learning_rates_cannot_start_a_run(window, qtbot, typed):
    edit = window.training.learning_rate_edit
    edit.clear()
    QTest.keyClicks(edit, typed)  # real keystrokes, through the field's validator
    accepted = edit.text()
    config = window.training.config()
    if config is not None:  # the validator refused keystrokes: what is left must be sane
        assert accepted != typed and 0 < config.learning_rate <= 10
        return
    assert not window.training.train_button.isEnabled()
    assert "learning rate" in window.training.config_error_label.text()
    window.training.train_requested.emit(None)  # any other way in is refused too
    assert not window.trainer.is_running()


@pytest.mark.slow  # the engine-level test_batch_larger_than_dataset_is_explained covers the rule
def test_batch_larger_than_the_dataset_trains_and_says_so(window, qtbot):
    set_training_form(window, epochs=1, max_samples=60)
    window.training.batch_spin.setValue(4096)
    with qtbot.waitSignal(window.trainer.finished, timeout=WORKER_TIMEOUT):
        qtbot.mouseClick(window.training.train_button, Qt.MouseButton.LeftButton)
    assert "larger than the" in window.monitor.notes_text()  # what the engine adjusted, shown
    assert window.monitor.notes_label.isVisibleTo(window.monitor)


def write_image_folder(root: Path, corrupt: int) -> Path:
    rng = np.random.default_rng(0)
    for label in ("circles", "squares"):
        (root / label).mkdir(parents=True)
        for index in range(12):
            pixels = (rng.random((16, 16)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index}.png")
    for index in range(corrupt):
        (root / "squares" / f"broken-{index}.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


def test_image_folder_with_corrupt_files(window, qtbot, tmp_path, earlier_run):
    folder = write_image_folder(tmp_path / "pictures", corrupt=2)
    set_training_form(window, epochs=1, max_samples=0, dataset=f"folder:{folder}")
    qtbot.waitUntil(lambda: not window.training.is_loading(), timeout=30_000)
    assert "broken-0.png" in window.training.load_label.text()  # the preview says it first
    event, freeze = fail_a_run(window, qtbot)
    assert "broken-0.png" in event["message"] and "broken-1.png" in event["message"]
    assert event["message"] in shown_to_the_user(window)
    assert freeze < LONGEST_ALLOWED_FREEZE_S
    assert_untouched(earlier_run)


def test_classes_that_disagree_with_the_output_layer(window, qtbot, earlier_run):
    output = window.document.spec.nodes[-1]
    window.document.apply(SetParams(output.id, {"units": 7}), "seven outputs")
    set_training_form(window, epochs=1)
    qtbot.waitUntil(lambda: "10 classes" in window.training.mismatch_text())  # warned before training
    event, freeze = fail_a_run(window, qtbot)
    assert "7 units" in event["message"] and "set units" in event["message"]
    assert freeze < LONGEST_ALLOWED_FREEZE_S
    assert_untouched(earlier_run)


# -- a disk that refuses writes (real small filesystems) --------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """Mount a tmpfs of 24 MB (or read-only) at tmp_path/disk for the runs folder."""
    mounted = []

    def mount(read_only=False, size_mb=24):
        point = tmp_path / ("readonly-disk" if read_only else "disk")
        point.mkdir()
        options = f"size={size_mb}m" + (",ro" if read_only else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a test filesystem here ({result.stderr.strip()}): needs root")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * (1 << 20))
                handle.flush()
        except OSError:
            pass
    return filler


def test_read_only_runs_folder(window, qtbot, small_disk):
    window.runs_root_override = small_disk(read_only=True) / "runs"
    set_training_form(window, epochs=1)
    event, freeze = fail_a_run(window, qtbot)
    assert "Read-only file system" in event["message"] and str(window.runs_root()) in event["message"]
    assert event["message"] in shown_to_the_user(window)
    assert freeze < LONGEST_ALLOWED_FREEZE_S


def test_disk_full_mid_run_then_resume_after_freeing_space(window, qtbot, small_disk, finished_run):
    disk = small_disk()
    window.runs_root_override = disk / "runs"
    shutil.copytree(finished_run, disk / "runs" / finished_run.name)
    earlier = (disk / "runs" / finished_run.name, fingerprint(disk / "runs" / finished_run.name))
    set_training_form(window, epochs=40)
    client = window.trainer
    filled = []
    client.epoch_ended.connect(lambda event: filled or filled.append(fill(disk)))
    event, freeze = fail_a_run(window, qtbot)
    assert filled, "the disk filled before the first epoch ended"
    assert "No space left on device" in event["message"] and "free some space" in event["message"]
    assert freeze < LONGEST_ALLOWED_FREEZE_S
    assert_untouched(earlier)
    assert event["resumable"] and event["resume_epoch"] >= 1
    assert f"Resume from epoch {event['resume_epoch']}" in " ".join(window.answers["questions"])
    filled[0].unlink()  # the user frees space, then resumes
    window.training.epochs_spin.setValue(40)
    with qtbot.waitSignal(client.finished, timeout=WORKER_TIMEOUT):
        window.resume_training(event["run_dir"])
    epochs = [entry["epoch"] for entry in RunFolder(event["run_dir"]).history()]
    assert epochs == list(range(1, 41))
