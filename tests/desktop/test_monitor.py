import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

import subprocess
import sys
import time

import numpy as np
import pytest
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from desktop.panels.monitor import (EMPTY_STATUS, MAX_BATCH_POINTS, PAUSED_STATUS,
                                    STARTING_STATUS, STOPPING_STATUS, TrainingMonitor,
                                    image_pixmap, top_probabilities)
from engine.templates import load_template
from engine.training.config import TrainingConfig
from engine.training.runs import RunFolder

EPOCHS, BATCHES = 3, 40
LAYERS = ["conv2d", "conv2d_1", "dense"]
CLASSES = ["cat", "dog", "bird"]
CONFUSION = [[50, 3, 2], [4, 45, 1], [0, 6, 39]]
VAL_ACCURACY = [0.80, 0.91, 0.88]  # best at epoch 2, not the last one


# -- a synthetic but realistic run ------------------------------------------------------------

def make_examples(confusion=CONFUSION, per_cell: int = 12, side: int = 28, channels: int = 1,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """What fit.confusion_examples saves: up to `per_cell` images for every non-empty cell."""
    rng = np.random.default_rng(seed)
    true, predicted = [], []
    for row, counts in enumerate(confusion):
        for column, count in enumerate(counts):
            kept = min(count, per_cell)
            true += [row] * kept
            predicted += [column] * kept
    m, k = len(true), len(confusion)
    # A blob, a ring or a bar per true class, with noise: like small test images.
    yy, xx = np.mgrid[:side, :side] - (side - 1) / 2
    radius = np.hypot(yy, xx)
    shapes = [radius < side / 4, np.abs(radius - side / 3.5) < side / 12, np.abs(xx) < side / 8]
    images = np.stack([shapes[t % len(shapes)] * 200.0 for t in true])[..., None]
    images = np.clip(images + rng.normal(0, 30, size=images.shape), 0, 255)
    images = np.repeat(images, channels, axis=3).astype(np.uint8)
    logits = rng.normal(size=(m, k))
    logits[np.arange(m), predicted] += 4.0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return {
        "index": np.arange(m, dtype=np.int64) * 7,
        "image": images,
        "true": np.array(true, dtype=np.int64),
        "predicted": np.array(predicted, dtype=np.int64),
        "probabilities": probabilities.astype(np.float32),
    }


def epoch_record(epoch: int) -> dict:
    """One history.json entry (epoch_ended without type/time/epochs/elapsed/eta)."""
    return {
        "epoch": epoch, "loss": 1.0 / epoch, "accuracy": 0.7 + 0.08 * epoch,
        "val_loss": 1.1 / epoch + 0.05, "val_accuracy": VAL_ACCURACY[epoch - 1],
        "learning_rate": 1e-3 * 0.5 ** (epoch - 1),
        # vanishing gradients: the first layer far below the last one
        "gradient_norms": {name: 10.0 ** (i - 3) / epoch for i, name in enumerate(LAYERS)},
        "epoch_time": 4.0, "samples_per_second": 1250.0,
    }


def finished_event(examples=None) -> dict:
    matrix = np.array(CONFUSION)
    return {
        "type": "finished", "time": 13.0, "test_loss": 0.3125, "test_accuracy": 0.956,
        "confusion_matrix": CONFUSION,
        "per_class_accuracy": (matrix.diagonal() / matrix.sum(axis=1)).tolist(),
        "class_names": CLASSES, "best_epoch": 2, "best_val_accuracy": 0.91,
        "training_time": 12.0, "samples_per_second": 1250.0, "run_dir": "/tmp/runs/x",
        "examples": make_examples() if examples is None else examples,
    }


def event_stream(epochs: int = EPOCHS, batches: int = BATCHES) -> list[dict]:
    events = [{"type": "started", "time": 0.0, "epochs": epochs, "initial_epoch": 0,
               "steps_per_epoch": batches, "run_dir": "/tmp/runs/x", "devices": ["CPU"],
               "config": {}, "model_summary": [],
               "dataset": {"name": "synthetic", "num_classes": 3}}]
    t = 0.0
    for epoch in range(1, epochs + 1):
        for batch in range(1, batches + 1):
            t += 0.1
            progress = epoch - 1 + batch / batches
            events.append({"type": "batch_ended", "time": t, "epoch": epoch, "batch": batch,
                           "batches": batches, "loss": 1.2 / (1 + progress) + 0.02 * np.sin(batch),
                           "accuracy": 0.6 + 0.1 * progress, "samples_per_second": 1250.0})
        events.append({"type": "epoch_ended", "time": t, "epochs": epochs, "elapsed": t,
                       "eta": (epochs - epoch) * 4.0, **epoch_record(epoch)})
    return events


def full_run() -> list[dict]:
    return event_stream() + [finished_event()]


@pytest.fixture
def monitor(qtbot):
    widget = TrainingMonitor()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    return widget


def feed(monitor: TrainingMonitor, events: list[dict]) -> None:
    for event in events:
        monitor.handle_event(event)
    monitor.flush()


def curve_length(monitor: TrainingMonitor, name: str) -> int:
    x, _ = monitor.curves_view.curves[name].getOriginalDataset()
    return 0 if x is None else len(x)


# -- curves -----------------------------------------------------------------------------------

def test_live_stream_fills_curves(monitor):
    feed(monitor, event_stream())
    assert monitor.batch_point_count == EPOCHS * BATCHES
    assert curve_length(monitor, "batch_loss") == EPOCHS * BATCHES
    assert curve_length(monitor, "batch_accuracy") == EPOCHS * BATCHES
    for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "learning_rate"):
        assert curve_length(monitor, name) == EPOCHS
    x, y = monitor.curves_view.curves["batch_loss"].getOriginalDataset()
    assert x[0] == pytest.approx(1 / BATCHES) and x[-1] == pytest.approx(EPOCHS)
    assert np.all(np.diff(x) > 0)
    _, val = monitor.curves_view.curves["val_accuracy"].getOriginalDataset()
    assert list(val) == pytest.approx([100 * v for v in VAL_ACCURACY])  # shown in percent
    assert "Epoch 3/3" in monitor.status_label.text()
    assert monitor.progress.value() == monitor.progress.maximum()


