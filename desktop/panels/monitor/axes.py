"""The Monitor's plot axes and its plot factory: an x axis in epochs, steps or wall-clock
time, and value axes whose labels never crowd, on plots that follow the theme."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from desktop.models.run_history import EPOCH, STEP, TIME
from desktop.plots import style_plot, themed_plot, tick_font
from engine.training.progress import format_duration

MIN_TICK_GAP = 22        # pixels between labelled ticks on value axes
LEFT_AXIS_WIDTH = 58     # pixels, the same on every plot: linked x axes stay aligned
X_LABELS = {EPOCH: "epoch", STEP: "step", TIME: "time (relative)"}


class XAxis(pg.AxisItem):
    """Epochs, global steps or seconds since the run started: whole units only (unless
    zoomed in to less than two of them); time reads m:ss."""

    def __init__(self, orientation: str = "bottom"):
        super().__init__(orientation)
        self.mode = EPOCH
        self.enableAutoSIPrefix(False)

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph API
        levels = super().tickSpacing(minVal, maxVal, size)
        if maxVal - minVal < 2:
            return levels
        return [(spacing, offset) for spacing, offset in levels if spacing >= 1] or [(1.0, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        if self.mode == TIME:
            return [format_duration(max(value, 0.0)) for value in values]
        if self.mode == STEP and spacing >= 1:
            return [f"{value:,.0f}" for value in values]
        return super().tickStrings(values, scale, spacing)


class ValueAxis(pg.AxisItem):
    """Plain tick values: no "(x0.001)" SI scaling in the label; compact small numbers."""

    def __init__(self, orientation: str = "left", compact: bool = False):
        super().__init__(orientation)
        self.compact = compact
        self.enableAutoSIPrefix(False)

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph API
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

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803
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

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        if self.compact and not self.logMode:
            return [f"{value * scale:.3g}" for value in values]
        return super().tickStrings(values, scale, spacing)


def monitor_plot(title: str | None, left: str, bottom: str | None = "epoch",
                 compact_values: bool = False, x_axis: bool = True) -> pg.PlotWidget:
    """A themed plot with the Monitor's axes, small tick labels and the same left-axis width."""
    plot = themed_plot(title or "", left, menu=True, minimum_height=90)
    plot.setMinimumWidth(120)
    item = plot.getPlotItem()
    axes = {"left": ValueAxis("left", compact=compact_values)}
    if x_axis:
        axes["bottom"] = XAxis("bottom")
    item.setAxisItems(axes)
    item.setLabel("left", left)
    if bottom:
        item.setLabel("bottom", bottom)
    for name in ("left", "bottom"):
        item.getAxis(name).setStyle(tickFont=tick_font(plot))
    item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    style_plot(plot)
    return plot
