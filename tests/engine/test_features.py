"""Hand-crafted features: the filter bank, the HandcraftedConv2D block, baselines, linear
probes and kernel matching, on real (tiny) trained runs; no mocks."""

import json

import numpy as np
import pytest
from skimage.filters import sobel_h, sobel_v

from engine.datasets import load_dataset
from engine.features import (filter_bank, gabor_features, handcrafted_responses,
                             hog_features, kernel_similarity, linear_probes, load_run_data,
                             match_kernels, raw_features, run_baselines)
from engine.graph.edits import ChangeNodeType
from engine.graph.shapes import infer
from engine.templates import load_template
from engine.training.config import TrainingConfig
from engine.training.session import run_training
from tests.engine.test_cli import run, run_here

EXPECTED_NAMES = {"sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y",
                  "laplacian", "gaussian", "log"} | {
    f"gabor_{t}_{f}" for t in (0, 45, 90, 135) for f in ("0.15", "0.3")}


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    config = TrainingConfig(dataset="digits", epochs=4, batch_size=32, max_samples=900, seed=0)
    result = run_training(load_template("lenet5"), config, runs_root=root)
    assert result["type"] == "finished", result
    [folder] = [p for p in root.iterdir() if p.is_dir()]
    return folder


def gabor_lenet(trainable=False):
    return ChangeNodeType("n2", "HandcraftedConv2D", {"bank": "gabor", "activation": "tanh",
                                                      "trainable_kernels": trainable}).apply(
        load_template("lenet5"))


# -- filter bank and similarity ---------------------------------------------------------------

@pytest.mark.parametrize("size", [3, 5, 7])
def test_filter_bank_names_shapes_and_zero_mean(size):
    bank = filter_bank(size)
    assert set(bank) == EXPECTED_NAMES
    for name, kernel in bank.items():
        assert kernel.shape == (size, size) and kernel.dtype == np.float32
        if name == "gaussian":
            assert kernel.sum() == pytest.approx(1, abs=1e-5)
        else:
            assert abs(kernel.mean()) < 1e-6 and np.abs(kernel).sum() == pytest.approx(2, abs=1e-4)


def test_layer_kernels_equal_the_scikit_image_bank():
    """HandcraftedConv2D recomputes the bank with plain Python: same values as skimage/SciPy."""
    from engine.layers import HandcraftedConv2D

    for size in (3, 5, 7):
        bank = filter_bank(size)
        for name in HandcraftedConv2D.filter_names("all"):
            np.testing.assert_allclose(HandcraftedConv2D.bank_kernel(name, size, size), bank[name],
                                       atol=1e-5, err_msg=name)


def test_kernel_similarity_finds_a_planted_sobel_among_random_kernels():
    rng = np.random.default_rng(0)
    sobel = filter_bank(3)["sobel_x"]
    kernels = rng.normal(size=(3, 3, 2, 12)).astype(np.float32)
    kernels[:, :, :, 7] = -3.0 * sobel[:, :, None] + 0.5  # sign, scale and offset do not matter
    scores = [kernel_similarity(kernels[:, :, :, i].mean(axis=2), sobel) for i in range(12)]
    assert int(np.argmax(scores)) == 7 and scores[7] == pytest.approx(1.0)
    big = filter_bank(5)  # different sizes compare (resized to the larger)
    assert kernel_similarity(sobel, big["sobel_x"]) > 0.4 > kernel_similarity(sobel, big["sobel_y"])
    matches = match_kernels(kernels)
    assert [m["kernel"] for m in matches] == list(range(12))
    assert set(matches[0]) == {"kernel", "filter", "similarity"}
    assert matches[7]["filter"] in ("sobel_x", "prewitt_x", "scharr_x")
    assert matches[7]["similarity"] > 0.95


def test_handcrafted_responses_and_feature_extractors():
    images = load_dataset("digits", seed=0).x_test[:5]
    responses = handcrafted_responses(images[0])
    assert set(responses) == EXPECTED_NAMES
    assert all(r.shape == (8, 8) for r in responses.values())
    assert hog_features(images).shape == (5, 324)
    assert gabor_features(images).shape == (5, 8 * 16)
    assert raw_features(images).shape == (5, 64)


