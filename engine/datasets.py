"""Datasets for training: built-in ones, Keras downloads, image folders and .npz files.

Every dataset comes out the same way, as a `DatasetSplits`: images float32 in [0, 1] shaped
(N, H, W, C), integer labels 0..K-1, and train/validation/test splits made with a fixed seed
and stratified by class, so two runs with the same seed see exactly the same data.

Splitting rules:
  - validation_fraction and test_fraction are fractions of all images (train gets the rest);
    each carved split gets at least one image per class, as stratification needs.
  - Keras datasets keep their official test set (test_fraction is not used for them); the
    validation split is validation_fraction of the official training set.
  - max_samples caps the total number of images (all splits together), keeping the class
    balance; for Keras datasets it is shared between train and test in their original ratio.

Keras, scikit-learn and scikit-image are imported on first use: listing datasets stays cheap.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from engine.errors import ProjectError
from engine.paths import special_kind
from engine.shapes_dataset import DEFAULT_IMAGE_SIZE, DEFAULT_PER_CLASS, SHAPE_CLASSES, \
    class_counts, generate_shapes

FOLDER_PREFIX = "folder:"
NPZ_PREFIX = "npz:"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
MAX_LISTED_PROBLEMS = 20
LUMINANCE_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601, the weights PIL's convert("L") uses
RESIZE_CHUNK_BYTES = 128 * 2**20  # resize in chunks of this size: one call, bounded memory

OFFLINE_CHOICES = ("digits, shapes and faces work offline, and so do your own images: "
                   "folder:PATH (a folder with one subfolder of images per class) or "
                   "npz:PATH (a .npz file with arrays x and y).")


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no single truth value
class DatasetSplits:
    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self):
        for split, (x, y) in self._pairs().items():
            if x.ndim != 4 or len(x) != len(y):
                raise ValueError(f"{split} split: images {x.shape} and labels {y.shape} do not "
                                 "pair up as (N, H, W, C) and (N,)")

    def _pairs(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {"train": (self.x_train, self.y_train),
                "validation": (self.x_val, self.y_val),
                "test": (self.x_test, self.y_test)}

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(side) for side in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def sizes(self) -> dict[str, int]:
        return {split: int(len(y)) for split, (_, y) in self._pairs().items()}

    def describe(self) -> dict:
        """Plain, JSON-ready data (lists, not tuples) about the dataset, for reports and the UI."""
        counts = np.bincount(self.y_train, minlength=self.num_classes)
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "sizes": self.sizes,
            "class_counts": {name: int(count) for name, count in zip(self.class_names, counts)},
        }


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    title: str
    description: str
    offline: bool       # usable right now without network (built-in, or in Keras' cache)
    downloadable: bool  # comes from keras.datasets


@dataclass(frozen=True)
class _LoadOptions:
    seed: int
    validation_fraction: float
    test_fraction: float
    image_size: int | None
    max_samples: int | None


# --------------------------------------------------------------------------- catalogue

@dataclass(frozen=True)
class _KerasDataset:
    title: str
    description: str
    class_names: tuple[str, ...]
    cache_files: tuple[str, ...]  # under Keras' datasets folder; keras.datasets reads these

# File names from keras/src/datasets/*.py: get_file() skips the download when they exist
# (cifar10 checks the downloaded archive, which it extracts again on every load).
KERAS_DATASETS = {
    "mnist": _KerasDataset(
        "MNIST", "70,000 handwritten digits, 28x28 grayscale, 10 classes (11 MB download).",
        tuple(str(digit) for digit in range(10)), ("mnist.npz",)),
    "fashion_mnist": _KerasDataset(
        "Fashion-MNIST", "70,000 photos of clothes, 28x28 grayscale, 10 classes (30 MB download).",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        tuple(f"fashion-mnist/{name}" for name in (
            "train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"))),
    "cifar10": _KerasDataset(
        "CIFAR-10", "60,000 colour photos, 32x32 RGB, 10 classes (170 MB download).",
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
         "truck"),
        ("cifar-10-batches-py-target_archive",)),
}

BUILTIN_TITLES = {
    "digits": ("Digits (8x8)", "1,797 handwritten digits, 8x8 grayscale, 10 classes. "
               "Bundled with scikit-learn."),
    "faces": ("Faces", "200 grayscale 25x25 crops from Labeled Faces in the Wild: 100 faces, "
              "100 background patches. Bundled with scikit-image."),
    "shapes": ("Shapes", f"{len(SHAPE_CLASSES)} generated shapes ({', '.join(SHAPE_CLASSES)}) at "
               "random positions, sizes and rotations, with noise; "
               f"{DEFAULT_PER_CLASS} per class, {DEFAULT_IMAGE_SIZE}x{DEFAULT_IMAGE_SIZE} "
               "grayscale by default, any size."),
}


def keras_datasets_dir() -> Path:
    """The folder keras.datasets downloads into: $KERAS_HOME/datasets, else ~/.keras/datasets
    (Keras falls back to /tmp/.keras when those are not writable, and so do we)."""
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        user_home = Path("~").expanduser()
        home = (user_home if os.access(user_home, os.W_OK) else Path("/tmp")) / ".keras"
    if home.exists() and not os.access(home, os.W_OK):
        home = Path("/tmp/.keras")
    return home / "datasets"


def _is_cached(dataset: _KerasDataset) -> bool:
    folder = keras_datasets_dir()
    return all((folder / name).is_file() for name in dataset.cache_files)


def list_datasets() -> list[DatasetEntry]:
    """The named datasets (not folder:/npz:), with whether each can be loaded offline now."""
    entries = [DatasetEntry(name, title, description, offline=True, downloadable=False)
               for name, (title, description) in BUILTIN_TITLES.items()]
    entries += [DatasetEntry(name, spec.title, spec.description, offline=_is_cached(spec),
                             downloadable=True)
                for name, spec in KERAS_DATASETS.items()]
    return entries


def _dataset_names() -> list[str]:
    return list(BUILTIN_TITLES) + list(KERAS_DATASETS)


# --------------------------------------------------------------------------- loading

def load_dataset(name: str, *, seed: int = 0, validation_fraction: float = 0.15,
                 test_fraction: float = 0.15, image_size: int | None = None,
                 max_samples: int | None = None) -> DatasetSplits:
    """Load a dataset by name ("digits", "mnist", "folder:PATH", "npz:PATH", ...) and split it.

    image_size makes the images image_size x image_size (shapes are drawn at that size; other
    datasets are resized). ProjectError for anything the user can fix.
    """
    options = _LoadOptions(seed, validation_fraction, test_fraction, image_size, max_samples)
    _check_options(options)
    text = str(name).strip()
    key = text.lower().replace("-", "_")
    if text.startswith(FOLDER_PREFIX):
        class_names, x, y = load_image_folder(_path_after_prefix(text, FOLDER_PREFIX), image_size)
        return _split_dataset(text, class_names, x, y, options)
    if text.startswith(NPZ_PREFIX):
        class_names, x, y = load_npz(_path_after_prefix(text, NPZ_PREFIX))
        return _split_dataset(text, class_names, x, y, options)
    if key in BUILTIN_LOADERS:
        class_names, x, y = BUILTIN_LOADERS[key](options)
        return _split_dataset(key, class_names, x, y, options)
    if key in KERAS_DATASETS:
        return _load_keras_dataset(key, options)
    raise ProjectError(f"Unknown dataset {text!r}. Choose one of {', '.join(_dataset_names())}, "
                       f"or {FOLDER_PREFIX}PATH (a folder with one subfolder of images per class) "
                       f"or {NPZ_PREFIX}PATH (a .npz file with arrays x and y).")


def _check_options(options: _LoadOptions) -> None:
    def whole(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if not whole(options.seed) or not 0 <= options.seed < 2**32:
        raise ProjectError(f"The seed must be a whole number from 0 to {2**32 - 1}; "
                           f"got {options.seed!r}.")
    for label, fraction in (("validation", options.validation_fraction),
                            ("test", options.test_fraction)):
        if not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
            raise ProjectError(f"The {label} fraction must be at least 0 and below 1; "
                               f"got {fraction!r}.")
    if options.validation_fraction + options.test_fraction >= 1:
        raise ProjectError("The validation and test fractions add up to 1 or more, leaving no "
                           "training images; lower them (0.15 each is usual).")
    if options.image_size is not None and (not whole(options.image_size) or options.image_size < 1):
        raise ProjectError(f"The image size must be a whole number of pixels, 1 or more; "
                           f"got {options.image_size!r}.")
    if options.max_samples is not None and (not whole(options.max_samples)
                                            or options.max_samples < 1):
        raise ProjectError(f"max_samples must be a whole number, 1 or more; "
                           f"got {options.max_samples!r}.")


def check_dataset_path(name: str) -> None:
    """For folder:PATH and npz:PATH, refuse a missing, unreadable or wrong kind of path now,
    cheaply (before Keras loads); other dataset names pass unchecked."""
    text = str(name).strip()
    if text.startswith(FOLDER_PREFIX):
        _class_folders(_path_after_prefix(text, FOLDER_PREFIX))
    elif text.startswith(NPZ_PREFIX):
        _open_npz(_path_after_prefix(text, NPZ_PREFIX)).close()  # reads the zip's directory only


def _refuse_special_file(path: Path, expected: str) -> None:
    """ProjectError if path is a pipe, device or socket (reading one may block or not end)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # missing or unreadable: the caller's own checks say so
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ProjectError(f"{path} is {special_kind(mode)}, not {expected}.")


