"""Short epochs measure gradient norms and kernels every few epochs (the first two and the
last always): the Monitor's gradients plot joins the measured epochs, and the Lab's kernels
timeline replays the snapshots there are."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from desktop.panels.lab import FeaturesLab  # noqa: E402
from desktop.panels.monitor import TrainingMonitor  # noqa: E402
from engine.training.runs import RunFolder  # noqa: E402
from tests.desktop.test_monitor import LAYERS, epoch_record, feed  # noqa: E402

EPOCHS = 6
MEASURED = [1, 2, 5, 6]


def sparse_run() -> list[dict]:
    events = [{"type": "started", "time": 0.0, "epochs": EPOCHS, "initial_epoch": 0,
               "steps_per_epoch": 10, "run_dir": "/tmp/runs/x", "devices": ["CPU"],
               "config": {}, "model_summary": [], "dataset": {"name": "synthetic", "num_classes": 3}}]
    for epoch in range(1, EPOCHS + 1):
        record = {**epoch_record(min(epoch, 3)), "epoch": epoch}
        if epoch not in MEASURED:
            record["gradient_norms"] = {}
        events.append({"type": "epoch_ended", "time": float(epoch), "epochs": EPOCHS,
                       "elapsed": float(epoch), "eta": 0.0, "paused_seconds": 0.0, **record})
    return events


def test_the_gradients_plot_joins_the_measured_epochs(qtbot):
    monitor = TrainingMonitor()
    qtbot.addWidget(monitor)
    feed(monitor, sparse_run())
    view = monitor.gradients_view
    assert list(view.curves) == LAYERS
    for curve in view.curves.values():
        epochs, norms = curve.getOriginalDataset()
        assert list(epochs) == MEASURED
        assert np.isfinite(norms).all()  # no gaps: one line through the measured points
    assert not view.hint.isVisible()


@pytest.fixture
def sparse_kernels_run(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    rng = np.random.default_rng(0)
    for epoch in MEASURED:
        folder.save_kernels(epoch, {"conv": rng.normal(size=(3, 3, 1, 4)).astype(np.float32)})
    return folder


def test_the_kernels_timeline_replays_the_snapshots_there_are(qtbot, sparse_kernels_run):
    lab = FeaturesLab()
    qtbot.addWidget(lab)
    tab = lab.kernels_tab
    lab.run_dir = str(sparse_kernels_run.path)
    tab.load_run(lab.run_dir)
    assert tab.epochs == MEASURED and tab.epoch.maximum() == len(MEASURED) - 1
    assert tab.epoch_label.text() == f"Epoch {EPOCHS} of {EPOCHS}"
    tab.epoch.setValue(2)
    assert tab.epoch_label.text() == f"Epoch 5 of {EPOCHS}" and tab.grid.count() == 4
    np.testing.assert_array_equal(tab.current_kernels()["conv"], sparse_kernels_run.kernels(5)["conv"])
    # live, the snapshots that arrive
    lab.run_dir = None
    tab.load_run(None)
    for epoch in MEASURED:
        lab.handle_event({"type": "filters_snapshot", "epoch": epoch,
                          "kernels": sparse_kernels_run.kernels(epoch)})
    assert tab.epochs == MEASURED and tab.epoch.value() == len(MEASURED) - 1
    assert tab.epoch_label.text() == f"Epoch {EPOCHS} of {EPOCHS}"
