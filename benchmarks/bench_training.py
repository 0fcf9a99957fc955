"""How fast does run_training train, next to a plain model.fit of the same model and data?

run_training adds events, a batch hook (stop/pause, live loss), a checkpoint, kernel
snapshots and gradient norms after every epoch, and TensorBoard logs. The yardstick is
model.fit on the same network (build_model), the same arrays (training_splits,
exactly as the Trainer gets them), the same optimizer, loss, metric and batch
size, with one callback that only reads a clock at each epoch's start and end.

Throughput is steady state: samples per second from the wall-clock time between consecutive
epoch ends (for run_training the `time` of consecutive epoch_ended events), so everything done
per epoch counts, end-of-epoch work included; the first epoch (tracing) is left out. The
median over the remaining epochs of all repeats is reported; the runs alternate
(plain, ours, ours, plain, ...) so drift hits both sides alike.

Goals (issue 15): ours / plain `fit` with its defaults >= 1.3 on each row, with the final
validation accuracy within 1 point; ours >= 0.95 of the best "expert" plain fit, the fastest of
steps_per_execution in {1, 8, 32, 64} x jit_compile off/on measured in the same run (--expert).
Rows: LeNet-5 and ResNet-mini on digits, and LeNet-5 (3-channel input) on 24,000 generated
shapes at 32x32x3 (real volume: 525 batches an epoch).

    .venv/bin/python benchmarks/bench_training.py            # the table (~2-3 min on 2 cores)
    .venv/bin/python benchmarks/bench_training.py --quick    # smoke test (~25 s; noisy numbers)
    .venv/bin/python benchmarks/bench_training.py --breakdown  # always time the per-epoch pieces
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # TensorFlow's start-up chatter hides the table


def _import_keras_quietly():
    """TensorFlow 2.21 logs a few lines through absl before TF_CPP_MIN_LOG_LEVEL applies:
    hide stderr while it loads (errors still raise)."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return keras


keras = _import_keras_quietly()
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes from evaluate()

from engine.build import build_model  # noqa: E402
from engine.datasets import DatasetSplits  # noqa: E402
from engine.training.data import training_splits  # noqa: E402
from engine.graph.spec import NetworkSpec  # noqa: E402
from engine.templates import load_template  # noqa: E402
from engine.training.config import TrainingConfig  # noqa: E402
from engine.training.session import run_training  # noqa: E402

GOAL = 1.3
EXPERT_GOAL = 0.95
ACCURACY_POINTS = 1.0
DATASET = "digits"
BATCH_SIZE = 32
SEED = 0
SHAPES_IMAGES = 24_000
# row: (template, dataset, epochs, epochs with --quick)
MODELS = {"lenet5": ("lenet5", DATASET, 12, 4), "resnet-mini": ("resnet-mini", DATASET, 5, 3),
          "lenet5-shapes": ("lenet5", "shapes24k", 4, 2)}
EXPERT_STEPS = (1, 8, 32, 64)
EXPERT_EPOCHS = 3
PROBE = 32  # samples the gradient-norm probe uses (as in Trainer.fit)


# -- data and models, as the Trainer makes them ------------------------------------------------
def training_data(spec: NetworkSpec, config: TrainingConfig) -> DatasetSplits:
    """What the Trainer trains on for this spec and config."""
    return training_splits(spec, config)


def compiled_model(spec: NetworkSpec, config: TrainingConfig, **compile_options):
    """build_model + the Trainer's defaults: Adam, sparse crossentropy on softmax outputs;
    `compile_options` are an expert's (steps_per_execution, jit_compile), else Keras'."""
    keras.utils.set_random_seed(config.seed)
    model = build_model(spec, name="network")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                  **compile_options)
    return model


