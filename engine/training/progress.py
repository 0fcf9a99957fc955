"""A terminal progress display for training events (the CLI's view of a run)."""

from __future__ import annotations

from typing import TextIO



BAR_WIDTH = 24


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _value(number: float | None, digits: int = 4) -> str:
    return "-" if number is None else f"{number:.{digits}f}"


class ProgressPrinter:
    """Prints a live batch bar on terminals (one line per epoch elsewhere) and summaries."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.live = stream.isatty()
        self.epochs = 0
        self.epoch_seconds: list[float] = []

    def show(self, event: dict) -> None:
        handler = getattr(self, f"_{event['type']}", None)
        if handler:
            handler(event)
            self.stream.flush()

    def _started(self, event: dict) -> None:
        self.epochs = event["epochs"]
        data = event["dataset"]
        sizes = data["sizes"]
        self._line(f"Training {event['total_params']:,} parameters on {data['name']} "
                   f"({sizes['train']} train / {sizes['validation']} validation / {sizes['test']} test, "
                   f"{data['num_classes']} classes) with {event['backend']} on {', '.join(event['devices'])}")
        for note in event.get("notes", []):
            self._line(f"Note: {note}")
        if event["initial_epoch"]:
            self._line(f"Resuming after epoch {event['initial_epoch']}")
        self._line(f"Run folder: {event['run_dir']}")

    def _batch_ended(self, event: dict) -> None:
        if not self.live:
            return
        done = event["batch"] / event["batches"]
        filled = int(done * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        accuracy = event.get("accuracy")
        self.stream.write(f"\repoch {event['epoch']}/{self.epochs} [{bar}] {event['batch']}/{event['batches']} "
                          f"loss {_value(event.get('loss'))} acc {_value(accuracy, 3)} "
                          f"{event['samples_per_second']:,.0f} samples/s   ")

    def _epoch_ended(self, event: dict) -> None:
        if self.live:
            self.stream.write("\r" + " " * 100 + "\r")
        self._line(f"epoch {event['epoch']}/{event['epochs']}  loss {_value(event['loss'])}  "
                   f"acc {_value(event['accuracy'], 3)}  val_loss {_value(event['val_loss'])}  "
                   f"val_acc {_value(event['val_accuracy'], 3)}  {event['epoch_time']:.1f}s  "
                   f"ETA {format_duration(event['eta'])}")

    def _finished(self, event: dict) -> None:
        self._line(f"Test accuracy {100 * event['test_accuracy']:.2f}% (loss {event['test_loss']:.4f}); "
                   f"best validation accuracy {100 * (event['best_val_accuracy'] or 0):.2f}% at epoch "
                   f"{event['best_epoch']}; {format_duration(event['training_time'])} of training")
        self._line(f"Run saved in {event['run_dir']}")

    def _stopped(self, event: dict) -> None:
        self._line(event["message"])
        self._line(f"Run saved in {event['run_dir']}"
                   + (f"; continue with: cnn-studio resume {event['run_dir']}" if event["resumable"] else ""))

    def _failed(self, event: dict) -> None:
        if event.get("run_dir"):
            self._line(f"The completed epochs are kept in {event['run_dir']}")

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")



