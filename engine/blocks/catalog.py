"""The block catalogue: one declarative entry per block type.

Each entry is keyed by the Keras class name and lists the constructor keyword arguments
it exposes (type, default, bounds, one line of help), its input ports, palette category,
and its shape rule. Adding a block type means adding one entry here (and its test).

Shape rules are pure formulas on shapes without the batch axis; `None` is an unknown
(variable) size. A rule raises ShapeProblem when the inputs cannot work.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from engine.blocks.words import (ACTIVATION_TEXT, conv_words, fixed, pair_text, pool_words,
                                 stride_suffix, with_activation)
from engine.blocks.params import ParamSpec
from engine.errors import ProjectError

Shape = tuple  # of int | None, without the batch axis

CATEGORIES = (
    "Input/Output",
    "Preprocessing",
    "Convolution",
    "Pooling",
    "Shape",
    "Merge",
    "Normalization & Regularization",
    "Activation",
    "Dense",
)

ACTIVATIONS = ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "hard_silu", "mish",
               "sigmoid", "hard_sigmoid", "tanh", "softmax", "linear")
# Other names Keras writes for the same functions.
ACTIVATION_ALIASES = (("swish", "silu"), ("hard_swish", "hard_silu"))


class ShapeProblem(Exception):
    """Inputs a block cannot take. `fix_params` / `fix_type` suggest a repair."""

    def __init__(self, message: str, fix_params: dict | None = None, fix_type: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix_params = fix_params
        self.fix_type = fix_type


@dataclass(frozen=True)
class Window:
    """How a block moves over the grid, for the receptive field."""

    kernel: tuple[int, int]  # in input positions
    stride: tuple[int, int]
    # Upsampling blocks place `upsample` outputs per input position (transposed convolution,
    # UpSampling2D): the distance between outputs shrinks instead of growing.
    upsample: tuple[int, int] = (1, 1)


GLOBAL = "global"  # the block sees the whole input (global pooling, flatten)


def _padding_words(params: dict) -> list[str]:
    return [BLOCKS_BY_TYPE["ZeroPadding2D"].summary(params).replace("pad", "zero pad", 1)]


CATEGORY_FAMILIES = {"Input/Output": "input", "Preprocessing": "preprocessing",
                     "Convolution": "convolution", "Pooling": "pooling", "Shape": "shape",
                     "Merge": "merge", "Dense": "dense", "Activation": "activation",
                     "Normalization & Regularization": "regularization"}


@dataclass(frozen=True)
class BlockType:
    type: str
    category: str
    label: str
    help: str
    params: tuple[ParamSpec, ...]
    output_shape: Callable[[dict, list[Shape]], Shape]
    min_inputs: int = 1
    max_inputs: int | None = 1
    weights: Callable[[dict, list[Shape], Shape], tuple[int, int]] = lambda p, i, o: (0, 0)
    macs: Callable[[dict, list[Shape], Shape], int | None] = lambda p, i, o: 0
    window: Callable[[dict], Window | str | None] = lambda p: None
    summary: Callable[[dict], str] = lambda p: ""
    keras_class: str = ""  # "keras.layers.X" or "engine.layers.X"; default keras.layers.<type>
    # Keras config keys (beyond params) that must hold these values for an import to be exact.
    import_requires: dict = field(default_factory=dict)
    default_name: str = ""
    glyph: str = ""  # 1-2 characters on its palette icon
    # Traits the rest of the code asks about, instead of asking for a block by its name:
    family: str = ""            # what kind of layer: "convolution", "pooling", "dense", ...
    kernel_weight: str = ""     # the weight holding its spatial kernels (snapshots, Kernels tab)
    # How that weight is laid out: "conv" (h, w, in, out), "depthwise" (h, w, in, multiplier:
    # each input channel has its own kernels) or "transposed" (h, w, out, in).
    kernel_layout: str = "conv"
    shares_weights: bool = False  # one kernel slides everywhere: compare with a dense layer
    width_param: str = ""       # the parameter that sets how many values it outputs
    arrow_words: Callable[[dict], list[str]] | None = None  # its words in the diagram
    # Keras classes (module.Class) that import as this block: the same computation written
    # elsewhere, e.g. keras.applications' own LayerScale.
    import_classes: tuple[str, ...] = ()
    adapts_to_data: bool = False  # measures the training images before training (adapt)

    def __post_init__(self) -> None:
        if not self.family:  # most blocks are the kind of layer their palette group says
            object.__setattr__(self, "family", CATEGORY_FAMILIES.get(self.category, "other"))

    # -- params --------------------------------------------------------------------
    def param(self, name: str) -> ParamSpec:
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def default_params(self) -> dict:
        return {spec.name: _copy(spec.default) for spec in self.params}

    def parse_params(self, raw: dict, node_id: str) -> dict:
        known = {spec.name for spec in self.params}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ProjectError(
                f"Node {node_id!r} ({self.type}): unknown parameter {unknown[0]!r}; "
                f"{self.type} takes {', '.join(sorted(known)) or 'no parameters'}.")
        where = f"Node {node_id!r} ({self.type})"
        return {spec.name: spec.parse(raw[spec.name], where) if spec.name in raw else _copy(spec.default)
                for spec in self.params}

    def param_problems(self, params: dict) -> list[tuple[ParamSpec, str]]:
        """(param, message) for each value of the wrong type or out of bounds."""
        problems = []
        for spec in self.params:
            value = params.get(spec.name)
            try:
                spec.canonical(value)
            except ValueError as error:
                problems.append((spec, f"{error}."))
                continue
            out_of_range = spec.range_problem(value)
            if out_of_range:
                problems.append((spec, out_of_range))
        return problems

    def accepts_port(self, port: int) -> bool:
        return port >= 0 and (self.max_inputs is None or port < self.max_inputs)

    @property
    def takes_list(self) -> bool:
        """Merge blocks are called on the list of their inputs, the others on one tensor."""
        return self.max_inputs is None or self.max_inputs > 1

    @property
    def keras_path(self) -> str:
        return self.keras_class or f"keras.layers.{self.type}"

    @property
    def base_name(self) -> str:
        return self.default_name or _snake(self.type)


# -- shape helpers ------------------------------------------------------------------

def _copy(value: Any) -> Any:
    return [_copy(v) for v in value] if isinstance(value, list) else value


def _snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out).replace("2_d", "2d")


def _feature_map(shapes: list[Shape], block: str) -> Shape:
    shape = shapes[0]
    if len(shape) != 3:
        raise ShapeProblem(
            f"{block} needs a feature map (height x width x channels) but receives a "
            f"{len(shape)}-D tensor {format_shape(shape)}. Move it before Flatten/Dense, or remove it.")
    return shape


def _window_size(size: int | None, kernel: int, stride: int, padding: str) -> int | None:
    """Output length along one axis, as Keras computes it (`kernel` already dilated)."""
    if size is None:
        return None
    if padding == "same":
        return (size - 1) // stride + 1
    return (size - kernel) // stride + 1


def _windowed(params: dict, shapes: list[Shape], kernel: list[int], strides: list[int],
              block: str, what: str, channels: int | None = None) -> Shape:
    height, width, depth = _feature_map(shapes, block)
    padding = params["padding"]
    if padding == "valid":
        for size, k, axis in ((height, kernel[0], "height"), (width, kernel[1], "width")):
            if size is not None and size < k:
                raise ShapeProblem(
                    f"The {what} ({k}) is larger than the input {axis} ({size}) with 'valid' "
                    f"padding, so there is nothing to slide over. Use padding 'same', a smaller "
                    f"{what}, or add ZeroPadding2D before it.",
                    fix_params={"padding": "same"})
    return (_window_size(height, kernel[0], strides[0], padding),
            _window_size(width, kernel[1], strides[1], padding),
            depth if channels is None else channels)


def _pool_strides(params: dict) -> list[int]:
    return params["strides"] if params["strides"] is not None else params["pool_size"]


def _product(values) -> int | None:
    total = 1
    for value in values:
        if value is None:
            return None
        total *= value
    return total


def format_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return "x".join("?" if v is None else str(v) for v in shape) if shape else "scalar"


def _pair_text(pair: list[int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def _stride_text(strides: list[int]) -> str:
    if strides == [1, 1]:
        return ""
    return f", s{strides[0]}" if strides[0] == strides[1] else f", s{strides[0]}x{strides[1]}"


# -- parameters shared by several blocks ----------------------------------------------

def _padding(default: str = "valid") -> ParamSpec:
    return ParamSpec("padding", "choice", default, choices=("valid", "same"),
                     help="'valid': no padding, the map shrinks; 'same': pad with zeros so "
                          "stride 1 keeps the size.")


def _activation(default: str | None) -> ParamSpec:
    return ParamSpec("activation", "choice", default, choices=ACTIVATIONS + (None,),
                     aliases=ACTIVATION_ALIASES,
                     help="Non-linearity applied to the result; ReLU is the usual choice in "
                          "deep networks (it does not saturate, so gradients do not vanish).")


_USE_BIAS = ParamSpec("use_bias", "bool", True,
                      help="Add a learned bias to each output (one per filter or unit).")
_L2 = ParamSpec("kernel_regularizer", "l2", None, minimum=0.0, maximum=1.0, label="L2 weight decay",
                help="L2 penalty on the weights (e.g. 0.0005) to fight overfitting; empty = none.")
_POOL_SIZE = ParamSpec("pool_size", "pair", [2, 2], minimum=1,
                       help="How many neighbouring positions (height x width) are summarised into one.")
_POOL_STRIDES = ParamSpec("strides", "optional_pair", None, minimum=1,
                          help="Step between pooling windows; empty = the pool size (no overlap).")

_CHANNELS_LAST = {"data_format": "channels_last"}
_NO_EXTRA_PENALTIES = {"bias_regularizer": None, "activity_regularizer": None,
                       "kernel_constraint": None, "bias_constraint": None}
_KERNEL_SIZE = ParamSpec("kernel_size", "pair", [3, 3], minimum=1, maximum=64,
                         help="Height x width of each kernel: the receptive field of one step.")
_STRIDES = ParamSpec("strides", "pair", [1, 1], minimum=1, maximum=64,
                     help="Step between kernel positions; 2 halves the map (downsampling).")
_DILATION = ParamSpec("dilation_rate", "pair", [1, 1], minimum=1, maximum=64, label="Dilation",
                      advanced=True,
                      help="Gaps between kernel taps: dilation 2 spreads a 3x3 kernel over 5x5 "
                           "(a wider view, no extra weights). Needs stride 1.")
_DEPTH_MULTIPLIER = ParamSpec("depth_multiplier", "int", 1, minimum=1, maximum=64,
                              help="Kernels per input channel (the maps it makes per channel).")


def _filters(default: int = 16) -> ParamSpec:
    return ParamSpec("filters", "int", default, minimum=1, maximum=4096,
                     help="Number of kernels = number of output feature maps.")


def _rate(what: str) -> ParamSpec:
    return ParamSpec("rate", "float", 0.5, minimum=0.0, maximum=0.99,
                     help=f"Fraction of {what} dropped at each training step.")


_KEEPDIMS = ParamSpec("keepdims", "bool", False, label="Keep 1x1 map", advanced=True,
                      help="Off: one number per channel (C). On: a 1x1xC map, ready to scale "
                           "another map (squeeze-and-excitation) or feed a 1x1 conv.")
_EPSILON = ParamSpec("epsilon", "float", 0.001, minimum=1e-12, maximum=1.0,
                     help="Small number added to the variance to avoid dividing by zero.")
_CENTER = ParamSpec("center", "bool", True, help="Learn a shift (beta) per channel.")
_SCALE = ParamSpec("scale", "bool", True, help="Learn a scale (gamma) per channel.")


# -- block rules ------------------------------------------------------------------------

def _input_shape(params, shapes):
    return tuple(params["shape"])


def _dilated(params) -> list[int]:
    """The kernel's extent on the input: a dilated kernel skips positions between its taps."""
    dilation = params.get("dilation_rate") or [1, 1]
    return [d * (k - 1) + 1 for k, d in zip(params["kernel_size"], dilation)]


