"""The history of one training run as series to plot, Qt-free.

`RunHistory` takes the engine's training event dicts (engine/training/events.py) as they
stream in, or a run folder's history.json entries, and holds what the Monitor plots and the
Runs list compares: per-batch loss / accuracy (each point with its global step, epoch
position and wall-clock time), per-epoch train / validation loss and accuracy, learning rate
and gradient norms. Per-batch points are kept one-for-one up to `max_batch_points`, then
thinned by 2 (later points taken at the doubled stride), so memory stays bounded.

Pure functions beside it: `smooth` (TensorBoard's debiased exponential moving average) and
`curves_csv` (every curve as CSV text, one row per step or epoch).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from desktop.formatting import finite
from engine.training import events as ev

MAX_BATCH_POINTS = 20_000
STEP, EPOCH, TIME = "step", "epoch", "time"   # the x axes a curve can be drawn against
X_AXES = (STEP, EPOCH, TIME)
EPOCH_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def smooth(values, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average with weight 0..0.99, debiased
    so the first points are not pulled towards zero. NaNs stay gaps and do not count."""
    weight = min(max(float(weight), 0.0), 0.99)
    values = np.asarray(values, dtype=float)
    if weight == 0.0 or values.size == 0:
        return values.copy()
    out = np.full(values.shape, np.nan)
    last, seen = 0.0, 0
    for index, value in enumerate(values.tolist()):
        if not math.isfinite(value):
            continue
        last = last * weight + (1.0 - weight) * value
        seen += 1
        out[index] = last / (1.0 - weight ** seen)
    return out


class RunHistory:
    """The series of one run; `version` changes whenever the per-epoch data does."""

    def __init__(self, max_batch_points: int = MAX_BATCH_POINTS):
        self.max_batch_points = max_batch_points
        self.clear()

    def clear(self) -> None:
        n = self.max_batch_points
        self._batch = {name: np.empty(n) for name in ("epoch", "step", "time", "loss", "accuracy")}
        self.batch_count = 0        # points stored
        self.batch_seen = 0         # batch events received
        self._stride = 1            # keep every n-th batch event
        self.epochs: list[dict] = []
        self.total_epochs = 0
        self.steps_per_epoch: int | None = None
        self.run_dir: str | None = None
        self.best_epoch_override: int | None = None
        self._time_offset = 0.0     # a resumed run's clock restarts at 0: continue the old one
        self.version = 0

    # -- filling --------------------------------------------------------------------------------
    def add(self, event: dict) -> None:
        """One training event; kinds that carry no series are ignored."""
        kind = event.get("type")
        if kind == ev.STARTED:
            self.total_epochs = int(event.get("epochs") or 0)
            self.steps_per_epoch = int(event.get("steps_per_epoch") or 0) or self.steps_per_epoch
            self.run_dir = event.get("run_dir") or self.run_dir
            self.best_epoch_override = None
        elif kind == ev.BATCH_ENDED:
            self._add_batch(event)
        elif kind == ev.EPOCH_ENDED:
            self._add_epoch(event)
        elif kind == ev.FINISHED:
            if event.get("best_epoch") is not None:
                self.best_epoch_override = int(event["best_epoch"])
            self.run_dir = event.get("run_dir") or self.run_dir
        elif kind in (ev.STOPPED, ev.FAILED):
            self.run_dir = event.get("run_dir") or self.run_dir

    def load(self, records: list[dict], steps_per_epoch: int | None = None) -> None:
        """A run from disk: its history.json entries (no per-batch points)."""
        self.clear()
        self.steps_per_epoch = steps_per_epoch
        self.epochs = _with_times(sorted((dict(r) for r in records if isinstance(r, dict)),
                                         key=lambda record: int(record.get("epoch", 0))))
        self.total_epochs = max([int(r.get("epoch", 0)) for r in self.epochs] or [0])
        self.version += 1

    def resume(self, initial_epoch: int, saved: list[dict] | None = None) -> None:
        """A resumed run continues after `initial_epoch`: keep the epochs up to it (from
        `saved` history.json entries when this history does not hold them all)."""
        if not set(range(1, initial_epoch + 1)) <= {int(r.get("epoch", 0)) for r in self.epochs}:
            self.load(saved or [], self.steps_per_epoch)
        self.epochs = [r for r in self.epochs if int(r.get("epoch", 0)) <= initial_epoch]
        if self.batch_count:
            stored = self._batch["epoch"][:self.batch_count]
            self.batch_count = int(np.searchsorted(stored, initial_epoch, "right"))
        self._time_offset = float(self.epochs[-1].get("time", 0.0)) if self.epochs else 0.0
        self.best_epoch_override = None
        self.version += 1

    def _add_batch(self, event: dict) -> None:
        epoch, batch = int(event.get("epoch", 1)), int(event.get("batch", 0))
        batches = max(int(event.get("batches") or 1), 1)
        self.steps_per_epoch = self.steps_per_epoch or batches
        seen = self.batch_seen
        self.batch_seen += 1
        if seen % self._stride:
            return
        n = self.batch_count
        values = {"epoch": epoch - 1 + batch / batches, "step": (epoch - 1) * batches + batch,
                  "time": finite(event.get("time")) + self._time_offset,
                  "loss": finite(event.get("loss")), "accuracy": finite(event.get("accuracy"))}
        for name, value in values.items():
            self._batch[name][n] = value
        self.batch_count = n + 1
        if self.batch_count == self.max_batch_points:
            half = self.max_batch_points // 2
            for buffer in self._batch.values():
                buffer[:half] = buffer[0:self.max_batch_points:2]
            self.batch_count = half
            self._stride *= 2

    def _add_epoch(self, event: dict) -> None:
        epoch = int(event.get("epoch", len(self.epochs) + 1))
        record = {key: value for key, value in event.items() if key != "type"}
        record["time"] = finite(event.get("time")) + self._time_offset
        self.epochs = [r for r in self.epochs if int(r.get("epoch", 0)) < epoch] + [record]
        self.total_epochs = int(event.get("epochs") or self.total_epochs or epoch)
        self.version += 1

    # -- reading --------------------------------------------------------------------------------
    def batch_x(self, axis: str = EPOCH) -> np.ndarray:
        return self._batch[axis][:self.batch_count]

    def batch_values(self, key: str) -> np.ndarray:
        """"loss" or "accuracy" of the stored batches."""
        return self._batch[key][:self.batch_count]

    def epoch_x(self, axis: str = EPOCH) -> np.ndarray:
        """Where each epoch's point sits: its number, its last step (the epoch number when
        the steps per epoch are not known) or its wall-clock time."""
        epochs = np.array([float(r.get("epoch", 0)) for r in self.epochs])
        if axis == STEP and self.steps_per_epoch:
            return epochs * self.steps_per_epoch
        if axis == TIME:
            return np.array([finite(r.get("time")) for r in self.epochs])
        return epochs

    def epoch_values(self, key: str) -> np.ndarray:
        return np.array([finite(r.get(key)) for r in self.epochs])

    def x_of_epoch(self, epoch: float, axis: str) -> float:
        """An epoch number on another x axis (the best-epoch marker)."""
        if axis == STEP and self.steps_per_epoch:
            return epoch * self.steps_per_epoch
        if axis == TIME:
            record = self.epoch_record(int(epoch))
            return finite(record.get("time"))
        return float(epoch)

    def x_end(self, axis: str) -> float:
        """The right end of the x range: the planned run (epochs, steps) or the data so far."""
        data = max([float(x.max()) for x in (self.epoch_x(axis), self.batch_x(axis)) if x.size
                    and np.isfinite(x).any()] or [0.0])
        if axis == TIME:
            return max(data, 1.0)
        planned = self.total_epochs * ((self.steps_per_epoch or 1) if axis == STEP else 1)
        return max(planned, data, 1.0)

    def epoch_record(self, epoch: int) -> dict:
        return next((r for r in self.epochs if int(r.get("epoch", 0)) == epoch), {})

    def gradient_layers(self) -> list[str]:
        names: list[str] = []
        for record in self.epochs:
            names += [name for name in (record.get("gradient_norms") or {}) if name not in names]
        return names

    def gradient_norms(self, layer: str) -> np.ndarray:
        return np.array([finite((r.get("gradient_norms") or {}).get(layer)) for r in self.epochs])

    def best_epoch(self) -> int | None:
        """The epoch with the best validation accuracy (the finished event's, once known)."""
        if self.best_epoch_override is not None:
            return self.best_epoch_override
        scored = [(finite(r.get("val_accuracy")), int(r.get("epoch", 0))) for r in self.epochs]
        scored = [(value, epoch) for value, epoch in scored if not math.isnan(value)]
        if not scored:
            return None
        best = max(value for value, _ in scored)
        return min(epoch for value, epoch in scored if value == best)

    def summary(self) -> dict:
        """The numbers the Runs list compares (None where unknown)."""
        best = self.best_epoch()
        last = self.epochs[-1] if self.epochs else {}

        def known(value):
            number = finite(value)
            return None if math.isnan(number) else number

        return {"epochs": len(self.epochs), "best_epoch": best,
                "best_val_accuracy": known(self.epoch_record(best).get("val_accuracy"))
                if best is not None else None,
                "last_loss": known(last.get("loss")), "last_accuracy": known(last.get("accuracy")),
                "last_val_loss": known(last.get("val_loss")),
                "last_val_accuracy": known(last.get("val_accuracy"))}


