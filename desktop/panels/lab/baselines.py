"""Tab 6, baselines & probes: classical classifiers on hand-crafted features against the CNN,
and linear probes on each layer (how separable the classes are at each depth)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem)

from desktop.formatting import percent
from desktop.panels.lab.base import EMPTY_HINT, WorkerTab, lab_plot
from desktop.plots import series_color, tick_font

BASELINE_COLOR, CNN_COLOR = "#7A7A7A", "#2F6FB5"


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BaselinesTab(WorkerTab):
    def __init__(self, lab):
        super().__init__(lab)
        self.compare = QPushButton("Compare with hand-crafted features")
        row = QHBoxLayout()
        row.addWidget(self.compare)
        explanation = QLabel("Trains classical classifiers on hand-crafted features and linear "
                             "probes on each layer (takes several seconds).")
        explanation.setWordWrap(True)
        row.addWidget(explanation, 1)
        self.layout_.insertLayout(0, row)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Method", "Features", "Test accuracy", "Time"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(90)
        self.table.setMaximumHeight(190)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.bars = lab_plot("Test accuracy", "accuracy")
        self.probes = lab_plot("Linear probe accuracy vs depth", "accuracy", "layer")
        for plot in (self.bars, self.probes):
            plot.getAxis("bottom").setStyle(tickFont=tick_font(plot))
        plots = QHBoxLayout()
        plots.addWidget(self.bars, 1)
        plots.addWidget(self.probes, 1)
        self.layout_.addWidget(self.table)
        self.layout_.addLayout(plots, 1)
        self.compare.clicked.connect(self.load)
        self.probe_curve = None

    def ensure_loaded(self) -> None:  # expensive: only on request
        if self.lab.run_dir is None:
            self.clear()
            self.status.setText(EMPTY_HINT)
        elif self.loaded_key != self.key() and not self.task.is_running():
            self.status.setText("Press Compare to train the baselines and probes for this run.")

    def load(self) -> None:
        if self.lab.run_dir is None:
            return
        self.compare.setEnabled(False)
        self.run("lab_compare", "Training baselines and linear probes… (several seconds)")

    def _finished(self, result) -> None:
        self.compare.setEnabled(True)
        super()._finished(result)

    def _failed(self, message: str) -> None:
        self.compare.setEnabled(True)
        super()._failed(message)

    def show_result(self, result) -> None:
        self.clear()
        rows = [(b["name"], str(b.get("features", "")), b.get("test_accuracy"),
                 b.get("train_time")) for b in result.get("baselines", [])]
        cnn = result.get("cnn") or {}
        rows.append(("CNN (this run)", "learned", cnn.get("test_accuracy"),
                     cnn.get("training_time")))
        self.table.setRowCount(len(rows))
        for r, (name, feats, acc, seconds) in enumerate(rows):
            values = [name, feats, percent(acc), "–" if seconds is None else f"{seconds:.1f} s"]
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        heights = [float(acc or 0) for _, _, acc, _ in rows]
        colours = [BASELINE_COLOR] * (len(rows) - 1) + [CNN_COLOR]
        self.bars.addItem(pg.BarGraphItem(x=np.arange(len(rows)), height=heights, width=0.6,
                                          brushes=colours, pen=None))
        ticks = [_short(r[1] or r[0]) for r in rows[:-1]] + ["CNN"]  # full names in the table
        self.bars.getAxis("bottom").setTicks([list(enumerate(ticks))])
        self.bars.setYRange(0, 1.05)
        probes = result.get("probes", [])
        if probes:
            x = np.arange(len(probes))
            colour = series_color(1)
            self.probe_curve = self.probes.plot(x, [p["accuracy"] for p in probes],
                                                pen=pg.mkPen(colour, width=2), symbol="o",
                                                symbolBrush=colour, symbolPen=None, symbolSize=7)
            self.probes.getAxis("bottom").setTicks([[(i, p["layer"]) for i, p in enumerate(probes)]])
            self.probes.setYRange(0, 1.05)
        self.status.setText(f"{len(rows) - 1} hand-crafted baselines vs the CNN; "
                            f"{len(probes)} linear probes.")

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.bars.clear()
        self.probes.clear()
        self.probe_curve = None
