"""File > Export > ONNX / SavedModel / TFLite in the window: the export runs in the engine's
warm worker (real Keras and tf2onnx there) while the status bar says so; a failure is a dialog."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from desktop.main_window import MainWindow  # noqa: E402
from desktop.recovery import RecoveryStore  # noqa: E402
from desktop.settings import Settings  # noqa: E402

TIMEOUT_MS = 180_000  # the first job waits for the worker to load TensorFlow


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    win = MainWindow(settings=Settings.load(tmp_path / "settings.json"),
                     recovery=RecoveryStore(tmp_path / "recovery"))
    win.warnings = warnings
    qtbot.addWidget(win, before_close_func=lambda w: qtbot.waitUntil(
        lambda: w.task is None or not w.task.is_running(), timeout=TIMEOUT_MS))
    win.open_template("lenet5")
    return win


def export_action(window, text: str):
    [action] = [a for a in window.export_actions if a.text().replace("&", "") == text]
    return action


def choose(monkeypatch, path) -> None:
    """The save dialog answers `path` (the only thing patched)."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))


def test_export_onnx_action_writes_a_file_that_runs(window, qtbot, tmp_path, monkeypatch):
    import onnxruntime

    choose(monkeypatch, tmp_path / "lenet")  # no suffix typed: the dialog's filter adds it
    export_action(window, "ONNX (.onnx)...").trigger()
    out = tmp_path / "lenet.onnx"
    assert window.statusBar().currentMessage() == "Exporting to lenet.onnx..."
    assert not any(action.isEnabled() for action in window.export_actions)  # one at a time
    qtbot.waitUntil(lambda: not window.task.is_running(), timeout=TIMEOUT_MS)
    assert window.warnings == []
    assert window.statusBar().currentMessage() == f"Saved {out}"
    assert all(action.isEnabled() for action in window.export_actions)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    [scores] = session.run(None, {session.get_inputs()[0].name: np.zeros((2, 32, 32, 1), np.float32)})
    assert scores.shape == (2, 10)


def test_a_failed_export_is_a_dialog(window, qtbot, tmp_path, monkeypatch):
    choose(monkeypatch, tmp_path / "not here" / "lenet_savedmodel")
    export_action(window, "TensorFlow SavedModel (folder)...").trigger()
    qtbot.waitUntil(lambda: not window.task.is_running(), timeout=TIMEOUT_MS)
    assert len(window.warnings) == 1 and "does not exist" in window.warnings[0]
    assert "Traceback" not in window.warnings[0]
    assert not (tmp_path / "not here").exists()
