"""Datasets: built-ins, image folders and .npz files written here, adapting to a network input,
and the offline message for Keras downloads. Real data throughout, nothing downloaded."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.datasets import DatasetSplits, adapt_to_input, list_datasets, load_dataset
from engine.errors import ProjectError
from engine.shapes_dataset import SHAPE_CLASSES, generate_shapes

REPO_ROOT = Path(__file__).resolve().parents[2]


def all_rows(splits: DatasetSplits) -> np.ndarray:
    """Every image of every split as one row (pixels..., label), sorted: order-free comparison."""
    parts = [np.hstack([x.reshape(len(x), -1), y[:, None].astype(np.float32)])
             for x, y in ((splits.x_train, splits.y_train), (splits.x_val, splits.y_val),
                          (splits.x_test, splits.y_test))]
    return sort_rows(np.vstack(parts))


def sort_rows(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(rows.T[::-1])]


def assert_well_formed(splits: DatasetSplits) -> None:
    for x, y in ((splits.x_train, splits.y_train), (splits.x_val, splits.y_val),
                 (splits.x_test, splits.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape[1:] == splits.input_shape and len(x) == len(y)
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert set(np.unique(y)) == set(range(splits.num_classes))  # every class in every split


def assert_stratified(splits: DatasetSplits, tolerance: float) -> None:
    overall = np.bincount(np.concatenate([splits.y_train, splits.y_val, splits.y_test]))
    overall = overall / overall.sum()
    for y in (splits.y_train, splits.y_val, splits.y_test):
        share = np.bincount(y, minlength=splits.num_classes) / len(y)
        assert np.abs(share - overall).max() <= tolerance


# --------------------------------------------------------------------------- built-ins

def test_digits_splits_are_stratified_and_partition_the_data():
    from sklearn.datasets import load_digits

    splits = load_dataset("digits")
    assert splits.name == "digits" and splits.input_shape == (8, 8, 1)
    assert splits.class_names == tuple("0123456789") and splits.num_classes == 10
    assert splits.sizes == {"train": 1257, "validation": 270, "test": 270}
    assert_well_formed(splits)
    assert_stratified(splits, tolerance=0.01)

    digits = load_digits()
    original = np.hstack([(digits.images / 16.0).astype(np.float32).reshape(len(digits.target), -1),
                          digits.target[:, None].astype(np.float32)])
    assert np.array_equal(all_rows(splits), sort_rows(original))  # disjoint, nothing lost

    described = splits.describe()
    assert described["input_shape"] == [8, 8, 1] and described["num_classes"] == 10
    assert described["sizes"] == splits.sizes
    assert sum(described["class_counts"].values()) == 1257


def test_same_seed_same_splits_other_seed_other_splits():
    first, again, other = (load_dataset("digits", seed=seed) for seed in (3, 3, 4))
    assert np.array_equal(first.x_train, again.x_train)
    assert np.array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.y_train, other.y_train)


def test_digits_resized_and_capped():
    splits = load_dataset("digits", image_size=16, max_samples=200)
    assert splits.input_shape == (16, 16, 1)
    assert sum(splits.sizes.values()) == 200
    assert splits.sizes == {"train": 140, "validation": 30, "test": 30}
    assert_well_formed(splits)
    assert_stratified(splits, tolerance=0.05)


def test_fractions_and_zero_validation():
    splits = load_dataset("digits", validation_fraction=0.0, test_fraction=0.3)
    assert splits.sizes == {"train": 1258, "validation": 0, "test": 539}
    assert splits.x_val.shape == (0, 8, 8, 1)


def test_faces_are_the_lfw_subset_with_face_labels():
    from skimage.data import lfw_subset

    splits = load_dataset("faces")
    assert splits.input_shape == (25, 25, 1) and splits.class_names == ("face", "non-face")
    assert sum(splits.sizes.values()) == 200
    assert_well_formed(splits)
    rows = all_rows(splits)
    assert np.bincount(rows[:, -1].astype(int)).tolist() == [100, 100]
    raw = lfw_subset().astype(np.float32)
    for index, label in ((0, 0), (99, 0), (100, 1), (199, 1)):
        matches = np.all(rows[:, :-1] == raw[index].reshape(-1), axis=1)
        assert rows[matches, -1].tolist() == [label]


def test_shapes_are_balanced_deterministic_and_quick():
    splits = load_dataset("shapes", seed=1)
    assert splits.input_shape == (32, 32, 1)
    assert set(SHAPE_CLASSES) <= set(splits.class_names) and splits.num_classes >= 5
    assert sum(splits.sizes.values()) == 1500
    assert_well_formed(splits)
    assert np.bincount(all_rows(splits)[:, -1].astype(int)).tolist() == [300] * 5

    again, other = load_dataset("shapes", seed=1), load_dataset("shapes", seed=2)
    assert np.array_equal(splits.x_train, again.x_train)
    assert np.array_equal(splits.y_val, again.y_val)
    assert not np.array_equal(splits.x_train, other.x_train)

    start = time.perf_counter()
    generate_shapes(image_size=32, seed=5)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("size", [12, 64])
def test_shapes_any_size(size):
    splits = load_dataset("shapes", image_size=size, max_samples=60)
    assert splits.input_shape == (size, size, 1)
    assert sum(splits.sizes.values()) == 60
    assert_well_formed(splits)


def test_shapes_move_around_the_image():
    images, _ = generate_shapes([40] * len(SHAPE_CLASSES), image_size=32, seed=0)
    rows, cols = np.mgrid[0:32, 0:32]
    centres = []
    for image in images[..., 0]:
        bright = image > (image.max() + np.median(image)) / 2  # the shape, not the background
        centres.append((rows[bright].mean(), cols[bright].mean()))
    centres = np.array(centres)
    assert centres.std(axis=0).min() > 3.0  # pixels: position varies, so a CNN must cope


def test_a_tiny_cnn_learns_shapes():
    import keras

    splits = load_dataset("shapes", seed=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(splits.input_shape),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.GlobalMaxPooling2D(),
        keras.layers.Dense(splits.num_classes, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(splits.x_train, splits.y_train, epochs=5, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(splits.x_test, splits.y_test, verbose=0)
    assert accuracy > 0.6  # chance is 0.2


def test_unknown_name_lists_the_choices():
    with pytest.raises(ProjectError) as caught:
        load_dataset("imagenet")
    message = str(caught.value)
    for name in ("digits", "faces", "shapes", "mnist", "fashion_mnist", "cifar10", "folder:PATH",
                 "npz:PATH"):
        assert name in message


@pytest.mark.parametrize("options, words", [
    ({"validation_fraction": 0.5, "test_fraction": 0.5}, "add up to 1"),
    ({"test_fraction": -0.1}, "test fraction"),
    ({"max_samples": 15}, "at least 30"),
    ({"image_size": 0}, "image size"),
    ({"seed": -1}, "seed"),
])
def test_bad_options_are_explained(options, words):
    with pytest.raises(ProjectError, match=words):
        load_dataset("digits", **options)


# --------------------------------------------------------------------------- image folders

RED, BLUE = (255, 0, 0), (0, 0, 255)


def write_image(path: Path, size=(20, 20), color=RED, mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fill = color if mode == "RGB" else color[0]
    Image.new(mode, size, fill).save(path)
    return path


def make_class_folders(root: Path, per_class: int = 6) -> Path:
    """cat/ red images (PNG and JPEG, the first 10x12), dog/ blue ones, plus files to ignore."""
    for index in range(per_class):
        suffix = ".png" if index % 2 == 0 else ".jpg"
        size = (10, 12) if index == 0 else (20, 20)
        write_image(root / "cat" / f"c{index}{suffix}", size, RED)
        write_image(root / "dog" / f"d{index}{suffix}", (16, 16), BLUE)
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def test_image_folder_loads_resized_rgb(tmp_path):
    root = make_class_folders(tmp_path / "pets")
    splits = load_dataset(f"folder:{root}")
    assert splits.name == f"folder:{root}"
    assert splits.class_names == ("cat", "dog")
    assert splits.input_shape == (12, 10, 3)  # the first image's size (width 10, height 12)
    assert sum(splits.sizes.values()) == 12   # notes.txt ignored
    assert_well_formed(splits)
    for x, y in ((splits.x_train, splits.y_train), (splits.x_test, splits.y_test)):
        mean_colour = np.array([x[y == label].mean(axis=(0, 1, 2)) for label in (0, 1)])
        assert np.allclose(mean_colour, [[1, 0, 0], [0, 0, 1]], atol=0.1)  # JPEG is lossy

    resized = load_dataset(f"folder:{root}", image_size=8)
    assert resized.input_shape == (8, 8, 3)


def test_image_folder_grayscale_only_if_all_are(tmp_path):
    for index in range(3):
        write_image(tmp_path / "gray" / "a" / f"{index}.png", color=(40, 40, 40), mode="L")
        write_image(tmp_path / "gray" / "b" / f"{index}.png", color=(200, 200, 200), mode="L")
    gray = load_dataset(f"folder:{tmp_path / 'gray'}")
    assert gray.input_shape == (20, 20, 1)
    assert np.allclose(gray.x_train[gray.y_train == 1], 200 / 255)

    write_image(tmp_path / "gray" / "b" / "colour.png", color=RED)
    mixed = load_dataset(f"folder:{tmp_path / 'gray'}")
    assert mixed.input_shape == (20, 20, 3)
    gray_images = mixed.x_train[mixed.y_train == 0]
    assert np.allclose(gray_images, 40 / 255)  # gray pixels repeated into R, G and B


def test_image_folder_lists_every_unreadable_file(tmp_path):
    root = make_class_folders(tmp_path / "pets")
    (root / "cat" / "garbage.png").write_bytes(b"definitely not a png")
    good = write_image(root / "dog" / "whole.png", (64, 64), BLUE)
    truncated = root / "dog" / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:80])
    with pytest.raises(ProjectError) as caught:
        load_dataset(f"folder:{root}")
    message = str(caught.value)
    assert "garbage.png" in message and "truncated.png" in message
    assert "whole.png" not in message and "c0.png" not in message


def test_image_folder_caps_the_listing(tmp_path):
    root = make_class_folders(tmp_path / "pets")
    for index in range(25):
        (root / "dog" / f"bad{index:02d}.jpg").write_bytes(b"\xff\xd8 broken")
    with pytest.raises(ProjectError) as caught:
        load_dataset(f"folder:{root}")
    message = str(caught.value)
    assert message.count("bad") == 20 and "and 5 more" in message


def test_image_folder_with_an_empty_class(tmp_path):
    root = make_class_folders(tmp_path / "pets")
    (root / "bird").mkdir()
    (root / "bird" / "readme.md").write_text("images to come")
    with pytest.raises(ProjectError, match="bird: no images"):
        load_dataset(f"folder:{root}")


def test_image_folder_without_class_subfolders(tmp_path):
    write_image(tmp_path / "flat" / "one.png")
    with pytest.raises(ProjectError, match="no class subfolders"):
        load_dataset(f"folder:{tmp_path / 'flat'}")


def test_image_folder_with_one_class(tmp_path):
    for index in range(3):
        write_image(tmp_path / "solo" / "cat" / f"{index}.png")
    with pytest.raises(ProjectError, match="at least 2 classes"):
        load_dataset(f"folder:{tmp_path / 'solo'}")


def test_image_folder_missing_or_a_file(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'nowhere'}")
    with pytest.raises(ProjectError, match="not a folder"):
        load_dataset(f"folder:{write_image(tmp_path / 'x.png')}")


# --------------------------------------------------------------------------- .npz files

def labelled_images(labels, shape=(6, 6)) -> np.ndarray:
    """uint8 images whose every pixel is 20 * label, so labels can be checked after splitting."""
    labels = np.asarray(labels)
    return np.broadcast_to((labels * 20).astype(np.uint8)[:, None, None], (len(labels), *shape))


def test_npz_good_file_is_scaled_and_relabelled(tmp_path):
    original = np.repeat([3, 7, 9], 10)
    path = tmp_path / "data.npz"
    np.savez(path, x=labelled_images(original), y=original)
    splits = load_dataset(f"npz:{path}")
    assert splits.class_names == ("3", "7", "9") and splits.input_shape == (6, 6, 1)
    assert sum(splits.sizes.values()) == 30
    assert_well_formed(splits)
    rows = all_rows(splits)
    assert np.allclose(rows[:, 0] * 255, np.array([3, 7, 9])[rows[:, -1].astype(int)] * 20)


def test_npz_class_names_and_float_rgb(tmp_path):
    labels = np.repeat([0, 2], 5)
    x = np.random.default_rng(0).uniform(0, 1, (10, 4, 5, 3))
    path = tmp_path / "named.npz"
    np.savez(path, x=x, y=labels, class_names=np.array(["cat", "unused", "dog"]))
    splits = load_dataset(f"npz:{path}", validation_fraction=0.2, test_fraction=0.2)
    assert splits.class_names == ("cat", "dog") and splits.input_shape == (4, 5, 3)
    assert np.allclose(sort_rows(all_rows(splits)[:, :-1]),
                       sort_rows(x.reshape(10, -1).astype(np.float32)))


class RunsCodeWhenUnpickled:
    """Pickles as "open(marker, 'w')": loading it would create the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_npz_with_pickled_objects_is_refused_without_running_them(tmp_path):
    marker = tmp_path / "was_unpickled"
    path = tmp_path / "evil.npz"
    x = np.empty(4, dtype=object)
    x[:] = [RunsCodeWhenUnpickled(marker) for _ in range(4)]
    np.savez(path, x=x, y=np.arange(4))
    with pytest.raises(ProjectError, match="never"):
        load_dataset(f"npz:{path}")
    assert not marker.exists()


