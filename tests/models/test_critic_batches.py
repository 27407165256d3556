"""WGAN / WGAN-GP: every critic update trains on its own real batch (`critic_batches="fresh"`)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan.models import mlp_generator

# Real samples are their own index plus 10 (one number each); generated ones are in (-1, 1).
OFFSET = 10.0


class _RealRecorder(keras.layers.Layer):
    """Records, per training-mode call, the indices of the real samples among its inputs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []

    def call(self, inputs, training=None):
        if training:
            values = keras.ops.convert_to_numpy(inputs)[:, 0]
            self.calls.append(sorted(int(v - OFFSET) for v in values if v >= OFFSET - 0.5))
        return inputs


def _probed_wgan(n_critic, **kwargs):
    generator = mlp_generator((1,), latent_dim=2, hidden_units=(4,))
    recorder = _RealRecorder()
    critic = keras.Sequential([keras.Input((1,)), recorder, keras.layers.Dense(1)])
    model = kgan.WGAN(generator, critic, n_critic=n_critic, clip_value=1.0, seed=0, **kwargs)
    model.compile(keras.optimizers.SGD(1e-3), keras.optimizers.SGD(1e-3), run_eagerly=True)
    return model, recorder


def _data(count):
    return (np.arange(count, dtype="float32") + OFFSET)[:, None]


def test_each_critic_update_sees_its_own_batch():
    model, recorder = _probed_wgan(3)
    dataset = tf.data.Dataset.from_tensor_slices(_data(24)).batch(4)  # 6 batches of 4.
    history = model.fit(dataset, epochs=1, verbose=0)
    # 6 batches -> 2 steps (generator updates), each with 3 critic updates.
    assert int(model.g_optimizer.iterations) == 2
    assert int(model.d_optimizer.iterations) == 6
    assert len(history.history["d_loss"]) == 1
    # Per step: 3 x (real, fake) critic calls, then the generator's call on fakes.
    real_calls = [call for call in recorder.calls if call]
    assert len(recorder.calls) == 2 * (3 * 2 + 1)
    assert real_calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] + [
        [12, 13, 14, 15],
        [16, 17, 18, 19],
        [20, 21, 22, 23],
    ]


def test_arrays_are_cut_into_n_critic_batches_of_batch_size():
    model, recorder = _probed_wgan(2)
    model.fit(_data(12), batch_size=3, epochs=1, shuffle=False, verbose=0)
    assert int(model.g_optimizer.iterations) == 2
    real_calls = [call for call in recorder.calls if call]
    assert real_calls == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


def test_a_remainder_is_dropped_cleanly_from_arrays_and_datasets_alike():
    """14 examples, batches of 3, n_critic 2: two groups of 6; the 2 examples left over are
    dropped from the epoch, and every critic and generator update has 3 examples (arrays used
    to end with a batch of 2 cut into critic batches of 1 and a generator batch of 1)."""
    dataset = tf.data.Dataset.from_tensor_slices(_data(14)).batch(3)  # 3, 3, 3, 3, 2
    for data, options in ((_data(14), {"batch_size": 3, "shuffle": False}), (dataset, {})):
        model, recorder = _probed_wgan(2)
        model.fit(data, epochs=1, verbose=0, **options)
        assert int(model.g_optimizer.iterations) == 2
        assert int(model.d_optimizer.iterations) == 4
        real_calls = [call for call in recorder.calls if call]
        assert real_calls == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
        # Every call (real and fake for the critic, fake for the generator) has 3 examples.
        assert {len(call) for call in real_calls} == {3}
        assert len(recorder.calls) == 2 * (2 * 2 + 1)


def test_shuffled_arrays_drop_other_examples_each_epoch():
    model, recorder = _probed_wgan(2)
    keras.utils.set_random_seed(0)
    model.fit(_data(14), batch_size=3, epochs=6, verbose=0)
    assert int(model.g_optimizer.iterations) == 6 * 2
    real_calls = [call for call in recorder.calls if call]
    assert len(real_calls) == 6 * 4 and {len(call) for call in real_calls} == {3}
    epochs = [sum(real_calls[4 * e : 4 * e + 4], []) for e in range(6)]
    # Each epoch trains on 12 distinct examples; over the epochs every example is used.
    assert all(len(set(epoch)) == 12 for epoch in epochs)
    assert set(sum(epochs, [])) == set(range(14))


def test_validation_split_of_arrays_is_kept_out_of_training():
    model, recorder = _probed_wgan(2)
    history = model.fit(_data(15), batch_size=3, validation_split=0.2, shuffle=False, verbose=0)
    # Training on the first 12 examples (2 steps), validation on the last 3.
    real_calls = [call for call in recorder.calls if call]
    assert real_calls == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert "val_d_loss" in history.history


def test_reuse_trains_every_critic_update_on_the_same_batch():
    model, recorder = _probed_wgan(3, critic_batches="reuse")
    model.fit(tf.data.Dataset.from_tensor_slices(_data(8)).batch(4), epochs=1, verbose=0)
    assert int(model.g_optimizer.iterations) == 2
    assert int(model.d_optimizer.iterations) == 6
    real_calls = [call for call in recorder.calls if call]
    assert real_calls == [[0, 1, 2, 3]] * 3 + [[4, 5, 6, 7]] * 3


def test_fewer_batches_than_n_critic_make_one_step_that_shares_them_out():
    model, recorder = _probed_wgan(3)
    model.fit(tf.data.Dataset.from_tensor_slices(_data(8)).batch(4), epochs=1, verbose=0)
    assert int(model.g_optimizer.iterations) == 1
    real_calls = [call for call in recorder.calls if call]
    assert real_calls == [[0, 1], [2, 3], [4, 5]]


def test_fresh_batches_need_a_dataset_or_arrays():
    model, _ = _probed_wgan(3)

    def batches():
        yield _data(4)

    with pytest.raises(ValueError, match="Received: x of type generator"):
        model.fit(batches(), verbose=0)
    with pytest.raises(ValueError, match="Received: critic_batches='new'"):
        critic = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        kgan.WGANGP(mlp_generator((1,)), critic, critic_batches="new")


def test_critic_batches_is_saved(tmp_path):
    model, _ = _probed_wgan(2, critic_batches="reuse")
    assert model.get_config()["critic_batches"] == "reuse"
    gp = kgan.WGANGP(
        mlp_generator((1,), latent_dim=2),
        keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]),
        critic_batches="reuse",
    )
    gp.save(tmp_path / "gp.keras")
    assert keras.saving.load_model(tmp_path / "gp.keras").critic_batches == "reuse"
