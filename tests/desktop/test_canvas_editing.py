"""The canvas driven with the mouse, offscreen: clicks, connections, drops, menus, paste."""

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from desktop.canvas.scene import GraphScene  # noqa: E402
from desktop.canvas.view import GraphView  # noqa: E402
from desktop.document import ProjectDocument  # noqa: E402
from desktop.panels.palette import PalettePanel  # noqa: E402
from desktop.style import MIME_BLOCK  # noqa: E402
from engine.graph.edits import CompositeEdit, Connect, RemoveNodes  # noqa: E402
from engine.graph.layout import card_rect, overlaps, resolved_positions  # noqa: E402
from engine.graph.spec import EdgeSpec  # noqa: E402


@pytest.fixture
def canvas(qtbot):
    document = ProjectDocument()
    document.open_template("lenet5")
    scene = GraphScene(document)
    view = GraphView(scene)
    view.block_dropped.connect(scene.drop_block)  # as the window wires it
    qtbot.addWidget(view)
    view.resize(800, 700)
    view.show()
    qtbot.waitExposed(view)
    view.show_network()
    return document, scene, view


def named(document, name):
    return next(n for n in document.spec.nodes if n.name == name)


def on_screen(view, point):
    return view.mapFromScene(point)


def card_centre(scene, node_id):
    return scene.block_rect(node_id).center()


def menu_action(menu, text):
    return next(a for a in menu.actions() if a.text() == text)


def assert_no_overlaps(document):
    positions = resolved_positions(document.spec)
    ids = list(positions)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            assert not overlaps(card_rect(positions[a]), card_rect(positions[b])), \
                (document.spec.node(a).name, document.spec.node(b).name)


def assert_in_view(view, node_ids):
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for node_id in node_ids:
        assert visible.contains(view.scene().block_rect(node_id)), document_name(view, node_id)


def document_name(view, node_id):
    return view.scene().document.spec.node(node_id).name


def test_a_click_on_a_block_without_a_drag_is_no_edit(canvas):
    document, scene, view = canvas
    c1 = named(document, "C1")
    assert document.spec.layout[c1.id] == (0.0, 150.0)  # off the 20-unit snap grid
    point = on_screen(view, card_centre(scene, c1.id) + QPointF(3, 7))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert scene.blocks[c1.id].isSelected()
    assert document.undo_stack.count() == 0 and not document.is_modified


def test_ports_keep_their_sides_after_an_upward_connection_and_dragging_connects(canvas):
    document, scene, view = canvas
    f6, c1 = named(document, "F6"), named(document, "C1")
    # A Dense far above the network, fed from F6 near the bottom: a connection drawn upwards.
    assert scene.add_block({"type": "Dense", "params": {}, "name": "upper"}, QPointF(600, -700))
    upper = named(document, "upper")
    assert scene.connect_ports(f6.id, upper.id, 0)
    assert scene.direction == "TB"
    for item in scene.blocks.values():
        assert item.output_port.pos().y() == pytest.approx(92.0)  # still at the bottom
    # The next drag from an output port to an input port connects, it moves no card.
    document.apply(CompositeEdit((RemoveNodes((named(document, "S2").id,)),)), "cut")
    c3 = named(document, "C3")
    before = dict(document.spec.layout)
    view.centerOn(scene.block_rect(c1.id).center())
    start = on_screen(view, scene.blocks[c1.id].output_anchor())
    end = on_screen(view, scene.blocks[c3.id].input_anchor(0))
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(view.viewport(), (start + end) / 2)
    QTest.mouseMove(view.viewport(), end)
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert EdgeSpec((c1.id, 0), (c3.id, 0)) in document.spec.edges
    assert dict(document.spec.layout) == before


def test_auto_layout_left_to_right_turns_the_ports(canvas):
    document, scene, view = canvas
    view.auto_layout("LR")
    assert scene.direction == "LR"
    item = scene.blocks[named(document, "C1").id]
    assert item.output_port.pos() == QPointF(200, 46)
    document.undo_stack.undo()
    assert scene.direction == "LR"  # kept: the direction is chosen, not re-guessed per edit