@pytest.mark.parametrize("arrays, words", [
    ({"x": labelled_images(range(6)), "y": np.arange(5)}, "6 images but y has 5"),
    ({"x": labelled_images(range(6)), "y": np.arange(6, dtype=np.float64)}, "labels must be integers"),
    ({"x": np.zeros((6, 36), np.uint8), "y": np.arange(6)}, "shape"),
    ({"x": np.zeros((6, 4, 4, 2), np.uint8), "y": np.arange(6)}, "1 or 3 channels"),
    ({"x": labelled_images(range(6)), "y": np.arange(6) - 1}, "negative"),
    ({"x": labelled_images([1] * 6), "y": np.ones(6, np.int64)}, "at least 2 classes"),
    ({"x": np.full((6, 4, 4), 2.0), "y": np.arange(6)}, r"in \[0, 1\]"),
    ({"x": np.full((6, 4, 4), 300, np.int32), "y": np.arange(6)}, "0..255"),
    ({"x": labelled_images(range(6))}, "no array y"),
])
def test_npz_problems_are_named(tmp_path, arrays, words):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ProjectError, match=words):
        load_dataset(f"npz:{path}")


def test_npz_that_is_not_an_npz(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("x,y\n1,2\n")
    with pytest.raises(ProjectError, match="not a .npz file"):
        load_dataset(f"npz:{text}")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ProjectError, match="single-array .npy"):
        load_dataset(f"npz:{single}")
    with pytest.raises(ProjectError, match="does not exist"):
        load_dataset(f"npz:{tmp_path / 'missing.npz'}")