def test_batch_curves_are_downsampled_and_clipped(monitor):
    for plot in (monitor.curves_view.loss_plot, monitor.curves_view.accuracy_plot):
        item = plot.getPlotItem()
        assert item.ctrl.autoDownsampleCheck.isChecked()
        assert item.ctrl.clipToViewCheck.isChecked()
        assert item.ctrl.peakRadio.isChecked()
    assert monitor.curves_view.curves["batch_loss"].opts["autoDownsample"]
    assert monitor.curves_view.curves["batch_loss"].opts["clipToView"]


def test_x_axes_are_linked(monitor):
    feed(monitor, event_stream())
    loss_view = monitor.curves_view.loss_plot.getViewBox()
    assert monitor.curves_view.accuracy_plot.getViewBox().linkedView(0) is loss_view
    assert monitor.curves_view.lr_plot.getViewBox().linkedView(0) is loss_view
    left, right = loss_view.viewRange()[0]
    assert left <= 0 and right >= EPOCHS
    for plot in (monitor.curves_view.accuracy_plot, monitor.curves_view.lr_plot):
        assert plot.getViewBox().viewRange()[0] == pytest.approx([left, right])
    monitor.curves_view.loss_plot.setXRange(1.0, 2.0, padding=0)
    for plot in (monitor.curves_view.accuracy_plot, monitor.curves_view.lr_plot):
        assert plot.getViewBox().viewRange()[0] == pytest.approx([1.0, 2.0])


def test_best_epoch_marker_and_legends(monitor):
    feed(monitor, event_stream())
    assert monitor.best_epoch() == 2
    for line in monitor.curves_view.best_lines:
        assert line.isVisible() and line.value() == 2
    for plot in (monitor.curves_view.loss_plot, monitor.curves_view.accuracy_plot):
        labels = [label.text for _, label in plot.getPlotItem().legend.items]
        assert labels == ["train (per batch)", "train (per epoch)", "validation",
                          "best val accuracy (epoch 2)"]


def test_hover_readout_shows_values_at_the_nearest_epoch(monitor):
    feed(monitor, event_stream())
    assert monitor.curves_view.hover_label.text().startswith("Latest: epoch 3")
    text = monitor.curves_view.hover_at(1.98)
    assert "epoch 2:" in text and "val acc 91.0%" in text and "at 1.98: batch loss" in text
    assert all(line.isVisible() and line.value() == pytest.approx(1.98) for line in monitor.curves_view.cursor_lines)
    assert monitor.curves_view.hover_label.text() == text
    monitor.curves_view.hover_at(None)
    assert not any(line.isVisible() for line in monitor.curves_view.cursor_lines)


