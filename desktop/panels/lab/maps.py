"""Tab 3, feature maps: one layer's activations for the chosen image; a click on a map pixel
outlines the input region it sees (its receptive field)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from desktop.panels.lab.base import WorkerTab
from desktop.panels.lab.images import display_image, to_pixmap
from desktop.panels.lab.tiles import MAX_TILES, TileGrid
from desktop.widgets import ComboBox

INPUT_SIDE = 200  # px of the input picture


class FeatureMapsTab(WorkerTab):
    needs_image = True

    def __init__(self, lab):
        super().__init__(lab)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        self.layer = ComboBox()
        self.layer.setMinimumWidth(160)
        controls.addWidget(self.layer)
        hint = QLabel("Click a map pixel to outline its receptive field on the input.")
        hint.setWordWrap(True)
        controls.addWidget(hint, 1)
        self.layout_.addLayout(controls)
        self.input_view = QLabel()
        self.input_view.setFixedSize(INPUT_SIDE, INPUT_SIDE)
        self.input_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.rf_label = QLabel("")
        self.rf_label.setWordWrap(True)
        self.rf_label.setFixedWidth(INPUT_SIDE)
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Input</b>"))
        left.addWidget(self.input_view)
        left.addWidget(self.rf_label)
        left.addStretch(1)
        self.grid = TileGrid()
        self.grid.tile_clicked.connect(self.outline)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.grid, 1)
        self.layout_.addLayout(body, 1)
        self.layer.currentIndexChanged.connect(self._layer_changed)
        self.box = None
        self.wanted_layer: str | None = None  # asked for (show_layer) before the layers came

    def key(self):
        return super().key() + (self.layer.currentText(),)

    def set_layers(self, layers: list[dict]) -> None:
        self.layer.blockSignals(True)
        self.layer.clear()
        for layer in layers:
            shape = layer.get("output_shape") or ()
            if len(shape) == 4 or len(shape) == 3 and layer.get("type") != "InputLayer":
                self.layer.addItem(f"{layer['name']}", layer["name"])
                self.layer.setItemData(self.layer.count() - 1,
                                       f"{layer.get('type')} {tuple(shape)}",
                                       Qt.ItemDataRole.ToolTipRole)
        if self.wanted_layer is not None:
            self.layer.setCurrentIndex(max(0, self.layer.findData(self.wanted_layer)))
            self.wanted_layer = None
        self.layer.blockSignals(False)

    def choose_layer(self, name: str) -> bool:
        """Select the layer (without loading); False when it has no feature maps."""
        index = self.layer.findData(name)
        if index < 0:
            return False
        self.layer.blockSignals(True)
        self.layer.setCurrentIndex(index)
        self.layer.blockSignals(False)
        return True

    def _layer_changed(self) -> None:
        if self.isVisible():
            self.ensure_loaded()

    def load(self) -> None:
        self.box = None
        self.draw_input()
        if not self.layer.currentData():
            self.status.setText("This network has no layer with feature maps.")
            return
        self.run("lab_feature_maps", f"Computing {self.layer.currentData()}'s feature maps…",
                 layer_name=self.layer.currentData(), image=self.lab.current_image())

    def draw_input(self) -> None:
        image = self.lab.current_image()
        if image is None:
            self.input_view.clear()
            return
        pixmap = to_pixmap(display_image(image), INPUT_SIDE)
        if self.box is not None:
            top, left, bottom, right = self.box
            sy, sx = pixmap.height() / image.shape[0], pixmap.width() / image.shape[1]
            painter = QPainter(pixmap)
            painter.setPen(QPen(QColor("#ff3030"), 2))
            painter.drawRect(QRect(int(left * sx), int(top * sy),
                                   max(1, int((right - left + 1) * sx) - 1),
                                   max(1, int((bottom - top + 1) * sy) - 1)))
            painter.end()
        self.input_view.setPixmap(pixmap)

    def outline(self, index: int, row: int, col: int) -> None:
        from engine.inspection import receptive_field_box  # pure; Keras only inside functions
        layer = self.layer.currentData()
        try:
            box = receptive_field_box(self.lab.spec(), layer, row, col)
        except Exception as error:  # noqa: BLE001
            self.rf_label.setText(f"⚠ No receptive field: {error}")
            return
        top, left, bottom, right = (int(v) for v in box)  # bottom/right exclusive
        h, w = self.lab.current_image().shape[:2]
        self.box = (max(top, 0), max(left, 0), min(bottom, h) - 1, min(right, w) - 1)
        self.rf_label.setText(f"{layer} map #{index} at (row {row}, col {col}) sees input rows "
                              f"{top}–{bottom - 1}, cols {left}–{right - 1} "
                              f"({bottom - top}×{right - left} px).")
        self.draw_input()

    def show_result(self, maps) -> None:
        maps = np.asarray(maps)
        if maps.ndim == 2:
            maps = maps[:, :, None]
        count = maps.shape[2]
        self.grid.set_images([maps[:, :, i] for i in range(count)],
                             [f"#{i}" for i in range(count)], fit=(48, 168))
        self.status.setText(f"{self.layer.currentData()}: {count} maps of "
                            f"{maps.shape[0]}×{maps.shape[1]}"
                            + (f" (first {MAX_TILES} shown)" if count > MAX_TILES else ""))

    def clear(self) -> None:
        self.grid.set_images([])
        self.input_view.clear()
        self.rf_label.setText("")
