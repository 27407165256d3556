"""The DCGAN and MLP network builders."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.models import (
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
    num_upsampling_stages,
)


@pytest.mark.parametrize(
    "shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3), (48, 64, 3), (8, 8, 1), (27, 27, 1)]
)
def test_dcgan_builders_fit_any_image_size(shape):
    generator = dcgan_generator(shape, latent_dim=16, base_filters=4)
    discriminator = dcgan_discriminator(shape, base_filters=4)
    assert generator.output_shape == (None, *shape)
    assert discriminator.input_shape == (None, *shape)
    assert discriminator.output_shape == (None, 1)
    out = generator(np.zeros((2, 16), "float32"))
    assert tuple(out.shape) == (2, *shape)
    assert out.dtype == "float32"


def _sn_projection_discriminator(**options):
    """A class-conditional discriminator of 8x8x3 images of 2 classes, SN-GAN's way."""
    return dcgan_discriminator(
        (8, 8, 3),
        2,
        base_filters=4,
        normalization=None,
        spectral_norm=True,
        conditioning="projection",
        **options,
    )


RESIDUAL_G = dict(kernel_size=3, upsampling="nearest", residual=True)
RESIDUAL_D = dict(kernel_size=3, downsampling="average_pool", residual=True)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3), (27, 27, 1)])
def test_residual_builders_fit_any_image_size(shape):
    generator = dcgan_generator(shape, latent_dim=16, base_filters=4, **RESIDUAL_G)
    discriminator = dcgan_discriminator(shape, base_filters=4, **RESIDUAL_D)
    images = generator(np.zeros((2, 16), "float32"))
    assert tuple(images.shape) == (2, *shape) and images.dtype == "float32"
    assert tuple(discriminator(images).shape) == (2, 1)
    stages = num_upsampling_stages(*shape[:2])
    assert sum(layer.name.endswith("_add") for layer in generator.layers) == stages
    assert sum(layer.name.endswith("_add") for layer in discriminator.layers) == max(stages, 1)


def test_a_residual_block_adds_its_main_path_to_its_shortcut():
    generator = dcgan_generator((16, 16, 3), 8, base_filters=4, **RESIDUAL_G)
    discriminator = dcgan_discriminator((16, 16, 3), base_filters=4, **RESIDUAL_D)
    # The main path's last convolution, and the shortcut's last layer (the discriminator's
    # second block convolves, then pools).
    for network, main, shortcut in (
        (generator, "res_1_conv", "res_1_shortcut"),
        (discriminator, "res_1_conv_2", "res_1_shortcut_pool"),
    ):
        probe = keras.Model(
            network.inputs,
            [network.get_layer("res_1_add").output, network.get_layer(shortcut).output],
        )
        x = np.random.default_rng(0).normal(size=(2, *network.input_shape[1:])).astype("float32")
        block_out, alone = (keras.ops.convert_to_numpy(t) for t in probe(x))
        assert not np.allclose(block_out, alone, atol=1e-3)
        # With the main path's last convolution at zero, the block is its shortcut alone.
        layer = network.get_layer(main)
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
        block_out, alone = (keras.ops.convert_to_numpy(t) for t in probe(x))
        np.testing.assert_allclose(block_out, alone, atol=1e-6)


