"""Start the CNN Studio window: `python -m desktop [PROJECT.json]` or `cnn-studio`.

With CNN_STUDIO_QUIT_AFTER_FIRST_PAINT=1 the app prints `first paint` and quits as soon as
the canvas has painted: benchmarks/bench_startup.py times a source and a frozen install so.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # the frozen app's worker processes start here too
    argv = sys.argv[1:] if argv is None else argv
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import APP_NAME, MainWindow
    from desktop.recovery import RecoveryStore
    from desktop.settings import Settings
    from desktop.theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("CNN Studio")
    app.setDesktopFileName("cnn-studio")  # Wayland app id = the installed .desktop entry
    app.setWindowIcon(app_icon())
    settings = Settings.load()
    apply_theme(app, settings.theme)
    window = MainWindow(settings=settings, recovery=RecoveryStore())
    quick_exit = os.environ.get("CNN_STUDIO_QUIT_AFTER_FIRST_PAINT") == "1"
    if quick_exit:
        quit_after_first_paint(app, window.view.viewport())
    window.show()
    # Unsaved work from a crashed session comes first; opening anything else would drop it.
    if not window.offer_recovery():
        window.open_template("lenet5")
        if argv:
            window.open_path(argv[0])
    window.view.show_network()
    if settings.show_guide and not quick_exit:  # the first start: how to get to a first run
        QTimer.singleShot(400, window.show_guide)
    status = app.exec()
    window.engine.shutdown()  # the warm workers end with the app (a run stays resumable)
    window.deleteLater()  # tear the window down while the application still exists
    app.processEvents()
    release_clipboard(app)
    return status


def app_icon():
    from PySide6.QtGui import QIcon

    from engine.paths import hicolor_icon_files

    icon = QIcon()
    for path in hicolor_icon_files():
        icon.addFile(str(path))
    return icon


def quit_after_first_paint(app, widget) -> None:
    from PySide6.QtCore import QEvent, QObject

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                print("first paint", flush=True)
                app.exit(0)
            return False

    watcher = FirstPaint(widget)
    widget.installEventFilter(watcher)


def release_clipboard(app) -> None:
    """Drop what we put on the clipboard before Qt shuts down: PySide6 crashes at exit when
    the clipboard still holds our mime data (seen on 6.11 and 6.12)."""
    from desktop.style import MIME_NODES

    clipboard = app.clipboard()
    if clipboard is None:
        return
    mime = clipboard.mimeData()
    ours = clipboard.ownsClipboard() or (mime is not None and mime.hasFormat(MIME_NODES))
    if ours:
        clipboard.clear()


if __name__ == "__main__":
    sys.exit(main())
