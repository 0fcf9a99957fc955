"""Per-layer gradient norms on one batch: the vanishing-gradient picture.

Keras 3 has no backend-neutral gradient API, so this is the one place with a small
implementation per backend (TensorFlow, JAX, PyTorch).
"""

from __future__ import annotations

import numpy as np


class GradientProbe:
    """Computes {layer name: L2 norm of the loss gradient w.r.t. that layer's trainable
    weights} on a fixed batch. The gradient step is compiled once (tf.function / jax.jit),
    so calling it every epoch costs a few milliseconds."""

    def __init__(self, model, loss_fn):
        import keras

        self.model = model
        self.loss_fn = loss_fn
        self.variables = list(model.trainable_variables)
        owner = {}
        for layer in _leaf_layers(model):
            for variable in layer.trainable_variables:
                owner[id(variable)] = layer.name
        self.layer_names = [owner.get(id(v), v.path.split("/")[0]) for v in self.variables]
        make = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}.get(keras.backend.backend())
        self.step = make(model, loss_fn, self.variables) if make and self.variables else None

    def __call__(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        import keras

        if self.step is None:
            return {}
        squared: dict[str, float] = {}
        for name, gradient in zip(self.layer_names, self.step(x, y)):
            if gradient is None:
                continue
            value = np.asarray(keras.ops.convert_to_numpy(gradient), dtype=np.float64)
            squared[name] = squared.get(name, 0.0) + float(np.sum(value * value))
        return {name: float(np.sqrt(total)) for name, total in squared.items()}


def layer_gradient_norms(model, loss_fn, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """One-off version of GradientProbe."""
    return GradientProbe(model, loss_fn)(x, y)


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def _tensorflow(model, loss_fn, variables):
    import tensorflow as tf

    # No Python control flow to convert; and a frozen app has no source for AutoGraph to read.
    @tf.function(reduce_retracing=True, autograph=False)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=False))
        return tape.gradient(loss, [v.value for v in variables])

    return step


def _jax(model, loss_fn, variables):
    import jax

    def loss_of(trainable, non_trainable, x, y):
        predictions, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return loss_fn(y, predictions)

    gradient = jax.jit(jax.grad(loss_of))

    def step(x, y):
        non_trainable = [v.value for v in model.non_trainable_variables]
        return gradient([v.value for v in variables], non_trainable, x, y)

    return step


def _torch(model, loss_fn, variables):
    import torch

    def step(x, y):
        for variable in variables:
            variable.value.grad = None
        loss = loss_fn(torch.as_tensor(y), model(torch.as_tensor(x), training=False))
        loss.backward()
        return [variable.value.grad for variable in variables]

    return step
