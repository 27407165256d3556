"""DCGAN generator and discriminator builders for any image size (Radford et al. 2015)."""

import keras

from kgan._validation import (
    check_bool,
    check_choice,
    check_image_shape,
    check_num_classes,
    check_positive_int,
)
from kgan.networks.blocks import (
    ClassConditionalBatchNormalization,
    DownsampleBlock,
    UpsampleBlock,
    batch_normalization,
    dcgan_initializer,
)
from kgan.networks.inputs import concat_one_hot_label, label_input
from kgan.networks.packing import Pack, Unpack


def num_upsampling_stages(height, width, min_size=3):
    """The number of 2x stages that reach `(height, width)` from a small starting map.

    The largest n such that 2^n divides both sides and the starting map is at least
    `min_size` on its shorter side: 28x28 -> 2 stages from 7x7, 32x32 -> 3 from 4x4,
    64x64 -> 4 from 4x4, 48x64 -> 4 from 3x4. Sizes with no factor of 2 get no stage.
    """
    stages = 0
    while True:
        factor = 2 ** (stages + 1)
        if height % factor or width % factor or min(height, width) // factor < min_size:
            return stages
        stages += 1


def dcgan_generator(
    image_shape,
    latent_dim=128,
    num_classes=None,
    *,
    base_filters=64,
    max_filters=512,
    kernel_size=4,
    upsampling="transpose",
    normalization="batch",
    sync_batch_norm=False,
    conditioning="input",
    residual=False,
    name="generator",
):
    """Builds a DCGAN generator for images of `image_shape`.

    z (plus the one-hot class for a conditional generator) -> Dense to a small map (for example
    7x7 for 28x28 images, 4x4 for 32x32 and 64x64) -> `UpsampleBlock`s doubling the size and
    halving the filters -> a last upsampling convolution to the image's channels with tanh.
    The output is float32 in [-1, 1] even under a mixed-precision policy.

    Args:
        image_shape: `(height, width, channels)` of the images, any size (non-square too).
        latent_dim: size of z.
        num_classes: number of classes (at least 2) of a class-conditional generator (inputs
            `[z, labels]` with integer labels), or `None`.
        base_filters: filters of the last block before the output; doubled per block towards
            the input, up to `max_filters`.
        max_filters: cap on the number of filters.
        kernel_size: kernel size of the convolutions (4 as in DCGAN; 5 as in the TF tutorial).
        upsampling: `"transpose"` (Conv2DTranspose) or `"nearest"` (UpSampling2D + Conv2D).
        normalization: `"batch"` (default), `"layer"` or `None`.
        sync_batch_norm: under `tf.distribute`, compute the batch statistics over the global
            batch (`BatchNormalization(synchronized=True)`) rather than over each replica's
            share of it (the default); needs `normalization="batch"`.
        conditioning: how a conditional generator uses `labels`: `"input"` (default)
            concatenates the one-hot class to z; `"batch_norm"` gives every batch
            normalisation a learned gain and bias per class
            (`kgan.layers.ClassConditionalBatchNormalization`, as in SN-GAN's and BigGAN's
            generators), so that each stage is told the class, and leaves z alone. Needs
            `normalization="batch"`.
        residual: make every stage a pre-activation residual block, as in SN-GAN's and
            BigGAN's ResNet generators (Miyato et al. 2018; Brock et al. 2018): normalise,
            ReLU, upsample, convolve, normalise, ReLU, convolve, plus the input upsampled and
            mapped by a 1x1 convolution; then a last normalisation, ReLU and convolution to
            the image's channels. The stages end with `base_filters`. Needs
            `upsampling="nearest"` (the blocks upsample by nearest neighbour); SN-GAN uses
            `kernel_size=3`. Its convolutions start from Glorot-uniform weights.
        name: name of the model.

    Returns:
        A functional `keras.Model`.

    Example:
    >>> generator = kgan.models.dcgan_generator((32, 32, 3), latent_dim=128)
    >>> generator.output_shape
    (None, 32, 32, 3)
    """
    height, width, channels = check_image_shape("image_shape", image_shape)
    check_positive_int("latent_dim", latent_dim)
    check_num_classes(num_classes)
    check_positive_int("base_filters", base_filters)
    check_positive_int("max_filters", max_filters)
    check_positive_int("kernel_size", kernel_size)
    check_choice("upsampling", upsampling, ("transpose", "nearest"))
    check_choice("normalization", normalization, (None, "batch", "layer"))
    _check_sync_batch_norm(sync_batch_norm, normalization == "batch")
    check_choice("conditioning", conditioning, ("input", "batch_norm"))
    check_bool("residual", residual)
    if residual and upsampling != "nearest":
        raise ValueError(
            "residual=True upsamples by nearest neighbour in every block: pass "
            f"upsampling='nearest'. Received: upsampling={upsampling!r}"
        )
    class_norm = num_classes is not None and conditioning == "batch_norm"
    if conditioning == "batch_norm" and num_classes is None:
        raise ValueError(
            "conditioning='batch_norm' needs a conditional generator: pass `num_classes`. "
            "Received: num_classes=None"
        )
    if class_norm and normalization != "batch":
        raise ValueError(
            "conditioning='batch_norm' conditions the generator's batch normalisations, which "
            f"it only has with normalization='batch'. Received: normalization={normalization!r}"
        )

    stages = num_upsampling_stages(height, width)
    start_h, start_w = height // 2**stages, width // 2**stages

    def normalize_and_activate(x, labels, name):  # The class-conditional stages' tail.
        x = ClassConditionalBatchNormalization(
            num_classes, synchronized=sync_batch_norm, name=f"{name}_norm"
        )([x, labels])
        return keras.layers.ReLU(name=f"{name}_relu")(x)

    def normalize(x, labels, name):  # Any normalisation, then ReLU.
        if class_norm:
            return normalize_and_activate(x, labels, name)
        return _normalize_relu(x, normalization, sync_batch_norm, name)

    def filters_at(stage):  # Filters of the map that enters upsampling stage `stage`.
        return min(base_filters * 2 ** max(stages - 1 - stage, 0) * 2, max_filters)

    # === Functional Model ===
    z = keras.Input(shape=(latent_dim,), name="z")
    inputs = [z]
    x = z
    if class_norm:
        labels = label_input()
        inputs.append(labels)
    elif num_classes is not None:
        labels, x = concat_one_hot_label(z, num_classes, "z_and_class")
        inputs.append(labels)
    start_filters = filters_at(0)
    x = keras.layers.Dense(
        start_h * start_w * start_filters,
        use_bias=normalization is None,
        kernel_initializer="glorot_uniform" if residual else dcgan_initializer(),
        name="project",
    )(x)
    x = keras.layers.Reshape((start_h, start_w, start_filters), name="reshape")(x)
    if residual:
        stage_labels = labels if class_norm else None
        for stage in range(stages):
            filters = min(base_filters * 2 ** (stages - 1 - stage), max_filters)
            x = _residual_up(x, stage_labels, filters, kernel_size, normalize, f"res_{stage}")
        x = normalize(x, stage_labels, "out")
        x = UpsampleBlock(
            channels,
            kernel_size=kernel_size,
            strides=1,
            method="nearest",
            normalization=None,
            activation=None,
            use_bias=True,
            kernel_initializer="glorot_uniform",
            name="to_image",
        )(x)
        images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
        return keras.Model(inputs if num_classes is not None else z, images, name=name)
    x = normalize(x, labels if class_norm else None, "project")
    for stage in range(stages - 1):
        x = UpsampleBlock(
            filters_at(stage + 1),
            kernel_size=kernel_size,
            method=upsampling,
            normalization=None if class_norm else normalization,
            activation=None if class_norm else "relu",
            use_bias=False if class_norm else None,
            sync_batch_norm=False if class_norm else sync_batch_norm,
            name=f"up_{stage}",
        )(x)
        if class_norm:
            x = normalize_and_activate(x, labels, f"up_{stage}")
    # The last stage maps straight to the image's channels, without normalisation.
    x = UpsampleBlock(
        channels,
        kernel_size=kernel_size,
        strides=2 if stages else 1,
        method=upsampling,
        normalization=None,
        activation=None,
        use_bias=True,
        name="to_image",
    )(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs if num_classes is not None else z, images, name=name)