def _path_after_prefix(text: str, prefix: str) -> Path:
    path = text[len(prefix):].strip()
    if not path:
        raise ProjectError(f"{text!r} names no path: write {prefix}PATH, "
                           f"e.g. {prefix}{'~/images' if prefix == FOLDER_PREFIX else 'data.npz'}.")
    return Path(path).expanduser()


def _load_digits(options: _LoadOptions):
    images, target = _digits_arrays()
    return tuple(str(digit) for digit in range(10)), images.copy(), target.copy()


_DIGITS: list = []  # (images, target), read once per process: a warm worker reuses them


def _digits_arrays():
    if not _DIGITS:
        from sklearn.datasets import load_digits

        digits = load_digits()
        _DIGITS.append(((digits.images / 16.0).astype(np.float32)[..., None],  # pixels 0..16
                        digits.target))
    return _DIGITS[0]


def warm_up_builtin() -> None:
    """Read the default dataset now (a warm worker's start-up), so the first run skips it."""
    _digits_arrays()


def _load_faces(options: _LoadOptions):
    from skimage.data import lfw_subset

    # The first 100 images are faces, the last 100 background patches (skimage's docstring says
    # uint8, but 0.26 returns float64 in [0, 1]; _unit_float copes with both).
    images = lfw_subset()
    labels = np.repeat(np.arange(2), [100, len(images) - 100])
    return ("face", "non-face"), images[..., None], labels