def test_moving_the_mouse_over_a_plot_reads_out_values(monitor):
    feed(monitor, event_stream())
    QApplication.processEvents()  # lay the plots out
    view = monitor.curves_view.accuracy_plot.getViewBox()
    scene_pos = view.mapViewToScene(pg.Point(1.0, 85.0))
    monitor.curves_view.accuracy_plot.scene().sigMouseMoved.emit(scene_pos)
    assert monitor.curves_view.hover_label.text().startswith("epoch 1:")
    assert all(line.isVisible() for line in monitor.curves_view.cursor_lines)
    monitor.curves_view.accuracy_plot.scene().sigMouseMoved.emit(QPointF(-50, -50))  # left the plot
    assert monitor.curves_view.hover_label.text().startswith("Latest: epoch 3")
    assert not any(line.isVisible() for line in monitor.curves_view.cursor_lines)


def test_plots_update_through_the_timer_not_per_event(monitor, qtbot):
    monitor.handle_event(event_stream()[0])
    for event in event_stream()[1:11]:
        monitor.handle_event(event)
    assert curve_length(monitor, "batch_loss") == 0  # nothing drawn yet: coalesced
    qtbot.waitUntil(lambda: curve_length(monitor, "batch_loss") == 10, timeout=2000)


def test_fifty_thousand_batch_events_stay_bounded_and_fast(monitor):
    batches = 5000
    events = [{"type": "batch_ended", "time": i * 0.05, "epoch": i // batches + 1,
               "batch": i % batches + 1, "batches": batches, "loss": 1.0 / (1 + i),
               "accuracy": 0.5, "samples_per_second": 1000.0} for i in range(50_000)]
    monitor.handle_event({"type": "started", "time": 0.0, "epochs": 10, "initial_epoch": 0})
    started = time.perf_counter()
    feed(monitor, events)
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0
    assert MAX_BATCH_POINTS // 2 <= monitor.batch_point_count <= MAX_BATCH_POINTS
    x, _ = monitor.curves_view.curves["batch_loss"].getOriginalDataset()
    assert len(x) == monitor.batch_point_count and np.all(np.diff(x) > 0)
    assert x[0] == pytest.approx(1 / batches) and x[-1] > 9.9  # the whole run, evenly thinned


# -- gradients --------------------------------------------------------------------------------

def test_gradient_norms_one_line_per_layer_on_a_log_axis(monitor):
    feed(monitor, event_stream())
    assert list(monitor.gradients_view.curves) == LAYERS
    item = monitor.gradients_view.plot.getPlotItem()
    assert item.getAxis("left").logMode
    legend = monitor.gradients_view.legend
    assert [legend.item(k).text() for k in range(legend.count())] == LAYERS
    legend.item(0).setCheckState(Qt.CheckState.Unchecked)  # untick a layer: its line hides
    assert not monitor.gradients_view.curves["conv2d"].isVisible()
    pens = {curve.opts["pen"].color().name() for curve in monitor.gradients_view.curves.values()}
    assert len(pens) == len(LAYERS)
    _, norms = monitor.gradients_view.curves["conv2d"].getOriginalDataset()
    assert list(norms) == pytest.approx([1e-3, 1e-3 / 2, 1e-3 / 3])
    assert "vanishing gradients" in monitor.gradients_view.note.text().lower()
    assert not monitor.gradients_view.hint.isVisible()


# -- results ----------------------------------------------------------------------------------

def test_finished_fills_results(monitor):
    feed(monitor, full_run())
    labels = monitor.results_view.result_labels
    assert labels["test_accuracy"].text() == "95.6%"
    assert labels["test_loss"].text() == "0.3125"
    assert labels["training_time"].text() == "0:12"
    assert labels["samples_per_second"].text() == "1,250"
    assert monitor.status_label.text().startswith("Finished: test accuracy 95.6%")
    assert monitor.results_view.currentIndex() == 1
    bars = monitor.results_view.class_bars.opts
    assert list(bars["height"]) == pytest.approx([100 * 50 / 55, 100 * 45 / 50, 100 * 39 / 45])
    ticks = monitor.results_view.class_plot.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [name for _, name in ticks] == CLASSES


