"""Small widgets every form uses: editors that never take the mouse wheel, so scrolling a
panel never changes a value under the pointer (the wheel goes to the panel). Not even when
focused: a combo box keeps the focus after a choice, so scrolling on until it passed under
the pointer turned softmax into leaky_relu. Values change by click, keys or typing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox


class WheelScrollsPanel:
    """A mixin, not an event filter: a long-lived Python filter object crashes Qt at exit,
    and filters on widgets being destroyed can crash PySide."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel turn never focuses it

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        event.ignore()  # the scroll area around the form scrolls instead


class SpinBox(WheelScrollsPanel, QSpinBox):
    pass


class DoubleSpinBox(WheelScrollsPanel, QDoubleSpinBox):
    pass


class ComboBox(WheelScrollsPanel, QComboBox):
    pass