def _load_shapes(options: _LoadOptions):
    total = DEFAULT_PER_CLASS * len(SHAPE_CLASSES)
    if options.max_samples is not None:
        total = min(total, options.max_samples)  # generate no more than will be kept
    images, labels = generate_shapes(class_counts(total), options.image_size or DEFAULT_IMAGE_SIZE,
                                     options.seed)
    return SHAPE_CLASSES, images, labels


BUILTIN_LOADERS: dict[str, Callable] = {
    "digits": _load_digits, "faces": _load_faces, "shapes": _load_shapes,
}


def _load_keras_dataset(key: str, options: _LoadOptions) -> DatasetSplits:
    spec = KERAS_DATASETS[key]
    if options.max_samples is not None:  # before a download that could take minutes
        splits = 2 + (options.validation_fraction > 0)  # train, official test, validation
        _check_max_samples(key, spec.class_names, options.max_samples, splits)
    cached = _is_cached(spec)
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, key).load_data()
    except Exception as error:  # download and archive errors come as bare Exception/ValueError
        raise ProjectError(_keras_failure_message(key, spec, cached, error)) from None
    return _split_dataset(key, spec.class_names, _with_channels(x_train), y_train, options,
                          official_test=(_with_channels(x_test), y_test))


def _keras_failure_message(key: str, spec: _KerasDataset, cached: bool, error: Exception) -> str:
    folder = keras_datasets_dir()
    files = ", ".join(str(folder / name) for name in spec.cache_files)
    if cached:
        return (f"Could not read the cached {spec.title} files ({files}): {error}. Delete them "
                f"so Keras downloads them again, or use another dataset: {OFFLINE_CHOICES}")
    return (f"Could not download the {spec.title} dataset ({key}): {error}. Keras keeps "
            f"downloaded datasets in {folder}; connect to the internet and try again, or put "
            f"the files there yourself ({files}). Meanwhile, {OFFLINE_CHOICES}")


