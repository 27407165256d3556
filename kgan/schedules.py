"""Learning-rate schedules for the optimisers of a GAN.

    lr = kgan.schedules.LinearDecay(5e-4, total_steps=30000, decay_start=20000)
    gan.compile(g_optimizer=keras.optimizers.Adam(lr, 0.5, 0.99), ...)

A recipe takes one with its `lr_decay_from` setting (`kgan.recipes.build`), which gives both of
its optimisers a `LinearDecay` over the steps the model is trained for.
"""

import keras
from keras import ops

from kgan._validation import check_positive_int


@keras.saving.register_keras_serializable(package="kgan")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant, then falling linearly to zero.

    The learning rate is `learning_rate` for an optimiser's first `decay_start` updates, then
    falls linearly to reach zero at update `total_steps`, and stays at zero after it; the
    updates of the decay take `learning_rate * (total_steps - step) / (total_steps -
    decay_start)` at optimiser step `step` (counted from 0). With `decay_start=0` it is the
    schedule of WGAN-GP's published CIFAR-10 code (its `DECAY` option).

    Args:
        learning_rate: the learning rate before the decay, a positive number.
        total_steps: the optimiser's updates over the whole training, where the rate reaches
            zero. An optimiser updated several times a step (the critic of `kgan.WGANGP`, `n_critic`
            times) counts each update.
        decay_start: the update the decay starts at, from 0 (decay from the first) to
            `total_steps - 1`.
    """

    def __init__(self, learning_rate, total_steps, decay_start):
        if isinstance(learning_rate, bool) or not (
            isinstance(learning_rate, (int, float)) and 0 < learning_rate < float("inf")
        ):
            raise ValueError(
                "`learning_rate` must be a positive, finite number. "
                f"Received: learning_rate={learning_rate!r}"
            )
        check_positive_int("total_steps", total_steps)
        if isinstance(decay_start, bool) or not (
            isinstance(decay_start, int) and 0 <= decay_start < total_steps
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
