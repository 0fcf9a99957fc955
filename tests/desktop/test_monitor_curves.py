"""The Curves view's TensorBoard habits: smoothing, log loss axis, x axis choice, CSV / PNG
export and "Open in TensorBoard", in the real widget fed with event dicts."""

import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

import csv
import io
import math

import numpy as np
import pytest
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import QFileDialog

from desktop.models.run_history import RunHistory, curves_csv, smooth
from desktop.panels.monitor import TrainingMonitor
from desktop.panels.monitor import tensorboard as tensorboard_button
from engine.errors import ProjectError
from engine.tensorboard_launcher import TensorBoardLauncher

EPOCHS, BATCHES = 5, 20


def fake_run(run_dir: str = "/tmp/runs/fake") -> list[dict]:
    """5 epochs x 20 batches, 0.05 s a batch, noisy falling loss."""
    rng = np.random.default_rng(1)
    events = [{"type": "started", "time": 0.0, "epochs": EPOCHS, "initial_epoch": 0,
               "steps_per_epoch": BATCHES, "run_dir": run_dir, "dataset": {"name": "digits"}}]
    t = 0.0
    for epoch in range(1, EPOCHS + 1):
        for batch in range(1, BATCHES + 1):
            t += 0.05
            progress = epoch - 1 + batch / BATCHES
            events.append({"type": "batch_ended", "time": t, "epoch": epoch, "batch": batch,
                           "batches": BATCHES, "loss": 2.0 / (1 + progress) + rng.normal(0, 0.1),
                           "accuracy": min(0.3 + 0.12 * progress + rng.normal(0, 0.03), 1.0),
                           "samples_per_second": 900.0})
        events.append({"type": "epoch_ended", "time": t, "epoch": epoch, "epochs": EPOCHS,
                       "loss": 2.0 / (1 + epoch), "accuracy": 0.3 + 0.12 * epoch,
                       "val_loss": 2.1 / (1 + epoch) + 0.05, "val_accuracy": 0.28 + 0.12 * epoch,
                       "learning_rate": 1e-3 * 0.8 ** (epoch - 1),
                       "gradient_norms": {"conv2d": 0.01 / epoch, "dense": 0.5 / epoch},
                       "epoch_time": 1.0, "samples_per_second": 900.0, "elapsed": t,
                       "eta": (EPOCHS - epoch) * 1.0})
    return events


@pytest.fixture
def monitor(qtbot):
    widget = TrainingMonitor()
    qtbot.addWidget(widget)
    widget.resize(700, 640)
    widget.show()
    for event in fake_run():
        widget.handle_event(event)
    widget.flush()
    return widget


def data(curve):
    x, y = curve.getOriginalDataset()
    return np.asarray(x), np.asarray(y)


def test_smoothing_is_tensorboards_debiased_moving_average():
    assert smooth([1.0, 2.0, 3.0], 0.5) == pytest.approx([1.0, 5 / 3, 2.125 / 0.875])
    assert smooth([4.0] * 5, 0.9) == pytest.approx([4.0] * 5)  # debiased: no pull towards 0
    gaps = smooth([1.0, math.nan, 3.0], 0.5)
    assert gaps[0] == 1.0 and math.isnan(gaps[1]) and gaps[2] == pytest.approx(1.75 / 0.75)
    assert list(smooth([1.0, 5.0], 0.0)) == [1.0, 5.0]
    assert smooth([1.0, 5.0], 5.0)[1] == pytest.approx(smooth([1.0, 5.0], 0.99)[1])  # capped