# -- the HandcraftedConv2D block ----------------------------------------------------------------

def test_frozen_sobel_layer_reproduces_scikit_image_sobel():
    """"sobel_x" (right minus left) equals skimage's sobel_v and "sobel_y" (bottom minus top)
    its sobel_h, exactly (same 1/4 scale), on the interior pixels: skimage zeroes the
    1-pixel border. The 3x3 Sobel sits zero-padded in a 5x5 kernel, 'same' padding."""
    import keras

    from engine.layers import HandcraftedConv2D

    image = load_dataset("digits", seed=0).x_test[0, :, :, 0].astype(np.float64)
    layer = HandcraftedConv2D(bank="edges", kernel_size=(5, 5), padding="same")
    out = keras.ops.convert_to_numpy(layer(image[None, :, :, None].astype(np.float32)))[0]
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    inner = (slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(out[..., 0][inner], sobel_v(image)[inner], atol=1e-5)
    np.testing.assert_allclose(out[..., 1][inner], sobel_h(image)[inner], atol=1e-5)
    # and the same as the NumPy responses of the feature module
    responses = handcrafted_responses(image[..., None])
    np.testing.assert_allclose(out[..., 1][2:-2, 2:-2], responses["sobel_y"][2:-2, 2:-2], atol=1e-5)


@pytest.mark.parametrize("trainable", [False, True])
def test_handcrafted_block_shapes_and_weights_agree_with_keras(trainable):
    from tests.engine.test_shape_agreement import assert_agrees_with_keras

    spec = gabor_lenet(trainable)
    assert_agrees_with_keras(spec)
    c1 = infer(spec).nodes["n2"]
    assert c1.output_shape == (28, 28, 8)
    assert (c1.trainable_params, c1.non_trainable_params) == ((208, 0) if trainable else (0, 208))
    for params in ({"bank": "all", "kernel_size": [3, 4], "strides": [2, 1], "padding": "same"},
                   {"bank": "edges", "kernel_size": [7, 7], "padding": "valid"}):
        assert_agrees_with_keras(ChangeNodeType("n2", "HandcraftedConv2D", params).apply(
            load_template("lenet5")))


def test_handcrafted_block_exports_to_a_runnable_script(tmp_path):
    import subprocess
    import sys

    from engine.export import export_python

    path = tmp_path / "net.py"
    export_python(gabor_lenet(), path)
    script = path.read_text()
    assert "class HandcraftedConv2D(keras.layers.Layer):" in script
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "62,558" in result.stdout  # model.summary(): LeNet-5 with an 8-filter C1


# -- baselines, probes, a run's report ------------------------------------------------------------

def test_baselines_on_digits():
    rows = run_baselines(load_dataset("digits", seed=0))
    assert [r["features"] for r in rows] == ["HOG", "Gabor", "raw pixels"]
    for row in rows:
        assert row["test_accuracy"] > 0.9, row  # measured: 0.94 / 0.99 / 0.96
        assert 0 < row["train_time"] < 30 and row["feature_count"] > 0


def test_linear_probes_improve_with_depth_and_report(lenet_run):
    model, splits = load_run_data(lenet_run)
    assert splits.input_shape == (32, 32, 1)
    probes = linear_probes(model, splits)
    assert [p["layer"] for p in probes] == ["C1", "S2", "C3", "S4", "flatten", "F5", "F6", "output"]
    assert [p["depth"] for p in probes] == list(range(8))
    assert probes[-2]["accuracy"] > probes[0]["accuracy"]  # F6 beats C1
    assert probes[-1]["accuracy"] > 0.8


def test_cli_features_json_and_table(lenet_run, tmp_path):
    report = json.loads(run_here("features", str(lenet_run), "--json").stdout)
    assert {"baselines", "cnn", "probes", "kernel_matches"} <= set(report)
    assert len(report["baselines"]) == 3 and len(report["kernel_matches"]) == 6
    assert report["cnn"]["test_accuracy"] > 0.5
    table = run_here("features", str(lenet_run)).stdout
    assert "HOG + logistic regression" in table and "Linear probes" in table and "C1" in table
    bad = run("features", str(tmp_path / "nowhere"), check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