def _with_channels(images: np.ndarray) -> np.ndarray:
    return images[..., None] if images.ndim == 3 else images


# --------------------------------------------------------------------------- splitting

def _split_dataset(name: str, class_names, x: np.ndarray, y: np.ndarray, options: _LoadOptions,
                   official_test: tuple[np.ndarray, np.ndarray] | None = None) -> DatasetSplits:
    """Subsample (max_samples), carve the test and validation splits, then scale and resize."""
    class_names = tuple(class_names)
    y = _flat_labels(y)
    num_classes = len(class_names)
    carved = (options.validation_fraction > 0) + (options.test_fraction > 0 and not official_test)
    _check_enough_per_class(name, class_names, y, 1 + carved)
    if official_test is None:
        if options.max_samples is not None:
            _check_max_samples(name, class_names, options.max_samples, 1 + carved)
            x, y = _keep(x, y, options.max_samples, options.seed)
        # Both fractions are of all images, so both counts come from the same total.
        test_count = _split_count(len(y), options.test_fraction, num_classes)
        validation_count = _split_count(len(y), options.validation_fraction, num_classes)
        x_rest, y_rest, x_test, y_test = _carve(x, y, test_count, options.seed)
    else:
        x_rest, y_rest = x, y
        x_test, y_test = official_test[0], _flat_labels(official_test[1])
        if options.max_samples is not None:
            _check_max_samples(name, class_names, options.max_samples, 2 + carved)
            train_share = len(y_rest) / (len(y_rest) + len(y_test))
            keep_train = min(max(num_classes * (1 + carved),
                                 round(options.max_samples * train_share)),
                             options.max_samples - num_classes)  # leave one per class for test
            x_rest, y_rest = _keep(x_rest, y_rest, keep_train, options.seed)
            x_test, y_test = _keep(x_test, y_test, options.max_samples - keep_train, options.seed)
        validation_count = _split_count(len(y_rest), options.validation_fraction, num_classes)
    x_train, y_train, x_val, y_val = _carve(x_rest, y_rest, validation_count, options.seed)

    def finish(images: np.ndarray) -> np.ndarray:
        images = _unit_float(images)
        size = options.image_size
        return images if size is None else resize_images(images, size, size)

    return DatasetSplits(name, class_names, finish(x_train), y_train, finish(x_val), y_val,
                         finish(x_test), y_test)


def _flat_labels(y) -> np.ndarray:
    return np.asarray(y).reshape(-1).astype(np.int64)


def _keep(x: np.ndarray, y: np.ndarray, count: int, seed: int):
    """A stratified subsample of `count` images (all of them if there are no more)."""
    x, y, _, _ = _carve(x, y, max(0, len(y) - count), seed)
    return x, y


