"""The window's file side: recent files, remembered layout, crash recovery, and Keras
import/export running in a worker process."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox, QSplitter  # noqa: E402

from desktop.main_window import MainWindow  # noqa: E402
from desktop.recovery import RecoveryStore  # noqa: E402
from desktop.settings import Settings  # noqa: E402
from engine.graph.edits import SetParams  # noqa: E402
from engine.graph.shapes import infer  # noqa: E402


@pytest.fixture
def dialogs(monkeypatch):
    answers = {"question": QMessageBox.StandardButton.Discard, "warnings": []}
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers["question"])
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: answers["warnings"].append(text))
    return answers


def make_window(qtbot, tmp_path, template="lenet5"):
    window = MainWindow(settings=Settings.load(tmp_path / "settings.json"),
                        recovery=RecoveryStore(tmp_path / "recovery"))
    qtbot.addWidget(window)
    if template:
        window.open_template(template)
    return window


def test_recent_files_and_window_layout_are_remembered(qtbot, tmp_path, dialogs):
    window = make_window(qtbot, tmp_path)
    project = tmp_path / "mine.json"
    window.document.save(project)
    assert [a.text() for a in window.recent_menu.actions()] == ["mine.json"]
    window.show_panel("Problems", False)
    window.workspaces.show_workspace("train")
    train = window.findChild(QSplitter, "train")
    train.setSizes([420, 900])
    remembered = train.sizes()
    window.close()
    again = make_window(qtbot, tmp_path)
    assert again.settings.recent_files == [str(project)]
    assert [a.text() for a in again.recent_menu.actions()] == ["mine.json"]
    assert again.problems.isHidden() and not again.panel_actions["Problems"].isChecked()
    assert again.workspaces.current == "train"
    assert again.findChild(QSplitter, "train").sizes() == remembered


def test_unsaved_edits_are_offered_back_after_a_crash(qtbot, tmp_path, dialogs):
    window = make_window(qtbot, tmp_path)
    conv = window.document.spec.nodes[1]
    window.document.apply(SetParams(conv.id, {"filters": 9}), "edit")
    assert window.autosave.save_now()
    on_screen = window.document.spec
    # A new session (as after a crash: the first window never closed cleanly).
    dialogs["question"] = QMessageBox.StandardButton.Yes
    restarted = make_window(qtbot, tmp_path, template=None)
    assert restarted.offer_recovery()
    assert restarted.document.spec == on_screen and restarted.document.is_modified


def test_export_and_import_run_in_a_worker(qtbot, tmp_path, dialogs):
    window = make_window(qtbot, tmp_path)
    window.runs_root_override = tmp_path / "runs"  # the import's run goes here
    model = tmp_path / "lenet.keras"
    window.export_model("keras", model)
    with qtbot.waitSignal(window.task.finished, timeout=180_000):
        pass
    assert model.exists()
    window.import_model(model)
    with qtbot.waitSignal(window.task.finished, timeout=180_000):
        pass
    assert infer(window.document.spec).total_params == 61_706
    assert "Imported" in window.statusBar().currentMessage()
    window.import_model(tmp_path / "missing.keras")
    with qtbot.waitSignal(window.task.failed, timeout=180_000):
        pass
    assert dialogs["warnings"]


def test_export_refuses_a_broken_network(qtbot, tmp_path, dialogs):
    window = make_window(qtbot, tmp_path)
    conv = window.document.spec.nodes[1]
    window.document.apply(SetParams(conv.id, {"kernel_size": [40, 40]}), "break")
    window.export_dialog("python")
    assert "Fix the" in dialogs["warnings"][-1]
