"""Tab 8, embedding: the test images in 2-D, from hand-crafted features and from a learned
layer, coloured by true class: tighter, separated clusters classify more easily."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout

from desktop.panels.lab.base import WorkerTab, lab_plot
from desktop.plots import add_legend, series_color, style_plot


class EmbeddingTab(WorkerTab):
    def __init__(self, lab):
        super().__init__(lab)
        self.hand = lab_plot("Hand-crafted features (2-D)", minimum_height=220)
        self.learned = lab_plot("Learned features (2-D)", minimum_height=220)
        for plot in (self.hand, self.learned):
            plot.setMinimumWidth(240)
        self.legend = add_legend(self.learned, offset=(-5, 5))
        body = QHBoxLayout()
        body.addWidget(self.hand, 1)
        body.addWidget(self.learned, 1)
        self.layout_.addLayout(body, 1)
        self.scatters: list[pg.ScatterPlotItem] = []

    def load(self) -> None:
        self.run("lab_embedding", "Embedding the test images…")

    def show_result(self, result) -> None:
        self.clear()
        labels = np.asarray(result["labels"]).astype(int)
        names = list(result.get("class_names") or self.lab.class_names)
        for plot, key in ((self.hand, "handcrafted"), (self.learned, "learned")):
            points = np.asarray(result[key])
            for c in np.unique(labels):
                mask = labels == c
                name = names[c] if c < len(names) else str(c)
                scatter = pg.ScatterPlotItem(points[mask, 0], points[mask, 1], size=6,
                                             pen=None, brush=pg.mkBrush(series_color(int(c))),
                                             name=name if plot is self.learned else None)
                plot.addItem(scatter)
                self.scatters.append(scatter)
        self.learned.setTitle(f"Learned features ({result.get('layer', '')}, 2-D)")
        style_plot(self.learned)  # the new title in the theme's colour
        self.status.setText(f"{len(labels)} test images; colour is the true class. Tighter, "
                            "separated clusters mean easier classification.")

    def point_count(self) -> int:
        return sum(len(s.data) for s in self.scatters)

    def clear(self) -> None:
        for plot in (self.hand, self.learned):
            plot.clear()
        self.legend.clear()
        self.scatters = []