def dcgan_discriminator(
    image_shape,
    num_classes=None,
    *,
    base_filters=64,
    max_filters=512,
    kernel_size=4,
    downsampling="strided",
    normalization="batch",
    dropout=0.0,
    sync_batch_norm=False,
    spectral_norm=False,
    conditioning="input",
    packing=1,
    residual=False,
    name="discriminator",
):
    """Builds a DCGAN discriminator (or WGAN critic) for images of `image_shape`.

    `DownsampleBlock`s halving the size and doubling the filters (the first without
    normalisation, as in DCGAN), then a Dense layer to one logit per example (no sigmoid).
    A conditional discriminator also takes integer `labels`, used as `conditioning` says.

    Args:
        image_shape: `(height, width, channels)` of the images.
        num_classes: number of classes (at least 2) of a conditional discriminator, or `None`.
        base_filters: filters of the first block, doubled per block up to `max_filters`.
        max_filters: cap on the number of filters.
        kernel_size: kernel size of the convolutions.
        downsampling: `"strided"` convolutions or `"average_pool"`.
        normalization: `"batch"` (default, as in DCGAN), `"layer"` or `None`. A WGAN-GP critic
            needs `None` or `"layer"`.
        dropout: dropout rate after each block.
        sync_batch_norm: under `tf.distribute`, compute the batch statistics over the global
            batch rather than per replica; needs `normalization="batch"`.
        spectral_norm: wrap every convolution and the last Dense layer in
            `keras.layers.SpectralNormalization` (Miyato et al. 2018, arXiv:1802.05957;
            see `kgan.networks.DownsampleBlock`). SN-GAN uses it without batch normalisation
            (`normalization=None`) and with the hinge loss (`kgan.GAN(..., loss="hinge")`).
        conditioning: how a conditional discriminator uses `labels`: `"input"` (default)
            embeds each class as one extra image channel (a learned map per class)
            concatenated to the image; `"projection"` adds the inner product of a learned
            class embedding with the features the logit is computed from (the projection
            discriminator, Miyato & Koyama 2018, arXiv:1802.05637), which tells the
            discriminator the class where it decides rather than at its input. Those
            features are the last block's output flattened, as the logit's Dense layer sees
            them (the paper's ResNets sum-pool them over space first). `spectral_norm` leaves
            the class embedding as it is: Keras' `SpectralNormalization` casts an
            `Embedding`'s output to the dtype of its integer labels.
        packing: judge this many images at once, concatenated along the channels (PacGAN,
            Lin et al. 2018, arXiv:1712.04086; `kgan.networks.packing`), against mode
            collapse. Each image gets its pack's logit, so the batch size must be a multiple
            of `packing`. Unconditional, and for `kgan.GAN` only (the WGANs refuse it: their
            gradient penalty and critic batches are per sample). R1 and R2 differentiate each
            image's logit, which is its pack's, so `r1_weight=g` weighs the pack's squared
            gradient norm `packing * g`: pass `g / packing` for the weight of an unpacked
            discriminator. `kgan.GAN`'s label noise and flips are drawn per sample, so the
            members of a pack may get different targets.
        residual: make every stage a residual block, as in SN-GAN's ResNet discriminator
            (Miyato et al. 2018): ReLU, convolve, ReLU, convolve, average-pool, plus the
            input mapped by a 1x1 convolution and average-pooled (the first block convolves
            the image before any ReLU, and pools before its 1x1 convolution); then ReLU and
            an average over space give the features of the logit (and of `"projection"`).
            Needs `downsampling="average_pool"`; `normalization` comes before each ReLU but
            the first block's; SN-GAN uses `kernel_size=3` with `spectral_norm=True` and no
            normalisation. Its convolutions start from Glorot-uniform weights.
        name: name of the model.

    Returns:
        A functional `keras.Model` with output shape `(None, 1)`, float32.
    """
    height, width, channels = check_image_shape("image_shape", image_shape)
    check_num_classes(num_classes)
    check_positive_int("base_filters", base_filters)
    check_positive_int("max_filters", max_filters)
    check_positive_int("kernel_size", kernel_size)
    check_choice("downsampling", downsampling, ("strided", "average_pool"))
    check_choice("normalization", normalization, (None, "batch", "layer"))
    _check_sync_batch_norm(sync_batch_norm, normalization == "batch")
    check_bool("spectral_norm", spectral_norm)
    check_choice("conditioning", conditioning, ("input", "projection"))
    check_positive_int("packing", packing)
    check_bool("residual", residual)
    if residual and downsampling != "average_pool":
        raise ValueError(
            "residual=True average-pools in every block: pass downsampling='average_pool'. "
            f"Received: downsampling={downsampling!r}"
        )
    if packing > 1 and num_classes is not None:
        raise ValueError(
            "`packing` judges unconditional images several at a time; a conditional "
            f"discriminator cannot pack them. Received: packing={packing}, "
            f"num_classes={num_classes}"
        )
    if conditioning == "projection" and num_classes is None:
        raise ValueError(
            "conditioning='projection' needs a conditional discriminator: pass `num_classes`. "
            "Received: num_classes=None"
        )

    stages = max(num_upsampling_stages(height, width), 1)

    # === Functional Model ===
    images = keras.Input(shape=(height, width, channels), name="images")
    inputs = [images]
    x = images if packing == 1 else Pack(packing, name="pack")(images)
    if num_classes is not None:
        labels = label_input()
        inputs.append(labels)
    if num_classes is not None and conditioning == "input":
        label_map = keras.layers.Embedding(num_classes, height * width, name="label_map")(labels)
        label_map = keras.layers.Reshape((height, width, 1), name="label_map_reshape")(label_map)
        x = keras.layers.Concatenate(name="image_and_class")([images, label_map])
    for stage in range(stages if residual else 0):
        x = _residual_down(
            x,
            min(base_filters * 2**stage, max_filters),
            None if stage == 0 else normalization,
            sync_batch_norm,
            first=stage == 0,
            kernel_size=kernel_size,
            spectral_norm=spectral_norm,
            name=f"res_{stage}",
        )
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"res_{stage}_dropout")(x)
    if residual:
        x = keras.layers.ReLU(name="features_relu")(x)
        x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    for stage in range(0 if residual else stages):
        x = DownsampleBlock(
            min(base_filters * 2**stage, max_filters),
            kernel_size=kernel_size,
            method=downsampling,
            normalization=None if stage == 0 else normalization,
            dropout=dropout,
            sync_batch_norm=sync_batch_norm,
            spectral_norm=spectral_norm,
            name=f"down_{stage}",
        )(x)
    if not residual:
        x = keras.layers.Flatten(name="flatten")(x)
    logits = keras.layers.Dense(1, dtype="float32", name="logits")
    if spectral_norm:
        # float32 on the wrapper too: it casts its output to its input's dtype.
        logits = keras.layers.SpectralNormalization(
            logits, dtype="float32", name="logits_spectral_norm"
        )
    features = x
    logits = logits(features)
    if num_classes is not None and conditioning == "projection":
        class_embedding = keras.layers.Embedding(
            num_classes, features.shape[-1], dtype="float32", name="class_embedding"
        )(labels)
        projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")(
            [class_embedding, features]
        )
        logits = keras.layers.Add(dtype="float32", name="logits_and_projection")(
            [logits, projection]
        )
    if packing > 1:
        logits = Unpack(packing, dtype="float32", name="unpack")(logits)
    return keras.Model(inputs if num_classes is not None else images, logits, name=name)