def drop(view, payload, scene_point):
    mime = QMimeData()
    mime.setData(MIME_BLOCK, json.dumps(payload).encode("utf-8"))
    point = on_screen(view, scene_point)
    actions = Qt.DropAction.CopyAction
    QApplication.sendEvent(view.viewport(), QDragEnterEvent(point, actions, mime, Qt.MouseButton.LeftButton,
                                                            Qt.KeyboardModifier.NoModifier))
    QApplication.sendEvent(view.viewport(), QDropEvent(QPointF(point), actions, mime, Qt.MouseButton.LeftButton,
                                                       Qt.KeyboardModifier.NoModifier))


def test_a_drop_on_empty_canvas_with_one_block_selected_connects_below_it(canvas):
    document, scene, view = canvas
    c3 = named(document, "C3")
    scene.select_nodes([c3.id])
    count = document.undo_stack.count()
    empty = scene.block_rect(c3.id).topRight() + QPointF(260, 0)
    drop(view, {"type": "Dropout", "params": {}, "name": None}, empty)
    added = document.spec.nodes[-1]
    assert added.type == "Dropout"
    assert EdgeSpec((c3.id, 0), (added.id, 0)) in document.spec.edges
    assert document.undo_stack.count() == count + 1  # add + connect: one step
    document.undo_stack.undo()
    assert not document.spec.has_node(added.id)


def test_a_drop_with_nothing_selected_only_adds(canvas):
    document, scene, view = canvas
    scene.clearSelection()
    edges = set(document.spec.edges)
    drop(view, {"type": "Dropout", "params": {}, "name": None}, QPointF(700, 300))
    assert set(document.spec.edges) == edges
    assert_no_overlaps(document)


def test_block_menu_deletes_duplicates_and_asks_for_analysis(canvas, qtbot):
    document, scene, view = canvas
    c1 = named(document, "C1")
    menu = view.context_menu_at(card_centre(scene, c1.id))
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Delete", "Duplicate", "Show in Analyze", "Feature maps for this layer"]
    with qtbot.waitSignal(scene.analyze_requested) as analyze:
        menu_action(menu, "Show in Analyze").trigger()
    assert analyze.args == [c1.id]
    with qtbot.waitSignal(scene.feature_maps_requested) as maps:
        menu_action(menu, "Feature maps for this layer").trigger()
    assert maps.args == [c1.id]
    menu_action(menu, "Duplicate").trigger()
    copy = named(document, "C1_1")
    assert_no_overlaps(document)
    assert_in_view(view, [copy.id])
    menu = view.context_menu_at(card_centre(scene, copy.id))
    menu_action(menu, "Duplicate").trigger()
    assert named(document, "C1_2")  # not C1_1_1
    menu = view.context_menu_at(card_centre(scene, c1.id))
    menu_action(menu, "Delete").trigger()
    assert not document.spec.has_node(c1.id)


def test_composite_blocks_collapse_and_expand_from_their_menu(canvas):
    document, scene, view = canvas
    assert scene.add_block({"composite": "residual"})
    [group] = document.spec.groups
    member = group.node_ids[0]
    menu = view.context_menu_at(card_centre(scene, member))
    menu_action(menu, f"Collapse {group.name}").trigger()
    assert document.spec.groups[0].collapsed
    card = scene.group_cards[group.id]
    menu = view.context_menu_at(card.mapRectToScene(card.shape().boundingRect()).center())
    menu_action(menu, f"Expand {group.name}").trigger()
    assert not document.spec.groups[0].collapsed
    assert_no_overlaps(document)


