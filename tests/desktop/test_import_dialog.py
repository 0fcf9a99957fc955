"""A refused import in the window: the one-line summary in a message box, and every layer that
blocks it under Show Details (the engine sends them as the lines after the first)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from desktop.main_window import MainWindow  # noqa: E402
from desktop.recovery import RecoveryStore  # noqa: E402
from desktop.settings import Settings  # noqa: E402

# Written by a separate Python: this test process stays free of Keras (the window's is).
REFUSED_MODEL = """
import sys, keras
inputs = keras.Input((8, 8, 2), name="image")
x = keras.layers.GaussianNoise(0.1, name="noise")(inputs)
x = keras.layers.Conv2D(2, 1, kernel_regularizer=keras.regularizers.L1(0.1), name="l1_conv")(x)
keras.Model(inputs, keras.layers.Flatten()(x), name="refused").save(sys.argv[1])
"""


@pytest.fixture
def dialogs(monkeypatch):
    """Plain warnings and message boxes (their text and details), collected instead of shown."""
    shown = {"warnings": [], "boxes": []}
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown["warnings"].append(text))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown["boxes"].append(
        (box.windowTitle(), box.text(), box.detailedText())) or QMessageBox.StandardButton.Ok)
    return shown


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(settings=Settings.load(tmp_path / "settings.json"),
                     recovery=RecoveryStore(tmp_path / "recovery"))
    qtbot.addWidget(win)
    win.open_template("lenet5")
    return win


def test_a_refusal_shows_its_summary_with_the_layers_as_details(window, dialogs):
    window._import_failed("Cannot import m: 2 layer types ...\n  a (GaussianNoise): not a CNN "
                          "Studio block\n  b (Conv2D): kernel_regularizer = L1 is not supported")
    assert dialogs["boxes"] == [("CNN Studio", "Cannot import m: 2 layer types ...",
                                 "a (GaussianNoise): not a CNN Studio block\n"
                                 "b (Conv2D): kernel_regularizer = L1 is not supported")]
    window._import_failed("Cannot read x.keras: permission denied.")  # no details: a plain warning
    assert dialogs["warnings"] == ["Cannot read x.keras: permission denied."]


@pytest.mark.slow  # the dialog itself is tested above; this adds the real worker round trip
def test_importing_a_refused_model_through_the_engine(window, dialogs, qtbot, tmp_path):
    path = tmp_path / "refused.keras"
    subprocess.run([sys.executable, "-c", REFUSED_MODEL, str(path)], check=True, timeout=300,
                   capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    before = window.document.spec
    window.import_model(path)
    with qtbot.waitSignal(window.task.failed, timeout=180_000):
        pass
    [(title, summary, details)] = dialogs["boxes"]
    assert summary == ("Cannot import refused: 2 layer types have no exact CNN Studio equivalent: "
                       "GaussianNoise (1 layer), Conv2D with kernel_regularizer=L1 (1 layer)")
    assert details.splitlines() == [
        "noise (GaussianNoise): not a CNN Studio block",
        "l1_conv (Conv2D): kernel_regularizer = L1 is not supported (only L2 weight decay is)"]
    assert window.document.spec is before  # the open network stays
    assert window.import_action.isEnabled()