def test_confusion_table_contents_and_colours(monitor):
    feed(monitor, full_run())
    table = monitor.results_view.confusion.table
    assert (table.rowCount(), table.columnCount()) == (3, 3)
    assert [table.horizontalHeaderItem(k).text() for k in range(3)] == CLASSES
    assert [table.verticalHeaderItem(k).text() for k in range(3)] == CLASSES
    assert [[table.item(r, c).text() for c in range(3)] for r in range(3)] == \
        [[str(v) for v in row] for row in CONFUSION]
    base = monitor.palette().color(monitor.palette().ColorRole.Base)
    assert table.item(0, 0).background().color() != base  # the diagonal is strongly coloured
    assert table.item(2, 0).background().color() == base  # an empty cell is not


def test_clicking_a_cell_fills_the_gallery(monitor, qtbot):
    feed(monitor, full_run())
    monitor.tabs.setCurrentIndex(monitor.RESULTS_TAB)
    table = monitor.results_view.confusion.table
    with qtbot.waitSignal(monitor.cell_selected) as signal:
        table.cellClicked.emit(1, 1)
    assert signal.args == [1, 1]
    assert monitor.results_view.confusion.gallery.count() == 12  # 45 test images, 12 saved
    assert "12 of 45" in monitor.results_view.confusion.gallery_label.text()
    caption = monitor.results_view.confusion.gallery.item(0).text()
    assert caption.splitlines()[0].startswith("dog: ")
    assert not monitor.results_view.confusion.gallery.item(0).icon().isNull()

    # a real mouse click on another cell: 3 images (all of that cell's test images)
    rect = table.visualItemRect(table.item(0, 1))
    with qtbot.waitSignal(monitor.cell_selected) as signal:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [0, 1]
    assert monitor.results_view.confusion.gallery.count() == 3

    monitor.select_cell(2, 0)  # an empty cell
    assert monitor.results_view.confusion.gallery.count() == 0


def test_gallery_images_and_captions():
    gray = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28, 1)
    assert image_pixmap(gray).size().width() == 56  # 2x nearest neighbour
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    assert image_pixmap(rgb).size().width() == 64
    assert top_probabilities([0.05, 0.91, 0.04], ["1", "7", "9"]) == "7: 0.91, 1: 0.05"


def test_status_lines_for_stopped_and_failed(monitor):
    feed(monitor, event_stream(epochs=3)[:-42])
    monitor.handle_event({"type": "stopped", "time": 5.0, "epochs_completed": 2, "run_dir": "x",
                          "resumable": True, "message": "Stopped"})
    assert monitor.status_label.text().startswith("Stopped after 2 epochs")
    monitor.handle_event({"type": "failed", "time": 5.0, "epochs_completed": 2, "run_dir": "x",
                          "message": "Out of memory: lower the batch size."})
    assert monitor.status_label.text() == "Failed: Out of memory: lower the batch size."


def test_running_status_line(monitor):
    events = event_stream()
    feed(monitor, events[:42 + 10])  # into epoch 2
    text = monitor.status_label.text()
    assert text.startswith("Epoch 2/3 · batch 10/40 · loss ")
    assert "val acc 80.0%" in text and "1,250 samples/s" in text and "ETA 0:0" in text


# -- runs from disk ---------------------------------------------------------------------------

def test_show_run_from_history(monitor):
    history = [epoch_record(epoch) for epoch in range(1, 4)]
    finished = finished_event()
    metrics = {k: v for k, v in finished.items() if k not in ("type", "time", "examples", "run_dir")}
    feed(monitor, event_stream()[:30])  # something live first: show_run replaces it
    monitor.show_run(history, metrics, make_examples())
    assert monitor.batch_point_count == 0 and curve_length(monitor, "batch_loss") == 0
    assert curve_length(monitor, "train_loss") == 3 and curve_length(monitor, "val_accuracy") == 3
    assert monitor.curves_view.best_lines[0].value() == 2
    assert list(monitor.gradients_view.curves) == LAYERS
    assert monitor.results_view.result_labels["test_accuracy"].text() == "95.6%"
    monitor.select_cell(0, 0)
    assert monitor.results_view.confusion.gallery.count() == 12
    assert monitor.status_label.text().startswith("Finished: test accuracy 95.6%")

    monitor.show_run(history[:2], None, None)  # a stopped run: no results
    assert curve_length(monitor, "train_loss") == 2
    assert monitor.results_view.currentIndex() == 0
    assert monitor.results_view.confusion.table.rowCount() == 0


