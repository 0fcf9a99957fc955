"""Export for inference elsewhere (engine.export.export_format and the CLI's --onnx,
--saved-model, --tflite): each file runs in its own runtime (onnxruntime, TensorFlow's
SavedModel loader, the TFLite interpreter) and gives what Keras' model.predict gives.
LeNet-5 is exported to the three formats once for the module."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine.build import build_model
from engine.cli import main
from engine.errors import ProjectError
from engine.export import MODEL_FORMATS, export_format
from engine.templates import load_template, template_keys
from tests.engine.helpers import GraphBuilder

SEED = 7  # export_format builds its own model: the same seed gives the same weights
NAMES = {"onnx": "lenet.onnx", "saved_model": "lenet_savedmodel", "tflite": "lenet.tflite"}
# tf.lite.Interpreter still runs in TF 2.21; its successor (ai_edge_litert) is not installed.
pytestmark = pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")


def run_onnx(path: Path, images: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    [output] = session.run(None, {session.get_inputs()[0].name: images})
    return output


def run_saved_model(path: Path, images: np.ndarray) -> np.ndarray:
    loaded = tf.saved_model.load(str(path))  # held: its variables die with it
    return loaded.serve(tf.constant(images)).numpy()


def run_tflite(path: Path, images: np.ndarray) -> np.ndarray:
    interpreter = tf.lite.Interpreter(model_path=str(path))
    [given] = interpreter.get_input_details()
    interpreter.resize_tensor_input(given["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], images)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


RUNTIMES = {"onnx": run_onnx, "saved_model": run_saved_model, "tflite": run_tflite}


def seeded_export(spec, path: Path, format: str) -> None:
    keras.utils.set_random_seed(SEED)
    export_format(spec, path, format)


def seeded_model(spec) -> keras.Model:
    keras.utils.set_random_seed(SEED)
    return build_model(spec)


@pytest.fixture(scope="module")
def lenet():
    return load_template("lenet5")


@pytest.fixture(scope="module")
def lenet_exports(lenet, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exports")
    for format, name in NAMES.items():
        seeded_export(lenet, folder / name, format)
    assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES.values())  # no temporaries
    return {format: folder / name for format, name in NAMES.items()}


@pytest.fixture(scope="module")
def lenet_keras(lenet) -> keras.Model:
    return seeded_model(lenet)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((5, 32, 32, 1), dtype=np.float32)


@pytest.mark.parametrize("format", list(NAMES))
def test_each_format_gives_what_keras_gives(format, lenet_exports, lenet_keras, images):
    expected = lenet_keras.predict(images, verbose=0)
    assert expected.shape == (5, 10)
    np.testing.assert_allclose(RUNTIMES[format](lenet_exports[format], images), expected, atol=1e-4)


def test_the_saved_model_is_a_folder_with_a_serving_signature(lenet_exports):
    folder = lenet_exports["saved_model"]
    assert (folder / "saved_model.pb").is_file() and (folder / "variables").is_dir()
    loaded = tf.saved_model.load(str(folder))
    assert "serving_default" in loaded.signatures
    assert (folder.stat().st_mode & 0o777) == 0o777 & ~_umask()  # not mkdtemp's private 0700


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def custom_layers_spec():
    """The engine's own layers: a fixed filter bank and weighted-average pooling."""
    g = GraphBuilder("custom layers")
    x = g.add("InputLayer", {"shape": [28, 28, 3]}, name="input")
    x = g.add("HandcraftedConv2D", {"bank": "all", "padding": "same", "activation": "relu"}, [x],
              name="filters")
    x = g.add("WeightedAveragePooling2D", {"pool_size": [2, 2]}, [x], name="pool")
    x = g.add("Conv2D", {"filters": 4, "kernel_size": [3, 3]}, [x], name="conv")
    x = g.add("WeightedAveragePooling2D", {"pool_size": [3, 3], "strides": [2, 2],
                                           "padding": "same"}, [x], name="pool2")
    x = g.add("Flatten", {}, [x], name="flatten")
    g.add("Dense", {"units": 6, "activation": "softmax"}, [x], name="output")
    return g.spec


