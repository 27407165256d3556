"""No wait for tf.data's autotuning thread at the end of `fit` (see `without_autotune_thread`).

The wait itself depends on the machine's load and is measured by
`tools/benchmark_fit_wait.py`; these tests check that every dataset kgan builds, and every
dataset given to a kgan model's `fit`, reaches Keras with the thread off, unless the user chose.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.data import pipeline
from kgan.models import mlp_discriminator, mlp_generator


def _autotune(dataset, enabled):
    options = tf.data.Options()
    options.autotune.enabled = enabled
    return dataset.with_options(options)


def test_kgan_pipelines_run_without_the_autotuning_thread():
    images = np.zeros((8, 4, 4, 1), "uint8")
    in_memory = kgan.data.from_arrays(images, batch_size=4, seed=0)
    streamed = pipeline.streamed_dataset(
        tf.data.Dataset.from_tensor_slices(images),
        batch_size=4,
        shuffle=True,
        seed=0,
        drop_remainder=False,
    )
    for dataset in (in_memory, streamed):
        assert dataset.options().autotune.enabled is False
        assert next(iter(dataset)).shape == (4, 4, 4, 1)
    # The seeded epoch order that resuming relies on is still attached.
    assert kgan.data.order.epoch_order_of(in_memory) is not None


def test_an_explicit_user_choice_is_kept():
    dataset = tf.data.Dataset.range(4)
    assert pipeline.without_autotune_thread(dataset).options().autotune.enabled is False
    for enabled in (True, False):
        chosen = _autotune(dataset, enabled)
        assert pipeline.without_autotune_thread(chosen).options().autotune.enabled is enabled


@pytest.mark.parametrize("user_choice", [None, True])
def test_fit_gives_keras_the_dataset_without_the_thread(monkeypatch, user_choice):
    seen = {}

    def keras_fit(self, x=None, y=None, *args, **kwargs):
        seen["train"] = x.options().autotune.enabled
        seen["validation"] = kwargs["validation_data"].options().autotune.enabled

    monkeypatch.setattr(keras.Model, "fit", keras_fit)
    gan = kgan.GAN(mlp_generator((4,), 2, (8,)), mlp_discriminator((4,), (8,)))
    gan.compile()
    data = tf.data.Dataset.from_tensor_slices(np.zeros((8, 4), "float32")).batch(4)
    if user_choice is not None:
        data = _autotune(data, user_choice)
    gan.fit(data, validation_data=data)
    expected = False if user_choice is None else user_choice
    assert seen == {"train": expected, "validation": expected}
