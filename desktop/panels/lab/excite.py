"""Tab 4, what excites a filter: inputs optimised to excite each filter most (activation
maximisation) and Grad-CAM, where in the image the evidence for a class lies."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from desktop.panels.lab.base import WorkerTab
from desktop.panels.lab.images import display_image, heat_overlay, to_pixmap
from desktop.panels.lab.tiles import TileGrid
from desktop.widgets import ComboBox, SpinBox

CAM_SIDE = 180  # px of the input and its heatmap


class ExciteTab(WorkerTab):
    needs_image = True

    def __init__(self, lab):
        super().__init__(lab)
        controls = QHBoxLayout()
        self.layer = ComboBox()
        self.count = SpinBox()
        self.count.setRange(1, 32)
        self.count.setValue(8)
        self.class_combo = ComboBox()
        self.go = QPushButton("Compute")
        for text, widget in (("Conv layer", self.layer), ("First filters", self.count),
                             ("Grad-CAM class", self.class_combo)):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        controls.addWidget(self.go)
        controls.addStretch(1)
        self.layout_.addLayout(controls)
        self.patterns = TileGrid()
        self.cam_input = QLabel()
        self.cam_view = QLabel()
        for view in (self.cam_input, self.cam_view):
            view.setFixedSize(CAM_SIDE, CAM_SIDE)
            view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cam_caption = QLabel("")
        self.cam_caption.setWordWrap(True)
        self.cam_caption.setFixedWidth(2 * CAM_SIDE + 10)
        cam = QVBoxLayout()
        cam_title = QLabel("<b>Grad-CAM: where the class evidence is</b>")
        cam_title.setWordWrap(True)
        cam_title.setFixedWidth(2 * CAM_SIDE + 10)
        cam.addWidget(cam_title)
        pair = QHBoxLayout()
        pair.addWidget(self.cam_input)
        pair.addWidget(self.cam_view)
        cam.addLayout(pair)
        cam.addWidget(self.cam_caption)
        cam.addStretch(1)
        left = QVBoxLayout()
        patterns_title = QLabel("<b>Inputs that excite each filter most (activation "
                                "maximisation)</b>")
        patterns_title.setWordWrap(True)
        left.addWidget(patterns_title)
        left.addWidget(self.patterns, 1)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(cam)
        self.layout_.addLayout(body, 1)
        self.go.clicked.connect(self.load)
        self.heatmap_shown = False

    def key(self):
        return super().key() + (self.layer.currentText(), self.count.value(),
                                self.class_combo.currentIndex())

    def set_layers(self, layers: list[dict], class_names: list[str]) -> None:
        self.layer.clear()
        for layer in layers:
            if "conv" in str(layer.get("type", "")).lower():
                self.layer.addItem(layer["name"], layer["name"])
        self.class_combo.clear()
        self.class_combo.addItem("Predicted class", None)
        for index, name in enumerate(class_names):
            self.class_combo.addItem(str(name), index)

    def load(self) -> None:
        if self.lab.run_dir is None or self.lab.current_image() is None:
            return
        if not self.layer.currentData():
            self.status.setText("This network has no conv layer.")
            return
        self.heatmap_shown = False
        self.cam_input.setPixmap(to_pixmap(display_image(self.lab.current_image()), CAM_SIDE))
        count = self.count.value()
        for layer in self.lab.layers:  # no more filters than the layer has
            if layer["name"] == self.layer.currentData() and layer.get("output_shape"):
                count = min(count, int(layer["output_shape"][-1] or count))
        self.run("lab_excite", "Optimising inputs and computing Grad-CAM (a few seconds)…",
                 layer_name=self.layer.currentData(), filters=list(range(count)),
                 image=self.lab.current_image(), class_index=self.class_combo.currentData())

    def show_result(self, result) -> None:
        patterns = np.asarray(result["patterns"])
        self.patterns.set_images([display_image(p) for p in patterns],
                                 [f"{self.layer.currentData()} #{i}" for i in range(len(patterns))],
                                 fit=(64, 160))
        cam = result["gradcam"]
        image = self.lab.current_image()
        self.cam_view.setPixmap(to_pixmap(heat_overlay(image, cam["heatmap"]), CAM_SIDE, 0.0, 1.0))
        names = self.lab.class_names
        index = int(cam["class_index"])
        probabilities = np.asarray(cam.get("probabilities", []))
        name = names[index] if index < len(names) else str(index)
        predicted = int(np.argmax(probabilities)) if probabilities.size else index
        predicted_name = names[predicted] if predicted < len(names) else str(predicted)
        p = float(probabilities[index]) if probabilities.size > index else float("nan")
        self.cam_caption.setText(f"Class “{name}” (p = {p:.2f}); the network predicts "
                                 f"“{predicted_name}”. Heat from layer {cam.get('layer')}.")
        self.heatmap_shown = True

    def clear(self) -> None:
        self.patterns.set_images([])
        self.cam_input.clear()
        self.cam_view.clear()
        self.cam_caption.setText("")
        self.heatmap_shown = False
