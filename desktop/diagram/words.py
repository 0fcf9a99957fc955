"""What each block says on its arrow ("conv 5x5", "max pool 2x2", "dense")."""

from __future__ import annotations

from engine.blocks.catalog import BLOCKS_BY_TYPE
from engine.graph.spec import NodeSpec

_ACTIVATION_TEXT = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU",
                    "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax", "linear": "linear"}


def _activation_text(name) -> str | None:
    if not name or name == "linear":
        return None
    return _ACTIVATION_TEXT.get(name, str(name))


def _pair(value) -> str:
    try:
        return f"{int(value[0])}x{int(value[1])}"
    except (TypeError, ValueError, IndexError):
        return "?"


def _stride_suffix(strides, window=None) -> str:
    try:
        strides = [int(strides[0]), int(strides[1])]
    except (TypeError, ValueError, IndexError):
        return ""
    if window is not None and strides == list(window):
        return ""
    if strides == [1, 1] and window is None:
        return ""
    return f", s{strides[0]}" if strides[0] == strides[1] else f", s{strides[0]}x{strides[1]}"


def operation_parts(node: NodeSpec) -> list[str]:
    """The words for one block on an arrow: the operation, then its built-in activation."""
    p = node.params
    kind = node.type
    try:
        if kind == "Conv2D":
            parts = [f"conv {_pair(p['kernel_size'])}{_stride_suffix(p['strides'])}"]
            act = _activation_text(p.get("activation"))
            return parts + ([act] if act else [])
        if kind in ("MaxPooling2D", "AveragePooling2D", "WeightedAveragePooling2D"):
            word = {"MaxPooling2D": "max", "AveragePooling2D": "avg",
                    "WeightedAveragePooling2D": "weighted"}[kind]
            pool = p["pool_size"]
            strides = p.get("strides")
            suffix = "" if strides is None else _stride_suffix(strides, [int(v) for v in pool])
            return [f"{word} pool {_pair(pool)}{suffix}"]
        if kind == "GlobalAveragePooling2D":
            return ["global avg pool"]
        if kind == "GlobalMaxPooling2D":
            return ["global max pool"]
        if kind == "Dense":
            act = _activation_text(p.get("activation"))
            return ["dense"] + ([act] if act else [])
        if kind == "Flatten":
            return ["flatten"]
        if kind == "ZeroPadding2D":
            return [BLOCKS_BY_TYPE[kind].summary(p).replace("pad", "zero pad", 1)]
        if kind == "Add":
            return ["add"]
        if kind == "Concatenate":
            return ["concat"]
        if kind == "BatchNormalization":
            return ["BN"]
        if kind == "Dropout":
            return [f"dropout {float(p['rate']):g}"]
        if kind == "Activation":
            return [_ACTIVATION_TEXT.get(p.get("activation"), str(p.get("activation")))]
        if kind == "InputLayer":
            return ["input"]
    except (KeyError, TypeError, ValueError):
        pass
    block = BLOCKS_BY_TYPE.get(kind)
    return [block.label.lower() if block else kind]
