"""The data a training run sees, made in one place: the Trainer, the features lab, the
inspection tools and the benchmarks all call this, so they always agree on the split."""

from __future__ import annotations

from engine.datasets import DatasetSplits, adapt_to_input, load_dataset
from engine.errors import ProjectError
from engine.graph.spec import NetworkSpec
from engine.training.config import TrainingConfig


def input_shape_of(spec: NetworkSpec) -> tuple:
    node = next((n for n in spec.nodes if n.type == "InputLayer"), None)
    if node is None:
        raise ProjectError("The network has no Input block.")
    return tuple(node.params["shape"])


def training_splits(spec: NetworkSpec, config: TrainingConfig) -> DatasetSplits:
    """The config's dataset, split with its seed and fractions, fitted to the network input.

    Generated datasets (shapes) are drawn at the input size when it is square, rather than
    drawn small and resized."""
    shape = input_shape_of(spec)
    height, width = shape[0], shape[1]
    data = load_dataset(config.dataset, seed=config.seed,
                        validation_fraction=config.validation_fraction,
                        test_fraction=config.test_fraction,
                        image_size=height if height and height == width else None,
                        max_samples=config.max_samples)
    return adapt_to_input(data, shape)