# --------------------------------------------------------------------------- adapting

def test_adapt_digits_to_larger_gray_and_rgb_inputs():
    digits = load_dataset("digits")
    gray = adapt_to_input(digits, (32, 32, 1))
    assert gray.input_shape == (32, 32, 1) and gray.x_val.shape == (270, 32, 32, 1)
    assert gray.x_train.dtype == np.float32 and 0 <= gray.x_train.min() <= gray.x_train.max() <= 1
    assert np.array_equal(gray.y_train, digits.y_train) and gray.class_names == digits.class_names
    assert np.isclose(gray.x_train.mean(), digits.x_train.mean(), atol=0.02)

    rgb = adapt_to_input(digits, (32, 32, 3))
    assert rgb.input_shape == (32, 32, 3)
    assert np.array_equal(rgb.x_test[..., 0], rgb.x_test[..., 2])
    assert np.allclose(rgb.x_test[..., :1], gray.x_test)

    variable = adapt_to_input(digits, (None, None, 3))
    assert variable.input_shape == (8, 8, 3)


def cifar_like(count: int = 12) -> DatasetSplits:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (count, 32, 32, 3)).astype(np.float32)
    y = np.arange(count, dtype=np.int64) % 2
    third = count // 3
    return DatasetSplits("rgb", ("a", "b"), x[:third], y[:third], x[third:2 * third],
                         y[third:2 * third], x[2 * third:], y[2 * third:])


