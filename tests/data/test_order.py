"""Epoch-indexed shuffling: with a seed, epoch e's order is a function of (seed, e) only."""

import numpy as np
import tensorflow as tf

import kgan
from kgan.data import order, pipeline


def _passes(dataset, count):
    return [np.concatenate([np.asarray(batch).ravel() for batch in dataset]) for _ in range(count)]


def _arrays_dataset(seed=7):
    values = np.arange(40, dtype="float32").reshape(40, 1, 1, 1) / 20 - 1
    return kgan.data.from_arrays(values, batch_size=8, seed=seed)


def test_seeded_passes_are_permutations_that_differ():
    passes = _passes(_arrays_dataset(), 3)
    for values in passes:
        assert sorted(values.tolist()) == sorted(passes[0].tolist())
    assert not np.array_equal(passes[0], passes[1])
    assert not np.array_equal(passes[1], passes[2])
    # Another seed, another sequence; the same seed, the same sequence in a new dataset.
    assert not np.array_equal(_passes(_arrays_dataset(seed=8), 1)[0], passes[0])
    np.testing.assert_array_equal(_passes(_arrays_dataset(), 3), passes)


def test_a_new_dataset_set_to_epoch_k_gives_the_kth_order():
    passes = _passes(_arrays_dataset(), 3)
    resumed = _arrays_dataset()
    assert resumed.cardinality() == 5  # The length is still known.
    resumed.epoch_order.counter.assign(2)
    np.testing.assert_array_equal(_passes(resumed, 1)[0], passes[2])


def test_the_sync_callback_follows_fit_epochs_and_repeated_fit_calls():
    passes = _passes(_arrays_dataset(), 4)
    dataset = _arrays_dataset()
    next(iter(dataset))  # A peek before fit (kgan's first-batch check) changes nothing.
    sync = order.EpochOrderSync(order.epoch_order_of(dataset))
    # fit(initial_epoch=1, epochs=3): epochs 1 and 2.
    seen = []
    for epoch in (1, 2):
        sync.on_epoch_begin(epoch)
        seen.append(_passes(dataset, 1)[0])
    sync.on_train_end()
    np.testing.assert_array_equal(seen, passes[1:3])
    # A second fit(epochs=1) on the same dataset goes on to the next order.
    sync = order.EpochOrderSync(order.epoch_order_of(dataset))
    sync.on_epoch_begin(0)
    np.testing.assert_array_equal(_passes(dataset, 1)[0], passes[3])


def test_unseeded_datasets_have_no_epoch_order():
    values = np.zeros((16, 2, 2, 1), "float32")
    assert order.epoch_order_of(kgan.data.from_arrays(values, batch_size=4)) is None
    assert order.epoch_order_of(tf.data.Dataset.range(3)) is None


def test_streamed_pipelines_are_indexed_by_epoch_too():
    def streamed():
        examples = tf.data.Dataset.from_tensor_slices(np.arange(30, dtype="uint8"))
        return pipeline.streamed_dataset(
            examples.map(lambda x: tf.reshape(x, (1, 1, 1))),
            batch_size=6,
            shuffle=True,
            seed=4,
            drop_remainder=False,
        )

    passes = _passes(streamed(), 3)
    assert not np.array_equal(passes[0], passes[1])
    resumed = streamed()
    resumed.epoch_order.counter.assign(2)
    np.testing.assert_array_equal(_passes(resumed, 1)[0], passes[2])