def _residual_up(x, labels, filters, kernel_size, normalize, name):
    """A pre-activation residual upsampling block of `dcgan_generator(..., residual=True)`,
    from `UpsampleBlock`s; `normalize(x, labels, name)` normalises and applies ReLU."""
    conv = dict(
        method="nearest",
        normalization=None,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
    )
    h = normalize(x, labels, f"{name}_in")
    h = UpsampleBlock(filters, kernel_size, strides=2, name=f"{name}_conv_up", **conv)(h)
    h = normalize(h, labels, f"{name}_mid")
    h = UpsampleBlock(filters, kernel_size, strides=1, name=f"{name}_conv", **conv)(h)
    shortcut = UpsampleBlock(filters, 1, strides=2, name=f"{name}_shortcut", **conv)(x)
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def _residual_down(
    x, filters, normalization, sync_batch_norm, *, first, kernel_size, spectral_norm, name
):
    """A residual downsampling block of `dcgan_discriminator(..., residual=True)`, from
    `DownsampleBlock`s (stride-1 convolutions without an activation of their own)."""

    def conv(size, label):
        return DownsampleBlock(
            filters,
            kernel_size=size,
            strides=1,
            normalization=None,
            activation=None,
            use_bias=True,
            kernel_initializer="glorot_uniform",
            spectral_norm=spectral_norm,
            name=f"{name}_{label}",
        )

    def activate(h, where):
        return _normalize_relu(h, normalization, sync_batch_norm, f"{name}_{where}")

    def pool(h, where):
        return keras.layers.AveragePooling2D(2, padding="same", name=f"{name}_{where}_pool")(h)

    h = x if first else activate(x, "in")
    h = conv(kernel_size, "conv_1")(h)
    h = pool(conv(kernel_size, "conv_2")(activate(h, "mid")), "main")
    shortcut = conv(1, "shortcut")
    shortcut = shortcut(pool(x, "shortcut")) if first else pool(shortcut(x), "shortcut")
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def _normalize_relu(x, normalization, sync_batch_norm, name):
    """`normalization` (`"batch"`, `"layer"` over each map, or `None`), then ReLU."""
    if normalization == "batch":
        x = batch_normalization(f"{name}_norm", sync_batch_norm)(x)
    elif normalization == "layer":
        x = keras.layers.LayerNormalization(axis=[-3, -2, -1], epsilon=1e-5, name=f"{name}_norm")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _check_sync_batch_norm(sync_batch_norm, has_batch_norm):
    check_bool("sync_batch_norm", sync_batch_norm)
    if sync_batch_norm and not has_batch_norm:
        raise ValueError(
            "`sync_batch_norm=True` synchronises BatchNormalization, which the network only "
            "has with `normalization='batch'`. Received: sync_batch_norm=True"
        )
