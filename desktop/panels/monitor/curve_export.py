"""The Curves tab's exports: every curve as CSV and the plots as a PNG image, each written
atomically, to a file chosen in a save dialog that opens in the run's folder.

Split from CurvesView (curves.py), which keeps export_csv / export_png as its API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.models.run_history import RunHistory, curves_csv
from engine.errors import ProjectError
from engine.graph.io import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:  # only for the annotation: curves.py imports this module
    from desktop.panels.monitor.curves import CurvesView


def write_curves_csv(history: RunHistory, path: str | Path) -> None:
    """Every curve as CSV, written atomically (ProjectError when it cannot be)."""
    atomic_write_text(Path(path), curves_csv(history))


def write_widget_png(widget: QWidget, path: str | Path) -> None:
    """The widget as it is on screen, as PNG, written atomically."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not widget.grab().save(buffer, "PNG"):
        raise ProjectError(f"Cannot make a PNG image of the plots for {path}.")
    buffer.close()
    atomic_write_bytes(Path(path), bytes(data))


class CurveExportDialogs:
    """The toolbar's Export CSV… / Export PNG…: ask where, write, and say how it went in the
    view's message line."""

    def __init__(self, view: CurvesView):
        self._view = view  # read when asked: the monitor swaps the view's history per run

    def ask_csv(self) -> None:
        self._ask("Export curves as CSV", "curves.csv", "CSV files (*.csv)", self._view.export_csv)

    def ask_png(self) -> None:
        self._ask("Export plots as PNG", "curves.png", "PNG images (*.png)", self._view.export_png)

    def _ask(self, title: str, name: str, filter_: str, write: Callable[[str], None]) -> None:
        view = self._view
        folder = Path(view.history.run_dir) if view.history.run_dir else Path.home()
        path, _ = QFileDialog.getSaveFileName(view, title, str(folder / name), filter_)
        if not path:
            return
        try:
            write(path)
        except ProjectError as error:
            view.show_message(str(error), True)
            return
        view.show_message(f"Saved {path}", False)
