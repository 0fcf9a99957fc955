"""Guards against a Qt binding that corrupts Python's reference counts (PySide6 6.12.0 on
Python 3.11 drops a reference to None on every void call, so a long session crashes)."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QImage, QPainter  # noqa: E402

from desktop.main_window import MainWindow  # noqa: E402


def test_painting_the_canvas_keeps_reference_counts_intact(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.open_template("googlenet-mini")
    image = QImage(1200, 900, QImage.Format.Format_ARGB32)
    before = sys.getrefcount(None)
    for _ in range(5):
        painter = QPainter(image)
        window.scene.render(painter)
        painter.end()
    assert sys.getrefcount(None) - before > -50
