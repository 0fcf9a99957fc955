import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

import subprocess
import sys

import pytest
from PySide6.QtCore import QMimeData, QRect, Qt
from PySide6.QtWidgets import QApplication, QLabel

from engine.blocks.catalog import BLOCKS, BLOCKS_BY_TYPE, CATEGORIES, PRESETS
from engine.blocks.composites import COMPOSITES
from engine.graph.edits import AddNode, Connect, RemoveNodes, SetParams, new_node
from engine.graph.spec import EdgeSpec, NetworkSpec
from engine.graph.validate import ERROR, WARNING
from engine.templates import load_template, template_keys
from desktop.document import ProjectDocument
from desktop.panels.inspector import (EMPTY_HINT, FIELD_KINDS, InspectorPanel, L2Field,
                                      OptionalPairField, ShapeField)
from desktop.panels.palette import (COMPOSITE_CATEGORY, PalettePanel, item_payload,
                                    payload_from_mime, payload_to_mime)
from desktop.panels.problems import ProblemsPanel, summary_text
from desktop.style import MIME_BLOCK

C1 = "n2"  # lenet5's first convolution: 32x32x1 -> 28x28x6 with 6 @ 5x5


# -- helpers ----------------------------------------------------------------------------------

def lenet_document(**changes) -> ProjectDocument:
    spec = load_template("lenet5")
    for node_id, params in changes.items():
        spec = SetParams(node_id, params).apply(spec)
    return ProjectDocument(spec)


def inspector_on(qtbot, document: ProjectDocument, node_id: str) -> InspectorPanel:
    panel = InspectorPanel(document)
    qtbot.addWidget(panel)
    panel.resize(300, 700)
    panel.show_node(node_id)
    return panel


def analysis_text(panel: InspectorPanel) -> str:
    return " ".join(label.text() for label in panel.form.findChildren(QLabel) if label.isVisibleTo(panel))


# -- palette ----------------------------------------------------------------------------------

@pytest.fixture
def palette(qtbot):
    panel = PalettePanel()
    qtbot.addWidget(panel)
    panel.resize(260, 600)
    panel.show()
    return panel


def test_palette_lists_every_block_preset_and_composite_by_category(palette):
    labels = [item.text(0) for item in palette.entry_items()]
    expected = [b.label for b in BLOCKS] + [p.label for p in PRESETS] + [c.label for c in COMPOSITES]
    assert sorted(labels) == sorted(expected)
    headers = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert headers == [c for c in CATEGORIES if any(b.category == c for b in BLOCKS)] + [COMPOSITE_CATEGORY]
    # The preset follows its block, in the block's category.
    assert labels[labels.index("Conv 2D") + 1] == "1x1 Conv"
    for item in palette.entry_items():
        assert not item.icon(0).isNull()
        assert item.toolTip(0)
        assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
        assert item.parent().isExpanded()
    for index in range(palette.tree.topLevelItemCount()):
        assert not palette.tree.topLevelItem(index).flags() & Qt.ItemFlag.ItemIsDragEnabled


def test_palette_tooltips_name_the_keras_type(palette):
    conv = next(i for i in palette.entry_items() if i.text(0) == "Conv 2D")
    assert BLOCKS_BY_TYPE["Conv2D"].help in conv.toolTip(0)
    assert "keras.layers.Conv2D" in conv.toolTip(0)


def test_palette_search_filters_by_label_type_and_help(palette):
    palette.search.setText("pool")
    visible = {item.text(0) for item in palette.visible_entry_items()}
    assert {"Max pooling", "Average pooling", "Global average pooling"} <= visible
    assert "Conv 2D" not in visible and "Dense" not in visible
    dense_header = next(palette.tree.topLevelItem(i) for i in range(palette.tree.topLevelItemCount())
                        if palette.tree.topLevelItem(i).text(0) == "Dense")
    assert dense_header.isHidden()

    palette.search.setText("BatchNormalization")  # the Keras type
    assert [i.text(0) for i in palette.visible_entry_items()] == ["Batch norm"]
    palette.search.setText("overfitting")  # help text
    assert "Dropout" in {i.text(0) for i in palette.visible_entry_items()}
    palette.search.setText("no such block")
    assert palette.visible_entry_items() == []
    palette.search.clear()
    assert len(palette.visible_entry_items()) == len(palette.entry_items())
    assert not dense_header.isHidden()


