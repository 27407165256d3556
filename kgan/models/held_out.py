"""What `test_step` (`evaluate`, `test_on_batch`, `fit(validation_data=...)`) needs besides the
losses: noise of its own, and logs of the metrics it measured (`HeldOutEvaluation`, a base
class of `AdversarialModel`).

A test step scores the adversarial game on held-out data: the discriminator on held-out real
samples and on samples generated from fresh noise. That noise must not come from the model's
training noise generator, whose state decides the noise of the next training steps (and is
saved with the model): evaluating a model would otherwise change how it goes on training. The
evaluation draws from a generator of its own instead, which restarts at its seed at the start of
every `evaluate` or `test_on_batch` call, so the same weights and data always give the same
numbers.
"""

import keras

from kgan.models import distribution, noise


class HeldOutNoise:
    """The noise of test steps: a `keras.random.SeedGenerator` that `reset` restarts.

    Args:
        seed: the model's seed; `None` draws one once, when the model is created.
    """

    def __init__(self, seed):
        # A different stream from the training noise drawn from the same seed.
        seed = None if seed is None else seed + 1
        self.seed_generator = keras.random.SeedGenerator(seed, name="held_out_noise_seed")
        self._start = self.seed_generator.state.numpy()

    def reset(self):
        """Restarts the noise at its seed (called at the start of every evaluation)."""
        self.seed_generator.state.assign(self._start)

    def latent(self, batch_size, latent_dim, latent_distribution):
        """This replica's latent vectors, as `AdversarialModel._sample_z` draws them."""
        return noise.replica_latent(
            batch_size, latent_dim, latent_distribution, seed=self.seed_generator
        )

    def uniform(self, batch_size, inner_shape=()):
        """This replica's U(0, 1) values (the gradient penalty's interpolation weights)."""
        return noise.replica_noise("uniform", batch_size, inner_shape, seed=self.seed_generator)


class HeldOutEvaluation:
    """The part of `AdversarialModel` that `evaluate` and the subclasses' `test_step` use.

    The model sets `_held_out_noise` (a `HeldOutNoise`) and `_trackers` (name -> Mean).
    """

    def evaluate(self, *args, **kwargs):
        """`keras.Model.evaluate`: the losses and balance metrics on held-out data, without
        updating any weight, optimiser or the training noise (see each model's `test_step`).

        The generated half of each batch comes from noise of its own that restarts at every
        call, so the same weights and data give the same numbers. `fit(validation_data=...)`
        reports the same metrics with the prefix `val_`.
        """
        self._held_out_noise.reset()
        return super().evaluate(*args, **kwargs)

    def test_on_batch(self, *args, **kwargs):
        """`keras.Model.test_on_batch`, with the held-out noise of `evaluate`."""
        self._held_out_noise.reset()
        return super().test_on_batch(*args, **kwargs)

    def _held_out_z(self, batch_size):
        """Latent vectors of a test step, from the held-out noise."""
        return self._held_out_noise.latent(batch_size, self.latent_dim, self.latent_distribution)

    def _track_held_out(self, **values):
        """Adds one test step's values to the running means; returns the logs of `test_step`:
        the means of the metrics in `values` only. Training metrics that a test step does not
        measure (a penalty computed from the training gradients, say) are left out rather than
        reported as 0."""
        for name, value in values.items():
            self._trackers[name].update_state(value)
        logs = {name: self._trackers[name].result() for name in values}
        return distribution.step_logs(logs)
