"""The engine's tasks: what an app (or a script) can ask a warm worker to do, by name.

Each task is one function registered with `@task("name")`; its keyword parameters are the
job's arguments, checked against the signature before a job is sent (`plain_arguments`).
A task's first parameter is the job's `JobContext`: progress, training events, stop and
pause. Keras is imported inside the functions only, so this module stays cheap to import in
the GUI process, which uses the registry to check arguments.
"""

from __future__ import annotations

import inspect
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

from engine.errors import ImportRefused, ProjectError
from engine.graph.spec import NetworkSpec

# Arguments that are file or folder paths: sent as strings.
PATH_ARGUMENTS = {"path", "run_dir", "runs_root"}


class JobContext:
    """What a running task can tell the app, and ask of it."""

    def __init__(self, send_progress: Callable[[str, float | None], None] | None = None,
                 send_event: Callable[[dict], None] | None = None):
        self._send_progress = send_progress or (lambda message, fraction: None)
        self._send_event = send_event or (lambda event: None)
        self.stop_requested = threading.Event()
        self.pause_requested = threading.Event()
        self.cancel_requested = threading.Event()

    def progress(self, message: str, fraction: float | None = None) -> None:
        self._send_progress(message, fraction)

    def emit(self, event: dict) -> None:
        self._send_event(event)

    def should_stop(self) -> bool:
        return self.stop_requested.is_set() or self.cancel_requested.is_set()

    def should_pause(self) -> bool:
        return self.pause_requested.is_set()


@dataclass(frozen=True)
class Task:
    name: str
    run: Callable[..., Any]
    parameters: tuple[str, ...]
    required: frozenset[str]
    worker: str                      # who runs it: the warm "training" or "inspection" worker,
                                     # or "here": a thread of the calling process (no Keras)


TASKS: dict[str, Task] = {}


def task(name: str, worker: str = "inspection"):
    """Register `function(context, **arguments)` as the task `name`."""
    def register(function):
        parameters = list(inspect.signature(function).parameters.values())[1:]
        TASKS[name] = Task(name, function, tuple(p.name for p in parameters),
                           frozenset(p.name for p in parameters if p.default is inspect.Parameter.empty),
                           worker)
        return function
    return register


def plain_arguments(kind: str, arguments: dict) -> dict:
    """Check a job's arguments against its task and make them plain data (a spec becomes its
    dict, paths strings)."""
    if kind not in TASKS:
        raise ValueError(f"Unknown task {kind!r}; expected one of {', '.join(sorted(TASKS))}.")
    known = TASKS[kind]
    names = set(arguments)
    if not known.required <= names or not names <= set(known.parameters):
        raise TypeError(f"{kind} takes {', '.join(known.parameters) or 'nothing'}; got "
                        f"{', '.join(sorted(names)) or 'nothing'}.")
    plain = {}
    for name, value in arguments.items():
        if isinstance(value, NetworkSpec):
            plain[name] = value.to_dict()
        elif name in PATH_ARGUMENTS and value is not None:
            plain[name] = str(Path(value))
        else:
            plain[name] = value  # plain data: numbers, strings, lists, dicts, NumPy arrays
    return plain


def run_task(kind: str, context: JobContext | None = None, **arguments) -> Any:
    """Run a task here, in this process (the worker's side, and tests)."""
    known = TASKS[kind]
    return known.run(context or JobContext(), **plain_arguments(kind, arguments))


def _spec(value) -> NetworkSpec:
    return value if isinstance(value, NetworkSpec) else NetworkSpec.from_dict(value)


def _existing_run(run_dir: str) -> str:
    """A run folder that still exists, or a message naming the one that went away."""
    if not Path(run_dir).is_dir():
        raise ProjectError(f"The run folder {run_dir} no longer exists (it was deleted or "
                           "moved): pick another run in the Runs list.")
    return run_dir


# -- warming up -------------------------------------------------------------------------------

