"""PacGAN's packing: the layers, a packing discriminator, and a GAN trained with one."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.layers import Pack, Unpack
from kgan.models import dcgan_discriminator, dcgan_generator
from kgan.networks.packing import packing_of


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_pack_concatenates_consecutive_samples_along_the_last_axis():
    images = np.arange(6 * 2 * 2 * 3, dtype="float32").reshape(6, 2, 2, 3)
    packed = _numpy(Pack(3)(images))
    assert packed.shape == (2, 2, 2, 9)
    for pack in range(2):
        for member in range(3):
            np.testing.assert_array_equal(
                packed[pack, ..., 3 * member : 3 * member + 3], images[3 * pack + member]
            )
    vectors = np.arange(8, dtype="float32").reshape(4, 2)
    np.testing.assert_array_equal(_numpy(Pack(2)(vectors)), [[0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(_numpy(Unpack(2)(np.array([[1.0], [2.0]]))), [[1], [1], [2], [2]])
    assert Pack(2).compute_output_shape((None, 8, 8, 3)) == (None, 8, 8, 6)
    assert Unpack(2).compute_output_shape((5, 1)) == (10, 1)


def test_each_sample_gets_the_logit_of_its_pack_which_sees_every_member():
    discriminator = dcgan_discriminator((8, 8, 3), base_filters=4, normalization=None, packing=2)
    assert packing_of(discriminator) == 2 and discriminator.output_shape == (None, 1)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 3)).astype("float32")
    logits = _numpy(discriminator(images))[:, 0]
    assert logits[0] == logits[1] and logits[2] == logits[3] and logits[0] != logits[2]
    changed = images.copy()
    changed[1] = -changed[1]  # The second member of the first pack.
    other = _numpy(discriminator(changed))[:, 0]
    assert other[0] != logits[0] and other[0] == other[1]
    np.testing.assert_array_equal(other[2:], logits[2:])


def test_a_gan_with_a_packing_discriminator_trains_in_mixed_precision_and_reloads(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        gan = kgan.GAN(
            dcgan_generator((8, 8, 3), 4, base_filters=4),
            dcgan_discriminator((8, 8, 3), base_filters=4, normalization=None, packing=3),
            r1_weight=1.0,
            seed=0,
        )  # Built with a probe of two packs: six samples.
        gan.compile()
        images = np.random.default_rng(0).uniform(-1, 1, (24, 8, 8, 3)).astype("float32")
        dataset = tf.data.Dataset.from_tensor_slices(images).batch(12)
        history = gan.fit(dataset, epochs=2, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert gan.discriminator.output.dtype == "float32"
    gan.save(tmp_path / "gan.keras")
    reloaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert packing_of(reloaded.discriminator) == 3
    np.testing.assert_allclose(
        _numpy(reloaded.discriminator(images[:6])), _numpy(gan.discriminator(images[:6]))
    )


def _packing_gan():
    gan = kgan.GAN(
        dcgan_generator((8, 8, 1), 4, base_filters=4),
        dcgan_discriminator((8, 8, 1), base_filters=4, normalization=None, packing=2),
        seed=0,
    )
    gan.compile()
    return gan


@pytest.mark.parametrize(
    ("fit_kwargs", "message"),
    [
        ({"batch_size": 8}, r"21 training samples in batches of 8 end with a batch of 5\. "
                            r"Received: batch_size=8"),
        ({"batch_size": 7}, r"batches of 7\. Received: batch_size=7"),
        # 24 samples: 19 to train on (batches 8, 8, 3), 5 to validate on.
        ({"batch_size": 8, "validation_split": 0.2}, "end with a batch of 3"),
        ({"batch_size": 10, "validation_split": 1 / 6, "validation_batch_size": 3},
         r"batches of 3\. Received: validation_batch_size=3"),
        ({"batch_size": 4, "validation_data": np.zeros((5, 8, 8, 1), "float32")},
         r"5 validation samples in batches of 4 end with a batch of 1"),
        ({"validation_data": tf.data.Dataset.from_tensor_slices(np.zeros((3, 8, 8, 1))).batch(3)},
         "Received: a first validation batch of 3"),
    ],
)  # fmt: skip
def test_batches_that_do_not_split_into_packs_are_clear_errors(fit_kwargs, message):
    plain = fit_kwargs.get("batch_size") in (7, 8) and "validation_split" not in fit_kwargs
    images = np.zeros((21 if plain else 24, 8, 8, 1), "float32")
    with pytest.raises(ValueError, match=message):
        _packing_gan().fit(images, epochs=1, verbose=0, **fit_kwargs)


def test_a_first_batch_that_does_not_split_and_an_unchecked_call_are_clear_errors():
    gan = _packing_gan()
    images = np.zeros((21, 8, 8, 1), "float32")
    with pytest.raises(ValueError, match="Received: a first batch of 7"):
        gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(7), epochs=1, verbose=0)
    # A batch that only the running step sees (no input checks) stops it with the same words.
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be a multiple of 2"):
        gan.discriminator(images[:3])


def test_each_replica_needs_whole_packs():
    from kgan.models.checks import check_packing

    discriminator = _packing_gan().discriminator
    images = np.zeros((24, 8, 8, 1), "float32")
    with pytest.raises(ValueError, match=r"on each of 2 replicas.*multiple of 4.*batch_size=6"):
        check_packing(
            discriminator, images, batched=False, fit_kwargs={"batch_size": 6}, replicas=2
        )
    check_packing(discriminator, images, batched=False, fit_kwargs={"batch_size": 8}, replicas=2)


def test_the_wgans_refuse_a_packing_discriminator():
    with pytest.raises(ValueError, match="Received: a discriminator with packing=2"):
        kgan.WGANGP(
            dcgan_generator((8, 8, 1), 4, base_filters=4),
            dcgan_discriminator((8, 8, 1), base_filters=4, normalization=None, packing=2),
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"packing": 0}, "Received: packing=0"),
        ({"packing": 2, "num_classes": 10}, "Received: packing=2, num_classes=10"),
    ],
)
def test_bad_packing_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dcgan_discriminator((8, 8, 1), **kwargs)