def test_the_engines_custom_layers_export_to_onnx(tmp_path):
    spec = custom_layers_spec()
    path = tmp_path / "custom.onnx"
    seeded_export(spec, path, "onnx")
    model = seeded_model(spec)
    images = np.random.default_rng(1).random((3, 28, 28, 3), dtype=np.float32)
    np.testing.assert_allclose(run_onnx(path, images), model.predict(images, verbose=0), atol=1e-4)


@pytest.mark.parametrize("key", [key for key in template_keys() if key != "lenet5"])
def test_every_template_exports_to_onnx(key, tmp_path):
    spec = load_template(key)
    seeded_export(spec, tmp_path / "net.onnx", "onnx")  # it runs in onnxruntime, or it fails
    model = seeded_model(spec)
    images = np.random.default_rng(2).random((2, *model.input_shape[1:]), dtype=np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "net.onnx", images), model.predict(images, verbose=0),
                               atol=1e-4)


# -- refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("format, name, words", [
    ("onnx", "lenet.onx", "ONNX files must end in '.onnx'"),
    ("onnx", "lenet.tflite", "ONNX files must end in '.onnx'"),
    ("tflite", "lenet.lite", "TFLite files must end in '.tflite'"),
    ("saved_model", "lenet.onnx", "a TensorFlow SavedModel is a folder"),
])
def test_a_wrong_extension_is_refused(format, name, words, lenet, tmp_path):
    with pytest.raises(ProjectError, match=words.replace(".", r"\.")):
        export_format(lenet, tmp_path / name, format)
    assert list(tmp_path.iterdir()) == []


