"""Hypothesis strategies drawn from the block catalogue itself: a parameter's kind, bounds and
choices say which values to try, and a block's own shape rule says which fit an input. A new
catalogue entry is generated without anyone listing it here."""

from __future__ import annotations

from hypothesis import strategies as st

from engine.blocks.catalog import BLOCKS, BlockType, ShapeProblem
from engine.blocks.params import ParamSpec

# Small values keep the Keras builds fast; the bounds come from the spec.
SPAN = 11  # an int parameter is drawn from minimum .. minimum + SPAN
WINDOW_SPAN = 3  # a pair (kernel, stride, pool size, dilation) from minimum .. minimum + 3
TRIES = 8  # parameter draws per block before another block is picked

SINGLE_INPUT_BLOCKS = tuple(b for b in BLOCKS if b.min_inputs == 1 and b.max_inputs == 1)


def _low(spec: ParamSpec, fallback: float = 0) -> float:
    return spec.minimum if spec.minimum is not None else fallback


def _pair(spec: ParamSpec) -> st.SearchStrategy:
    low = int(_low(spec, 1))
    side = st.integers(low, low + WINDOW_SPAN)
    square = side.map(lambda v: [v, v])  # real networks mostly use square windows
    default = st.just(list(spec.default)) if spec.default is not None else square
    return st.one_of(default, square, square, st.lists(side, min_size=2, max_size=2))


def _unbounded_float(spec: ParamSpec) -> st.SearchStrategy:
    return st.sampled_from([spec.default, 0.5, 2.0])


def param_values(spec: ParamSpec) -> st.SearchStrategy:
    """Values of one parameter, within its bounds (small where the bounds are wide)."""
    kind = spec.kind
    if kind == "int":
        low = int(_low(spec))
        high = low + SPAN if spec.maximum is None else int(min(spec.maximum, low + SPAN))
        return st.one_of(st.just(spec.default), st.integers(low, high))
    if kind == "float":
        if spec.minimum is None or spec.maximum is None:
            return _unbounded_float(spec)
        return st.one_of(st.just(float(spec.default)),
                         st.floats(spec.minimum, spec.maximum, allow_nan=False))
    if kind == "optional_float":
        return st.one_of(st.none(), st.floats(_low(spec), _low(spec) + 10, allow_nan=False))
    if kind == "bool":
        return st.booleans()
    if kind == "choice":
        return st.sampled_from(spec.choices)
    if kind == "pair":
        return _pair(spec)
    if kind == "optional_pair":
        return st.one_of(st.none(), _pair(spec))
    if kind == "padding2d":
        side = st.integers(int(_low(spec)), int(_low(spec)) + 2)
        return st.lists(st.lists(side, min_size=2, max_size=2), min_size=2, max_size=2)
    if kind == "l2":
        return st.sampled_from([None, 1e-4])
    if kind == "dims":  # ones around one -1: fits any input whose size is known
        return st.tuples(st.integers(0, 2), st.integers(0, 2)).map(
            lambda ones: [1] * ones[0] + [-1] + [1] * ones[1])
    if kind == "noise_shape":  # one drop decision per value, or shared along some axes
        axis = st.sampled_from([None, 1])
        return st.one_of(st.none(), st.lists(axis, min_size=3, max_size=3).map(lambda a: [None, *a]))
    if kind == "floats":
        return st.sampled_from([None, [0.5]])
    raise AssertionError(f"no strategy for parameter kind {kind!r}: add one here")


@st.composite
def block_params(draw, block: BlockType, input_shape: tuple):
    """Parameters of `block` that its shape rule accepts for `input_shape`, or None when
    TRIES draws found none (e.g. a Flatten of a variable-size map)."""
    for _ in range(TRIES):
        params = {spec.name: draw(param_values(spec)) for spec in block.params}
        try:
            block.output_shape(params, [input_shape])
        except ShapeProblem:
            continue
        if not block.param_problems(params):
            return params
    return None


@st.composite
def single_input_layer(draw, input_shape: tuple) -> tuple[str, dict]:
    """(block type, params): any single-input catalogue block that fits the input."""
    while True:
        block = draw(st.sampled_from(SINGLE_INPUT_BLOCKS))
        params = draw(block_params(block, input_shape))
        if params is not None:
            return block.type, params