def shapes_volume(work: Path) -> str:
    """24,000 generated shapes as 32x32x3 (the gray drawing in every channel), an npz dataset."""
    from engine.shapes_dataset import class_counts, generate_shapes

    images, labels = generate_shapes(class_counts(SHAPES_IMAGES), seed=SEED)
    path = work / "shapes24k.npz"
    np.savez(path, x=np.repeat(images, 3, axis=-1), y=labels)
    return f"npz:{path}"


def row_spec(template: str, dataset: str) -> NetworkSpec:
    """The template, given a 3-channel input and one output per class for the shapes row."""
    spec = load_template(template)
    if dataset == DATASET:
        return spec
    from engine.graph.edits import SetParams
    from engine.graph.validate import output_node_id
    from engine.shapes_dataset import SHAPE_CLASSES

    source = next(node for node in spec.nodes if node.type == "InputLayer")
    shape = list(source.params["shape"][:2]) + [3]
    spec = SetParams(source.id, {"shape": shape}).apply(spec)
    return SetParams(output_node_id(spec), {"units": len(SHAPE_CLASSES)}).apply(spec)


def fresh_start(seed: int = SEED) -> None:
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)


# -- one measured run ---------------------------------------------------------------------------
@dataclass
class RunTimes:
    samples: int                 # training images per epoch
    epoch_ends: list[float]      # seconds, any origin: one per epoch
    in_epoch: list[float]        # epoch begin -> epoch end, per epoch (no end-of-epoch work)
    fit_span: float              # fit start -> last epoch end
    wall: float                  # the whole call (data, build, fit, and for ours: evaluate, save)
    val_accuracy: float = 0.0    # after the last epoch

    @property
    def steady_intervals(self) -> list[float]:
        """Epoch end to epoch end, epochs 2..N (all per-epoch work included)."""
        return [b - a for a, b in zip(self.epoch_ends, self.epoch_ends[1:])]

    @property
    def steady_in_epoch(self) -> list[float]:
        return self.in_epoch[1:]


class EpochClock(keras.callbacks.Callback):
    """The baseline's only callback: a clock read at each epoch's start and end."""

    def __init__(self):
        super().__init__()
        self.begins: list[float] = []
        self.ends: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.begins.append(time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def run_plain(spec: NetworkSpec, config: TrainingConfig, **compile_options) -> RunTimes:
    fresh_start(config.seed)
    start = time.perf_counter()
    data = training_data(spec, config)
    model = compiled_model(spec, config, **compile_options)
    clock = EpochClock()
    fit_start = time.perf_counter()
    history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                        batch_size=min(config.batch_size, len(data.x_train)), epochs=config.epochs,
                        shuffle=True, verbose=0, callbacks=[clock])
    wall = time.perf_counter() - start
    return RunTimes(samples=len(data.x_train), epoch_ends=clock.ends,
                    in_epoch=[e - b for b, e in zip(clock.begins, clock.ends)],
                    fit_span=clock.ends[-1] - fit_start, wall=wall,
                    val_accuracy=history.history["val_accuracy"][-1])


def run_ours(spec: NetworkSpec, config: TrainingConfig, runs_root: Path) -> RunTimes:
    fresh_start(config.seed)
    collected: list[dict] = []
    start = time.perf_counter()
    result = run_training(spec, config, emit=collected.append, runs_root=runs_root)
    wall = time.perf_counter() - start
    if result["type"] != "finished":
        raise SystemExit(f"run_training did not finish: {result}")
    started = next(e for e in collected if e["type"] == "started")
    epochs = [e for e in collected if e["type"] == "epoch_ended"]
    print(f"    ours chose: {started['speed']['steps_per_execution']} steps per execution "
          f"({started['speed']['why']})", flush=True)
    return RunTimes(samples=started["dataset"]["sizes"]["train"],
                    epoch_ends=[e["time"] for e in epochs],
                    in_epoch=[e["epoch_time"] for e in epochs],
                    fit_span=epochs[-1]["time"] - started["time"], wall=wall,
                    val_accuracy=epochs[-1]["val_accuracy"])


