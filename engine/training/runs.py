"""Run folders: everything one training run leaves on disk, written atomically.

runs/<YYYYmmdd-HHMMSS>-<name>/
    run.json          status (running / finished / stopped / failed / imported), epochs
                      completed, summary; where the starting weights came from (weights_from)
    spec.json         the exact network trained (later edits never change what a run shows)
    config.json       the TrainingConfig
    history.json      one entry per completed epoch
    metrics.json      test accuracy, confusion matrix, per-class accuracy, time, samples/s
    examples.npz      test images per confusion-matrix cell, with predicted probabilities
    model.keras       the trained network
    checkpoint-0007.keras  the last saved epoch (here 7), with optimizer state (what
                      `resume` uses); run.json names it, so a newer one that a full disk or a
                      crash kept from being committed is ignored, and the older one stays.
                      A checkpoint is written to a hidden temporary file, fsynced, renamed into
                      place (the folder fsynced too) and only then named in run.json; the one
                      named before is deleted only after that (see write_checkpoint)
    kernels/          conv kernels after each epoch (epoch-0001.npz, ...)
    logs/             TensorBoard logs

run.json is written last at every step: it is the commit point that says which epochs the
other files are complete for.

An imported run (status "imported", see engine/training/imported.py) holds a .keras file's
trained weights as model.keras, with spec.json, config.json, an empty history, its kernels as
kernels/epoch-0000.npz and run.json naming the file (source_file): no epoch was trained here.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.deep_graphs import room_for
from engine.errors import ProjectError, cannot_write
from engine.graph.io import (atomic_write_bytes, atomic_write_text, atomic_write_with,
                             file_mode_for, spec_from_json)
from engine.graph.spec import NetworkSpec, readable_json
from engine.training.config import TrainingConfig

RUNS_FOLDER = "runs"
RUNNING, FINISHED, STOPPED, FAILED = "running", "finished", "stopped", "failed"
IMPORTED = "imported"  # a model's weights imported from a .keras file: no epoch trained here
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Above this many kernel values per epoch, snapshots keep only the first conv layer.
MAX_SNAPSHOT_VALUES = 2_000_000


def sanitize_run_name(name: str) -> str:
    """A folder name that cannot leave the runs folder: no separators, no leading dots."""
    cleaned = _UNSAFE.sub("-", name).strip("-.")[:60]
    return cleaned or "run"


def default_runs_root(project_path: str | Path | None = None) -> Path:
    """runs/ beside the project file, or in the current folder."""
    base = Path(project_path).resolve().parent if project_path else Path.cwd()
    return base / RUNS_FOLDER


class RunFolder:
    def __init__(self, path: Path):
        self.path = Path(path)

    # -- creation ------------------------------------------------------------------------------
    @staticmethod
    def create(root: Path, name: str) -> RunFolder:
        root = Path(root)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{sanitize_run_name(name)}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            for suffix in [""] + [f"-{n}" for n in range(2, 1000)]:
                candidate = root / f"{base}{suffix}"
                try:
                    candidate.mkdir()
                    return RunFolder(candidate)
                except FileExistsError:
                    continue
        except OSError as error:
            raise cannot_write(f"create a run folder in {root}", error) from None
        raise ProjectError(f"Too many runs named {base} in {root}.")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    # -- writing -------------------------------------------------------------------------------
    def write_json(self, name: str, data: Any) -> None:
        atomic_write_text(self.path / name, readable_json(data))

    def write_start(self, spec: NetworkSpec, config: TrainingConfig, status: dict) -> None:
        atomic_write_text(self.path / "spec.json", spec.to_json())
        self.write_json("config.json", config.to_dict())
        self.write_json("history.json", {"epochs": []})
        self.write_status(status)

    def write_status(self, status: dict) -> None:
        self.write_json("run.json", status)

    def save_model(self, model, name: str) -> None:
        """model.save() into a temporary .keras file, then rename: never half a model."""
        with room_for(layer_count(model)):  # Keras serialises the graph recursively
            atomic_write_with(self.path / name, lambda temporary: model.save(temporary),
                              suffix=".keras")

    def save_kernels(self, epoch: int, kernels: dict[str, np.ndarray]) -> None:
        if not kernels:
            return
        total = sum(k.size for k in kernels.values())
        if total > MAX_SNAPSHOT_VALUES:
            first = next(iter(kernels))
            kernels = {first: kernels[first]}
        buffer = io.BytesIO()
        np.savez(buffer, **kernels)  # uncompressed: float noise barely compresses; layer names are valid keys
        folder = self.path / "kernels"
        folder.mkdir(exist_ok=True)
        atomic_write_bytes(folder / f"epoch-{epoch:04d}.npz", buffer.getvalue())

    def save_arrays(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(self.path / name, buffer.getvalue())

    def examples(self) -> dict[str, np.ndarray] | None:
        """Test images per confusion-matrix cell (see fit.confusion_examples), if saved."""
        path = self.path / "examples.npz"
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}

    # -- reading -------------------------------------------------------------------------------
    def read_text(self, name: str) -> str:
        path = self.path / name
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProjectError(f"{path} is missing: {self.path} is not a complete run folder.") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ProjectError(f"Cannot read {path}: {error}.") from None

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.read_text(name))
        except json.JSONDecodeError as error:
            raise ProjectError(f"Cannot read {self.path / name}: {error}.") from None

    def status(self) -> dict:
        status = self.read_json("run.json")
        if not isinstance(status, dict):
            raise ProjectError(f"{self.path / 'run.json'} is damaged.")
        return status

    def spec(self) -> NetworkSpec:
        return spec_from_json(self.read_text("spec.json"), source=str(self.path / "spec.json"))

    def config(self) -> TrainingConfig:
        return TrainingConfig.from_dict(self.read_json("config.json"))

    def history(self) -> list[dict]:
        """Completed epochs only (run.json says how many are complete)."""
        epochs = self.read_json("history.json").get("epochs", [])
        completed = int(self.status().get("epochs_completed", len(epochs)))
        return epochs[:completed]

    def resume_epoch(self) -> int:
        """The epoch the committed checkpoint holds: where a resumed run continues."""
        return self._committed_epoch() if self.checkpoint.exists() else 0

    def _committed_epoch(self) -> int:
        return int(self.status().get("checkpoint_epoch", 0) or 0)

    def checkpoint_path(self, epoch: int) -> Path:
        return self.path / f"checkpoint-{epoch:04d}.keras"

    def save_checkpoint(self, model, epoch: int) -> None:
        """Save beside the committed one; it counts once run.json names its epoch."""
        self.place_checkpoint(self.write_checkpoint(model, epoch), epoch)

    def write_checkpoint(self, model, epoch: int) -> Path:
        """model.save() into a hidden temporary file beside the checkpoints, flushed to the
        disk (fsync): the first half of a checkpoint. place_checkpoint() renames it into
        place; a crash before that leaves only a hidden file that nothing reads. Safe on
        another thread than the training one when `model` is touched by that thread alone."""
        target = self.checkpoint_path(epoch)
        try:
            handle, name = tempfile.mkstemp(dir=self.path, prefix=f".{target.stem}-", suffix=".keras")
            os.close(handle)
        except OSError as error:
            raise cannot_write(f"write {target}", error) from None
        temporary = Path(name)
        try:
            with room_for(layer_count(model)):  # Keras serialises the graph recursively
                model.save(temporary)
            _fsync(temporary)
            os.chmod(temporary, file_mode_for(target))  # mkstemp makes a private (0600) file
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise cannot_write(f"write {target}", error) from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return temporary

    def place_checkpoint(self, temporary: Path, epoch: int) -> None:
        """Rename a written checkpoint (write_checkpoint) to its name, durably: after this,
        run.json may name its epoch."""
        target = self.checkpoint_path(epoch)
        try:
            os.replace(temporary, target)
            _fsync(self.path)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise cannot_write(f"write {target}", error) from None

    def discard_checkpoint(self, temporary: Path) -> None:
        """A written checkpoint that will not be placed (a newer one was placed first)."""
        Path(temporary).unlink(missing_ok=True)

    def remove_unfinished_checkpoints(self) -> None:
        """The temporary files of checkpoint writes a crash interrupted: call it only while
        no checkpoint is being written (when a session starts)."""
        for path in self.path.glob(".checkpoint-*.keras"):
            path.unlink(missing_ok=True)

    def drop_checkpoints_except(self, epoch: int) -> None:
        """After run.json has named the checkpoint of `epoch`: every other one goes."""
        keep = self.checkpoint_path(epoch)
        for path in self.path.glob("checkpoint*.keras"):
            if path != keep:
                path.unlink(missing_ok=True)

    def metrics(self) -> dict | None:
        return self.read_json("metrics.json") if (self.path / "metrics.json").exists() else None

    def kernels(self, epoch: int) -> dict[str, np.ndarray]:
        path = self.path / "kernels" / f"epoch-{epoch:04d}.npz"
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}

    @property
    def checkpoint(self) -> Path:
        """The checkpoint run.json commits to (earlier runs have checkpoint.keras)."""
        try:
            epoch = self._committed_epoch()
        except (ProjectError, TypeError, ValueError):
            epoch = 0
        named = self.checkpoint_path(epoch)
        legacy = self.path / "checkpoint.keras"
        return legacy if not named.exists() and legacy.exists() else named


def layer_count(model) -> int:
    """A Keras model's layers at every depth (an augmented model holds the network as one)."""
    return sum(1 + (layer_count(layer) if hasattr(layer, "layers") else 0) for layer in model.layers)


