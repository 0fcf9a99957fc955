"""What a block says on its arrow in the lecture-style diagram ("conv 5x5", "max pool 2x2,
s1", "dense"): each catalogue entry names its words with these helpers."""

from __future__ import annotations

ACTIVATION_TEXT = {"relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "elu": "ELU",
                   "gelu": "GELU", "silu": "SiLU", "hard_silu": "hard SiLU", "mish": "Mish",
                   "sigmoid": "sigmoid", "hard_sigmoid": "hard sigmoid", "tanh": "tanh",
                   "softmax": "softmax", "linear": "linear"}


def activation_text(name) -> str | None:
    if not name or name == "linear":
        return None
    return ACTIVATION_TEXT.get(name, str(name))


def pair_text(value) -> str:
    try:
        return f"{int(value[0])}x{int(value[1])}"
    except (TypeError, ValueError, IndexError):
        return "?"


def stride_suffix(strides, window=None) -> str:
    try:
        strides = [int(strides[0]), int(strides[1])]
    except (TypeError, ValueError, IndexError):
        return ""
    if window is not None and strides == list(window):
        return ""
    if strides == [1, 1] and window is None:
        return ""
    return f", s{strides[0]}" if strides[0] == strides[1] else f", s{strides[0]}x{strides[1]}"


def with_activation(words: list[str], params: dict) -> list[str]:
    """The operation, then its built-in activation (when it has one)."""
    act = activation_text(params.get("activation"))
    return words + ([act] if act else [])


def conv_words(params: dict) -> list[str]:
    return with_activation([f"conv {pair_text(params['kernel_size'])}"
                            f"{stride_suffix(params['strides'])}"], params)


def pool_words(word: str):
    def words(params: dict) -> list[str]:
        pool = params["pool_size"]
        strides = params.get("strides")
        suffix = "" if strides is None else stride_suffix(strides, [int(v) for v in pool])
        return [f"{word} pool {pair_text(pool)}{suffix}"]
    return words


def fixed(*words: str):
    return lambda params: list(words)