def test_resume_keeps_epochs_before_the_checkpoint(monitor):
    monitor.show_run([epoch_record(1), epoch_record(2)], None, None)
    monitor.handle_event({"type": "started", "time": 0.0, "epochs": 3, "initial_epoch": 1})
    assert monitor.epoch_count == 1
    monitor.handle_event({"type": "epoch_ended", "time": 1.0, "epochs": 3, "elapsed": 1.0,
                          "eta": 4.0, **epoch_record(2)})
    monitor.flush()
    assert curve_length(monitor, "train_loss") == 2


def stopped_run_folder(root, epochs_done: int = 2, epochs: int = EPOCHS) -> str:
    """A run folder as training leaves it when stopped after `epochs_done` epochs."""
    folder = RunFolder.create(root, "stopped")
    folder.write_start(load_template("lenet5"), TrainingConfig(epochs=epochs),
                       {"status": "stopped", "name": "stopped"})
    folder.write_json("history.json", {"epochs": [epoch_record(e) for e in range(1, epochs_done + 1)]})
    folder.write_status({**folder.status(), "epochs_completed": epochs_done})
    return str(folder.path)


def test_a_resumed_run_shows_its_whole_history(monitor, tmp_path):
    run_dir = stopped_run_folder(tmp_path)
    monitor.clear()  # what the window does before resuming: nothing on screen
    monitor.handle_event({"type": "started", "time": 0.0, "epochs": EPOCHS, "initial_epoch": 2,
                          "run_dir": run_dir, "steps_per_epoch": BATCHES})
    assert monitor.epoch_count == 2
    x, loss = monitor.curves_view.curves["train_loss"].getOriginalDataset()
    assert list(x) == [1, 2] and list(loss) == [1.0, 0.5]
    assert monitor.status_label.text() == "Resuming after epoch 2 of 3"
    assert monitor.curves_view.best_lines[0].value() == 2
    monitor.handle_event({"type": "epoch_ended", "time": 4.0, "epochs": EPOCHS, "elapsed": 4.0,
                          "eta": 0.0, **epoch_record(3)})
    monitor.flush()
    x, _ = monitor.curves_view.curves["train_loss"].getOriginalDataset()
    assert list(x) == [1, 2, 3]


def test_a_resumed_run_without_a_readable_history_starts_where_it_resumes(monitor, tmp_path):
    monitor.handle_event({"type": "started", "time": 0.0, "epochs": EPOCHS, "initial_epoch": 2,
                          "run_dir": str(tmp_path / "gone")})
    assert monitor.epoch_count == 0
    assert monitor.status_label.text() == "Resuming after epoch 2 of 3"


# -- what the run is doing: phases before it starts, paused, stopping ---------------------------

def test_phases_show_before_the_run_starts(monitor):
    assert monitor.status_label.text() == EMPTY_STATUS
    monitor.set_state("starting")
    assert monitor.status_label.text() == STARTING_STATUS
    assert monitor.progress.maximum() == 0  # a busy bar: nothing to measure yet
    monitor.show_phase("Loading digits…")
    assert monitor.status_label.text() == "Loading digits…" and monitor.progress.maximum() == 0
    monitor.handle_event({"type": "phase", "time": 1.0, "message": "Compiling…"})
    assert monitor.status_label.text() == "Compiling…"
    monitor.handle_event(event_stream()[0])  # started
    monitor.set_state("training")
    assert monitor.status_label.text() == "Training started: 3 epochs on synthetic"
    assert monitor.progress.maximum() == 1000 and monitor.progress.value() == 0


def test_a_failure_while_getting_ready_replaces_the_phase(monitor):
    monitor.set_state("starting")
    monitor.show_phase("Loading folder:/data/cats…")
    monitor.handle_event({"type": "failed", "time": 1.0, "epochs_completed": 0, "run_dir": None,
                          "message": "The image folder /data/cats does not exist."})
    assert monitor.status_label.text() == "Failed: The image folder /data/cats does not exist."
    assert monitor.progress.maximum() == 1000 and monitor.state == "idle"


