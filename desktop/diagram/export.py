"""The public drawing API: the figure's size, painting it, and PNG/SVG export."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, QSize, QSizeF
from PySide6.QtGui import QImage, QPainter

from engine.errors import ProjectError
from engine.graph.io import atomic_write_bytes
from engine.graph.shapes import NetworkInfo
from engine.graph.spec import NetworkSpec
from desktop.diagram.look import BACKGROUND
from desktop.diagram.renderer import DiagramRenderer


def diagram_size(spec: NetworkSpec, info: NetworkInfo | None = None) -> QSizeF:
    """The size, in pixels at scale 1, of the figure `paint_diagram` draws."""
    return DiagramRenderer(spec, info).size


def paint_diagram(painter: QPainter, spec: NetworkSpec, info: NetworkInfo | None = None) -> None:
    """Draw the whole figure with its top-left corner at the painter's origin (white
    background included), at scale 1: scale the painter for other sizes."""
    DiagramRenderer(spec, info).paint(painter)


MAX_IMAGE_SIDE = 16_000  # pixels; larger exports get a smaller scale


def render_diagram_image(spec: NetworkSpec, scale: float = 2.0,
                         info: NetworkInfo | None = None) -> QImage:
    renderer = DiagramRenderer(spec, info)
    size = renderer.size
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ProjectError(f"The image scale must be a positive number, not {scale!r}.")
    scale = min(scale, MAX_IMAGE_SIDE / max(size.width(), size.height(), 1.0))
    pixels = QSize(max(1, math.ceil(size.width() * scale)), max(1, math.ceil(size.height() * scale)))
    image = QImage(pixels, QImage.Format.Format_ARGB32_Premultiplied)
    if image.isNull():
        raise ProjectError(f"Cannot make a {pixels.width()}x{pixels.height()} image: not enough memory.")
    image.setDevicePixelRatio(1.0)
    image.setDotsPerMeterX(round(96 * scale / 0.0254))
    image.setDotsPerMeterY(round(96 * scale / 0.0254))
    image.fill(BACKGROUND)
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        renderer.paint(painter)
    finally:
        painter.end()
    return image


def export_diagram_png(spec: NetworkSpec, path, scale: float = 2.0,
                       info: NetworkInfo | None = None) -> None:
    """Write the figure as a PNG, `scale` pixels per diagram unit (2 = sharp on high-DPI
    screens and in print). Atomic: a failure leaves any old file as it was."""
    image = render_diagram_image(spec, scale, info)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, "PNG")
    buffer.close()
    if not ok:
        raise ProjectError(f"Cannot encode the diagram as PNG for {path}.")
    atomic_write_bytes(Path(path), bytes(data))


def export_diagram_svg(spec: NetworkSpec, path, info: NetworkInfo | None = None) -> None:
    """Write the figure as an SVG (vector: text stays text). Atomic, like the PNG."""
    from PySide6.QtSvg import QSvgGenerator

    renderer = DiagramRenderer(spec, info)
    size = renderer.size
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(math.ceil(size.width()), math.ceil(size.height())))
    generator.setViewBox(QRectF(QPointF(0, 0), size))
    generator.setResolution(96)
    generator.setTitle(renderer.title)
    generator.setDescription(
        f"CNN Studio building-block diagram of {renderer.title}: {renderer.subtitle}."
        + (f" {spec.description}" if spec.description else ""))
    painter = QPainter()
    if not painter.begin(generator):
        buffer.close()
        raise ProjectError(f"Cannot draw the SVG diagram for {path}.")
    try:
        renderer.paint(painter)
    finally:
        painter.end()
    buffer.close()
    if data.isEmpty():
        raise ProjectError(f"Cannot encode the diagram as SVG for {path}.")
    atomic_write_bytes(Path(path), bytes(data))
