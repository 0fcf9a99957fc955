"""The block catalogue: one declarative entry per block type.

Each entry is keyed by the Keras class name and lists the constructor keyword arguments
it exposes (type, default, bounds, one line of help), its input ports, palette category,
and its shape rule. Adding a block type means adding one entry here (and its test).

Shape rules are pure formulas on shapes without the batch axis; `None` is an unknown
(variable) size. A rule raises ShapeProblem when the inputs cannot work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from engine.blocks.words import ACTIVATION_TEXT, conv_words, fixed, pool_words, with_activation
from engine.blocks.params import ParamSpec
from engine.errors import ProjectError

Shape = tuple  # of int | None, without the batch axis

CATEGORIES = (
    "Input/Output",
    "Convolution",
    "Pooling",
    "Shape",
    "Merge",
    "Normalization & Regularization",
    "Dense",
)

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "gelu", "linear")


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

    kernel: tuple[int, int]
    stride: tuple[int, int]


GLOBAL = "global"  # the block sees the whole input (global pooling, flatten)


def _padding_words(params: dict) -> list[str]:
    return [BLOCKS_BY_TYPE["ZeroPadding2D"].summary(params).replace("pad", "zero pad", 1)]


CATEGORY_FAMILIES = {"Input/Output": "input", "Convolution": "convolution", "Pooling": "pooling",
                     "Shape": "shape", "Merge": "merge", "Dense": "dense",
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
    # Traits the rest of the code asks about, instead of asking for a block by its name:
    family: str = ""            # what kind of layer: "convolution", "pooling", "dense", ...
    kernel_weight: str = ""     # the weight holding its spatial kernels (snapshots, Kernels tab)
    shares_weights: bool = False  # one kernel slides everywhere: compare with a dense layer
    width_param: str = ""       # the parameter that sets how many values it outputs
    arrow_words: Callable[[dict], list[str]] | None = None  # its words in the diagram

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
    """Output length along one axis, as Keras computes it (dilation 1)."""
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


# -- block rules ------------------------------------------------------------------------

def _input_shape(params, shapes):
    return tuple(params["shape"])


def _conv_shape(params, shapes):
    return _windowed(params, shapes, params["kernel_size"], params["strides"], "Conv2D",
                     "kernel", channels=params["filters"])


def _conv_weights(params, shapes, out):
    in_channels = shapes[0][2]
    if in_channels is None:
        return (0, 0)
    kh, kw = params["kernel_size"]
    return (kh * kw * in_channels * params["filters"] + (params["filters"] if params["use_bias"] else 0), 0)


def _conv_macs(params, shapes, out):
    kh, kw = params["kernel_size"]
    return _product((out[0], out[1], out[2], kh, kw, shapes[0][2]))


def _conv_summary(params):
    kernel = _pair_text(params["kernel_size"])
    return f"{params['filters']} @ {kernel}{_stride_text(params['strides'])}, {params['padding']}"


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
        return (_feature_map(shapes, block)[2],)
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


def _add_shape(params, shapes):
    _same_rank(shapes, "Add")
    result = []
    for axis in range(len(shapes[0])):
        sizes = {s[axis] for s in shapes if s[axis] is not None}
        if len(sizes) > 1:
            raise ShapeProblem(
                "Add needs inputs of the same shape, but receives "
                + " and ".join(format_shape(s) for s in shapes)
                + ". Put a 1x1 Conv2D (with the matching stride and filters) on the shortcut.")
        result.append(sizes.pop() if sizes else None)
    return tuple(result)


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
        type="InputLayer", category="Input/Output", label="Input", default_name="input",
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
        type="Conv2D", category="Convolution", label="Conv 2D", default_name="conv",
        arrow_words=conv_words,
        help="Slides learned kernels over the map; each kernel (shared weights) makes one "
             "feature map.",
        params=(
            ParamSpec("filters", "int", 16, minimum=1, maximum=4096,
                      help="Number of kernels = number of output feature maps."),
            ParamSpec("kernel_size", "pair", [3, 3], minimum=1, maximum=64,
                      help="Height x width of each kernel: the receptive field of one step."),
            ParamSpec("strides", "pair", [1, 1], minimum=1, maximum=64,
                      help="Step between kernel positions; 2 halves the map (downsampling)."),
            _padding(),
            _activation("relu"),
            _USE_BIAS,
            _L2,
        ),
        output_shape=_conv_shape, weights=_conv_weights, macs=_conv_macs,
        window=lambda p: Window(tuple(p["kernel_size"]), tuple(p["strides"])),
        summary=_conv_summary,
        import_requires={**_CHANNELS_LAST, "dilation_rate": [1, 1], "groups": 1,
                         "bias_regularizer": None, "activity_regularizer": None,
                         "kernel_constraint": None, "bias_constraint": None},
        kernel_weight="kernel", shares_weights=True,
    ),
    BlockType(
        type="HandcraftedConv2D", category="Convolution", label="Hand-crafted conv",
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
        type="MaxPooling2D", category="Pooling", label="Max pooling", default_name="max_pool",
        arrow_words=pool_words("max"),
        help="Keeps the largest value in each window: a summary that ignores small shifts.",
        params=(_POOL_SIZE, _POOL_STRIDES, _padding()),
        output_shape=_pool_shape("MaxPooling2D"), window=_pool_window, summary=_pool_summary,
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="AveragePooling2D", category="Pooling", label="Average pooling", default_name="avg_pool",
        arrow_words=pool_words("avg"),
        help="Averages each window: a smoother summary than max pooling.",
        params=(_POOL_SIZE, _POOL_STRIDES, _padding()),
        output_shape=_pool_shape("AveragePooling2D"), window=_pool_window, summary=_pool_summary,
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="WeightedAveragePooling2D", category="Pooling", label="Weighted-average pooling",
        arrow_words=pool_words("weighted"),
        default_name="weighted_pool", keras_class="engine.layers.WeightedAveragePooling2D",
        help="Averages each window with learned weights per position (softmax-normalised, so "
             "they sum to 1).",
        params=(_POOL_SIZE, _POOL_STRIDES, _padding()),
        output_shape=_pool_shape("WeightedAveragePooling2D"), weights=_weighted_pool_weights,
        macs=_weighted_pool_macs, window=_pool_window, summary=_pool_summary,
    ),
    BlockType(
        type="GlobalAveragePooling2D", category="Pooling", label="Global average pooling",
        arrow_words=fixed("global avg pool"),
        default_name="global_avg_pool",
        help="Averages each whole feature map to one number: works for any input size "
             "(NiN/GoogLeNet head).",
        params=(), output_shape=_global_pool_shape("GlobalAveragePooling2D"),
        window=lambda p: GLOBAL, import_requires={**_CHANNELS_LAST, "keepdims": False},
    ),
    BlockType(
        type="GlobalMaxPooling2D", category="Pooling", label="Global max pooling",
        arrow_words=fixed("global max pool"),
        default_name="global_max_pool",
        help="Keeps the largest value of each whole feature map: works for any input size.",
        params=(), output_shape=_global_pool_shape("GlobalMaxPooling2D"),
        window=lambda p: GLOBAL, import_requires={**_CHANNELS_LAST, "keepdims": False},
    ),
    BlockType(
        type="ZeroPadding2D", category="Shape", label="Zero padding", default_name="zero_pad",
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
        type="Flatten", category="Shape", label="Flatten", default_name="flatten",
        arrow_words=fixed("flatten"),
        help="Unrolls the feature maps into one long vector for Dense layers (needs a fixed size).",
        params=(), output_shape=_flatten_shape, window=lambda p: GLOBAL,
        import_requires=_CHANNELS_LAST,
    ),
    BlockType(
        type="Add", category="Merge", label="Add (residual)", default_name="add",
        arrow_words=fixed("add"),
        help="Adds its inputs element by element: the residual shortcut of ResNet.",
        params=(), min_inputs=2, max_inputs=None, output_shape=_add_shape,
    ),
    BlockType(
        type="Concatenate", category="Merge", label="Concatenate", default_name="concat",
        arrow_words=fixed("concat"),
        help="Stacks its inputs along channels: joins the branches of an Inception module.",
        params=(), min_inputs=2, max_inputs=None, output_shape=_concat_shape,
        import_requires={"axis": -1},
    ),
    BlockType(
        type="BatchNormalization", category="Normalization & Regularization", label="Batch norm",
        family="normalization",
        arrow_words=fixed("BN"),
        default_name="batch_norm",
        help="Normalises each channel over the batch, then scales and shifts: steadier, faster "
             "training.",
        params=(
            ParamSpec("momentum", "float", 0.99, minimum=0.0, maximum=1.0,
                      help="How slowly the running mean/variance (used at test time) follow the batches."),
            ParamSpec("epsilon", "float", 0.001, minimum=1e-12, maximum=1.0,
                      help="Small number added to the variance to avoid dividing by zero."),
            ParamSpec("center", "bool", True, help="Learn a shift (beta) per channel."),
            ParamSpec("scale", "bool", True, help="Learn a scale (gamma) per channel."),
        ),
        output_shape=_identity, weights=_batch_norm_weights,
        import_requires={"axis": -1, "beta_regularizer": None, "gamma_regularizer": None,
                         "renorm": False, "synchronized": False},
    ),
    BlockType(
        type="Activation", category="Normalization & Regularization", label="Activation",
        family="activation",
        arrow_words=lambda p: [ACTIVATION_TEXT.get(p.get("activation"), str(p.get("activation")))],
        default_name="activation",
        help="Applies a non-linearity to every value (ReLU, sigmoid, tanh, softmax, ...).",
        params=(ParamSpec("activation", "choice", "relu", choices=ACTIVATIONS,
                          help="ReLU keeps gradients alive in deep nets; sigmoid/tanh saturate; "
                               "softmax turns scores into class probabilities."),),
        output_shape=_identity, summary=lambda p: p["activation"],
    ),
    BlockType(
        type="Dropout", category="Normalization & Regularization", label="Dropout",
        arrow_words=lambda p: [f"dropout {float(p['rate']):g}"],
        default_name="dropout",
        help="Randomly zeroes a fraction of values during training to fight overfitting.",
        params=(ParamSpec("rate", "float", 0.5, minimum=0.0, maximum=0.99,
                          help="Fraction of values dropped at each training step."),),
        output_shape=_identity, summary=lambda p: f"rate {p['rate']:g}",
        import_requires={"noise_shape": None},
    ),
    BlockType(
        type="Dense", category="Dense", label="Dense", default_name="dense",
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


@dataclass(frozen=True)
class Preset:
    """A palette entry that adds a catalogue block with some parameters preset."""

    label: str
    type: str
    params: dict
    help: str
    default_name: str


PRESETS: tuple[Preset, ...] = (
    Preset(label="1x1 Conv", type="Conv2D", params={"kernel_size": [1, 1], "filters": 16},
           default_name="conv1x1",
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
    """(receptive field size, cumulative stride) after one windowed block along one axis."""
    return size + (window.kernel[axis] - 1) * jump, jump * window.stride[axis]


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
