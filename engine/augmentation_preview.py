"""The augmentation a run will apply, previewed without Keras: what the Train panel's
checkboxes mean, and random shifts, rotations, zooms and flips done with scipy.ndimage the way
the Trainer's Keras layers do them (RandomTranslation/Rotation/Zoom with fill_mode="constant",
RandomFlip("horizontal")). Runs in the GUI process: no Keras, no Qt."""

from __future__ import annotations

import math

import numpy as np

from engine.training.config import Augmentation


def chosen_augmentation(base: Augmentation, moves: bool, flip: bool) -> Augmentation:
    """The augmentation two switches choose: "moves" turns on the base config's shifts,
    rotations and zooms (or the defaults when it has none); "flip" adds horizontal flips."""
    if not moves:
        return Augmentation(flip=flip)
    source = base if (base.translation or base.rotation or base.zoom) else Augmentation.default_on()
    return Augmentation(source.translation, source.rotation, source.zoom, flip)


def augment_images(images: np.ndarray, augmentation: Augmentation,
                   rng: np.random.Generator) -> np.ndarray:
    """float32 (N, H, W, C) images in [0, 1], each randomly changed; same shape out."""
    from scipy import ndimage

    out = np.empty_like(images)
    for index, image in enumerate(images):
        height, width = image.shape[:2]
        angle = rng.uniform(-augmentation.rotation, augmentation.rotation) * 2 * math.pi
        scale = 1.0 + rng.uniform(-augmentation.zoom, augmentation.zoom)  # > 1 zooms out
        shift = np.array([rng.uniform(-augmentation.translation, augmentation.translation) * height,
                          rng.uniform(-augmentation.translation, augmentation.translation) * width])
        cos, sin = math.cos(angle), math.sin(angle)
        matrix = scale * np.array([[cos, -sin], [sin, cos]])  # output -> input coordinates
        centre = np.array([(height - 1) / 2, (width - 1) / 2])
        offset = centre - matrix @ centre - shift
        for channel in range(image.shape[2]):
            out[index, :, :, channel] = ndimage.affine_transform(
                image[:, :, channel], matrix, offset=offset, order=1, mode="constant", cval=0.0)
        if augmentation.flip and rng.random() < 0.5:
            out[index] = out[index, :, ::-1, :]
    return np.clip(out, 0.0, 1.0, out=out)
