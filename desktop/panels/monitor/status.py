"""What the Monitor's status line says, Qt-free: the run's phase before it starts, its
progress from the latest event, paused / stopping while the training client says so, and
an ETA that a pause does not count down."""

from __future__ import annotations

import math
import time

from desktop.formatting import finite, metric, percent, plural, rate
from desktop.models.run_history import RunHistory
from engine.training import events as ev
from engine.training.progress import format_duration

EMPTY_STATUS = "No training run yet: press Train (F5), or open a run in the Runs tab."
RUN_STATES = ("idle", "starting", "training", "paused", "stopping")  # as the training client's
STARTING_STATUS = "Starting the training run…"
PAUSED_STATUS = "Paused — press Continue to go on"
STOPPING_STATUS = "Stopping after this batch…"


class RunStatus:
    def __init__(self, history: RunHistory):
        self.history = history
        self.state = "idle"                      # the training client's, kept across clear()
        self._paused_since: float | None = None  # time.monotonic() when a pause began
        self.clear()

    def clear(self) -> None:
        self.status = EMPTY_STATUS
        self.is_error = False
        self.phase: str | None = None            # what the run does before `started`
        self.notes: list[str] = []
        self.speed = ""                          # how the run trains fast (started event)
        self.speed_why = ""
        self.progress = 0.0
        self._last_batch: dict | None = None
        self._last_epoch: dict | None = None
        self._paused_after_epoch = 0.0           # seconds paused since the last epoch_ended

    # -- what changes it ------------------------------------------------------------------------
    def add(self, event: dict) -> None:
        """One event, after the history took it."""
        kind = event.get("type")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            self.is_error = False
            handler(event)
        if kind in ev.TERMINAL or kind == ev.STARTED:
            self.phase = None

    def show_phase(self, message: str) -> None:
        self.phase = str(message)
        self.is_error = False

    def show_saved(self, metrics: dict | None, origin: str = "") -> None:
        """A run from disk: its epochs, best epoch and test accuracy; `origin` says where its
        weights came from (RunSummary.origin: imported, fine-tuned)."""
        epochs = self.history.epochs
        self.progress = 1.0 if epochs else 0.0
        if origin and not epochs and not metrics:  # an imported model: nothing trained here
            self.status = f"{origin[0].upper()}{origin[1:]}: no training curves. The Features " \
                          "Lab shows its kernels and feature maps."
            return
        parts = [f"Run of {plural(len(epochs), 'epoch')}"]
        best = self.history.best_epoch()
        if best is not None:
            record = self.history.epoch_record(best)
            parts.append(f"best val acc {percent(record.get('val_accuracy'))} at epoch {best}")
        if metrics:
            parts.insert(0, f"Finished: test accuracy {percent(metrics.get('test_accuracy'))}")
            parts[1] = parts[1].lower()
        if origin:
            parts.append(origin)
        self.status = " · ".join(parts)

    def set_state(self, state: str) -> None:
        if state not in RUN_STATES:
            raise ValueError(f"Unknown training state {state!r}; expected one of "
                             f"{', '.join(RUN_STATES)}.")
        if state == "paused" and self._paused_since is None:
            self._paused_since = time.monotonic()
        elif state != "paused" and self._paused_since is not None:
            self._paused_after_epoch += time.monotonic() - self._paused_since
            self._paused_since = None
        self.state = state

    # -- what it says ---------------------------------------------------------------------------
    def text(self) -> str:
        if self.state == "paused":
            return PAUSED_STATUS + self._where()
        if self.state == "stopping":
            return STOPPING_STATUS
        if self._getting_ready():
            return self.phase or STARTING_STATUS
        return self.status

    def busy(self) -> bool:
        """The progress bar shows activity instead of a fraction (not while paused)."""
        return self.state != "paused" and self._getting_ready()

    def _getting_ready(self) -> bool:
        """Before the run's `started` event: nothing to measure yet, only a phase to name."""
        return self.phase is not None or (self.state == "starting" and self.status == EMPTY_STATUS)

    def _where(self) -> str:
        """ " · epoch 2/5, batch 10/40": where the run is (after its latest event)."""
        total = self.history.total_epochs or "?"
        if self._last_batch is not None:
            batch = self._last_batch
            return f" · epoch {batch.get('epoch')}/{total}, batch {batch.get('batch')}/{batch.get('batches')}"
        if self.history.epochs:
            return f" · after epoch {self.history.epochs[-1].get('epoch')}/{total}"
        return ""

    # -- per event ------------------------------------------------------------------------------
    def _on_phase(self, event: dict) -> None:
        self.show_phase(event.get("message") or "")

    def _on_started(self, event: dict) -> None:
        initial, total = int(event.get("initial_epoch") or 0), self.history.total_epochs
        self.notes = [str(note) for note in event.get("notes") or []]
        self.speed, self.speed_why = speed_text(event.get("speed"))
        dataset = event.get("dataset") or {}
        name = dataset.get("name") if isinstance(dataset, dict) else None
        self.status = (f"Resuming after epoch {initial} of {total}" if initial else
                       f"Training started: {plural(total, 'epoch')}" + (f" on {name}" if name else ""))
        self.progress = initial / total if total else 0.0

    def _on_batch_ended(self, event: dict) -> None:
        self.phase = None  # "Compiling the first batch…" is over
        self._last_batch = event
        epoch, batch = int(event.get("epoch", 1)), int(event.get("batch", 0))
        batches = max(int(event.get("batches") or 1), 1)
        total = self.history.total_epochs
        self.progress = (epoch - 1 + batch / batches) / (total or max(epoch, 1))
        parts = [f"Epoch {epoch}/{total or '?'}", f"batch {batch}/{batches}",
                 f"loss {metric(event.get('loss'), 3)}"]
        if event.get("accuracy") is not None:
            parts.append(f"acc {percent(event.get('accuracy'))}")
        if self._last_epoch and self._last_epoch.get("val_accuracy") is not None:
            parts.append(f"val acc {percent(self._last_epoch.get('val_accuracy'))}")
        parts.append(f"{rate(event.get('samples_per_second'))} samples/s")
        eta = self._eta(event)
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        self.status = " · ".join(parts)

    def _on_epoch_ended(self, event: dict) -> None:
        self.phase = None
        self._paused_after_epoch = 0.0  # the engine left earlier pauses out of this eta
        self._last_epoch = event
        epoch, total = int(event.get("epoch", 1)), self.history.total_epochs
        self.progress = epoch / total if total else 1.0
        parts = [f"Epoch {epoch}/{total}", f"loss {metric(event.get('loss'), 3)}"]
        if event.get("val_accuracy") is not None:
            parts.append(f"val acc {percent(event.get('val_accuracy'))}")
        parts.append(f"{rate(event.get('samples_per_second'))} samples/s")
        if event.get("eta") is not None and epoch < total:
            parts.append(f"ETA {format_duration(event.get('eta'))}")
        self.status = " · ".join(parts)

    def _on_finished(self, event: dict) -> None:
        self.progress = 1.0
        parts = [f"Finished: test accuracy {percent(event.get('test_accuracy'))}"]
        if event.get("best_epoch") is not None:
            parts.append(f"best val acc {percent(event.get('best_val_accuracy'))} "
                         f"at epoch {event['best_epoch']}")
        if event.get("training_time") is not None:
            parts.append(f"{format_duration(event.get('training_time'))} of training")
        self.status = " · ".join(parts)

    def _on_stopped(self, event: dict) -> None:
        done = int(event.get("epochs_completed") or 0)
        self.status = f"Stopped after {plural(done, 'epoch')}" + (
            " · resumable" if event.get("resumable") else "")

    def _on_failed(self, event: dict) -> None:
        self.status = f"Failed: {event.get('message') or 'unknown error'}"
        self.is_error = True

    def _eta(self, batch_event: dict) -> float | None:
        last = self._last_epoch
        if not last or last.get("eta") is None:
            return None
        waited = finite(batch_event.get("time")) - finite(last.get("time"))
        waited -= self._paused_after_epoch  # a pause does not bring the end closer
        return max(0.0, float(last["eta"]) - (0.0 if math.isnan(waited) else waited))


def speed_text(speed: dict | None) -> tuple[str, str]:
    """One line on how the run trains fast (batches per call, XLA, backend, devices,
    threads) and, for its tooltip, why the loop chose so many batches per call."""
    if not isinstance(speed, dict):
        return "", ""
    steps = speed.get("steps_per_execution") or 1
    devices = ", ".join(str(d) for d in speed.get("devices") or []) or "?"
    parts = [f"{int(steps)} batch{'' if int(steps) == 1 else 'es'} per call", "XLA on" if speed.get("jit_compile")
             else "XLA off", str(speed.get("backend") or "?"), devices]
    if speed.get("cpu_threads"):
        parts.append(plural(int(speed["cpu_threads"]), "CPU thread"))
    why = [f"Batches per call: {speed['why']}." if speed.get("why") else "",
           f"XLA: {speed['jit_why']}." if speed.get("jit_why") else ""]
    return "Runs as: " + " · ".join(parts), "\n".join(line for line in why if line)
