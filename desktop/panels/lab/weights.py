"""Tab 5, weights: one histogram per layer's kernel or dense weights (no biases)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QScrollArea, QWidget

from desktop.panels.lab.base import WorkerTab, lab_plot
from desktop.plots import series_color


class WeightsTab(WorkerTab):
    def __init__(self, lab):
        super().__init__(lab)
        # One themed plot per layer in a scrolling grid: deep networks get taller, not squashed.
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.body = QWidget()
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.scroll.setWidget(self.body)
        self.layout_.addWidget(self.scroll, 1)
        self.plots: list[pg.PlotWidget] = []
        self.curves: list[pg.PlotDataItem] = []

    def load(self) -> None:
        self.run("lab_histograms", "Reading the weights…")

    def show_result(self, histograms) -> None:
        self.clear()
        columns = 3 if len(histograms) > 4 else 2
        colour = series_color(0)
        fill = series_color(0)
        fill.setAlpha(110)
        for index, entry in enumerate(histograms):
            plot = lab_plot(f"{entry['layer']}  mean {entry['mean']:+.3f}  std {entry['std']:.3f}",
                            minimum_height=150)
            curve = pg.PlotDataItem(np.asarray(entry["edges"]), np.asarray(entry["counts"]),
                                    stepMode="center", fillLevel=0, brush=pg.mkBrush(fill),
                                    pen=pg.mkPen(colour, width=1.5))
            plot.addItem(curve)
            plot.addLine(x=0, pen=pg.mkPen((128, 128, 128), style=Qt.PenStyle.DotLine))
            self.grid.addWidget(plot, index // columns, index % columns)
            self.plots.append(plot)
            self.curves.append(curve)
        self.status.setText(f"Weight distributions of {len(histograms)} layers (kernels and "
                            "dense weights, no biases).")

    def clear(self) -> None:
        for plot in self.plots:
            self.grid.removeWidget(plot)
            plot.deleteLater()
        self.plots, self.curves = [], []
