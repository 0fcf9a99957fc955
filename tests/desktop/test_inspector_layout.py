"""The Properties panel in use: the wheel scrolls and never edits, nothing is clipped at the
width the window gives it (~320 px at 1280x800)."""

import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QApplication, QComboBox, QLabel,
                               QLineEdit, QWidget)

from engine.blocks.catalog import BLOCKS
from engine.graph.edits import AddNode, new_node
from engine.graph.spec import NetworkSpec
from engine.templates import load_template
from desktop.document import ProjectDocument
from desktop.panels.inspector import InspectorPanel

EDITOR_TYPES = (QAbstractSpinBox, QComboBox, QLineEdit, QAbstractButton)


def one_block_document(type_name: str) -> tuple[ProjectDocument, str]:
    spec = NetworkSpec()
    node = new_node(spec, type_name)
    return ProjectDocument(AddNode(node).apply(spec)), node.id


def inspector(qtbot, document: ProjectDocument, width: int, height: int = 600) -> InspectorPanel:
    panel = InspectorPanel(document)
    qtbot.addWidget(panel)
    panel.resize(width, height)
    panel.show()
    return panel


def settle(panel: InspectorPanel) -> None:
    """Let queued layout work and the form's refit run."""
    QApplication.processEvents()
    panel._refit.stop()
    panel._fit_form()
    QApplication.processEvents()


def wheel(widget: QWidget, steps: int = -1) -> QWidget:
    """A wheel turn over the middle of `widget`, delivered as Qt delivers one from the mouse:
    to the widget under the pointer, then to each parent while it is ignored (QApplication
    does not propagate a synthesized wheel event itself). Returns the widget that took it."""
    local = QPointF(widget.rect().center())
    global_position = QPointF(widget.mapToGlobal(local.toPoint()))
    target = widget
    while True:
        event = QWheelEvent(local, global_position, QPoint(0, 0), QPoint(0, 120 * steps),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        handled = QApplication.sendEvent(target, event)  # False from a disabled widget
        if (handled and event.isAccepted()) or target.isWindow():
            return target
        local += QPointF(target.pos())
        target = target.parentWidget()


def editors(panel: InspectorPanel) -> list[QWidget]:
    return [w for w in panel.form.findChildren(QWidget) if isinstance(w, EDITOR_TYPES)]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.type)
def test_the_wheel_never_changes_a_value(qtbot, block):
    document, node_id = one_block_document(block.type)
    panel = inspector(qtbot, document, 320, 300)
    panel.show_node(node_id)
    settle(panel)
    found = editors(panel)
    assert found
    before = document.spec
    for editor in found:
        for focused in (False, True):
            if focused:
                editor.setFocus()  # as after a click: a combo keeps the focus after a choice
            for steps in (-1, 1, -1):
                taker = wheel(editor, steps)
                assert taker is not editor and not isinstance(taker, EDITOR_TYPES)
            assert document.spec is before, f"the wheel changed {type(editor).__name__} " \
                                            f"(focused: {focused}) of {block.type}"
    assert document.undo_stack.count() == 0


def test_the_wheel_over_an_editor_scrolls_the_panel(qtbot):
    document, node_id = one_block_document("Conv2D")
    panel = inspector(qtbot, document, 320, 300)
    panel.show_node(node_id)
    settle(panel)
    bar = panel.scroll.verticalScrollBar()
    assert bar.maximum() > 0
    combo = panel.form.fields["activation"].combo
    combo.setFocus()
    bar.setValue(bar.maximum() // 2)
    start = bar.value()
    assert wheel(combo, -1) is panel.scroll.viewport()  # down
    assert bar.value() > start
    assert document.spec.node(node_id).params["activation"] == "relu"


def label_problems(panel: InspectorPanel) -> list[str]:
    problems = []
    viewport = panel.scroll.viewport().width()
    if panel.form.width() > viewport:
        problems.append(f"form {panel.form.width()} px wide in a {viewport} px viewport")
    for label in panel.form.findChildren(QLabel):
        if not label.isVisibleTo(panel) or not label.text():
            continue
        if label.wordWrap():
            if label.height() < label.heightForWidth(label.width()):
                problems.append(f"{label.text()!r} cut off: {label.height()} < "
                                f"{label.heightForWidth(label.width())} px")
        elif label.sizeHint().width() > label.width():
            problems.append(f"{label.text()!r} clipped: {label.sizeHint().width()} > {label.width()} px")
        if label.geometry().right() > label.parentWidget().width():
            problems.append(f"{label.text()!r} runs past its box")
    return problems


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.type)
def test_every_form_fits_300_px(qtbot, block):
    document, node_id = one_block_document(block.type)
    panel = inspector(qtbot, document, 300)
    panel.show_node(node_id)
    settle(panel)
    assert panel.form.minimumSizeHint().width() <= panel.scroll.viewport().width()
    assert label_problems(panel) == []


def test_switching_blocks_keeps_every_label_whole(qtbot):
    """The tester's case: the InputLayer form after another block's (and back), at 300 px."""
    document = ProjectDocument(load_template("lenet5"))
    panel = inspector(qtbot, document, 300)
    for node_id in ("n2", "n1", "n2", "n8", "n1"):
        panel.show_node(node_id)
        settle(panel)
        assert label_problems(panel) == [], node_id


def test_problems_added_later_are_not_cut_off(qtbot):
    from engine.graph.edits import SetParams

    document = ProjectDocument(load_template("lenet5"))
    panel = inspector(qtbot, document, 300)
    panel.show_node("n2")
    settle(panel)
    document.apply(SetParams("n2", {"kernel_size": [40, 40]}), "break")
    settle(panel)
    assert any("larger than the input height" in label.text() for label in panel.form.findChildren(QLabel))
    assert label_problems(panel) == []