def test_payloads_round_trip_through_mime(palette):
    payloads = [item_payload(item) for item in palette.entry_items()]
    assert {"type": "Conv2D", "params": {}, "name": None} in payloads
    assert {"type": "Conv2D", "params": {"kernel_size": [1, 1], "filters": 16}, "name": "conv1x1"} in payloads
    assert {"composite": "residual"} in payloads
    for payload in payloads:
        mime = payload_to_mime(payload)
        assert mime.hasFormat(MIME_BLOCK)
        assert payload_from_mime(mime) == payload


def test_drag_mime_data_carries_the_item_payload(palette):
    item = next(i for i in palette.entry_items() if i.text(0) == "1x1 Conv")
    mime = palette.tree.mimeData([item])
    assert payload_from_mime(mime) == {"type": "Conv2D", "params": {"kernel_size": [1, 1], "filters": 16},
                                       "name": "conv1x1"}


def test_payload_from_mime_rejects_foreign_data():
    assert payload_from_mime(QMimeData()) is None
    for raw in (b"not json", b"[1, 2]", b'{"type": "NoSuchLayer"}', b"\xff\xfe"):
        mime = QMimeData()
        mime.setData(MIME_BLOCK, raw)
        assert payload_from_mime(mime) is None


def test_double_click_emits_block_requested(qtbot, palette):
    item = next(i for i in palette.entry_items() if i.text(0) == "Dense")
    palette.tree.scrollToItem(item)
    center = palette.tree.visualItemRect(item).center()
    with qtbot.waitSignal(palette.block_requested, timeout=1000) as blocker:
        # A real double-click is press, release, double-click: the view checks the press.
        qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
        qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert blocker.args == [{"type": "Dense", "params": {}, "name": None}]


def test_enter_on_an_item_emits_block_requested(qtbot, palette):
    item = next(i for i in palette.entry_items() if i.text(0) == "Inception module")
    palette.tree.setCurrentItem(item)
    palette.tree.setFocus()
    with qtbot.waitSignal(palette.block_requested, timeout=1000) as blocker:
        qtbot.keyClick(palette.tree, Qt.Key.Key_Return)
    assert blocker.args == [{"composite": "inception"}]


def test_enter_in_search_adds_the_first_match(qtbot, palette):
    palette.search.setText("residual block")
    with qtbot.waitSignal(palette.block_requested, timeout=1000) as blocker:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == [{"composite": "residual"}]


def test_headers_emit_nothing(qtbot, palette):
    header = palette.tree.topLevelItem(0)
    with qtbot.assertNotEmitted(palette.block_requested):
        palette.tree.itemActivated.emit(header, 0)


# -- inspector --------------------------------------------------------------------------------

def test_inspector_hint_without_selection(qtbot):
    panel = inspector_on(qtbot, lenet_document(), None)
    assert panel.form is None
    assert panel.hint.text() == EMPTY_HINT


@pytest.mark.parametrize("key", template_keys())
def test_inspector_builds_a_form_for_every_block_of_every_template(qtbot, key):
    document = ProjectDocument(load_template(key))
    panel = inspector_on(qtbot, document, None)
    for node in document.spec.nodes:
        panel.show_node(node.id)
        block = BLOCKS_BY_TYPE[node.type]
        assert panel.form.node_id == node.id
        assert list(panel.form.fields) == [spec.name for spec in block.params]
        for spec in block.params:
            assert isinstance(panel.form.fields[spec.name], FIELD_KINDS[spec.kind])
        assert panel.form.name_edit.text() == node.name


def test_every_parameter_kind_has_an_editor():
    kinds = {spec.kind for block in BLOCKS for spec in block.params}
    assert kinds <= set(FIELD_KINDS)


def test_editing_filters_changes_the_spec_and_analysis_and_undo_restores(qtbot):
    document = lenet_document()
    panel = inspector_on(qtbot, document, C1)
    form = panel.form
    assert "28x28x6" in analysis_text(panel)
    assert "156 trainable" in analysis_text(panel)  # 5*5*1*6 + 6
    steps = document.undo_stack.count()

    form.fields["filters"].spin.setValue(32)
    assert document.spec.node(C1).params["filters"] == 32
    assert document.undo_stack.count() == steps + 1
    assert document.undo_stack.undoText() == "Change filters of C1"
    assert panel.form is form  # refreshed in place, not rebuilt
    assert "28x28x32" in analysis_text(panel)
    assert "832 trainable" in analysis_text(panel)  # 5*5*1*32 + 32

    document.undo_stack.undo()
    assert document.spec.node(C1).params["filters"] == 6
    assert form.fields["filters"].spin.value() == 6
    assert "28x28x6" in analysis_text(panel)
    assert document.undo_stack.count() == steps + 1  # the refresh made no new edit


