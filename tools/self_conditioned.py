"""Self-conditioned training for the tools that screen or measure it (`screen_cifar10.py`,
`evaluate_stacked_mnist.py`): `kgan.callbacks.SelfConditioning` with the clusters fitted again
every `RECLUSTER_STEPS` generator steps, and a sampler of latent vectors alone."""

# Steps between two clusterings: a pass over Stacked MNIST's 128,000 images at batch 64, and
# about two and a half over CIFAR-10's 50,000.
RECLUSTER_STEPS = 2000


class LatentSampler:
    """`generate(n, seed=...)` of a generator of latent vectors alone, as the tools call it."""

    def __init__(self, generator, distribution):
        self.generator, self.distribution = generator, distribution
        self.latent_dim = generator.inputs[0].shape[-1]

    def generate(self, num_samples, seed=None, verbose=0):
        from kgan.models import sample_latent

        z = sample_latent(num_samples, self.latent_dim, seed=seed, distribution=self.distribution)
        return self.generator.predict(z, batch_size=500, verbose=verbose)


def train(gan, images, *, batch_size, steps, seed=0, recluster_steps=RECLUSTER_STEPS):
    """Trains the class-conditional `gan` for `steps` steps on clusters of its
    discriminator's features of `images`, clustered before training and after every
    `recluster_steps` steps but the last ones.

    Returns:
        `(sampler, clusterings)`: a `LatentSampler` of the model's generator of latent vectors
        alone, and how many times the images were clustered.
    """
    import kgan

    clusters = kgan.callbacks.SelfConditioning(gan, images, every_n_epochs=1, seed=seed)
    dataset = clusters.dataset(batch_size, seed=seed).repeat()
    # An epoch of `fit` is `recluster_steps` steps; the steps left over train after the last.
    chunks, rest = divmod(steps, recluster_steps)
    if chunks:
        fit = {"callbacks": [clusters], "verbose": 0}
        gan.fit(dataset, epochs=chunks, steps_per_epoch=recluster_steps, **fit)
    if rest:
        gan.fit(dataset, epochs=1, steps_per_epoch=rest, verbose=0)
    sampler = LatentSampler(clusters.generator(), gan.latent_distribution)
    return sampler, clusters.clusterings
