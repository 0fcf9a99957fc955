"""Render the app icon (resources/icons/cnn-studio.svg) into every file the installers need.

    .venv/bin/python packaging/make_icons.py

- Linux: hicolor PNGs (resources/icons/hicolor/<n>x<n>/apps/cnn-studio.png) beside the SVG;
- Windows: cnn-studio.ico (16-256 px);
- macOS: cnn-studio.icns (16-1024 px).
The outputs are committed, so building a package renders nothing; rerun this after editing
the SVG (tests/packaging checks every file exists with the sizes its OS expects).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ICONS_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"
SOURCE_SVG = ICONS_DIR / "cnn-studio.svg"
LINUX_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
WINDOWS_SIZES = (16, 24, 32, 48, 64, 128, 256)
MACOS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def hicolor_png(size: int) -> Path:
    return ICONS_DIR / "hicolor" / f"{size}x{size}" / "apps" / "cnn-studio.png"


def render_png(size: int) -> bytes:
    """The SVG drawn at size x size pixels, antialiased, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SOURCE_SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SOURCE_SVG}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs it
    sizes = sorted(set(LINUX_SIZES) | set(WINDOWS_SIZES) | set(MACOS_SIZES))
    images = {size: Image.open(io.BytesIO(render_png(size))).convert("RGBA") for size in sizes}
    for size in LINUX_SIZES:
        path = hicolor_png(size)
        path.parent.mkdir(parents=True, exist_ok=True)
        images[size].save(path, optimize=True)
    largest = max(WINDOWS_SIZES)
    images[largest].save(ICONS_DIR / "cnn-studio.ico", sizes=[(s, s) for s in WINDOWS_SIZES],
                         append_images=[images[s] for s in WINDOWS_SIZES if s != largest])
    largest = max(MACOS_SIZES)
    images[largest].save(ICONS_DIR / "cnn-studio.icns",
                         append_images=[images[s] for s in MACOS_SIZES if s != largest])
    print(f"wrote {len(LINUX_SIZES)} PNGs, cnn-studio.ico and cnn-studio.icns under {ICONS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