def test_missing_onnx_packages_say_what_to_install(lenet, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # as if not installed: import fails
    with pytest.raises(ProjectError, match="needs tf2onnx, which is not installed: pip install tf2onnx$"):
        export_format(lenet, tmp_path / "lenet.onnx", "onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ProjectError, match="pip install tf2onnx onnxruntime$"):
        export_format(lenet, tmp_path / "lenet.onnx", "onnx")
    assert list(tmp_path.iterdir()) == []


def test_another_keras_backend_is_refused(lenet, tmp_path, monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ProjectError, match="needs Keras' TensorFlow backend, not jax: run with "
                                           "KERAS_BACKEND=tensorflow"):
        export_format(lenet, tmp_path / "lenet.tflite", "tflite")
    assert list(tmp_path.iterdir()) == []


class Spectrum(keras.layers.Layer):
    """Not a CNN Studio block: a layer whose ops (FFT, complex numbers) ONNX cannot express."""

    def call(self, x):
        real, _ = keras.ops.fft2((x, keras.ops.zeros_like(x)))
        return real


def test_an_op_onnx_cannot_express_is_named_in_one_line(tmp_path):
    from engine.export import _export_model  # the layer is no block: export the model itself

    inputs = keras.Input((8, 8))
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(Spectrum(name="spectrum")(inputs)))
    model = keras.Model(inputs, outputs, name="fourier")
    with pytest.raises(ProjectError) as raised:
        _export_model(model, tmp_path / "fourier.onnx", MODEL_FORMATS["onnx"], abandon=None)
    assert str(raised.value) == ("Cannot export fourier to ONNX: tf2onnx cannot convert the "
                                 "TensorFlow op(s) Complex, FFT2D, Real (in layer spectrum)")
    assert list(tmp_path.iterdir()) == []


# -- atomic writes --------------------------------------------------------------------------------

def failing_export(self, filepath, format="tf_saved_model", **options):
    """Writes part of the artifact, then fails the way a converter does."""
    target = Path(filepath)
    if format == "tf_saved_model":  # a folder (the temporary one exists already)
        target = target / "saved_model.pb"
    target.write_bytes(b"half an artifact")
    raise ValueError("Traceback (most recent call last):\n  ...\n"
                     "tf2onnx: Unsupported ops: Counter({'ImaginaryOp': 1})\n"
                     "Exception encountered when calling Conv2D.call().")


@pytest.mark.parametrize("format, name", [("onnx", "lenet.onnx"), ("tflite", "lenet.tflite"),
                                          ("saved_model", "lenet_savedmodel")])
def test_a_failure_mid_export_leaves_nothing_under_the_final_name(format, name, lenet, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(keras.Model, "export", failing_export)
    path = tmp_path / name
    with pytest.raises(ProjectError) as raised:
        export_format(lenet, path, format)
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message
    assert message == (f"Cannot export LeNet-5 to {MODEL_FORMATS[format].title}: tf2onnx: "
                       "Unsupported ops: Counter({'ImaginaryOp': 1}) (in a Conv2D layer)")
    assert list(tmp_path.iterdir()) == []  # neither the final name nor a temporary


def test_a_failure_keeps_the_earlier_export(lenet, lenet_exports, tmp_path, monkeypatch):
    onnx, folder = tmp_path / "lenet.onnx", tmp_path / "lenet_savedmodel"
    onnx.write_bytes(lenet_exports["onnx"].read_bytes())
    seeded_export(lenet, folder, "saved_model")
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    monkeypatch.setattr(keras.Model, "export", failing_export)
    for path, format in ((onnx, "onnx"), (folder, "saved_model")):
        with pytest.raises(ProjectError, match="Unsupported ops"):
            export_format(lenet, path, format)
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("format, name", [("saved_model", "lenet_savedmodel"), ("onnx", "lenet.onnx")])
def test_a_cancelled_export_writes_nothing(format, name, lenet, tmp_path):
    export_format(lenet, tmp_path / name, format, abandon=lambda: True)  # cancelled meanwhile
    assert list(tmp_path.iterdir()) == []


def test_a_saved_model_replaces_an_earlier_one_but_no_other_folder(lenet, lenet_keras, images,
                                                                   tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()  # an empty folder may be used
    export_format(lenet, folder, "saved_model")  # a different seed: other weights
    seeded_export(lenet, folder, "saved_model")  # replaces it whole
    np.testing.assert_allclose(run_saved_model(folder, images), lenet_keras.predict(images, verbose=0),
                               atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"not a model")
    with pytest.raises(ProjectError, match="a folder with other files in it"):
        export_format(lenet, mine, "saved_model")
    assert [p.name for p in mine.iterdir()] == ["holiday.jpg"]


# -- the command line ---------------------------------------------------------------------------

def cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in args])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("flag, format", [("--onnx", "onnx"), ("--saved-model", "saved_model"),
                                          ("--tflite", "tflite")])
def test_cli_exports_each_format(flag, format, lenet_keras, images, tmp_path):
    path = tmp_path / NAMES[format]
    keras.utils.set_random_seed(SEED)
    code, out, err = cli("export", "--template", "lenet5", flag, path)
    assert code == 0, err
    assert out == f"Wrote {path} ({MODEL_FORMATS[format].title})\n"
    np.testing.assert_allclose(RUNTIMES[format](path, images), lenet_keras.predict(images, verbose=0),
                               atol=1e-4)


def test_cli_exports_a_project_file(tmp_path):
    project = tmp_path / "custom.json"
    assert cli("new", "--template", "lenet5", "-o", project)[0] == 0
    code, _, err = cli("export", project, "--onnx", tmp_path / "net.onnx")
    assert code == 0, err
    assert run_onnx(tmp_path / "net.onnx", np.zeros((2, 32, 32, 1), np.float32)).shape == (2, 10)


@pytest.mark.parametrize("args, words", [
    (["--onnx", "out.onx"], "cnn-studio: Cannot export to out.onx: ONNX files must end in '.onnx'."),
    (["--tflite", "out.onnx"], "cnn-studio: Cannot export to out.onnx: TFLite files must end in "
                               "'.tflite'."),
    (["--saved-model", "{file}"], "cnn-studio: Cannot write {file}: it is a file, not a SavedModel "
                                  "folder; choose a new name."),
    (["--onnx", "out.onnx", "--tflite", "out.tflite"], None),  # one format at a time
])
def test_cli_refusals_are_one_line(args, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    args = [arg.format(file="notes.txt") for arg in args]
    if words is None:
        with pytest.raises(SystemExit):  # argparse: not allowed with argument --onnx
            cli("export", "--template", "lenet5", *args)
    else:
        code, out, err = cli("export", "--template", "lenet5", *args)
        assert (code, out, err) == (2, "", words.format(file="notes.txt") + "\n")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
