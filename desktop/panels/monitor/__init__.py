"""The training monitor: TrainingMonitor composes the Curves, Gradients and Results views
over one RunHistory (desktop/models/run_history.py)."""

from desktop.models.run_history import MAX_BATCH_POINTS
from desktop.panels.monitor.confusion import image_pixmap, top_probabilities
from desktop.panels.monitor.status import (EMPTY_STATUS, PAUSED_STATUS, STARTING_STATUS,
                                           STOPPING_STATUS)
from desktop.panels.monitor.tensorboard import shutdown_tensorboard
from desktop.panels.monitor.training_monitor import REFRESH_MS, TrainingMonitor

__all__ = ["EMPTY_STATUS", "MAX_BATCH_POINTS", "PAUSED_STATUS", "REFRESH_MS", "STARTING_STATUS",
           "STOPPING_STATUS", "TrainingMonitor", "image_pixmap", "shutdown_tensorboard",
           "top_probabilities"]