def _split_count(total: int, fraction: float, num_classes: int) -> int:
    """How many images a split gets: the fraction of the total, but at least one per class."""
    return 0 if fraction <= 0 else max(num_classes, round(total * fraction))


def _carve(x: np.ndarray, y: np.ndarray, count: int, seed: int):
    """Take `count` images out of (x, y), stratified: (rest_x, rest_y, taken_x, taken_y)."""
    if count <= 0:
        return x, y, x[:0], y[:0]
    from sklearn.model_selection import train_test_split

    try:
        rest, taken = train_test_split(np.arange(len(y)), test_size=count, stratify=y,
                                       random_state=seed)
    except ValueError as error:  # sizes our own checks did not foresee; sklearn says which
        raise ProjectError(f"Cannot split {len(y)} images into parts with every class in each: "
                           f"{error} Use more images, or lower the validation/test fractions."
                           ) from None
    return x[rest], y[rest], x[taken], y[taken]


def _check_enough_per_class(name: str, class_names, y: np.ndarray, needed: int) -> None:
    counts = np.bincount(y, minlength=len(class_names))
    short = [f"{class_names[index]!r} ({count})" for index, count in enumerate(counts)
             if count < needed]
    if short:
        raise ProjectError(f"{name}: every class needs at least {needed} images, one for each "
                           f"split (train, validation, test); too few in {', '.join(short)}. "
                           "Add images, or set the validation or test fraction to 0.")


def _check_max_samples(name: str, class_names, max_samples: int, splits: int) -> None:
    needed = len(class_names) * splits
    if max_samples < needed:
        raise ProjectError(f"max_samples={max_samples} is too small for {name}: its "
                           f"{len(class_names)} classes need one image in each of {splits} "
                           f"splits, so use at least {needed}.")


def _unit_float(images: np.ndarray) -> np.ndarray:
    """float32 in [0, 1]: 8-bit integers are divided by 255, floats are taken as already scaled."""
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.float32) / np.float32(255)
    return np.clip(images, 0.0, 1.0).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- resizing, channels