# -- per-epoch pieces, timed one by one ---------------------------------------------------------
def time_ms(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def epoch_end_pieces(spec: NetworkSpec, config: TrainingConfig, work: Path,
                     repeats: int = 5) -> dict[str, float]:
    """Median ms of each piece of our end-of-epoch work, on a model trained for one epoch."""
    from engine.training.callbacks import EpochTensorBoard, StudioCallback
    from engine.training.gradients import GradientProbe
    from engine.training.runs import RunFolder
    from engine.training.session import _RunState

    fresh_start(config.seed)
    data = training_data(spec, config)
    model = compiled_model(spec, config)
    history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                        batch_size=config.batch_size, epochs=1, verbose=0)
    logs = {key: values[-1] for key, values in history.history.items()}
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=False)
    probe_x, probe_y = data.x_train[:PROBE], data.y_train[:PROBE]
    folder = RunFolder.create(work, f"pieces-{spec.name}")
    folder.write_start(spec, config, {"name": spec.name, "epochs_completed": 0})
    steps = -(-len(data.x_train) // config.batch_size)
    callback = StudioCallback(
        folder=folder, state=_RunState(), emit=lambda event: None, clock=time.perf_counter,
        network=model, config=config, steps_per_epoch=steps, should_stop=lambda: False,
        should_pause=lambda: False, loss_fn=loss_fn, probe=(probe_x, probe_y),
        training_model=model)
    callback.set_model(model)
    record = {"epoch": 1, **logs, "gradient_norms": {}, "epoch_time": 1.0}

    def history_and_status():
        folder.write_json("history.json", {"epochs": [record]})
        folder.write_status({**folder.status(), "epochs_completed": 1})

    gradient_probe = GradientProbe(model, loss_fn)
    gradient_probe(probe_x, probe_y)  # first call: compiles the gradient step
    folder.save_model(model, "checkpoint.keras")
    pieces = {
        "checkpoint (model.save .keras + optimizer)":
            time_ms(lambda: folder.save_model(model, "checkpoint.keras"), repeats),
        f"gradient norms ({PROBE}-sample probe, compiled)":
            time_ms(lambda: gradient_probe(probe_x, probe_y), repeats),
        "kernel snapshot (read + npz)":
            time_ms(lambda: folder.save_kernels(1, callback._diagnostics.kernels()), repeats),
        "history.json + run.json":
            time_ms(history_and_status, repeats),
        "learning-rate read": time_ms(callback._learning_rate, repeats),
    }
    epoch = [0]

    def studio_epoch_end():
        epoch[0] += 1
        callback.on_epoch_begin(epoch[0])
        callback._batches_done = steps
        callback.on_epoch_end(epoch[0], dict(logs))

    pieces["= StudioCallback.on_epoch_end, all of it"] = time_ms(studio_epoch_end, repeats)

    board = EpochTensorBoard(log_dir=str(folder.path / "logs"), write_graph=False,
                                        update_freq="epoch")
    board.set_model(model)
    board.on_train_begin()
    board.on_epoch_begin(0)
    board.on_epoch_end(0, dict(logs))  # first call: writer start-up

    def board_epoch_end():
        epoch[0] += 1
        board.on_epoch_begin(epoch[0])
        board.on_epoch_end(epoch[0], dict(logs))

    pieces["+ TensorBoard.on_epoch_end"] = time_ms(board_epoch_end, repeats)
    board.on_train_end()
    return pieces


# -- report ---------------------------------------------------------------------------------------
@dataclass
class Result:
    row: str
    dataset: str
    epochs: int
    plain: list[RunTimes] = field(default_factory=list)
    ours: list[RunTimes] = field(default_factory=list)
    expert: dict[tuple[int, bool], RunTimes] = field(default_factory=dict)

    @staticmethod
    def _median(runs: list[RunTimes], attribute: str) -> float:
        return statistics.median([t for run in runs for t in getattr(run, attribute)])

    def interval(self, side: str) -> float:
        return self._median(getattr(self, side), "steady_intervals")

    def in_epoch(self, side: str) -> float:
        return self._median(getattr(self, side), "steady_in_epoch")

    def fastest(self, side: str) -> float:
        return min(t for run in getattr(self, side) for t in run.steady_intervals)

    def throughput(self, side: str) -> float:
        runs = getattr(self, side)
        return runs[0].samples / self.interval(side)

    @property
    def ratio(self) -> float:
        return self.throughput("ours") / self.throughput("plain")

    def accuracy(self, side: str) -> float:
        return 100 * statistics.mean(run.val_accuracy for run in getattr(self, side))

    def best_expert(self) -> tuple[tuple[int, bool], float] | None:
        """(steps_per_execution, jit) of the fastest expert fit and its samples/s."""
        if not self.expert:
            return None
        speeds = {key: run.samples / statistics.median(run.steady_intervals)
                  for key, run in self.expert.items()}
        best = max(speeds, key=speeds.get)
        return best, speeds[best]

    def spread(self, side: str) -> str:
        values = [run.samples / t for run in getattr(self, side) for t in run.steady_intervals]
        return f"{min(values):.0f}-{max(values):.0f}"


def print_table(results: list[Result]) -> None:
    print(f"\nsteady-state throughput, epoch end to epoch end (median of epochs 2..N, all repeats);"
          f"\nbatch size {BATCH_SIZE}, CPU threads: {os.cpu_count()}\n")
    header = (f"{'row':14}{'dataset':>10}{'epochs':>7}{'plain /s':>10}{'ours /s':>10}{'ratio':>7}"
              f"  goal >= {GOAL}   {'val acc plain':>13}{'ours':>7}  within {ACCURACY_POINTS:g} pt")
    print(header)
    print("-" * len(header))
    for r in results:
        gap = r.accuracy("ours") - r.accuracy("plain")
        print(f"{r.row:14}{r.dataset:>10}{r.epochs:>7}{r.throughput('plain'):>10.0f}"
              f"{r.throughput('ours'):>10.0f}{r.ratio:>7.3f}  {'met' if r.ratio >= GOAL else 'NOT met':12}"
              f"{r.accuracy('plain'):>12.1f}%{r.accuracy('ours'):>6.1f}%  "
              f"{'met' if abs(gap) <= ACCURACY_POINTS else 'NOT met'} ({gap:+.1f})")
    experts = [r for r in results if r.expert]
    if experts:
        print(f"\nthe best expert plain fit (steps_per_execution {EXPERT_STEPS} x jit_compile off/on, "
              f"{EXPERT_EPOCHS} epochs each)")
        for r in experts:
            (steps, jit), speed = r.best_expert()
            share = r.throughput("ours") / speed
            print(f"  {r.row:14} best: steps {steps:>2}, jit {'on ' if jit else 'off'} {speed:>8.0f}/s"
                  f"   ours / best {share:.3f}  goal >= {EXPERT_GOAL}: "
                  f"{'met' if share >= EXPERT_GOAL else 'NOT met'}")
            line = ", ".join(f"{s}{'+xla' if j else ''}: {run.samples / statistics.median(run.steady_intervals):.0f}"
                             for (s, j), run in sorted(r.expert.items()))
            print(f"  {'':14} all: {line}")
    print(f"\n{'per epoch, ms (median of epochs 2..N)':40}{'plain':>12}{'ours':>12}{'ours - plain':>14}")
    for r in results:
        for label, getter in (("epoch end -> epoch end", r.interval),
                              ("  fastest of them", r.fastest),
                              ("in-epoch (begin -> end)", r.in_epoch)):
            plain, ours = getter("plain") * 1000, getter("ours") * 1000
            print(f"  {r.row:14}{label:26}{plain:>10.0f}{ours:>12.0f}{ours - plain:>+14.0f}")
        print(f"  {r.row:14}{'samples/s, min-max':26}{r.spread('plain'):>10}{r.spread('ours'):>12}")
    print(f"\n{'whole runs, s (mean of repeats)':40}{'plain':>12}{'ours':>12}")
    for r in results:
        for label, attribute in (("fit start -> last epoch end", "fit_span"),
                                 ("whole call", "wall")):
            plain = statistics.mean(getattr(run, attribute) for run in r.plain)
            ours = statistics.mean(getattr(run, attribute) for run in r.ours)
            print(f"  {r.row:14}{label:26}{plain:>10.2f}{ours:>12.2f}")
    print("  (whole call: plain = data + build + compile + fit; ours = run_training, which also\n"
          "   evaluates on the test split and saves model.keras)")


def print_breakdown(result: Result, pieces: dict[str, float]) -> None:
    interval_gap = (result.interval("ours") - result.interval("plain")) * 1000
    in_epoch_gap = (result.in_epoch("ours") - result.in_epoch("plain")) * 1000
    print(f"\nwhere {result.row}'s time per epoch goes, ours vs plain (measured "
          f"{interval_gap:+.0f} ms per epoch of {result.interval('plain') * 1000:.0f} ms):")
    print(f"  {'inside the epoch (batches per call, hooks, events)':58}{in_epoch_gap:>+8.0f} ms")
    print("  after each epoch, each piece timed alone (median):")
    for label, ms in pieces.items():
        print(f"    {label:56}{ms:>8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs, one repeat")
    parser.add_argument("--repeats", type=int, default=None,
                        help="plain/ours pairs per row (default 3, 1 with --quick)")
    parser.add_argument("--breakdown", action="store_true",
                        help="time the end-of-epoch pieces even when the goal is met")
    parser.add_argument("--expert", action="store_true",
                        help="also the best plain fit over steps_per_execution x jit_compile")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)

    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench_training-"))
    results = []
    try:
        for row in args.models:
            template, dataset, epochs, quick_epochs = MODELS[row]
            dataset_name = shapes_volume(work) if dataset == "shapes24k" else dataset
            spec = row_spec(template, dataset)
            epochs = quick_epochs if args.quick else epochs
            config = TrainingConfig(dataset=dataset_name, epochs=epochs, batch_size=BATCH_SIZE,
                                    seed=SEED)
            result = Result(row, dataset, epochs)
            # Warm-up: the process's first fit of this model pays for imports and thread pools.
            run_plain(spec, TrainingConfig(dataset=dataset_name, epochs=1, batch_size=BATCH_SIZE,
                                           seed=SEED, max_samples=200))
            for repeat in range(repeats):
                order = ("plain", "ours") if repeat % 2 == 0 else ("ours", "plain")
                for side in order:
                    start = time.perf_counter()
                    if side == "plain":
                        result.plain.append(run_plain(spec, config))
                    else:
                        result.ours.append(run_ours(spec, config, work / "runs"))
                    print(f"  {row}: {side} run {repeat + 1}/{repeats} "
                          f"({time.perf_counter() - start:.1f} s)", flush=True)
            if args.expert:
                short = TrainingConfig(dataset=dataset_name, epochs=EXPERT_EPOCHS,
                                       batch_size=BATCH_SIZE, seed=SEED)
                for steps in EXPERT_STEPS:
                    for jit in (False, True):
                        result.expert[(steps, jit)] = run_plain(
                            spec, short, steps_per_execution=steps, jit_compile=jit)
                print(f"  {row}: {len(result.expert)} expert fits done", flush=True)
            results.append(result)
        print_table(results)
        for result in results:
            if result.ratio < GOAL or args.breakdown:
                template, dataset, _, _ = MODELS[result.row]
                dataset_name = shapes_volume(work) if dataset == "shapes24k" else dataset
                config = TrainingConfig(dataset=dataset_name, epochs=result.epochs,
                                        batch_size=BATCH_SIZE, seed=SEED)
                print_breakdown(result, epoch_end_pieces(row_spec(template, dataset), config, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\ntotal time: {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
