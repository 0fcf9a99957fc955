"""What the training loop chooses to run a network fast, and why (shown to the user).

`steps_per_execution`: Keras runs that many batches in one call of its compiled training
function. Each call costs a fixed overhead (Python, the callbacks, the runtime's dispatch), so
a small network on a CPU spends most of a step on it: LeNet-5 on digits takes 11 ms a step at
1 and 8 ms at 32 here. The batch hook (stop, pause, the live curve) runs once per call, so a
call must stay short: the choice is the largest number whose call is estimated to take at
most CHUNK_SECONDS, from the network's MACs and the batch size. Keras-free.
"""

from __future__ import annotations

from dataclasses import dataclass

# Measured on this project's 2-core CPU machine (benchmarks/bench_training.py prints the
# effect): the fixed cost of one step, and the arithmetic rate ResNet-mini's steps reach.
STEP_OVERHEAD_SECONDS = 0.008
FLOPS_PER_SECOND = 5e10
CHUNK_SECONDS = 0.15  # one call at most: the live batch curve moves >= 5 times a second
MAX_STEPS_PER_EXECUTION = 64


@dataclass(frozen=True)
class StepsChoice:
    steps: int
    why: str

    def to_dict(self) -> dict:
        return {"steps_per_execution": self.steps, "why": self.why}


def estimated_step_seconds(macs_per_sample: int, batch_size: int) -> float:
    # Forward (2 FLOPs per MAC) and backward (about twice the forward) passes.
    return STEP_OVERHEAD_SECONDS + 6 * macs_per_sample * batch_size / FLOPS_PER_SECOND


def choose_steps_per_execution(macs_per_sample: int | None, batch_size: int,
                               steps_per_epoch: int, requested: int | None = None,
                               strategy: str = "default") -> StepsChoice:
    """The batches per call of the training function: `requested`, or chosen automatically."""
    if requested is not None:
        return StepsChoice(requested, "set in the training settings")
    if strategy != "default":  # Keras' multi-step loop fails under MirroredStrategy (TF 2.21)
        return StepsChoice(1, f"the {strategy} strategy runs one batch per call")
    if not macs_per_sample:
        return StepsChoice(1, "the network's cost is unknown (variable input size)")
    step = estimated_step_seconds(macs_per_sample, batch_size)
    steps = int(CHUNK_SECONDS // step)
    # At least four calls an epoch, so stop and pause answer within a fraction of it.
    steps = max(1, min(steps, MAX_STEPS_PER_EXECUTION, steps_per_epoch // 4 or 1))
    if steps == 1:
        return StepsChoice(1, f"a step takes about {step * 1000:.0f} ms: one per call")
    return StepsChoice(steps, f"a step takes about {step * 1000:.0f} ms, so {steps} steps per "
                              f"call (~{steps * step * 1000:.0f} ms) save the per-call overhead "
                              "and keep the live curve moving")
