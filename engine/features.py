"""Hand-crafted features next to learned ones: a classic filter bank, HOG/Gabor/raw-pixel
baselines, linear probes of a trained network's layers, and first-layer kernel matching.

The module level needs only NumPy, SciPy, scikit-image and scikit-learn (the GUI draws the
filter bank without Keras); the functions that touch a model import Keras themselves.

Filter bank conventions (shared with engine.layers.HandcraftedConv2D, which recomputes the
same kernels with plain Python so exported scripts need only Keras):
- 3x3 operators (scikit-image's Sobel/Prewitt/Scharr weights, the 4-neighbour Laplacian)
  are zero-padded into the centre of the size x size window, not resized: the operator
  stays exact and only its support is embedded in the larger window.
- "sobel_x" differentiates along x (columns: right minus left when cross-correlated, as
  Keras does) and "sobel_y" along y (rows: bottom minus top, image rows grow downwards), so
  their responses equal skimage.filters.sobel_v and sobel_h (likewise Prewitt and Scharr).
- Gabor kernels: real part of skimage.filters.gabor_kernel with sigma = size / 4, cropped
  to the window; LoG: scipy.ndimage.gaussian_laplace of an impulse with sigma = size / 5;
  Gaussian: gaussian_filter of an impulse with sigma = size / 5 (sums to 1).
- Every kernel except "gaussian" is zero-mean with absolute values summing to 2 (the
  scale of scikit-image's Sobel weights, whose lobes sum to +1 and -1).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.filters import edges as _edges
from skimage.filters import gabor_kernel
from skimage.transform import resize

from engine.blocks.catalog import block_of_layer, kernels_as_conv
from engine.datasets import DatasetSplits
from engine.errors import ProjectError

GABOR_ANGLES = (0, 45, 90, 135)
GABOR_FREQUENCIES = (0.15, 0.3)  # cycles per pixel
GRID_CELLS = 4        # Gabor features: mean |response| over a 4 x 4 grid of cells
PROBE_GRID = 2        # linear probes: spatial maps average-pooled to a 2 x 2 grid
PREDICT_BATCH = 256


# -- the filter bank ---------------------------------------------------------------------------

def _normalised(kernel: np.ndarray) -> np.ndarray:
    kernel = kernel - kernel.mean()
    return (kernel * (2.0 / np.abs(kernel).sum())).astype(np.float32)


def _embed(small: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size, size), dtype=np.float64)
    offset = (size - small.shape[0]) // 2
    out[offset:offset + small.shape[0], offset:offset + small.shape[1]] = small
    return out


def _impulse(size: int) -> np.ndarray:
    impulse = np.zeros((size, size), dtype=np.float64)
    impulse[(size - 1) // 2, (size - 1) // 2] = 1.0
    return impulse


def _center_crop(kernel: np.ndarray, size: int) -> np.ndarray:
    if kernel.shape[0] < size or kernel.shape[1] < size:
        kernel = np.pad(kernel, [(max(0, size - kernel.shape[0] + 1) // 2,) * 2,
                                 (max(0, size - kernel.shape[1] + 1) // 2,) * 2])
    top, left = (kernel.shape[0] - size) // 2, (kernel.shape[1] - size) // 2
    return kernel[top:top + size, left:left + size]


def gabor_name(theta: int, frequency: float) -> str:
    return f"gabor_{theta}_{frequency:g}"


def filter_bank(size: int = 5) -> dict[str, np.ndarray]:
    """Classic filters as float32 (size, size) kernels, by name (see the module docstring)."""
    if not isinstance(size, (int, np.integer)) or size < 3:
        raise ValueError(f"filter size must be an integer >= 3, not {size!r}")
    size = int(size)
    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
    bank = {
        "sobel_x": _edges.VSOBEL_WEIGHTS, "sobel_y": _edges.HSOBEL_WEIGHTS,
        "prewitt_x": _edges.VPREWITT_WEIGHTS, "prewitt_y": _edges.HPREWITT_WEIGHTS,
        "scharr_x": _edges.VSCHARR_WEIGHTS, "scharr_y": _edges.HSCHARR_WEIGHTS,
        "laplacian": laplacian,
    }
    # scikit-image's V* weights are the transposes of H*: [[1, 0, -1], ...] (left minus right);
    # scikit-image convolves with these weights; negated, they cross-correlate (as Keras does)
    # to the same result: x = right minus left, y = bottom minus top (rows grow downwards).
    bank = {name: _normalised(_embed(np.asarray(w, dtype=np.float64) * (1 if name == "laplacian" else -1),
                                     size))
            for name, w in bank.items()}
    bank["gaussian"] = (ndimage.gaussian_filter(_impulse(size), size / 5, mode="constant")).astype(np.float32)
    bank["gaussian"] /= bank["gaussian"].sum()
    bank["log"] = _normalised(ndimage.gaussian_laplace(_impulse(size), size / 5, mode="constant"))
    for theta in GABOR_ANGLES:
        for frequency in GABOR_FREQUENCIES:
            kernel = gabor_kernel(frequency, theta=np.deg2rad(theta), sigma_x=size / 4,
                                  sigma_y=size / 4, n_stds=3).real
            bank[gabor_name(theta, frequency)] = _normalised(_center_crop(kernel, size))
    return bank


def gabor_bank(size: int = 5) -> dict[str, np.ndarray]:
    return {name: k for name, k in filter_bank(size).items() if name.startswith("gabor_")}


# -- kernel comparison ----------------------------------------------------------------------------

def _resized(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.shape == shape:
        return kernel
    return resize(kernel, shape, order=1, mode="edge", anti_aliasing=False)


def kernel_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """|cosine similarity| of the zero-meaned kernels, in [0, 1]; sign-invariant.

    Kernels of different sizes are compared at the larger size (bilinear resize).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError("kernel_similarity compares 2-D kernels")
    shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
    a, b = _resized(a, shape).ravel(), _resized(b, shape).ravel()
    a, b = a - a.mean(), b - b.mean()
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return 0.0 if norm == 0 else float(abs(a @ b) / norm)


