"""The live training view: loss / accuracy / learning-rate curves, gradient norms, results.

`TrainingMonitor.handle_event(event)` takes any engine training event (see
engine/training/events.py). It only appends to buffers; a 100 ms single-shot timer redraws,
so thousands of batch events per second never block the GUI. Per-batch points are kept
one-for-one up to MAX_BATCH_POINTS, then thinned by 2 (and every later point is taken at
the doubled stride), so memory stays bounded however long the run.

`show_run(history, metrics, examples)` shows a finished run from disk (RunFolder.history(),
.metrics(), .examples()): the same plots without the per-batch curves. A resumed run (a
`started` event with initial_epoch > 0) shows its earlier epochs from its run folder.

The status line says what the run is doing: `show_phase(message)` before the first epoch
starts ("Loading digits…", with a busy bar), `set_state(state)` with the training client's
state ("paused" and "stopping" are shown as such until training goes on), else the latest
event's progress.

Tabs: "Curves" (linked x axes in epochs; a batch sits at epoch - 1 + batch / batches),
"Gradients" (per-layer gradient norm per epoch, log scale) and "Results" (test metrics,
per-class accuracy, a clickable confusion matrix and the test images of the clicked cell).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QBrush, QColor, QFont, QIcon, QImage, QPainter, QPalette, QPen,
                           QPixmap)
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel,
                               QGridLayout, QListView, QListWidget, QListWidgetItem, QProgressBar,
                               QSizePolicy, QSplitter, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from desktop.panels.inspector import severity_color
from desktop.style import CATEGORY_COLORS, ERROR_COLOR
from engine.errors import ProjectError
from engine.graph.validate import WARNING
from engine.training import events as ev
from engine.training.progress import format_duration
from engine.training.runs import RunFolder

MAX_BATCH_POINTS = 20_000      # per-batch points kept before thinning by 2
REFRESH_MS = 100               # plots redraw at most this often
THUMBNAIL_SIDE = 64            # gallery images are scaled up (nearest neighbour) to about this
LEGEND_MIN_SIZE = (360, 250)   # plots smaller than this show the curve key beside them instead
MIN_TICK_GAP = 22               # pixels between labelled ticks on value axes
MAX_EPOCH_MARKERS = 60          # more epochs than this: per-epoch lines without markers
EPOCH_SYMBOLS = {"train_loss": "o", "val_loss": "s", "train_accuracy": "o", "val_accuracy": "s",
                 "learning_rate": "o"}
LEFT_AXIS_WIDTH = 58          # pixels, the same on every plot
TOP_PROBABILITIES = 2          # class probabilities under each gallery image

TRAIN_COLOR = CATEGORY_COLORS["Convolution"]        # blue
VAL_COLOR = CATEGORY_COLORS["Merge"]                # orange
LR_COLOR = CATEGORY_COLORS["Pooling"]               # purple
BEST_COLOR = CATEGORY_COLORS["Input/Output"]        # green
CORRECT_COLOR = TRAIN_COLOR
WRONG_COLOR = ERROR_COLOR
# Distinct line colours for the gradient plot (Tableau 10), in layer order.
LAYER_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf"]

GRADIENT_EXPLANATION = (
    "Gradient norm of each layer's weights after every epoch (log scale). Vanishing gradients: "
    "early layers far below later ones — they barely learn. Exploding gradients: norms that "
    "keep growing.")
EMPTY_STATUS = "No training run yet: start one, or open a run from the Runs panel."
RUN_STATES = ("idle", "starting", "training", "paused", "stopping")  # as the training client's
STARTING_STATUS = "Starting the training run…"
PAUSED_STATUS = "Paused — press Continue to go on"
STOPPING_STATUS = "Stopping after this batch…"


# -- formatting -------------------------------------------------------------------------------

def _finite(value) -> float:
    """A float, NaN for None / non-numbers (pyqtgraph leaves NaN gaps in lines)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _percent(value, digits: int = 1) -> str:
    number = _finite(value)
    return "–" if math.isnan(number) else f"{100 * number:.{digits}f}%"


def _number(value, digits: int = 4) -> str:
    number = _finite(value)
    if math.isnan(number):
        return "–"
    if number and abs(number) < 10 ** -(digits - 1):
        return f"{number:.{digits - 1}g}"  # 0.000012 stays readable
    return f"{number:.{digits}f}"


def _rate(value) -> str:
    number = _finite(value)
    return "–" if math.isnan(number) else f"{number:,.0f}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def top_probabilities(probabilities, class_names: list[str], count: int = TOP_PROBABILITIES) -> str:
    """ "7: 0.91, 1: 0.05" — the most probable classes, best first."""
    probabilities = np.asarray(probabilities, dtype=float).ravel()
    order = np.argsort(-probabilities)[:count]
    return ", ".join(f"{_class_name(class_names, k)}: {probabilities[k]:.2f}" for k in order)


def _class_name(class_names: list[str], index: int) -> str:
    return str(class_names[index]) if 0 <= index < len(class_names) else str(index)


