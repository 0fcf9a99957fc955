"""How fast is live checking on a big graph? validate + infer vs. a Keras build.

The editor re-runs `infer` and `validate` on every edit, so on a ~300-node ResNet-like
graph they should take well under a frame's budget (goal: < 10 ms). Keras building the
same model is the yardstick.

    .venv/bin/python benchmarks/bench_shapes.py             # the table
    .venv/bin/python benchmarks/bench_shapes.py --profile   # plus where our time goes
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter hides the table

from engine.graph.edits import AddNode, Connect, new_node
from engine.graph.shapes import infer
from engine.graph.spec import EdgeSpec, NetworkSpec
from engine.graph.validate import ERROR, validate

GOAL_MS = 10.0
STAGE_FILTERS = (16, 32, 64, 128)
BLOCKS_PER_STAGE = (11, 10, 10, 10)  # 41 residual blocks: 299 nodes in all
BLOCKS_PER_STAGE_1000 = (36, 35, 35, 35)  # 141 residual blocks: 999 nodes


class ResNetBuilder:
    """Grows the spec through the edits API, as the editor would (about 0.2 s for 300 nodes)."""

    def __init__(self):
        self.spec = NetworkSpec(name="resnet_bench")

    def add(self, type_name: str, params: dict, *sources: str) -> str:
        node = new_node(self.spec, type_name, params)
        self.spec = AddNode(node).apply(self.spec)
        for port, source in enumerate(sources):
            self.spec = Connect(EdgeSpec((source, 0), (node.id, port))).apply(self.spec)
        return node.id

    def conv_bn(self, x: str, filters: int, kernel: int, stride: int) -> str:
        conv = self.add("Conv2D", {"filters": filters, "kernel_size": [kernel, kernel],
                                   "strides": [stride, stride], "padding": "same",
                                   "activation": None, "use_bias": False}, x)
        return self.add("BatchNormalization", {}, conv)

    def residual_block(self, x: str, filters: int, stride: int, project: bool) -> str:
        main = self.add("Activation", {"activation": "relu"}, self.conv_bn(x, filters, 3, stride))
        main = self.conv_bn(main, filters, 3, 1)
        shortcut = self.conv_bn(x, filters, 1, stride) if project else x
        return self.add("Activation", {"activation": "relu"}, self.add("Add", {}, main, shortcut))


def resnet_spec(blocks_per_stage: tuple[int, ...] = BLOCKS_PER_STAGE) -> NetworkSpec:
    """Input 64x64x3, stem, four stages of residual blocks (downsampling with projection
    shortcuts at the start of stages 2-4), global average pooling and Dense."""
    builder = ResNetBuilder()
    x = builder.add("InputLayer", {"shape": [64, 64, 3]})
    x = builder.add("Activation", {"activation": "relu"}, builder.conv_bn(x, STAGE_FILTERS[0], 3, 1))
    for stage, (filters, blocks) in enumerate(zip(STAGE_FILTERS, blocks_per_stage)):
        for block in range(blocks):
            downsample = stage > 0 and block == 0
            x = builder.residual_block(x, filters, stride=2 if downsample else 1, project=downsample)
    x = builder.add("GlobalAveragePooling2D", {}, x)
    builder.add("Dense", {"units": 10, "activation": "softmax"}, x)
    return builder.spec


def check(spec: NetworkSpec) -> None:
    """What the editor runs after each edit (infer once, reused by validate)."""
    validate(spec, infer(spec))


def timings_ms(action: Callable[[], object], repeats: int, between: Callable[[], None] = lambda: None):
    times = []
    for _ in range(repeats):
        between()
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def keras_build_ms(spec: NetworkSpec, repeats: int) -> tuple[float, float]:
    import keras

    from engine.build import build_model

    build_model(spec)  # the first build pays for imports and tracing set-up
    return timings_ms(lambda: build_model(spec), repeats, between=keras.backend.clear_session)


def profile(spec: NetworkSpec, repeats: int = 20, top: int = 15) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeats):
        check(spec)
    profiler.disable()
    print(f"\ncProfile of infer + validate, {repeats} runs (cumulative time):")
    pstats.Stats(profiler).strip_dirs().sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="runs of infer + validate")
    parser.add_argument("--keras-repeats", type=int, default=5, help="Keras builds")
    parser.add_argument("--profile", action="store_true", help="print where infer + validate spend time")
    args = parser.parse_args()

    spec = resnet_spec()
    info = infer(spec)
    errors = [d.message for d in validate(spec, info) if d.severity == ERROR]
    assert not errors, errors
    print(f"graph: {len(spec.nodes)} nodes, {len(spec.edges)} edges, "
          f"{info.total_params:,} params, output {info.nodes[spec.nodes[-1].id].output_shape}")

    check(spec)  # warm-up
    ours = timings_ms(lambda: check(spec), args.repeats)
    infer_only = timings_ms(lambda: infer(spec), args.repeats)
    validate_only = timings_ms(lambda: validate(spec, info), args.repeats)
    keras_build = keras_build_ms(spec, args.keras_repeats)

    print(f"\n{'':32}{'best (ms)':>12}{'median (ms)':>14}")
    rows = [(f"ours: infer + validate (x{args.repeats})", ours),
            ("  infer alone", infer_only),
            ("  validate alone (given info)", validate_only),
            (f"Keras: build_model (x{args.keras_repeats})", keras_build)]
    for label, (best, median) in rows:
        print(f"{label:32}{best:12.2f}{median:14.2f}")
    print(f"{'ratio Keras / ours':32}{keras_build[0] / ours[0]:12.0f}{keras_build[1] / ours[1]:14.0f}")
    print(f"\ngoal ours < {GOAL_MS:g} ms (median): {'met' if ours[1] < GOAL_MS else 'NOT met'}")
    if args.profile:
        profile(spec)


if __name__ == "__main__":
    main()
