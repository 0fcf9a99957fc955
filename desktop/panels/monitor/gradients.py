"""The Gradients tab: each layer's gradient norm per epoch on a log axis, with a layer list
beside the plot (it never hides a line, scrolls for deep networks, unticking hides one)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QLabel, QListWidget, QListWidgetItem,
                               QSplitter, QVBoxLayout, QWidget)

from desktop.models.run_history import RunHistory
from desktop.panels.monitor.axes import monitor_plot
from desktop.plots import SERIES_COLORS, series_color

EXPLANATION = (
    "Gradient norm of each layer's weights after every epoch (log scale). Vanishing gradients: "
    "early layers far below later ones — they barely learn. Exploding gradients: norms that "
    "keep growing.")


def line_icon(pen: QPen) -> QIcon:
    """A short line with a dot in a curve's pen: a legend sample."""
    pixmap = QPixmap(44, 20)
    pixmap.setDevicePixelRatio(2)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    line_pen = QPen(pen)
    line_pen.setWidthF(2.5)
    painter.setPen(line_pen)
    painter.drawLine(1, 5, 21, 5)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(pen.color())
    painter.drawEllipse(8, 2, 6, 6)
    painter.end()
    return QIcon(pixmap)


class GradientsView(QWidget):
    """A view over a RunHistory's gradient norms."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        self.note = QLabel(EXPLANATION)
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.plot = monitor_plot("Gradient norm per layer", "gradient norm (log)")
        self.plot.setLogMode(y=True)
        self.hint = pg.TextItem("Gradient norms appear after the first epoch.",
                                color=(128, 128, 128), anchor=(0.5, 0.5))
        self.plot.addItem(self.hint, ignoreBounds=True)
        self.hint.setPos(0.5, 0)
        self.legend = QListWidget()
        self.legend.setToolTip("Layers from input to output; untick one to hide its line.")
        self.legend.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.legend.setIconSize(QSize(22, 10))
        self.legend.setMinimumWidth(90)
        self.legend.setMaximumWidth(190)
        self.legend.itemChanged.connect(self._layer_toggled)
        legend_box = QWidget()
        legend_layout = QVBoxLayout(legend_box)
        legend_layout.setContentsMargins(0, 0, 0, 0)
        legend_layout.setSpacing(2)
        legend_layout.addWidget(QLabel("Layers (input → output)"))
        legend_layout.addWidget(self.legend, 1)
        row = QSplitter(Qt.Orientation.Horizontal)
        row.setChildrenCollapsible(False)
        row.addWidget(self.plot)
        row.addWidget(legend_box)
        row.setStretchFactor(0, 1)
        row.setStretchFactor(1, 0)
        row.setSizes([700, 160])
        layout.addWidget(row, 1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._drawn: tuple | None = None  # the history version shown

    def _layer_toggled(self, item: QListWidgetItem) -> None:
        curve = self.curves.get(item.text())
        if curve is not None:
            curve.setVisible(item.checkState() == Qt.CheckState.Checked)

    def clear(self) -> None:
        for curve in self.curves.values():
            self.plot.getPlotItem().removeItem(curve)
        self.curves.clear()
        self.legend.clear()
        self._drawn = None

    def refresh(self, history: RunHistory) -> None:
        """Draw the norms when the epochs changed since the last call."""
        if self._drawn == (history.version, history.total_epochs):
            return
        self._drawn = (history.version, history.total_epochs)
        names = history.gradient_layers()
        if list(self.curves) != names[:len(self.curves)]:
            self.clear()  # the layers changed: start over
            self._drawn = (history.version, history.total_epochs)
        epochs = history.epoch_x()
        # Short epochs measure the norms every few epochs (engine.training.callbacks): leave
        # the epochs without a measurement out, so a line joins the measured ones.
        measured = np.array([bool(r.get("gradient_norms")) for r in history.epochs], dtype=bool)
        for index, name in enumerate(names):
            curve = self.curves.get(name) or self._add_curve(index, name, len(names))
            norms = history.gradient_norms(name)
            norms[~(norms > 0)] = np.nan  # no log of zero
            curve.setData(epochs[measured], norms[measured])
        self.hint.setVisible(not names)
        end = max(history.total_epochs, float(epochs.max()) if epochs.size else 0.0, 1.0)
        if not names:
            self.plot.setXRange(0, end, padding=0.02)
            self.plot.setYRange(-1, 1, padding=0)  # log axis: 0.1 to 10
            self.hint.setPos(end / 2, 0)
        else:
            self.plot.setXRange(0.5, end + 0.5, padding=0.02)
            self.plot.enableAutoRange(axis="y")

    def _add_curve(self, index: int, name: str, count: int) -> pg.PlotDataItem:
        color = series_color(index)
        # Past the palette's ten colours the lines repeat them, dashed.
        style = Qt.PenStyle.SolidLine if index < len(SERIES_COLORS) else Qt.PenStyle.DashLine
        pen = pg.mkPen(color, width=2, style=style)
        curve = self.plot.getPlotItem().plot([], [], pen=pen, symbol="o", symbolSize=5,
                                             symbolBrush=color, symbolPen=None, name=name,
                                             connect="finite")
        self.curves[name] = curve
        entry = QListWidgetItem(line_icon(pen), name)
        entry.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        entry.setCheckState(Qt.CheckState.Checked)
        entry.setToolTip(f"{name}: layer {index + 1} of {count} from the input")
        self.legend.addItem(entry)
        return curve
