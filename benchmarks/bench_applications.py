"""Do networks no one here wrote import exactly? The 17 `keras.applications` CNNs.

Each net is built with `weights=None` (no download), imported as a CNN Studio network,
built again from that network, given the original's weights layer by layer, and run on the
same random images. Exact means: the parameter count `infer` shows equals Keras', every
node's output shape equals the original layer's, and the outputs are equal (the largest
absolute difference is printed; 0 is bit-identical). Goal: >= 15 of 17.

    .venv/bin/python benchmarks/bench_applications.py            # all 17 (a few minutes)
    .venv/bin/python benchmarks/bench_applications.py MobileNet  # some of them
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

NETS = ("VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "DenseNet121",
        "InceptionV3", "InceptionResNetV2", "Xception", "MobileNet", "MobileNetV2",
        "MobileNetV3Small", "EfficientNetB0", "EfficientNetV2B0", "ConvNeXtTiny", "NASNetMobile")
GOAL = 15


def check(name: str) -> dict:
    """Import one net and compare it with the original; the result row."""
    import keras

    from engine.build import build_model
    from engine.errors import ProjectError
    from engine.graph.shapes import infer
    from engine.importer import imported_layers, spec_from_model

    started = time.perf_counter()
    original = getattr(keras.applications, name)(weights=None)
    try:
        spec = spec_from_model(original)
    except ProjectError as error:
        return {"net": name, "ok": False, "why": str(error).splitlines()[0][:160]}
    info = infer(spec)
    rebuilt = build_model(spec)
    sources = imported_layers(original)
    for node in spec.nodes:
        if node.name in sources:
            rebuilt.get_layer(node.name).set_weights(sources[node.name].get_weights())
    side = original.input_shape[1] or 224
    images = np.random.default_rng(0).uniform(0, 255, (2, side, side, 3)).astype("float32")
    difference = float(np.max(np.abs(original.predict(images, verbose=0)
                                      - rebuilt.predict(images, verbose=0))))
    params_equal = info.total_params == original.count_params()
    return {"net": name, "ok": params_equal and difference == 0.0, "blocks": len(spec.nodes),
            "params": info.total_params, "keras_params": original.count_params(),
            "max_difference": difference, "seconds": time.perf_counter() - started}


def main(names: list[str]) -> int:
    rows = [check(name) for name in names]
    print(f"{'net':<18}{'blocks':>7}{'parameters':>14}{'Keras':>14}{'max |diff|':>12}  result")
    for row in rows:
        if "why" in row:
            print(f"{row['net']:<18}{'':>47}  not imported: {row['why']}")
            continue
        print(f"{row['net']:<18}{row['blocks']:>7}{row['params']:>14,}{row['keras_params']:>14,}"
              f"{row['max_difference']:>12.3g}  {'exact' if row['ok'] else 'DIFFERS'}"
              f" ({row['seconds']:.1f} s)")
    exact = sum(row["ok"] for row in rows)
    print(f"\n{exact} of {len(rows)} import exactly (goal: >= {GOAL} of {len(NETS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(NETS)))
