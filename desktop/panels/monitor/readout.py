"""Text beside the curves: the values under the mouse, and the key that stands in for the
plots' legends when they are too small to hold one."""

from __future__ import annotations

import math

import numpy as np

from desktop.formatting import finite, metric, percent
from desktop.models.run_history import EPOCH, STEP, TIME, RunHistory
from engine.training.progress import format_duration

HINT = "Move the mouse over a plot to read the values at that epoch."


def position_text(x: float, axis: str) -> str:
    if axis == STEP:
        return f"step {x:,.0f}"
    if axis == TIME:
        return format_duration(max(x, 0.0))
    return f"{x:.2f}"


def readout_text(history: RunHistory, axis: str, x: float | None) -> str:
    """The epoch nearest to x (the latest when x is None) and the batch under x."""
    if not history.epochs and not history.batch_count:
        return HINT
    lines = []
    if history.epochs:
        if x is None:
            record = history.epochs[-1]
            lines.append(f"Latest: epoch {record.get('epoch')} (hover a plot)")
        else:
            xs = np.nan_to_num(history.epoch_x(axis), nan=np.inf)
            record = history.epochs[int(np.argmin(np.abs(xs - x)))]
            lines.append(f"epoch {record.get('epoch')}:")
        lines.append(f"loss {metric(record.get('loss'))} · val loss {metric(record.get('val_loss'))}")
        lines.append(f"acc {percent(record.get('accuracy'))} · "
                     f"val acc {percent(record.get('val_accuracy'))}")
        rate = finite(record.get("learning_rate"))
        if not math.isnan(rate):
            lines.append(f"learning rate {rate:.3g}")
    if history.batch_count:
        xs, positions = history.batch_x(axis), history.batch_x(EPOCH)
        index = len(xs) - 1
        if x is not None:
            index = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if index > 0 and abs(xs[index - 1] - x) < abs(xs[index] - x):
                index -= 1
        span = positions[-1] - positions[0]
        per_epoch = (xs[-1] - xs[0]) / span if span > 0 else math.inf
        if x is None or abs(xs[index] - x) <= 0.5 * per_epoch:  # within half an epoch
            lines.append(f"at {position_text(xs[index], axis)}: batch loss "
                         f"{metric(history.batch_values('loss')[index])}, "
                         f"batch acc {percent(history.batch_values('accuracy')[index])}")
    return "\n".join(lines)


def curve_key_html(train: str, validation: str, best: str) -> str:
    def swatch(color: str, glyph: str, text: str, faint: bool = False) -> str:
        style = f"color:{color};" + ("opacity:0.5;" if faint else "font-weight:bold;")
        return f"<span style='{style}'>{glyph}</span>&nbsp;{text.replace(' ', '&nbsp;')}"
    # Two fixed lines: Qt's rich text would otherwise break between a swatch and its name.
    return (swatch(train, "—", "train (batch)", faint=True) + " &nbsp; "
            + swatch(train, "—●", "train (epoch)") + "<br>"
            + swatch(validation, "-■-", "validation") + " &nbsp; "
            + swatch(best, "¦", "best val accuracy"))
