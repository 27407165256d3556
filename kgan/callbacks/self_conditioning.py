"""`SelfConditioning`: class-conditional training on unlabelled images, with clusters as classes.

The self-conditioned GAN (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned
GANs", arXiv:2006.10728) clusters the discriminator's features of the training images with
k-means and trains a class-conditional GAN on the cluster indices: the generator must then
produce every cluster, as often as the data holds it, which counters mode collapse without a
label. The clusters are fitted once before training, on the features of the discriminator as
initialised, and again every `every_n_epochs` epochs, each time starting from the means of
the previous clusters so that an index keeps its meaning.
"""

import keras
import numpy as np
import tensorflow as tf

from kgan import clustering
from kgan._validation import check_positive_int, check_seed
from kgan.networks.inputs import ClusterFromLatent

_FEATURE_BATCH = 500


class SelfConditioning(keras.callbacks.Callback):
    """Trains a class-conditional kgan model on unlabelled images, clusters standing for classes.

    Build the model class-conditional with `num_classes` clusters (the paper uses 100), train
    it on `dataset()`, whose labels are the images' current clusters, with this callback in
    `fit`, and sample it without labels through `generator()`:

    ```python
    gan = kgan.recipes.build("stacked_mnist", num_classes=100)
    clusters = kgan.callbacks.SelfConditioning(gan, images, every_n_epochs=2, seed=0)
    gan.fit(clusters.dataset(64), epochs=6, callbacks=[clusters])
    samples = clusters.generator().predict(z)   # z alone; clusters at their frequencies
    ```

    Args:
        model: the class-conditional kgan model to train (`num_classes` clusters).
        images: the training images, an array `(n, *sample_shape)` in the model's range.
        every_n_epochs: cluster again after every this many epochs, but not after the last
            epoch of `fit`, whose clusters the generator was trained on (`None`: only once,
            before training).
        feature_layer: name of the discriminator layer whose output is clustered: by
            default `"flatten"`, the features `kgan.models.dcgan_discriminator` computes its
            logit from.
        fit_samples: the k-means is fitted on this many images drawn at random (25,000 in
            the paper); every image is then assigned to its nearest centroid.
        seed: seed of the k-means and of the images it is fitted on.

    Attributes:
        labels: an int32 `tf.Variable` `(n,)`, the cluster of each image; `dataset()` reads
            it as it iterates, so a new clustering reaches the next batches.
        frequencies: the fraction of the images in each cluster (NumPy `(num_classes,)`).
        clusterings: how many times the images have been clustered.

    The clusters live in this object, not in the model's files: a training resumed from a
    saved model clusters again from the discriminator it restored.
    """

    def __init__(
        self,
        model,
        images,
        *,
        every_n_epochs=None,
        feature_layer="flatten",
        fit_samples=25_000,
        seed=None,
    ):
        super().__init__()
        if getattr(model, "num_classes", None) is None:
            raise ValueError(
                "SelfConditioning trains a class-conditional model on clusters: build it with "
                "`num_classes` (the number of clusters). Received: a model with "
                f"num_classes={getattr(model, 'num_classes', None)}"
            )
        check_positive_int("every_n_epochs", every_n_epochs, allow_none=True)
        check_positive_int("fit_samples", fit_samples)
        check_seed(seed)
        images = np.asarray(images, np.float32)
        if images.shape[1:] != tuple(model.sample_shape):
            raise ValueError(
                f"`images` must be samples of the model's shape {tuple(model.sample_shape)}. "
                f"Received: images of shape {images.shape}"
            )
        num_clusters = model.num_classes
        if len(images) < num_clusters:
            raise ValueError(
                f"{num_clusters} clusters need at least as many images. Received: "
                f"{len(images)} images"
            )
        layer_names = [layer.name for layer in model.discriminator.layers]
        if feature_layer not in layer_names:
            raise ValueError(
                f"The discriminator has no layer {feature_layer!r} to cluster the features of; "
                f"pass `feature_layer`, one of {layer_names}. Received: "
                f"feature_layer={feature_layer!r}"
            )
        self._gan = model
        self.every_n_epochs = every_n_epochs
        self.feature_layer = feature_layer
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._images = images
        self._fit_rows = np.sort(
            self._rng.choice(len(images), min(fit_samples, len(images)), replace=False)
        )
        self._features = keras.Model(
            model.discriminator.inputs, model.discriminator.get_layer(feature_layer).output
        )
        self._centroids = None
        self._image_variable = None
        self.labels = tf.Variable(tf.zeros(len(images), "int32"), trainable=False)
        self.frequencies = None
        self.clusterings = 0
        self.recluster()

    @property
    def num_clusters(self):
        return self._gan.num_classes

    def _discriminator_features(self, rows):
        labels = self.labels.numpy()
        batches = []
        for start in range(0, len(rows), _FEATURE_BATCH):
            batch = rows[start : start + _FEATURE_BATCH]
            inputs = self._images[batch]
            if len(self._features.inputs) > 1:
                inputs = [inputs, labels[batch]]
            features = self._features(inputs, training=False)
            batches.append(keras.ops.convert_to_numpy(keras.ops.cast(features, "float32")))
        return np.concatenate(batches).reshape(len(rows), -1)

    def recluster(self):
        """Clusters the images' features by the discriminator as it is now."""
        features = self._discriminator_features(self._fit_rows)
        init = None
        if self._centroids is not None:
            # Start from the means of the current clusters under the new features, so that
            # cluster i stays cluster i; a cluster with no fitted image restarts at a random one.
            previous = self.labels.numpy()[self._fit_rows]
            init = features[self._rng.integers(len(features), size=self.num_clusters)]
            for cluster in np.unique(previous):
                init[cluster] = features[previous == cluster].mean(axis=0)
        self._centroids, _ = clustering.kmeans(
            features, self.num_clusters, init=init, seed=int(self._rng.integers(2**31))
        )
        everything = np.arange(len(self._images))
        labels = np.concatenate(
            [
                clustering.assign(self._discriminator_features(rows), self._centroids)
                for rows in np.array_split(everything, max(1, len(everything) // 10_000))
            ]
        )
        self.labels.assign(labels.astype("int32"))
        counts = np.bincount(labels, minlength=self.num_clusters)
        self.frequencies = counts / counts.sum()
        self.clusterings += 1

    def dataset(self, batch_size, *, shuffle=True, seed=None, drop_remainder=True):
        """Batches of `(images, clusters)` for `fit`, reshuffled every epoch.

        The clusters are read from `labels` as each batch is made, so the batches made after
        a new clustering carry it (the few already prefetched keep the clusters before it).
        """
        check_positive_int("batch_size", batch_size)
        if self._image_variable is None:
            # A variable, not a constant: a graph cannot embed more than 2 GB of images.
            self._image_variable = tf.Variable(self._images, trainable=False)
        images = self._image_variable
        indices = tf.data.Dataset.range(len(self._images))
        if shuffle:
            indices = indices.shuffle(len(self._images), seed=seed, reshuffle_each_iteration=True)
        indices = indices.batch(batch_size, drop_remainder=drop_remainder)
        dataset = indices.map(
            lambda rows: (tf.gather(images, rows), tf.gather(self.labels, rows)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return dataset.prefetch(tf.data.AUTOTUNE)

    def on_epoch_end(self, epoch, logs=None):
        # Not after the last epoch: the generator was trained on the clusters it has.
        last = epoch + 1 == (self.params or {}).get("epochs")
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0 and not last:
            self.recluster()

    def generator(self, generator=None):
        """A generator of `z` alone: each sample's cluster drawn from `z` at the frequencies.

        `generator` defaults to the model's `inference_generator` (the averaged weights when
        it keeps an average). The cluster of a sample is a function of its first latent value
        (`kgan.layers.ClusterFromLatent`), so the same `z` always gives the same image, and
        the result exports as an unconditional generator.
        """
        generator = generator or self._gan.inference_generator
        z = keras.Input((self._gan.latent_dim,), name="z")
        clusters = ClusterFromLatent(
            self.frequencies.tolist(), self._gan.latent_distribution, name="cluster"
        )(z)
        images = generator([z, clusters])
        return keras.Model(z, images, name=f"{generator.name}_of_clusters")
