import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

import csv
import io
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from benchmarks.bench_shapes import BLOCKS_PER_STAGE_1000, resnet_spec
from engine.graph.edits import RemoveNodes, SetParams
from engine.templates import load_template
from desktop.document import ProjectDocument
from desktop.models.layer_table import (ACTIVATIONS, COLUMNS, LEARNABLES, MACS, NAME, PROBLEMS,
                                        RECEPTIVE_FIELD, WHOLE_INPUT, csv_text, rows, totals)
from desktop.panels.analyze import AnalyzePanel

C1 = "n2"  # lenet5: 32x32x1 -> 28x28x6 with 6 @ 5x5


def lenet_document(**changes) -> ProjectDocument:
    spec = load_template("lenet5")
    for node_id, params in changes.items():
        spec = SetParams(node_id, params).apply(spec)
    return ProjectDocument(spec)


def analyze_on(qtbot, document: ProjectDocument) -> AnalyzePanel:
    panel = AnalyzePanel(document)
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    return panel


def column_texts(panel: AnalyzePanel, column: int) -> list[str]:
    return [panel.proxy.index(r, column).data() for r in range(panel.proxy.rowCount())]


# -- the rows, without Qt ----------------------------------------------------------------------

def test_rows_follow_the_data_flow_with_shapes_params_macs_and_fields():
    document = lenet_document()
    table = rows(document.spec, document.info, document.diagnostics)
    assert [row.node_id for row in table] == list(document.info.order)
    c1 = next(row for row in table if row.node_id == C1)
    assert (c1.name, c1.type) == ("C1", "Conv2D")
    assert c1.text(ACTIVATIONS) == "28x28x6"
    assert c1.learnables == 6 * (5 * 5 + 1)
    assert c1.macs == document.info.nodes[C1].macs > 0
    assert c1.text(RECEPTIVE_FIELD) == "5x5"
    flatten = next(row for row in table if row.type == "Flatten")
    assert flatten.text(RECEPTIVE_FIELD) == WHOLE_INPUT
    assert table[0].type == "InputLayer" and table[0].text(RECEPTIVE_FIELD) == "1x1"
    summary = totals(table, document.diagnostics)
    assert summary.layers == len(document.spec.nodes)
    assert summary.learnables == document.info.total_params
    assert summary.macs == document.info.total_macs


def test_problems_are_listed_errors_first_and_unknown_values_stay_unknown():
    document = lenet_document(n2={"kernel_size": [40, 40]})
    table = rows(document.spec, document.info, document.diagnostics)
    c1 = next(row for row in table if row.node_id == C1)
    assert c1.has_error and "larger than the input height" in c1.problems[0]
    assert c1.learnables is None and c1.text(LEARNABLES) == "–" and c1.text(ACTIVATIONS) == "–"
    summary = totals(table, document.diagnostics)
    assert summary.macs is None and summary.learnables is None and summary.errors == 1


def test_csv_has_a_header_and_plain_numbers():
    document = lenet_document()
    table = rows(document.spec, document.info, document.diagnostics)
    parsed = list(csv.reader(io.StringIO(csv_text(table))))
    assert parsed[0] == list(COLUMNS)
    assert len(parsed) == len(table) + 1
    c1 = next(line for line in parsed if line[0] == "C1")
    assert c1[:6] == ["C1", "Conv2D", "28x28x6", "156", str(document.info.nodes[C1].macs), "5x5"]


# -- the panel --------------------------------------------------------------------------------

def test_panel_shows_every_layer_with_totals(qtbot):
    document = lenet_document()
    panel = analyze_on(qtbot, document)
    assert panel.proxy.rowCount() == len(document.spec.nodes)
    assert column_texts(panel, NAME)[0] == "input"
    assert "156" in column_texts(panel, LEARNABLES)
    assert f"{document.info.total_params:,} learnables" in panel.summary.text()
    assert f"{len(document.spec.nodes)} layers" in panel.summary.text()


def test_numeric_columns_sort_as_numbers(qtbot):
    panel = analyze_on(qtbot, lenet_document())
    for column in (LEARNABLES, MACS):
        panel.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        values = [int(text.replace(",", "")) for text in column_texts(panel, column)]
        assert values == sorted(values, reverse=True)
        assert values[0] >= 10_000  # as text, "9,000" would sort above "48,120"
    panel.table.sortByColumn(ACTIVATIONS, Qt.SortOrder.AscendingOrder)
    sizes = [eval(text.replace("x", "*")) for text in column_texts(panel, ACTIVATIONS)]
    assert sizes == sorted(sizes)
    panel.table.sortByColumn(RECEPTIVE_FIELD, Qt.SortOrder.AscendingOrder)
    assert column_texts(panel, RECEPTIVE_FIELD)[-1] == WHOLE_INPUT


