import os

# Quiet TensorFlow's C++ start-up chatter and keep tests on the CPU.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# TensorBoard logs cost a second per run; the one test of them turns them on.
os.environ.setdefault("CNN_STUDIO_TENSORBOARD", "0")


def pytest_sessionfinish(session, exitstatus):
    """End the warm engine workers; release the clipboard before the interpreter exits (see
    desktop.__main__)."""
    import sys

    workers = sys.modules.get("desktop.workers")
    if workers is not None and workers._shared is not None:
        workers._shared.shutdown()
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        from desktop.__main__ import release_clipboard

        release_clipboard(app)
