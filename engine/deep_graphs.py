"""Room for deep networks: Keras walks a functional model's graph recursively when it builds,
saves and loads it (a few Python frames per layer), so a chain of about 1,000 blocks hit
Python's recursion limit of 1,000. For the length of such work the limit is raised to fit the
depth (tested to 5,000 blocks; an 8 MB thread stack, the Linux default, holds that), then put
back: a high limit everywhere would turn other runaway recursion (a project file nested
100,000 deep, parsed in C) into a crash instead of a RecursionError.

Not on a separate thread with a bigger stack: Keras keeps the dtype policy and the
distribution strategy per thread, so the work must stay on the caller's."""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

FRAMES_PER_LAYER = 25
DEEPEST = 5_000  # the deepest graph given room when the depth is not known (a file to load)

_lock = threading.Lock()
_holders = [0, sys.getrecursionlimit()]  # how many are inside, the limit to put back


@contextmanager
def room_for(layers: int = DEEPEST):
    """Inside: a recursion limit that fits a graph `layers` deep (overlapping uses share it;
    the last one out puts the old limit back)."""
    needed = 1000 + FRAMES_PER_LAYER * min(layers, DEEPEST)
    with _lock:
        if _holders[0] == 0:
            _holders[1] = sys.getrecursionlimit()
        _holders[0] += 1
        if sys.getrecursionlimit() < needed:
            sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        with _lock:
            _holders[0] -= 1
            if _holders[0] == 0:
                sys.setrecursionlimit(_holders[1])


def load_keras_model(path, **options):
    """keras.saving.load_model with safe_mode=True (nothing is unpickled), the custom layers
    registered, and room for any depth up to DEEPEST."""
    import keras

    import engine.layers  # noqa: F401 - registers the custom layers before loading

    with room_for(DEEPEST):
        return keras.saving.load_model(path, safe_mode=True, **options)
