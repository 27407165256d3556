"""Epoch-indexed shuffling: with a seed, the order of epoch `e` is a pure function of `(seed, e)`.

tf.data's `shuffle(seed=s, reshuffle_each_iteration=True)` draws each pass's order from a
generator that advances with every pass over the dataset object. A run resumed at epoch 3 in a
new process builds a new dataset, whose first pass would replay epoch 0's order, and the
resumed run would train on other batches than the run it continues.

kgan's seeded pipelines therefore draw the order of a pass from `(seed, index)`, where `index`
lives in a variable of the dataset's `EpochOrder` (the attribute `dataset.epoch_order`). Each
pass starts by reading and incrementing it, so iterating the dataset by hand still reshuffles
every pass; and `fit` sets it to Keras' epoch number at the start of every epoch
(`EpochOrderSync`, which `kgan.GAN.fit` adds), so that epoch `e` sees the same order whether
the run started at epoch 0 or was resumed at `e`.
"""

import keras
import tensorflow as tf


class EpochOrder:
    """The position of a seeded kgan dataset in its sequence of epoch orders.

    Attributes:
        counter: int64 `tf.Variable`, the index of the order that the next pass draws.
        offset: index of the epoch 0 of the next `fit` call: after a `fit`, one past the last
            index it used, so that repeated `fit(epochs=1)` calls see new orders.
    """

    def __init__(self):
        # Created outside any `tf.function` or distribution scope: it belongs to the input
        # pipeline, which runs on the host.
        with tf.init_scope():
            self.counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch_order")
        self.offset = 0

    def next_index(self):
        """Inside the pipeline: the index of this pass's order; advances the counter."""
        return self.counter.assign_add(1) - 1


def _seed_pair(seed, index):
    return tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])


def shuffled_indices(num_examples, seed):
    """A dataset of `range(num_examples)`, permuted afresh each pass as a function of `(seed,
    pass index)`, and its `EpochOrder`."""
    order = EpochOrder()

    def one_pass(_):
        permutation = tf.random.experimental.stateless_shuffle(
            tf.range(num_examples, dtype=tf.int64), seed=_seed_pair(seed, order.next_index())
        )
        return tf.data.Dataset.from_tensor_slices(permutation)

    indices = tf.data.Dataset.range(1).flat_map(one_pass)
    return indices.apply(tf.data.experimental.assert_cardinality(num_examples)), order


def shuffled_examples(examples, buffer_size, seed):
    """`examples` through a shuffle buffer whose seed is a function of `(seed, pass index)`,
    and its `EpochOrder`.

    The buffer's seed also depends on TensorFlow's global seed (`tf.random.set_seed`), as any
    `Dataset.shuffle` does; `kgan train` sets it to the run's seed.
    """
    order = EpochOrder()
    count = int(examples.cardinality())

    def one_pass(_):
        # One op seed per pass, mixed from the seed and the pass index.
        pass_seed = tf.constant(seed, tf.int64) * 1_000_003 + order.next_index()
        return examples.shuffle(buffer_size, seed=pass_seed, reshuffle_each_iteration=False)

    shuffled = tf.data.Dataset.range(1).flat_map(one_pass)
    if count >= 0:
        shuffled = shuffled.apply(tf.data.experimental.assert_cardinality(count))
    return shuffled, order


def attach(dataset, order):
    """Sets `dataset.epoch_order` (when `order` is not `None`) and returns `dataset`."""
    if order is not None:
        dataset.epoch_order = order
    return dataset


def epoch_order_of(dataset):
    """The `EpochOrder` of a dataset made by kgan's seeded pipelines, else `None`."""
    order = getattr(dataset, "epoch_order", None)
    return order if isinstance(order, EpochOrder) else None


class EpochOrderSync(keras.callbacks.Callback):
    """Makes `fit`'s epoch `e` draw order `offset + e` of a kgan dataset (see module docstring).

    The counter is set at every epoch's start. Keras creates the iterator of an epoch before
    that (at the end of the previous one), but a pass reads the counter only when its first
    element is requested, which happens in the epoch's first step.
    """

    def __init__(self, order):
        super().__init__()
        self.order = order
        self._last_index = None

    def on_epoch_begin(self, epoch, logs=None):
        self._last_index = self.order.offset + epoch
        self.order.counter.assign(self._last_index)

    def on_train_end(self, logs=None):
        if self._last_index is not None:
            self.order.offset = self._last_index + 1
