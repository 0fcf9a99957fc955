"""Per-layer gradient norms on one batch: the vanishing-gradient picture.

Keras 3 has no backend-neutral gradient API, so this is the one place with a small
implementation per backend (TensorFlow, JAX, PyTorch).
"""

from __future__ import annotations

import numpy as np


def layer_gradient_norms(model, loss_fn, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """{layer name: L2 norm of the loss gradient w.r.t. that layer's trainable weights}."""
    import keras

    variables = list(model.trainable_variables)
    if not variables:
        return {}
    backend = keras.backend.backend()
    compute = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}.get(backend)
    if compute is None:
        return {}
    gradients = compute(model, loss_fn, x, y, variables)
    owner = {}
    for layer in _leaf_layers(model):
        for variable in layer.trainable_variables:
            owner[id(variable)] = layer.name
    squared: dict[str, float] = {}
    for variable, gradient in zip(variables, gradients):
        if gradient is None:
            continue
        name = owner.get(id(variable), variable.path.split("/")[0])
        value = np.asarray(keras.ops.convert_to_numpy(gradient), dtype=np.float64)
        squared[name] = squared.get(name, 0.0) + float(np.sum(value * value))
    return {name: float(np.sqrt(total)) for name, total in squared.items()}


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def _tensorflow(model, loss_fn, x, y, variables):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=False))
    return tape.gradient(loss, [v.value for v in variables])


def _jax(model, loss_fn, x, y, variables):
    import jax

    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss_of(trainable):
        predictions, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return loss_fn(y, predictions)

    return jax.grad(loss_of)([v.value for v in variables])


def _torch(model, loss_fn, x, y, variables):
    import torch

    for variable in variables:
        variable.value.grad = None
    loss = loss_fn(torch.as_tensor(y), model(torch.as_tensor(x), training=False))
    loss.backward()
    return [variable.value.grad for variable in variables]
