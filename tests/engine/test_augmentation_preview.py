"""The augmentation preview's maths: Keras-free, like the GUI process that runs it."""

import subprocess
import sys

import numpy as np

from engine.augmentation_preview import augment_images, chosen_augmentation
from engine.training.config import Augmentation


def images(count=6, side=12, channels=1):
    rng = np.random.default_rng(0)
    return rng.random((count, side, side, channels), dtype=np.float32)


def test_augmented_images_keep_shape_type_and_range():
    original = images(channels=3)
    augmented = augment_images(original, Augmentation.default_on(), np.random.default_rng(1))
    assert augmented.shape == original.shape and augmented.dtype == np.float32
    assert not np.allclose(augmented, original)
    assert 0.0 <= augmented.min() and augmented.max() <= 1.0


def test_no_moves_leave_the_images_alone_and_flips_mirror_them():
    original = images()
    assert np.allclose(augment_images(original, Augmentation(), np.random.default_rng(0)), original)
    flipped = augment_images(original, Augmentation(flip=True), np.random.default_rng(3))
    for before, after in zip(original, flipped):
        assert np.allclose(after, before) or np.allclose(after, before[:, ::-1])
    assert not np.allclose(flipped, original)  # six coin tosses, at least one flip (seed 3)


def test_the_same_seed_gives_the_same_changes():
    original = images()
    first = augment_images(original, Augmentation.default_on(), np.random.default_rng(5))
    again = augment_images(original, Augmentation.default_on(), np.random.default_rng(5))
    assert np.array_equal(first, again)


def test_what_the_switches_choose():
    base = Augmentation(translation=0.2, rotation=0.1, zoom=0.0)
    assert chosen_augmentation(base, moves=True, flip=False) == base
    assert chosen_augmentation(Augmentation(), moves=True, flip=True) == Augmentation(
        **{**Augmentation.default_on().__dict__, "flip": True})
    assert chosen_augmentation(base, moves=False, flip=True) == Augmentation(flip=True)
    assert not chosen_augmentation(base, moves=False, flip=False).enabled


def test_the_module_imports_neither_keras_nor_qt():
    code = ("import sys, engine.augmentation_preview, engine.training.compatibility;"
            "bad = [m for m in ('keras', 'tensorflow', 'PySide6') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
