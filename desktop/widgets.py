"""Small widgets every form uses: editors that ignore the mouse wheel unless focused, so
scrolling a panel never changes a value under the pointer (the wheel goes to the panel)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox


class WheelNeedsFocus:
    """A mixin, not an event filter: a long-lived Python filter object crashes Qt at exit,
    and filters on widgets being destroyed can crash PySide."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel turn never focuses it

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # the scroll area around it scrolls instead


class SpinBox(WheelNeedsFocus, QSpinBox):
    pass


class DoubleSpinBox(WheelNeedsFocus, QDoubleSpinBox):
    pass


class ComboBox(WheelNeedsFocus, QComboBox):
    pass
