import keras
import numpy as np
import pytest

import kgan
from kgan.layers import ClassConditionalBatchNormalization, DownsampleBlock, UpsampleBlock


@pytest.mark.parametrize("method", ["transpose", "nearest"])
@pytest.mark.parametrize("kernel_size", [3, 4, 5])
def test_upsample_block_doubles_size(method, kernel_size):
    block = UpsampleBlock(16, kernel_size=kernel_size, method=method)
    out = block(np.zeros((2, 7, 5, 8), "float32"))
    assert tuple(out.shape) == (2, 14, 10, 16)
    assert block.compute_output_shape((None, 7, 5, 8)) == (None, 14, 10, 16)


def test_upsample_block_weights():
    block = UpsampleBlock(16, kernel_size=4, method="transpose", normalization="batch")
    block.build((None, 4, 4, 8))
    # Kernel 4x4x16x8 (no bias before batch norm), then gamma, beta, moving mean and variance.
    shapes = sorted(tuple(w.shape) for w in block.weights)
    assert shapes == sorted([(4, 4, 16, 8), (16,), (16,), (16,), (16,)])
    assert len(block.trainable_weights) == 3


def test_upsample_block_batch_norm_modes():
    block = UpsampleBlock(4, normalization="batch", activation=None)
    x = np.random.default_rng(0).normal(size=(8, 4, 4, 3)).astype("float32") * 5 + 3
    train_out = keras.ops.convert_to_numpy(block(x, training=True))
    # Training mode normalises with the batch statistics: per-channel mean ~0, variance ~1.
    np.testing.assert_allclose(train_out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    infer_out = keras.ops.convert_to_numpy(block(x, training=False))
    assert not np.allclose(train_out, infer_out)


def test_downsample_block_shapes_and_pooling():
    strided = DownsampleBlock(8, method="strided")
    pooled = DownsampleBlock(8, method="average_pool")
    x = np.zeros((2, 28, 28, 1), "float32")
    assert tuple(strided(x).shape) == (2, 14, 14, 8)
    assert tuple(pooled(x).shape) == (2, 14, 14, 8)
    assert any(isinstance(layer, keras.layers.AveragePooling2D) for layer in pooled._sublayers)


def test_downsample_block_dropout_only_in_training():
    block = DownsampleBlock(8, dropout=0.5, activation=None, strides=1)
    x = np.ones((4, 6, 6, 3), "float32")
    a = keras.ops.convert_to_numpy(block(x, training=False))
    b = keras.ops.convert_to_numpy(block(x, training=False))
    np.testing.assert_array_equal(a, b)
    t = keras.ops.convert_to_numpy(block(x, training=True))
    assert (t == 0).mean() > 0.3


@pytest.mark.parametrize("cls", [UpsampleBlock, DownsampleBlock])
def test_blocks_serialize_round_trip(cls, tmp_path):
    block = cls(8, kernel_size=3, negative_slope=0.1, name="block")
    config = block.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    model = keras.Sequential([keras.Input((8, 8, 3)), block])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert type(loaded.layers[0]) is cls


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": 0}, "Received: filters=0"),
        ({"filters": 8, "method": "bilinear"}, "Received: method='bilinear'"),
        ({"filters": 8, "normalization": "group"}, "Received: normalization='group'"),
        ({"filters": 8, "negative_slope": -1}, "Received: negative_slope=-1"),
    ],
)
def test_upsample_block_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UpsampleBlock(**kwargs)


def test_downsample_block_rejects_bad_dropout():
    with pytest.raises(ValueError, match="Received: dropout=1.0"):
        DownsampleBlock(8, dropout=1.0)


def test_layers_are_public():
    assert kgan.layers.UpsampleBlock is UpsampleBlock
    assert kgan.layers.DownsampleBlock is DownsampleBlock
    assert kgan.layers.ClassConditionalBatchNormalization is ClassConditionalBatchNormalization


