"""How numbers read in the window: one set of formatters for every panel (counts, compact
counts, metrics, percentages, rates), so the canvas, Monitor, Runs and Analyze agree."""

from __future__ import annotations

import math

MISSING = "–"  # an en dash: a value not known (yet)


def finite(value) -> float:
    """A float, NaN for None / non-numbers / infinities (pyqtgraph leaves NaN gaps in lines)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def count(number) -> str:
    """12,345 (thousands separated); the dash for an unknown count."""
    return MISSING if number is None else f"{int(number):,}"


def compact(number) -> str:
    """117.6k, 2.3M, 1.1G: a count that fits a card; the dash for an unknown count."""
    if number is None:
        return MISSING
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}{suffix}"
    return str(int(number))


def metric(value, digits: int = 4) -> str:
    """A loss or accuracy value: fixed digits, small values stay readable (1.2e-05)."""
    number = finite(value)
    if math.isnan(number):
        return MISSING
    if number and abs(number) < 10 ** -(digits - 1):
        return f"{number:.{digits - 1}g}"
    return f"{number:.{digits}f}"


def percent(value, digits: int = 1) -> str:
    """A fraction as a percentage: 0.912 -> 91.2%."""
    number = finite(value)
    return MISSING if math.isnan(number) else f"{100 * number:.{digits}f}%"


def rate(value) -> str:
    """Samples per second and the like: a whole number with separators."""
    number = finite(value)
    return MISSING if math.isnan(number) else f"{number:,.0f}"


def plural(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"