def warm_up(role: str) -> str:
    """Import what the worker's tasks need now, so the first job answers quickly. Returns
    the Keras backend's name."""
    from engine.native_log import native_log_filter

    with native_log_filter():
        import keras

        from engine.training.devices import list_devices

        list_devices()
    import engine.export  # noqa: F401
    import engine.inspection  # noqa: F401
    import engine.layers  # noqa: F401
    if role == "training":
        import engine.training.fit  # noqa: F401
        from engine.datasets import warm_up_builtin

        warm_up_builtin()
        _warm_up_fit(keras)
    return keras.backend.backend()


def _warm_up_fit(keras) -> None:
    """One step of a tiny fit: the backend's first compiled function costs a second or more
    that every later run then skips."""
    import numpy as np

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3)(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(np.zeros((4, 8, 8, 1), "float32"), np.zeros(4, "int64"), epochs=1, verbose=0,
              validation_data=(np.zeros((2, 8, 8, 1), "float32"), np.zeros(2, "int64")))
    keras.backend.clear_session()


# -- training ---------------------------------------------------------------------------------

def _train_in_context(context: JobContext, **options) -> dict:
    from engine.training.session import run_training

    import keras

    keras.backend.clear_session()  # a fresh graph per run: nothing leaks from the last one
    return run_training(emit=context.emit, should_stop=context.should_stop,
                        should_pause=context.should_pause, **options)


@task("train", worker="training")
def train(context: JobContext, spec: dict, config: dict, runs_root: str, name: str | None = None) -> dict:
    from engine.training.config import TrainingConfig

    if context.should_stop():  # stopped while waiting for the worker: nothing was done
        return _stopped_before_start(context, None)
    return _train_in_context(context, spec=_spec(spec), config=TrainingConfig.from_dict(config),
                             runs_root=runs_root, name=name)


@task("resume", worker="training")
def resume(context: JobContext, run_dir: str) -> dict:
    from engine.training import events
    from engine.training.runs import RunFolder

    if context.should_stop():
        return _stopped_before_start(context, run_dir)
    folder = RunFolder(Path(run_dir))
    try:
        spec, config = folder.spec(), folder.config()
    except (ProjectError, OSError, ValueError) as error:
        event = events.make_event(events.FAILED, 0.0, epochs_completed=0, run_dir=None,
                                  message=f"Cannot resume {folder.path}: {error}")
        context.emit(event)
        return event
    return _train_in_context(context, spec=spec, config=config, resume_dir=folder.path)


def _stopped_before_start(context: JobContext, run_dir: str | None) -> dict:
    from engine.training import events

    event = events.make_event(events.STOPPED, 0.0, epochs_completed=0, resume_epoch=0,
                              run_dir=run_dir, resumable=False,
                              message="Stopped before training began.")
    context.emit(event)
    return event


# -- export and import ------------------------------------------------------------------------

def _written(context: JobContext, write: Callable, *arguments, path: str) -> str:
    """Run an export; a job cancelled meanwhile leaves the file as it was (no rename)."""
    write(*arguments, path, abandon=context.cancel_requested.is_set)
    return path


@task("export_keras")
def export_keras(context: JobContext, spec: dict, path: str) -> str:
    from engine import export

    return _written(context, export.export_keras, _spec(spec), path=path)


@task("export_python")
def export_python(context: JobContext, spec: dict, path: str) -> str:
    from engine import export

    return _written(context, export.export_python, _spec(spec), path=path)


@task("export_format")
def export_format(context: JobContext, spec: dict, path: str, format: str) -> str:
    """ONNX, SavedModel or TFLite (a key of engine.export.MODEL_FORMATS)."""
    from engine import export

    return _written(context, partial(export.export_format, format=format), _spec(spec), path=path)


@task("export_run")
def export_run(context: JobContext, run_dir: str, path: str, format: str | None = None) -> str:
    """A run's trained model: `.keras`, a script with its weights beside it, or one of
    engine.export.MODEL_FORMATS."""
    from engine import export

    return _written(context, partial(export.export_trained, format=format), _existing_run(run_dir),
                    path=path)


@task("import_keras")
def import_keras(context: JobContext, path: str) -> dict:
    from engine.importer import import_keras_file

    with _refusal_in_full():
        return import_keras_file(path).to_dict()


@task("import_keras_run")
def import_keras_run(context: JobContext, path: str, runs_root: str, dataset: str | None = None) -> dict:
    """The network of a .keras file and, when it has weights, an imported run holding them
    under runs_root (engine.training.imported): {"spec", "run_dir" (or None), "message"}."""
    from engine.training.imported import import_keras_run as import_run

    with _refusal_in_full():
        return import_run(path, runs_root, dataset=dataset).to_dict()


@contextmanager
def _refusal_in_full():
    """A refused import travels as one text: its summary line, then one indented line per
    layer (the window shows the summary, and the rest as the message box's details)."""
    try:
        yield
    except ImportRefused as refused:
        raise ProjectError(refused.report()) from None


@task("build_templates")
def build_templates(context: JobContext) -> list:
    """[(template, Keras' parameter count, the editor's)] for every template (the self-test)."""
    from engine.build import build_model
    from engine.graph.shapes import infer
    from engine.templates import load_template, template_keys

    rows = []
    for key in template_keys():
        spec = load_template(key)
        rows.append((key, build_model(spec).count_params(), infer(spec).total_params))
    return rows


# -- in the app's own process (Keras-free) ----------------------------------------------------

@task("dataset_preview", worker="here")
def dataset_preview(context: JobContext, name: str, options: dict):
    """The Train panel's look at a dataset: it must show in the first second, before the
    workers are warm, and needs no Keras."""
    import scipy.ndimage  # noqa: F401 - imported here, off the GUI thread, for augmentation

    from engine.dataset_preview import load_preview

    return load_preview(name, options)


# -- the Features lab -------------------------------------------------------------------------

@task("lab_run_images")
def lab_run_images(context: JobContext, run_dir: str, split: str = "test", count: int = 16) -> dict:
    from engine import inspection

    run_dir = _existing_run(run_dir)
    try:
        result = dict(inspection.run_images(run_dir, split=split, count=count))
    except ProjectError as error:
        if not _is_imported(run_dir):
            raise
        # An imported model's dataset is a guess; when it cannot be shown, photos still can.
        result = inspection.no_run_images(run_dir, reason=str(error))
    result["photos"] = inspection.sample_photos(tuple(result["images"].shape[1:]))
    result["layers"] = inspection.layer_names(run_dir)
    return result


def _is_imported(run_dir: str) -> bool:
    from engine.training.runs import IMPORTED, RunFolder

    try:
        return RunFolder(Path(run_dir)).status().get("status") == IMPORTED
    except ProjectError:
        return False


@task("lab_feature_maps")
def lab_feature_maps(context: JobContext, run_dir: str, layer_name: str, image) -> Any:
    from engine import inspection

    return inspection.feature_maps(_existing_run(run_dir), layer_name, image)


@task("lab_excite")
def lab_excite(context: JobContext, run_dir: str, layer_name: str, filters: list, image,
               class_index: int | None = None) -> dict:
    from engine import inspection

    run_dir = _existing_run(run_dir)
    context.progress("Growing the patterns that excite each filter…", 0.0)
    patterns = inspection.activation_maximization(run_dir, layer_name, filters)
    context.progress("Grad-CAM…", 0.9)
    return {"patterns": patterns,
            "gradcam": inspection.gradcam(run_dir, image, class_index=class_index)}


@task("lab_histograms")
def lab_histograms(context: JobContext, run_dir: str) -> list:
    from engine import inspection

    return inspection.weight_histograms(_existing_run(run_dir))


@task("lab_compare")
def lab_compare(context: JobContext, run_dir: str) -> dict:
    from engine.features import compare_run

    return compare_run(_existing_run(run_dir), progress=context.progress)


@task("lab_shift")
def lab_shift(context: JobContext, run_dir: str, image, max_shift: int = 6) -> dict:
    from engine import inspection

    return inspection.shift_experiment(_existing_run(run_dir), image, max_shift=max_shift)


@task("lab_embedding")
def lab_embedding(context: JobContext, run_dir: str) -> dict:
    from engine import inspection

    return inspection.embedding(_existing_run(run_dir))
