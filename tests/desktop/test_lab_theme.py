"""The Lab in the dark theme: its plots, legends and captions follow the palette, also when it
changes after the widgets exist. No worker: the tabs are given results directly."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel

from desktop.panels.lab import FeaturesLab
from desktop.theme import dark_palette

BASE, TEXT = QPalette.ColorRole.Base, QPalette.ColorRole.WindowText


@pytest.fixture
def restore_palette(qapp):
    before = QPalette(qapp.palette())
    yield qapp
    qapp.setPalette(before)


def background(plot) -> str:
    return plot.backgroundBrush().color().name()


def histograms():
    rng = np.random.default_rng(0)
    return [{"layer": f"L{i}", "mean": 0.0, "std": 0.1, "edges": np.linspace(-1, 1, 11),
             "counts": rng.integers(0, 9, 10)} for i in range(3)]


def shift_result():
    shifts = np.arange(4)
    return {"shifts": shifts, "layers": ["C1", "S2"], "change": np.linspace(0, 1, 8),
            "equivariance_error": np.linspace(0, 1, 8).reshape(2, 4), "probabilities": np.full((4, 2), 0.5),
            "predicted": np.zeros(4, int)}


def test_plots_follow_a_palette_set_after_they_exist(qtbot, restore_palette):
    lab = FeaturesLab()
    qtbot.addWidget(lab)
    lab.weights_tab.show_result(histograms())
    lab.shift_tab.show_result(shift_result())
    plots = [lab.shift_tab.change_plot, lab.shift_tab.error_plot, lab.embedding_tab.hand,
             lab.baselines_tab.bars, *lab.weights_tab.plots]
    light = QApplication.palette().color(BASE).name()
    assert all(background(plot) == light for plot in plots)
    dark = dark_palette()
    QApplication.setPalette(dark)  # delivered as events: wait for them
    qtbot.waitUntil(lambda: all(background(p) == dark.color(BASE).name() for p in plots))
    for plot in plots:
        axis = plot.getPlotItem().getAxis("left")
        assert axis.textPen().color().name() == dark.color(TEXT).name()
    legend = lab.shift_tab.change_plot.getPlotItem().legend
    assert legend.items and all(label.opts["color"] == dark.color(TEXT).name()
                                for _, label in legend.items)


def test_plots_made_in_the_dark_theme_are_dark(qtbot, restore_palette):
    dark = dark_palette()
    QApplication.setPalette(dark)
    lab = FeaturesLab()
    qtbot.addWidget(lab)
    lab.weights_tab.show_result(histograms())  # plots made after the switch
    for plot in [lab.embedding_tab.learned, *lab.weights_tab.plots]:
        assert background(plot) == dark.color(BASE).name()


def test_tile_captions_follow_the_palette(qtbot, restore_palette):
    lab = FeaturesLab()
    qtbot.addWidget(lab)
    lab.resize(1000, 600)
    lab.show()
    grid = lab.compare_tab.bank_grid  # filled on a tab not shown, as a run's tabs are
    grid.set_images([np.eye(5)] * 3, ["a", "b", "c"], 48)
    QApplication.setPalette(dark_palette())
    qtbot.wait(50)  # the palette change arrives as events
    lab.tabs.setCurrentWidget(lab.compare_tab)
    texts = [c for c in grid.findChildren(QLabel) if c.text() in ("a", "b", "c")]
    assert len(texts) == 3
    for caption in texts:  # drawn light on dark
        assert brightest(caption) > 150, caption.text()


def brightest(widget) -> int:
    image = widget.grab().toImage()
    return max(image.pixelColor(x, y).lightness()
               for x in range(image.width()) for y in range(image.height()))


def test_the_lab_fits_the_inspect_workspace(qtbot):
    lab = FeaturesLab()
    qtbot.addWidget(lab)
    hint = lab.minimumSizeHint()
    assert hint.width() <= 1000 and hint.height() <= 560, hint
    for page in lab.pages:
        assert page.minimumSizeHint().width() <= 980 and page.minimumSizeHint().height() <= 480
