"""What the Train panel shows of a dataset before training: sample images per class, class
counts and split sizes. Plain NumPy: it runs on a thread of the GUI process (no Keras)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.datasets import DatasetSplits, load_dataset

PREVIEW_COUNT = 24
PREVIEW_MAX_SIDE = 96      # larger images are subsampled to about this before augmenting


@dataclass(frozen=True, eq=False)  # eq=False: NumPy arrays have no single truth value
class DatasetPreview:
    """What the panel shows of a loaded dataset (the splits themselves are not kept)."""

    name: str
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]
    sizes: dict
    class_counts: dict          # class name -> images over all splits
    images: np.ndarray          # up to PREVIEW_COUNT training images, float32 (N, h, w, C)
    labels: np.ndarray

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def sample_indices(labels: np.ndarray, count: int) -> list[int]:
    """Indices of `count` images taken round-robin over the classes, so each class shows."""
    by_class = [np.flatnonzero(labels == label).tolist() for label in np.unique(labels)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < min(count, len(labels)):
        for indices in by_class:
            if depth < len(indices) and len(chosen) < count:
                chosen.append(indices[depth])
        depth += 1
    return chosen


def make_preview(splits: DatasetSplits) -> DatasetPreview:
    chosen = sample_indices(splits.y_train, PREVIEW_COUNT)
    images = splits.x_train[chosen]
    step = max(1, math.ceil(max(images.shape[1:3], default=1) / PREVIEW_MAX_SIDE))
    images = np.ascontiguousarray(images[:, ::step, ::step, :], dtype=np.float32)
    all_labels = np.concatenate([splits.y_train, splits.y_val, splits.y_test])
    counts = np.bincount(all_labels, minlength=splits.num_classes)
    return DatasetPreview(splits.name, splits.class_names, splits.input_shape, splits.sizes,
                          {name: int(count) for name, count in zip(splits.class_names, counts)},
                          images, splits.y_train[chosen])


def load_preview(name: str, options: dict) -> DatasetPreview:
    """Load a dataset and keep its preview. ProjectError for the user's mistakes."""
    return make_preview(load_dataset(name, **options))