def image_pixmap(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> QPixmap:
    """A uint8 (h, w), (h, w, 1), (h, w, 3) or (h, w, 4) image as a pixmap about `side` pixels
    on its longer edge: whole-number nearest-neighbour scaling, so pixels stay crisp."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    if array.ndim == 2:
        qimage = QImage(array.data, width, height, width, QImage.Format.Format_Grayscale8)
    elif array.shape[2] == 4:
        qimage = QImage(array.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    else:
        array = np.ascontiguousarray(array[:, :, :3])
        qimage = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    qimage = qimage.copy()  # own the pixels: the numpy buffer may go away
    longest = max(height, width, 1)
    if longest <= side:
        factor = max(1, side // longest)
        return QPixmap.fromImage(qimage.scaled(width * factor, height * factor,
                                               Qt.AspectRatioMode.IgnoreAspectRatio,
                                               Qt.TransformationMode.FastTransformation))
    return QPixmap.fromImage(qimage.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))


def _blend(base: QColor, target: QColor, amount: float) -> QColor:
    amount = min(max(amount, 0.0), 1.0)
    return QColor(round(base.red() + (target.red() - base.red()) * amount),
                  round(base.green() + (target.green() - base.green()) * amount),
                  round(base.blue() + (target.blue() - base.blue()) * amount))


class EpochAxis(pg.AxisItem):
    """An epoch axis: whole epochs only, unless zoomed in to less than two of them."""

    def tickSpacing(self, minVal, maxVal, size):
        levels = super().tickSpacing(minVal, maxVal, size)
        if maxVal - minVal < 2:
            return levels
        return [(spacing, offset) for spacing, offset in levels if spacing >= 1] or [(1.0, 0.0)]


class ValueAxis(pg.AxisItem):
    """Plain tick values: no "(x0.001)" SI scaling in the label; compact small numbers."""

    def __init__(self, orientation: str, compact: bool = False):
        super().__init__(orientation)
        self.compact = compact
        self.enableAutoSIPrefix(False)

    def tickSpacing(self, minVal, maxVal, size):
        """pyqtgraph packs ticks by log(size), which crowds labels on short axes: keep
        labelled ticks at least MIN_TICK_GAP pixels apart."""
        levels = super().tickSpacing(minVal, maxVal, size)
        if self.orientation not in ("left", "right") or not levels or size <= 0 or maxVal <= minVal:
            return levels
        smallest = MIN_TICK_GAP * (maxVal - minVal) / size
        kept = [(spacing, offset) for spacing, offset in levels if spacing >= smallest]
        if kept:
            return kept
        spacing, offset = levels[0]
        while spacing < smallest:
            spacing *= 2
        return [(spacing, offset)]

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        """Log axes label 2..9 between decades; on short axes or narrow ranges keep only
        1-2-5 (or 1-3, or none) of them so the labels never overlap."""
        levels = super().logTickValues(minVal, maxVal, size, stdTicks)
        if size <= 0 or maxVal <= minVal:
            return levels
        per_unit = size / (maxVal - minVal)
        thinned = []
        decades = any(spacing is not None and len(values) for spacing, values in levels)
        first = 2 if decades else 1  # 1, 10, 100 are already labelled as decades
        for spacing, values in levels:
            if spacing is None:
                mantissa = {value: round(10 ** (value - math.floor(value + 1e-9))) for value in values}
                for allowed in (range(first, 10), (first, 2, 5), (first, 3), ()):
                    kept = sorted(value for value in values if mantissa[value] in allowed)
                    if len(kept) < 2 or min(np.diff(kept)) * per_unit >= MIN_TICK_GAP:
                        break
                values = kept
            thinned.append((spacing, values))
        return thinned

    def tickStrings(self, values, scale, spacing):
        if self.compact and not self.logMode:
            return [f"{value * scale:.3g}" for value in values]
        return super().tickStrings(values, scale, spacing)


class _ConfusionDelegate(QStyledItemDelegate):
    """Keeps a cell's heat-map colour when selected and frames it instead."""

    def paint(self, painter, option, index):
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        plain = QStyleOptionViewItem(option)
        plain.state &= ~(QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_HasFocus)
        super().paint(painter, plain, index)
        if selected:
            painter.save()
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 3))
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
            painter.restore()


# -- the widget -------------------------------------------------------------------------------

