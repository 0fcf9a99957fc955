"""The Results tab: test metrics, per-class accuracy bars, and the confusion browser."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from desktop.formatting import MISSING, finite, metric, percent, rate
from desktop.panels.monitor.axes import LEFT_AXIS_WIDTH, monitor_plot
from desktop.panels.monitor.confusion import ConfusionBrowser, class_name, class_names_of
from desktop.style import CATEGORY_COLORS
from engine.training.progress import format_duration

BAR_COLOR = CATEGORY_COLORS["Convolution"]
CARDS = (("test_accuracy", "test accuracy"), ("test_loss", "test loss"),
         ("best_val_accuracy", "best val accuracy"), ("training_time", "training time"),
         ("samples_per_second", "samples / s"))


class ResultsView(QStackedWidget):
    """A hint until a run finishes, then its test results."""

    cell_selected = Signal(int, int)  # (true class, predicted class) of a clicked cell

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.results: dict | None = None
        self.hint = QLabel("Test results appear here when training finishes.")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.addWidget(self.hint)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(self._build_cards())

        self.class_plot = monitor_plot("Per-class test accuracy (%)", "%", None, x_axis=False)
        self.class_plot.setMinimumSize(120, 80)
        self.class_plot.setMouseEnabled(x=False, y=False)
        self.class_bars = pg.BarGraphItem(x=[], height=[], width=0.65, brush=BAR_COLOR, pen=None)
        self.class_plot.addItem(self.class_bars)
        self.class_bar_labels: list[pg.TextItem] = []
        self.class_plot.installEventFilter(self)

        # Per-class bars across the full width (room for class names under them), then the
        # confusion matrix beside the gallery of the clicked cell.
        self.confusion = ConfusionBrowser()
        self.confusion.cell_selected.connect(self.cell_selected)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.class_plot)
        split.addWidget(self.confusion)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        split.setSizes([150, 330])
        layout.addWidget(split, 1)
        self.addWidget(page)

    def _build_cards(self) -> QHBoxLayout:
        cards = QHBoxLayout()
        cards.setSpacing(6)
        self.result_labels: dict[str, QLabel] = {}
        for key, caption in CARDS:
            card = QFrame()
            card.setFrameShape(QFrame.Shape.StyledPanel)
            box = QVBoxLayout(card)
            box.setContentsMargins(6, 2, 6, 2)
            box.setSpacing(0)
            value = QLabel(MISSING)
            font = value.font()
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() * 1.25)
            value.setFont(font)
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label = QLabel(caption)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            box.addWidget(value)
            box.addWidget(label)
            cards.addWidget(card, 1)
            self.result_labels[key] = value
        return cards

    # -- contents -------------------------------------------------------------------------------
    def clear(self) -> None:
        self.results = None
        self.setCurrentIndex(0)
        for label in self.result_labels.values():
            label.setText(MISSING)
        self.class_bars.setOpts(x=[], height=[])
        for text in self.class_bar_labels:
            self.class_plot.removeItem(text)
        self.class_bar_labels = []
        self.confusion.clear()

    def show_results(self, metrics: dict, examples: dict | None) -> None:
        self.clear()
        self.results = metrics
        labels = self.result_labels
        labels["test_accuracy"].setText(percent(metrics.get("test_accuracy")))
        labels["test_loss"].setText(metric(metrics.get("test_loss")))
        best = percent(metrics.get("best_val_accuracy"))
        labels["best_val_accuracy"].setText(
            best + (f" (ep. {metrics['best_epoch']})" if metrics.get("best_epoch") else ""))
        labels["training_time"].setText(format_duration(metrics.get("training_time"))
                                        if metrics.get("training_time") is not None else MISSING)
        labels["samples_per_second"].setText(rate(metrics.get("samples_per_second")))
        self._draw_bars(metrics.get("per_class_accuracy") or [])
        self.confusion.show_results(metrics, examples)
        self.setCurrentIndex(1)

    def _draw_bars(self, per_class: list) -> None:
        heights = np.array([finite(v) * 100 for v in per_class])
        shown = np.nan_to_num(heights, nan=0.0)
        count = len(per_class)
        if count:
            self.class_bars.setOpts(x=np.arange(count), height=shown, width=0.65)
        if count <= 40:
            color = self.palette().color(QPalette.ColorRole.WindowText)
            for k in range(count):
                text = pg.TextItem(MISSING if math.isnan(heights[k]) else f"{heights[k]:.0f}",
                                   color=color, anchor=(0.5, 1.0))
                text.setPos(k, shown[k])
                self.class_plot.addItem(text)
                self.class_bar_labels.append(text)
        self.class_plot.setXRange(-0.6, max(count, 1) - 0.4, padding=0)
        self.class_plot.setYRange(0, 112, padding=0)  # room for the value above a 100% bar
        self._fit_class_labels()

    def _fit_class_labels(self) -> None:
        """Class names under the bars, shortened to the room each bar has; the values above
        the bars only where they fit."""
        names = class_names_of(self.results or {})
        count = len((self.results or {}).get("per_class_accuracy") or [])
        width = self.class_plot.width() - LEFT_AXIS_WIDTH - 20  # the view box lags a resize
        per_bar = width / max(count, 1)
        metrics = self.class_plot.fontMetrics()
        chars = max(2, int(per_bar / max(metrics.averageCharWidth(), 1)) - 1)
        labels = [class_name(names, k) for k in range(count)]
        labels = [name if len(name) <= chars else name[:max(chars - 1, 1)] + "…" for name in labels]
        self.class_plot.getPlotItem().getAxis("bottom").setTicks([list(enumerate(labels))])
        height = self.class_plot.height()
        fits = height >= 130 and per_bar >= metrics.horizontalAdvance("100") + 4
        for text in self.class_bar_labels:
            text.setVisible(fits)
        step = 20 if height >= 220 else 50
        self.class_plot.getPlotItem().getAxis("left").setTicks(
            [[(v, str(v)) for v in range(0, 101, step)], [(v, "") for v in range(10, 100, 20)]])

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Resize and watched is self.class_plot and self.results:
            self._fit_class_labels()
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            color = self.palette().color(QPalette.ColorRole.WindowText)
            for text in self.class_bar_labels:
                text.setColor(color)
            self.confusion.fill()