def test_typing_a_number_is_one_undo_step(qtbot):
    document = lenet_document()
    panel = inspector_on(qtbot, document, C1)
    panel.show()
    spin = panel.form.fields["filters"].spin
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "128")
    assert document.undo_stack.count() == 0  # nothing committed while typing
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert document.spec.node(C1).params["filters"] == 128
    assert document.undo_stack.count() == 1


def test_conv_analysis_shows_weight_sharing(qtbot):
    panel = inspector_on(qtbot, lenet_document(), C1)
    text = analysis_text(panel)
    # A dense 32x32x1 -> 28x28x6 mapping: 1024 * 4704 weights + 4704 biases.
    assert "Weights: 156 shared; a dense layer for the same mapping would need 4,821,600" in text
    assert "117,600" in text  # MACs: 28*28*6 outputs * 5*5*1
    assert "5x5 input pixels, step 1x1" in text


def test_flatten_receptive_field_is_the_whole_input(qtbot):
    panel = inspector_on(qtbot, lenet_document(), "n6")
    assert "whole input" in analysis_text(panel)


def test_float_fields_are_editable(qtbot):
    document = ProjectDocument(load_template("resnet-mini"))
    bn = next(n.id for n in document.spec.nodes if n.type == "BatchNormalization")
    panel = inspector_on(qtbot, document, bn)
    epsilon = panel.form.fields["epsilon"].edit
    assert epsilon.text() == "0.001"
    assert panel.form.fields["momentum"].edit.text() == "0.99"
    epsilon.setText("1e-5")
    epsilon.editingFinished.emit()
    assert document.spec.node(bn).params["epsilon"] == pytest.approx(1e-5)
    epsilon.setText("")  # not a number: the shown value comes back, nothing is applied
    epsilon.editingFinished.emit()
    assert document.spec.node(bn).params["epsilon"] == pytest.approx(1e-5)
    assert float(epsilon.text()) == pytest.approx(1e-5)

    document = ProjectDocument(load_template("vgg-mini"))
    dropout = next(n.id for n in document.spec.nodes if n.type == "Dropout")
    panel = inspector_on(qtbot, document, dropout)
    rate = panel.form.fields["rate"].edit
    rate.setText("0.25")
    rate.editingFinished.emit()
    assert document.spec.node(dropout).params["rate"] == 0.25


def test_choice_bool_and_l2_fields(qtbot):
    document = lenet_document()
    panel = inspector_on(qtbot, document, C1)
    fields = panel.form.fields
    combo = fields["activation"].combo
    assert combo.currentText() == "tanh"
    none_index = combo.findText("none")
    assert none_index >= 0
    combo.activated.emit(none_index)
    assert document.spec.node(C1).params["activation"] is None

    fields["use_bias"].check.setChecked(False)
    assert document.spec.node(C1).params["use_bias"] is False

    l2 = fields["kernel_regularizer"]
    assert isinstance(l2, L2Field) and not l2.enabled.isChecked()
    l2.enabled.setChecked(True)
    assert document.spec.node(C1).params["kernel_regularizer"] == L2Field.SUGGESTED
    l2.factor.setText("0.001")
    l2.factor.editingFinished.emit()
    assert document.spec.node(C1).params["kernel_regularizer"] == 0.001
    l2.enabled.setChecked(False)
    assert document.spec.node(C1).params["kernel_regularizer"] is None
    assert document.undo_stack.count() == 5


def test_pool_strides_same_as_pool_size(qtbot):
    document = lenet_document()
    panel = inspector_on(qtbot, document, "n3")  # S2: 2x2 average pooling, strides None
    strides = panel.form.fields["strides"]
    assert isinstance(strides, OptionalPairField)
    assert strides.same.isChecked() and not strides.height.isEnabled()
    assert (strides.height.value(), strides.width.value()) == (2, 2)
    strides.same.setChecked(False)
    assert document.spec.node("n3").params["strides"] == [2, 2]
    strides.height.setValue(1)
    assert document.spec.node("n3").params["strides"] == [1, 2]
    strides.same.setChecked(True)
    assert document.spec.node("n3").params["strides"] is None


