import os; os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # noqa: E702

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from engine.blocks.catalog import BLOCKS, format_shape
from engine.errors import ProjectError
from engine.graph.shapes import infer
from engine.graph.spec import EdgeSpec, NetworkSpec
from engine.templates import load_template, template_keys
from desktop.diagram import (DiagramRenderer, diagram_size, export_diagram_png, export_diagram_svg,
                             operation_parts, paint_diagram, render_diagram_image)
from tests.engine.helpers import GraphBuilder

SVG = "{http://www.w3.org/2000/svg}"


# -- helpers ------------------------------------------------------------------------------------

def svg_texts(path) -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(element.itertext()).strip() for element in root.iter(f"{SVG}text")]


def non_white_fraction(image: QImage) -> float:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32,
                           count=image.bytesPerLine() // 4 * image.height())
    pixels = pixels.reshape(image.height(), image.bytesPerLine() // 4)[:, :image.width()]
    return float(np.mean((pixels & 0xFFFFFF) != 0xFFFFFF))


def broken_lenet() -> NetworkSpec:
    """LeNet-5 with the edge S2 -> C3 removed: everything after it has no shape."""
    spec = load_template("lenet5")
    return replace(spec, edges=tuple(e for e in spec.edges if e.target[0] != "n4"))


def cyclic_spec() -> NetworkSpec:
    g = GraphBuilder("cycle")
    x = g.add("InputLayer", {"shape": [28, 28, 1]})
    x = g.add("Conv2D", {"filters": 8}, [x])
    add = g.add("Add", {}, [x])
    y = g.add("Conv2D", {"filters": 8, "padding": "same"}, [add])
    g.add("Dense", {"units": 10}, [g.add("Flatten", {}, [y])])
    return replace(g.spec, edges=g.spec.edges + (EdgeSpec((y, 0), (add, 1)),))


def odd_specs() -> dict[str, NetworkSpec]:
    g = GraphBuilder("variable input, BN first")
    x = g.add("InputLayer", {"shape": [None, None, 3]})
    x = g.add("BatchNormalization", {}, [x])
    x = g.add("Activation", {"activation": "relu"}, [x])
    x = g.add("Conv2D", {"filters": 16}, [x])
    g.add("Dense", {"units": 10}, [g.add("GlobalAveragePooling2D", {}, [x])])
    variable = g.spec

    g = GraphBuilder("big input")
    x = g.add("InputLayer", {"shape": [224, 224, 3]})
    x = g.add("Conv2D", {"filters": 512, "kernel_size": [7, 7], "strides": [2, 2]}, [x])
    x = g.add("MaxPooling2D", {"pool_size": [3, 3], "strides": [2, 2]}, [x])
    x = g.add("Flatten", {}, [x])
    g.add("Dense", {"units": 65536}, [x])
    big = g.spec

    g = GraphBuilder("vector input")
    x = g.add("InputLayer", {"shape": [784]})
    g.add("Dense", {"units": 10}, [g.add("Dense", {"units": 64}, [x])])
    vector = g.spec

    g = GraphBuilder("mismatched add")
    x = g.add("InputLayer", {"shape": [28, 28, 1]})
    a = g.add("Conv2D", {"filters": 8, "strides": [2, 2]}, [x])
    b = g.add("Conv2D", {"filters": 16, "padding": "same"}, [a])
    g.add("Add", {}, [b, a])
    mismatched = g.spec
    return {"variable": variable, "big": big, "vector": vector, "mismatched": mismatched,
            "broken": broken_lenet(), "cycle": cyclic_spec(), "empty": NetworkSpec(name="empty")}


def assert_no_overlaps(renderer: DiagramRenderer) -> None:
    labels = list(renderer.labels.values()) + renderer.edge_labels + renderer.notes
    rects = [label.rect for label in labels]
    for index, rect in enumerate(rects):
        for other in rects[index + 1:]:
            assert not rect.intersects(other), (labels[index].lines, "overlaps another label")
        for item in renderer.items.values():
            for part in (item.box_rect(), item.text_rect()):
                assert not rect.intersects(part), (labels[index].lines, "overlaps", item.name)
    items = list(renderer.items.values())
    for index, item in enumerate(items):
        for other in items[index + 1:]:
            assert not item.rect().intersects(other.rect()), (item.name, other.name)


# -- exports of every template ------------------------------------------------------------------

@pytest.mark.parametrize("key", template_keys())
def test_every_template_exports_png_and_svg(qapp, tmp_path, key):
    spec = load_template(key)
    png, svg = tmp_path / f"{key}.png", tmp_path / f"{key}.svg"
    export_diagram_png(spec, png)
    export_diagram_svg(spec, svg)

    image = QImage(str(png))
    assert not image.isNull()
    size = diagram_size(spec)
    assert image.width() >= 2 * size.width() - 1 and image.height() >= 2 * size.height() - 1
    assert image.width() > 600 and image.height() > 300
    assert 0.02 < non_white_fraction(image) < 0.6  # drawn on, and still mostly background

    texts = svg_texts(svg)
    info = infer(spec)
    for node_id, node_info in info.nodes.items():
        if spec.node(node_id).type not in ("Activation", "Dropout", "BatchNormalization"):
            assert format_shape(node_info.output_shape) in texts, (node_id, texts)
    root = ET.parse(svg).getroot()
    assert root.find(f"{SVG}title").text == spec.name
    assert "building-block diagram" in root.find(f"{SVG}desc").text
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([png.name, svg.name])  # no temp files


def test_lenet_shapes_and_operations_are_written(qapp, tmp_path):
    path = tmp_path / "lenet.svg"
    export_diagram_svg(load_template("lenet5"), path)
    texts = svg_texts(path)
    for expected in ("32x32x1", "28x28x6", "14x14x6", "10x10x16", "5x5x16", "400", "120", "84", "10",
                     "conv 5x5 + tanh", "avg pool 2x2", "flatten", "dense + softmax", "LeNet-5"):
        assert expected in texts


@pytest.mark.parametrize("key", template_keys())
def test_templates_have_no_overlapping_labels_or_boxes(qapp, key):
    assert_no_overlaps(DiagramRenderer(load_template(key)))


# -- what is drawn ------------------------------------------------------------------------------

def test_element_wise_blocks_are_folded_into_arrow_labels(qapp):
    renderer = DiagramRenderer(load_template("resnet-mini"))
    drawn_types = {item.type for item in renderer.items.values()}
    assert not drawn_types & {"Activation", "BatchNormalization", "Dropout"}
    stem = renderer.items["n2"]
    assert stem.parts == ["conv 3x3", "BN", "ReLU"]
    assert renderer.items["n10"].parts == ["add", "ReLU"]  # block1_add + block1_out
    # Residual shortcuts: every Add gets an arrow from each branch.
    for add_id in ("n10", "n19", "n26", "n35"):
        assert len([e for e in renderer.edges if e.target == add_id]) == 2
    assert [note.lines for note in renderer.notes].count(["identity"]) == 2  # blocks 1 and 3


def test_forward_folding_when_the_producer_is_the_input(qapp):
    renderer = DiagramRenderer(odd_specs()["variable"])
    assert {item.type for item in renderer.items.values()} == {
        "InputLayer", "Conv2D", "GlobalAveragePooling2D", "Dense"}
    conv_edge = next(e for e in renderer.edges if renderer.items[e.target].type == "Conv2D")
    assert conv_edge.prefix == ["BN", "ReLU"]


def test_inception_branches_stack_in_one_column(qapp):
    renderer = DiagramRenderer(load_template("googlenet-mini"))
    branches = [renderer.items[i] for i in ("n4", "n5", "n7", "n9")]  # inception_a's first blocks
    assert len({item.column for item in branches}) == 1
    ys = sorted(item.cy for item in branches)
    assert all(b - a > 40 for a, b in zip(ys, ys[1:]))
    concat = renderer.items["n11"]
    assert len([e for e in renderer.edges if e.target == "n11"]) == 4
    assert abs(concat.cy - renderer.items["n3"].cy) < 1  # branches centred on the main line
    # Each branch arrow ends on the concat's row, at its left side.
    for edge in (e for e in renderer.edges if e.target == "n11"):
        assert abs(edge.points[-1].y() - concat.cy) < 0.01
        assert abs(edge.points[-1].x() - concat.left) < 0.01


def test_sizes_are_sublinear_and_clamped(qapp):
    renderer = DiagramRenderer(odd_specs()["big"])
    boxes = sorted((item for item in renderer.items.values() if item.kind == "box"),
                   key=lambda item: -item.h)
    assert boxes[0].h <= 190 and boxes[-1].h >= 24
    assert all(item.t <= 60 for item in renderer.items.values())
    bars = [item for item in renderer.items.values() if item.kind == "bar"]
    assert bars and all(16 <= bar.h <= 160 for bar in bars)
    lenet = DiagramRenderer(load_template("lenet5")).items
    assert lenet["n1"].h > lenet["n3"].h > lenet["n5"].h  # 32 > 14 > 5, but not 6x apart
    assert lenet["n1"].h < 3 * lenet["n5"].h


def test_operation_labels():
    lenet = load_template("lenet5")
    assert operation_parts(lenet.node("n2")) == ["conv 5x5", "tanh"]
    assert operation_parts(lenet.node("n3")) == ["avg pool 2x2"]
    assert operation_parts(lenet.node("n9")) == ["dense", "softmax"]
    g = GraphBuilder()
    x = g.add("InputLayer", {"shape": [8, 8, 1]})
    strided = g.add("Conv2D", {"kernel_size": [1, 1], "strides": [2, 2], "activation": None}, [x])
    pool = g.add("MaxPooling2D", {"pool_size": [3, 3], "strides": [1, 1]}, [x])
    assert operation_parts(g.spec.node(strided)) == ["conv 1x1, s2"]
    assert operation_parts(g.spec.node(pool)) == ["max pool 3x3, s1"]


@pytest.mark.parametrize("name", list(odd_specs()))
def test_odd_and_broken_networks_still_draw(qapp, tmp_path, name):
    spec = odd_specs()[name]
    export_diagram_png(spec, tmp_path / "d.png", scale=1.0)
    export_diagram_svg(spec, tmp_path / "d.svg")
    image = QImage(str(tmp_path / "d.png"))
    assert not image.isNull() and non_white_fraction(image) > 0.005
    ET.parse(tmp_path / "d.svg")
    if name != "cycle":
        assert_no_overlaps(DiagramRenderer(spec))


def test_unknown_shapes_are_dashed_question_marks(qapp, tmp_path):
    spec = broken_lenet()
    renderer = DiagramRenderer(spec)
    unknown = [item.id for item in renderer.items.values() if item.kind == "unknown"]
    assert unknown == ["n4", "n5", "n6", "n7", "n8", "n9"]
    export_diagram_svg(spec, tmp_path / "broken.svg")
    texts = svg_texts(tmp_path / "broken.svg")
    assert texts.count("?") >= 2 * len(unknown)  # in each box and under it
    assert "28x28x6" in texts


def test_paint_diagram_on_any_painter(qapp):
    spec = load_template("lenet5")
    size = diagram_size(spec)
    image = QImage(int(size.width()) // 2 + 1, int(size.height()) // 2 + 1, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    painter.scale(0.5, 0.5)
    paint_diagram(painter, spec)
    painter.end()
    assert non_white_fraction(image) > 0.02
    assert painter.isActive() is False


def test_png_scale(qapp):
    spec = load_template("deep-mlp")
    size = diagram_size(spec)
    image = render_diagram_image(spec, scale=1.0)
    assert (image.width(), image.height()) == (int(size.width()), int(size.height()))
    with pytest.raises(ProjectError):
        render_diagram_image(spec, scale=0)


# -- atomic writes ------------------------------------------------------------------------------

def test_export_replaces_an_old_file_atomically(qapp, tmp_path):
    path = tmp_path / "net.png"
    path.write_bytes(b"old")
    export_diagram_png(load_template("lenet5"), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "net.svg"
    svg.write_text("old")
    export_diagram_svg(load_template("lenet5"), svg)
    assert svg.read_text().lstrip().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.png", "net.svg"]


@pytest.mark.parametrize("export", [export_diagram_png, export_diagram_svg])
def test_write_failures_are_project_errors_and_leave_nothing(qapp, tmp_path, export):
    with pytest.raises(ProjectError, match="Cannot write"):
        export(load_template("lenet5"), tmp_path / "missing" / "net.out")
    target = tmp_path / "a_folder"
    target.mkdir()
    with pytest.raises(ProjectError, match="Cannot write"):
        export(load_template("lenet5"), target)  # a folder is in the way
    assert [p.name for p in tmp_path.iterdir()] == ["a_folder"]
    assert list(target.iterdir()) == []


def test_diagram_never_imports_tensorflow():
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from desktop.diagram import render_diagram_image\n"
            "from engine.templates import load_template\n"
            "render_diagram_image(load_template('resnet-mini'))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
            "sys.stdout.flush(); os._exit(0)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_label_rects_are_inside_the_picture(qapp):
    for key in template_keys():
        renderer = DiagramRenderer(load_template(key))
        frame = QRectF(0, 0, renderer.size.width(), renderer.size.height())
        for label in list(renderer.labels.values()) + renderer.edge_labels:
            assert frame.contains(label.rect.translated(renderer.offset)), (key, label.lines)


# -- every catalogue block --------------------------------------------------------------------

@pytest.mark.parametrize("block", [b for b in BLOCKS if b.type != "InputLayer"], ids=lambda b: b.type)
def test_every_block_is_drawn_with_its_words(qapp, tmp_path, block):
    g = GraphBuilder(block.type)
    x = g.add("InputLayer", {"shape": [16, 16, 3]}, name="input")
    y = g.add(block.type, None, [x] * max(1, block.min_inputs))
    if len(infer(g.spec).nodes[y].output_shape) == 3:
        y = g.add("GlobalAveragePooling2D", None, [y])
    g.add("Dense", {"units": 3, "activation": "softmax"}, [y])
    path = tmp_path / "one.svg"
    export_diagram_svg(g.spec, path)
    first_word = block.arrow_words(block.default_params())[0]
    assert any(first_word in text for text in svg_texts(path)), (first_word, svg_texts(path))
    assert_no_overlaps(DiagramRenderer(g.spec))
