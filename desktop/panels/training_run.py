"""The Train panel's run controls: Train, Pause/Continue and Stop, why Train is unavailable,
and the progress of the run (epoch and batch bars, ETA, speed, devices)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from engine.graph.validate import ERROR
from engine.training.progress import format_duration
from desktop.formatting import rate
from desktop.panels.training_widgets import warning_css, wrapping_label

STATES = ("idle", "starting", "training", "paused", "stopping")


class RunControls(QFrame):
    train_clicked = Signal()
    pause_requested = Signal()
    continue_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._state = "idle"
        self._epochs = 0
        self._devices = "?"
        self._samples_per_second = None
        self._eta = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        for button in (self.train_button, self.pause_button, self.stop_button):
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(button)
        self.train_button.clicked.connect(self.train_clicked)
        self.pause_button.clicked.connect(self._pause_clicked)
        self.stop_button.clicked.connect(self.stop_requested)
        layout.addLayout(buttons)
        self.config_error_label = wrapping_label(css=warning_css(ERROR))
        layout.addWidget(self.config_error_label)
        bars = QHBoxLayout()
        self.epoch_bar = QProgressBar()
        self.batch_bar = QProgressBar()
        for bar in (self.epoch_bar, self.batch_bar):
            bar.setTextVisible(True)
            bars.addWidget(bar)
        layout.addLayout(bars)
        self.progress_label = wrapping_label()
        layout.addWidget(self.progress_label)
        self.reset_progress()
        self.show_config_problem("")
        self.set_state("idle")

    @property
    def state(self) -> str:
        return self._state

    def set_state(self, state: str) -> None:
        """idle | starting | training | paused | stopping: what Pause and Stop allow."""
        if state not in STATES:
            raise ValueError(f"Unknown training state {state!r}; expected one of {', '.join(STATES)}.")
        self._state = state
        self.pause_button.setText("Continue" if state == "paused" else "Pause")
        self.pause_button.setEnabled(state in ("training", "paused"))
        self.stop_button.setEnabled(state in ("starting", "training", "paused"))
        self.pause_button.setToolTip("Continue training" if state == "paused" else
                                     "Pause after the current batch")
        self.stop_button.setToolTip("Stop after the current batch; the completed epochs are "
                                    "kept and the run can be resumed")

    def set_train_blocker(self, blocker: str, ready_tooltip: str) -> None:
        """Disable Train with the reason as its tooltip, or enable it ("" blocker)."""
        self.train_button.setEnabled(not blocker)
        self.train_button.setToolTip(blocker or ready_tooltip)

    def show_config_problem(self, text: str) -> None:
        self.config_error_label.setText(text)
        self.config_error_label.setVisible(bool(text))

    def _pause_clicked(self) -> None:
        if self._state == "paused":
            self.continue_requested.emit()
        elif self._state == "training":
            self.pause_requested.emit()

    # -- progress ---------------------------------------------------------------------------------
    def show_progress(self, event: dict) -> None:
        """Follow a training event: started, batch_ended, epoch_ended (others: the outcome)."""
        kind = event.get("type")
        if kind == "started":
            self._epochs = int(event.get("epochs") or 0)
            self._devices = ", ".join(event.get("devices") or []) or "?"
            self._samples_per_second, self._eta = None, None
            self.epoch_bar.setRange(0, max(1, self._epochs))
            self.epoch_bar.setValue(int(event.get("initial_epoch") or 0))
            self.epoch_bar.setFormat("Epoch %v of %m")
            self.batch_bar.setRange(0, max(1, int(event.get("steps_per_epoch") or 1)))
            self.batch_bar.setValue(0)
            self.batch_bar.setFormat("Batch %v of %m")
        elif kind == "batch_ended":
            self.batch_bar.setRange(0, max(1, int(event.get("batches") or 1)))
            self.batch_bar.setValue(int(event.get("batch") or 0))
            self.epoch_bar.setValue(max(0, int(event.get("epoch") or 1) - 1))
            self._samples_per_second = event.get("samples_per_second")
        elif kind == "epoch_ended":
            self._epochs = int(event.get("epochs") or self._epochs)
            self.epoch_bar.setRange(0, max(1, self._epochs))
            self.epoch_bar.setValue(int(event.get("epoch") or 0))
            self.batch_bar.setValue(self.batch_bar.maximum())
            self._eta = event.get("eta")
            if event.get("samples_per_second"):
                self._samples_per_second = event["samples_per_second"]
        elif kind == "finished":
            self.epoch_bar.setValue(self.epoch_bar.maximum())
            accuracy = event.get("test_accuracy")
            self.progress_label.setText("Finished" + (f": test accuracy {100 * accuracy:.2f}%"
                                                      if accuracy is not None else "."))
            return
        elif kind in ("stopped", "failed"):
            self.progress_label.setText(str(event.get("message") or kind.capitalize()))
            return
        else:
            return
        parts = [f"ETA {format_duration(self._eta)}" if self._eta is not None else "ETA ...",
                 f"{rate(self._samples_per_second)} samples/s" if self._samples_per_second
                 else "... samples/s", self._devices]
        self.progress_label.setText(" · ".join(parts))

    def reset_progress(self) -> None:
        for bar, text in ((self.epoch_bar, "Epochs"), (self.batch_bar, "Batches")):
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat(text)
        self.progress_label.setText("Not training")