def test_variable_size_input_shows_any(qtbot):
    document = lenet_document(n1={"shape": [None, None, 1]})
    panel = inspector_on(qtbot, document, "n1")
    shape = panel.form.fields["shape"]
    assert isinstance(shape, ShapeField)
    assert [spin.text() for spin in shape.spins] == ["any", "any", "1"]
    shape.spins[0].setValue(28)
    assert document.spec.node("n1").params["shape"] == [28, None, 1]
    shape.spins[0].setValue(0)
    assert document.spec.node("n1").params["shape"] == [None, None, 1]


def test_zero_padding_has_four_sides(qtbot):
    spec = load_template("lenet5")
    node = new_node(spec, "ZeroPadding2D")
    document = ProjectDocument(AddNode(node).apply(spec))
    panel = inspector_on(qtbot, document, node.id)
    field = panel.form.fields["padding"]
    field.spins["left"].setValue(3)
    assert document.spec.node(node.id).params["padding"] == [[1, 1], [3, 1]]


def test_rename_and_refuse_empty_names(qtbot):
    document = lenet_document()
    panel = inspector_on(qtbot, document, C1)
    name = panel.form.name_edit
    name.setText("first_conv")
    name.editingFinished.emit()
    assert document.spec.node(C1).name == "first_conv"
    name.setText("   ")
    name.editingFinished.emit()
    assert document.spec.node(C1).name == "first_conv"
    assert name.text() == "first_conv"
    assert document.undo_stack.count() == 1


def test_inspector_follows_undo_and_removal(qtbot):
    document = lenet_document()
    panel = inspector_on(qtbot, document, C1)
    document.apply(SetParams(C1, {"filters": 20}), "external edit")
    assert panel.form.fields["filters"].spin.value() == 20
    document.apply(RemoveNodes((C1,)), "delete")
    assert panel.form is None and panel.node_id is None
    assert panel.hint.isVisibleTo(panel)
    document.undo_stack.undo()  # the node is back, but the selection is the main window's job
    panel.show_node(C1)
    assert panel.form.fields["filters"].spin.value() == 20


def test_inspector_lists_the_node_diagnostics(qtbot):
    document = lenet_document(n2={"kernel_size": [40, 40]})
    panel = inspector_on(qtbot, document, C1)
    text = analysis_text(panel)
    assert "The kernel (40) is larger than the input height (32)" in text
    assert panel.form.fields["kernel_size"].height.value() == 40


# -- problems ---------------------------------------------------------------------------------

def problems_on(qtbot, document: ProjectDocument) -> ProblemsPanel:
    panel = ProblemsPanel(document)
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.show()
    return panel


def test_problems_panel_lists_and_fixes_a_broken_spec(qtbot):
    document = lenet_document(n2={"kernel_size": [40, 40]})
    panel = problems_on(qtbot, document)
    assert panel.summary.text() == "1 error"
    item = panel.tree.topLevelItem(0)
    assert item.text(1) == "C1"
    assert "larger than the input height" in item.text(2)
    button = panel.fix_buttons()[0]
    assert button.toolTip() == "Set padding to 'same'"

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert document.spec.node(C1).params["padding"] == "same"
    assert not [d for d in document.diagnostics if d.severity == ERROR]
    assert panel.summary.text() == "No problems"
    assert panel.tree.topLevelItemCount() == 0
    assert document.undo_stack.count() == 1
    document.undo_stack.undo()
    assert panel.summary.text() == "1 error"


def test_problems_sorted_errors_first_with_summary(qtbot):
    spec = NetworkSpec()
    nodes = [new_node(spec, "InputLayer")]
    for type_name in ("Dense", "Dropout"):
        spec = AddNode(nodes[-1]).apply(spec)
        nodes.append(new_node(spec, type_name))
    spec = AddNode(nodes[-1]).apply(spec)
    spec = Connect(EdgeSpec((nodes[0].id, 0), (nodes[1].id, 0))).apply(spec)  # Dense on a map: warning
    document = ProjectDocument(spec)
    panel = problems_on(qtbot, document)
    severities = [d.severity for d in panel.diagnostics]
    assert ERROR in severities and WARNING in severities
    assert severities == sorted(severities, key=lambda s: s != ERROR)
    errors, warnings = severities.count(ERROR), severities.count(WARNING)
    assert panel.summary.text() == summary_text(document.diagnostics)
    assert panel.summary.text().startswith(f"{errors} error")
    assert f"{warnings} warning" in panel.summary.text()
    assert [panel.tree.topLevelItem(i).toolTip(0) for i in range(panel.tree.topLevelItemCount())] == \
        [s.capitalize() for s in severities]


def test_summary_text():
    assert summary_text([]) == "No problems"


