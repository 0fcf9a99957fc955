"""Custom Keras layers of CNN Studio, registered so `.keras` files load with safe_mode=True.

This module imports only `keras`: the Python-script export copies its source verbatim.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="cnn_studio")
class WeightedAveragePooling2D(keras.layers.Layer):
    """Pooling by a weighted average: one learned weight per position in the window.

    The weights go through a softmax, so they are positive and sum to 1: the result is a
    true (weighted) average of the window, shared by all channels. With equal weights it
    is average pooling; a peaked softmax approaches picking one position. With 'same'
    padding the zeros at the border take part in the average.
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = tuple(pool_size) if not isinstance(pool_size, int) else (pool_size, pool_size)
        if strides is None:
            strides = self.pool_size
        self.strides = tuple(strides) if not isinstance(strides, int) else (strides, strides)
        self.padding = padding

    def build(self, input_shape):
        self.channels = input_shape[-1]
        self.position_logits = self.add_weight(
            name="position_logits", shape=self.pool_size, initializer="zeros", trainable=True)

    def call(self, inputs):
        weights = ops.reshape(ops.softmax(ops.reshape(self.position_logits, (-1,))), self.pool_size)
        kernel = ops.tile(ops.reshape(weights, self.pool_size + (1, 1)), (1, 1, self.channels, 1))
        return ops.depthwise_conv(inputs, ops.cast(kernel, inputs.dtype), strides=self.strides,
                                  padding=self.padding)

    def compute_output_shape(self, input_shape):
        def length(size, window, stride):
            if size is None:
                return None
            if self.padding == "same":
                return (size - 1) // stride + 1
            return (size - window) // stride + 1

        batch, height, width, channels = input_shape
        return (batch, length(height, self.pool_size[0], self.strides[0]),
                length(width, self.pool_size[1], self.strides[1]), channels)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}
