"""The real main window, driven offscreen: drag, drop, connect, edit, undo, fix, files."""

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from desktop.main_window import MainWindow  # noqa: E402
from desktop.style import MIME_BLOCK  # noqa: E402
from engine.graph.edits import SetParams  # noqa: E402
from engine.graph.io import load_spec  # noqa: E402
from engine.graph.validate import ERROR  # noqa: E402
from engine.templates import load_template  # noqa: E402


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot, monkeypatch):
    # Never block on a modal dialog in tests: answer "Discard" and record warnings.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    win = MainWindow()
    win.warnings = warnings
    qtbot.addWidget(win)
    win.open_template("lenet5")
    win.show()
    qtbot.waitExposed(win)
    return win


def node_named(window, name):
    return next(n for n in window.document.spec.nodes if n.name == name)


def drop_payload(window, payload, scene_point):
    """What a real palette drag does at the end: enter, move and drop events on the viewport."""
    mime = QMimeData()
    mime.setData(MIME_BLOCK, json.dumps(payload).encode("utf-8"))
    viewport = window.view.viewport()
    point = window.view.mapFromScene(scene_point)
    actions = Qt.DropAction.CopyAction
    for event in (QDragEnterEvent(point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier),
                  QDragMoveEvent(point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)):
        QApplication.sendEvent(viewport, event)
    drop = QDropEvent(QPointF(point), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)


def test_the_window_opens_with_lenet5_without_tensorflow(window):
    assert window.document.spec.name == "LeNet-5"
    assert "61,706 params" in window.totals.text()
    assert len(window.scene.blocks) == 9 and len(window.scene.edges) == 8
    assert "LeNet-5" in window.windowTitle()


def test_drag_from_palette_onto_empty_canvas_adds_a_block(window):
    before = len(window.document.spec.nodes)
    drop_payload(window, {"type": "Dropout", "params": {"rate": 0.25}, "name": None}, QPointF(400, 600))
    spec = window.document.spec
    assert len(spec.nodes) == before + 1
    added = spec.nodes[-1]
    assert added.type == "Dropout" and added.params["rate"] == 0.25
    assert spec.layout[added.id][1] > 400  # placed where it was dropped


def test_drop_on_an_edge_inserts_and_rewires(window):
    spec = window.document.spec
    c1, s2 = node_named(window, "C1"), node_named(window, "S2")
    edge = next(e for e in spec.edges if e.source[0] == c1.id and e.target[0] == s2.id)
    midpoint = window.scene.edges[edge].path().pointAtPercent(0.5)
    drop_payload(window, {"type": "BatchNormalization", "params": {}, "name": None}, midpoint)
    spec = window.document.spec
    bn = spec.nodes[-1]
    assert bn.type == "BatchNormalization"
    assert any(e.source[0] == c1.id and e.target[0] == bn.id for e in spec.edges)
    assert any(e.source[0] == bn.id and e.target[0] == s2.id for e in spec.edges)
    assert not [d for d in window.document.diagnostics if d.severity == ERROR]


def test_connect_ports_with_the_mouse(window, qtbot):
    spec = window.document.spec
    c3 = node_named(window, "C3")
    edge = next(e for e in spec.edges if e.target[0] == c3.id)
    window.scene.select_nodes([])
    window.scene.clearSelection()
    for item in window.scene.items():
        item.setSelected(False)
    window.document.apply(__import__("engine.graph.edits", fromlist=["Disconnect"]).Disconnect(edge), "cut")
    assert any("has no input" in d.message for d in window.document.diagnostics)
    window.view.fit()
    source = window.scene.blocks[edge.source[0]].output_anchor()
    target = window.scene.blocks[c3.id].input_anchor(0)
    viewport = window.view.viewport()
    start, end = window.view.mapFromScene(source), window.view.mapFromScene(target)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, (start + end) / 2)
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert edge in window.document.spec.edges
    assert not [d for d in window.document.diagnostics if d.severity == ERROR]


def test_refused_connection_shows_a_status_message(window):
    output, c1 = node_named(window, "output"), node_named(window, "C1")
    assert not window.scene.connect_ports(output.id, c1.id, 0)  # port used, and a cycle
    assert "already connected" in window.statusBar().currentMessage()


def test_edit_in_inspector_changes_shapes_and_undo_redo_restores_exactly(window, qtbot):
    original = window.document.spec
    c1 = node_named(window, "C1")
    window.scene.select_nodes([c1.id])
    assert window.inspector.isVisible()
    window.document.apply(SetParams(c1.id, {"filters": 8}), "Change filters")
    assert window.document.info.nodes[c1.id].output_shape == (28, 28, 8)
    assert "28x28x8" in window.scene.blocks[c1.id].shape_text
    window.scene.delete_selection()
    assert not window.document.spec.has_node(c1.id)
    stack = window.document.undo_stack
    stack.undo()
    stack.undo()
    assert window.document.spec == original
    stack.redo()
    stack.redo()
    assert not window.document.spec.has_node(c1.id)


