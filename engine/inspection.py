"""Looking inside a trained run: feature maps, Grad-CAM, activation maximisation, weight
histograms, the shift experiment and 2-D embeddings.

Everything here takes plain data (a run folder, NumPy images, names) and returns NumPy arrays,
lists and dicts: it runs in a worker process and its results cross the process boundary.
Keras is imported lazily inside the functions, so importing this module stays cheap.

Gradients: Keras 3 has no backend-neutral gradient API, so (as in training/gradients.py) the
two gradient users - Grad-CAM and activation maximisation - have a small branch per backend
(TensorFlow, JAX, PyTorch).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from engine.deep_graphs import load_keras_model
from engine.blocks.catalog import block_of_layer
from engine.errors import ProjectError

_MODELS: dict[str, tuple[float, object]] = {}      # run dir -> (model.keras mtime, model)
_SUBMODELS: dict[tuple, object] = {}               # (run dir, mtime, what, names) -> sub-model
_DATA: dict[str, object] = {}                      # run dir -> adapted DatasetSplits
_MAPS: dict[tuple, np.ndarray] = {}                # (run, mtime, layer, image digest) -> maps
MAX_CACHED_MAPS = 64
DEFAULT_PHOTO_SIZE = 96  # photo side for a network whose input size is variable (None)


# --------------------------------------------------------------------------- loading

def _key(run_dir) -> str:
    return str(Path(run_dir).resolve())


def load_run_model(run_dir):
    """The run's trained network (model.keras), loaded once per run folder and cached."""
    path = Path(run_dir) / "model.keras"
    if not path.exists():
        raise ProjectError(f"{path} is missing: the run has no trained model to inspect.")
    key, mtime = _key(run_dir), path.stat().st_mtime
    cached = _MODELS.get(key)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        model = load_keras_model(path, compile=False)
    except Exception as error:  # noqa: BLE001
        raise ProjectError(f"Cannot load {path}: {error}") from None
    _MODELS[key] = (mtime, model)
    return model


def _submodel(run_dir, what: str, names: tuple, build):
    model = load_run_model(run_dir)
    key = (_key(run_dir), _MODELS[_key(run_dir)][0], what, names)
    if key not in _SUBMODELS:
        _SUBMODELS[key] = build(model)
    return _SUBMODELS[key]


def _inputs(model):
    """The model's input tensor (single-input networks are called with one array)."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _layer(model, name: str):
    try:
        return model.get_layer(name)
    except ValueError:
        names = ", ".join(layer.name for layer in model.layers)
        raise ProjectError(f"The network has no layer named {name!r}. Layers: {names}.") from None


def _input_hw(model) -> tuple[int | None, int | None, int]:
    shape = tuple(model.inputs[0].shape)[1:]
    if len(shape) != 3:
        raise ProjectError(f"The network input has shape {shape}; inspection needs images "
                           "(height, width, channels).")
    return shape[0], shape[1], shape[2]


def run_data(run_dir):
    key = _key(run_dir)
    if key in _DATA:
        return _DATA[key]
    from engine.training.data import training_splits
    from engine.training.runs import RunFolder

    folder = RunFolder(Path(run_dir))
    _DATA[key] = training_splits(folder.spec(), folder.config())
    return _DATA[key]


def run_images(run_dir, split: str = "test", count: int = 16) -> dict:
    """The first `count` images of the run's own split (train / validation / test), loaded
    exactly as the Trainer loads them and adapted to the network input."""
    data = run_data(run_dir)
    pairs = {"train": (data.x_train, data.y_train), "validation": (data.x_val, data.y_val),
             "val": (data.x_val, data.y_val), "test": (data.x_test, data.y_test)}
    if split not in pairs:
        raise ProjectError(f"Unknown split {split!r}: use train, validation or test.")
    x, y = pairs[split]
    return {"images": np.asarray(x[:count], dtype=np.float32),
            "labels": np.asarray(y[:count], dtype=np.int64),
            "class_names": list(data.class_names)}


def no_run_images(run_dir, reason: str = "") -> dict:
    """What run_images gives when the run's dataset cannot be loaded (an imported model whose
    guessed dataset does not fit): no images, the input's shape, and why."""
    height, width, channels = _input_hw(load_run_model(run_dir))
    shape = (0, height or DEFAULT_PHOTO_SIZE, width or DEFAULT_PHOTO_SIZE, channels or 3)
    return {"images": np.zeros(shape, dtype=np.float32), "labels": np.zeros(0, dtype=np.int64),
            "class_names": [], "note": reason}


