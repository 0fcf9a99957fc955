"""What the worker can compute on, per Keras backend."""

from __future__ import annotations


def list_devices() -> list[str]:
    """Human-readable devices, e.g. ['CPU:0', 'GPU:0 (NVIDIA H100)']."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_logical_devices()]
    if backend == "jax":
        import jax

        return [f"{d.platform.upper()}:{d.id} ({d.device_kind})" for d in jax.devices()]
    if backend == "torch":
        import torch

        gpus = [f"GPU:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
        return gpus or ["CPU:0"]
    return ["CPU:0"]


def has_gpu(devices: list[str]) -> bool:
    return any(d.startswith("GPU") for d in devices)