def test_residual_class_conditional_networks_train_in_mixed_precision_reload_and_export(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        gan = kgan.GAN(
            dcgan_generator(
                (8, 8, 3), 4, 2, base_filters=4, conditioning="batch_norm", **RESIDUAL_G
            ),
            _sn_projection_discriminator(**RESIDUAL_D),
            num_classes=2,
            seed=0,
            r1_weight=0.1,
        )
        gan.compile()
        images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 3)).astype("float32")
        history = gan.fit(images, np.arange(16) % 2, batch_size=8, epochs=1, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.isfinite(history.history["d_loss"][-1])
    assert gan.generator.output.dtype == "float32" and gan.discriminator.output.dtype == "float32"
    gan.save(tmp_path / "gan.keras")
    reloaded = keras.saving.load_model(tmp_path / "gan.keras")
    z, labels = np.random.default_rng(1).normal(size=(3, 4)).astype("float32"), np.array([0, 1, 0])
    expected = keras.ops.convert_to_numpy(gan.inference_generator([z, labels], training=False))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(reloaded.inference_generator([z, labels], training=False)),
        expected,
        atol=1e-6,
    )
    # Both exports check themselves against Keras as they are written.
    version = kgan.export.to_saved_model(reloaded, tmp_path / "saved")
    onnx_path = kgan.export.to_onnx(reloaded, tmp_path / "g.onnx")
    served, onnx_images = (
        kgan.control.load_generator(str(path)).generate(z=z, labels=labels)
        for path in (version, onnx_path)
    )
    np.testing.assert_allclose(onnx_images, served, atol=1e-4)
    # The exports compute in float32, the trained networks in bfloat16.
    np.testing.assert_allclose(served, expected, atol=2e-2)


def test_residual_networks_need_their_resampling():
    with pytest.raises(ValueError, match="Received: upsampling='transpose'"):
        dcgan_generator((32, 32, 3), residual=True)
    with pytest.raises(ValueError, match="Received: downsampling='strided'"):
        dcgan_discriminator((32, 32, 3), residual=True)
    with pytest.raises(ValueError, match="Received: residual=1"):
        dcgan_generator((32, 32, 3), upsampling="nearest", residual=1)


def test_num_upsampling_stages_matches_its_documented_examples():
    assert num_upsampling_stages(28, 28) == 2  # From 7x7.
    assert num_upsampling_stages(32, 32) == 3  # From 4x4.
    assert num_upsampling_stages(64, 64) == 4
    assert num_upsampling_stages(48, 64) == 4  # From 3x4.
    assert num_upsampling_stages(27, 27) == 0


def test_dcgan_generator_nearest_upsampling_has_no_transposed_convolutions():
    generator = dcgan_generator((32, 32, 3), latent_dim=8, base_filters=4, upsampling="nearest")
    layers = [
        layer for block in generator.layers for layer in getattr(block, "_sublayers", [block])
    ]
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in layers)
    assert any(isinstance(layer, keras.layers.UpSampling2D) for layer in layers)
    assert generator.output_shape == (None, 32, 32, 3)


def test_output_is_in_tanh_range():
    generator = dcgan_generator((16, 16, 3), latent_dim=8, base_filters=4)
    out = generator(np.random.default_rng(0).normal(size=(4, 8)).astype("float32") * 100)
    assert float(tf.reduce_max(tf.abs(out))) <= 1.0


def test_mlp_builders_are_the_classic_mnist_gan():
    generator = mlp_generator((28, 28, 1))
    discriminator = mlp_discriminator((28, 28, 1))
    dense = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dense)]
    assert [tuple(layer.kernel.shape) for layer in dense] == [(100, 128), (128, 784)]
    assert generator.output_shape == (None, 28, 28, 1)
    assert discriminator.output_shape == (None, 1)
    assert any(isinstance(layer, keras.layers.LeakyReLU) for layer in generator.layers)


def test_conditional_builders_take_labels(small_dcgan):
    generator, discriminator = small_dcgan(num_classes=3)
    z = np.zeros((2, 8), "float32")
    out_a = keras.ops.convert_to_numpy(generator([z, np.array([0, 0])]))
    out_b = keras.ops.convert_to_numpy(generator([z, np.array([1, 2])]))
    assert not np.allclose(out_a, out_b)
    assert tuple(discriminator([out_a, np.array([0, 1])]).shape) == (2, 1)


