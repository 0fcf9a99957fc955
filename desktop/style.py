"""Colours and sizes shared by the canvas, palette and diagram: one place to change them."""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette

# Block colour by catalogue category (readable on light and dark backgrounds).
CATEGORY_COLORS = {
    "Input/Output": "#4C9A2A",
    "Convolution": "#2F6FB5",
    "Pooling": "#8E5CB5",
    "Shape": "#7A7A7A",
    "Merge": "#C7781A",
    "Normalization & Regularization": "#1F9A93",
    "Dense": "#B5475A",
    "Composite": "#5A6B8C",
}
ERROR_COLOR = "#D32F2F"
WARNING_COLOR = "#F2A007"
GRID_SIZE = 20  # canvas snap grid, scene units

MIME_BLOCK = "application/x-cnn-studio-block"  # palette drag payload: JSON, see palette.py
MIME_NODES = "application/x-cnn-studio-nodes"  # copied blocks: JSON, see MainWindow.copy


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, "#666666"))


def is_dark_theme() -> bool:
    """Follow the system: dark when the window background is darker than its text."""
    palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < palette.color(
        QPalette.ColorRole.WindowText).lightness()
