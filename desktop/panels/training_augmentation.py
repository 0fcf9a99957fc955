"""The Train panel's augmentation box: two switches and the first preview images as the
network may see them in one epoch (the maths is engine.augmentation_preview's)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QCheckBox, QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from engine.augmentation_preview import augment_images, chosen_augmentation
from engine.dataset_preview import DatasetPreview
from engine.training.config import Augmentation
from desktop.panels.training_widgets import ImageGrid, tile_image, wrapping_label

AUGMENTED_COUNT = 12       # the first preview images, randomly changed
AUGMENTED_TILE_SIDE = 32   # small enough for all of them in one row of a 560 px column


class AugmentationBox(QGroupBox):
    changed = Signal()  # a switch was turned

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Augmentation", parent)
        self._base = Augmentation()  # the config's moves, used when "moves" is switched on
        self._preview: DatasetPreview | None = None
        self._previewable = False
        self._seed = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(4)
        self.augment_check = QCheckBox("Shifts, rotations, zooms")
        self.augment_check.setToolTip("Random shifts, rotations and zooms: each epoch sees "
                                      "slightly moved, turned and scaled copies of the training "
                                      "images, so the network overfits less.")
        self.flip_check = QCheckBox("Horizontal flips")
        self.flip_check.setToolTip("Random horizontal flips. Not for digits or letters: "
                                   "mirrored, they change meaning.")
        self.reroll_button = QPushButton("Reroll")
        self.reroll_button.setToolTip("Show other random changes")
        self.reroll_button.clicked.connect(self.reroll)
        policy = self.reroll_button.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the switches' row keeps its height
        self.reroll_button.setSizePolicy(policy)
        switches = QHBoxLayout()
        switches.addWidget(self.augment_check)
        switches.addWidget(self.flip_check)
        switches.addStretch(1)
        switches.addWidget(self.reroll_button)
        layout.addLayout(switches)
        self.augment_hint = wrapping_label()
        self.augment_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self.augment_hint)
        self.augmented_grid = ImageGrid(tile_side=AUGMENTED_TILE_SIDE, max_rows=1,
                                        show_captions=False)  # the same as the preview's first row
        layout.addWidget(self.augmented_grid)
        self.augment_check.toggled.connect(self._switched)
        self.flip_check.toggled.connect(self._switched)
        self._update()

    def augmentation(self) -> Augmentation:
        return chosen_augmentation(self._base, self.augment_check.isChecked(),
                                   self.flip_check.isChecked())

    def set_augmentation(self, augmentation: Augmentation) -> None:
        """Show a config's augmentation; its moves are what the switch turns on later."""
        self._base = augmentation
        self.augment_check.setChecked(bool(augmentation.translation or augmentation.rotation
                                           or augmentation.zoom))
        self.flip_check.setChecked(augmentation.flip)

    def set_preview(self, preview: DatasetPreview | None, previewable: bool) -> None:
        self._preview, self._previewable = preview, previewable
        self._update()

    def set_editable(self, editable: bool) -> None:
        self.augment_check.setEnabled(editable)
        self.flip_check.setEnabled(editable)

    def reroll(self) -> None:
        self._seed += 1
        self._update()

    def _switched(self) -> None:
        self._update()
        self.changed.emit()

    def _update(self) -> None:
        augmentation, preview = self.augmentation(), self._preview
        tiles = []
        if not augmentation.enabled:
            hint = "Off: the network sees the images exactly as they are."
        elif preview is None:
            hint = ("The changed images appear here once the dataset is loaded."
                    if self._previewable else "No preview of the changes for this dataset.")
        else:
            hint = "The first images as the network may see them in one epoch:"
            rng = np.random.default_rng(self._seed)
            augmented = augment_images(preview.images[:AUGMENTED_COUNT], augmentation, rng)
            names = preview.class_names
            tiles = [(tile_image(image, AUGMENTED_TILE_SIDE), names[label],
                      f"{names[label]}, randomly changed")
                     for image, label in zip(augmented, preview.labels)]
        self.augment_hint.setText(hint)
        self.augmented_grid.set_tiles(tiles)
        self.augmented_grid.setVisible(bool(tiles))
        self.reroll_button.setVisible(bool(tiles))
