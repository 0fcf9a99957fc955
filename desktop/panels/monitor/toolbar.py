"""The row of curve controls above the Monitor's plots, TensorBoard's habits: smoothing,
a log loss axis, the x axis (step / epoch / wall-clock), export and "Open in TensorBoard"."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QMenu, QSlider, QToolButton,
                               QWidget)

from desktop.models.run_history import EPOCH, STEP, TIME
from desktop.panels.monitor.tensorboard import TensorBoardButton
from desktop.widgets import ComboBox

X_AXIS_CHOICES = ((STEP, "Step"), (EPOCH, "Epoch"), (TIME, "Time"))
MAX_SMOOTHING = 99  # the slider in hundredths: 0 .. 0.99, as TensorBoard's


class CurveToolbar(QWidget):
    smoothing_changed = Signal(float)
    log_loss_toggled = Signal(bool)
    x_axis_changed = Signal(str)
    export_csv_requested = Signal()
    export_png_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        smoothing_tip = ("TensorBoard's smoothing (a debiased exponential moving average) of the "
                         "per-batch curves, or of the per-epoch ones when a run has no per-batch "
                         "points; the raw curve stays faint behind. 0 = off.")
        caption = QLabel("Smoothing")
        caption.setToolTip(smoothing_tip)
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, MAX_SMOOTHING)
        self.smoothing_slider.setMinimumWidth(60)
        self.smoothing_slider.setMaximumWidth(160)
        self.smoothing_slider.setToolTip(smoothing_tip)
        self.smoothing_value = QLabel()
        self.smoothing_value.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.00") + 2)
        self.smoothing_slider.valueChanged.connect(self._smoothing_moved)

        self.log_check = QCheckBox("Log loss")
        self.log_check.setToolTip("A logarithmic loss axis: late, small improvements stay visible")
        self.log_check.toggled.connect(self.log_loss_toggled)

        self.x_axis_combo = ComboBox()
        for key, text in X_AXIS_CHOICES:
            self.x_axis_combo.addItem(text, key)
        self.x_axis_combo.setCurrentIndex(1)
        self.x_axis_combo.setToolTip("Horizontal axis: global training step, epoch, or time "
                                     "since the run started")
        self.x_axis_combo.currentIndexChanged.connect(
            lambda _: self.x_axis_changed.emit(self.x_axis_combo.currentData()))
        x_caption = QLabel("x:")
        x_caption.setBuddy(self.x_axis_combo)

        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        menu = QMenu(self.export_button)
        self.export_csv_action = menu.addAction("Export CSV…")
        self.export_csv_action.setToolTip("Every curve as a table, one row per step or epoch")
        self.export_png_action = menu.addAction("Export PNG…")
        self.export_png_action.setToolTip("The plots as an image")
        self.export_csv_action.triggered.connect(self.export_csv_requested)
        self.export_png_action.triggered.connect(self.export_png_requested)
        self.export_button.setMenu(menu)
        self.tensorboard_button = TensorBoardButton()

        for widget in (caption, self.smoothing_slider, self.smoothing_value):
            layout.addWidget(widget)
        layout.addSpacing(4)
        layout.addWidget(self.log_check)
        layout.addSpacing(4)
        layout.addWidget(x_caption)
        layout.addWidget(self.x_axis_combo)
        layout.addStretch(1)
        layout.addWidget(self.export_button)
        layout.addWidget(self.tensorboard_button)
        self._smoothing_moved(0)

    def _smoothing_moved(self, value: int) -> None:
        self.smoothing_value.setText(f"{value / 100:.2f}")
        self.smoothing_changed.emit(value / 100)

    def smoothing(self) -> float:
        return self.smoothing_slider.value() / 100

    def set_smoothing(self, weight: float) -> None:
        self.smoothing_slider.setValue(round(min(max(weight, 0.0), 0.99) * 100))

    def x_axis(self) -> str:
        return self.x_axis_combo.currentData()

    def set_x_axis(self, axis: str) -> None:
        self.x_axis_combo.setCurrentIndex(self.x_axis_combo.findData(axis))