def match_kernels(kernels: np.ndarray, bank: dict | None = None) -> list[dict]:
    """For each output kernel of a Keras-style (kh, kw, in, out) array (averaged over input
    channels): the most similar bank filter, as {"kernel", "filter", "similarity"}."""
    kernels = np.asarray(kernels)
    if kernels.ndim != 4:
        raise ValueError(f"expected kernels shaped (kh, kw, in, out), got {kernels.shape}")
    if bank is None:
        bank = filter_bank(max(3, max(kernels.shape[:2])))
    matches = []
    for index in range(kernels.shape[3]):
        kernel = kernels[:, :, :, index].mean(axis=2)
        scores = {name: kernel_similarity(kernel, filt) for name, filt in bank.items()}
        best = max(scores, key=scores.get)
        matches.append({"kernel": index, "filter": best, "similarity": scores[best]})
    return matches


# -- responses and features ---------------------------------------------------------------------

def _gray(images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) or (H, W, C) -> grayscale float64 (channel mean)."""
    images = np.asarray(images, dtype=np.float64)
    return images.mean(axis=-1)


def handcrafted_responses(image: np.ndarray, bank: dict | None = None) -> dict[str, np.ndarray]:
    """Each bank filter's response on a (H, W, C) image in [0, 1], same size (H, W).

    Cross-correlation (scipy.ndimage.correlate, as Keras convolves), 'reflect' borders.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"expected an (H, W, C) image, got shape {image.shape}")
    gray = _gray(image)
    bank = filter_bank() if bank is None else bank
    return {name: ndimage.correlate(gray, np.asarray(k, dtype=np.float64), mode="reflect").astype(np.float32)
            for name, k in bank.items()}


def raw_features(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32)
    return images.reshape(len(images), -1)