def _fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries (a rename), to the disk. Windows cannot
    open a folder for that; there the rename is as durable as the file system makes it."""
    folder = Path(path).is_dir()
    if folder and os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY if folder else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RunSummary:
    path: Path
    name: str
    status: str
    dataset: str
    epochs_completed: int
    epochs_planned: int
    best_val_accuracy: float | None
    test_accuracy: float | None
    training_time: float | None
    samples_per_second: float | None
    started_at: str
    origin: str = ""  # where the weights came from: "imported from a.keras, not trained here", ...

    @property
    def imported(self) -> bool:
        return self.status == IMPORTED

    def to_dict(self) -> dict:
        return {**self.__dict__, "path": str(self.path)}


def run_origin(status: dict) -> str:
    """Where a run's weights came from, for a person: "" for a run trained from scratch."""
    source = status.get("source_file")
    if status.get("status") == IMPORTED or source:
        name = Path(str(source)).name if source else "a .keras file"
        return f"imported from {name}, not trained here"
    weights = status.get("weights_from")
    if not isinstance(weights, dict):
        return ""
    run, file = weights.get("run"), weights.get("file")
    parts = []
    if run:
        parts.append(f"run {Path(str(run)).name}")
    if file:
        parts.append(("imported from " if run else "") + Path(str(file)).name)
    return "fine-tuned from " + ", ".join(parts) if parts else ""


def list_runs(root: str | Path) -> list[RunSummary]:
    """Every readable run folder under root, newest first; damaged ones are skipped."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = []
    for folder in sorted(root.iterdir(), reverse=True):
        if not (folder / "run.json").is_file():
            continue
        try:
            status = RunFolder(folder).status()
            runs.append(RunSummary(
                path=folder, name=str(status.get("name", folder.name)),
                status=str(status.get("status", "unknown")), dataset=str(status.get("dataset", "")),
                epochs_completed=int(status.get("epochs_completed", 0)),
                epochs_planned=int(status.get("epochs_planned", 0)),
                best_val_accuracy=status.get("best_val_accuracy"),
                test_accuracy=status.get("test_accuracy"),
                training_time=status.get("training_time"),
                samples_per_second=status.get("samples_per_second"),
                started_at=str(status.get("started_at", "")), origin=run_origin(status)))
        except (ProjectError, ValueError, TypeError, AttributeError):
            continue
    return runs
