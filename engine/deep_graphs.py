"""Room for deep networks: Keras walks a functional model's graph recursively when it builds,
saves and loads it (a few Python frames per layer), so a chain of about 1,000 blocks hit
Python's recursion limit of 1,000. Before such work the limit is raised to fit the depth
(tested to 5,000 blocks; an 8 MB thread stack, the Linux default, holds that).

Not on a separate thread with a bigger stack: Keras keeps the dtype policy and the
distribution strategy per thread, so the work must stay on the caller's."""

from __future__ import annotations

import sys

FRAMES_PER_LAYER = 25
DEEPEST = 5_000  # the deepest graph given room when the depth is not known (a file to load)


def make_room_for(layers: int = DEEPEST) -> None:
    """Raise the recursion limit for a graph `layers` deep. Raised for the process and left
    so: another thread may be deep in such work right now, and a limit only matters where
    recursion really goes that deep."""
    needed = 1000 + FRAMES_PER_LAYER * min(layers, DEEPEST)
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


def load_keras_model(path, **options):
    """keras.saving.load_model with safe_mode=True (nothing is unpickled), the custom layers
    registered, and room for any depth up to DEEPEST."""
    import keras

    import engine.layers  # noqa: F401 - registers the custom layers before loading

    make_room_for(DEEPEST)
    return keras.saving.load_model(path, safe_mode=True, **options)
