"""The figure for one network: structure, layout and arrows computed once, painted any
number of times."""

from __future__ import annotations

import math
import os

from PySide6.QtCore import QPointF, QRectF, QSizeF
from PySide6.QtGui import QFontMetricsF, QGuiApplication, QPainter

from engine.graph.shapes import NetworkInfo, infer
from engine.graph.spec import NetworkSpec
from desktop.diagram.layout import ColumnLayout
from desktop.diagram.look import MARGIN, TITLE_GAP, DiagramFonts
from desktop.diagram.painting import DiagramPainter
from desktop.diagram.routing import ArrowRouter
from desktop.diagram.structure import FigureStructure


def _ensure_app() -> None:
    """Fonts need a QGuiApplication; exports from a script get an offscreen one."""
    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        global _APP
        _APP = QGuiApplication([])


_APP = None  # the offscreen app, kept alive here for later figures in the same script


class DiagramRenderer:
    """Lays out a network figure once; `size` and `paint` can then be used any number of
    times (a widget, a PNG, an SVG)."""

    def __init__(self, spec: NetworkSpec, info: NetworkInfo | None = None):
        _ensure_app()
        self.spec = spec
        self.info = info if info is not None else infer(spec)
        self.fonts = DiagramFonts()
        structure = FigureStructure(spec, self.info)
        self.items, self.edges = structure.items, structure.edges
        # Each stage fills in the items and edges in place; keep what later stages read.
        layout = ColumnLayout(self.items, self.edges, self.fonts)
        self.label_sizes, self.trunk_x = layout.label_sizes, layout.trunk_x
        self.column_left, self.column_right = layout.column_left, layout.column_right
        router = ArrowRouter(self.items, self.edges, self.fonts, self.label_sizes, self.trunk_x)
        self.labels, self.edge_labels, self.notes = router.labels, router.edge_labels, router.notes
        self.lanes = router.lanes
        self._frame()

    def _frame(self) -> None:
        bounds = QRectF()
        for item in self.items.values():
            bounds = bounds.united(item.rect())
        for label in list(self.labels.values()) + self.edge_labels + self.notes:
            bounds = bounds.united(label.rect)
        for edge in self.edges:
            for point in edge.points:
                bounds = bounds.united(QRectF(point.x() - 1, point.y() - 4, 2, 8))
        self.title = self.spec.name or "Untitled"
        total = self.info.total_params
        drawn = len(self.spec.nodes)
        self.subtitle = f"{drawn} block{'s' if drawn != 1 else ''} \u00b7 {total:,} parameters"
        title_metrics = QFontMetricsF(self.fonts.title_font)
        sub_metrics = QFontMetricsF(self.fonts.subtitle_font)
        self.title_h = title_metrics.height() + sub_metrics.height() + TITLE_GAP
        title_w = max(title_metrics.horizontalAdvance(self.title),
                      sub_metrics.horizontalAdvance(self.subtitle))
        if bounds.isNull():
            bounds = QRectF(0, 0, 0, 0)
        self.bounds = bounds
        self.offset = QPointF(MARGIN - bounds.left(), MARGIN + self.title_h - bounds.top())
        self.size = QSizeF(math.ceil(max(bounds.width(), title_w) + 2 * MARGIN),
                           math.ceil(bounds.height() + self.title_h + 2 * MARGIN))

    def paint(self, painter: QPainter) -> None:
        DiagramPainter(self).paint(painter)
