"""What the canvas draws, checked on every template: routes around cards, labels apart,
names readable after Fit, and an edit redrawing only what it changed."""

import itertools
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QRectF  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402

from desktop.canvas.edges import EdgeItem  # noqa: E402
from desktop.canvas.items import BlockItem, simple_name_px  # noqa: E402
from desktop.canvas.scene import GraphScene  # noqa: E402
from desktop.canvas.view import READABLE_ZOOM, GraphView  # noqa: E402
from desktop.document import ProjectDocument  # noqa: E402
from engine.graph.edits import AddNode, SetParams, new_node  # noqa: E402
from engine.templates import list_templates  # noqa: E402

TEMPLATES = [t.key for t in list_templates()]


@pytest.fixture
def canvas(qtbot):
    document = ProjectDocument()
    scene = GraphScene(document)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(800, 700)
    view.show()
    qtbot.waitExposed(view)
    return document, scene, view


def card_rects(scene):
    return {node_id: scene.block_rect(node_id) for node_id, item in scene.blocks.items() if item.isVisible()}


def crosses(points, rect: QRectF) -> bool:
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        segment = QRectF(min(x1, x2), min(y1, y2), max(abs(x2 - x1), 0.01), max(abs(y2 - y1), 0.01))
        if segment.intersects(rect):
            return True
    return False


def assert_routes_clear(scene, where):
    cards = card_rects(scene)
    for edge, item in scene.edges.items():
        for node_id, rect in cards.items():
            inner = rect.adjusted(1, 1, -1, -1)
            assert not crosses(item.points, inner), (where, scene.document.spec.node(node_id).name, edge)


def label_rects(scene):
    return {node_id: item.mapRectToScene(item.output_label_rect())
            for node_id, item in scene.blocks.items() if item.isVisible() and item.output_port.connected}


@pytest.mark.parametrize("key", TEMPLATES)
def test_no_connection_hides_behind_a_card_and_no_labels_overlap(canvas, key):
    document, scene, view = canvas
    document.open_template(key)
    for layout in ("saved", "TB", "LR"):
        if layout != "saved":
            view.auto_layout(layout)
        assert_routes_clear(scene, (key, layout))
        labels = label_rects(scene)
        for (a, ra), (b, rb) in itertools.combinations(labels.items(), 2):
            assert not ra.intersects(rb), (key, layout, a, b)
        cards = card_rects(scene)
        for owner, label in labels.items():
            assert not any(label.intersects(rect) for node_id, rect in cards.items() if node_id != owner), \
                (key, layout, owner)


def test_a_residual_shortcut_is_visible_beside_the_blocks_it_skips(canvas):
    document, scene, view = canvas
    document.open_template("resnet-mini")
    view.auto_layout("TB")
    shortcuts = [item for item in scene.edges.values() if len(item.points) > 2
                 and abs(item.points[-1][1] - item.points[0][1]) > 300]
    assert shortcuts
    cards = card_rects(scene)
    for item in shortcuts:
        # The long vertical run passes beside the cards of its rows, a visible gap away.
        (x, top), (_, bottom) = max(zip(item.points, item.points[1:]), key=lambda s: abs(s[1][1] - s[0][1]))
        beside = [r for r in cards.values() if r.bottom() > top and r.top() < bottom]
        assert beside
        assert all(x >= r.right() + 10 or x <= r.left() - 10 for r in beside)


def white_pixels(image, rect) -> int:
    count = 0
    for x in range(int(rect.left()) + 2, int(rect.right()) - 2):
        for y in range(int(rect.top()) + 2, int(rect.bottom()) - 2):
            if QColor(image.pixel(x, y)).lightness() > 235:
                count += 1
    return count


@pytest.mark.parametrize("key", TEMPLATES)
def test_fit_leaves_every_template_readable(canvas, key):
    document, scene, view = canvas
    document.open_template(key)
    view.fit()
    assert READABLE_ZOOM <= view.zoom <= 1.0
    image = view.grab().toImage()
    ratio = image.devicePixelRatio()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    shown = [n for n, r in card_rects(scene).items() if visible.contains(r)]
    assert shown
    for node_id in shown:
        card = view.mapFromScene(scene.block_rect(node_id)).boundingRect()
        area = QRectF(card.left() * ratio, card.top() * ratio, card.width() * ratio, card.height() * ratio)
        # A coloured card with its name and shape in white text: never a blank box.
        assert white_pixels(image, area) > 20, (key, document.spec.node(node_id).name)
    # The zoomed-out card's name is at least 8 px on screen (its shape 85% of that).
    assert simple_name_px(view.zoom) * view.zoom * 0.85 >= 8


def test_show_network_starts_a_big_network_at_its_input(canvas):
    document, scene, view = canvas
    document.open_template("resnet-mini")
    view.show_network()
    assert view.zoom == pytest.approx(READABLE_ZOOM)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    first = next(n for n in document.spec.nodes if n.type == "InputLayer")
    assert visible.contains(scene.block_rect(first.id))


def test_an_edit_redraws_only_the_cards_and_routes_it_changed(canvas, monkeypatch):
    document, scene, view = canvas
    document.open_template("resnet-mini")
    contents, routes = [], []
    original_content, original_route = BlockItem.set_content, EdgeItem.set_route
    monkeypatch.setattr(BlockItem, "set_content", lambda self, **kw: (contents.append(self.node_id),
                                                                      original_content(self, **kw)))
    monkeypatch.setattr(EdgeItem, "set_route", lambda self, points: (routes.append(self.edge),
                                                                    original_route(self, points)))
    dense = next(n for n in document.spec.nodes if n.type == "Dense")
    document.apply(SetParams(dense.id, {"units": 7}), "units")
    assert contents == [dense.id] and routes == []
    contents.clear()
    node = new_node(document.spec, "Dropout")
    document.apply(AddNode(node, (2000.0, 0.0)), "add")
    assert contents == [node.id] and routes == []  # unconnected, far from every route