def test_paused_and_stopping_show_until_training_goes_on(monitor):
    events = event_stream()
    monitor.set_state("training")
    feed(monitor, events[:42 + 10])  # into epoch 2
    monitor.set_state("paused")
    assert monitor.status_label.text() == f"{PAUSED_STATUS} · epoch 2/3, batch 10/40"
    progress = monitor.progress.value()
    assert monitor.progress.maximum() == 1000 and 0 < progress < 1000  # how far, not busy
    feed(monitor, events[52:53])  # a batch that was under way when Pause was pressed
    assert monitor.status_label.text().startswith(PAUSED_STATUS + " · epoch 2/3, batch 11/40")
    monitor.set_state("training")
    assert monitor.status_label.text().startswith("Epoch 2/3 · batch 11/40 · loss ")
    monitor.set_state("stopping")
    assert monitor.status_label.text() == STOPPING_STATUS
    feed(monitor, events[53:54])  # still the last batches before the stop
    assert monitor.status_label.text() == STOPPING_STATUS
    monitor.handle_event({"type": "stopped", "time": 5.0, "epochs_completed": 1, "resume_epoch": 1,
                          "run_dir": "x", "resumable": True, "message": "Stopped"})
    assert monitor.status_label.text() == "Stopped after 1 epoch · resumable"
    with pytest.raises(ValueError, match="Unknown training state"):
        monitor.set_state("sleeping")


def test_a_pause_does_not_count_down_the_eta(monitor, qtbot):
    monitor.set_state("training")
    events = event_stream()
    feed(monitor, events[:42])  # epoch 1 ended with 8 s to go
    epoch_end = events[41]["time"]
    assert events[41]["type"] == "epoch_ended" and events[41]["eta"] == 8.0
    monitor.set_state("paused")
    qtbot.wait(1100)
    monitor.set_state("training")
    # The worker's clock ran on through the pause: 2 s of training and the 1.1 s pause.
    feed(monitor, [{"type": "batch_ended", "time": epoch_end + 3.1, "epoch": 2, "batch": 20,
                    "batches": BATCHES, "loss": 0.5, "accuracy": 0.8, "samples_per_second": 1250.0}])
    eta = monitor.status_label.text().rsplit("ETA ", 1)[1]
    minutes, seconds = eta.split(":")
    assert int(minutes) * 60 + int(seconds) >= 6  # 8 - 2; counting the pause would leave 4.9


def test_clear_empties_everything(monitor):
    feed(monitor, full_run())
    monitor.clear()
    assert monitor.batch_point_count == 0 and monitor.epoch_count == 0
    assert curve_length(monitor, "train_loss") == 0
    assert monitor.gradients_view.curves == {}
    assert monitor.results_view.confusion.table.rowCount() == 0 and monitor.results_view.confusion.gallery.count() == 0
    assert not any(line.isVisible() for line in monitor.curves_view.best_lines)


@pytest.mark.parametrize("size", [(900, 600), (600, 400)])
def test_readable_at_small_sizes(qtbot, size):
    widget = TrainingMonitor()
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    feed(widget, full_run())
    widget.select_cell(1, 2)
    for tab in range(widget.tabs.count()):
        widget.tabs.setCurrentIndex(tab)
        QApplication.processEvents()
        assert not widget.grab().isNull()
    for plot in (widget.curves_view.loss_plot, widget.curves_view.accuracy_plot, widget.curves_view.lr_plot):
        assert plot.height() >= 90 and plot.width() >= 120


def test_monitor_never_imports_tensorflow():
    code = ("import sys; import desktop.panels.monitor; "
            "print(any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_how_the_run_trains_fast_is_shown_with_the_reason(monitor):
    started = {**event_stream()[0], "speed": {
        "steps_per_execution": 10, "why": "a step takes about 10 ms, so 10 steps per call",
        "jit_compile": False, "backend": "tensorflow", "devices": ["CPU"], "cpu_threads": 2}}
    feed(monitor, [started])
    assert monitor.speed_label.text() == ("Runs as: 10 batches per call · XLA off · tensorflow · "
                                          "CPU · 2 CPU threads")
    assert "10 ms" in monitor.speed_label.toolTip() and not monitor.speed_label.isHidden()
    feed(monitor, [event_stream()[0]])  # a run from an older engine says nothing about it
    assert monitor.speed_label.isHidden()
