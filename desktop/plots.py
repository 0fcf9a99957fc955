"""Plots and images in the window's theme: one plot factory that follows the light or dark
palette (and re-styles its plots when the palette changes), one series palette, and one
NumPy -> QImage / QPixmap conversion (pyqtgraph's)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPalette, QPixmap
from PySide6.QtWidgets import QWidget

# Tableau 10: distinct on light and dark backgrounds; runs, classes and layers use it in order.
SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf")
TITLE_SIZE = "10pt"


def series_color(index: int) -> QColor:
    return QColor(SERIES_COLORS[index % len(SERIES_COLORS)])


def theme_colors(widget: QWidget | None = None) -> tuple[QColor, QColor]:
    """(background, foreground) of plots in the current palette."""
    palette = widget.palette() if widget is not None else QPalette()
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.WindowText)


def style_plot(plot: pg.PlotWidget) -> None:
    """Background, axes, title and legend of one plot in its widget's palette."""
    background, foreground = theme_colors(plot)
    plot.setBackground(background)
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(foreground))
        axis.setTextPen(pg.mkPen(foreground))
        if axis.label is not None and axis.labelText:
            axis.setLabel(axis.labelText, units=axis.labelUnits, color=foreground.name())
    if item.titleLabel.isVisible() and item.titleLabel.text:
        item.titleLabel.setText(item.titleLabel.text, color=foreground.name(), size=TITLE_SIZE)
    if item.legend is not None:
        legend_background = QColor(background)
        legend_background.setAlpha(200)
        item.legend.setBrush(pg.mkBrush(legend_background))
        item.legend.setLabelTextColor(foreground)
        for _sample, label in item.legend.items:  # the call above only stores the colour
            label.setText(label.text, color=foreground.name())


class _FollowPalette(QObject):
    """Re-styles a plot when the application switches between light and dark."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.PaletteChange and isinstance(watched, pg.PlotWidget):
            style_plot(watched)
        return False


def themed_plot(title: str = "", left: str = "", bottom: str = "", *, grid: float = 0.15,
                menu: bool = False, minimum_height: int = 120) -> pg.PlotWidget:
    """A PlotWidget in the window's theme that stays in it."""
    plot = pg.PlotWidget()
    item = plot.getPlotItem()
    if title:
        item.setTitle(title, size=TITLE_SIZE)
    if left:
        item.setLabel("left", left)
    if bottom:
        item.setLabel("bottom", bottom)
    item.showGrid(x=True, y=True, alpha=grid)
    item.setMenuEnabled(menu)
    item.hideButtons()  # the "A" auto-range button overlaps the axis at small sizes
    for name in ("left", "bottom"):
        item.getAxis(name).enableAutoSIPrefix(False)
    plot.setMinimumHeight(minimum_height)
    plot._follow_palette = _FollowPalette(plot)
    plot.installEventFilter(plot._follow_palette)
    style_plot(plot)
    return plot


def add_legend(plot: pg.PlotWidget, offset=(5, 5)) -> pg.LegendItem:
    background, foreground = theme_colors(plot)
    background = QColor(background)
    background.setAlpha(200)
    return plot.getPlotItem().addLegend(
        offset=offset, labelTextColor=foreground, labelTextSize="8pt",
        brush=pg.mkBrush(background), pen=pg.mkPen(plot.palette().color(QPalette.ColorRole.Mid)))


def tick_font(widget: QWidget) -> QFont:
    font = QFont(widget.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
    return font


# -- NumPy -> images --------------------------------------------------------------------------

def to_uint8(array: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Any numeric image scaled to 0..255 between lo and hi (its own min/max by default);
    uint8 input is kept as it is. (h, w, 1) becomes (h, w)."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.dtype == np.uint8 and lo is None and hi is None:
        return np.ascontiguousarray(a)
    a = a.astype(np.float32)
    lo = float(np.nanmin(a)) if lo is None else lo
    hi = float(np.nanmax(a)) if hi is None else hi
    scaled = np.clip((a - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    return np.ascontiguousarray(np.nan_to_num(scaled * 255).astype(np.uint8))


def to_qimage(array: np.ndarray, lo: float | None = None, hi: float | None = None) -> QImage:
    """(h, w) gray, (h, w, 3) RGB or (h, w, 4) RGBA as a QImage that owns its pixels."""
    data = to_uint8(array, lo, hi)
    if data.ndim == 3 and data.shape[2] not in (3, 4):
        data = np.ascontiguousarray(data[:, :, :3])
    if data.ndim == 3:  # makeQImage reads each pixel as B, G, R(, A) bytes: reorder RGB(A)
        data = np.ascontiguousarray(data[:, :, [2, 1, 0, 3][: data.shape[2]]])
    return pg.functions.makeQImage(data, transpose=False, copy=True)


def to_pixmap(array: np.ndarray, side: int, lo: float | None = None, hi: float | None = None,
              smooth_when_shrinking: bool = True) -> QPixmap:
    """An image as a pixmap about `side` pixels on its longer edge: whole-number
    nearest-neighbour enlargement keeps pixels crisp; shrinking is smooth."""
    image = to_qimage(array, lo, hi)
    width, height = image.width(), image.height()
    longest = max(width, height, 1)
    if longest <= side:
        factor = max(1, side // longest)
        return QPixmap.fromImage(image.scaled(width * factor, height * factor,
                                              Qt.AspectRatioMode.IgnoreAspectRatio,
                                              Qt.TransformationMode.FastTransformation))
    mode = (Qt.TransformationMode.SmoothTransformation if smooth_when_shrinking
            else Qt.TransformationMode.FastTransformation)
    return QPixmap.fromImage(image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode))
