"""Tab 2, hand-crafted vs learned: a classical filter bank (Gabor, Sobel, ...) beside the
learned first-layer kernels matched to it, and both sets' responses to the same image."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter

from desktop.panels.lab.base import WorkerTab, titled
from desktop.panels.lab.images import kernel_tiles
from desktop.panels.lab.tiles import TileGrid


class CompareFiltersTab(WorkerTab):
    needs_image = True

    def __init__(self, lab):
        super().__init__(lab)
        self.bank_grid = TileGrid()
        self.learned_grid = TileGrid()
        self.hand_grid = TileGrid()
        self.maps_grid = TileGrid()
        top = QSplitter()
        top.addWidget(titled("Hand-crafted filter bank", self.bank_grid))
        top.addWidget(titled("Learned first-layer kernels (best match)", self.learned_grid))
        bottom = QSplitter()
        bottom.addWidget(titled("Same image: hand-crafted responses", self.hand_grid))
        bottom.addWidget(titled("Same image: learned feature maps", self.maps_grid))
        both = QSplitter(Qt.Orientation.Vertical)
        both.addWidget(top)
        both.addWidget(bottom)
        for splitter in (top, bottom, both):
            splitter.setChildrenCollapsible(False)
        self.layout_.addWidget(both, 1)
        self.bank = {}
        self.first_layer = None

    @property
    def features(self):
        """engine.features, imported on first use: Keras-free, but SciPy and scikit-image
        take ~0.4 s, which the window's start-up should not pay for a tab not yet opened."""
        from engine import features

        return features

    def load(self) -> None:
        kernels = self.lab.kernels_tab.final_kernels()
        self.first_layer = next(iter(kernels), None)
        kernel = kernels[self.first_layer] if self.first_layer is not None else None
        self.bank = self.features.filter_bank(size=int(kernel.shape[0]) if kernel is not None else 5)
        self.bank_grid.set_images(list(self.bank.values()), list(self.bank), symmetric=True,
                                  fit=(40, 96))
        if kernel is not None:
            matches = self.features.match_kernels(kernel, self.bank)
            captions = [f"#{m['kernel']}: {m['filter']}\nsimilarity {m['similarity']:.2f}"
                        for m in matches]
            self.learned_grid.set_images(kernel_tiles(kernel, "rgb"), captions, symmetric=True,
                                         fit=(40, 96))
        image = self.lab.current_image()
        responses = self.features.handcrafted_responses(image, self.bank)
        self.hand_grid.set_images(list(responses.values()), list(responses), fit=(48, 128))
        layer = self.first_conv_name()
        if layer is None:
            self.status.setText("This network has no conv layer to compare.")
            return
        self.run("lab_feature_maps", f"Computing {layer}'s feature maps…", layer_name=layer,
                 image=image)

    def first_conv_name(self) -> str | None:
        for layer in self.lab.layers:
            if "conv" in str(layer.get("type", "")).lower():
                return layer["name"]
        return self.first_layer

    def show_result(self, maps) -> None:
        maps = np.asarray(maps)
        self.maps_grid.set_images([maps[:, :, i] for i in range(maps.shape[2])],
                                  [f"{self.first_conv_name()} #{i}" for i in range(maps.shape[2])],
                                  fit=(48, 128))

    def clear(self) -> None:
        for grid in (self.bank_grid, self.learned_grid, self.hand_grid, self.maps_grid):
            grid.set_images([])
