"""The Features lab on a real (tiny) trained run: every tab shows its worker's results."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.panels.lab import EMPTY_HINT, FeaturesLab

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from engine.templates import load_template
    from engine.training.config import TrainingConfig
    from engine.training.session import run_training

    root = tmp_path_factory.mktemp("runs")
    event = run_training(load_template("lenet5"),
                         TrainingConfig(dataset="digits", epochs=2, max_samples=400),
                         runs_root=root)
    assert event["type"] == "finished", event
    return event["run_dir"]


@pytest.fixture
def lab(qtbot, run_dir):
    widget = FeaturesLab()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    widget.set_run(run_dir)
    qtbot.waitUntil(lambda: bool(widget.images), timeout=TIMEOUT_MS)
    return widget


def wait_done(qtbot, page):
    qtbot.waitUntil(lambda: page.loaded_key is not None and not page.task.is_running(),
                    timeout=TIMEOUT_MS)
    assert not page.status.text().startswith("⚠"), page.status.text()


def test_importing_the_lab_does_not_import_keras():
    code = ("import sys, desktop.panels.lab\n"
            "print([m for m in ('keras', 'tensorflow') if m in sys.modules])")
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}).stdout
    assert output.strip().splitlines()[-1] == "[]"


def test_empty_state_says_what_to_do(qtbot):
    widget = FeaturesLab()
    qtbot.addWidget(widget)
    assert widget.title.text() == EMPTY_HINT
    for index in range(widget.tabs.count()):
        widget.tabs.setCurrentIndex(index)
        assert widget.pages[index].status.text() == EMPTY_HINT


def test_kernels_tab_replays_epochs_and_follows_training(qtbot, run_dir):
    widget = FeaturesLab()
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    tab = widget.kernels_tab
    widget.kernels_tab.load_run(None)
    # live: snapshots arrive while training
    kernels = {"C1": np.random.default_rng(0).normal(size=(5, 5, 3, 4)).astype(np.float32)}
    widget.handle_event({"type": "filters_snapshot", "epoch": 1, "kernels": kernels})
    assert tab.grid.count() == 4
    assert tab.channel.currentData() == "rgb"
    widget.handle_event({"type": "filters_snapshot", "epoch": 2, "kernels": kernels})
    assert tab.epoch.maximum() == 1 and tab.epoch.value() == 1
    # a finished run: the snapshots on disk
    widget.set_run(run_dir)
    assert tab.layer.currentText() == "C1"
    assert tab.grid.count() == 6
    assert tab.epoch.maximum() - tab.epoch.minimum() + 1 == 2
    assert tab.epoch_label.text() == "Epoch 2 of 2"
    tab.epoch.setValue(0)
    assert tab.epoch_label.text() == "Epoch 1 of 2"
    tab.layer.setCurrentText("C3")
    assert tab.grid.count() == 16
    assert tab.channel.count() == 1 + 6  # mean + each input channel
    tab.channel.setCurrentIndex(3)
    tab.shared.setChecked(True)
    tab.zoom.setValue(100)
    assert tab.grid.count() == 16 and tab.grid.tiles[0].width() == 100
    widget.images_task.cancel()


def test_handcrafted_vs_learned(qtbot, lab):
    lab.tabs.setCurrentWidget(lab.compare_tab)
    page = lab.compare_tab
    wait_done(qtbot, page)
    assert page.bank_grid.count() >= 16
    assert page.learned_grid.count() == 6
    bank = set(page.bank)
    assert all(caption.split(": ")[1].split("\n")[0] in bank
               for caption in page.learned_grid.captions)
    assert page.hand_grid.count() == len(page.bank)
    assert page.maps_grid.count() == 6


def test_feature_maps_and_receptive_field(qtbot, lab):
    lab.tabs.setCurrentWidget(lab.maps_tab)
    page = lab.maps_tab
    wait_done(qtbot, page)
    assert page.layer.currentData() == "C1"
    assert page.grid.count() == 6
    page.outline(0, 3, 4)
    assert page.box == (3, 4, 7, 8)  # 5x5 conv, valid: input rows 3..7, cols 4..8
    page.layer.setCurrentIndex(page.layer.findData("C3"))
    wait_done(qtbot, page)
    qtbot.waitUntil(lambda: page.grid.count() == 16, timeout=TIMEOUT_MS)


def test_excite_gradcam_weights_shift_embedding(qtbot, lab):
    lab.tabs.setCurrentWidget(lab.excite_tab)
    wait_done(qtbot, lab.excite_tab)
    assert lab.excite_tab.heatmap_shown
    assert lab.excite_tab.patterns.count() == 6  # C1 has 6 filters of the first 8 asked

    lab.tabs.setCurrentWidget(lab.weights_tab)
    wait_done(qtbot, lab.weights_tab)
    assert len(lab.weights_tab.curves) == 5  # C1, C3, three Dense

    lab.tabs.setCurrentWidget(lab.shift_tab)
    wait_done(qtbot, lab.shift_tab)
    assert len(lab.shift_tab.curves) >= 2
    lab.shift_tab.slider.setValue(3)
    assert lab.shift_tab.prediction.text().startswith("Shift 3 px")

    lab.tabs.setCurrentWidget(lab.embedding_tab)
    wait_done(qtbot, lab.embedding_tab)
    assert lab.embedding_tab.point_count() > 0
    assert len(lab.embedding_tab.scatters) == 2 * 10


def test_baselines_and_probes(qtbot, lab):
    lab.tabs.setCurrentWidget(lab.baselines_tab)
    page = lab.baselines_tab
    assert page.loaded_key is None  # expensive: waits for the button
    page.compare.click()
    assert page.busy.isVisibleTo(page)
    wait_done(qtbot, page)
    assert page.table.rowCount() == 3 + 1
    assert page.table.item(3, 0).text().startswith("CNN")
    assert page.probe_curve is not None


def test_worker_errors_show_inline(qtbot, tmp_path):
    widget = FeaturesLab()
    qtbot.addWidget(widget)
    widget.set_run(str(tmp_path))  # not a run folder
    qtbot.waitUntil(lambda: widget.images_status.startswith("⚠"), timeout=TIMEOUT_MS)
    widget.tabs.setCurrentWidget(widget.maps_tab)
    assert widget.maps_tab.status.text().startswith("⚠")
    assert "Traceback" not in widget.maps_tab.status.text()


def test_a_picture_the_user_opens_goes_through_the_network(qtbot, lab, tmp_path):
    from PIL import Image

    picture = tmp_path / "my-digit.png"
    Image.fromarray((np.random.default_rng(0).random((50, 70, 3)) * 255).astype("uint8")).save(picture)
    assert lab.add_image_file(picture)
    assert lab.image_combo.currentText() == "File: my-digit.png"
    assert lab.current_image().shape == (32, 32, 1)  # resized and made grayscale for LeNet-5
    lab.tabs.setCurrentWidget(lab.maps_tab)
    wait_done(qtbot, lab.maps_tab)
    assert lab.maps_tab.grid.count() == 6
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    assert not lab.add_image_file(broken)
    assert "Cannot read" in lab.title.text()


# -- opening a layer's feature maps (the canvas' "Feature maps for this layer") ---------------

def test_show_layer_without_a_run_shows_the_hint(qtbot):
    widget = FeaturesLab()
    qtbot.addWidget(widget)
    assert widget.show_layer("C1") is False
    assert widget.tabs.currentWidget() is widget.maps_tab
    assert widget.maps_tab.status.text() == EMPTY_HINT


def test_show_layer_opens_the_feature_maps_of_that_layer(qtbot, lab):
    assert lab.tabs.currentWidget() is lab.kernels_tab
    assert lab.show_layer("C3") is True
    page = lab.maps_tab
    assert lab.tabs.currentWidget() is page and page.layer.currentData() == "C3"
    wait_done(qtbot, page)
    qtbot.waitUntil(lambda: page.grid.count() == 16, timeout=TIMEOUT_MS)
    assert lab.show_layer("C1") is True  # the tab already shown: it loads the new layer
    qtbot.waitUntil(lambda: page.grid.count() == 6, timeout=TIMEOUT_MS)
    assert lab.show_layer("F6") is False  # a Dense layer: no maps
    assert "no feature maps" in page.status.text()
    assert page.layer.currentData() == "C1"


def test_show_layer_before_the_runs_layers_arrive(qtbot, run_dir):
    widget = FeaturesLab()
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    widget.set_run(run_dir)
    assert not widget.layers  # still loading
    assert widget.show_layer("C3") is True
    qtbot.waitUntil(lambda: bool(widget.images), timeout=TIMEOUT_MS)
    assert widget.maps_tab.layer.currentData() == "C3"
    wait_done(qtbot, widget.maps_tab)
    qtbot.waitUntil(lambda: widget.maps_tab.grid.count() == 16, timeout=TIMEOUT_MS)


# -- the run chooser ----------------------------------------------------------------------------

def test_run_chooser_lists_trained_runs_and_reports_the_users_choice(qtbot, lab, run_dir,
                                                                      tmp_path):
    copy = shutil.copytree(run_dir, tmp_path / "copy-of-run")
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    lab.set_runs([("first", run_dir), ("untrained", str(untrained)), ("copy", str(copy))])
    combo = lab.run_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["first", "copy"]
    assert combo.currentText() == "first"  # the run shown
    with qtbot.waitSignal(lab.run_chosen, timeout=5_000) as chosen:
        combo.setCurrentIndex(1)
        combo.activated.emit(1)  # what Qt emits when the user picks an item
    assert chosen.args == [str(copy)]
    assert lab.run_dir == str(copy) and "copy-of-run" in lab.title.text()
    with qtbot.assertNotEmitted(lab.run_chosen):
        lab.set_run(run_dir)  # the window selected a run: the combo follows, silently
        assert combo.currentText() == "first"
        lab.set_run(str(untrained))  # not listed: the placeholder
        assert combo.currentIndex() == -1
    lab.set_runs([])
    assert not combo.isEnabled() and combo.placeholderText() == "No trained runs yet"