def _with_distinct_class_rows(generator):
    """Class-conditional batch norms start alike for every class (gain 1, bias 0)."""
    rng = np.random.default_rng(0)
    for variable in generator.weights:
        if variable.path.endswith(("/gamma", "/beta")) and len(variable.shape) == 2:
            variable.assign(rng.normal(1.0, 0.5, variable.shape).astype("float32"))
    return generator


@pytest.mark.parametrize(
    "build",
    [
        lambda: dcgan_generator((8, 8, 1), 4, 3, base_filters=4),
        lambda: dcgan_discriminator((8, 8, 1), 3, base_filters=4),
        lambda: dcgan_discriminator((8, 8, 1), 3, base_filters=4, conditioning="projection"),
        lambda: _with_distinct_class_rows(
            dcgan_generator((8, 8, 1), 4, 3, base_filters=4, conditioning="batch_norm")
        ),
        lambda: mlp_generator((2,), 4, (8,), num_classes=3),
        lambda: mlp_discriminator((2,), (8,), num_classes=3),
    ],
)
def test_every_conditional_builder_has_the_same_labels_input(build):
    """Export and `AdversarialModel` pass `[x, labels]`: labels second, int32, shape (batch,)."""
    network = build()
    labels = network.inputs[1]
    assert labels.name.startswith("labels")
    assert labels.dtype == "int32" and tuple(labels.shape) == (None,)
    # Not zeros: a projection discriminator's features, and so its label term, vanish on them.
    x = np.random.default_rng(0).uniform(-1, 1, (2, *network.inputs[0].shape[1:]))
    x = x.astype("float32")
    first = keras.ops.convert_to_numpy(network([x, np.array([0, 0])]))
    other = keras.ops.convert_to_numpy(network([x, np.array([1, 2])]))
    assert not np.allclose(first, other)  # The label reaches the output.