def resize_images(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of (N, H, W, C) float images with keras.ops (any backend), float32 [0, 1]."""
    count, old_height, old_width, channels = images.shape
    if (old_height, old_width) == (height, width):
        return images
    resized = np.empty((count, height, width, channels), dtype=np.float32)
    if count == 0:
        return resized
    import keras

    # Antialiasing only when shrinking: it averages away the detail that would otherwise alias.
    shrinking = height < old_height or width < old_width
    image_bytes = max(old_height * old_width, height * width) * channels * 4
    chunk = max(1, RESIZE_CHUNK_BYTES // image_bytes)
    for start in range(0, count, chunk):
        batch = keras.ops.image.resize(images[start:start + chunk], (height, width),
                                       interpolation="bilinear", antialias=shrinking,
                                       data_format="channels_last")
        resized[start:start + chunk] = keras.ops.convert_to_numpy(batch)
    return np.clip(resized, 0.0, 1.0, out=resized)


def to_grayscale(images: np.ndarray) -> np.ndarray:
    weights = np.asarray(LUMINANCE_WEIGHTS, dtype=np.float32)
    return (images @ weights)[..., None].astype(np.float32, copy=False)


def to_rgb(images: np.ndarray) -> np.ndarray:
    return np.repeat(images, 3, axis=-1)


def adapt_to_input(splits: DatasetSplits, input_shape: tuple) -> DatasetSplits:
    """The same splits reshaped to fit a network input (H, W, C); None for H or W keeps the
    data's size. Gray <-> RGB conversions only; other channel changes are a ProjectError."""
    if len(input_shape) != 3:
        raise ProjectError(f"The network input has shape {tuple(input_shape)}, but images need "
                           "an input of (height, width, channels); change the Input block.")
    height, width, channels = input_shape
    data_height, data_width, data_channels = splits.input_shape
    height, width = height or data_height, width or data_width
    convert = _channel_converter(data_channels, channels or data_channels, splits.name)

    def adapt(images: np.ndarray) -> np.ndarray:
        if convert is to_grayscale:  # fewer channels to resize
            return resize_images(convert(images), height, width)
        images = resize_images(images, height, width)
        return convert(images) if convert else images

    return replace(splits, x_train=adapt(splits.x_train), x_val=adapt(splits.x_val),
                   x_test=adapt(splits.x_test))


def _channel_converter(have: int, want: int, name: str):
    if have == want:
        return None
    if (have, want) == (1, 3):
        return to_rgb
    if (have, want) == (3, 1):
        return to_grayscale
    raise ProjectError(f"The dataset {name} has {have}-channel images but the network input "
                       f"takes {want} channels; only grayscale (1) and RGB (3) convert into each "
                       "other. Set the Input block's channels to "
                       f"{have}{' (or 1 or 3)' if have in (1, 3) else ''}.")


# --------------------------------------------------------------------------- image folders

def load_image_folder(root: Path, image_size: int | None = None):
    """Read a folder with one subfolder per class: (class_names, images, labels).

    Every image is opened, verified and decoded before anything is returned; any problem
    (unreadable file, empty class folder, ...) ends in one ProjectError listing them all.
    Images are resized to image_size (or the first image's size) and kept grayscale only if
    they all are.
    """
    class_folders = _class_folders(root)
    problems: list[str] = []
    if len(class_folders) < 2:
        problems.append(f"{root}: only one class subfolder ({class_folders[0].name}); a "
                        "classifier needs at least 2 classes")
    target = None if image_size is None else (image_size, image_size)
    images, labels = [], []
    for label, folder in enumerate(class_folders):
        files = _image_files(folder)
        if not files:
            problems.append(f"{folder}: no images ({' '.join(IMAGE_EXTENSIONS)})")
        for path in files:
            try:
                image = _read_image(path, target)
            except Exception as error:  # PIL raises many types (OSError, SyntaxError, ...)
                problems.append(f"{path}: {_describe_image_error(error)}")
                continue
            target = target or image.shape[:2]
            images.append(image)
            labels.append(label)
    if problems:
        raise ProjectError(f"The image folder {root} cannot be used yet; fix or remove these "
                           f"and load it again:\n{_listing(problems)}")
    if any(image.shape[-1] == 3 for image in images):
        images = [to_rgb(image) if image.shape[-1] == 1 else image for image in images]
    return tuple(folder.name for folder in class_folders), np.stack(images), np.asarray(labels)


def _class_folders(root: Path) -> list[Path]:
    if not root.exists():
        raise ProjectError(f"The image folder {root} does not exist; check the path after "
                           f"{FOLDER_PREFIX}.")
    _refuse_special_file(root, "a folder")
    if not root.is_dir():
        hint = f" For a .npz file write {NPZ_PREFIX}{root}." if root.suffix == ".npz" else ""
        raise ProjectError(f"{root} is a file, not a folder: {FOLDER_PREFIX}PATH needs a folder "
                           f"with one subfolder of images per class.{hint}")
    try:
        folders = sorted(entry for entry in root.iterdir()
                         if entry.is_dir() and not entry.name.startswith("."))
    except OSError as error:
        raise ProjectError(f"Cannot read the folder {root}: {error.strerror or error}.") from None
    if not folders:
        raise ProjectError(f"The image folder {root} has no class subfolders. Put each class's "
                           f"images in a subfolder named after it (e.g. {root / 'cats'}, "
                           f"{root / 'dogs'}); the subfolder names become the class names.")
    return folders


def _image_files(folder: Path) -> list[Path]:
    """Image files under a class folder, nested folders included, in a stable order."""
    found = []
    for directory, subdirectories, names in os.walk(folder):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        found += [Path(directory) / name for name in sorted(names)
                  if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)]
    return found


GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def _read_image(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    """One image as float32 (H, W, 1 or 3) in [0, 1], resized to size (height, width)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.verify()  # structure and checksums; the image can't be used after this
    with Image.open(path) as image:
        image.load()  # a full decode: catches truncated pixel data that verify() misses
        image = ImageOps.exif_transpose(image)  # phone photos store their rotation in EXIF
        if image.mode in GRAY_MODES:
            image, scale = _as_gray(image)
        else:
            if image.mode in ("P", "PA"):
                image = image.convert("RGBA")  # palettes with transparency need this step
            image, scale = image.convert("RGB"), 255.0
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32) / np.float32(scale)
    pixels = np.clip(pixels, 0.0, 1.0)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def _as_gray(image):
    """A grayscale PIL image in a mode that resizes well, and the value that means white."""
    if image.mode.startswith("I"):
        return image.convert("I").convert("F"), 65535.0  # 16-bit grayscale
    if image.mode == "F":
        return image, 1.0
    return image.convert("L"), 255.0


def _describe_image_error(error: Exception) -> str:
    text = str(error).strip()
    if "cannot identify image file" in text:
        return "not a readable image (corrupt, or not really the format its extension says)"
    return f"damaged or incomplete image ({text or type(error).__name__})"


def _listing(problems: list[str]) -> str:
    lines = [f"  - {problem}" for problem in problems[:MAX_LISTED_PROBLEMS]]
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------- .npz files

def load_npz(path: Path):
    """Read arrays x (N, H, W[, C]) and y (N,) from a .npz file, never unpickling anything.

    x: integers must be 0..255 (divided by 255); floats must already be in [0, 1] (no
    min-max scaling: it would scale each file differently). y: integers >= 0, renumbered
    0..K-1 in sorted order. Optional class_names: strings indexed by the original label.
    Returns (class_names, images, labels).
    """
    archive = _open_npz(path)
    with archive:
        missing = [key for key in ("x", "y") if key not in archive.files]
        if missing:
            raise ProjectError(f"{path} has no array {' or '.join(missing)} (it has: "
                               f"{', '.join(archive.files) or 'nothing'}). Save it with "
                               "np.savez(path, x=images, y=labels).")
        x, y = _npz_array(archive, path, "x"), _npz_array(archive, path, "y")
        names = _npz_array(archive, path, "class_names") if "class_names" in archive.files \
            else None
    images = _check_npz_images(path, x)
    labels = _check_npz_labels(path, y, len(images))
    original_labels, labels = np.unique(labels, return_inverse=True)
    if len(original_labels) < 2:
        raise ProjectError(f"{path}: every label in y is {original_labels[0]}; a classifier "
                           "needs at least 2 classes.")
    class_names = _npz_class_names(path, names, original_labels)
    return class_names, images, labels.astype(np.int64)


def _open_npz(path: Path):
    import zipfile

    _refuse_special_file(path, "a .npz file")  # open() on a named pipe would wait forever
    try:
        with open(path, "rb") as stream:
            magic = stream.read(6)
    except FileNotFoundError:
        raise ProjectError(f"The file {path} does not exist; check the path after "
                           f"{NPZ_PREFIX}.") from None
    except IsADirectoryError:
        raise ProjectError(f"{path} is a folder; for a folder of images write "
                           f"{FOLDER_PREFIX}{path}.") from None
    except OSError as error:
        raise ProjectError(f"Cannot read {path}: {error.strerror or error}.") from None
    # Checked before np.load, which would otherwise report any unknown file as "pickled data".
    if magic.startswith(b"\x93NUMPY"):
        raise ProjectError(f"{path} is a single-array .npy file; the dataset needs a .npz with "
                           "arrays x and y: np.savez(path, x=images, y=labels).")
    if not magic.startswith(b"PK"):
        raise ProjectError(f"{path} is not a .npz file (NumPy's zip of arrays). Save one with "
                           "np.savez(path, x=images, y=labels).")
    try:
        return np.load(path, allow_pickle=False)  # never allow pickle: unpickling runs code
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ProjectError(f"{path} is not a readable .npz file: {error}.") from None


def _npz_array(archive, path: Path, key: str) -> np.ndarray:
    import zipfile

    try:
        return archive[key]
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise ProjectError(f"{path}: array {key!r} holds Python objects, which would have "
                               "to be unpickled, and unpickling a file can run any code, so "
                               "CNN Studio never does it. Save plain arrays instead, e.g. "
                               "np.savez(path, x=np.asarray(images, dtype=np.uint8), "
                               "y=np.asarray(labels, dtype=np.int64)).") from None
        raise ProjectError(f"{path}: cannot read array {key!r}: {error}.") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise ProjectError(f"{path}: cannot read array {key!r}: {error}.") from None


def _check_npz_images(path: Path, x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise ProjectError(f"{path}: x has dtype {x.dtype}; images must be numbers (uint8 0..255 "
                           "or floats in [0, 1]).")
    shape_ok = x.ndim == 3 or (x.ndim == 4 and x.shape[-1] in (1, 3))
    if not shape_ok or min(x.shape, default=0) == 0:
        raise ProjectError(f"{path}: x has shape {x.shape}; it must be (N, height, width) or "
                           "(N, height, width, channels) with 1 or 3 channels, and not empty.")
    if x.dtype.kind in "iu":
        low, high = int(x.min()), int(x.max())
        if low < 0 or high > 255:
            raise ProjectError(f"{path}: x holds integers from {low} to {high}; integer images "
                               "must be 0..255 (they are divided by 255). Convert to uint8, or "
                               "to floats in [0, 1].")
        return _with_channels(x)
    if x.dtype.kind == "b":
        return _with_channels(x.astype(np.float32))
    if not np.isfinite(x).all():
        raise ProjectError(f"{path}: x contains NaN or infinite values.")
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        raise ProjectError(f"{path}: x holds floats from {low:g} to {high:g}; float images must "
                           "already be in [0, 1] (e.g. divide 0..255 pixels by 255), or save "
                           "them as uint8.")
    return _with_channels(x)


def _check_npz_labels(path: Path, y: np.ndarray, count: int) -> np.ndarray:
    if y.dtype.kind not in "iu":
        raise ProjectError(f"{path}: y has dtype {y.dtype}; labels must be integers "
                           "(e.g. y.astype(np.int64)).")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # Keras-style (N, 1) labels
    if y.ndim != 1:
        raise ProjectError(f"{path}: y has shape {y.shape}; labels must be one integer per "
                           "image, shape (N,).")
    if len(y) != count:
        raise ProjectError(f"{path}: x has {count} images but y has {len(y)} labels; they must "
                           "match one to one.")
    if y.min() < 0:
        raise ProjectError(f"{path}: y contains negative labels (lowest {int(y.min())}); labels "
                           "must be 0 or more.")
    return y


def _npz_class_names(path: Path, names: np.ndarray | None, labels: np.ndarray) -> tuple[str, ...]:
    if names is None:
        return tuple(str(int(label)) for label in labels)
    if names.dtype.kind != "U" or names.ndim != 1:
        raise ProjectError(f"{path}: class_names must be a 1-D array of strings (e.g. "
                           f"np.array(['cat', 'dog'])); it has dtype {names.dtype} and shape "
                           f"{names.shape}.")
    if len(names) <= labels.max():
        raise ProjectError(f"{path}: class_names has {len(names)} names but y uses label "
                           f"{int(labels.max())}; class_names[i] names label i, so it needs "
                           f"{int(labels.max()) + 1}.")
    chosen = tuple(str(names[label]) for label in labels)
    if len(set(chosen)) != len(chosen) or not all(chosen):
        raise ProjectError(f"{path}: the class names used by y must be distinct and not empty; "
                           f"got {list(chosen)}.")
    return chosen
