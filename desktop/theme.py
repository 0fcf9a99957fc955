"""Light and dark themes that follow the system setting (Fusion style on every OS)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def system_prefers_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    if system_prefers_dark():
        app.setPalette(_dark_palette())
    # Follow the system when the user switches between light and dark while we run.
    app.styleHints().colorSchemeChanged.connect(lambda scheme: app.setPalette(
        _dark_palette() if scheme == Qt.ColorScheme.Dark else app.style().standardPalette()))


def _dark_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, color in ((roles.Window, "#25282D"), (roles.WindowText, "#E8EAED"),
                        (roles.Base, "#1E2024"), (roles.AlternateBase, "#2B2F36"),
                        (roles.Text, "#E8EAED"), (roles.Button, "#2F333A"),
                        (roles.ButtonText, "#E8EAED"), (roles.Highlight, "#3D7FD9"),
                        (roles.HighlightedText, "#FFFFFF"), (roles.ToolTipBase, "#2B2F36"),
                        (roles.ToolTipText, "#E8EAED"), (roles.PlaceholderText, "#8A929C"),
                        (roles.Link, "#6AB0FF")):
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, roles.Text, QColor("#6B7079"))
    palette.setColor(QPalette.ColorGroup.Disabled, roles.ButtonText, QColor("#6B7079"))
    return palette