def _with_times(records: list[dict]) -> list[dict]:
    """history.json keeps no clock: an epoch ends after the epoch times before it."""
    clock = 0.0
    for record in records:
        clock += np.nan_to_num(max(finite(record.get("epoch_time")), 0.0))
        record.setdefault("time", clock)
    return records


def curves_csv(history: RunHistory) -> str:
    """Every curve as CSV: one row per stored batch step, plus one per epoch end that no
    batch row holds; per-epoch columns are filled on the row where the epoch ended."""
    layers = history.gradient_layers()
    header = (["step", "epoch", "time_s", "batch_loss", "batch_accuracy"] + list(EPOCH_KEYS)
              + [f"gradient_norm/{name}" for name in layers])
    rows: dict[float, dict] = {}
    steps = history.steps_per_epoch
    for position, step, clock, loss, accuracy in zip(
            history.batch_x(EPOCH), history.batch_x(STEP), history.batch_x(TIME),
            history.batch_values("loss"), history.batch_values("accuracy")):
        rows[round(float(position), 9)] = {"step": int(step), "epoch": position, "time_s": clock,
                                           "batch_loss": loss, "batch_accuracy": accuracy}
    for record in history.epochs:
        epoch = int(record.get("epoch", 0))
        row = rows.setdefault(float(epoch), {"step": epoch * steps if steps else "",
                                             "epoch": epoch, "time_s": record.get("time")})
        row.update({key: record.get(key) for key in EPOCH_KEYS})
        row.update({f"gradient_norm/{name}": value
                    for name, value in (record.get("gradient_norms") or {}).items()})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for position in sorted(rows):
        writer.writerow([_cell(rows[position].get(name)) for name in header])
    return out.getvalue()


def _cell(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    number = finite(value)
    return "" if math.isnan(number) else f"{number:.10g}"