def test_edge_menu_inserts_a_searched_block_or_deletes_the_connection(canvas):
    document, scene, view = canvas
    c1, s2 = named(document, "C1"), named(document, "S2")
    edge = next(e for e in document.spec.edges if e.source[0] == c1.id and e.target[0] == s2.id)
    middle = scene.edges[edge].path().pointAtPercent(0.5)
    menu = view.context_menu_at(middle)
    assert [a.text() for a in menu.actions() if a.text()] == ["Insert block…", "Delete"]
    insert = menu.insert_menu
    insert.search.setText("batch norm")
    assert [a.text() for a in insert.visible_actions()][:1] == ["Batch norm"] or insert.visible_actions()
    insert.search.returnPressed.emit()
    bn = document.spec.nodes[-1]
    assert bn.type == "BatchNormalization"
    assert EdgeSpec((c1.id, 0), (bn.id, 0)) in document.spec.edges
    assert_no_overlaps(document)
    assert_in_view(view, [bn.id])
    edge = EdgeSpec((c1.id, 0), (bn.id, 0))
    menu = view.context_menu_at(scene.edges[edge].path().pointAtPercent(0.5))
    menu_action(menu, "Delete").trigger()
    assert edge not in document.spec.edges


def test_background_menu_pastes_where_clicked_lays_out_and_fits(canvas):
    document, scene, view = canvas
    scene.select_nodes([named(document, "C3").id, named(document, "S4").id])
    assert scene.copy_selection()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    spot = visible.topLeft() + QPointF(60, visible.height() / 2)  # empty canvas, in view
    menu = view.context_menu_at(spot)
    assert [a.text() for a in menu.actions()] == ["Paste", "Auto-layout", "Fit to window"]
    assert menu_action(menu, "Paste").isEnabled()
    menu_action(menu, "Paste").trigger()
    new = [named(document, "C3_1"), named(document, "S4_1")]
    assert EdgeSpec((new[0].id, 0), (new[1].id, 0)) in document.spec.edges
    assert_no_overlaps(document)
    assert_in_view(view, [n.id for n in new])
    before = document.undo_stack.count()
    menu_action(view.context_menu_at(spot), "Auto-layout").trigger()
    assert document.undo_stack.count() == before + 1
    menu_action(view.context_menu_at(spot), "Fit to window").trigger()
    assert view.zoom >= 0.45


def test_a_fix_lands_in_view_clear_of_other_blocks(canvas):
    document, scene, view = canvas
    document.open_template("resnet-mini")
    view.auto_layout("TB")
    spec = document.spec
    projection, projection_bn = named(document, "block2_projection"), named(document, "block2_projection_bn")
    source, add = named(document, "block1_out"), named(document, "block2_add")
    port = next(e.target[1] for e in spec.edges if e.source[0] == projection_bn.id)
    document.apply(CompositeEdit((RemoveNodes((projection.id, projection_bn.id)),
                                  Connect(EdgeSpec((source.id, 0), (add.id, port))))), "break")
    view.centerOn(scene.block_rect(named(document, "input").id).center())  # far from the Add
    problem = next(d for d in document.diagnostics if d.node_id == add.id and d.fix)
    before = set(document.spec.node_ids)
    document.apply(CompositeEdit(problem.fix), problem.fix_label)
    [inserted] = [n for n in document.spec.node_ids if n not in before]
    assert_no_overlaps(document)
    assert_in_view(view, [inserted])


def test_palette_items_add_to_the_canvas_or_below_the_selected_block(canvas, qtbot):
    document, scene, view = canvas
    palette = PalettePanel()
    qtbot.addWidget(palette)
    palette.block_requested.connect(view.add_block_in_view)
    palette.block_below_requested.connect(scene.add_below_selected)
    item = next(i for i in palette.entry_items() if i.text(0) == "Dropout")
    menu = palette.item_menu(item)
    below = menu.actions()[1]
    assert not below.isEnabled()  # nothing selected yet
    menu.actions()[0].trigger()
    first = document.spec.nodes[-1]
    assert first.type == "Dropout" and not document.spec.incoming(first.id)
    f6 = named(document, "F6")
    scene.select_nodes([f6.id])
    palette.set_selected_block(f6.name)
    menu = palette.item_menu(item)
    assert menu.actions()[1].text() == "Add below F6" and menu.actions()[1].isEnabled()
    menu.actions()[1].trigger()
    second = document.spec.nodes[-1]
    assert EdgeSpec((f6.id, 0), (second.id, 0)) in document.spec.edges
    assert_no_overlaps(document)