def test_projection_discriminator_adds_the_class_embeddings_inner_product_to_the_logit():
    discriminator = dcgan_discriminator(
        (16, 16, 3), 4, base_filters=4, normalization=None, conditioning="projection"
    )
    assert "label_map" not in [layer.name for layer in discriminator.layers]
    embedding = discriminator.get_layer("class_embedding")
    shape = tuple(embedding.embeddings.shape)  # (classes, features: 4 x 4 x 8)
    assert shape == (4, 128)
    embedding.set_weights([np.random.default_rng(0).normal(size=shape).astype("float32")])
    images = np.random.default_rng(1).uniform(-1, 1, (3, 16, 16, 3)).astype("float32")
    labels = np.array([0, 3, 3])
    features = keras.Model(discriminator.inputs, discriminator.get_layer("flatten").output)
    h = keras.ops.convert_to_numpy(features([images, labels]))
    unconditional = keras.ops.convert_to_numpy(discriminator.get_layer("logits")(h))
    expected = unconditional[:, 0] + np.sum(embedding.get_weights()[0][labels] * h, axis=1)
    logits = keras.ops.convert_to_numpy(discriminator([images, labels]))
    np.testing.assert_allclose(logits[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_batch_norm_conditioning_tells_every_stage_of_the_generator_the_class():
    generator = dcgan_generator((16, 16, 3), 4, 3, base_filters=4, conditioning="batch_norm")
    names = [layer.name for layer in generator.layers]
    assert "z_and_class" not in names  # z goes in alone.
    norms = [
        layer
        for layer in generator.layers
        if isinstance(layer, kgan.layers.ClassConditionalBatchNormalization)
    ]
    # The projection and each upsampling stage but the last, which maps to the image.
    assert [layer.name for layer in norms] == ["project_norm", "up_0_norm"]
    assert not [w for w in generator.weights if w.path.endswith("norm/gamma") and w.ndim == 1]
    # A class row changes only that class's images.
    z = np.random.default_rng(0).normal(size=(4, 4)).astype("float32")
    labels = np.array([0, 1, 2, 0])
    before = keras.ops.convert_to_numpy(generator([z, labels]))
    beta = norms[1].beta.numpy()
    beta[1] += 1.0
    norms[1].beta.assign(beta)
    after = keras.ops.convert_to_numpy(generator([z, labels]))
    changed = np.abs(after - before).reshape(4, -1).max(axis=1) > 1e-6
    assert changed.tolist() == [False, True, False, False]


def test_projection_discriminator_trains_under_mixed_precision_and_reloads(tmp_path):
    import kgan

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        gan = kgan.GAN(
            dcgan_generator((8, 8, 3), 4, 2, base_filters=4),
            _sn_projection_discriminator(),
            num_classes=2,
            seed=0,
        )
        gan.compile()
        embedding = gan.discriminator.get_layer("class_embedding")
        initial = embedding.get_weights()[0]
        images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 3)).astype("float32")
        history = gan.fit(images, np.arange(16) % 2, batch_size=8, epochs=1, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.isfinite(history.history["d_loss"][-1])
    assert gan.discriminator.get_layer("down_0").compute_dtype == "bfloat16"
    assert gan.discriminator.output.dtype == "float32"
    # The class embedding learns (under spectral norm too): the gradient reaches it.
    assert not np.allclose(embedding.get_weights()[0], initial)
    gan.save(tmp_path / "gan.keras")
    reloaded = keras.saving.load_model(tmp_path / "gan.keras")
    x = [images[:2], np.array([0, 1])]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(reloaded.discriminator(x)),
        keras.ops.convert_to_numpy(gan.discriminator(x)),
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dcgan_generator((28, 28), 8), r"Received: image_shape=\(28, 28\)"),
        (lambda: dcgan_generator((28, 28, 1), 0), "Received: latent_dim=0"),
        (
            lambda: dcgan_discriminator((28, 28, 1), normalization="x"),
            "Received: normalization='x'",
        ),
        (
            lambda: dcgan_discriminator((28, 28, 1), 10, conditioning="concat"),
            "Received: conditioning='concat'",
        ),
        (
            lambda: dcgan_discriminator((28, 28, 1), conditioning="projection"),
            "Received: num_classes=None",
        ),
        (
            lambda: dcgan_generator((28, 28, 1), 8, 10, conditioning="projection"),
            "Received: conditioning='projection'",
        ),
        (
            lambda: dcgan_generator((28, 28, 1), 8, conditioning="batch_norm"),
            "Received: num_classes=None",
        ),
        (
            lambda: dcgan_generator(
                (28, 28, 1), 8, 10, normalization="layer", conditioning="batch_norm"
            ),
            "Received: normalization='layer'",
        ),
        (lambda: mlp_generator((2,), hidden_units=(0,)), "Received: hidden_units=0"),
        (lambda: dcgan_generator((8, 8, 1), num_classes=1), "Received: num_classes=1"),
        (lambda: dcgan_discriminator((8, 8, 1), 1), "Received: num_classes=1"),
        (lambda: mlp_generator((2,), num_classes=1), "Received: num_classes=1"),
        (lambda: mlp_discriminator((2,), num_classes=1), "Received: num_classes=1"),
        (lambda: dcgan_generator((8.5, 8, 1)), r"Received: image_shape=\(8.5, 8, 1\)"),
        (lambda: dcgan_discriminator((8, 8.0, 1)), r"Received: image_shape=\(8, 8.0, 1\)"),
        (lambda: dcgan_generator((8, 8, True)), r"Received: image_shape=\(8, 8, True\)"),
        (lambda: dcgan_discriminator((8, "8", 1)), r"Received: image_shape=\(8, '8', 1\)"),
    ],
)
def test_builders_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_builders_take_numpy_integer_image_shapes():
    shape = np.array([8, 8, 1])
    assert dcgan_generator(shape, 8, base_filters=4).output_shape == (None, 8, 8, 1)
    assert dcgan_discriminator(tuple(shape), base_filters=4).input_shape == (None, 8, 8, 1)
