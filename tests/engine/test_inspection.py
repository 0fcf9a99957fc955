"""engine.inspection on one real tiny training run (digits) plus a hand-built one-conv model."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import inspection
from engine.graph.shapes import infer
from engine.training.config import TrainingConfig
from engine.training.runs import RunFolder
from engine.training.session import run_training
from tests.engine.helpers import GraphBuilder

SIZE = 16


def _cnn():
    g = GraphBuilder("inspect")
    x = g.add("InputLayer", {"shape": [SIZE, SIZE, 1]}, name="input")
    x = g.add("Conv2D", {"filters": 6, "padding": "same", "activation": "relu"}, [x], name="conv1")
    x = g.add("MaxPooling2D", {}, [x], name="pool1")
    x = g.add("Conv2D", {"filters": 8, "padding": "same", "activation": "relu"}, [x], name="conv2")
    x = g.add("Flatten", {}, [x], name="flatten")
    x = g.add("Dense", {"units": 16, "activation": "relu"}, [x], name="hidden")
    g.add("Dense", {"units": 10, "activation": "softmax"}, [x], name="output")
    return g.spec


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    config = TrainingConfig(epochs=2, dataset="digits", max_samples=400, batch_size=32)
    result = run_training(_cnn(), config, runs_root=root)
    assert result["type"] == "finished", result
    assert len(RunFolder(Path(result["run_dir"])).history()) == 2
    return Path(result["run_dir"])


@pytest.fixture(scope="module")
def images(run_dir):
    return inspection.run_images(run_dir, count=8)


def test_import_does_not_import_keras():
    code = ("import sys, engine.inspection; "
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_run_images_and_sample_photos(run_dir, images):
    assert images["images"].shape == (8, SIZE, SIZE, 1)
    assert images["images"].dtype == np.float32
    assert images["labels"].shape == (8,)
    assert len(images["class_names"]) == 10
    photos = inspection.sample_photos((SIZE, SIZE, 1))
    assert {"camera", "astronaut", "coffee", "coins", "china", "flower"} <= set(photos)
    for photo in photos.values():
        assert photo.shape == (SIZE, SIZE, 1) and photo.dtype == np.float32
        assert 0.0 <= photo.min() and photo.max() <= 1.0
    rgb = inspection.sample_photos((20, 30, 3))
    assert all(photo.shape == (20, 30, 3) for photo in rgb.values())


def test_layer_names_and_feature_maps(run_dir, images):
    layers = inspection.layer_names(run_dir)
    assert [layer["name"] for layer in layers] == ["conv1", "pool1", "conv2", "flatten", "hidden",
                                                   "output"]
    assert layers[0]["type"] == "Conv2D" and layers[0]["output_shape"] == [SIZE, SIZE, 6]
    for layer in layers:
        maps = inspection.feature_maps(run_dir, layer["name"], images["images"][0])
        assert list(maps.shape) == layer["output_shape"]
        assert maps.dtype == np.float32


def test_gradcam(run_dir, images):
    result = inspection.gradcam(run_dir, images["images"][0])
    assert result["layer"] == "conv2"
    heatmap = result["heatmap"]
    assert heatmap.shape == (SIZE, SIZE) and heatmap.dtype == np.float32
    assert np.all(np.isfinite(heatmap)) and heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    assert len(result["probabilities"]) == 10
    assert result["class_index"] == int(np.argmax(result["probabilities"]))
    other = inspection.gradcam(run_dir, images["images"][0], class_index=3, layer_name="conv1")
    assert other["class_index"] == 3 and other["heatmap"].shape == (SIZE, SIZE)


def test_activation_maximization(run_dir):
    result = inspection.activation_maximization(run_dir, "conv2", [0, 3, 7], steps=12)
    assert result.shape == (3, SIZE, SIZE, 1) and result.dtype == np.float32
    assert np.all(np.isfinite(result)) and result.min() >= 0.0 and result.max() <= 1.0
    assert result.std() > 0


def test_weight_histograms(run_dir):
    model = inspection.load_run_model(run_dir)
    histograms = inspection.weight_histograms(run_dir, bins=20)
    assert [h["layer"] for h in histograms] == ["conv1", "conv2", "hidden", "output"]
    for h in histograms:
        kernel = model.get_layer(h["layer"]).kernel
        assert sum(h["counts"]) == int(np.prod(kernel.shape))
        assert len(h["edges"]) == 21 and np.isfinite(h["mean"]) and h["std"] >= 0


def test_receptive_field_box_matches_infer():
    spec = _cnn()
    info = infer(spec)
    node = next(n for n in spec.nodes if n.name == "conv2")
    size = info.nodes[node.id].receptive_field.size  # 3x3, pool 2, 3x3 -> 8
    top, left, bottom, right = inspection.receptive_field_box(spec, "conv2", 4, 3)
    assert (bottom - top, right - left) == tuple(size)
    # Centred on the position: pool stride 2 puts map pixel (4, 3) at input (8.5, 6.5).
    assert (top + bottom) / 2 == pytest.approx(8.5 + 0.5, abs=1.0)
    # Clamped at the corner.
    assert inspection.receptive_field_box(spec, "conv2", 0, 0)[:2] == (0, 0)
    first = inspection.receptive_field_box(spec, "conv1", 5, 5)
    assert first == (4, 4, 7, 7)


def test_shift_experiment_on_trained_run(run_dir, images):
    result = inspection.shift_experiment(run_dir, images["images"][0], max_shift=3)
    assert result["shifts"] == [0, 1, 2, 3]
    assert result["layers"] == ["conv1", "pool1", "conv2"]
    assert len(result["change"]) == 3 and all(len(row) == 4 for row in result["change"])
    assert result["change"][0][0] == 0.0 and result["equivariance_error"][0][0] == 0.0
    assert len(result["probabilities"]) == 4 and len(result["probabilities"][0]) == 10
    assert len(result["predicted"]) == 4
    conv1, pool1, _ = result["equivariance_error"]
    assert max(conv1) < 1e-5            # stride 1: shifts pass straight through
    assert pool1[2] < 1e-5              # stride 2: an even shift is one whole map pixel
    assert pool1[1] > 1e-3              # an odd shift falls between the pooling grid


def test_stride_one_conv_is_shift_equivariant(tmp_path):
    from engine.build import build_model

    g = GraphBuilder("one-conv")
    x = g.add("InputLayer", {"shape": [SIZE, SIZE, 1]}, name="input")
    x = g.add("Conv2D", {"filters": 4, "padding": "same", "kernel_size": [3, 3]}, [x], name="conv")
    x = g.add("GlobalAveragePooling2D", {}, [x], name="gap")
    g.add("Dense", {"units": 3, "activation": "softmax"}, [x], name="output")
    folder = RunFolder(tmp_path)
    (tmp_path / "spec.json").write_text(g.spec.to_json(), encoding="utf-8")
    build_model(g.spec).save(tmp_path / "model.keras")
    image = np.random.default_rng(0).random((SIZE, SIZE, 1)).astype(np.float32)
    for direction in ("horizontal", "vertical"):
        result = inspection.shift_experiment(folder.path, image, max_shift=4, direction=direction)
        assert result["layers"] == ["conv"]
        assert max(result["equivariance_error"][0]) < 1e-5
        assert result["change"][0][3] > 0.1  # the map itself does move


def test_embedding(run_dir):
    result = inspection.embedding(run_dir, max_points=50)
    n = len(result["labels"])
    assert 0 < n <= 50
    assert result["handcrafted"].shape == (n, 2) and result["learned"].shape == (n, 2)
    assert result["layer"] == "hidden" and len(result["class_names"]) == 10
    assert np.all(np.isfinite(result["learned"]))