def _check_dilation(params, block: str) -> None:
    if max(params.get("dilation_rate") or [1]) > 1 and max(params["strides"]) > 1:
        raise ShapeProblem(f"{block} cannot combine a stride above 1 with a dilation above 1 "
                           "(Keras refuses it). Set strides to 1, or dilation to 1.",
                           fix_params={"dilation_rate": [1, 1]})


def _conv_window(params):
    return Window(tuple(_dilated(params)), tuple(params["strides"]))


def _bias(params, count: int) -> int:
    return count if params["use_bias"] else 0


def _conv_shape(params, shapes):
    _check_dilation(params, "Conv2D")
    in_channels, groups = _feature_map(shapes, "Conv2D")[2], params["groups"]
    for what, count in (("input channels", in_channels), ("filters", params["filters"])):
        if groups > 1 and count is not None and count % groups:
            raise ShapeProblem(
                f"Conv2D with groups={groups} splits the channels into {groups} groups, so the "
                f"{what} ({count}) must be a multiple of {groups}.", fix_params={"groups": 1})
    return _windowed(params, shapes, _dilated(params), params["strides"], "Conv2D",
                     "kernel", channels=params["filters"])


def _conv_weights(params, shapes, out):
    in_channels = shapes[0][2]
    if in_channels is None:
        return (0, 0)
    kh, kw = params["kernel_size"]
    per_filter = kh * kw * (in_channels // params["groups"])
    return (per_filter * params["filters"] + _bias(params, params["filters"]), 0)


def _conv_macs(params, shapes, out):
    kh, kw = params["kernel_size"]
    in_channels = shapes[0][2]
    return _product((out[0], out[1], out[2], kh, kw,
                     None if in_channels is None else in_channels // params["groups"]))


def _conv_extras(params) -> str:
    dilation, groups = params.get("dilation_rate", [1, 1]), params.get("groups", 1)
    return ((f", dilation {_pair_text(dilation)}" if dilation != [1, 1] else "")
            + (f", {groups} groups" if groups > 1 else ""))


def _conv_summary(params):
    kernel = _pair_text(params["kernel_size"])
    return (f"{params['filters']} @ {kernel}{_stride_text(params['strides'])}, {params['padding']}"
            + _conv_extras(params))


def _depthwise_shape(block):
    def rule(params, shapes):
        _check_dilation(params, block)
        channels = _feature_map(shapes, block)[2]
        out = None if channels is None else channels * params["depth_multiplier"]
        if "filters" in params:  # separable: the pointwise 1x1 step sets the channels
            out = params["filters"]
        return _windowed(params, shapes, _dilated(params), params["strides"], block, "kernel",
                         channels=out)
    return rule


def _depthwise_weights(params, shapes, out):
    channels = shapes[0][2]
    if channels is None:
        return (0, 0)
    kh, kw = params["kernel_size"]
    spread = channels * params["depth_multiplier"]
    if "filters" in params:  # separable: depthwise kernels, then a 1x1 conv over `spread` maps
        return (kh * kw * spread + spread * params["filters"] + _bias(params, params["filters"]), 0)
    return (kh * kw * spread + _bias(params, spread), 0)


def _depthwise_macs(params, shapes, out):
    kh, kw = params["kernel_size"]
    channels = shapes[0][2]
    if channels is None or out[0] is None or out[1] is None:
        return None
    spread = channels * params["depth_multiplier"]
    pointwise = spread * params["filters"] if "filters" in params else 0
    return out[0] * out[1] * (spread * kh * kw + pointwise)


def _depthwise_summary(params):
    mult = f" x{params['depth_multiplier']}" if params["depth_multiplier"] > 1 else ""
    head = f"{params['filters']} @ " if "filters" in params else f"per channel{mult} @ "
    return (f"{head}{_pair_text(params['kernel_size'])}{_stride_text(params['strides'])}, "
            f"{params['padding']}" + _conv_extras(params))


def _transpose_length(size, kernel, stride, padding):
    if size is None:
        return None
    return size * stride if padding == "same" else size * stride + max(kernel - stride, 0)


def _transpose_shape(params, shapes):
    _check_dilation(params, "Conv2DTranspose")
    height, width, _ = _feature_map(shapes, "Conv2DTranspose")
    (kh, kw), (sh, sw) = _dilated(params), params["strides"]
    return (_transpose_length(height, kh, sh, params["padding"]),
            _transpose_length(width, kw, sw, params["padding"]), params["filters"])


def _transpose_weights(params, shapes, out):
    channels = shapes[0][2]
    if channels is None:
        return (0, 0)
    kh, kw = params["kernel_size"]
    return (kh * kw * channels * params["filters"] + _bias(params, params["filters"]), 0)


def _transpose_macs(params, shapes, out):
    kh, kw = params["kernel_size"]
    return _product((shapes[0][0], shapes[0][1], shapes[0][2], kh, kw, params["filters"]))


def _transpose_window(params):
    # Each output position is reached by about kernel / stride input positions.
    reach = tuple(-(-k // s) for k, s in zip(_dilated(params), params["strides"]))
    return Window(reach, (1, 1), upsample=tuple(params["strides"]))


def _transpose_summary(params):
    return (f"{params['filters']} @ {_pair_text(params['kernel_size'])}, up "
            f"{_pair_text(params['strides'])}, {params['padding']}")


HANDCRAFTED_BANK_SIZES = {"edges": 8, "gabor": 8, "all": 16}


def _handcrafted_shape(params, shapes):
    return _windowed(params, shapes, params["kernel_size"], params["strides"], "HandcraftedConv2D",
                     "kernel", channels=HANDCRAFTED_BANK_SIZES[params["bank"]])


def _handcrafted_weights(params, shapes, out):
    in_channels = shapes[0][2]
    if in_channels is None:
        return (0, 0)
    filters = HANDCRAFTED_BANK_SIZES[params["bank"]]
    kh, kw = params["kernel_size"]
    count = kh * kw * in_channels * filters + filters
    return (count, 0) if params["trainable_kernels"] else (0, count)


def _handcrafted_macs(params, shapes, out):
    kh, kw = params["kernel_size"]
    return _product((out[0], out[1], out[2], kh, kw, shapes[0][2]))


def _handcrafted_summary(params):
    state = "fine-tuned" if params["trainable_kernels"] else "frozen"
    return (f"{params['bank']} ({HANDCRAFTED_BANK_SIZES[params['bank']]}) @ "
            f"{_pair_text(params['kernel_size'])}{_stride_text(params['strides'])}, {state}")


def _pool_shape(block):
    def rule(params, shapes):
        return _windowed(params, shapes, params["pool_size"], _pool_strides(params), block, "pool size")
    return rule


def _pool_summary(params):
    return f"{_pair_text(params['pool_size'])}{_stride_text(_pool_strides(params))}, {params['padding']}"


def _pool_window(params):
    return Window(tuple(params["pool_size"]), tuple(_pool_strides(params)))


def _weighted_pool_macs(params, shapes, out):
    return _product((out[0], out[1], out[2], *params["pool_size"]))


def _global_pool_shape(block):
    def rule(params, shapes):
        channels = _feature_map(shapes, block)[2]
        return (1, 1, channels) if params["keepdims"] else (channels,)
    return rule


def _zero_padding_shape(params, shapes):
    height, width, depth = _feature_map(shapes, "ZeroPadding2D")
    (top, bottom), (left, right) = params["padding"]
    return (None if height is None else height + top + bottom,
            None if width is None else width + left + right, depth)


def _same_rank(shapes: list[Shape], block: str) -> None:
    ranks = {len(s) for s in shapes}
    if len(ranks) > 1:
        raise ShapeProblem(f"{block} inputs have different ranks: "
                           + ", ".join(format_shape(s) for s in shapes) + ".")


def _elementwise_shape(block: str, advice: str):
    """Element by element on inputs of one shape; a size of 1 is repeated to match (Keras
    broadcasting: a 1x1xC map scales every position, as in squeeze-and-excitation)."""
    def rule(params, shapes):
        _same_rank(shapes, block)
        result = []
        for axis in range(len(shapes[0])):
            sizes = {s[axis] for s in shapes if s[axis] is not None}
            if len(sizes - {1}) > 1:
                raise ShapeProblem(f"{block} needs inputs of the same shape (or size 1 on an axis), "
                                   "but receives " + " and ".join(format_shape(s) for s in shapes)
                                   + ". " + advice)
            if any(s[axis] is None for s in shapes) and sizes <= {1}:
                result.append(None)
            else:
                result.append(max(sizes) if sizes else None)
        return tuple(result)
    return rule


_add_shape = _elementwise_shape(
    "Add", "Put a 1x1 Conv2D (with the matching stride and filters) on the shortcut.")


def _concat_shape(params, shapes):
    _same_rank(shapes, "Concatenate")
    result = []
    last = len(shapes[0]) - 1
    for axis in range(len(shapes[0])):
        sizes = [s[axis] for s in shapes]
        if axis == last:
            result.append(None if None in sizes else sum(sizes))
            continue
        known = {v for v in sizes if v is not None}
        if len(known) > 1:
            raise ShapeProblem(
                "Concatenate joins along channels, so heights and widths must match, but it "
                "receives " + " and ".join(format_shape(s) for s in shapes)
                + ". Use 'same' padding and equal strides in every branch.")
        result.append(known.pop() if known else None)
    return tuple(result)


def _cropping_shape(params, shapes):
    height, width, depth = _feature_map(shapes, "Cropping2D")
    (top, bottom), (left, right) = params["cropping"]
    sizes = []
    for size, cut, axis in ((height, top + bottom, "height"), (width, left + right, "width")):
        if size is not None and size - cut < 1:
            raise ShapeProblem(f"Cropping2D removes {cut} rows/columns from a {axis} of {size}: "
                               "nothing would be left. Crop less.")
        sizes.append(None if size is None else size - cut)
    return (*sizes, depth)


def _upsampling_shape(params, shapes):
    height, width, depth = _feature_map(shapes, "UpSampling2D")
    (sh, sw) = params["size"]
    return (None if height is None else height * sh, None if width is None else width * sw, depth)


def _upsampling_window(params):
    reach = (1, 1) if params["interpolation"] == "nearest" else (2, 2)  # bilinear: 2 neighbours
    return Window(reach, (1, 1), upsample=tuple(params["size"]))


def _resizing_shape(params, shapes):
    return (params["height"], params["width"], _feature_map(shapes, "Resizing")[2])


def _reshape_shape(params, shapes):
    target, size = params["target_shape"], _product(shapes[0])
    if size is None:
        raise ShapeProblem("Reshape needs a fixed-size input, but the input size is variable "
                           f"({format_shape(shapes[0])}). Use GlobalAveragePooling2D first (with "
                           "'Keep 1x1 map' for a 1x1xC map).", fix_type="GlobalAveragePooling2D")
    known = _product(v for v in target if v != -1)
    if -1 in target:
        rest = size // known
        if size % known:
            raise ShapeProblem(f"Reshape cannot split {size} values into {format_shape(tuple(target))} "
                               f"with -1: {size} is not a multiple of {known}.")
        return tuple(rest if v == -1 else v for v in target)
    if size != known:
        raise ShapeProblem(f"Reshape needs as many values as it receives: the input "
                           f"{format_shape(shapes[0])} holds {size}, the target "
                           f"{format_shape(tuple(target))} holds {known}. Use -1 for one size.",
                           fix_params={"target_shape": [-1]})
    return tuple(target)


def _dropout_shape(params, shapes):
    noise = params["noise_shape"]
    if noise is not None:
        shape = shapes[0]
        if len(noise) != len(shape) + 1:
            raise ShapeProblem(f"Dropout's noise shape {noise} needs {len(shape) + 1} entries "
                               f"(the batch, then each axis of {format_shape(shape)}).",
                               fix_params={"noise_shape": None})
        for entry, size in zip(noise[1:], shape):
            if entry is not None and entry != 1 and size is not None and entry != size:
                raise ShapeProblem(f"Dropout's noise shape {noise} does not fit the input "
                                   f"{format_shape(shape)}: each entry is null, 1 or that size.",
                                   fix_params={"noise_shape": None})
    return shapes[0]


def _spatial_dropout_shape(params, shapes):
    return _feature_map(shapes, "SpatialDropout2D")


def _per_channel_weights(trainable_per_channel):
    def rule(params, shapes, out):
        channels = shapes[0][-1]
        return (0, 0) if channels is None else (channels * trainable_per_channel(params), 0)
    return rule


def _normalization_shape(params, shapes):
    mean, variance, channels = params["mean"], params["variance"], shapes[0][-1]
    if channels is None:
        raise ShapeProblem("Normalization needs a known number of channels (the last axis).")
    if (mean is None) != (variance is None):
        raise ShapeProblem("Normalization needs both a fixed mean and a fixed variance, or "
                           "neither (then both are measured).", fix_params={"mean": None,
                                                                             "variance": None})
    for name, values in (("mean", mean), ("variance", variance)):
        if values is not None and channels is not None and len(values) not in (1, channels):
            raise ShapeProblem(f"Normalization has {len(values)} {name} values for {channels} "
                               "channels: give one per channel.")
    return shapes[0]


def _normalization_weights(params, shapes, out):
    channels = shapes[0][-1]
    if channels is None or params["mean"] is not None:  # fixed statistics are constants
        return (0, 0)
    return (0, 2 * channels + 1)  # the measured mean, variance and sample count


def _relu_words(params) -> list[str]:
    if params["max_value"] == 6 and not params["negative_slope"] and not params["threshold"]:
        return ["ReLU6"]
    name = "leaky ReLU" if params["negative_slope"] else "ReLU"
    return [name + (f" max {params['max_value']:g}" if params["max_value"] is not None else "")]


def _relu_summary(params) -> str:
    parts = [f"max {params['max_value']:g}"] if params["max_value"] is not None else []
    if params["negative_slope"]:
        parts.append(f"slope {params['negative_slope']:g}")
    if params["threshold"]:
        parts.append(f"threshold {params['threshold']:g}")
    return ", ".join(parts) or "max(x, 0)"


def _batch_norm_weights(params, shapes, out):
    channels = shapes[0][-1]
    if channels is None:
        return (0, 0)
    trainable = channels * (int(params["center"]) + int(params["scale"]))
    return (trainable, 2 * channels)


def _flatten_shape(params, shapes):
    shape = shapes[0]
    if any(v is None for v in shape):
        raise ShapeProblem(
            "Flatten needs a fixed-size input, but the input size is variable "
            f"({format_shape(shape)}). Use GlobalAveragePooling2D instead: it works for any size.",
            fix_type="GlobalAveragePooling2D")
    return (_product(shape),)


def _dense_shape(params, shapes):
    shape = shapes[0]
    if shape[-1] is None:
        raise ShapeProblem("Dense needs a known number of input features. "
                           "Put GlobalAveragePooling2D or Flatten before it.")
    return tuple(shape[:-1]) + (params["units"],)


def _dense_weights(params, shapes, out):
    in_features = shapes[0][-1]
    return (in_features * params["units"] + (params["units"] if params["use_bias"] else 0), 0)


def _dense_macs(params, shapes, out):
    positions = _product(shapes[0][:-1]) if len(shapes[0]) > 1 else 1
    return None if positions is None else positions * shapes[0][-1] * params["units"]


def _weighted_pool_weights(params, shapes, out):
    return (params["pool_size"][0] * params["pool_size"][1], 0)


def _identity(params, shapes):
    return shapes[0]


# -- the catalogue ------------------------------------------------------------------------

BLOCKS: tuple[BlockType, ...] = (
    BlockType(
        type="InputLayer", glyph="In", category="Input/Output", label="Input", default_name="input",
        arrow_words=fixed("input"),
        help="The image entering the network: height x width x channels (empty height/width "
             "= any size).",
        params=(ParamSpec("shape", "shape", [32, 32, 1], minimum=1,
                          help="Height, width, channels (1 = grayscale, 3 = RGB). Leave height "
                               "and width empty for variable-size input."),),
        min_inputs=0, max_inputs=0, output_shape=_input_shape,
        summary=lambda p: format_shape(tuple(p["shape"])),
    ),
    BlockType(
        type="Rescaling", glyph="x", category="Preprocessing", label="Rescaling", default_name="rescale",
        arrow_words=lambda p: [f"x {p['scale']:.4g} + {p['offset']:g}" if p["offset"]
                               else f"x {p['scale']:.4g}"],
        help="Multiplies every value by a scale and adds an offset: 1/255 turns pixel values "
             "0..255 into 0..1.",
        params=(ParamSpec("scale", "float", 1 / 255, help="Every value is multiplied by this."),
                ParamSpec("offset", "float", 0.0, help="Then this is added (e.g. -1 for -1..1).")),
        output_shape=_identity,
        summary=lambda p: f"x {p['scale']:.4g}" + (f" + {p['offset']:g}" if p["offset"] else ""),
    ),
    BlockType(
        type="Normalization", glyph="N", category="Preprocessing", label="Normalization",
        default_name="normalize", arrow_words=fixed("normalize"), adapts_to_data=True,
        help="Subtracts each channel's mean and divides by its standard deviation, both "
             "measured on the training images just before training starts.",
        params=(ParamSpec("mean", "floats", None, label="Fixed mean",
                          help="One mean per channel (e.g. ImageNet's 0.485, 0.456, 0.406); "
                               "empty = measure it on the training images."),
                ParamSpec("variance", "floats", None, label="Fixed variance",
                          help="One variance per channel; empty = measure it.")),
        output_shape=_normalization_shape, weights=_normalization_weights,
        summary=lambda p: "measured per channel" if p["mean"] is None else "fixed per channel",
        import_requires={"axis": [-1], "invert": False},
    ),
    BlockType(
        type="Resizing", glyph="Rz", category="Preprocessing", label="Resizing", default_name="resize",
        arrow_words=lambda p: [f"resize {p['height']}x{p['width']}"],
        help="Resizes every image to a fixed height x width (any input size works after it).",
        params=(ParamSpec("height", "int", 32, minimum=1, help="Output height in pixels."),
                ParamSpec("width", "int", 32, minimum=1, help="Output width in pixels."),
                ParamSpec("interpolation", "choice", "bilinear", choices=("bilinear", "nearest"),
                          help="'bilinear' blends neighbouring pixels; 'nearest' copies one."),
                ParamSpec("crop_to_aspect_ratio", "bool", False, label="Crop to aspect ratio",
                          help="Crop the centre first so the picture is not stretched.")),
        output_shape=_resizing_shape,
        summary=lambda p: f"{p['height']}x{p['width']}, {p['interpolation']}",
        import_requires={**_CHANNELS_LAST, "pad_to_aspect_ratio": False, "antialias": False},
    ),
    BlockType(
        type="Conv2D", glyph="C", category="Convolution", label="Conv 2D", default_name="conv",
        arrow_words=conv_words,
        help="Slides learned kernels over the map; each kernel (shared weights) makes one "
             "feature map.",
        params=(
            _filters(), _KERNEL_SIZE, _STRIDES, _padding(), _activation("relu"), _USE_BIAS, _L2,
            _DILATION,
            ParamSpec("groups", "int", 1, minimum=1, maximum=4096, advanced=True,
                      help="Split the channels into this many groups, each convolved on its own "
                           "(ResNeXt; groups = channels is a depthwise convolution, as in ConvNeXt)."),
        ),
        output_shape=_conv_shape, weights=_conv_weights, macs=_conv_macs,
        window=_conv_window, summary=_conv_summary,
        import_requires={**_CHANNELS_LAST, **_NO_EXTRA_PENALTIES},
        kernel_weight="kernel", shares_weights=True,
    ),
    BlockType(
        type="DepthwiseConv2D", glyph="DW", category="Convolution", label="Depthwise conv",
        default_name="depthwise", arrow_words=lambda p: with_activation(
            [f"depthwise {pair_text(p['kernel_size'])}{stride_suffix(p['strides'])}"], p),
        help="One small kernel per input channel, with no mixing across channels: the cheap "
             "spatial half of a MobileNet block (follow it with a 1x1 conv).",
        params=(_KERNEL_SIZE, _STRIDES, _padding(), _DEPTH_MULTIPLIER, _activation(None),
                _USE_BIAS, replace(_L2, name="depthwise_regularizer"), _DILATION),
        output_shape=_depthwise_shape("DepthwiseConv2D"), weights=_depthwise_weights,
        macs=_depthwise_macs, window=_conv_window, summary=_depthwise_summary,
        import_requires={**_CHANNELS_LAST, **_NO_EXTRA_PENALTIES, "kernel_constraint": None,
                         "depthwise_constraint": None},
        kernel_weight="kernel", kernel_layout="depthwise", shares_weights=True,
    ),
    BlockType(
        type="SeparableConv2D", glyph="SC", category="Convolution", label="Separable conv",
        default_name="separable", arrow_words=lambda p: with_activation(
            [f"separable {pair_text(p['kernel_size'])}{stride_suffix(p['strides'])}"], p),
        help="A depthwise conv (one kernel per channel) then a 1x1 conv that mixes channels: "
             "nearly a Conv2D for a fraction of the weights (Xception).",
        params=(_filters(), _KERNEL_SIZE, _STRIDES, _padding(), _DEPTH_MULTIPLIER,
                _activation("relu"), _USE_BIAS, _DILATION),
        output_shape=_depthwise_shape("SeparableConv2D"), weights=_depthwise_weights,
        macs=_depthwise_macs, window=_conv_window, summary=_depthwise_summary,
        import_requires={**_CHANNELS_LAST, **_NO_EXTRA_PENALTIES, "kernel_constraint": None,
                         "depthwise_regularizer": None, "pointwise_regularizer": None,
                         "depthwise_constraint": None, "pointwise_constraint": None},
        kernel_weight="depthwise_kernel", kernel_layout="depthwise", shares_weights=True,
    ),
    BlockType(
        type="Conv2DTranspose", glyph="TC", category="Convolution", label="Transposed conv",
        default_name="deconv", arrow_words=lambda p: with_activation(
            [f"deconv {pair_text(p['kernel_size'])}, up {pair_text(p['strides'])}"], p),
        help="Convolution run backwards: each input value spreads a learned kernel over a "
             "larger output, so stride 2 doubles the map (decoders, segmentation).",
        params=(_filters(), _KERNEL_SIZE,
                replace(_STRIDES, default=[2, 2],
                        help="Upsampling factor: stride 2 doubles the height and width."),
                _padding("same"), _activation("relu"), _USE_BIAS, _L2, _DILATION),
        output_shape=_transpose_shape, weights=_transpose_weights, macs=_transpose_macs,
        window=_transpose_window, summary=_transpose_summary,
        import_requires={**_CHANNELS_LAST, **_NO_EXTRA_PENALTIES, "output_padding": None},
        kernel_weight="kernel", kernel_layout="transposed", shares_weights=True,
    ),
    BlockType(
        type="HandcraftedConv2D", glyph="HC", category="Convolution", label="Hand-crafted conv",
        default_name="handcrafted_conv", keras_class="engine.layers.HandcraftedConv2D",
        kernel_weight="kernel",
        arrow_words=fixed("hand-crafted conv"),
        help="A convolution whose kernels are classic hand-crafted filters (Sobel, Prewitt, "
             "Scharr, Laplacian, Gabor): frozen, or a starting point for training.",
        params=(
            ParamSpec("bank", "choice", "edges", choices=("edges", "gabor", "all"),
                      help="'edges': Sobel/Prewitt/Scharr x and y, Laplacian, LoG (8 maps); "
                           "'gabor': 4 orientations x 2 frequencies (8 maps); 'all': both (16)."),
            ParamSpec("kernel_size", "pair", [5, 5], minimum=3, maximum=64,
                      help="Height x width of each kernel; 3x3 operators are zero-padded to it."),
            ParamSpec("strides", "pair", [1, 1], minimum=1, maximum=64,
                      help="Step between kernel positions; 2 halves the map (downsampling)."),
            _padding(),
            _activation(None),
            ParamSpec("trainable_kernels", "bool", False, label="Trainable kernels",
                      help="Off: the filters stay fixed (a hand-crafted feature extractor); "
                           "on: they are only the initial values and training adapts them."),
        ),
        output_shape=_handcrafted_shape, weights=_handcrafted_weights, macs=_handcrafted_macs,
        window=lambda p: Window(tuple(p["kernel_size"]), tuple(p["strides"])),
        summary=_handcrafted_summary,
    ),
    BlockType(
        type="MaxPooling2D", glyph="M", category="Pooling", label="Max pooling", default_name="max_pool",
        arrow_words=pool_words("max"),
        help="Keeps the largest value in each window: a summary that ignores small shifts.",
        params=(_POOL_SIZE, _POOL_STRIDES, _padding()),
        output_shape=_pool_shape("MaxPooling2D"), window=_pool_window, summary=_pool_summary,
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="AveragePooling2D", glyph="A", category="Pooling", label="Average pooling", default_name="avg_pool",
        arrow_words=pool_words("avg"),
        help="Averages each window: a smoother summary than max pooling.",
        params=(_POOL_SIZE, _POOL_STRIDES, _padding()),
        output_shape=_pool_shape("AveragePooling2D"), window=_pool_window, summary=_pool_summary,
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="WeightedAveragePooling2D", glyph="W", category="Pooling", label="Weighted-average pooling",
        arrow_words=pool_words("weighted"),
        default_name="weighted_pool", keras_class="engine.layers.WeightedAveragePooling2D",
        help="Averages each window with learned weights per position (softmax-normalised, so "
             "they sum to 1).",
        params=(_POOL_SIZE, _POOL_STRIDES, _padding()),
        output_shape=_pool_shape("WeightedAveragePooling2D"), weights=_weighted_pool_weights,
        macs=_weighted_pool_macs, window=_pool_window, summary=_pool_summary,
    ),
    BlockType(
        type="GlobalAveragePooling2D", glyph="GA", category="Pooling", label="Global average pooling",
        arrow_words=fixed("global avg pool"),
        default_name="global_avg_pool",
        help="Averages each whole feature map to one number: works for any input size "
             "(NiN/GoogLeNet head).",
        params=(_KEEPDIMS,), output_shape=_global_pool_shape("GlobalAveragePooling2D"),
        window=lambda p: GLOBAL, import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="GlobalMaxPooling2D", glyph="GM", category="Pooling", label="Global max pooling",
        arrow_words=fixed("global max pool"),
        default_name="global_max_pool",
        help="Keeps the largest value of each whole feature map: works for any input size.",
        params=(_KEEPDIMS,), output_shape=_global_pool_shape("GlobalMaxPooling2D"),
        window=lambda p: GLOBAL, import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="ZeroPadding2D", glyph="Z", category="Shape", label="Zero padding", default_name="zero_pad",
        arrow_words=_padding_words,
        help="Adds rows and columns of zeros around the map so the next kernel fits at the edges.",
        params=(ParamSpec("padding", "padding2d", [[1, 1], [1, 1]], minimum=0, maximum=1024,
                          help="Zero rows/columns added: [[top, bottom], [left, right]]."),),
        output_shape=_zero_padding_shape,
        summary=lambda p: "pad " + ("{}".format(p["padding"][0][0])
                                    if len({v for pair in p["padding"] for v in pair}) == 1
                                    else str(p["padding"])),
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="Flatten", glyph="F", category="Shape", label="Flatten", default_name="flatten",
        arrow_words=fixed("flatten"),
        help="Unrolls the feature maps into one long vector for Dense layers (needs a fixed size).",
        params=(), output_shape=_flatten_shape, window=lambda p: GLOBAL,
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="Reshape", glyph="Rs", category="Shape", label="Reshape", default_name="reshape",
        arrow_words=lambda p: [f"reshape {format_shape(tuple(p['target_shape']))}"],
        help="Rearranges the same values into another shape, e.g. C numbers into a 1x1xC map.",
        params=(ParamSpec("target_shape", "dims", [1, 1, -1], minimum=1, label="Target shape",
                          help="The new shape without the batch axis; one entry may be -1: "
                               "whatever size holds the remaining values."),),
        output_shape=_reshape_shape, window=lambda p: GLOBAL,
        summary=lambda p: format_shape(tuple(p["target_shape"])).replace("-1", "rest"),
    ),
    BlockType(
        type="UpSampling2D", glyph="Up", category="Shape", label="Upsampling", default_name="upsample",
        arrow_words=lambda p: [f"upsample {pair_text(p['size'])}"],
        help="Enlarges the map by repeating (or blending) each value: no weights, the cheap "
             "way to double a map in a decoder.",
        params=(ParamSpec("size", "pair", [2, 2], minimum=1, maximum=64,
                          help="How many times taller x wider the map becomes."),
                ParamSpec("interpolation", "choice", "nearest", choices=("nearest", "bilinear"),
                          help="'nearest' repeats each value; 'bilinear' blends neighbours.")),
        output_shape=_upsampling_shape, window=_upsampling_window,
        summary=lambda p: f"x{_pair_text(p['size'])}, {p['interpolation']}",
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="Cropping2D", glyph="Cr", category="Shape", label="Cropping", default_name="crop",
        arrow_words=lambda p: ["crop"],
        help="Cuts rows and columns off the edges of the map (the opposite of zero padding).",
        params=(ParamSpec("cropping", "padding2d", [[1, 1], [1, 1]], minimum=0, maximum=1024,
                          help="Rows/columns removed: [[top, bottom], [left, right]]."),),
        output_shape=_cropping_shape,
        summary=lambda p: "crop " + str(p["cropping"]),
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="Add", glyph="+", category="Merge", label="Add (residual)", default_name="add",
        arrow_words=fixed("add"),
        help="Adds its inputs element by element: the residual shortcut of ResNet.",
        params=(), min_inputs=2, max_inputs=None, output_shape=_add_shape,
    ),
    BlockType(
        type="Multiply", glyph="×", category="Merge", label="Multiply (gate)", default_name="multiply",
        arrow_words=fixed("multiply"),
        help="Multiplies its inputs element by element: a 1x1xC map of weights scales each "
             "channel (squeeze-and-excitation).",
        params=(), min_inputs=2, max_inputs=None,
        output_shape=_elementwise_shape("Multiply", "Give one input a size of 1 on the axes "
                                        "it should be repeated along (keepdims pooling)."),
    ),
    BlockType(
        type="ScaledResidual", glyph="S+", category="Merge", label="Scaled residual add",
        default_name="scaled_add", keras_class="engine.layers.ScaledResidual",
        import_classes=("keras.src.applications.inception_resnet_v2.CustomScaleLayer",),
        arrow_words=lambda p: [f"add x{p['scale']:g}"],
        help="Shortcut (first input) + scale x residual branch (second input): Inception-ResNet "
             "shrinks each branch so a very deep residual stack trains stably.",
        params=(ParamSpec("scale", "float", 0.17, minimum=0.0, maximum=10.0,
                          help="How much of the residual branch is added (0.1-0.3 is usual)."),),
        min_inputs=2, max_inputs=2,
        output_shape=_elementwise_shape("ScaledResidual", "Both inputs need the same shape."),
        summary=lambda p: f"shortcut + {p['scale']:g} x branch",
    ),
    BlockType(
        type="Concatenate", glyph="Ct", category="Merge", label="Concatenate", default_name="concat",
        arrow_words=fixed("concat"),
        help="Stacks its inputs along channels: joins the branches of an Inception module.",
        params=(), min_inputs=2, max_inputs=None, output_shape=_concat_shape,
        import_requires={"axis": -1},
    ),
    BlockType(
        type="BatchNormalization", glyph="BN", category="Normalization & Regularization", label="Batch norm",
        family="normalization",
        arrow_words=fixed("BN"),
        default_name="batch_norm",
        help="Normalises each channel over the batch, then scales and shifts: steadier, faster "
             "training.",
        params=(
            ParamSpec("momentum", "float", 0.99, minimum=0.0, maximum=1.0,
                      help="How slowly the running mean/variance (used at test time) follow the batches."),
            _EPSILON, _CENTER, _SCALE,
        ),
        output_shape=_identity, weights=_batch_norm_weights,
        import_requires={"axis": -1, "beta_regularizer": None, "gamma_regularizer": None,
                         "renorm": False, "synchronized": False},
    ),
    BlockType(
        type="LayerNormalization", glyph="LN", category="Normalization & Regularization",
        label="Layer norm", family="normalization", default_name="layer_norm",
        arrow_words=fixed("LN"),
        help="Normalises the channels at each position of each image on its own (no batch "
             "statistics), then scales and shifts: ConvNeXt's and transformers' normaliser.",
        params=(replace(_EPSILON, default=1e-6), _CENTER, _SCALE),
        output_shape=_identity,
        weights=_per_channel_weights(lambda p: int(p["center"]) + int(p["scale"])),
        import_requires={"axis": -1, "rms_scaling": False, "beta_regularizer": None,
                         "gamma_regularizer": None, "beta_constraint": None,
                         "gamma_constraint": None},
    ),
    BlockType(
        type="LayerScale", glyph="LS", category="Normalization & Regularization", label="Layer scale",
        family="normalization", default_name="layer_scale", keras_class="engine.layers.LayerScale",
        import_classes=("keras.src.applications.convnext.LayerScale",),
        arrow_words=fixed("layer scale"),
        help="Multiplies each channel by a learned factor that starts tiny, so a residual "
             "branch starts nearly off and training turns it up (ConvNeXt).",
        params=(ParamSpec("init_values", "float", 1e-6, minimum=0.0, maximum=10.0,
                          label="Initial scale", help="The factor every channel starts with."),),
        output_shape=_identity, weights=_per_channel_weights(lambda p: 1),
        summary=lambda p: f"starts at {p['init_values']:g}",
    ),
    BlockType(
        type="Activation", glyph="Ac", category="Activation", label="Activation",
        arrow_words=lambda p: [ACTIVATION_TEXT.get(p.get("activation"), str(p.get("activation")))],
        default_name="activation",
        help="Applies a non-linearity to every value (ReLU, sigmoid, tanh, softmax, ...).",
        params=(ParamSpec("activation", "choice", "relu", choices=ACTIVATIONS,
                          aliases=ACTIVATION_ALIASES,
                          help="ReLU keeps gradients alive in deep nets; sigmoid/tanh saturate; "
                               "softmax turns scores into class probabilities; SiLU/GELU/Mish "
                               "are smooth ReLUs used by EfficientNet and ConvNeXt."),),
        output_shape=_identity, summary=lambda p: p["activation"],
    ),
    BlockType(
        type="ReLU", glyph="R6", category="Activation", label="ReLU (capped/leaky)", default_name="relu",
        arrow_words=_relu_words,
        help="max(x, 0), optionally capped (ReLU6: at most 6, as in MobileNet) or leaky "
             "(a small slope below the threshold).",
        params=(ParamSpec("max_value", "optional_float", None, minimum=0.0, label="Cap",
                          help="The largest output (6 for ReLU6); empty = no cap."),
                ParamSpec("negative_slope", "float", 0.0, minimum=0.0, maximum=1.0,
                          help="Slope below the threshold: 0 = plain ReLU, 0.1 = leaky."),
                ParamSpec("threshold", "float", 0.0,
                          help="Values below this are zeroed (or scaled by the slope).")),
        output_shape=_identity, summary=_relu_summary,
    ),
    BlockType(
        type="LeakyReLU", glyph="LR", category="Activation", label="Leaky ReLU", default_name="leaky_relu",
        arrow_words=lambda p: [f"leaky ReLU {p['negative_slope']:g}"],
        help="Like ReLU but lets a small fraction of negative values through, so no unit "
             "dies (stops learning) for good.",
        params=(ParamSpec("negative_slope", "float", 0.3, minimum=0.0, maximum=1.0,
                          help="Multiplier for negative values."),),
        output_shape=_identity, summary=lambda p: f"slope {p['negative_slope']:g}",
    ),
    BlockType(
        type="Softmax", glyph="Sm", category="Activation", label="Softmax", default_name="softmax",
        arrow_words=fixed("softmax"),
        help="Turns scores into probabilities that sum to 1 (over the last axis).",
        params=(), output_shape=_identity, import_requires={"axis": -1},
    ),
    BlockType(
        type="Dropout", glyph="Dr", category="Normalization & Regularization", label="Dropout",
        arrow_words=lambda p: [f"dropout {float(p['rate']):g}"],
        default_name="dropout",
        help="Randomly zeroes a fraction of values during training to fight overfitting.",
        params=(_rate("values"),
                ParamSpec("noise_shape", "noise_shape", None, label="Noise shape", advanced=True,
                          help="Which values share one drop decision, batch axis first: 1 = "
                               "shared along that axis, null = decided per value. "
                               "[null, 1, 1, 1] drops whole images (stochastic depth).")),
        output_shape=_dropout_shape,
        summary=lambda p: f"rate {p['rate']:g}" + (f", noise {p['noise_shape']}"
                                                   if p["noise_shape"] else ""),
    ),
    BlockType(
        type="SpatialDropout2D", glyph="SD", category="Normalization & Regularization",
        label="Spatial dropout", default_name="spatial_dropout",
        arrow_words=lambda p: [f"spatial dropout {float(p['rate']):g}"],
        help="Drops whole feature maps instead of single values: neighbouring pixels are "
             "correlated, so plain dropout hardly regularises a conv layer.",
        params=(_rate("feature maps"),), output_shape=_spatial_dropout_shape,
        summary=lambda p: f"rate {p['rate']:g}",
    ),
    BlockType(
        type="Dense", glyph="FC", category="Dense", label="Dense", default_name="dense",
        arrow_words=lambda p: with_activation(["dense"], p),
        help="Fully connected: every input feature connects to every unit.",
        params=(
            ParamSpec("units", "int", 10, minimum=1, maximum=65536,
                      help="Number of outputs (neurons); for the last layer, the number of classes."),
            _activation("relu"),
            _USE_BIAS,
            _L2,
        ),
        output_shape=_dense_shape, weights=_dense_weights, macs=_dense_macs,
        summary=lambda p: f"{p['units']}" + (f", {p['activation']}" if p["activation"] else ""),
        import_requires={"bias_regularizer": None, "activity_regularizer": None,
                         "kernel_constraint": None, "bias_constraint": None, "lora_rank": None,
                         "quantization_config": None},
        width_param="units",
    ),
)

BLOCKS_BY_TYPE: dict[str, BlockType] = {block.type: block for block in BLOCKS}


def block_of_layer(layer) -> BlockType | None:
    """The catalogue entry of a built Keras layer (its class name is the block's type)."""
    return BLOCKS_BY_TYPE.get(type(layer).__name__)


def kernels_as_conv(block: BlockType, kernel):
    """A block's kernel array (NumPy) as (height, width, inputs, output maps), the layout the
    Kernels tab and snapshots draw: one column of small images per output map."""
    if block.kernel_layout == "depthwise":  # (h, w, C, m): output map c*m + j reads channel c
        height, width, channels, multiplier = kernel.shape
        return kernel.reshape(height, width, 1, channels * multiplier)
    if block.kernel_layout == "transposed":  # (h, w, out, in)
        return kernel.transpose(0, 1, 3, 2)
    return kernel


@dataclass(frozen=True)
class Preset:
    """A palette entry that adds a catalogue block with some parameters preset."""

    label: str
    type: str
    params: dict
    help: str
    default_name: str
    glyph: str


PRESETS: tuple[Preset, ...] = (
    Preset(label="1x1 Conv", type="Conv2D", params={"kernel_size": [1, 1], "filters": 16},
           default_name="conv1x1", glyph="1",
           help="A 1x1 convolution mixes channels at each position: reduces (or expands) depth "
                "cheaply (VGG, NiN, GoogLeNet)."),
)


def block_type(type_name: str, node_id: str | None = None) -> BlockType:
    try:
        return BLOCKS_BY_TYPE[type_name]
    except KeyError:
        where = f"Node {node_id!r}: " if node_id is not None else ""
        raise ProjectError(f"{where}unknown block type {type_name!r}. Known types: "
                           + ", ".join(sorted(BLOCKS_BY_TYPE)) + ".") from None


def receptive_growth(size: int, jump: int, window: Window, axis: int) -> tuple[int, int]:
    """(receptive field size, cumulative stride) after one windowed block along one axis.
    After upsampling, neighbouring outputs are a fraction of an input step apart."""
    stride = jump * window.stride[axis]
    if window.upsample[axis] > 1:
        stride = stride / window.upsample[axis]
        stride = int(stride) if float(stride).is_integer() else stride
    return size + (window.kernel[axis] - 1) * jump, stride


def dense_equivalent_params(input_shape: Shape, output_shape: Shape) -> int | None:
    """Weights a fully connected layer would need for the same input->output map (weight
    sharing made visible)."""
    inputs, outputs = _product(input_shape), _product(output_shape)
    if inputs is None or outputs is None:
        return None
    return inputs * outputs + outputs


__all__ = ["BLOCKS", "BLOCKS_BY_TYPE", "BlockType", "CATEGORIES", "GLOBAL", "PRESETS", "ParamSpec",
           "Preset", "ShapeProblem", "Window", "block_type", "dense_equivalent_params",
           "format_shape"]
