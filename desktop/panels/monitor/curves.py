"""The Curves tab: loss and accuracy (per batch and per epoch) and the learning rate, a view
over a RunHistory, with TensorBoard's habits in the toolbar above (smoothing, log loss axis,
step / epoch / time x axis, CSV and PNG export (curve_export.py), "Open in TensorBoard")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from desktop.models.run_history import EPOCH, RunHistory, smooth
from desktop.panels.monitor.axes import X_LABELS, monitor_plot
from desktop.panels.monitor.curve_export import (CurveExportDialogs, write_curves_csv,
                                                 write_widget_png)
from desktop.panels.monitor.readout import curve_key_html, readout_text
from desktop.panels.monitor.toolbar import CurveToolbar
from desktop.plots import add_legend, style_plot
from desktop.style import CATEGORY_COLORS, ERROR_COLOR

TRAIN_COLOR = CATEGORY_COLORS["Convolution"]        # blue
VAL_COLOR = CATEGORY_COLORS["Merge"]                # orange
LR_COLOR = CATEGORY_COLORS["Pooling"]               # purple
BEST_COLOR = CATEGORY_COLORS["Input/Output"]        # green
LEGEND_MIN_SIZE = (360, 250)   # plots smaller than this show the curve key beside them instead
MAX_EPOCH_MARKERS = 60         # more epochs than this: per-epoch lines without markers
SMOOTHED = ("batch_loss", "batch_accuracy", "train_loss", "val_loss", "train_accuracy",
            "val_accuracy")
EPOCH_SERIES = {"train_loss": ("loss", 1.0, "o"), "val_loss": ("val_loss", 1.0, "s"),
                "train_accuracy": ("accuracy", 100.0, "o"),
                "val_accuracy": ("val_accuracy", 100.0, "s"), "learning_rate": ("learning_rate", 1.0, "o")}


def _faint(color: str, alpha: int) -> QColor:
    faint = QColor(color)
    faint.setAlpha(alpha)
    return faint


def _kind_curves(kind: str, item: pg.PlotItem) -> tuple[dict, dict]:
    """The loss or accuracy plot's curves: per batch, train and validation per epoch, and a
    faint raw copy of each to show behind it while smoothing is on. (curves, raw curves)"""
    # Per-batch points: thousands of them, drawn decimated and clipped to the view.
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    raw_curves = {}
    for name, color, alpha in ((f"batch_{kind}", TRAIN_COLOR, 50),
                               (f"train_{kind}", TRAIN_COLOR, 70), (f"val_{kind}", VAL_COLOR, 70)):
        raw_curves[name] = item.plot([], [], pen=pg.mkPen(_faint(color, alpha), width=1),
                                     connect="finite")
        raw_curves[name].setVisible(False)
    curves = {}
    curves[f"batch_{kind}"] = item.plot([], [], pen=pg.mkPen(_faint(TRAIN_COLOR, 120), width=1),
                                        name="train (per batch)", connect="finite")
    curves[f"train_{kind}"] = item.plot(
        [], [], pen=pg.mkPen(TRAIN_COLOR, width=2.5), symbol="o", symbolSize=6,
        symbolBrush=TRAIN_COLOR, symbolPen=None, name="train (per epoch)", connect="finite")
    curves[f"val_{kind}"] = item.plot(
        [], [], pen=pg.mkPen(VAL_COLOR, width=2.5, style=Qt.PenStyle.DashLine), symbol="s",
        symbolSize=6, symbolBrush=VAL_COLOR, symbolPen=None, name="validation", connect="finite")
    return curves, raw_curves


def _vertical_line(plot: pg.PlotWidget, pen, z: float | None = None) -> pg.InfiniteLine:
    """A fixed vertical line on the plot that does not widen its auto range."""
    line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
    if z is not None:
        line.setZValue(z)
    plot.addItem(line, ignoreBounds=True)
    return line


class CurvesView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = RunHistory()
        self.smoothing = 0.0
        self.x_axis = EPOCH
        self._x_auto = True
        self._hover_x: float | None = None
        self._drawn: tuple | None = None  # what the per-epoch curves show (redraw on change)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        self.toolbar = CurveToolbar()
        self.toolbar.smoothing_changed.connect(self.set_smoothing)
        self.toolbar.log_loss_toggled.connect(self.set_log_loss)
        self.toolbar.x_axis_changed.connect(self.set_x_axis)
        self.export_dialogs = CurveExportDialogs(self)
        self.toolbar.export_csv_requested.connect(self.export_dialogs.ask_csv)
        self.toolbar.export_png_requested.connect(self.export_dialogs.ask_png)
        self.toolbar.tensorboard_button.message.connect(self.show_message)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()
        layout.addWidget(self.toolbar)
        layout.addWidget(self.message_label)
        layout.addWidget(self._build_plots(), 1)

    # -- layout ----------------------------------------------------------------------------------
    def _build_plots(self) -> QWidget:
        # No titles: the axis labels say what each plot is, and small windows need the room.
        self.loss_plot = monitor_plot(None, "loss")
        self.accuracy_plot = monitor_plot(None, "accuracy (%)")
        self.lr_plot = monitor_plot(None, "learning rate", compact_values=True)
        self.accuracy_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.plots = (self.loss_plot, self.accuracy_plot, self.lr_plot)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.raw_curves: dict[str, pg.PlotDataItem] = {}  # faint, behind a smoothed curve
        for kind, plot, offset in (("loss", self.loss_plot, (-8, 8)),
                                   ("accuracy", self.accuracy_plot, (-8, -8))):
            self._add_curves(kind, plot, offset)
        self.curves["learning_rate"] = self.lr_plot.getPlotItem().plot(
            [], [], pen=pg.mkPen(LR_COLOR, width=2), symbol="o", symbolSize=5, symbolBrush=LR_COLOR,
            symbolPen=None, connect="finite")
        self._add_markers()

        # Loss | accuracy above, learning rate below loss: the learning-rate view sits exactly
        # under the loss view (same left-axis width), so pyqtgraph's pixel-aligned x link gives
        # all three plots the same range. The cell beside it reads out values.
        self.plots_widget = QWidget()
        grid = QGridLayout(self.plots_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.accuracy_plot, 0, 1)
        grid.addWidget(self.lr_plot, 1, 0)
        grid.addWidget(self._build_readout(), 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 2)
        self._legend_timer = QTimer(self, singleShot=True, interval=0)
        self._legend_timer.timeout.connect(self._fit_legends)
        for plot in self.plots:
            plot.installEventFilter(self)
        return self.plots_widget

    def _add_curves(self, kind: str, plot: pg.PlotWidget, offset) -> None:
        add_legend(plot, offset).layout.setVerticalSpacing(-6)
        curves, raw_curves = _kind_curves(kind, plot.getPlotItem())
        self.curves.update(curves)
        self.raw_curves.update(raw_curves)

    def _add_markers(self) -> None:
        # The best epoch: a vertical line, named in the legend (a floating label would sit
        # under the legend or the curves).
        self.best_lines: list[pg.InfiniteLine] = []
        self._best_legend_items: list[pg.PlotDataItem] = []
        best_pen = pg.mkPen(BEST_COLOR, width=1.5, style=Qt.PenStyle.DashLine)
        for plot in (self.loss_plot, self.accuracy_plot):
            self.best_lines.append(_vertical_line(plot, best_pen, z=-5))
            entry = pg.PlotDataItem([], [], pen=best_pen)  # legend sample only, never drawn
            plot.getPlotItem().legend.addItem(entry, "best val accuracy")
            self._best_legend_items.append(entry)
        self.cursor_lines: list[pg.InfiniteLine] = []
        cursor_pen = pg.mkPen((128, 128, 128), width=1, style=Qt.PenStyle.DotLine)
        for plot in self.plots:
            line = _vertical_line(plot, cursor_pen)
            line.setVisible(False)
            self.cursor_lines.append(line)
            plot.scene().sigMouseMoved.connect(lambda pos, p=plot: self._mouse_moved(p, pos))
            plot.getViewBox().sigRangeChangedManually.connect(self._range_changed_by_user)

    def _build_readout(self) -> QFrame:
        readout = QFrame()
        readout.setFrameShape(QFrame.Shape.StyledPanel)
        readout.setMinimumWidth(120)
        readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        layout = QVBoxLayout(readout)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        # The plots' legends hide when the plots get small; this key then stands in for them.
        self.curve_key = QLabel(curve_key_html(TRAIN_COLOR, VAL_COLOR, BEST_COLOR))
        self.curve_key.setWordWrap(True)
        self.curve_key.setTextFormat(Qt.TextFormat.RichText)
        self.curve_key.setVisible(False)
        self.hover_label = QLabel()
        self.hover_label.setWordWrap(True)
        self.hover_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.hover_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        layout.addWidget(self.curve_key)
        layout.addWidget(self.hover_label, 1)
        return readout

    # -- settings ----------------------------------------------------------------------------------
    def set_smoothing(self, weight: float) -> None:
        """TensorBoard's smoothing weight, 0 (off) .. 0.99."""
        self.smoothing = min(max(float(weight), 0.0), 0.99)
        if abs(self.toolbar.smoothing() - self.smoothing) > 0.005:
            self.toolbar.set_smoothing(self.smoothing)
        self.refresh(force=True)

    def set_log_loss(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=bool(on))
        if self.toolbar.log_check.isChecked() != bool(on):
            self.toolbar.log_check.setChecked(bool(on))
        self.loss_plot.enableAutoRange(axis="y")

    def set_x_axis(self, axis: str) -> None:
        """step, epoch or time: what every curve is drawn against."""
        self.x_axis = axis
        if self.toolbar.x_axis() != axis:
            self.toolbar.set_x_axis(axis)
        for plot in self.plots:
            bottom = plot.getPlotItem().getAxis("bottom")
            bottom.mode = axis
            plot.getPlotItem().setLabel("bottom", X_LABELS[axis])
            style_plot(plot)  # the new label in the theme's colour
        self._x_auto = True
        self.hover_at(None)
        self.refresh(force=True)

    # -- drawing ----------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Draw what the history holds (the per-epoch curves only when they changed)."""
        history, axis, weight = self.history, self.x_axis, self.smoothing
        batch_x = history.batch_x(axis)
        for kind, scale in (("loss", 1.0), ("accuracy", 100.0)):
            name = f"batch_{kind}"
            self._set(name, batch_x, scale * history.batch_values(kind))
            # Smoothed, the batch curve is the one to read: drawn as strongly as the others.
            pen = (pg.mkPen(TRAIN_COLOR, width=1.5) if self._smoothed(name)
                   else pg.mkPen(_faint(TRAIN_COLOR, 120), width=1))
            if self.curves[name].opts["pen"] != pen:
                self.curves[name].setPen(pen)
        drawn = (history.version, history.best_epoch(), history.total_epochs, axis, weight,
                 bool(history.batch_count))
        if force or self._drawn != drawn:
            self._drawn = drawn
            self._draw_epochs()
        self.toolbar.tensorboard_button.set_run_dir(history.run_dir)
        if self._x_auto:
            self.loss_plot.setXRange(0, history.x_end(axis), padding=0.02)
        for plot in self.plots:
            plot.enableAutoRange(axis="y")
        self.hover_label.setText(readout_text(history, axis, self._hover_x))

    def _smoothed(self, name: str) -> bool:
        """Smoothing applies to the noisiest curves: the per-batch ones while there are
        any (per-epoch points stay exact measurements), else the per-epoch ones."""
        if self.smoothing == 0 or name not in self.raw_curves:
            return False
        return name.startswith("batch_") == bool(self.history.batch_count)

    def _set(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        """A curve, smoothed with its raw data faint behind it when smoothing is on."""
        raw = self.raw_curves.get(name)
        if raw is None or not self._smoothed(name):
            self.curves[name].setData(x, y)
            if raw is not None:
                raw.setVisible(False)
            return
        raw.setData(x, y)
        raw.setVisible(True)
        self.curves[name].setData(x, smooth(y, self.smoothing))

    def _draw_epochs(self) -> None:
        history = self.history
        x = history.epoch_x(self.x_axis)
        apart = len(x) <= MAX_EPOCH_MARKERS
        for name, (key, scale, symbol) in EPOCH_SERIES.items():
            self._set(name, x, scale * history.epoch_values(key))
            # Markers only while they stay apart, and only on exact (unsmoothed) values.
            self.curves[name].setSymbol(None if not apart or self._smoothed(name) else symbol)
        rates = history.epoch_values("learning_rate")
        finite_rates = rates[np.isfinite(rates)]
        if finite_rates.size:  # from 0, so a constant rate is a visible level, not a flat axis
            self.lr_plot.setYRange(0.0, float(finite_rates.max()) * 1.15, padding=0)
        best = history.best_epoch()
        best_x = history.x_of_epoch(best, self.x_axis) if best is not None else None
        for line in self.best_lines:
            line.setVisible(bool(best_x is not None and np.isfinite(best_x)))
            if line.isVisible():
                line.setPos(best_x)
        for plot, entry in zip((self.loss_plot, self.accuracy_plot), self._best_legend_items):
            legend = plot.getPlotItem().legend
            if best is None:
                legend.removeItem(entry)
                continue
            if legend.getLabel(entry) is None:
                legend.addItem(entry, "")
            label, text = legend.getLabel(entry), f"best val accuracy (epoch {best})"
            if label.text != text:
                label.setText(text)

    def hover_at(self, x: float | None) -> str:
        """Put the cursor line at x (in the x axis' units) and read out the values there (what
        moving the mouse over the curves does); None hides it and shows the latest values."""
        self._hover_x = x
        for line in self.cursor_lines:
            line.setVisible(x is not None)
            if x is not None:
                line.setPos(x)
        text = readout_text(self.history, self.x_axis, x)
        self.hover_label.setText(text)
        return text

    def _mouse_moved(self, plot: pg.PlotWidget, position) -> None:
        view = plot.getViewBox()
        if not view.sceneBoundingRect().contains(position):
            if self._hover_x is not None:
                self.hover_at(None)
            return
        self.hover_at(view.mapSceneToView(position).x())

    def _range_changed_by_user(self, *_) -> None:
        self._x_auto = False  # the user zoomed or panned: stop following the run

    def reset_view(self) -> None:
        self._x_auto = True
        self._hover_x = None
        self._drawn = None

    # -- export ------------------------------------------------------------------------------------
    def export_csv(self, path: str | Path) -> None:
        """Every curve as CSV, written atomically (ProjectError when it cannot be)."""
        write_curves_csv(self.history, path)

    def export_png(self, path: str | Path) -> None:
        """The plots as they are on screen, written atomically."""
        write_widget_png(self.plots_widget, path)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")
        self.message_label.setVisible(bool(text))

    # -- fitting ---------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Resize and watched in self.plots:
            # After the layout pass, not inside it: showing or hiding the key changes size
            # hints, and doing that mid-pass left the plots at stale geometries.
            self._legend_timer.start()
        return super().eventFilter(watched, event)

    def _fit_legends(self) -> None:
        """In-plot legends only where they leave room for the curves; else the key beside."""
        roomy = all(plot.width() >= LEGEND_MIN_SIZE[0] and plot.height() >= LEGEND_MIN_SIZE[1]
                    for plot in (self.loss_plot, self.accuracy_plot))
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.getPlotItem().legend.setVisible(roomy)
        self.curve_key.setVisible(not roomy)
        # A vertical axis label longer than the axis is clipped: shorten it on short plots.
        label = "learning rate" if self.lr_plot.height() >= 150 else "lr"
        if self.lr_plot.getPlotItem().getAxis("left").labelText != label:
            self.lr_plot.getPlotItem().setLabel("left", label)
            style_plot(self.lr_plot)
