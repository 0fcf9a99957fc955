"""Custom Keras layers of CNN Studio, registered so `.keras` files load with safe_mode=True.

This module imports only `keras` (and the standard `math`): the Python-script export copies
its source verbatim.
"""

import math

import keras
from keras import ops



def _window_length(size, window, stride, padding):
    """Output length along one axis of a sliding window (None stays None: variable size)."""
    if size is None:
        return None
    if padding == "same":
        return (size - 1) // stride + 1
    return (size - window) // stride + 1

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
        batch, height, width, channels = input_shape
        return (batch, _window_length(height, self.pool_size[0], self.strides[0], self.padding),
                _window_length(width, self.pool_size[1], self.strides[1], self.padding), channels)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


@keras.saving.register_keras_serializable(package="cnn_studio")
class HandcraftedConv2D(keras.layers.Layer):
    """A convolution whose kernels start as classic hand-crafted filters.

    bank: "edges" = Sobel, Prewitt and Scharr (x and y), Laplacian and Laplacian of Gaussian
    (8 filters); "gabor" = real Gabor kernels at 0/45/90/135 degrees and frequencies 0.15
    and 0.3 cycles per pixel (8 filters); "all" = both (16). One output map per filter.

    The 3x3 operators (scikit-image's weights) sit zero-padded in the centre of the kernel;
    Gabor and LoG kernels are sampled at the full kernel size (Gaussian sigma = kernel
    size / 4 for Gabor, / 5 for LoG). Every kernel is zero-mean with absolute values
    summing to 2 (scikit-image's Sobel convention: each lobe sums to 1). Each filter is
    applied to the mean of the input channels (the kernel is split evenly over them).

    Keras cross-correlates: "sobel_x" is right minus left and "sobel_y" bottom minus top (as
    scikit-image's sobel_v and sobel_h). trainable_kernels=False freezes kernel and bias (a
    fixed feature extractor); True makes them the starting point of ordinary training.
    The values are computed here with plain Python so this class needs only Keras.
    """

    def __init__(self, bank="edges", kernel_size=(5, 5), strides=(1, 1), padding="valid",
                 activation=None, trainable_kernels=False, **kwargs):
        super().__init__(**kwargs)
        if bank not in ("edges", "gabor", "all"):
            raise ValueError(f"bank must be 'edges', 'gabor' or 'all', not {bank!r}")
        self.bank = bank
        self.kernel_size = tuple(kernel_size) if not isinstance(kernel_size, int) else (kernel_size,) * 2
        if min(self.kernel_size) < 3:
            raise ValueError(f"kernel_size must be at least 3x3, not {self.kernel_size}")
        self.strides = tuple(strides) if not isinstance(strides, int) else (strides, strides)
        self.padding = padding
        self.activation_name = activation
        self.activation = keras.activations.get(activation)
        self.trainable_kernels = bool(trainable_kernels)
        self.filters = len(self.filter_names(bank))

    @staticmethod
    def filter_names(bank):
        edges = ["sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y",
                 "laplacian", "log"]
        gabor = [f"gabor_{theta}_{frequency}" for theta in (0, 45, 90, 135) for frequency in (0.15, 0.3)]
        return {"edges": edges, "gabor": gabor, "all": edges + gabor}[bank]

    @staticmethod
    def bank_kernel(name, height, width):
        """One filter as a height x width list of rows (zero-mean, absolute values sum to 2)."""
        cy, cx = (height - 1) / 2, (width - 1) / 2
        if name.startswith("gabor_"):
            _, theta, frequency = name.split("_")
            angle, frequency = math.radians(float(theta)), float(frequency)
            sigma = max(height, width) / 4
            rows = []
            for r in range(height):
                row = []
                for c in range(width):
                    x, y = c - cx, r - cy
                    along = x * math.cos(angle) + y * math.sin(angle)
                    across = -x * math.sin(angle) + y * math.cos(angle)
                    row.append(math.exp(-0.5 * (along ** 2 + across ** 2) / sigma ** 2)
                               * math.cos(2 * math.pi * frequency * along))
                rows.append(row)
        elif name == "log":
            sigma = max(height, width) / 5
            rows = [[((c - cx) ** 2 + (r - cy) ** 2 - 2 * sigma ** 2)
                     * math.exp(-((c - cx) ** 2 + (r - cy) ** 2) / (2 * sigma ** 2))
                     for c in range(width)] for r in range(height)]
        else:
            family, axis = (name, None) if name == "laplacian" else name.split("_")
            if family == "laplacian":
                small = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
            else:
                smooth = {"sobel": [1, 2, 1], "prewitt": [1, 1, 1], "scharr": [3, 10, 3]}[family]
                diff = [-1, 0, 1]  # x: right minus left; y: bottom minus top
                small = ([[d * s for s in smooth] for d in diff] if axis == "y"
                         else [[s * d for d in diff] for s in smooth])
            top, left = (height - 3) // 2, (width - 3) // 2
            rows = [[0.0] * width for _ in range(height)]
            for r in range(3):
                for c in range(3):
                    rows[top + r][left + c] = float(small[r][c])
        mean = sum(map(sum, rows)) / (height * width)
        rows = [[v - mean for v in row] for row in rows]
        scale = 2 / sum(abs(v) for row in rows for v in row)
        return [[v * scale for v in row] for row in rows]

    def build(self, input_shape):
        channels = input_shape[-1]
        height, width = self.kernel_size
        filters = [self.bank_kernel(name, height, width) for name in self.filter_names(self.bank)]
        values = [[[[filters[f][r][c] / channels for f in range(self.filters)]
                    for _ in range(channels)] for c in range(width)] for r in range(height)]
        self.kernel = self.add_weight(name="kernel", shape=(height, width, channels, self.filters),
                                      initializer="zeros", trainable=self.trainable_kernels)
        self.kernel.assign(ops.convert_to_tensor(values, dtype=self.kernel.dtype))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros",
                                    trainable=self.trainable_kernels)

    def call(self, inputs):
        outputs = ops.conv(inputs, ops.cast(self.kernel, inputs.dtype), strides=self.strides,
                           padding=self.padding)
        return self.activation(outputs + ops.cast(self.bias, outputs.dtype))

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, _window_length(height, self.kernel_size[0], self.strides[0], self.padding),
                _window_length(width, self.kernel_size[1], self.strides[1], self.padding), self.filters)

    def get_config(self):
        return {**super().get_config(), "bank": self.bank, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "activation": self.activation_name, "trainable_kernels": self.trainable_kernels}


@keras.saving.register_keras_serializable(package="cnn_studio")
class LayerScale(keras.layers.Layer):
    """Multiplies each channel by a learned factor that starts tiny (ConvNeXt, CaiT): a
    residual branch begins almost switched off and training turns it up."""

    def __init__(self, init_values=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values

    def build(self, input_shape):
        self.gamma = self.add_weight(
            name="gamma", shape=(input_shape[-1],),
            initializer=keras.initializers.Constant(self.init_values), trainable=True)

    def call(self, inputs):
        return inputs * ops.cast(self.gamma, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values}


@keras.saving.register_keras_serializable(package="cnn_studio")
class ScaledResidual(keras.layers.Layer):
    """shortcut + scale x residual: the scaled residual sum of Inception-ResNet, which keeps
    very deep residual stacks stable by shrinking each branch before it is added."""

    def __init__(self, scale=0.1, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        shortcut, residual = inputs
        return shortcut + residual * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
