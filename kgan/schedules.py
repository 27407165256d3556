"""Learning-rate schedules for the optimisers of a GAN.

    lr = kgan.schedules.LinearDecay(5e-4, total_steps=30000, decay_start=20000)
    gan.compile(g_optimizer=keras.optimizers.Adam(lr, 0.5, 0.99), ...)

A recipe takes one with its `lr_decay_from` setting (`kgan.recipes.build`), which gives both of
its optimisers a `LinearDecay` over the steps the model is trained for.
"""

import numbers

import keras
from keras import ops

from kgan._validation import check_positive_int


@keras.saving.register_keras_serializable(package="kgan")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant, then falling linearly to zero.

    Update `step` of an optimiser (counted from 0, as Keras' `optimizer.iterations` counts
    them) takes `learning_rate * min(1, (total_steps - step) / (total_steps - decay_start))`:
    the full rate up to update `decay_start`, then less by equal amounts down to
    `learning_rate / (total_steps - decay_start)` at the last update, `total_steps - 1`, and
    zero after it. With `decay_start=0` it is the schedule of WGAN-GP's published CIFAR-10 code
    (its `DECAY` option), where the critic's updates of one step share the generator's rate
    (here each counts).

    Args:
        learning_rate: the learning rate before the decay, a positive number.
        total_steps: the optimiser's updates over the whole training. An optimiser updated
            several times a step (the critic of `kgan.WGANGP`, `n_critic` times) counts each
            update. An update that a mixed-precision loss scale skips (its gradients not
            finite) does not count, so such a run ends with the rate not quite at zero.
        decay_start: the last update at the full rate, from 0 to `total_steps - 1`.
    """

    def __init__(self, learning_rate, total_steps, decay_start):
        if isinstance(learning_rate, bool) or not (
            isinstance(learning_rate, numbers.Real) and 0 < learning_rate < float("inf")
        ):
            raise ValueError(
                "`learning_rate` must be a positive, finite number. "
                f"Received: learning_rate={learning_rate!r}"
            )
        check_positive_int("total_steps", total_steps)
        if isinstance(decay_start, bool) or not (
            isinstance(decay_start, numbers.Integral) and 0 <= decay_start < total_steps
        ):
            raise ValueError(
                f"`decay_start` must be an integer from 0 to total_steps - 1 = "
                f"{total_steps - 1}. Received: decay_start={decay_start!r}"
            )
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = int(decay_start)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        remaining = (self.total_steps - step) / (self.total_steps - self.decay_start)
        return self.learning_rate * ops.clip(remaining, 0.0, 1.0)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "decay_start": self.decay_start,
        }