def _largest_singular_value(kernel):
    kernel = keras.ops.convert_to_numpy(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def test_downsample_block_spectral_norm_divides_the_kernel_by_its_norm_in_training():
    block = DownsampleBlock(8, kernel_size=3, spectral_norm=True, activation=None)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    block(x)
    wrapper = block._sublayers[0]
    assert isinstance(wrapper, keras.layers.SpectralNormalization)
    kernel = wrapper.layer.kernel
    kernel.assign(kernel * 50.0)  # Far from norm 1.
    before = _largest_singular_value(kernel)
    assert before > 5
    block(x, training=False)  # Inference leaves the kernel alone.
    assert _largest_singular_value(kernel) == pytest.approx(before)
    for _ in range(30):  # One power iteration per training call.
        block(x, training=True)
    assert _largest_singular_value(kernel) == pytest.approx(1.0, abs=0.02)


def test_downsample_block_spectral_norm_round_trip(tmp_path):
    block = DownsampleBlock(4, kernel_size=3, spectral_norm=True, name="block")
    assert block.get_config()["spectral_norm"] is True
    model = keras.Sequential([keras.Input((8, 8, 3)), block])
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    model(x, training=True)
    path = str(tmp_path / "sn.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[0].spectral_norm
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="Received: spectral_norm='yes'"):
        DownsampleBlock(4, spectral_norm="yes")


def _class_rows(layer, seed=0):
    """Gives `layer` distinct random gains and biases per class; returns them."""
    rng = np.random.default_rng(seed)
    gamma = rng.uniform(0.5, 2.0, tuple(layer.gamma.shape)).astype("float32")
    beta = rng.normal(size=tuple(layer.beta.shape)).astype("float32")
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    return gamma, beta


def test_class_conditional_batch_norm_scales_and_shifts_each_example_by_its_class():
    layer = ClassConditionalBatchNormalization(3)
    x = np.random.default_rng(1).normal(3.0, 2.0, (6, 4, 4, 5)).astype("float32")
    labels = np.array([0, 1, 2, 2, 1, 0])
    layer([x, labels])
    # Untrained, it is plain batch normalisation: gains 1, biases 0.
    plain = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False, scale=False)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer([x, labels], training=True)),
        keras.ops.convert_to_numpy(plain(x, training=True)),
        atol=1e-5,
    )
    gamma, beta = _class_rows(layer)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    x_hat = (x - mean) / np.sqrt(var + 1e-5)
    expected = x_hat * gamma[labels][:, None, None, :] + beta[labels][:, None, None, :]
    out = keras.ops.convert_to_numpy(layer([x, labels], training=True))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    # Two training calls updated the moving statistics (momentum 0.9), which inference uses.
    moving_mean = layer.normalize.moving_mean.numpy()
    np.testing.assert_allclose(moving_mean, 0.19 * mean, rtol=1e-4, atol=1e-5)
    moving_var = layer.normalize.moving_variance.numpy()
    inference = keras.ops.convert_to_numpy(layer([x, labels], training=False))
    x_moving = (x - moving_mean) / np.sqrt(moving_var + 1e-5)
    expected = x_moving * gamma[labels][:, None, None, :] + beta[labels][:, None, None, :]
    np.testing.assert_allclose(inference, expected, rtol=1e-4, atol=1e-4)
    assert len(layer.trainable_weights) == 2


def test_class_conditional_batch_norm_round_trips_and_computes_in_the_policy(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        x_in = keras.Input((4, 4, 5))
        labels_in = keras.Input((), dtype="int32")
        layer = ClassConditionalBatchNormalization(3, name="cbn")
        model = keras.Model([x_in, labels_in], layer([x_in, labels_in]))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    _class_rows(layer)
    assert layer.compute_dtype == "bfloat16" and layer.gamma.dtype == "float32"
    x = np.random.default_rng(2).normal(size=(4, 4, 4, 5)).astype("float32")
    labels = np.array([2, 0, 1, 2])
    out = model([x, labels])
    assert out.dtype == "bfloat16"
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    assert reloaded.get_layer("cbn").get_config() == layer.get_config()
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(keras.ops.cast(reloaded([x, labels]), "float32")),
        keras.ops.convert_to_numpy(keras.ops.cast(out, "float32")),
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 0}, "Received: num_classes=0"),
        ({"num_classes": 3, "synchronized": "yes"}, "Received: synchronized='yes'"),
    ],
)
def test_class_conditional_batch_norm_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassConditionalBatchNormalization(**kwargs)
