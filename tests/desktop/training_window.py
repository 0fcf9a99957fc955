"""The real main window set up for training tests: dialogs answered, runs in tmp_path."""

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.main_window import MainWindow

WORKER_TIMEOUT = 180_000  # ms: the worker imports TensorFlow (a few seconds) then trains


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """LeNet-5 loaded; QMessageBox.question answers `window.answers["question"]` (No) and
    warnings are collected in `window.answers["warnings"]`; runs go to tmp_path/runs."""
    answers = {"question": QMessageBox.StandardButton.No, "warnings": [], "questions": []}

    def question(parent, title, text, *args, **kwargs):
        answers["questions"].append(text)
        return answers["question"]

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: answers["warnings"].append(text))
    win = MainWindow()
    win.answers = answers
    win.runs_root_override = tmp_path / "runs"
    qtbot.addWidget(win)
    win.open_template("lenet5")
    win.show()
    yield win
    if win.trainer.is_running():
        win.trainer.kill()


def set_training_form(window, epochs, max_samples=300, dataset="digits"):
    panel = window.training
    panel.set_dataset(dataset)
    panel.epochs_spin.setValue(epochs)
    panel.max_samples_spin.setValue(max_samples)
