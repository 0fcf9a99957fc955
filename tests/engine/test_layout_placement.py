"""Where new blocks go (placement), what they are called, and how connections are routed."""

import itertools

from engine.graph.edits import CompositeEdit, Connect, InsertNodeOnEdge, MoveNodes, RemoveNodes, new_node
from engine.graph.layout import (CARD_SIZE, card_rect, flow_direction, layered_positions, overlaps,
                                 resolved_positions)
from engine.graph.placement import add_block_edit, add_composite_edit, paste_edit, paste_name
from engine.graph.routing import Obstacles, route
from engine.graph.spec import EdgeSpec
from engine.templates import load_template, template_keys


def node_named(spec, name):
    return next(n for n in spec.nodes if n.name == name)


def assert_no_overlaps(spec):
    positions = resolved_positions(spec)
    for (a, pa), (b, pb) in itertools.combinations(positions.items(), 2):
        assert not overlaps(card_rect(pa), card_rect(pb)), (spec.node(a).name, spec.node(b).name)


def test_paste_names_count_up_instead_of_stacking_suffixes():
    spec = load_template("lenet5")
    assert paste_name(spec, "C1") == "C1_1"
    edit, _ = paste_edit(spec, {"nodes": [node_named(spec, "C1").to_dict()]})
    spec = edit.apply(spec)
    assert paste_name(spec, "C1_1") == "C1_2"
    assert paste_name(spec, "C1") == "C1_2"


def test_paste_lands_clear_of_every_block_even_on_top_of_the_originals():
    spec = load_template("lenet5")
    copied = {"nodes": [n.to_dict() for n in spec.nodes[1:3]],
              "edges": [spec.edges[1].to_dict()],
              "layout": {k: list(v) for k, v in spec.layout.items() if k in spec.node_ids[1:3]}}
    for at in (None, spec.layout[spec.node_ids[0]]):
        edit, new_ids = paste_edit(spec, copied, at)
        pasted = edit.apply(spec)
        assert len(new_ids) == 2 and all(pasted.has_node(n) for n in new_ids)
        assert_no_overlaps(pasted)


def test_a_fix_inserted_between_neighbours_pushes_the_rest_down_and_undoes_exactly():
    spec = load_template("lenet5")
    c1, s2 = node_named(spec, "C1"), node_named(spec, "S2")
    edge = next(e for e in spec.edges if e.source[0] == c1.id and e.target[0] == s2.id)
    bn = new_node(spec, "BatchNormalization")
    edit = InsertNodeOnEdge(edge, bn)
    edited = edit.apply(spec)
    assert edit.inverse(spec).apply(edited) == spec
    x, y = edited.layout[bn.id]
    assert spec.layout[c1.id][1] < y < edited.layout[s2.id][1]
    assert edited.layout[s2.id][1] > spec.layout[s2.id][1]  # moved on to make room
    assert_no_overlaps(edited)


def test_a_projection_on_a_long_shortcut_goes_beside_the_blocks_it_skips():
    spec = load_template("resnet-mini")
    spec = MoveNodes(layered_positions(spec, "TB")).apply(spec)
    source, add = node_named(spec, "block1_out"), node_named(spec, "block2_add")
    projection, projection_bn = node_named(spec, "block2_projection"), node_named(spec, "block2_projection_bn")
    port = next(e.target[1] for e in spec.edges if e.source[0] == projection_bn.id)
    spec = CompositeEdit((RemoveNodes((projection.id, projection_bn.id)),
                          Connect(EdgeSpec((source.id, 0), (add.id, port))))).apply(spec)
    edge = next(e for e in spec.edges if e.source[0] == source.id and e.target[0] == add.id)
    conv = new_node(spec, "Conv2D", {"kernel_size": [1, 1]})
    fixed = InsertNodeOnEdge(edge, conv).apply(spec)
    x, y = fixed.layout[conv.id]
    assert spec.layout[source.id][1] < y < spec.layout[add.id][1]
    assert_no_overlaps(fixed)


def test_a_block_added_below_the_selected_one_is_connected_and_clear():
    spec = load_template("lenet5")
    c3 = node_named(spec, "C3")
    dropout = new_node(spec, "Dropout")
    edited = add_block_edit(spec, dropout, below=c3.id).apply(spec)
    assert EdgeSpec((c3.id, 0), (dropout.id, 0)) in edited.edges
    assert edited.layout[dropout.id][1] > spec.layout[c3.id][1]
    assert_no_overlaps(edited)


def test_a_block_dropped_on_another_moves_to_the_nearest_free_spot():
    spec = load_template("lenet5")
    dropout = new_node(spec, "Dropout")
    edited = add_block_edit(spec, dropout, spec.layout[node_named(spec, "C1").id]).apply(spec)
    assert_no_overlaps(edited)
    assert set(edited.edges) == set(spec.edges)


def test_a_composite_goes_in_the_canvas_direction_clear_of_other_blocks():
    spec = load_template("lenet5")
    edited = add_composite_edit(spec, "residual", spec.layout[node_named(spec, "S2").id]).apply(spec)
    assert len(edited.groups) == 1
    assert_no_overlaps(edited)
    assert flow_direction(edited) == "TB"


def test_flow_direction_is_the_majority_of_connections():
    spec = load_template("lenet5")
    assert flow_direction(spec) == "TB"
    assert flow_direction(MoveNodes(layered_positions(spec, "LR")).apply(spec)) == "LR"
    # One connection drawn upwards does not turn the canvas.
    output, c1 = node_named(spec, "output"), node_named(spec, "C1")
    extra = new_node(spec, "Dense")
    upwards = add_block_edit(spec, extra, (0.0, -600.0)).apply(spec)
    upwards = Connect(EdgeSpec((c1.id, 0), (extra.id, 0))).apply(upwards)
    assert flow_direction(upwards) == "TB" and output.id


def _crosses(points, rect):
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        segment = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        if overlaps(segment, rect):
            return True
    return False


def test_every_templates_routes_pass_no_card_in_either_direction():
    for key, direction in itertools.product(template_keys(), ("TB", "LR")):
        spec = load_template(key)
        positions = layered_positions(spec, direction)
        obstacles = Obstacles(direction)
        for node_id, position in positions.items():
            obstacles.place(node_id, card_rect(position))
        w, h = CARD_SIZE
        for edge in spec.edges:
            (sx, sy), (tx, ty) = positions[edge.source[0]], positions[edge.target[0]]
            start = (sx + w / 2, sy + h) if direction == "TB" else (sx + w, sy + h / 2)
            end = (tx + w / 2, ty) if direction == "TB" else (tx, ty + h / 2)
            points = route(start, end, obstacles, edge)
            for node_id, position in positions.items():
                left, top, right, bottom = card_rect(position)
                assert not _crosses(points, (left + 1, top + 1, right - 1, bottom - 1)), \
                    (key, direction, spec.node(node_id).name, edge)


def test_two_shortcuts_past_one_column_keep_a_lane_apart():
    obstacles = Obstacles("TB")
    for row in range(6):
        obstacles.place(row, (0.0, row * 150.0, 200.0, row * 150.0 + 92.0))
    first = route((100.0, 92.0), (130.0, 750.0), obstacles, "a")
    second = route((100.0, 92.0), (70.0, 750.0), obstacles, "b")
    assert {p[0] for p in first[2:4]} != {p[0] for p in second[2:4]}
    assert all(x > 200 or x < 0 for x, _ in first[2:4])
