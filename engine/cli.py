"""`cnn-studio` command line: check, new, templates, export, import, train, features, ...

Bad input (missing file, broken JSON, unknown template) prints one line on stderr and
exits 2; `check` exits 1 when the network has errors. Keras is imported only by the
subcommands that need it, and only after every path argument has been checked (exists, is
the right kind of file or folder, is readable), so a wrong path is refused at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import textwrap
import sys
from functools import partial
from pathlib import Path

from engine import __version__
from engine.blocks.catalog import format_shape
from engine.errors import ProjectError
from engine.graph.io import load_spec, save_spec
from engine.graph.shapes import NetworkInfo, ReceptiveField, infer
from engine.graph.spec import NetworkSpec, readable_json
from engine.graph.validate import ERROR, Diagnostic, validate
from engine.paths import input_file, input_folder, output_file, output_folder
from engine.templates import list_templates, load_template
from engine.training.backends import environment_backend, unavailable_reason
from engine.training.config import (BACKENDS, LOSSES, OPTIMIZERS, SCHEDULES, STRATEGIES, Augmentation,
                                    TrainingConfig)
from engine.training.progress import ProgressPrinter
from engine.training.runs import RunFolder, default_runs_root, list_runs
from engine.training.session import run_training

EXIT_OK, EXIT_GRAPH_ERRORS, EXIT_BAD_INPUT = 0, 1, 2
# Checks of path arguments (see _add_path): each raises ProjectError with one line.
READ_PROJECT = partial(input_file, what="project file")
WRITE_PROJECT = partial(output_file, what="project file")
READ_RUN = partial(input_folder, what="run folder")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        _check_paths(args)
        return args.handler(args)
    except ProjectError as error:
        print(f"cnn-studio: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnn-studio", description=(
        "Build convolutional networks from blocks, check their shapes, export them to Keras."))
    parser.add_argument("--version", action="version", version=f"cnn-studio {__version__}")
    parser.set_defaults(command=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="shapes, parameters, MACs and problems of a network")
    _add_source(check)
    check.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    check.set_defaults(handler=_check)

    new = commands.add_parser("new", help="write a template out as a project file")
    new.add_argument("--template", required=True, metavar="NAME")
    _add_path(new, "-o", "--output", check=WRITE_PROJECT, required=True, metavar="PROJECT.json")
    new.set_defaults(handler=_new)

    templates = commands.add_parser("templates", help="list the built-in networks")
    templates.set_defaults(handler=_templates)

    export = commands.add_parser("export", help="export a network as a .keras model, a Python "
                                 "script, ONNX, a TensorFlow SavedModel or TFLite")
    _add_source(export, runs=True)
    target = export.add_mutually_exclusive_group(required=True)
    _add_path(export, "--keras", group=target, check=partial(output_file, what=".keras file"),
              metavar="OUT.keras", help="the built model, Keras format")
    _add_path(export, "--python", group=target, check=partial(output_file, what="Python file"),
              metavar="OUT.py", help="a standalone Keras script rebuilding it")
    _add_path(export, "--onnx", group=target, check=partial(output_file, what=".onnx file"),
              metavar="OUT.onnx", help="ONNX, for onnxruntime (needs tf2onnx and onnxruntime)")
    _add_path(export, "--saved-model", group=target, check=partial(
              output_folder, what="SavedModel folder", marker="saved_model.pb"),
              metavar="DIR", help="a TensorFlow SavedModel folder, for TF Serving")
    _add_path(export, "--tflite", group=target, check=partial(output_file, what=".tflite file"),
              metavar="OUT.tflite", help="TFLite (LiteRT), for phones and small devices")
    export.set_defaults(handler=_export)

    train = commands.add_parser("train", help="train a network on a dataset (a run folder is saved)")
    _add_source(train)
    _add_path(train, "--dataset", check=_dataset_path, required=True, help="digits, faces, shapes, "
              "mnist, fashion_mnist, cifar10, folder:PATH or npz:PATH (see `datasets`)")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    train.add_argument("--lr", type=float, default=None, help="learning rate (default: 0.001 for "
                       "adam/rmsprop, 0.01 for sgd)")
    train.add_argument("--schedule", default="constant", choices=SCHEDULES)
    train.add_argument("--loss", default="crossentropy", choices=LOSSES)
    train.add_argument("--augment", action="store_true", help="random shifts, rotations and zooms")
    train.add_argument("--early-stopping", action="store_true")
    train.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (fast on GPUs)")
    train.add_argument("--strategy", default="default", choices=STRATEGIES,
                       help="mirrored: all visible GPUs (TensorFlow)")
    train.add_argument("--backend", default=None, choices=BACKENDS, help="the Keras backend "
                       "(default: KERAS_BACKEND if set, else tensorflow); jax needs "
                       "pip install \"cnn-studio[jax]\"")
    train.add_argument("--max-samples", type=int, default=None, help="use at most this many images")
    train.add_argument("--seed", type=int, default=0)
    _add_path(train, "--weights", check=_weights_path, metavar="PATH", help="fine-tune: start "
              "from the weights of a .keras file or a run folder (an imported run too), layer by "
              "layer where names and shapes match; changed layers start fresh")
    _add_path(train, "--out", check=_runs_folder, metavar="DIR", help="where run folders go "
              "(default: runs/ beside the project, or here)")
    train.set_defaults(handler=_train)

    resume = commands.add_parser("resume", help="continue a stopped or crashed run")
    _add_path(resume, "run_dir", check=READ_RUN, metavar="RUN_DIR")
    resume.set_defaults(handler=_resume)

    runs = commands.add_parser("runs", help="table of the runs in a folder")
    _add_path(runs, "folder", check=_runs_folder, nargs="?", default="runs", metavar="DIR")
    runs.set_defaults(handler=_runs)

    datasets = commands.add_parser("datasets", help="list datasets and whether each works offline")
    datasets.set_defaults(handler=_datasets)

    features = commands.add_parser("features", help="hand-crafted baselines, linear probes and "
                                   "kernel matches of a finished run")
    _add_path(features, "run_dir", check=READ_RUN, metavar="RUN_DIR")
    features.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    features.set_defaults(handler=_features)

    imported = commands.add_parser("import", help="turn a .keras model into a project file")
    _add_path(imported, "model", check=partial(input_file, what=".keras model"),
              metavar="MODEL.keras")
    _add_path(imported, "-o", "--output", check=WRITE_PROJECT, required=True, metavar="PROJECT.json")
    imported.add_argument("--json", action="store_true", help="print one JSON object: ok, blocks "
                          "and params, or the error and every layer that cannot be imported")
    imported.set_defaults(handler=_import)
    return parser


def _add_source(parser: argparse.ArgumentParser, runs: bool = False) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--template", metavar="NAME", help="a built-in network (see `templates`)")
    _add_path(parser, "project", group=source, check=READ_PROJECT, nargs="?", metavar="PROJECT.json",
              help="a project file")
    if runs:
        _add_path(parser, "--run", group=source, check=_trained_run, metavar="RUN_DIR",
                  help="a finished run folder: its trained model")


# -- path arguments: checked in main() before any command runs ---------------------------------

def _add_path(parser: argparse.ArgumentParser, *flags: str, check, group=None, **options) -> None:
    """An argument naming a path; `check(value)` raises ProjectError for a bad one. (argparse's
    own type= errors would print the usage too; a bad path is one line.)"""
    action = (group or parser).add_argument(*flags, **options)
    checks = parser.get_default("path_checks") or []
    parser.set_defaults(path_checks=[*checks, (action.dest, check)])


def _check_paths(args: argparse.Namespace) -> None:
    for dest, check in getattr(args, "path_checks", None) or []:
        value = getattr(args, dest, None)
        if value is not None:
            check(value)


def _runs_folder(path: str) -> None:
    """A folder of run folders: need not exist yet (it is created), but if it does, a folder."""
    if os.path.lexists(path):
        input_folder(path, "folder")


def _trained_run(path: str) -> None:
    input_folder(path, "run folder")
    if not (Path(path) / "model.keras").is_file():
        raise ProjectError(f"{path} holds no trained model (model.keras): pick a run folder "
                           "that finished at least one epoch (see `cnn-studio runs`).")


def _weights_path(path: str) -> None:
    from engine.weights import weight_source  # stat() and run.json only; Keras loads later

    weight_source(path)


def _dataset_path(name: str) -> None:
    from engine.datasets import check_dataset_path  # NumPy only; Keras loads on first use

    check_dataset_path(name)


def _load_source(args: argparse.Namespace) -> NetworkSpec:
    return load_template(args.template) if args.template else load_spec(args.project)


# -- check ----------------------------------------------------------------------------------

def _check(args: argparse.Namespace) -> int:
    spec = _load_source(args)
    info = infer(spec)
    diagnostics = validate(spec, info)
    valid = not any(d.severity == ERROR for d in diagnostics)
    if args.json:
        print(readable_json(check_report(spec, info, diagnostics)), end="")
    else:
        print(_check_table(spec, info, diagnostics))
    return EXIT_OK if valid else EXIT_GRAPH_ERRORS


def check_report(spec: NetworkSpec, info: NetworkInfo, diagnostics: list[Diagnostic]) -> dict:
    input_size = _input_size(spec, info)
    return {
        "valid": not any(d.severity == ERROR for d in diagnostics),
        "diagnostics": [{"node_id": d.node_id, "severity": d.severity, "message": d.message}
                        for d in diagnostics],
        "nodes": [{
            "id": node.id, "name": node.name, "type": node.type,
            "output_shape": _shape_list(info.nodes[node.id].output_shape),
            "params": info.nodes[node.id].params,
            "macs": info.nodes[node.id].macs,
            "receptive_field": _rf_dict(info.nodes[node.id].receptive_field, input_size),
        } for node in _ordered_nodes(spec, info)],
        "total_params": info.total_params,
        "total_macs": info.total_macs,
    }


def _ordered_nodes(spec: NetworkSpec, info: NetworkInfo):
    rank = {node_id: index for index, node_id in enumerate(info.order)}
    return sorted(spec.nodes, key=lambda node: rank.get(node.id, len(rank)))


def _shape_list(shape) -> list | None:
    return None if shape is None else list(shape)


def _input_size(spec: NetworkSpec, info: NetworkInfo) -> tuple | None:
    for node in spec.nodes:
        if node.type == "InputLayer":
            return tuple(node.params["shape"][:2])
    return None


def _rf_dict(rf: ReceptiveField | None, input_size: tuple | None) -> dict | None:
    if rf is None:
        return None
    size = list(input_size) if rf.whole_input and input_size else list(rf.size)
    return {"size": size, "stride": list(rf.stride), "whole_input": rf.whole_input}


def _rf_text(rf: ReceptiveField | None, input_size: tuple | None) -> str:
    if rf is None:
        return "?"
    if rf.whole_input:
        return "whole input"
    stride = rf.stride[0] if rf.stride[0] == rf.stride[1] else f"{rf.stride[0]}x{rf.stride[1]}"
    return f"{rf.size[0]}x{rf.size[1]} (stride {stride})"


def _check_table(spec: NetworkSpec, info: NetworkInfo, diagnostics: list[Diagnostic]) -> str:
    input_size = _input_size(spec, info)
    rows = [("name", "type", "output", "params", "MACs", "receptive field")]
    for node in _ordered_nodes(spec, info):
        node_info = info.nodes[node.id]
        known = node_info.output_shape is not None
        rows.append((node.name, node.type, format_shape(node_info.output_shape),
                     f"{node_info.params:,}" if known else "?",
                     "?" if node_info.macs is None else f"{node_info.macs:,}",
                     _rf_text(node_info.receptive_field, input_size)))
    lines = [f"{spec.name}: {len(spec.nodes)} blocks", _table(rows, right_aligned={3, 4})]
    errors = sum(d.severity == ERROR for d in diagnostics)
    if info.total_macs is not None:
        macs = f"{info.total_macs:,}"
    else:
        macs = "unknown until the errors are fixed" if errors else "depends on the input size"
    lines += ["", f"Parameters: {info.total_params:,} ({info.trainable_params:,} trainable, "
                  f"{info.non_trainable_params:,} non-trainable), {info.weight_bytes / 1024:,.1f} KiB "
                  "of float32 weights" + ("; blocks with unknown shapes not counted"
                                          if any(n.output_shape is None for n in info.nodes.values())
                                          else ""),
              f"MACs per sample: {macs}"]
    lines.append(f"Problems: {errors} error(s), {len(diagnostics) - errors} warning(s)")
    for d in diagnostics:  # messages name their block already
        fix = f" (fix: {d.fix_label})" if d.fix_label else ""
        lines.append(f"  {d.severity}: {d.message}{fix}")
    return "\n".join(lines)


# -- other commands ---------------------------------------------------------------------------

def _new(args: argparse.Namespace) -> int:
    save_spec(load_template(args.template), Path(args.output))
    print(f"Wrote {args.output}")
    return EXIT_OK


def _templates(args: argparse.Namespace) -> int:
    for template in list_templates():
        description = textwrap.fill(template.description, width=96, initial_indent=" " * 4,
                                    subsequent_indent=" " * 4)
        print(f"{template.key} ({template.title})\n{description}\n")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from engine import export

    if args.run:  # the trained model, in any format (by the target's flag)
        target = next(value for value in (args.keras, args.python, *(
            getattr(args, key) for key in export.MODEL_FORMATS)) if value)
        format = next((key for key in export.MODEL_FORMATS if getattr(args, key)), None)
        export.export_trained(Path(args.run), Path(target), format=format)
        print(f"Wrote {target} (trained model of {Path(args.run).name})")
        return EXIT_OK
    spec = _load_source(args)
    if args.keras:
        export.export_keras(spec, Path(args.keras))
        print(f"Wrote {args.keras}")
    elif args.python:
        export.export_python(spec, Path(args.python))
        print(f"Wrote {args.python}")
    else:
        # --onnx, --saved-model, --tflite: their dests are the keys of MODEL_FORMATS
        format, path = next((key, getattr(args, key)) for key in export.MODEL_FORMATS
                            if getattr(args, key))
        export.export_format(spec, Path(path), format)
        print(f"Wrote {path} ({export.MODEL_FORMATS[format].title})")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    """A refusal is its summary line, then one indented line per layer (--json: all in one
    object, {"ok": false, "error", "layers": [{"name", "type", "reason"}]})."""
    _quiet_tensorflow()
    from engine.importer import import_keras_file

    try:
        spec = import_keras_file(Path(args.model))
        save_spec(spec, Path(args.output))
    except ProjectError as error:
        if args.json:
            print(readable_json({"ok": False, "error": str(error), "layers": list(error.details)}),
                  end="")
        elif error.details:
            details = [f"  {d['name']} ({d['type']}): {d['reason']}" for d in error.details]
            print("\n".join([f"cnn-studio: {_one_line(str(error))}", *details]), file=sys.stderr)
        else:
            raise  # main() prints it: one line
        return EXIT_BAD_INPUT
    info = infer(spec)
    if args.json:
        print(readable_json({"ok": True, "output": str(args.output), "name": spec.name,
                             "blocks": len(spec.nodes), "groups": len(spec.groups),
                             "params": info.total_params}), end="")
    else:
        print(f"Wrote {args.output}: {len(spec.nodes)} blocks, {info.total_params:,} parameters")
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    backend = _use_backend(args.backend)  # before anything loads Keras (and TensorFlow)
    spec = _load_source(args)
    default_rate = 0.01 if args.optimizer.startswith("sgd") else 0.001
    config = TrainingConfig(
        dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, learning_rate=args.lr or default_rate, schedule=args.schedule,
        loss=args.loss, early_stopping=args.early_stopping, mixed_precision=args.mixed_precision,
        strategy=args.strategy, backend=backend, max_samples=args.max_samples, seed=args.seed,
        augmentation=Augmentation.default_on() if args.augment else Augmentation(),
        initial_weights=str(Path(args.weights).resolve()) if args.weights else None)
    runs_root = Path(args.out) if args.out else default_runs_root(None if args.template else args.project)
    return _train_with_progress(lambda **hooks: run_training(spec, config, runs_root=runs_root, **hooks))


def _use_backend(asked: str | None) -> str:
    """Make `asked` (None: KERAS_BACKEND's, else TensorFlow) the backend Keras loads with;
    ProjectError (one line, exit 2) when it is not installed, or when Keras is already loaded
    here with another backend."""
    backend = asked or environment_backend()
    reason = unavailable_reason(backend)
    if reason is not None:
        raise ProjectError(reason)
    keras = sys.modules.get("keras")
    if keras is None:
        os.environ["KERAS_BACKEND"] = backend
    elif keras.backend.backend() != backend:
        raise ProjectError(f"Keras is already loaded in this process with the "
                           f"{keras.backend.backend()} backend; run `cnn-studio train --backend "
                           f"{backend}` in a new process.")
    return backend


def _resume(args: argparse.Namespace) -> int:
    folder = RunFolder(Path(args.run_dir))
    spec, config = folder.spec(), folder.config()
    _use_backend(config.backend)  # a run continues on the backend it started with
    return _train_with_progress(lambda **hooks: run_training(spec, config, resume_dir=folder.path, **hooks))


def _train_with_progress(start) -> int:
    """Run with a progress display; Ctrl-C stops cleanly after the current batch."""
    _quiet_tensorflow()
    progress = ProgressPrinter(sys.stdout)
    stop_requested = []

    def on_interrupt(signum, frame):
        if stop_requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        stop_requested.append(True)
        print("\nStopping after this batch (Ctrl-C again to abort)...", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = start(emit=progress.show, should_stop=lambda: bool(stop_requested))
    finally:
        signal.signal(signal.SIGINT, previous)
    if result["type"] == "failed":
        print(f"cnn-studio: {_one_line(result['message'])}", file=sys.stderr)
        return EXIT_GRAPH_ERRORS
    return EXIT_OK


def _runs(args: argparse.Namespace) -> int:
    runs = list_runs(Path(args.folder))
    if not runs:
        print(f"No runs in {args.folder}.")
        return EXIT_OK
    rows = [("run", "status", "dataset", "epochs", "best val acc", "test acc", "time")]
    for run in runs:
        rows.append((run.path.name, run.status, run.dataset, f"{run.epochs_completed}/{run.epochs_planned}",
                     _percent(run.best_val_accuracy), _percent(run.test_accuracy),
                     "-" if run.training_time is None else f"{run.training_time:.1f} s"))
    print(_table(rows, right_aligned={3, 4, 5, 6}))
    return EXIT_OK


def _datasets(args: argparse.Namespace) -> int:
    from engine.datasets import list_datasets

    rows = [("dataset", "offline", "description")]
    for entry in list_datasets():
        offline = "yes" if entry.offline else "download needed"
        rows.append((entry.name, offline, entry.description))
    rows += [("folder:PATH", "yes", "your images, one subfolder per class"),
             ("npz:PATH", "yes", "arrays x (N, H, W[, C]) and y (N) in a .npz file")]
    print(_table(rows))
    return EXIT_OK


def _features(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    from engine.features import compare_run

    report = compare_run(args.run_dir)
    if args.json:
        print(readable_json(report), end="")
        return EXIT_OK
    rows = [("classifier", "features", "test acc", "time")]
    for row in report["baselines"]:
        rows.append((row["name"], f"{row['feature_count']:,}", _percent(row["test_accuracy"]),
                     f"{row['train_time']:.1f} s"))
    cnn = report["cnn"]
    rows.append(("this CNN (trained end to end)", "-", _percent(cnn["test_accuracy"]),
                 "-" if cnn["training_time"] is None else f"{cnn['training_time']:.1f} s"))
    lines = [_table(rows, right_aligned={1, 2, 3}), "", "Linear probes (logistic regression on each "
             "layer's activations):"]
    probes = [("depth", "layer", "type", "features", "test acc")]
    probes += [(p["depth"], p["layer"], p["type"], f"{p['feature_count']:,}", _percent(p["accuracy"]))
               for p in report["probes"]]
    lines.append(_table(probes, right_aligned={0, 3, 4}))
    if report["kernel_matches"]:
        lines += ["", f"Nearest hand-crafted filter of each {report['kernel_layer']} kernel:"]
        matches = [("kernel", "nearest filter", "similarity")]
        matches += [(m["kernel"], m["filter"], f"{m['similarity']:.2f}") for m in report["kernel_matches"]]
        lines.append(_table(matches, right_aligned={0, 2}))
    print("\n".join(lines))
    return EXIT_OK


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _table(rows: list[tuple], right_aligned: set[int] = frozenset()) -> str:
    widths = [max(len(str(row[col])) for row in rows) for col in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [str(cell).rjust(width) if col in right_aligned else str(cell).ljust(width)
                 for col, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return " ".join(lines) if len(lines) <= 1 else lines[0] + " " + "; ".join(lines[1:])


if __name__ == "__main__":
    sys.exit(main())