def test_csv_has_one_row_per_step_with_epoch_columns_where_epochs_end():
    history = RunHistory()
    for event in fake_run():
        history.add(event)
    rows = list(csv.DictReader(io.StringIO(curves_csv(history))))
    assert len(rows) == EPOCHS * BATCHES
    assert [row["step"] for row in rows[:3]] == ["1", "2", "3"]
    assert rows[0]["val_loss"] == "" and float(rows[0]["batch_loss"]) > 0
    end_of_two = rows[2 * BATCHES - 1]
    assert float(end_of_two["epoch"]) == 2 and float(end_of_two["val_accuracy"]) == pytest.approx(0.52)
    assert float(end_of_two["gradient_norm/dense"]) == pytest.approx(0.25)
    assert float(end_of_two["time_s"]) == pytest.approx(2.0)

    from_disk = RunHistory()  # a run from disk: one row per epoch
    from_disk.load([{k: v for k, v in e.items() if k not in ("type", "time")}
                    for e in fake_run() if e["type"] == "epoch_ended"])
    rows = list(csv.DictReader(io.StringIO(curves_csv(from_disk))))
    assert [row["epoch"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert [float(row["time_s"]) for row in rows] == [1.0, 2.0, 3.0, 4.0, 5.0]  # summed epoch times


def test_smoothing_slider_draws_the_raw_curve_faint_behind(monitor):
    view = monitor.curves_view
    _, raw = data(view.curves["batch_loss"])
    assert not view.raw_curves["batch_loss"].isVisible()
    view.toolbar.smoothing_slider.setValue(60)
    assert view.toolbar.smoothing_value.text() == "0.60"
    _, smoothed = data(view.curves["batch_loss"])
    assert smoothed == pytest.approx(smooth(raw, 0.6))
    assert view.raw_curves["batch_loss"].isVisible()
    assert list(data(view.raw_curves["batch_loss"])[1]) == pytest.approx(list(raw))
    assert np.std(np.diff(smoothed)) < np.std(np.diff(raw))
    _, val = data(view.curves["val_loss"])  # per-epoch points stay exact beside batch curves
    assert list(val) == pytest.approx(list(monitor.history.epoch_values("val_loss")))
    records = [dict(monitor.history.epochs[k]) for k in range(EPOCHS)]
    monitor.show_run(records)  # no per-batch points: the per-epoch curves are smoothed instead
    _, val = data(view.curves["val_loss"])
    assert val == pytest.approx(smooth(monitor.history.epoch_values("val_loss"), 0.6))
    assert view.raw_curves["val_loss"].isVisible() and not view.raw_curves["batch_loss"].isVisible()


def test_log_toggle_switches_the_loss_axis(monitor):
    view = monitor.curves_view
    axis = view.loss_plot.getPlotItem().getAxis("left")
    assert not axis.logMode
    view.toolbar.log_check.click()
    assert axis.logMode and view.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()
    assert not view.accuracy_plot.getPlotItem().getAxis("left").logMode
    view.toolbar.log_check.click()
    assert not axis.logMode


def test_x_axis_choice_changes_the_data(monitor):
    view, combo = monitor.curves_view, monitor.curves_view.toolbar.x_axis_combo
    combo.setCurrentIndex(combo.findData("step"))
    x, _ = data(view.curves["batch_loss"])
    assert list(x[:3]) == [1, 2, 3] and x[-1] == EPOCHS * BATCHES
    assert list(data(view.curves["val_loss"])[0]) == [20, 40, 60, 80, 100]
    assert view.best_lines[0].value() == 100
    assert view.loss_plot.getPlotItem().getAxis("bottom").labelText == "step"
    assert "at step 40: batch loss" in view.hover_at(40)
    combo.setCurrentIndex(combo.findData("time"))
    x, _ = data(view.curves["batch_loss"])
    assert x[0] == pytest.approx(0.05) and x[-1] == pytest.approx(5.0)
    assert list(data(view.curves["train_loss"])[0]) == pytest.approx([1, 2, 3, 4, 5])
    assert view.lr_plot.getViewBox().viewRange()[0][1] >= 5.0
    combo.setCurrentIndex(combo.findData("epoch"))
    assert data(view.curves["batch_loss"])[0][-1] == pytest.approx(EPOCHS)


def test_export_csv_and_png_write_files_that_parse(monitor, tmp_path, monkeypatch):
    view = monitor.curves_view
    chosen = iter([str(tmp_path / "curves.csv"), str(tmp_path / "curves.png")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (next(chosen), ""))
    view.toolbar.export_csv_action.trigger()
    rows = list(csv.reader((tmp_path / "curves.csv").open()))
    assert rows[0][:5] == ["step", "epoch", "time_s", "batch_loss", "batch_accuracy"]
    assert len(rows) == 1 + EPOCHS * BATCHES
    view.toolbar.export_png_action.trigger()
    image = QImage(str(tmp_path / "curves.png"))
    assert not image.isNull() and image.width() >= view.plots_widget.width()
    assert view.message_label.text() == f"Saved {tmp_path / 'curves.png'}"
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no temporary left


def test_open_in_tensorboard_starts_off_the_gui_thread_then_opens_the_browser(monitor, qtbot,
                                                                              monkeypatch):
    class Launcher:
        def open(self, run_dir):
            self.run_dir = run_dir
            return "http://127.0.0.1:6123/"

    fake, opened = Launcher(), []
    monkeypatch.setattr(tensorboard_button, "launcher", lambda: fake)
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    view = monitor.curves_view
    button = view.toolbar.tensorboard_button
    assert button.isEnabled() and button.run_dir() == "/tmp/runs/fake"
    with qtbot.waitSignal(button.opened, timeout=5000):
        button.click()
        assert view.message_label.text() == "Starting TensorBoard…" and not button.isEnabled()
    assert opened == ["http://127.0.0.1:6123/"] and fake.run_dir == "/tmp/runs/fake"
    assert "http://127.0.0.1:6123/" in view.message_label.text() and button.isEnabled()
    monitor.clear()
    assert not button.isEnabled()  # no run folder: nothing to show


def test_a_run_without_logs_says_so(monitor, qtbot, tmp_path, monkeypatch):
    real = TensorBoardLauncher()
    monkeypatch.setattr(tensorboard_button, "launcher", lambda: real)
    monitor.show_run([], None, None, run_dir=str(tmp_path))
    button = monitor.curves_view.toolbar.tensorboard_button
    with qtbot.waitSignal(button.message, timeout=5000,
                          check_params_cb=lambda text, error: error) as signal:
        button.click()
    assert "no TensorBoard logs" in signal.args[0]
    assert "no TensorBoard logs" in monitor.curves_view.message_label.text()
    with pytest.raises(ProjectError):
        real.open(tmp_path)