def sample_photos(shape) -> dict[str, np.ndarray]:
    """Real photos that ship with scikit-image and scikit-learn, as float32 [0, 1] images of
    `shape` (H, W, C); a None side becomes DEFAULT_PHOTO_SIZE. Photos that cannot be read
    (a missing optional file) are skipped."""
    from skimage.transform import resize

    height, width, channels = (tuple(shape) + (None, None, None))[:3]
    height, width = height or DEFAULT_PHOTO_SIZE, width or DEFAULT_PHOTO_SIZE
    channels = channels or 3
    raw: dict[str, np.ndarray] = {}
    try:
        import skimage.data as sk

        for name in ("camera", "astronaut", "coffee", "coins"):
            try:
                raw[name] = getattr(sk, name)()
            except Exception:  # noqa: BLE001 - a missing data file just leaves a photo out
                pass
    except ImportError:
        pass
    try:
        from sklearn.datasets import load_sample_images

        bunch = load_sample_images()
        for filename, image in zip(bunch.filenames, bunch.images):
            raw[Path(filename).stem] = image
    except Exception:  # noqa: BLE001
        pass
    photos = {}
    for name, image in raw.items():
        image = np.asarray(image, dtype=np.float32)
        if image.max() > 1.0:
            image = image / 255.0
        if image.ndim == 2:
            image = image[..., None]
        image = image[..., :3]
        if channels == 1 and image.shape[-1] == 3:
            image = (image @ np.asarray((0.299, 0.587, 0.114), dtype=np.float32))[..., None]
        elif channels == 3 and image.shape[-1] == 1:
            image = np.repeat(image, 3, axis=-1)
        elif image.shape[-1] != channels:
            continue
        # Centre crop to the target aspect ratio, then resize with antialiasing.
        h, w = image.shape[:2]
        target = width / height
        if w / h > target:
            new_w = max(1, round(h * target))
            image = image[:, (w - new_w) // 2:(w - new_w) // 2 + new_w]
        else:
            new_h = max(1, round(w / target))
            image = image[(h - new_h) // 2:(h - new_h) // 2 + new_h]
        image = resize(image, (height, width, image.shape[-1]), anti_aliasing=True, order=1)
        photos[name] = np.clip(image, 0.0, 1.0).astype(np.float32)
    return photos


# --------------------------------------------------------------------------- layers and maps

def _shape_list(tensor) -> list:
    return [None if side is None else int(side) for side in tuple(tensor.shape)[1:]]


def layer_names(run_dir) -> list[dict]:
    """[{"name", "type", "output_shape"}] in model order, without the Input layer."""
    model = load_run_model(run_dir)
    result = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            shape = _shape_list(layer.output)
        except Exception:  # noqa: BLE001 - a layer used several times has no single output
            shape = None
        result.append({"name": layer.name, "type": type(layer).__name__, "output_shape": shape})
    return result


def _batch(image) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    return image[None] if image.ndim == 3 else image


def _outputs_model(run_dir, names: tuple):
    import keras

    def build(model):
        return keras.Model(_inputs(model), [_layer(model, n).output for n in names])

    return _submodel(run_dir, "outputs", names, build)


def feature_maps(run_dir, layer_name: str, image) -> np.ndarray:
    """The activations of `layer_name` for one image: (h, w, channels) float32 (or the
    layer's own output shape for non-spatial layers)."""
    import hashlib

    import keras

    batch = _batch(image)
    sub = _outputs_model(run_dir, (layer_name,))
    key = (_key(run_dir), _MODELS[_key(run_dir)][0], layer_name, batch.shape,
           hashlib.blake2b(batch.tobytes(), digest_size=16).digest())
    if key not in _MAPS:
        output = sub(batch, training=False)
        output = output[0] if isinstance(output, (list, tuple)) else output
        if len(_MAPS) >= MAX_CACHED_MAPS:
            _MAPS.pop(next(iter(_MAPS)))  # the oldest
        _MAPS[key] = np.asarray(keras.ops.convert_to_numpy(output)[0], dtype=np.float32)
    return _MAPS[key]


# --------------------------------------------------------------------------- receptive fields

def receptive_field_box(spec, layer_name: str, row: int, col: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) in input pixels - bottom/right exclusive, like slices - of
    the receptive field of output position (row, col) of `layer_name`.

    The size and cumulative stride come from engine.graph.shapes.infer. The position is an
    approximation: along each axis the field of position p is centred at
    start + p * stride, where start (the centre of position 0) grows, for every windowed block
    on the path from the input, by ((kernel - 1) / 2 - padding) * stride-so-far, with
    padding = (kernel - 1) // 2 for 'same' and 0 for 'valid'. Where branches merge the first
    input is followed. The box is clamped to the image, so near the borders it is smaller
    than the receptive field (the rest falls on padding)."""
    from engine.blocks.catalog import BLOCKS_BY_TYPE, Window
    from engine.graph.shapes import infer

    node = next((n for n in spec.nodes if n.name == layer_name or n.id == layer_name), None)
    if node is None:
        raise ProjectError(f"The network has no layer named {layer_name!r}.")
    info = infer(spec)
    field = info.nodes[node.id].receptive_field if node.id in info.nodes else None
    if field is None:
        raise ProjectError(f"The receptive field of {layer_name} is unknown: fix the network first.")
    input_node = next(n for n in spec.nodes if n.type == "InputLayer")
    in_h, in_w = (list(input_node.params["shape"]) + [None, None])[:2]
    if field.whole_input:
        return (0, 0, int(in_h or 0), int(in_w or 0))

    # Offsets (centre of position 0) along the chain from the input, following first inputs.
    chain = []
    current = node
    while current.type != "InputLayer":
        chain.append(current)
        incoming = sorted(spec.incoming(current.id), key=lambda e: e.target[1])
        if not incoming:
            break
        current = spec.node(incoming[0].source[0])
    start, jump = [0.0, 0.0], [1, 1]
    for step in reversed(chain):
        window = BLOCKS_BY_TYPE[step.type].window(step.params)
        if not isinstance(window, Window):
            continue
        padding = step.params.get("padding", "valid")
        for axis in (0, 1):
            kernel = window.kernel[axis]
            pad = (kernel - 1) // 2 if padding == "same" else 0
            start[axis] += ((kernel - 1) / 2 - pad) * jump[axis]
            jump[axis] *= window.stride[axis]
    box = []
    for axis, position, limit in ((0, row, in_h), (1, col, in_w)):
        size = field.size[axis] or (limit or 1)
        centre = start[axis] + position * field.stride[axis]
        low = int(math.floor(centre - (size - 1) / 2 + 1e-9))
        high = low + size
        if limit:
            low, high = max(0, low), min(int(limit), high)
        box.append((max(0, low), high))
    (top, bottom), (left, right) = box
    return (top, left, bottom, right)


# --------------------------------------------------------------------------- gradients

def _backend() -> str:
    import keras

    return keras.backend.backend()


def _gradient(model, x: np.ndarray, objective):
    """(objective value, d objective / d x) for a single-input model; objective maps the
    model's outputs (a tensor or list) to a scalar tensor."""
    import keras

    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensor = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            value = objective(model(tensor, training=False))
        gradient = tape.gradient(value, tensor)
        return float(value), np.asarray(gradient.numpy(), dtype=np.float32)
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def scalar(inputs):
            outputs, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
            return objective(outputs)

        value, gradient = jax.value_and_grad(scalar)(jax.numpy.asarray(x))
        return float(value), np.asarray(gradient, dtype=np.float32)
    if backend == "torch":
        import torch

        tensor = torch.as_tensor(x).clone().detach().requires_grad_(True)
        value = objective(model(tensor, training=False))
        value.backward()
        return float(value.detach().cpu()), tensor.grad.detach().cpu().numpy().astype(np.float32)
    raise ProjectError(f"Gradients are not available for the {keras.backend.backend()} backend; "
                       "use tensorflow, jax or torch.")


def _output_activation(model) -> str | None:
    layer = model.layers[-1]
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None)


def _probabilities(model, output: np.ndarray) -> np.ndarray:
    output = np.asarray(output, dtype=np.float64)
    if _output_activation(model) == "softmax":
        return output
    shifted = np.exp(output - output.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _last_conv_name(model) -> str:
    names = [layer.name for layer in model.layers
             if getattr(block_of_layer(layer), "family", "") == "convolution"
             and len(layer.output.shape) == 4]
    if not names:
        raise ProjectError("Grad-CAM needs a convolutional layer; this network has none.")
    return names[-1]


def gradcam(run_dir, image, class_index: int | None = None, layer_name: str | None = None) -> dict:
    """Grad-CAM (Selvaraju et al. 2017) for one image.

    The class score is the logit: when the last layer is a Dense with softmax, its
    pre-softmax value x @ kernel + bias; otherwise the network output itself. Channel weights
    are the spatial mean of d score / d maps; the map is ReLU(sum weights * maps), scaled to
    [0, 1] and resized to the input size."""
    import keras

    model = load_run_model(run_dir)
    layer_name = layer_name or _last_conv_name(model)
    conv = _layer(model, layer_name)
    if len(conv.output.shape) != 4:
        raise ProjectError(f"{layer_name} has no spatial output; pick a convolutional layer.")
    x = _batch(image)
    probabilities = _probabilities(model, keras.ops.convert_to_numpy(model(x, training=False)))[0]
    if class_index is None:
        class_index = int(np.argmax(probabilities))
    class_index = int(class_index)
    last = model.layers[-1]
    use_logits = _output_activation(model) == "softmax" and \
        getattr(block_of_layer(last), "family", "") == "dense"  # logits = its kernel times inputs

    def score_of(outputs, index=class_index):
        if use_logits:
            logits = keras.ops.matmul(outputs, last.kernel.value)
            if last.use_bias:
                logits = logits + last.bias.value
            return keras.ops.sum(logits[:, index])
        return keras.ops.sum(outputs[:, index])

    backend = _backend()
    head = _outputs_model(run_dir, (layer_name,))
    maps = keras.ops.convert_to_numpy(head(x, training=False))
    maps = maps[0] if isinstance(maps, (list, tuple)) else maps
    if backend == "tensorflow":
        import tensorflow as tf

        target = last.input if use_logits else model.output
        both = _submodel(run_dir, "gradcam", (layer_name, use_logits),
                         lambda m: keras.Model(_inputs(m), [conv.output, target]))
        with tf.GradientTape() as tape:
            conv_out, final = both(tf.convert_to_tensor(x), training=False)
            score = score_of(final)
        gradient = tape.gradient(score, conv_out).numpy()
        maps = conv_out.numpy()
    else:
        # The part of the network after the conv layer as its own model (a chain after it).
        try:
            tail = _submodel(run_dir, "tail", (layer_name, use_logits),
                             lambda m: keras.Model(conv.output, last.input if use_logits else m.output))
        except Exception as error:  # noqa: BLE001
            raise ProjectError(f"Grad-CAM on the {backend} backend needs {layer_name} to be "
                               f"the only path to the output: {error}") from None
        _, gradient = _gradient(tail, np.asarray(maps, dtype=np.float32), score_of)
    weights = gradient[0].mean(axis=(0, 1))
    cam = np.maximum(np.tensordot(maps[0], weights, axes=([-1], [0])), 0.0)
    peak = cam.max()
    cam = cam / peak if peak > 0 else np.zeros_like(cam)
    height, width = x.shape[1:3]
    heatmap = keras.ops.convert_to_numpy(keras.ops.image.resize(
        cam[None, ..., None].astype(np.float32), (height, width), interpolation="bilinear"))[0, ..., 0]
    return {"heatmap": np.clip(heatmap, 0.0, 1.0).astype(np.float32), "class_index": class_index,
            "probabilities": [float(p) for p in probabilities], "layer": layer_name}


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(images, sigma=(0, sigma, sigma, 0)).astype(np.float32)


def activation_maximization(run_dir, layer_name: str, filters: list[int], steps: int = 80,
                            learning_rate: float = 0.1, seed: int = 0) -> np.ndarray:
    """Images that excite each filter of `layer_name`: gradient ascent on the filter's mean
    activation from small noise around grey, with normalised gradient steps, L2 decay,
    a small random jitter every step and a light Gaussian blur every 10 steps.
    Returns (n, H, W, C) float32 in [0, 1], each image stretched for display."""
    import keras

    model = load_run_model(run_dir)
    height, width, channels = _input_hw(model)
    height, width = height or 64, width or 64
    filters = [int(f) for f in filters]
    if not filters:
        return np.zeros((0, height, width, channels), dtype=np.float32)
    sub = _outputs_model(run_dir, (layer_name,))
    units = int(_layer(model, layer_name).output.shape[-1])
    bad = [f for f in filters if not 0 <= f < units]
    if bad:
        raise ProjectError(f"{layer_name} has {units} filters; {bad} are out of range.")
    rng = np.random.default_rng(seed)
    x = (0.5 + 0.02 * rng.standard_normal((len(filters), height, width, channels))).astype(np.float32)
    selector = np.zeros((len(filters), units), dtype=np.float32)
    selector[np.arange(len(filters)), filters] = 1.0

    def objective(outputs):
        outputs = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        spatial_axes = tuple(range(1, len(outputs.shape) - 1))
        means = keras.ops.mean(outputs, axis=spatial_axes) if spatial_axes else outputs
        return keras.ops.sum(means * selector)

    jitter = max(1, min(height, width) // 16)
    for step in range(int(steps)):
        dy, dx = rng.integers(-jitter, jitter + 1, size=2)
        shifted = np.roll(x, (int(dy), int(dx)), axis=(1, 2))
        _, gradient = _gradient(sub, shifted, objective)
        gradient = np.roll(gradient, (-int(dy), -int(dx)), axis=(1, 2))
        scale = np.sqrt(np.mean(gradient ** 2, axis=(1, 2, 3), keepdims=True)) + 1e-8
        x = x + learning_rate * gradient / scale * 0.1
        x = 0.5 + (x - 0.5) * (1.0 - 1e-3)  # L2 decay towards grey
        if step % 10 == 9:
            x = _blur(x, 0.5)
        x = np.clip(x, -1.0, 2.0)
    # Normalise for display: zero mean, 0.15 standard deviation around grey, per image.
    centred = x - x.mean(axis=(1, 2, 3), keepdims=True)
    spread = centred.std(axis=(1, 2, 3), keepdims=True) + 1e-8
    display = np.clip(0.5 + 0.15 * centred / spread, 0.0, 1.0)
    return np.nan_to_num(display, nan=0.5).astype(np.float32)


# --------------------------------------------------------------------------- weights

def weight_histograms(run_dir, bins: int = 40) -> list[dict]:
    """One histogram per layer with a kernel (Conv2D, Dense, depthwise/separable ...)."""
    import keras

    model = load_run_model(run_dir)
    result = []
    for layer in model.layers:
        kernels = [w for w in layer.weights if "kernel" in w.path.split("/")[-1]]
        if not kernels:
            continue
        values = np.concatenate([np.ravel(keras.ops.convert_to_numpy(k)) for k in kernels])
        values = values.astype(np.float64)
        counts, edges = np.histogram(values, bins=int(bins))
        result.append({"layer": layer.name, "counts": [int(c) for c in counts],
                       "edges": [float(e) for e in edges], "mean": float(values.mean()),
                       "std": float(values.std())})
    return result


# --------------------------------------------------------------------------- shifts

def _shift(images: np.ndarray, amount: int, axis: int) -> np.ndarray:
    """Shift along `axis` by `amount` (positive: right/down) with zero fill, not wrap-around."""
    result = np.zeros_like(images)
    length = images.shape[axis]
    if abs(amount) >= length:
        return result
    source = [slice(None)] * images.ndim
    target = [slice(None)] * images.ndim
    if amount >= 0:
        source[axis], target[axis] = slice(0, length - amount), slice(amount, length)
    else:
        source[axis], target[axis] = slice(-amount, length), slice(0, length + amount)
    result[tuple(target)] = images[tuple(source)]
    return result


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0:
        return float("nan")
    return float(np.linalg.norm(a - b) / (np.linalg.norm(b) + 1e-12))


def _fields(run_dir, names) -> dict[str, tuple[int, int]]:
    """{layer: (half the receptive-field size, cumulative stride)} along the widest axis, in
    input pixels, from the run's spec; layers without a known field are left out."""
    try:
        from engine.graph.shapes import infer
        from engine.training.runs import RunFolder

        spec = RunFolder(Path(run_dir)).spec()
        info = infer(spec)
        by_name = {node.name: info.nodes.get(node.id) for node in spec.nodes}
        fields = {}
        for name in names:
            node = by_name.get(name)
            field = node.receptive_field if node is not None else None
            if field is not None and not field.whole_input and field.size[0] and field.size[1]:
                fields[name] = (max(field.size) // 2, field.stride)
        return fields
    except Exception:  # noqa: BLE001 - no readable spec: sizes and strides are estimated
        return {}


def shift_experiment(run_dir, image, max_shift: int = 6, direction: str = "horizontal") -> dict:
    """How layer outputs and the prediction change when the image moves by 0..max_shift pixels
    (zero fill). Per spatial layer: "change", the relative L2 change of the output against
    the unshifted one, and "equivariance_error", the relative L2 difference between
    map(shifted image) and map(image) shifted by shift/stride map pixels (fractional shifts
    interpolate linearly; the stride is the cumulative stride from the run's spec), compared
    away from the borders (margin: the shift plus half the receptive field, in map pixels; a
    map too small for that interior is compared whole). Plus the class probabilities and prediction per shift."""
    import keras

    from scipy.ndimage import shift as nd_shift

    if direction not in ("horizontal", "vertical"):
        raise ProjectError("direction must be 'horizontal' or 'vertical'.")
    axis = 2 if direction == "horizontal" else 1
    model = load_run_model(run_dir)
    x = _batch(image)[:1]
    shifts = list(range(int(max_shift) + 1))
    batch = np.concatenate([_shift(x, k, axis) for k in shifts])
    spatial = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer" or layer is model.layers[-1]:
            continue
        try:
            if len(layer.output.shape) == 4:
                spatial.append(layer.name)
        except Exception:  # noqa: BLE001
            continue
    names = tuple(spatial)
    sub = _submodel(run_dir, "shift", names,
                    lambda m: keras.Model(_inputs(m), [m.get_layer(n).output for n in names] + [m.output]))
    outputs = sub(batch, training=False)
    outputs = [keras.ops.convert_to_numpy(o) for o in (outputs if isinstance(outputs, (list, tuple))
                                                      else [outputs])]
    probabilities = _probabilities(model, outputs[-1])
    fields = _fields(run_dir, names)
    input_length = x.shape[axis]
    change, equivariance = [], []
    for name, maps in zip(names, outputs[:-1]):
        base = maps[0]
        length = maps.shape[axis]
        half, strides = fields.get(name, (None, None))
        stride = strides[axis - 1] if strides else max(1, round(input_length / max(1, length)))
        if half is None:
            half = max(1, input_length // 8)
        change.append([_relative(maps[i], base) for i in range(len(shifts))])
        errors = []
        for i, k in enumerate(shifts):
            amount = k / stride
            if float(amount).is_integer():
                expected = _shift(base[None], int(amount), axis)[0]
            else:
                offsets = [0.0, 0.0, 0.0]
                offsets[axis - 1] = amount
                expected = nd_shift(base, offsets, order=1, mode="constant", cval=0.0)
            margin = int(math.ceil(half / stride))
            low, high = margin + int(math.ceil(amount)), length - margin
            if high <= low:  # a map too small for an interior: compare all of it
                low, high = 0, length
            window = [slice(None)] * 3
            window[axis - 1] = slice(low, max(low, high))
            errors.append(_relative(maps[i][tuple(window)], expected[tuple(window)]))
        equivariance.append(errors)
    return {"shifts": shifts, "layers": list(names), "change": change,
            "equivariance_error": equivariance,
            "probabilities": [[float(p) for p in row] for row in probabilities],
            "predicted": [int(i) for i in np.argmax(probabilities, axis=-1)]}


# --------------------------------------------------------------------------- embeddings

def _hog_features(images: np.ndarray) -> np.ndarray:
    from skimage.feature import hog

    gray = images[..., 0] if images.shape[-1] == 1 else images[..., :3] @ np.asarray(
        (0.299, 0.587, 0.114), dtype=np.float32)
    side = min(gray.shape[1:3])
    cell = max(2, side // 4)
    block = 2 if side >= 2 * cell else 1
    return np.stack([hog(g, orientations=9, pixels_per_cell=(cell, cell),
                         cells_per_block=(block, block), feature_vector=True) for g in gray])


def _pca_2d(features: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    components = min(2, features.shape[0], features.shape[1])
    if components == 0:
        return np.zeros((len(features), 2), dtype=np.float32)
    points = PCA(n_components=components).fit_transform(features)
    if components < 2:
        points = np.pad(points, ((0, 0), (0, 2 - components)))
    return points.astype(np.float32)


def embedding(run_dir, max_points: int = 800) -> dict:
    """2-D PCA maps of the run's test images: hand-crafted HOG features against the learned
    features of the layer that feeds the output layer."""
    import keras

    data = run_data(run_dir)
    images = np.asarray(data.x_test[:max_points], dtype=np.float32)
    labels = np.asarray(data.y_test[:max_points], dtype=np.int64)
    model = load_run_model(run_dir)
    feeding = model.layers[-1].input
    history = getattr(feeding, "_keras_history", None)
    layer = history[0].name if history else model.layers[-2].name
    sub = _outputs_model(run_dir, (layer,))
    learned = sub.predict(images, verbose=0, batch_size=128)
    learned = learned[0] if isinstance(learned, (list, tuple)) else learned
    return {"handcrafted": _pca_2d(_hog_features(images)),
            "learned": _pca_2d(keras.ops.convert_to_numpy(learned)),
            "labels": labels, "class_names": list(data.class_names), "layer": layer}


def image_from_file(path: str | Path, shape) -> np.ndarray:
    """A picture the user opens, as a network input: (H, W, C) float32 in [0, 1], resized to
    the input's fixed height and width (kept as it is where the input size is variable) and
    converted to grayscale or RGB. Keras-free (Pillow), so the window may call it."""
    from PIL import Image, UnidentifiedImageError

    height, width, channels = shape
    try:
        with Image.open(path) as picture:
            picture = picture.convert("L" if channels == 1 else "RGB")
            if height and width:
                picture = picture.resize((int(width), int(height)), Image.BILINEAR)
            pixels = np.asarray(picture, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise ProjectError(f"{path} does not exist.") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ProjectError(f"Cannot read {path} as an image: {error}.") from None
    return pixels[..., None] if pixels.ndim == 2 else pixels
