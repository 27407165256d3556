"""Building blocks of DCGAN-style generators and discriminators.

`UpsampleBlock` doubles (or scales by `strides`) the spatial size of a feature map:
Conv2DTranspose, or nearest-neighbour UpSampling2D followed by Conv2D (which avoids the
checkerboard artefacts of transposed convolutions, Odena et al. 2016), then normalisation and
an activation. `DownsampleBlock` does the reverse for discriminators: a strided Conv2D, or a
Conv2D followed by average pooling, then optional normalisation, LeakyReLU and dropout.
"""

import keras

from kgan._validation import check_bool, check_choice, check_positive_int, check_range

# DCGAN (Radford et al. 2015): "All weights were initialized from a zero-centered Normal
# distribution with standard deviation 0.02."
DCGAN_INITIALIZER_STDDEV = 0.02

_NORMALIZATIONS = (None, "batch", "layer")
_ACTIVATIONS = ("leaky_relu", "relu", None)


def dcgan_initializer(seed=None):
    """The DCGAN weight initialiser, N(0, 0.02)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=DCGAN_INITIALIZER_STDDEV, seed=seed)


def batch_normalization(name, synchronized=False, dtype=None):
    """kgan's BatchNormalization: momentum 0.9, epsilon 1e-5.

    Keras' default momentum of 0.99 lags badly over the few thousand steps of a GAN run; 0.9
    (TF-GAN and the DCGAN reference code) keeps the moving statistics that inference uses close
    to the batch statistics training sees. Under `tf.distribute` each replica normalises with
    the statistics of its own share of the batch, unless `synchronized=True`, which computes
    them over the global batch (one all-reduce per layer and step).
    """
    return keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, synchronized=synchronized, name=name, dtype=dtype
    )


def _make_normalization(normalization, name, synchronized=False, dtype=None):
    if normalization == "batch":
        return batch_normalization(name, synchronized, dtype)
    if normalization == "layer":
        # Over height, width and channels, as in the WGAN-GP reference code: Keras' default
        # axis=-1 would normalise each pixel over its channels only.
        return keras.layers.LayerNormalization(
            axis=[-3, -2, -1], epsilon=1e-5, name=name, dtype=dtype
        )
    return None


def _make_activation(activation, negative_slope, name, dtype=None):
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=negative_slope, name=name, dtype=dtype)
    if activation == "relu":
        return keras.layers.ReLU(name=name, dtype=dtype)
    return None


# Sublayers whose call depends on `training`: spectral normalisation runs its power iteration
# and rescales the kernel in training mode only.
_TRAINING_AWARE = (
    keras.layers.BatchNormalization,
    keras.layers.Dropout,
    keras.layers.SpectralNormalization,
)


class _ConvBlock(keras.layers.Layer):
    """Shared plumbing of the two blocks: a list of sublayers applied in order.

    The sublayers take the block's dtype policy (`dtype=self.dtype_policy`), not the global
    one: a block built under a mixed-precision policy computes the same way once loaded where
    the global policy is float32, and a float32 copy of it (`kgan.export.float32_copy`) is
    float32 throughout.
    """

    def _apply(self, layers, x, training):
        for layer in layers:
            if isinstance(layer, _TRAINING_AWARE):
                x = layer(x, training=training)
            else:
                x = layer(x)
        return x

    def build(self, input_shape):
        shape = input_shape
        for layer in self._sublayers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self._sublayers:
            shape = layer.compute_output_shape(shape)
        return tuple(shape)

    def call(self, inputs, training=None):
        return self._apply(self._sublayers, inputs, training)


@keras.saving.register_keras_serializable(package="kgan")
class UpsampleBlock(_ConvBlock):
    """Upsampling block of a DCGAN generator.

    Conv2DTranspose (or nearest-neighbour `UpSampling2D` + `Conv2D`), then normalisation and
    activation. With `strides=2` and `padding="same"` the output is exactly twice the input's
    height and width, whatever the kernel size.

    Args:
        filters: number of output channels.
        kernel_size: size of the convolution kernel.
        strides: upsampling factor (1 keeps the size).
        method: `"transpose"` for Conv2DTranspose, `"nearest"` for UpSampling2D + Conv2D.
        normalization: `"batch"` (default), `"layer"` or `None`.
        activation: `"relu"` (default, as in DCGAN's generator), `"leaky_relu"` or `None`.
        negative_slope: slope of LeakyReLU for negative inputs.
        use_bias: whether the convolution has a bias (redundant before normalisation).
        kernel_initializer: defaults to the DCGAN initialiser N(0, 0.02).
        sync_batch_norm: with `normalization="batch"`, normalise over the global batch under
            `tf.distribute` (`BatchNormalization(synchronized=True)`) rather than over each
            replica's share of it.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height * strides, width * strides, filters)`.

    Example:
    >>> block = kgan.layers.UpsampleBlock(64, kernel_size=4)
    >>> block(np.zeros((2, 7, 7, 128))).shape
    TensorShape([2, 14, 14, 64])
    """

    # Longer than 60 lines: Keras order (validate every argument, then build each sublayer,
    # then store the config); splitting it would scatter one constructor over helpers.
    def __init__(
        self,
        filters,
        kernel_size=4,
        strides=2,
        method="transpose",
        normalization="batch",
        activation="relu",
        negative_slope=0.2,
        use_bias=None,
        kernel_initializer=None,
        sync_batch_norm=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("filters", filters)
        check_positive_int("kernel_size", kernel_size)
        check_positive_int("strides", strides)
        check_choice("method", method, ("transpose", "nearest"))
        check_choice("normalization", normalization, _NORMALIZATIONS)
        check_choice("activation", activation, _ACTIVATIONS)
        check_range("negative_slope", negative_slope, 0.0, 1.0)
        check_bool("sync_batch_norm", sync_batch_norm)

        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.method = method
        self.normalization = normalization
        self.activation = activation
        self.negative_slope = negative_slope
        self.use_bias = normalization is None if use_bias is None else bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer or dcgan_initializer())
        self.sync_batch_norm = bool(sync_batch_norm)

        # === Layers ===
        layers = []
        if method == "transpose":
            layers.append(
                keras.layers.Conv2DTranspose(
                    filters,
                    kernel_size,
                    strides=strides,
                    padding="same",
                    use_bias=self.use_bias,
                    kernel_initializer=self.kernel_initializer,
                    name="conv_transpose",
                    dtype=self.dtype_policy,
                )
            )
        else:
            if strides > 1:
                layers.append(
                    keras.layers.UpSampling2D(
                        strides, interpolation="nearest", name="upsample", dtype=self.dtype_policy
                    )
                )
            layers.append(
                keras.layers.Conv2D(
                    filters,
                    kernel_size,
                    padding="same",
                    use_bias=self.use_bias,
                    kernel_initializer=self.kernel_initializer,
                    name="conv",
                    dtype=self.dtype_policy,
                )
            )
        norm = _make_normalization(normalization, "norm", self.sync_batch_norm, self.dtype_policy)
        if norm is not None:
            layers.append(norm)
        act = _make_activation(activation, negative_slope, "activation", self.dtype_policy)
        if act is not None:
            layers.append(act)
        self._sublayers = layers

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "method": self.method,
                "normalization": self.normalization,
                "activation": self.activation,
                "negative_slope": self.negative_slope,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "sync_batch_norm": self.sync_batch_norm,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="kgan")
class DownsampleBlock(_ConvBlock):
    """Downsampling block of a DCGAN discriminator.

    A Conv2D with stride (or a stride-1 Conv2D followed by `AveragePooling2D`), then optional
    normalisation, LeakyReLU and optional dropout.

    Args:
        filters: number of output channels.
        kernel_size: size of the convolution kernel.
        strides: downsampling factor (1 keeps the size).
        method: `"strided"` (strided convolution) or `"average_pool"`.
        normalization: `None` (default), `"batch"` or `"layer"`. Use `None` or `"layer"` in a
            WGAN-GP critic: the gradient penalty is per example and batch statistics mix the
            examples of a batch.
        activation: `"leaky_relu"` (default, slope 0.2 as in DCGAN), `"relu"` or `None`.
        negative_slope: slope of LeakyReLU for negative inputs.
        dropout: dropout rate after the activation (0 disables it).
        use_bias: whether the convolution has a bias (defaults to `normalization is None`).
        kernel_initializer: defaults to the DCGAN initialiser N(0, 0.02).
        sync_batch_norm: with `normalization="batch"`, normalise over the global batch under
            `tf.distribute` (`BatchNormalization(synchronized=True)`) rather than over each
            replica's share of it.
        spectral_norm: wrap the convolution in `keras.layers.SpectralNormalization` (Miyato
            et al. 2018, arXiv:1802.05957): in training mode, one power iteration per call
            estimates the kernel's largest singular value sigma and the kernel is divided by
            it, which bounds the layer's Lipschitz constant by about 1. Keras writes the
            normalised kernel back into the variable, so the optimiser updates W / sigma (the
            gradient does not flow through sigma).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, ceil(height / strides), ceil(width / strides), filters)`.
    """

    # Longer than 60 lines for the same reason as UpsampleBlock.__init__.
    def __init__(
        self,
        filters,
        kernel_size=4,
        strides=2,
        method="strided",
        normalization=None,
        activation="leaky_relu",
        negative_slope=0.2,
        dropout=0.0,
        use_bias=None,
        kernel_initializer=None,
        sync_batch_norm=False,
        spectral_norm=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("filters", filters)
        check_positive_int("kernel_size", kernel_size)
        check_positive_int("strides", strides)
        check_choice("method", method, ("strided", "average_pool"))
        check_choice("normalization", normalization, _NORMALIZATIONS)
        check_choice("activation", activation, _ACTIVATIONS)
        check_range("negative_slope", negative_slope, 0.0, 1.0)
        check_bool("sync_batch_norm", sync_batch_norm)
        check_bool("spectral_norm", spectral_norm)
        check_range("dropout", dropout, 0.0, 1.0, include_high=False)

        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.method = method
        self.normalization = normalization
        self.activation = activation
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.use_bias = normalization is None if use_bias is None else bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer or dcgan_initializer())
        self.sync_batch_norm = bool(sync_batch_norm)
        self.spectral_norm = bool(spectral_norm)

        # === Layers ===
        conv_strides = strides if method == "strided" else 1
        conv = keras.layers.Conv2D(
            filters,
            kernel_size,
            strides=conv_strides,
            padding="same",
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer,
            name="conv",
            dtype=self.dtype_policy,
        )
        if self.spectral_norm:
            # The wrapper writes the normalised kernel back into the float32 variable: it
            # computes in float32 (the convolution inside keeps the block's policy), or a
            # mixed policy would round the weights to 16 bits at every step.
            conv = keras.layers.SpectralNormalization(conv, name="spectral_norm", dtype="float32")
        layers = [conv]
        if method == "average_pool" and strides > 1:
            layers.append(
                keras.layers.AveragePooling2D(
                    strides, padding="same", name="pool", dtype=self.dtype_policy
                )
            )
        norm = _make_normalization(normalization, "norm", self.sync_batch_norm, self.dtype_policy)
        if norm is not None:
            layers.append(norm)
        act = _make_activation(activation, negative_slope, "activation", self.dtype_policy)
        if act is not None:
            layers.append(act)
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout, name="dropout", dtype=self.dtype_policy))
        self._sublayers = layers

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "method": self.method,
                "normalization": self.normalization,
                "activation": self.activation,
                "negative_slope": self.negative_slope,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "sync_batch_norm": self.sync_batch_norm,
                "spectral_norm": self.spectral_norm,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="kgan")
class ClassConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalisation with a learned scale and offset per class.

    Normalises `x` over the batch as `batch_normalization` does (momentum 0.9, epsilon 1e-5),
    then scales and shifts each example by the gain and bias rows of its class:
    `gamma[labels] * x_hat + beta[labels]`. This is how SN-GAN's and BigGAN's generators are
    told the class (conditional batch normalisation, de Vries et al. 2017; Miyato & Koyama
    2018, arXiv:1802.05637): at every stage, rather than once at the input. The gains start
    at 1 and the biases at 0, so an untrained layer is plain batch normalisation.

    Args:
        num_classes: number of classes.
        synchronized: under `tf.distribute`, compute the batch statistics over the global
            batch rather than over each replica's share of it.

    Call arguments:
        inputs: `[x, labels]`: features `(batch, ..., channels)` and integer classes
            `(batch,)` in `[0, num_classes)` (not checked: a gather on a GPU or in an export
            gives no error for a class out of range).
        training: normalise with the batch's statistics (and update the moving ones).

    Example:
    >>> norm = kgan.layers.ClassConditionalBatchNormalization(10)
    >>> norm([np.zeros((2, 4, 4, 8)), np.array([3, 7])]).shape
    TensorShape([2, 4, 4, 8])
    """

    def __init__(self, num_classes, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("num_classes", num_classes)
        check_bool("synchronized", synchronized)
        self.num_classes = num_classes
        self.synchronized = bool(synchronized)
        self.normalize = keras.layers.BatchNormalization(
            momentum=0.9,
            epsilon=1e-5,
            center=False,
            scale=False,
            synchronized=self.synchronized,
            name="normalize",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        features_shape, _ = input_shape
        channels = features_shape[-1]
        self.normalize.build(features_shape)
        self.gamma = self.add_weight(
            shape=(self.num_classes, channels), initializer="ones", name="gamma"
        )
        self.beta = self.add_weight(
            shape=(self.num_classes, channels), initializer="zeros", name="beta"
        )
        self.built = True

    def call(self, inputs, training=None):
        x, labels = inputs
        x = self.normalize(x, training=training)
        labels = keras.ops.cast(keras.ops.reshape(labels, (-1,)), "int32")
        # One (batch, 1, ..., 1, channels) row per example, broadcast over its positions.
        row_shape = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
        gamma = keras.ops.reshape(keras.ops.take(self.gamma, labels, axis=0), row_shape)
        beta = keras.ops.reshape(keras.ops.take(self.beta, labels, axis=0), row_shape)
        return x * keras.ops.cast(gamma, x.dtype) + keras.ops.cast(beta, x.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "synchronized": self.synchronized})
        return config