class TrainingMonitor(QWidget):
    """Live curves, gradient norms and results of one training run."""

    cell_selected = Signal(int, int)  # (true class, predicted class) of a clicked confusion cell

    CURVES_TAB, GRADIENTS_TAB, RESULTS_TAB = range(3)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh)
        self._results: dict | None = None
        self._examples: dict[str, np.ndarray] | None = None
        self._selected_cell: tuple[int, int] | None = None
        self._filling_table = False
        self._styling = False
        self._run_state = "idle"                 # the training client's, kept across clear()
        self._paused_since: float | None = None  # time.monotonic() when a pause began
        self._build()
        self.clear()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.status_label.font()
        font.setBold(True)
        self.status_label.setFont(font)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        # What the engine adjusted for this run (e.g. a batch larger than the dataset).
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_label.setStyleSheet(f"color: {severity_color(WARNING).name()};")
        self.notes_label.hide()
        layout.addWidget(self.status_label)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.progress)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_curves(), "Curves")
        self.tabs.addTab(self._build_gradients(), "Gradients")
        self.tabs.addTab(self._build_results(), "Results")
        layout.addWidget(self.tabs, 1)
        self._apply_palette()

    def _new_plot(self, title: str | None, left: str, bottom: str = "epoch",
                  compact_values: bool = False) -> pg.PlotWidget:
        axes = {"left": ValueAxis("left", compact=compact_values),
                "bottom": EpochAxis("bottom") if bottom == "epoch" else pg.AxisItem("bottom")}
        plot = pg.PlotWidget(axisItems=axes)
        plot.setMinimumSize(120, 90)
        item = plot.getPlotItem()
        if title:
            item.setTitle(title, size="10pt")
        item.setLabel("left", left)
        item.setLabel("bottom", bottom)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(True)
        item.hideButtons()  # the "A" auto-range button overlaps the axis at small sizes
        for name in ("left", "bottom"):
            item.getAxis(name).setStyle(tickFont=self._tick_font())
        item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)  # equal widths keep linked x axes aligned
        return plot

    def _tick_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        return font

    def _build_curves(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        # No titles: the axis labels say what each plot is, and small windows need the room.
        self.loss_plot = self._new_plot(None, "loss")
        self.accuracy_plot = self._new_plot(None, "accuracy (%)")
        self.lr_plot = self._new_plot(None, "learning rate", compact_values=True)
        self.accuracy_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)

        train_pen = pg.mkPen(TRAIN_COLOR, width=2.5)
        val_pen = pg.mkPen(VAL_COLOR, width=2.5, style=Qt.PenStyle.DashLine)
        batch_color = QColor(TRAIN_COLOR)
        batch_color.setAlpha(120)
        batch_pen = pg.mkPen(batch_color, width=1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for kind, plot, legend_offset in (("loss", self.loss_plot, (-8, 8)),
                                          ("accuracy", self.accuracy_plot, (-8, -8))):
            item = plot.getPlotItem()
            item.addLegend(offset=legend_offset, brush=pg.mkBrush(255, 255, 255, 190),
                           labelTextSize="8pt", labelTextColor=(40, 40, 40), verSpacing=-6)
            # Per-batch points: thousands of them, drawn decimated and clipped to the view.
            item.setDownsampling(auto=True, mode="peak")
            item.setClipToView(True)
            self.curves[f"batch_{kind}"] = item.plot([], [], pen=batch_pen, name="train (per batch)",
                                                     connect="finite")
            self.curves[f"train_{kind}"] = item.plot([], [], pen=train_pen, symbol="o", symbolSize=6,
                                                     symbolBrush=TRAIN_COLOR, symbolPen=None,
                                                     name="train (per epoch)", connect="finite")
            self.curves[f"val_{kind}"] = item.plot([], [], pen=val_pen, symbol="s", symbolSize=6,
                                                   symbolBrush=VAL_COLOR, symbolPen=None,
                                                   name="validation", connect="finite")
        self.curves["learning_rate"] = self.lr_plot.getPlotItem().plot(
            [], [], pen=pg.mkPen(LR_COLOR, width=2), symbol="o", symbolSize=5, symbolBrush=LR_COLOR,
            symbolPen=None, connect="finite")

        # The best epoch: a vertical line, named in the legend (a floating label would sit
        # under the legend or the curves).
        self.best_lines: list[pg.InfiniteLine] = []
        self._best_legend_items: list[pg.PlotDataItem] = []
        best_pen = pg.mkPen(BEST_COLOR, width=1.5, style=Qt.PenStyle.DashLine)
        for plot in (self.loss_plot, self.accuracy_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=best_pen)
            line.setZValue(-5)
            plot.addItem(line, ignoreBounds=True)
            self.best_lines.append(line)
            entry = pg.PlotDataItem([], [], pen=best_pen)  # legend sample only, never drawn
            plot.getPlotItem().legend.addItem(entry, "best val accuracy")
            self._best_legend_items.append(entry)
        self.cursor_lines: list[pg.InfiniteLine] = []
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen((128, 128, 128), width=1, style=Qt.PenStyle.DotLine))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self.cursor_lines.append(line)
            plot.scene().sigMouseMoved.connect(lambda pos, p=plot: self._mouse_moved(p, pos))
            plot.getViewBox().sigRangeChangedManually.connect(self._range_changed_by_user)

        # Loss | accuracy above, learning rate below loss: the learning-rate view sits exactly
        # under the loss view (same left-axis width), so pyqtgraph's pixel-aligned x link gives
        # all three plots the same epoch range. The cell beside it reads out values.
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.accuracy_plot, 0, 1)
        grid.addWidget(self.lr_plot, 1, 0)
        readout = QFrame()
        readout.setFrameShape(QFrame.Shape.StyledPanel)
        readout.setMinimumWidth(120)
        readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        readout_layout = QVBoxLayout(readout)
        readout_layout.setContentsMargins(6, 4, 6, 4)
        readout_layout.setSpacing(2)
        # The plots' legends hide when the plots get small; this key then stands in for them.
        self.curve_key = QLabel(_curve_key_html())
        self.curve_key.setWordWrap(True)
        self.curve_key.setTextFormat(Qt.TextFormat.RichText)
        self.curve_key.setVisible(False)
        self.hover_label = QLabel()
        self.hover_label.setWordWrap(True)
        self.hover_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.hover_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        readout_layout.addWidget(self.curve_key)
        readout_layout.addWidget(self.hover_label, 1)
        grid.addWidget(readout, 1, 1)
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.installEventFilter(self)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 2)
        layout.addLayout(grid, 1)
        return page

    def _build_gradients(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        self.gradient_note = QLabel(GRADIENT_EXPLANATION)
        self.gradient_note.setWordWrap(True)
        layout.addWidget(self.gradient_note)
        self.gradient_plot = self._new_plot("Gradient norm per layer", "gradient norm (log)")
        self.gradient_plot.setLogMode(y=True)
        self.gradient_hint = pg.TextItem("Gradient norms appear after the first epoch.",
                                                color=(120, 120, 120), anchor=(0.5, 0.5))
        self.gradient_plot.addItem(self.gradient_hint, ignoreBounds=True)
        self.gradient_hint.setPos(0.5, 0)
        # The legend is a list beside the plot: it never hides a line, scrolls for deep
        # networks, and unticking a layer hides its line.
        self.gradient_legend = QListWidget()
        self.gradient_legend.setToolTip("Layers from input to output; untick one to hide its line.")
        self.gradient_legend.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.gradient_legend.setIconSize(QSize(22, 10))
        self.gradient_legend.setMinimumWidth(90)
        self.gradient_legend.setMaximumWidth(190)
        self.gradient_legend.itemChanged.connect(self._gradient_layer_toggled)
        legend_box = QWidget()
        legend_layout = QVBoxLayout(legend_box)
        legend_layout.setContentsMargins(0, 0, 0, 0)
        legend_layout.setSpacing(2)
        legend_layout.addWidget(QLabel("Layers (input → output)"))
        legend_layout.addWidget(self.gradient_legend, 1)
        row = QSplitter(Qt.Orientation.Horizontal)
        row.setChildrenCollapsible(False)
        row.addWidget(self.gradient_plot)
        row.addWidget(legend_box)
        row.setStretchFactor(0, 1)
        row.setStretchFactor(1, 0)
        row.setSizes([700, 160])
        layout.addWidget(row, 1)
        self.gradient_curves: dict[str, pg.PlotDataItem] = {}
        return page

    def _gradient_layer_toggled(self, item: QListWidgetItem) -> None:
        curve = self.gradient_curves.get(item.text())
        if curve is not None:
            curve.setVisible(item.checkState() == Qt.CheckState.Checked)

    def _build_results(self) -> QWidget:
        self.results_stack = QStackedWidget()
        self.results_hint = QLabel("Test results appear here when training finishes.")
        self.results_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.results_hint.setWordWrap(True)
        self.results_stack.addWidget(self.results_hint)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        cards = QHBoxLayout()
        cards.setSpacing(6)
        self.result_labels: dict[str, QLabel] = {}
        for key, caption in (("test_accuracy", "test accuracy"), ("test_loss", "test loss"),
                             ("best_val_accuracy", "best val accuracy"),
                             ("training_time", "training time"),
                             ("samples_per_second", "samples / s")):
            card = QFrame()
            card.setFrameShape(QFrame.Shape.StyledPanel)
            box = QVBoxLayout(card)
            box.setContentsMargins(6, 2, 6, 2)
            box.setSpacing(0)
            value = QLabel("–")
            value_font = value.font()
            value_font.setBold(True)
            value_font.setPointSizeF(value_font.pointSizeF() * 1.25)
            value.setFont(value_font)
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label = QLabel(caption)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            box.addWidget(value)
            box.addWidget(label)
            cards.addWidget(card, 1)
            self.result_labels[key] = value
        layout.addLayout(cards)

        self.class_plot = self._new_plot("Per-class test accuracy (%)", "%", "class")
        self.class_plot.getPlotItem().setLabel("bottom", None)  # the ticks are class names
        self.class_plot.setMinimumSize(120, 80)
        self.class_plot.setMouseEnabled(x=False, y=False)
        self.class_bars = pg.BarGraphItem(x=[], height=[], width=0.65, brush=TRAIN_COLOR, pen=None)
        self.class_plot.addItem(self.class_bars)
        self.class_bar_labels: list[pg.TextItem] = []
        self.class_plot.installEventFilter(self)

        matrix = QWidget()
        matrix_layout = QVBoxLayout(matrix)
        matrix_layout.setContentsMargins(0, 0, 0, 0)
        matrix_layout.setSpacing(2)
        self.confusion_caption = QLabel("Confusion matrix (row: true, column: predicted) — "
                                        "click a cell")
        self.confusion_caption.setWordWrap(True)
        matrix_layout.addWidget(self.confusion_caption)
        self.confusion_table = QTableWidget()
        self.confusion_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.confusion_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.confusion_table.setCornerButtonEnabled(False)
        self.confusion_table.setMinimumHeight(80)
        self.confusion_table.setItemDelegate(_ConfusionDelegate(self.confusion_table))
        for header in (self.confusion_table.horizontalHeader(), self.confusion_table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setMinimumSectionSize(22)
            header.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.confusion_table.horizontalHeader().setMinimumSectionSize(40)
        self.confusion_table.currentCellChanged.connect(
            lambda row, column, *_: self._cell_chosen(row, column, from_click=False))
        self.confusion_table.cellClicked.connect(
            lambda row, column: self._cell_chosen(row, column, from_click=True))
        self.confusion_table.cellActivated.connect(
            lambda row, column: self._cell_chosen(row, column, from_click=True))
        matrix_layout.addWidget(self.confusion_table, 1)

        gallery = QWidget()
        gallery_layout = QVBoxLayout(gallery)
        gallery_layout.setContentsMargins(0, 0, 0, 0)
        gallery_layout.setSpacing(2)
        self.gallery_label = QLabel()
        self.gallery_label.setWordWrap(True)
        gallery_layout.addWidget(self.gallery_label)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setWrapping(True)
        self.gallery.setWordWrap(False)  # wrapping would narrow captions to the icon width
        self.gallery.setUniformItemSizes(True)
        self.gallery.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.gallery.setIconSize(QSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        self.gallery.setSpacing(2)
        # Room for one whole row: a thumbnail and two caption lines.
        line = self.gallery.fontMetrics().height()
        self.gallery.setGridSize(QSize(THUMBNAIL_SIDE + 56, THUMBNAIL_SIDE + TOP_PROBABILITIES * line + 12))
        self.gallery.setMinimumHeight(self.gallery.gridSize().height() + 2 * self.gallery.frameWidth() + 2)
        gallery_layout.addWidget(self.gallery, 1)

        # Per-class bars across the full width (room for class names under them), then the
        # confusion matrix beside the gallery of the clicked cell.
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.setChildrenCollapsible(False)
        bottom.addWidget(matrix)
        bottom.addWidget(gallery)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        bottom.setSizes([540, 360])
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.class_plot)
        split.addWidget(bottom)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        split.setSizes([150, 330])
        layout.addWidget(split, 1)
        self.results_stack.addWidget(page)
        return self.results_stack

    def _apply_palette(self) -> None:
        """Plot colours from the application palette (light or dark theme)."""
        if self._styling:
            return
        self._styling = True
        try:
            palette = self.palette()
            background = palette.color(QPalette.ColorRole.Base)
            foreground = palette.color(QPalette.ColorRole.WindowText)
            for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot, self.gradient_plot,
                         self.class_plot):
                plot.setBackground(background)
                item = plot.getPlotItem()
                for name in ("left", "bottom"):
                    axis = item.getAxis(name)
                    axis.setPen(pg.mkPen(foreground))
                    axis.setTextPen(pg.mkPen(foreground))
                if item.titleLabel.isVisible():
                    item.titleLabel.setText(item.titleLabel.text, color=foreground, size="10pt")
                if item.legend is not None:
                    legend_background = QColor(background)
                    legend_background.setAlpha(200)
                    item.legend.setBrush(pg.mkBrush(legend_background))
                    item.legend.setLabelTextColor(foreground)
                    for _, label in item.legend.items:
                        label.setText(label.text)
        finally:
            self._styling = False

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize and watched in (self.loss_plot, self.accuracy_plot,
                                                              self.lr_plot):
            self._fit_legends()
        elif event.type() == QEvent.Type.Resize and watched is self.class_plot and self._results:
            self._fit_class_labels()
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

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
            if self._results is not None:
                self._fill_confusion(self._results)

    # -- public API ----------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget everything: empty plots, no results."""
        self._timer.stop()
        self._batch_x = np.empty(MAX_BATCH_POINTS)
        self._batch_loss = np.empty(MAX_BATCH_POINTS)
        self._batch_accuracy = np.empty(MAX_BATCH_POINTS)
        self._batch_count = 0         # points stored
        self._batch_seen = 0          # batch events received
        self._batch_stride = 1        # keep every n-th batch event
        self._epochs: list[dict] = []
        self._total_epochs = 0
        self._last_batch: dict | None = None
        self._last_epoch_event: dict | None = None
        self._best_epoch_override: int | None = None
        self._status = EMPTY_STATUS
        self._status_is_error = False
        self._phase: str | None = None           # what the run does before `started`
        self._paused_after_epoch = 0.0           # seconds paused since the last epoch_ended
        self._notes: list[str] = []
        self._progress_value = 0.0
        self._x_auto = True
        self._epochs_version = 0                 # bumped whenever self._epochs changes
        self._drawn_epochs: tuple | None = None  # what the epoch curves show (redraw on change)
        self._hover_x: float | None = None
        self._results = None
        self._examples = None
        self._selected_cell = None
        self._clear_results()
        self._dirty = True
        self._refresh()

    def handle_event(self, event: dict) -> None:
        """Take one engine event; the plots follow within REFRESH_MS."""
        kind = event.get("type")
        handler = _HANDLERS.get(kind)
        if handler is None:
            return
        handler(self, event)
        self._dirty = True
        if kind in ev.TERMINAL:  # the run is over: no more pausing or stopping to show
            self._phase = None
            self.set_state("idle")
        elif kind in (ev.STARTED, ev.PHASE):
            self.flush()
        elif not self._timer.isActive():
            self._timer.start()

    def show_run(self, history: list[dict], metrics: dict | None = None,
                 examples: dict | None = None) -> None:
        """A run from disk: RunFolder.history(), .metrics() and .examples()."""
        self.clear()
        self._epochs = [dict(record) for record in history]
        self._epochs.sort(key=lambda record: int(record.get("epoch", 0)))
        self._epochs_version += 1
        self._total_epochs = max([int(r.get("epoch", 0)) for r in self._epochs] or [0])
        self._progress_value = 1.0 if self._epochs else 0.0
        parts = [f"Run of {_plural(len(self._epochs), 'epoch')}"]
        best = self.best_epoch()
        if best is not None:
            record = self._epoch_record(best)
            parts.append(f"best val acc {_percent(record.get('val_accuracy'))} at epoch {best}")
        if metrics:
            parts.insert(0, f"Finished: test accuracy {_percent(metrics.get('test_accuracy'))}")
            parts[1] = parts[1].lower()
            self._show_results(metrics, examples)
        self._status = " · ".join(parts)
        self._dirty = True
        self.flush()

    def flush(self) -> None:
        """Redraw now instead of at the next timer tick."""
        self._timer.stop()
        self._refresh()

    def show_phase(self, message: str) -> None:
        """What the run is doing before its first epoch ("Loading digits…", "Compiling…"),
        with a busy bar; the `started` event (or the run's end) replaces it."""
        self._phase = str(message)
        self._status_is_error = False
        self._dirty = True
        self.flush()

    def set_state(self, state: str) -> None:
        """The training client's state: idle | starting | training | paused | stopping.
        Paused and stopping are shown in the status line until the run goes on or ends."""
        if state not in RUN_STATES:
            raise ValueError(f"Unknown training state {state!r}; expected one of "
                             f"{', '.join(RUN_STATES)}.")
        if state == "paused" and self._paused_since is None:
            self._paused_since = time.monotonic()
        elif state != "paused" and self._paused_since is not None:
            self._paused_after_epoch += time.monotonic() - self._paused_since
            self._paused_since = None
        self._run_state = state
        self._dirty = True
        self.flush()

    @property
    def state(self) -> str:
        return self._run_state

    def best_epoch(self) -> int | None:
        """The epoch with the best validation accuracy (the finished event's, once known)."""
        if self._best_epoch_override is not None:
            return self._best_epoch_override
        scored = [(_finite(r.get("val_accuracy")), int(r.get("epoch", 0))) for r in self._epochs]
        scored = [(value, epoch) for value, epoch in scored if not math.isnan(value)]
        if not scored:
            return None
        best_value = max(value for value, _ in scored)
        return min(epoch for value, epoch in scored if value == best_value)

    @property
    def batch_point_count(self) -> int:
        return self._batch_count

    @property
    def epoch_count(self) -> int:
        return len(self._epochs)

    def status_text(self) -> str:
        """The status line as shown."""
        if self._run_state == "paused":
            return PAUSED_STATUS + self._where()
        if self._run_state == "stopping":
            return STOPPING_STATUS
        if self._getting_ready():
            return self._phase or STARTING_STATUS
        return self._status

    def _getting_ready(self) -> bool:
        """Before the run's `started` event: nothing to measure yet, only a phase to name."""
        return self._phase is not None or (self._run_state == "starting" and self._status == EMPTY_STATUS)

    def _busy(self) -> bool:
        """The progress bar shows activity instead of a fraction (not while paused)."""
        return self._run_state != "paused" and self._getting_ready()

    def _where(self) -> str:
        """ " · epoch 2/5, batch 10/40": where the run is (after its latest event)."""
        if self._last_batch is not None:
            batch = self._last_batch
            return (f" · epoch {batch.get('epoch')}/{self._total_epochs or '?'}, "
                    f"batch {batch.get('batch')}/{batch.get('batches')}")
        if self._epochs:
            return f" · after epoch {self._epochs[-1].get('epoch')}/{self._total_epochs or '?'}"
        return ""

    def notes_text(self) -> str:
        """The engine's notes on the current run (what it adjusted), one per line."""
        return "\n".join(self._notes)

    def select_cell(self, true_class: int, predicted_class: int) -> None:
        """Show the gallery of one confusion-matrix cell (as a click on it does)."""
        if 0 <= true_class < self.confusion_table.rowCount() and \
                0 <= predicted_class < self.confusion_table.columnCount():
            self._filling_table = True
            self.confusion_table.setCurrentCell(true_class, predicted_class)
            self._filling_table = False
            self._show_cell(true_class, predicted_class)

    def hover_at(self, x: float | None) -> str:
        """Put the cursor line at epoch position x and read out the values there (what
        moving the mouse over the curves does); None hides it and shows the latest values."""
        self._hover_x = x
        for line in self.cursor_lines:
            line.setVisible(x is not None)
            if x is not None:
                line.setPos(x)
        readout = self._readout(x)
        self.hover_label.setText(readout)
        return readout

    def _readout(self, x: float | None) -> str:
        if not self._epochs and not self._batch_count:
            return "Move the mouse over a plot to read the values at that epoch."
        lines = []
        if self._epochs:
            if x is None:
                record = self._epochs[-1]
                lines.append(f"Latest: epoch {record.get('epoch')} (hover a plot)")
            else:
                epochs = np.array([int(r.get("epoch", 0)) for r in self._epochs])
                record = self._epochs[int(np.argmin(np.abs(epochs - x)))]
                lines.append(f"epoch {record.get('epoch')}:")
            lines.append(f"loss {_number(record.get('loss'))} · val loss {_number(record.get('val_loss'))}")
            lines.append(f"acc {_percent(record.get('accuracy'))} · "
                         f"val acc {_percent(record.get('val_accuracy'))}")
            rate = _finite(record.get("learning_rate"))
            if not math.isnan(rate):
                lines.append(f"learning rate {rate:.3g}")
        if self._batch_count:
            xs = self._batch_x[:self._batch_count]
            index = self._batch_count - 1
            if x is not None:
                index = int(np.clip(np.searchsorted(xs, x), 0, self._batch_count - 1))
                if index > 0 and abs(xs[index - 1] - x) < abs(xs[index] - x):
                    index -= 1
            if x is None or abs(xs[index] - x) <= 0.5:
                lines.append(f"at {xs[index]:.2f}: batch loss {_number(self._batch_loss[index])}, "
                             f"batch acc {_percent(self._batch_accuracy[index])}")
        return "\n".join(lines)

    # -- event handlers (buffers only; _refresh draws) ----------------------------------------
    def _on_phase(self, event: dict) -> None:
        self.show_phase(event.get("message") or "")

    def _on_started(self, event: dict) -> None:
        initial = int(event.get("initial_epoch") or 0)
        if initial <= 0:
            self.clear()
        else:  # a resumed run: the curves show its whole history, from epoch 1
            if not self._has_epochs_up_to(initial):
                self.clear()
                self._epochs = _saved_history(event.get("run_dir"), initial)
            self._drop_after(initial)
            self._results = None
            self._examples = None
            self._clear_results()
        self._phase = None
        self._total_epochs = int(event.get("epochs") or 0)
        self._best_epoch_override = None
        self._notes = [str(note) for note in event.get("notes") or []]
        dataset = event.get("dataset") or {}
        name = dataset.get("name") if isinstance(dataset, dict) else None
        self._status = (f"Resuming after epoch {initial} of {self._total_epochs}" if initial else
                        f"Training started: {_plural(self._total_epochs, 'epoch')}"
                        + (f" on {name}" if name else ""))
        self._status_is_error = False
        self._progress_value = initial / self._total_epochs if self._total_epochs else 0.0

    def _on_batch_ended(self, event: dict) -> None:
        self._phase = None  # "Compiling the first batch…" is over
        self._last_batch = event
        epoch, batch = int(event.get("epoch", 1)), int(event.get("batch", 0))
        batches = max(int(event.get("batches") or 1), 1)
        x = epoch - 1 + batch / batches
        seen = self._batch_seen
        self._batch_seen += 1
        if seen % self._batch_stride == 0:
            n = self._batch_count
            self._batch_x[n] = x
            self._batch_loss[n] = _finite(event.get("loss"))
            self._batch_accuracy[n] = _finite(event.get("accuracy"))
            self._batch_count = n + 1
            if self._batch_count == MAX_BATCH_POINTS:  # thin by 2; later points at double stride
                half = MAX_BATCH_POINTS // 2
                for buffer in (self._batch_x, self._batch_loss, self._batch_accuracy):
                    buffer[:half] = buffer[0:MAX_BATCH_POINTS:2]
                self._batch_count = half
                self._batch_stride *= 2
        total = self._total_epochs or max(epoch, 1)
        self._progress_value = x / total
        parts = [f"Epoch {epoch}/{self._total_epochs or '?'}", f"batch {batch}/{batches}",
                 f"loss {_number(event.get('loss'), 3)}"]
        if event.get("accuracy") is not None:
            parts.append(f"acc {_percent(event.get('accuracy'))}")
        if self._last_epoch_event and self._last_epoch_event.get("val_accuracy") is not None:
            parts.append(f"val acc {_percent(self._last_epoch_event.get('val_accuracy'))}")
        parts.append(f"{_rate(event.get('samples_per_second'))} samples/s")
        eta = self._eta(event)
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        self._status = " · ".join(parts)
        self._status_is_error = False

    def _on_epoch_ended(self, event: dict) -> None:
        self._phase = None
        self._paused_after_epoch = 0.0  # the engine left earlier pauses out of this eta
        epoch = int(event.get("epoch", len(self._epochs) + 1))
        self._epochs = [r for r in self._epochs if int(r.get("epoch", 0)) < epoch]
        self._epochs.append({key: value for key, value in event.items() if key not in ("type", "time")})
        self._epochs_version += 1
        self._last_epoch_event = event
        self._total_epochs = int(event.get("epochs") or self._total_epochs or epoch)
        self._progress_value = epoch / self._total_epochs
        parts = [f"Epoch {epoch}/{self._total_epochs}", f"loss {_number(event.get('loss'), 3)}"]
        if event.get("val_accuracy") is not None:
            parts.append(f"val acc {_percent(event.get('val_accuracy'))}")
        parts.append(f"{_rate(event.get('samples_per_second'))} samples/s")
        if event.get("eta") is not None and epoch < self._total_epochs:
            parts.append(f"ETA {format_duration(event.get('eta'))}")
        self._status = " · ".join(parts)
        self._status_is_error = False

    def _on_finished(self, event: dict) -> None:
        if event.get("best_epoch") is not None:
            self._best_epoch_override = int(event["best_epoch"])
        self._progress_value = 1.0
        parts = [f"Finished: test accuracy {_percent(event.get('test_accuracy'))}"]
        if event.get("best_epoch") is not None:
            parts.append(f"best val acc {_percent(event.get('best_val_accuracy'))} "
                         f"at epoch {event['best_epoch']}")
        if event.get("training_time") is not None:
            parts.append(f"{format_duration(event.get('training_time'))} of training")
        self._status = " · ".join(parts)
        self._status_is_error = False
        self._show_results(event, event.get("examples"))

    def _on_stopped(self, event: dict) -> None:
        done = int(event.get("epochs_completed") or 0)
        self._status = f"Stopped after {_plural(done, 'epoch')}" + (
            " · resumable" if event.get("resumable") else "")
        self._status_is_error = False

    def _on_failed(self, event: dict) -> None:
        self._status = f"Failed: {event.get('message') or 'unknown error'}"
        self._status_is_error = True

    def _eta(self, batch_event: dict) -> float | None:
        last = self._last_epoch_event
        if not last or last.get("eta") is None:
            return None
        waited = _finite(batch_event.get("time")) - _finite(last.get("time"))
        waited -= self._paused_after_epoch  # a pause does not bring the end closer
        return max(0.0, float(last["eta"]) - (0.0 if math.isnan(waited) else waited))

    def _drop_after(self, epoch: int) -> None:
        self._epochs = [r for r in self._epochs if int(r.get("epoch", 0)) <= epoch]
        self._epochs_version += 1
        if self._batch_count:
            self._batch_count = int(np.searchsorted(self._batch_x[:self._batch_count], epoch, "right"))

    def _epoch_record(self, epoch: int) -> dict:
        return next((r for r in self._epochs if int(r.get("epoch", 0)) == epoch), {})

    def _has_epochs_up_to(self, epoch: int) -> bool:
        return set(range(1, epoch + 1)) <= {int(r.get("epoch", 0)) for r in self._epochs}

    # -- drawing ----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.status_label.setText(self.status_text())
        self.status_label.setStyleSheet(f"color: {ERROR_COLOR};" if self._status_is_error else "")
        self._show_busy(self._busy())
        self.notes_label.setText("\n".join(self._notes))
        self.notes_label.setVisible(bool(self._notes))
        self.progress.setValue(round(1000 * min(max(self._progress_value, 0.0), 1.0)))

        n = self._batch_count
        xs = self._batch_x[:n]
        self.curves["batch_loss"].setData(xs, self._batch_loss[:n])
        self.curves["batch_accuracy"].setData(xs, 100 * self._batch_accuracy[:n])

        records = self._epochs
        epochs = np.array([float(r.get("epoch", 0)) for r in records])
        drawn = (self._epochs_version, self._best_epoch_override, self._total_epochs)
        if self._drawn_epochs != drawn:
            self._drawn_epochs = drawn
            self._draw_epochs(records, epochs)
        if self._x_auto:
            right = max(self._total_epochs, float(epochs.max()) if len(epochs) else 0.0,
                        float(xs[-1]) if n else 0.0, 1.0)
            self.loss_plot.setXRange(0, right, padding=0.02)
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.enableAutoRange(axis="y")
        self.hover_label.setText(self._readout(self._hover_x))

    def _show_busy(self, busy: bool) -> None:
        """An indeterminate (moving) bar while the run gets ready, else the fraction done."""
        maximum = 0 if busy else 1000
        if self.progress.maximum() != maximum:
            self.progress.setRange(0, maximum)

    def _draw_epochs(self, records: list[dict], epochs: np.ndarray) -> None:
        """The per-epoch curves, best-epoch marker and gradient lines (epochs changed)."""

        def column(key: str, scale: float = 1.0) -> np.ndarray:
            return np.array([_finite(r.get(key)) * scale for r in records])

        self.curves["train_loss"].setData(epochs, column("loss"))
        self.curves["val_loss"].setData(epochs, column("val_loss"))
        self.curves["train_accuracy"].setData(epochs, column("accuracy", 100))
        self.curves["val_accuracy"].setData(epochs, column("val_accuracy", 100))
        rates = column("learning_rate")
        self.curves["learning_rate"].setData(epochs, rates)
        finite_rates = rates[np.isfinite(rates)]
        if finite_rates.size:  # from 0, so a constant rate is a visible level, not a flat axis
            self.lr_plot.setYRange(0.0, float(finite_rates.max()) * 1.15, padding=0)
        for name, symbol in EPOCH_SYMBOLS.items():  # markers only while they stay apart
            self.curves[name].setSymbol(symbol if len(records) <= MAX_EPOCH_MARKERS else None)

        best = self.best_epoch()
        for line in self.best_lines:
            line.setVisible(best is not None)
            if best is not None:
                line.setPos(best)
        for plot, entry in zip((self.loss_plot, self.accuracy_plot), self._best_legend_items):
            legend = plot.getPlotItem().legend
            if best is None:
                legend.removeItem(entry)
            else:
                if legend.getLabel(entry) is None:
                    legend.addItem(entry, "")
                label, text = legend.getLabel(entry), f"best val accuracy (epoch {best})"
                if label.text != text:
                    label.setText(text)
        self._refresh_gradients(epochs)

    def _refresh_gradients(self, epochs: np.ndarray) -> None:
        item = self.gradient_plot.getPlotItem()
        names: list[str] = []
        for record in self._epochs:
            for name in (record.get("gradient_norms") or {}):
                if name not in names:
                    names.append(name)
        if list(self.gradient_curves) != names[:len(self.gradient_curves)]:
            for curve in self.gradient_curves.values():  # layers changed: start over
                item.removeItem(curve)
            self.gradient_curves.clear()
            self.gradient_legend.clear()
        for index, name in enumerate(names):
            curve = self.gradient_curves.get(name)
            if curve is None:
                color = LAYER_COLORS[index % len(LAYER_COLORS)]
                style = Qt.PenStyle.SolidLine if index < len(LAYER_COLORS) else Qt.PenStyle.DashLine
                pen = pg.mkPen(color, width=2, style=style)
                curve = item.plot([], [], pen=pen, symbol="o", symbolSize=5, symbolBrush=color,
                                  symbolPen=None, name=name, connect="finite")
                self.gradient_curves[name] = curve
                entry = QListWidgetItem(_line_icon(pen), name)
                entry.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                entry.setCheckState(Qt.CheckState.Checked)
                entry.setToolTip(f"{name}: layer {index + 1} of {len(names)} from the input")
                self.gradient_legend.addItem(entry)
            norms = np.array([_finite((r.get("gradient_norms") or {}).get(name)) for r in self._epochs])
            norms[~(norms > 0)] = np.nan
            curve.setData(epochs, norms)
        self.gradient_hint.setVisible(not names)
        if not names:
            self.gradient_plot.setXRange(0, max(self._total_epochs, 1), padding=0.02)
            self.gradient_plot.setYRange(-1, 1, padding=0)  # log axis: 0.1 to 10
            self.gradient_hint.setPos(max(self._total_epochs, 1) / 2, 0)
        else:
            self.gradient_plot.setXRange(0.5, max(self._total_epochs, float(epochs.max())) + 0.5,
                                         padding=0.02)
            self.gradient_plot.enableAutoRange(axis="y")

    def _mouse_moved(self, plot: pg.PlotWidget, position) -> None:
        view = plot.getViewBox()
        if not view.sceneBoundingRect().contains(position):
            if self._hover_x is not None:
                self.hover_at(None)
            return
        self.hover_at(view.mapSceneToView(position).x())

    def _range_changed_by_user(self, *_) -> None:
        self._x_auto = False  # the user zoomed or panned: stop following the run

    # -- results --------------------------------------------------------------------------------
    def _clear_results(self) -> None:
        self.results_stack.setCurrentIndex(0)
        for label in self.result_labels.values():
            label.setText("–")
        self.class_bars.setOpts(x=[], height=[])
        for text in self.class_bar_labels:
            self.class_plot.removeItem(text)
        self.class_bar_labels = []
        self.confusion_table.clear()
        self.confusion_table.setRowCount(0)
        self.confusion_table.setColumnCount(0)
        self.gallery.clear()
        self.gallery_label.setText("")

    def _show_results(self, metrics: dict, examples: dict | None) -> None:
        self._clear_results()
        self._results = metrics
        self._examples = ({key: np.asarray(value) for key, value in examples.items()}
                          if examples is not None else None)
        self._selected_cell = None
        labels = self.result_labels
        labels["test_accuracy"].setText(_percent(metrics.get("test_accuracy")))
        labels["test_loss"].setText(_number(metrics.get("test_loss")))
        best = metrics.get("best_val_accuracy")
        labels["best_val_accuracy"].setText(
            _percent(best) + (f" (ep. {metrics['best_epoch']})" if metrics.get("best_epoch") else ""))
        labels["training_time"].setText(format_duration(metrics.get("training_time"))
                                        if metrics.get("training_time") is not None else "–")
        labels["samples_per_second"].setText(_rate(metrics.get("samples_per_second")))

        per_class = metrics.get("per_class_accuracy") or []
        heights = np.array([_finite(v) * 100 for v in per_class])
        shown = np.nan_to_num(heights, nan=0.0)
        count = len(per_class)
        if count:
            self.class_bars.setOpts(x=np.arange(count), height=shown, width=0.65)
        if count <= 40:
            for k in range(count):
                text = pg.TextItem("–" if math.isnan(heights[k]) else f"{heights[k]:.0f}",
                                   color=self.palette().color(QPalette.ColorRole.WindowText),
                                   anchor=(0.5, 1.0))
                text.setPos(k, shown[k])
                self.class_plot.addItem(text)
                self.class_bar_labels.append(text)
        self.class_plot.setXRange(-0.6, max(count, 1) - 0.4, padding=0)
        self.class_plot.setYRange(0, 112, padding=0)  # room for the value above a 100% bar
        self._fit_class_labels()

        self._fill_confusion(metrics)
        self.gallery_label.setText("Click a cell of the confusion matrix to see its test images."
                                   if self._examples is not None else
                                   "No example images were saved for this run.")
        self.results_stack.setCurrentIndex(1)

    def _fit_class_labels(self) -> None:
        """Class names under the bars, shortened to the room each bar has; the values above
        the bars only where they fit."""
        names = self._class_names(self._results or {})
        count = len((self._results or {}).get("per_class_accuracy") or [])
        width = self.class_plot.width() - LEFT_AXIS_WIDTH - 20  # the view box lags a resize
        per_bar = width / max(count, 1)
        metrics = self.class_plot.fontMetrics()
        chars = max(2, int(per_bar / max(metrics.averageCharWidth(), 1)) - 1)
        labels = [_class_name(names, k) for k in range(count)]
        labels = [name if len(name) <= chars else name[:max(chars - 1, 1)] + "…" for name in labels]
        self.class_plot.getPlotItem().getAxis("bottom").setTicks([list(enumerate(labels))])
        height = self.class_plot.height()
        fits = height >= 130 and per_bar >= metrics.horizontalAdvance("100") + 4
        for text in self.class_bar_labels:
            text.setVisible(fits)
        step = 20 if height >= 220 else 50
        self.class_plot.getPlotItem().getAxis("left").setTicks(
            [[(v, str(v)) for v in range(0, 101, step)], [(v, "") for v in range(10, 100, 20)]])

    def _class_names(self, metrics: dict) -> list[str]:
        names = [str(n) for n in (metrics.get("class_names") or [])]
        size = len(metrics.get("confusion_matrix") or []) or len(metrics.get("per_class_accuracy") or [])
        return names + [str(k) for k in range(len(names), size)]

    def _fill_confusion(self, metrics: dict) -> None:
        matrix = np.asarray(metrics.get("confusion_matrix") or [], dtype=np.int64)
        if matrix.ndim != 2:
            return
        names = self._class_names(metrics)
        table = self.confusion_table
        self._filling_table = True
        try:
            table.setRowCount(matrix.shape[0])
            table.setColumnCount(matrix.shape[1])
            table.setHorizontalHeaderLabels([_class_name(names, k) for k in range(matrix.shape[1])])
            table.setVerticalHeaderLabels([_class_name(names, k) for k in range(matrix.shape[0])])
            for k in range(matrix.shape[1]):
                table.horizontalHeaderItem(k).setToolTip(f"predicted {_class_name(names, k)}")
            for k in range(matrix.shape[0]):
                table.verticalHeaderItem(k).setToolTip(f"true {_class_name(names, k)}")
            base = self.palette().color(QPalette.ColorRole.Base)
            text_color = self.palette().color(QPalette.ColorRole.Text)
            for row in range(matrix.shape[0]):
                total = int(matrix[row].sum())
                for column in range(matrix.shape[1]):
                    count = int(matrix[row, column])
                    share = count / total if total else 0.0
                    item = QTableWidgetItem(f"{count:,}")
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    target = QColor(CORRECT_COLOR if row == column else WRONG_COLOR)
                    # Off-diagonal errors are rare: a square-root scale keeps small ones visible.
                    amount = share if row == column else math.sqrt(share)
                    item.setBackground(QBrush(_blend(base, target, amount)))
                    item.setForeground(QBrush(QColor("white") if amount > 0.55 else text_color))
                    item.setToolTip(f"true {_class_name(names, row)}, predicted "
                                    f"{_class_name(names, column)}: {count:,} "
                                    f"({100 * share:.1f}% of {_class_name(names, row)})")
                    table.setItem(row, column, item)
            table.setCurrentCell(-1, -1)
        finally:
            self._filling_table = False
        if self._selected_cell is not None:
            row, column = self._selected_cell
            self._filling_table = True
            table.setCurrentCell(row, column)
            self._filling_table = False

    def _cell_chosen(self, row: int, column: int, from_click: bool) -> None:
        if self._filling_table or row < 0 or column < 0:
            return
        if from_click and self._selected_cell == (row, column):
            return  # the press already moved the current cell here
        self._show_cell(row, column)

    def _show_cell(self, row: int, column: int) -> None:
        self._selected_cell = (row, column)
        self.gallery.clear()
        metrics = self._results or {}
        names = self._class_names(metrics)
        matrix = metrics.get("confusion_matrix") or []
        total = int(matrix[row][column]) if row < len(matrix) and column < len(matrix[row]) else 0
        true_name, predicted_name = _class_name(names, row), _class_name(names, column)
        heading = (f"{true_name} predicted correctly: " if row == column else
                   f"{true_name} predicted as {predicted_name}: ")
        examples = self._examples
        if examples is None or "image" not in examples:
            self.gallery_label.setText(heading + f"{total:,} test images (no images saved).")
            self.cell_selected.emit(row, column)
            return
        chosen = np.flatnonzero((examples["true"] == row) & (examples["predicted"] == column))
        self.gallery_label.setText(heading + (f"{len(chosen)} of {total:,} test images"
                                              if len(chosen) else f"{total:,} test images"))
        probabilities = examples.get("probabilities")
        indices = examples.get("index")
        for position in chosen:
            item = QListWidgetItem()
            item.setIcon(pixmap_icon(image_pixmap(examples["image"][position])))
            if probabilities is not None:
                caption = top_probabilities(probabilities[position], names)
                item.setText(caption.replace(", ", "\n"))
                detail = top_probabilities(probabilities[position], names, count=3)
            else:
                detail = ""
            number = f"test image #{int(indices[position])}" if indices is not None else "test image"
            item.setToolTip(f"{number}: true {_class_name(names, row)}, predicted "
                            f"{_class_name(names, column)}" + (f"\n{detail}" if detail else ""))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            item.setSizeHint(self.gallery.gridSize() - QSize(4, 4))  # else captions elide to the icon width
            self.gallery.addItem(item)
        self.cell_selected.emit(row, column)


def _saved_history(run_dir, epochs: int) -> list[dict]:
    """The first `epochs` completed epochs of a run folder; none if it cannot be read (the
    curves then start where the resumed run does)."""
    if not run_dir:
        return []
    try:
        history = RunFolder(run_dir).history()[:epochs]
    except (ProjectError, OSError, ValueError, TypeError, AttributeError):
        return []
    records = [dict(record) for record in history if isinstance(record, dict)]
    return sorted(records, key=lambda record: int(record.get("epoch", 0)))


def _curve_key_html() -> str:
    def swatch(color: str, glyph: str, text: str, faint: bool = False) -> str:
        style = f"color:{color};" + ("opacity:0.5;" if faint else "font-weight:bold;")
        return f"<span style='{style}'>{glyph}</span>&nbsp;{text.replace(' ', '&nbsp;')}"
    # Two fixed lines: Qt's rich text would otherwise break between a swatch and its name.
    return (swatch(TRAIN_COLOR, "—", "train (batch)", faint=True) + " &nbsp; "
            + swatch(TRAIN_COLOR, "—●", "train (epoch)") + "<br>"
            + swatch(VAL_COLOR, "-■-", "validation") + " &nbsp; "
            + swatch(BEST_COLOR, "¦", "best val accuracy"))


def _line_icon(pen: QPen) -> QIcon:
    """A short line in a curve's pen: the legend sample."""
    pixmap = QPixmap(44, 20)
    pixmap.setDevicePixelRatio(2)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    line_pen = QPen(pen)
    line_pen.setWidthF(2.5)
    painter.setPen(line_pen)
    painter.drawLine(1, 5, 21, 5)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(pen.color())
    painter.drawEllipse(8, 2, 6, 6)
    painter.end()
    return QIcon(pixmap)


def pixmap_icon(pixmap: QPixmap) -> QIcon:
    icon = QIcon()
    icon.addPixmap(pixmap, QIcon.Mode.Normal)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)  # no tinting of the image when selected
    return icon


_HANDLERS = {
    ev.PHASE: TrainingMonitor._on_phase,
    ev.STARTED: TrainingMonitor._on_started,
    ev.BATCH_ENDED: TrainingMonitor._on_batch_ended,
    ev.EPOCH_ENDED: TrainingMonitor._on_epoch_ended,
    ev.FINISHED: TrainingMonitor._on_finished,
    ev.STOPPED: TrainingMonitor._on_stopped,
    ev.FAILED: TrainingMonitor._on_failed,
}
