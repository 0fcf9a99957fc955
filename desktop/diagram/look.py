"""How the figure looks: colours, fonts, box sizes, spacing, and the fonts' measuring of
arrow labels (shared by the layout, which reserves room, and the router, which places them)."""

from __future__ import annotations

from PySide6.QtCore import QSizeF
from PySide6.QtGui import QColor, QFont, QFontMetricsF

from engine.blocks.catalog import BLOCKS, Window

BACKGROUND = QColor("#FFFFFF")
TEXT_COLOR = QColor("#1E1E1E")
MUTED_TEXT = QColor("#6B6B6B")
ARROW_COLOR = QColor("#3C3C3C")
UNKNOWN_COLOR = QColor("#8A8A8A")

FONT_FAMILIES = ["Segoe UI", "Helvetica Neue", "Arial", "DejaVu Sans", "Sans Serif"]
LABEL_PX, SHAPE_PX, NAME_PX, TITLE_PX, SUBTITLE_PX = 12, 12, 11, 17, 12

# Box sizes (pixels): sub-linear in the tensor size, clamped, so 224x224 and 7x7 both read.
SPATIAL_SCALE, SPATIAL_MIN, SPATIAL_MAX = 17.0, 24.0, 190.0  # sqrt(H or W) -> px
CHANNEL_SCALE, CHANNEL_MIN, CHANNEL_MAX = 3.0, 4.0, 60.0      # sqrt(C) -> px
OBLIQUE_X, OBLIQUE_Y = 0.48, 0.38                             # depth W drawn up-right
BAR_THICKNESS, BAR_DEPTH = 10.0, 12.0                          # vectors: thin tall bars
BAR_SCALE, BAR_OFFSET, BAR_MIN, BAR_MAX = 10.0, 8.0, 16.0, 160.0  # log2(units) -> px
UNKNOWN_SIZE = (50.0, 50.0, 14.0)                              # h, depth, thickness of "?"
DEFAULT_SPATIAL = 32                                           # for a variable (None) size

MARGIN = 28.0
TITLE_GAP = 18.0
V_GAP = 34.0          # between boxes stacked in one column
MIN_GAP = 44.0        # between columns
TRUNK_MARGIN = 12.0   # from a box to the vertical trunk of its fan-out
TRUNK_STEP = 7.0      # between two trunks in one gap
LABEL_PAD = 6.0
LABEL_WRAP = 104.0    # labels wrap onto a second line past this width
ARROW_SIZE = 7.0
LANE_GAP = 16.0       # between a shortcut lane and the blocks it passes
NAME_MAX = 150.0      # names are elided past this width

FOLDABLE = {"Activation", "Dropout", "BatchNormalization"}
# Blocks whose sliding window is drawn on the arrow into them (a kernel or pooling window).
WINDOWED = {block.type for block in BLOCKS if isinstance(block.window(block.default_params()), Window)}
MERGES = {"Add", "Concatenate"}


def _font(px: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(px)
    font.setBold(bold)
    return font


class DiagramFonts:
    """The figure's fonts. Made once per figure (fonts need a QGuiApplication)."""

    def __init__(self):
        self.label_font, self.shape_font = _font(LABEL_PX), _font(SHAPE_PX, bold=True)
        self.name_font, self.title_font = _font(NAME_PX), _font(TITLE_PX, bold=True)
        self.subtitle_font = _font(SUBTITLE_PX)
        self.note_font = _font(NAME_PX)
        self.note_font.setItalic(True)

    def label_lines(self, parts: list[str]) -> list[str]:
        metrics = QFontMetricsF(self.label_font)
        lines: list[str] = []
        for part in parts:
            if not lines:
                lines.append(part)
                continue
            joined = f"{lines[-1]} + {part}"
            if metrics.horizontalAdvance(joined) <= LABEL_WRAP:
                lines[-1] = joined
            else:
                lines.append(f"+ {part}")
        return lines or [""]

    def label_size(self, lines: list[str]) -> QSizeF:
        metrics = QFontMetricsF(self.label_font)
        width = max(metrics.horizontalAdvance(line) for line in lines)
        return QSizeF(width + 2 * LABEL_PAD, metrics.height() * len(lines) + 2)