def test_adapt_rgb_to_gray_uses_luminance():
    splits = cifar_like()
    gray = adapt_to_input(splits, (32, 32, 1))
    expected = splits.x_train @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    assert np.allclose(gray.x_train[..., 0], expected, atol=1e-6)

    small = adapt_to_input(splits, (16, 16, 1))
    assert small.input_shape == (16, 16, 1)
    assert 0 <= small.x_test.min() and small.x_test.max() <= 1


def test_adapt_refuses_other_channel_counts():
    with pytest.raises(ProjectError, match="3-channel images but the network input takes 4"):
        adapt_to_input(cifar_like(), (32, 32, 4))
    with pytest.raises(ProjectError, match="height, width, channels"):
        adapt_to_input(cifar_like(), (32, 32))


# --------------------------------------------------------------------------- Keras downloads

def test_list_datasets_reports_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    entries = {entry.name: entry for entry in list_datasets()}
    assert set(entries) == {"digits", "faces", "shapes", "mnist", "fashion_mnist", "cifar10"}
    for name in ("digits", "faces", "shapes"):
        assert entries[name].offline and not entries[name].downloadable
    for name in ("mnist", "fashion_mnist", "cifar10"):
        assert entries[name].downloadable and not entries[name].offline
        assert entries[name].title and entries[name].description

    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"")
    entries = {entry.name: entry for entry in list_datasets()}
    assert entries["mnist"].offline and not entries["cifar10"].offline


