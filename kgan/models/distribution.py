"""What kgan's models do under `tf.distribute`: the loss reduced over the global batch
(`global_mean_loss`), and what they do differently to train on several machines.

Keras 3 (3.15 and earlier) cannot run `fit` under `MultiWorkerMirroredStrategy` with more than
one worker, for plain Keras models too (tensorflow/tensorflow#72388), for two reasons:

* `reduce_per_replica` reduces the logs of `train_step` with
  `strategy.reduce("MEAN", value, axis=0)`, which fails on the scalar metrics every train step
  returns ("Invalid reduction dimension 0 for input with 0 dimensions").
* `_maybe_symbolic_build` reduces the first batch with `strategy.reduce("MEAN", batch,
  axis=None)`, which `MultiWorkerMirroredStrategy` cannot do on a `(samples, labels)` pair.

kgan's models give their logs one axis of length 1 under several workers, so that the mean over
axis 0 of the replicas' values concatenated is the usual scalar (`step_logs`), and skip the
symbolic build, which has nothing to build for them (`needs_symbolic_build`). Both changes
apply to kgan's models only and leave other Keras models alone.
"""

import tensorflow as tf


def is_multi_worker(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` spanning more than one worker.

    This is the condition under which Keras reduces logs over axis 0 (`worker_devices` lists
    this worker's devices; `num_replicas_in_sync` counts those of every worker).
    """
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.num_replicas_in_sync > len(strategy.extended.worker_devices)
    )


def step_logs(values):
    """The logs of one train (or test) step, shaped for Keras' reduction over the replicas.

    Args:
        values: dict name -> scalar tensor, this replica's values.

    Returns:
        `values` unchanged, or, inside a multi-worker replica context, each value reshaped to
        `(1,)`: Keras then reduces them with `strategy.reduce("MEAN", value, axis=0)`, which
        gives back a scalar (the mean over the replicas).
    """
    if tf.distribute.in_cross_replica_context():
        return values
    if not is_multi_worker(tf.distribute.get_strategy()):
        return values
    return {name: tf.reshape(value, [1]) for name, value in values.items()}


def needs_symbolic_build(strategy):
    """Whether Keras' symbolic build must run before `fit` under `strategy`.

    kgan's models are built when they are created and their optimisers in `compile`, and they
    compile no Keras loss or metric, so the symbolic build has nothing to do; under several
    workers it also fails (see the module docstring), so it is skipped there.
    """
    return not is_multi_worker(strategy)


def global_mean_loss(per_example_loss, network):
    """The loss to minimise: the mean over the *global* batch, plus `network`'s own
    regularisation losses (`network.losses`).

    The optimisers sum gradients over replicas, so dividing by the global batch size
    (and the regularisation by the number of replicas) gives the gradient of the mean loss
    over the global batch, whatever the number of replicas.
    """
    loss = tf.nn.compute_average_loss(per_example_loss)
    if not network.losses:
        return loss
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context is not None else 1
    return loss + tf.add_n([tf.cast(x, tf.float32) for x in network.losses]) / replicas