def hog_features(images: np.ndarray) -> np.ndarray:
    """HOG of each grayscale image: 9 orientations, a 4 x 4 grid of cells, 2 x 2 blocks."""
    from skimage.feature import hog  # imported here, like scikit-learn: the GUI imports this module
    gray = _gray(images)
    height, width = gray.shape[1:]
    cell = (max(1, height // 4), max(1, width // 4))
    return np.stack([hog(image, orientations=9, pixels_per_cell=cell, cells_per_block=(2, 2),
                         feature_vector=True) for image in gray]).astype(np.float32)


def _grid_means(maps: np.ndarray, cells: int) -> np.ndarray:
    """(N, H, W, K) -> (N, cells * cells * K): mean over each cell of a cells x cells grid."""
    n, height, width, k = maps.shape
    rows = np.array_split(np.arange(height), min(cells, height))
    cols = np.array_split(np.arange(width), min(cells, width))
    pooled = [maps[:, r[0]:r[-1] + 1, c[0]:c[-1] + 1, :].mean(axis=(1, 2)) for r in rows for c in cols]
    return np.concatenate(pooled, axis=1)


def gabor_features(images: np.ndarray, bank: dict | None = None) -> np.ndarray:
    """Mean |response| of each filter over a 4 x 4 grid of cells (default: the Gabor filters)."""
    bank = gabor_bank() if bank is None else bank
    gray = _gray(images)
    responses = np.stack([np.abs(ndimage.correlate(gray, np.asarray(k, dtype=np.float64)[None],
                                                   mode="reflect"))
                          for k in bank.values()], axis=-1)
    return _grid_means(responses, GRID_CELLS).astype(np.float32)


# -- linear classifiers ---------------------------------------------------------------------------

def _classifier():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


BASELINES = (
    ("HOG + logistic regression", "HOG", hog_features),
    ("Gabor bank + logistic regression", "Gabor", gabor_features),
    ("raw pixels + logistic regression", "raw pixels", raw_features),
)


def run_baselines(splits: DatasetSplits, progress=None) -> list[dict]:
    """Fit each hand-crafted-feature classifier on the train split; accuracies on val/test.

    train_time covers feature extraction of all splits and the fit. progress(message,
    fraction of the baselines done) is called before each.
    """
    rows = []
    for done, (name, features, extract) in enumerate(BASELINES):
        if progress is not None:
            progress(f"Baseline: {name}…", done / len(BASELINES))
        start = time.perf_counter()
        x_train, x_val, x_test = (extract(x) for x in (splits.x_train, splits.x_val, splits.x_test))
        model = _classifier().fit(x_train, splits.y_train)
        elapsed = time.perf_counter() - start
        rows.append({
            "name": name, "features": features,
            "test_accuracy": float(model.score(x_test, splits.y_test)),
            "validation_accuracy": float(model.score(x_val, splits.y_val)) if len(x_val) else None,
            "train_time": float(elapsed), "feature_count": int(x_train.shape[1]),
        })
    return rows


def _probe_vectors(activations: np.ndarray) -> np.ndarray:
    if activations.ndim == 4:  # spatial map: keep coarse position, 2 x 2 grid of means
        return _grid_means(activations, PROBE_GRID)
    return activations.reshape(len(activations), -1)


def linear_probes(model, splits: DatasetSplits, max_samples: int = 2000, progress=None) -> list[dict]:
    """Logistic regression on each layer's (frozen) activations, layer by layer in order.

    Every layer except InputLayer and Dropout is probed. Spatial maps (H, W, C) are
    average-pooled to a 2 x 2 grid (4 * C features): early maps keep coarse position
    without giving the probe more features than the later layers have, so accuracy
    reflects how linearly separable the representation is. Vectors are used as they are.
    The first max_samples train and test images are used.
    """
    import keras

    x_train, y_train = splits.x_train[:max_samples], splits.y_train[:max_samples]
    x_test, y_test = splits.x_test[:max_samples], splits.y_test[:max_samples]
    probed = [layer for layer in model.layers
              if not isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout))]
    extractor = keras.Model(model.inputs, [layer.output for layer in probed])

    def activations(x):
        outputs = extractor.predict(x, batch_size=PREDICT_BATCH, verbose=0)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return [_probe_vectors(np.asarray(o, dtype=np.float32)) for o in outputs]

    train_features, test_features = activations(x_train), activations(x_test)
    rows = []
    for depth, (layer, train, test) in enumerate(zip(probed, train_features, test_features)):
        if progress is not None:
            progress(f"Linear probe on {layer.name}…", depth / len(probed))
        probe = _classifier().fit(train, y_train)
        rows.append({"layer": layer.name, "type": type(layer).__name__, "depth": depth,
                     "accuracy": float(probe.score(test, y_test)), "feature_count": int(train.shape[1])})
    return rows


# -- a run's model and data -------------------------------------------------------------------------

def _run_folder(run_dir):
    from engine.training.runs import RunFolder

    path = Path(run_dir)
    if not (path / "model.keras").is_file():
        raise ProjectError(f"{path} is not a finished run folder (no model.keras in it).")
    return RunFolder(path)


def load_run_data(run_dir) -> tuple:
    """(trained Keras model, the exact DatasetSplits the run trained on, adapted to the model),
    both cached per run in this process (engine.inspection)."""
    from engine import inspection

    _run_folder(run_dir)
    return inspection.load_run_model(run_dir), inspection.run_data(run_dir)


def first_conv_kernel(model) -> tuple[str, np.ndarray] | None:
    for layer in model.layers:
        block = block_of_layer(layer)
        if block is not None and block.family == "convolution" and block.kernel_weight:
            kernel = getattr(layer, block.kernel_weight)
            kernel = np.asarray(kernel.numpy() if hasattr(kernel, "numpy") else kernel)
            return layer.name, kernels_as_conv(block, kernel)
    return None


def compare_run(run_dir, progress=None) -> dict:
    """Hand-crafted baselines vs the run's CNN, linear probes, and first-layer kernel matches.

    Baselines use the same split and the same images the CNN saw (adapted to its input,
    e.g. digits resized to 32 x 32 for LeNet-5), so the comparison is like for like.
    """
    report = progress or (lambda message, fraction: None)
    report("Loading the run…", 0.0)
    model, splits = load_run_data(run_dir)
    metrics = _run_folder(run_dir).metrics() or {}
    first = first_conv_kernel(model)
    baselines = run_baselines(splits, lambda message, done: report(message, 0.05 + 0.45 * done))
    probes = linear_probes(model, splits, progress=lambda message, done: report(message, 0.5 + 0.5 * done))
    return {
        "baselines": baselines,
        "cnn": {"test_accuracy": metrics.get("test_accuracy"),
                "training_time": metrics.get("training_time")},
        "probes": probes,
        "kernel_layer": first[0] if first else None,
        "kernel_matches": match_kernels(first[1]) if first else [],
    }