def test_clicking_a_row_emits_node_activated(qtbot):
    document = lenet_document(n2={"kernel_size": [40, 40]})
    panel = problems_on(qtbot, document)
    item = panel.tree.topLevelItem(0)
    center = panel.tree.visualItemRect(item).center()
    with qtbot.waitSignal(panel.node_activated, timeout=1000) as blocker:
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert blocker.args == [C1]


def test_selection_survives_unrelated_edits(qtbot):
    document = lenet_document(n2={"kernel_size": [40, 40]}, n4={"filters": 0})
    panel = problems_on(qtbot, document)
    c1_row = next(i for i in range(panel.tree.topLevelItemCount())
                  if panel.tree.topLevelItem(i).text(1) == "C1")
    panel.tree.setCurrentItem(panel.tree.topLevelItem(c1_row))
    document.apply(SetParams("n7", {"units": 100}), "unrelated")
    assert panel.tree.currentItem().text(1) == "C1"


def test_wrapped_messages_get_tall_rows(qtbot):
    document = lenet_document(n2={"kernel_size": [40, 40]})
    panel = problems_on(qtbot, document)
    wide = panel.tree.visualItemRect(panel.tree.topLevelItem(0)).height()
    panel.resize(360, 300)
    QApplication.sendPostedEvents(panel.tree)  # the resize reaches the tree and its header
    assert panel._relayout.isActive()  # a coalesced relayout is scheduled for the new width...
    panel._relayout.stop()
    panel._relayout.timeout.emit()  # ...and run here, without spinning other widgets' events
    row = panel.tree.visualItemRect(panel.tree.topLevelItem(0))
    assert row.height() > wide
    assert row.height() > 3 * panel.tree.fontMetrics().height()


def test_messages_wrap_whole_in_a_narrow_panel(qtbot):
    """At a dock's ~320 px every message shows in full: no Block column (the message names the
    block), an icon for the severity, and rows as tall as their wrapped text."""
    spec = load_template("vgg-mini")
    for node in spec.nodes:
        if node.type == "Conv2D":
            spec = SetParams(node.id, {"filters": 0}).apply(spec)
    spec = RemoveNodes((spec.nodes[1].id,)).apply(spec)
    document = ProjectDocument(spec)
    panel = ProblemsPanel(document)
    qtbot.addWidget(panel)
    panel.resize(320, 600)
    panel.show()
    QApplication.processEvents()
    panel._relayout.stop()
    panel.tree.doItemsLayout()
    assert panel.tree.isColumnHidden(1)
    tree, metrics = panel.tree, panel.tree.fontMetrics()
    assert tree.columnWidth(2) > 160
    for row in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(row)
        cell = tree.visualRect(tree.indexFromItem(item, 2))
        needed = metrics.boundingRect(QRect(0, 0, cell.width() - 8, 10_000), Qt.TextFlag.TextWordWrap,
                                      item.text(2)).height()
        assert cell.height() >= needed, item.text(2)
        assert cell.right() <= tree.viewport().width()
    panel.resize(700, 600)
    QApplication.processEvents()
    assert not panel.tree.isColumnHidden(1)


# -- the GUI stays free of TensorFlow ---------------------------------------------------------

def test_panels_import_without_tensorflow_in_a_fresh_process():
    code = ("import sys, desktop.panels.palette, desktop.panels.inspector, desktop.panels.problems; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"



def test_list_settings_are_typed_as_text_and_a_typo_is_put_back(qtbot):
    from tests.engine.helpers import GraphBuilder

    g = GraphBuilder()
    x = g.add("InputLayer", {"shape": [8, 8, 4]})
    reshape = g.add("Reshape", None, [x])
    dropout = g.add("Dropout", None, [reshape])
    document = ProjectDocument(g.spec)
    panel = inspector_on(qtbot, document, reshape)
    edit = panel.form.fields["target_shape"].edit
    assert edit.text() == "1, 1, -1"
    edit.setText("16, -1")
    edit.editingFinished.emit()
    assert document.spec.node(reshape).params["target_shape"] == [16, -1]
    edit.setText("16, -1, -1")  # two -1: not a shape
    edit.editingFinished.emit()
    assert edit.text() == "16, -1" and document.undo_stack.count() == 1
    panel.show_node(dropout)
    noise = panel.form.fields["noise_shape"].edit
    assert noise.text() == "" and noise.placeholderText() == "none"
    noise.setText("null, 1, 1")
    noise.editingFinished.emit()
    assert document.spec.node(dropout).params["noise_shape"] == [None, 1, 1]
