"""Tab 7, shift: how features and the prediction change as the input slides sideways
(translation equivariance of convolutions, invariance after pooling)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout

from desktop.panels.lab.base import WorkerTab, lab_plot
from desktop.panels.lab.images import display_image, to_pixmap
from desktop.plots import add_legend, series_color
from desktop.style import ERROR_COLOR

IMAGE_SIDE = 180  # px of the shifted input


class ShiftTab(WorkerTab):
    needs_image = True
    MAX_SHIFT = 6

    def __init__(self, lab):
        super().__init__(lab)
        row = QHBoxLayout()
        row.addWidget(QLabel("Shift the input right by"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self.MAX_SHIFT)
        self.slider.setMaximumWidth(240)
        self.slider_label = QLabel("0 px")
        self.slider_label.setMinimumWidth(40)
        row.addWidget(self.slider)
        row.addWidget(self.slider_label)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.image_view = QLabel()
        self.image_view.setFixedSize(IMAGE_SIDE, IMAGE_SIDE)
        self.image_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prediction = QLabel("")
        self.prediction.setWordWrap(True)
        self.prediction.setFixedWidth(IMAGE_SIDE)
        left = QVBoxLayout()
        left.addWidget(self.image_view)
        left.addWidget(self.prediction)
        left.addStretch(1)
        self.change_plot = lab_plot("Feature change vs shift", "relative change", "shift (px)")
        self.error_plot = lab_plot("Equivariance error vs shift", "error", "shift (px)")
        for plot in (self.change_plot, self.error_plot):
            add_legend(plot)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.change_plot, 1)
        body.addWidget(self.error_plot, 1)
        self.layout_.addLayout(body, 1)
        self.slider.valueChanged.connect(self.select)
        self.markers: list[pg.InfiniteLine] = []
        self.curves: list[pg.PlotDataItem] = []

    def load(self) -> None:
        self.run("lab_shift", "Shifting the image through the network…",
                 image=self.lab.current_image(), max_shift=self.MAX_SHIFT)

    def show_result(self, result) -> None:
        self.clear()
        shifts = np.asarray(result["shifts"])
        layers = list(result["layers"])
        change = np.asarray(result["change"], dtype=float)
        error = np.asarray(result["equivariance_error"], dtype=float)
        change = change.reshape(len(layers), len(shifts)).T  # (layers, shifts) -> (shifts, layers)
        if error.ndim == 2:
            error = error.reshape(len(layers), len(shifts)).T
        for i, layer in enumerate(layers):
            pen = pg.mkPen(series_color(i), width=2)
            self.curves.append(self.change_plot.plot(shifts, change[:, i], name=layer, pen=pen))
            if error.ndim == 2:
                self.curves.append(self.error_plot.plot(shifts, error[:, i], name=layer, pen=pen))
        if error.ndim == 1:
            self.curves.append(self.error_plot.plot(shifts, error, name="network",
                                                    pen=pg.mkPen(ERROR_COLOR, width=2)))
        for plot in (self.change_plot, self.error_plot):
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen((128, 128, 128), style=Qt.PenStyle.DashLine))
            plot.addItem(line)
            self.markers.append(line)
        self.slider.setRange(int(shifts.min()), int(shifts.max()))
        self.select(self.slider.value())

    def select(self, shift: int) -> None:
        self.slider_label.setText(f"{shift} px")
        for line in self.markers:
            line.setValue(shift)
        image = self.lab.current_image()
        if image is None:
            return
        shifted = np.zeros_like(image)
        shifted[:, shift:] = image[:, : image.shape[1] - shift] if shift else image
        self.image_view.setPixmap(to_pixmap(display_image(shifted), IMAGE_SIDE))
        if self.result is None:
            return
        shifts = list(np.asarray(self.result["shifts"]).tolist())
        if shift not in shifts:
            return
        i = shifts.index(shift)
        probabilities = np.asarray(self.result["probabilities"])[i]
        predicted = int(np.asarray(self.result["predicted"])[i])
        names = self.lab.class_names
        name = names[predicted] if predicted < len(names) else str(predicted)
        self.prediction.setText(f"Shift {shift} px → predicts “{name}” "
                                f"(p = {float(probabilities[predicted]):.2f})")

    def clear(self) -> None:
        for plot in (self.change_plot, self.error_plot):
            plot.clear()
            if plot.plotItem.legend is not None:
                plot.plotItem.legend.clear()
        self.markers, self.curves = [], []
        self.prediction.setText("")
        self.image_view.clear()