def test_move_of_several_blocks_is_one_undo_step(window):
    ids = [node_named(window, name).id for name in ("C1", "S2")]
    window.scene.select_nodes(ids)
    before = dict(window.document.spec.layout)
    window.scene._press_positions = {i: window.scene.blocks[i].pos() for i in ids}
    for node_id in ids:
        window.scene.blocks[node_id].moveBy(100, 40)
    window.scene._commit_moves()
    assert all(window.document.spec.layout[i] != before[i] for i in ids)
    window.document.undo_stack.undo()
    assert dict(window.document.spec.layout) == before


def test_fix_button_repairs_a_mismatched_residual(window, qtbot):
    window.open_template("resnet-mini")
    spec = window.document.spec
    projection = node_named(window, "block2_projection")
    projection_bn = node_named(window, "block2_projection_bn")
    add = node_named(window, "block2_add")
    # Remove the projection shortcut: the Add now gets 32x32x16 and 16x16x32.
    from engine.graph.edits import CompositeEdit, Connect, RemoveNodes
    from engine.graph.spec import EdgeSpec
    block1_out = node_named(window, "block1_out")
    port = next(e.target[1] for e in spec.edges if e.source[0] == projection_bn.id)
    window.document.apply(CompositeEdit((RemoveNodes((projection.id, projection_bn.id)),
                                         Connect(EdgeSpec((block1_out.id, 0), (add.id, port))))), "break")
    problem = next(d for d in window.document.diagnostics if d.node_id == add.id)
    assert "same shape" in problem.message and problem.fix
    window.problems.apply_fix(problem) if hasattr(window.problems, "apply_fix") else \
        window.document.apply(CompositeEdit(problem.fix), problem.fix_label)
    assert not [d for d in window.document.diagnostics if d.severity == ERROR]


def test_save_reopen_and_compare(window, tmp_path):
    c1 = node_named(window, "C1")
    window.document.apply(SetParams(c1.id, {"filters": 12}), "edit")
    assert window.isWindowModified()
    path = tmp_path / "net.json"
    window.document.save(path)
    assert not window.isWindowModified() and "net" in window.windowTitle()
    expected = window.document.spec
    window.open_template("vgg-mini")
    assert window.open_path(path)
    assert window.document.spec == expected == load_spec(path)


def test_corrupt_file_shows_a_message_and_keeps_the_open_project(window, tmp_path):
    c1 = node_named(window, "C1")
    window.document.apply(SetParams(c1.id, {"filters": 7}), "edit")
    before = window.document.spec
    broken = tmp_path / "broken.json"
    broken.write_text('{"format_version": 1, "nodes": [{"id": "a", "type": "Conv9D"}]}')
    assert not window.open_path(broken)
    assert window.warnings and "Conv9D" in window.warnings[-1]
    assert window.document.spec == before and window.document.is_modified


def test_residual_composite_inserts_collapses_and_expands(window):
    drop_payload(window, {"composite": "residual"}, QPointF(0, 700))
    spec = window.document.spec
    [group] = spec.groups
    assert len(group.node_ids) == 7
    window.scene.set_group_collapsed(group.id, True)
    card = window.scene.group_cards[group.id]
    assert card.isVisible()
    assert not any(window.scene.blocks[n].isVisible() for n in group.node_ids)
    window.scene.set_group_collapsed(group.id, False)
    assert all(window.scene.blocks[n].isVisible() for n in group.node_ids)
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert not window.document.spec.groups


def test_copy_paste_duplicates_with_new_ids(window):
    window.scene.select_nodes([node_named(window, "C1").id, node_named(window, "S2").id])
    before = len(window.document.spec.nodes)
    window.scene.duplicate_selection()
    spec = window.document.spec
    assert len(spec.nodes) == before + 2
    new = spec.nodes[-2:]
    assert {n.name for n in new} == {"C1_1", "S2_1"}
    assert any(e.source[0] == new[0].id and e.target[0] == new[1].id for e in spec.edges)


def test_auto_layout_is_one_undo_step(window):
    before = dict(window.document.spec.layout)
    window.view.auto_layout("LR")
    assert dict(window.document.spec.layout) != before
    window.document.undo_stack.undo()
    assert dict(window.document.spec.layout) == before


def test_every_template_opens_cleanly(window):
    for template in ("vgg-mini", "nin-mini", "googlenet-mini", "resnet-mini", "deep-mlp", "lenet5"):
        window.open_template(template)
        assert window.document.spec == load_template(template)
        assert len(window.scene.blocks) == len(window.document.spec.nodes)


GUI_SESSION = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
app = QApplication([])
from desktop.main_window import MainWindow
from engine.graph.edits import SetParams
window = MainWindow()
window.show()
for key in ("lenet5", "vgg-mini", "nin-mini", "googlenet-mini", "resnet-mini", "deep-mlp"):
    window.open_template(key)
    first = window.document.spec.nodes[1]
    window.scene.select_nodes([first.id])
    app.processEvents()
window.document.apply(SetParams(first.id, {"units": 5}), "edit")
window.view.auto_layout("LR")
window.document.undo_stack.undo()
app.processEvents()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
window.deleteLater()
app.processEvents()
"""


def test_a_whole_gui_session_never_imports_tensorflow():
    # A fresh process: other tests in this run import Keras on purpose.
    result = subprocess.run([sys.executable, "-c", GUI_SESSION], capture_output=True, text=True,
                            timeout=120, cwd=str(ROOT))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
