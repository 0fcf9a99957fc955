"""Panels deleted on the GUI thread. Python's cyclic garbage collector runs on whichever
thread allocates, the dataset preview's worker thread included. A Python-owned top-level
widget dropped at the end of a test could be collected, and its Qt object destroyed, there; so
a test file holds every panel it makes (`hold`) and imports the fixture below, which waits for
the preview worker and deletes them here, on the GUI thread."""

import pytest
import shiboken6

_held: list = []


def hold(widget):
    _held.append(widget)
    return widget


@pytest.fixture(autouse=True)
def delete_held_widgets_on_the_gui_thread():
    yield
    from desktop.workers import shared_engine

    shared_engine().wait_for_threads(timeout=60)
    for widget in _held:
        if shiboken6.isValid(widget):
            shiboken6.delete(widget)
    _held.clear()
