"""Tab 1, kernels: a conv layer's filters as images, per epoch ("watch filters form"), live
while training. Pure NumPy on the run's kernel snapshots: no worker needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from desktop.panels.lab.base import EMPTY_HINT, StatusLabel
from desktop.panels.lab.images import kernel_tiles
from desktop.panels.lab.tiles import TileGrid
from desktop.widgets import ComboBox


class KernelsTab(QWidget):
    def __init__(self, lab):
        super().__init__()
        self.lab = lab
        self.epochs: list[int] = []
        self._cache: dict[int, dict[str, np.ndarray]] = {}
        self.status = StatusLabel()
        self.layer = ComboBox()
        self.channel = ComboBox()
        for combo in (self.layer, self.channel):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.shared = QCheckBox("Shared colour scale")
        self.shared.setToolTip("One scale for all kernels (compare strengths) or one per kernel "
                               "(see each one's pattern). Gray is zero.")
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(24, 160)
        self.zoom.setValue(64)
        self.zoom.setMaximumWidth(140)
        self.zoom.setToolTip("Tile size; until you move it the tiles fill the view")
        self.zoom_chosen = False  # the user's size, or tiles that fill the view
        # Any change but the tab's own (made with signals blocked) is the user's size; this
        # runs before the refresh connected below.
        self.zoom.valueChanged.connect(lambda _value: setattr(self, "zoom_chosen", True))
        self.epoch = QSlider(Qt.Orientation.Horizontal)
        self.epoch.setRange(0, 0)
        self.epoch_label = QLabel("Epoch –")
        self.epoch_label.setMinimumWidth(110)
        controls = QHBoxLayout()
        for text, widget in (("Layer", self.layer), ("Inputs", self.channel)):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        controls.addWidget(self.shared)
        controls.addWidget(QLabel("Zoom"))
        controls.addWidget(self.zoom)
        controls.addStretch(1)
        replay = QHBoxLayout()
        replay.addWidget(QLabel("Watch filters form:"))
        replay.addWidget(self.epoch, 1)
        replay.addWidget(self.epoch_label)
        self.grid = TileGrid()
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(controls)
        layout.addLayout(replay)
        layout.addWidget(self.grid, 1)
        self.layer.currentIndexChanged.connect(self._layer_changed)
        for signal in (self.channel.currentIndexChanged, self.shared.toggled,
                       self.zoom.valueChanged, self.epoch.valueChanged):
            signal.connect(self.refresh)

    def set_epochs(self, epochs: list[int], cache: dict | None = None, follow: bool = False):
        at_end = self.epoch.value() >= self.epoch.maximum()
        self.epochs = sorted(epochs)
        if cache is not None:
            self._cache = cache
        self.epoch.blockSignals(True)
        self.epoch.setRange(0, max(0, len(self.epochs) - 1))
        if follow or at_end:
            self.epoch.setValue(self.epoch.maximum())
        self.epoch.blockSignals(False)
        names = list(self.current_kernels())
        if names != [self.layer.itemText(i) for i in range(self.layer.count())]:
            previous = self.layer.currentText()
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(names)
            if previous in names:
                self.layer.setCurrentText(previous)
            self.layer.blockSignals(False)
            self._layer_changed()
        else:
            self.refresh()

    def load_run(self, run_dir: str | None) -> None:
        self._cache = {}
        epochs = []
        if run_dir:
            for path in sorted((Path(run_dir) / "kernels").glob("epoch-*.npz")):
                try:
                    epochs.append(int(path.stem.split("-")[1]))
                except ValueError:
                    continue
        self.set_epochs(epochs, follow=True)

    def final_kernels(self) -> dict[str, np.ndarray]:
        """The last epoch's kernels, whatever epoch the replay shows."""
        if not self.epochs:
            return {}
        return self._cache.get(self.epochs[-1]) or self.current_kernels()

    def current_kernels(self) -> dict[str, np.ndarray]:
        if not self.epochs:
            return {}
        epoch = self.epochs[min(self.epoch.value(), len(self.epochs) - 1)]
        if epoch not in self._cache and self.lab.run_dir:
            from engine.training.runs import RunFolder  # Keras-free
            try:
                self._cache[epoch] = RunFolder(Path(self.lab.run_dir)).kernels(epoch)
            except Exception as error:  # noqa: BLE001 - a damaged or missing snapshot
                self.status.setText(f"⚠ Cannot read the kernels of epoch {epoch}: {error}")
                return {}
        return self._cache.get(epoch, {})

    def _layer_changed(self) -> None:
        kernel = self.current_kernels().get(self.layer.currentText())
        self.channel.blockSignals(True)
        previous = self.channel.currentData()
        self.channel.clear()
        if kernel is not None:
            inputs = kernel.shape[2]
            if inputs == 3:
                self.channel.addItem("RGB", "rgb")
            self.channel.addItem("Mean over inputs", "mean")
            for i in range(inputs):
                self.channel.addItem(f"Input {i}", str(i))
            self.channel.setCurrentIndex(max(self.channel.findData(previous), 0))
        self.channel.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        if not self.epochs:
            self.grid.set_images([])
            self.epoch_label.setText("Epoch –")
            self.status.setText(EMPTY_HINT if self.lab.run_dir is None else
                                "This run saved no kernel snapshots (it has no conv layers?).")
            return
        epoch = self.epochs[min(self.epoch.value(), len(self.epochs) - 1)]
        # Epoch 0 holds the kernels a run started with: an imported model's.
        self.epoch_label.setText("As imported" if epoch == 0 else f"Epoch {epoch} of {self.epochs[-1]}")
        kernel = self.current_kernels().get(self.layer.currentText())
        if kernel is None:
            self.grid.set_images([])
            return
        kh, kw, inputs, outputs = kernel.shape
        live = " (live, training)" if self.lab.live else ""
        self.status.setText(f"{self.layer.currentText()}: {outputs} filters of {kh}×{kw}×{inputs}"
                            f"{live}. Gray is zero, light positive, dark negative.")
        tiles = kernel_tiles(kernel, self.channel.currentData() or "mean")
        fit = None if self.zoom_chosen else (self.zoom.minimum(), self.zoom.maximum())
        self.grid.set_images(tiles, [f"#{i}" for i in range(len(tiles))], self.zoom.value(),
                             shared=self.shared.isChecked(), symmetric=True, fit=fit)
        if fit:  # the slider shows the size the tiles got
            self.zoom.blockSignals(True)
            self.zoom.setValue(self.grid.tile_size)
            self.zoom.blockSignals(False)