def test_filter_box_keeps_matching_rows(qtbot):
    panel = analyze_on(qtbot, lenet_document())
    qtbot.keyClicks(panel.filter, "conv2d")
    assert set(column_texts(panel, 1)) == {"Conv2D"}
    panel.filter.clear()
    assert panel.proxy.rowCount() == len(panel.document.spec.nodes)


def test_error_rows_are_tinted_and_update_in_place(qtbot):
    document = lenet_document()
    panel = analyze_on(qtbot, document)
    row = panel.model.row_of(C1)
    assert panel.model.index(row, NAME).data(Qt.ItemDataRole.BackgroundRole) is None
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    document.apply(SetParams(C1, {"kernel_size": [40, 40]}), "break")
    assert not resets  # same layers: rows re-announced, not rebuilt
    assert panel.model.index(row, NAME).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert "larger than the input height" in panel.model.index(row, PROBLEMS).data()
    assert "1 error" in panel.summary.text()
    document.undo_stack.undo()
    assert panel.model.index(row, PROBLEMS).data() == ""


def test_removing_a_layer_removes_its_row_and_keeps_the_selection(qtbot):
    document = lenet_document()
    panel = analyze_on(qtbot, document)
    panel.table.sortByColumn(MACS, Qt.SortOrder.DescendingOrder)
    panel.select_node(C1)
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    document.apply(RemoveNodes(("n9",)), "remove")
    assert not resets
    assert panel.proxy.rowCount() == len(document.spec.nodes)
    assert [row.node_id for row in panel.model.layer_rows] == \
        [row.node_id for row in rows(document.spec, document.info, document.diagnostics)]
    assert panel.selected_node_ids() == [C1]
    document.undo_stack.undo()
    assert panel.proxy.rowCount() == len(document.spec.nodes)
    macs = [int(t.replace(",", "")) if t != "–" else -1 for t in column_texts(panel, MACS)]
    assert macs == sorted(macs, reverse=True)


def test_clicking_a_row_emits_node_activated_and_select_node_highlights(qtbot):
    panel = analyze_on(qtbot, lenet_document())
    row = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(C1), NAME)).row()
    rect = panel.table.visualRect(panel.proxy.index(row, NAME))
    with qtbot.waitSignal(panel.node_activated, timeout=1000) as blocker:
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [C1]
    panel.select_node("n4")
    assert panel.selected_node_ids() == ["n4"]
    qtbot.keyClicks(panel.filter, "zzz")  # hides every row...
    panel.select_node("n4")  # ...so showing one clears the filter
    assert panel.filter.text() == "" and panel.selected_node_ids() == ["n4"]
    panel.select_node(None)
    assert panel.selected_node_ids() == []


def test_copy_as_csv_and_ctrl_c(qtbot):
    panel = analyze_on(qtbot, lenet_document())
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    text = QGuiApplication.clipboard().text()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert len(text.splitlines()) == panel.proxy.rowCount() + 1
    panel.select_node(C1)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = QGuiApplication.clipboard().text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("C1,Conv2D,28x28x6,156,")


def test_hidden_panel_catches_up_when_shown(qtbot):
    document = lenet_document()
    panel = analyze_on(qtbot, document)
    panel.hide()
    document.apply(SetParams(C1, {"filters": 8}), "filters")
    assert panel._stale
    panel.show()
    assert not panel._stale
    assert panel.model.layer_rows[panel.model.row_of(C1)].learnables == 8 * 26


def test_a_thousand_block_graph_updates_quickly(qtbot):
    document = ProjectDocument(resnet_spec(BLOCKS_PER_STAGE_1000))
    panel = analyze_on(qtbot, document)
    panel.table.sortByColumn(MACS, Qt.SortOrder.DescendingOrder)
    conv = next(n for n in document.spec.nodes if n.type == "Conv2D")
    document.spec_changed.disconnect(panel._on_spec_changed)
    document.apply(SetParams(conv.id, {"filters": 24}), "filters")
    started = time.perf_counter()
    panel.refresh()
    seconds = time.perf_counter() - started
    assert seconds < 0.25  # about 5 ms measured; generous for a loaded machine
    assert panel.proxy.rowCount() == len(document.spec.nodes)