def run_offline(script: str, keras_home: Path) -> subprocess.CompletedProcess:
    """Run Python in a fresh process (Keras reads KERAS_HOME when imported) that cannot reach
    the network: every proxy points at a port where the connection is refused at once."""
    refused = "http://127.0.0.1:9"  # the discard port: nothing listens there
    env = {key: value for key, value in os.environ.items()
           if key.lower() not in ("no_proxy", "all_proxy")}
    env.update(KERAS_HOME=str(keras_home), HTTPS_PROXY=refused, HTTP_PROXY=refused,
               https_proxy=refused, http_proxy=refused, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def write_fake_fashion_mnist(datasets_dir: Path) -> None:
    """Tiny files in Fashion-MNIST's gzip/IDX format (Keras checks no hash for these)."""
    import gzip

    folder = datasets_dir / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, count in (("train", 60), ("t10k", 20)):
        labels = np.arange(count, dtype=np.uint8) % 10
        images = np.repeat(labels * 25, 28 * 28).astype(np.uint8)
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(b"\0" * 8 + labels.tobytes()))
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(b"\0" * 16 + images.tobytes()))


def test_keras_dataset_from_the_cache_keeps_the_official_test_split(tmp_path):
    write_fake_fashion_mnist(tmp_path / "datasets")
    script = ("import json\n"
              "from engine.datasets import list_datasets, load_dataset\n"
              "offline = {entry.name: entry.offline for entry in list_datasets()}\n"
              "full = load_dataset('fashion_mnist')\n"
              "small = load_dataset('fashion_mnist', max_samples=40, image_size=14)\n"
              "pixels = float(abs(full.x_test[..., 0, 0, 0] - full.y_test * 25 / 255).max())\n"
              "print(json.dumps([offline, full.describe(), small.describe(), pixels]))\n")
    result = run_offline(script, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    offline, full, small, pixels = json.loads(result.stdout.strip().splitlines()[-1])
    assert offline["fashion_mnist"] and not offline["mnist"]
    assert full["input_shape"] == [28, 28, 1] and full["class_names"][-1] == "Ankle boot"
    assert full["sizes"] == {"train": 50, "validation": 10, "test": 20}  # official 60 / 20
    assert pixels < 1e-6  # labels still match their images
    assert small["input_shape"] == [14, 14, 1]
    assert small["sizes"] == {"train": 20, "validation": 10, "test": 10}


def test_mnist_without_network_says_what_to_do(tmp_path):
    """A real download attempt: empty Keras cache, no network."""
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    script = ("from engine.datasets import load_dataset\n"
              "from engine.errors import ProjectError\n"
              "try:\n    load_dataset('mnist')\n"
              "except ProjectError as error:\n    print('PROJECT ERROR:', error)\n")
    result = run_offline(script, keras_home)
    message = result.stdout.split("PROJECT ERROR:", 1)[-1]
    assert "PROJECT ERROR:" in result.stdout, result.stdout + result.stderr
    assert "MNIST" in message and "download" in message
    assert str(keras_home / "datasets") in message
    for alternative in ("digits", "shapes", "faces", "folder:PATH", "npz:PATH"):
        assert alternative in message
    assert not (keras_home / "datasets" / "mnist.npz").exists()
