"""Light and dark themes (Fusion style on every OS): follow the system, or the user's choice
in View > Theme. Plots follow the palette (desktop/plots.py re-styles them on change)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle

THEME_TITLES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
_choice = {"theme": "system"}


def system_prefers_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str = "system") -> None:
    """Fusion with a light or dark palette; "system" follows the desktop while we run."""
    if not isinstance(app.style(), _FusionWithVisibleBoxes):
        app.setStyle(_FusionWithVisibleBoxes("Fusion"))
    if not _choice.get("connected"):
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: _apply_palette(app))
        _choice["connected"] = True
    _choice["theme"] = theme if theme in THEME_TITLES else "system"
    _apply_palette(app)


def current_theme() -> str:
    return _choice["theme"]


def _apply_palette(app: QApplication) -> None:
    theme = _choice["theme"]
    dark = theme == "dark" or (theme == "system" and system_prefers_dark())
    app.setPalette(dark_palette() if dark else app.style().standardPalette())


class _FusionWithVisibleBoxes(QProxyStyle):
    """Fusion outlines check boxes and radio buttons in a darker shade of the window, which
    vanishes on a dark window: draw a visible rim there."""

    def drawPrimitive(self, element, option, painter, widget=None) -> None:  # noqa: N802
        super().drawPrimitive(element, option, painter, widget)
        kinds = (QStyle.PrimitiveElement.PE_IndicatorCheckBox,
                 QStyle.PrimitiveElement.PE_IndicatorRadioButton)
        palette = option.palette
        if element not in kinds or palette.color(QPalette.ColorRole.Window).lightness() >= 128:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.PlaceholderText), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        rect = QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5)
        if element == QStyle.PrimitiveElement.PE_IndicatorRadioButton:
            painter.drawEllipse(rect)
        else:
            painter.drawRoundedRect(rect, 2, 2)
        painter.restore()


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, color in ((roles.Window, "#25282D"), (roles.WindowText, "#E8EAED"),
                        (roles.Base, "#1E2024"), (roles.AlternateBase, "#2B2F36"),
                        (roles.Text, "#E8EAED"), (roles.Button, "#2F333A"),
                        (roles.ButtonText, "#E8EAED"), (roles.Highlight, "#3D7FD9"),
                        (roles.HighlightedText, "#FFFFFF"), (roles.ToolTipBase, "#2B2F36"),
                        (roles.ToolTipText, "#E8EAED"), (roles.PlaceholderText, "#8A929C"),
                        (roles.Link, "#6AB0FF"), (roles.Mid, "#4A4F57"),
                        (roles.Midlight, "#3A3F47"), (roles.Dark, "#15171A"),
                        (roles.Light, "#3F444C"), (roles.Shadow, "#0B0C0E")):
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, roles.Text, QColor("#6B7079"))
    palette.setColor(QPalette.ColorGroup.Disabled, roles.ButtonText, QColor("#6B7079"))
    palette.setColor(QPalette.ColorGroup.Disabled, roles.WindowText, QColor("#6B7079"))
    return palette
