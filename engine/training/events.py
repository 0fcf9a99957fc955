"""Events a training run emits: plain dicts (they cross a process boundary), NumPy arrays
for kernels. Every event has "type" and "time" (seconds since the run started).

started           model_summary (list of {name, type, output_shape, params}), devices,
                  dataset (DatasetSplits.describe()), config, run_dir, initial_epoch, epochs,
                  steps_per_epoch
batch_ended       epoch, batch, batches, loss, accuracy, samples_per_second (at most ~20/s)
epoch_ended       epoch (1-based), epochs, loss, accuracy, val_loss, val_accuracy,
                  learning_rate, gradient_norms ({layer name: norm}), elapsed, eta,
                  samples_per_second
filters_snapshot  epoch, kernels ({conv layer name: float32 array (kh, kw, in, out)})
finished          test_loss, test_accuracy, confusion_matrix (K x K list), per_class_accuracy,
                  class_names, best_epoch, best_val_accuracy, training_time, samples_per_second,
                  run_dir, examples (arrays: index, image uint8 (M,h,w,C), true, predicted,
                  probabilities (M,K): up to 12 test images per confusion-matrix cell)
stopped           epochs_completed, run_dir, resumable, message
failed            message (what happened and what to do), epochs_completed, run_dir
"""

from __future__ import annotations

STARTED = "started"
BATCH_ENDED = "batch_ended"
EPOCH_ENDED = "epoch_ended"
FILTERS_SNAPSHOT = "filters_snapshot"
FINISHED = "finished"
STOPPED = "stopped"
FAILED = "failed"

TERMINAL = (FINISHED, STOPPED, FAILED)


def make_event(kind: str, time: float, **fields) -> dict:
    return {"type": kind, "time": round(time, 4), **fields}
