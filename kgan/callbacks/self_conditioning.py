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
from kgan._validation import check_bool, check_positive_int, check_seed
from kgan.data import pipeline
from kgan.networks.inputs import latent_class_generator

_FEATURE_BATCH = 500


def _scaled(images):
    """Images in [-1, 1]: uint8 pixels scaled as `kgan.data` scales them, others as they are."""
    if images.dtype == np.uint8 or images.dtype == tf.uint8:
        return pipeline.scale_images(images)
    return images


class SelfConditioning(keras.callbacks.Callback):
    """Trains a class-conditional kgan model on unlabelled images, clusters standing for classes.

    Build the model class-conditional with `num_classes` clusters (the paper uses 100), train
    it on `dataset()`, whose labels are the images' current clusters, with this callback in
    `fit`, and sample it without labels through `generator()`:

    ```python
    gan = kgan.recipes.build(
        "stacked_mnist",
        num_classes=100,
        generator={"conditioning": "batch_norm"},
        discriminator={"conditioning": "projection"},
    )
    clusters = kgan.callbacks.SelfConditioning(gan, images, every_n_epochs=1, seed=0)
    gan.fit(clusters.dataset(64), epochs=3, callbacks=[clusters])
    generator = clusters.generator()   # of z alone: latent_dim + 1 values per sample
    ```

    The clustered features must not depend on the labels, so the discriminator takes them
    after `feature_layer` (`conditioning="projection"`), not at its input.

    Args:
        model: the class-conditional kgan model to train (`num_classes` clusters).
        images: the training images, an array `(n, *sample_shape)` in the model's range, or
            uint8 pixels, kept as they are (a quarter of the memory) and scaled to [-1, 1]
            (`x / 127.5 - 1`, as `kgan.data` does) batch by batch.
        every_n_epochs: cluster again after every this many epochs, but not after the last
            epoch of `fit` or one that stops training, whose clusters the generator was
            trained on (`None`: only once, before training).
        feature_layer: name of the discriminator layer whose output is clustered: by
            default `"flatten"`, the features `kgan.models.dcgan_discriminator` computes its
            logit from.
        fit_samples: the k-means is fitted on this many images drawn at random (25,000 in
            the paper); every image is then assigned to its nearest centroid.
        seed: seed of the k-means and of the images it is fitted on.
        state: a `get_state()` record of a `SelfConditioning` of the same model and images, to
            continue from (its clusters, centroids and random state) instead of clustering
            afresh: what resuming a run needs, since the clusters are not in the model's
            files (`kgan train --clusters` keeps them in its backup).

    Attributes:
        labels: an int32 `tf.Variable` `(n,)`, the cluster of each image; `dataset()` reads
            it as it iterates, so a new clustering reaches the next batches.
        frequencies: the fraction of the images in each cluster (NumPy `(num_classes,)`).
        clusterings: how many times the images have been clustered.

    The images and the clusters are held in host memory (variables on the CPU); create it
    outside a `tf.distribute` scope, which would copy them to every replica.
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
        state=None,
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
        if seed is not None and seed < 0:
            raise ValueError(f"`seed` must be non-negative. Received: seed={seed}")
        images = np.asarray(images)
        if images.dtype != np.uint8:
            images = images.astype(np.float32, copy=False)
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
        if fit_samples < num_clusters:
            raise ValueError(
                f"The k-means of {num_clusters} clusters needs at least as many `fit_samples`. "
                f"Received: fit_samples={fit_samples}"
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
        try:
            # From the images alone: features that also read the labels (a discriminator
            # conditioned at its input) would feed the clusters back into themselves.
            self._features = keras.Model(
                model.discriminator.inputs[0], model.discriminator.get_layer(feature_layer).output
            )
        except ValueError as error:
            raise ValueError(
                f"The discriminator's layer {feature_layer!r} reads the labels as well as the "
                "images, so its features would depend on the clusters: condition the "
                "discriminator after it (`conditioning='projection'`) or pass another "
                f"`feature_layer`. Received: feature_layer={feature_layer!r}"
            ) from error
        self._centroids = None
        self._image_variable = None
        with tf.device("/cpu:0"):
            self.labels = tf.Variable(tf.zeros(len(images), "int32"), trainable=False)
        self.frequencies = None
        self.clusterings = 0
        if state is None:
            self.recluster()
        else:
            self._restore(state)

    @property
    def num_clusters(self):
        return self._gan.num_classes

    def _discriminator_features(self, rows):
        batches = []
        for start in range(0, len(rows), _FEATURE_BATCH):
            batch = rows[start : start + _FEATURE_BATCH]
            features = self._features(_scaled(self._images[batch]), training=False)
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

    def get_state(self):
        """What continues this clustering later (`state=`): a dict of the clusters (`labels`),
        the `centroids` (NumPy arrays), the number of `clusterings` and the random state."""
        return {
            "labels": self.labels.numpy(),
            "centroids": np.asarray(self._centroids, np.float32),
            "clusterings": self.clusterings,
            "rng": self._rng.bit_generator.state,
        }

    def _restore(self, state):
        labels = np.asarray(state["labels"])
        centroids = np.asarray(state["centroids"], np.float32)
        if labels.shape != (len(self._images),) or (
            labels.size and (labels.min() < 0 or labels.max() >= self.num_clusters)
        ):
            raise ValueError(
                f"`state` must hold a cluster in [0, {self.num_clusters}) for each of the "
                f"{len(self._images)} images. Received: labels of shape {labels.shape}"
            )
        if centroids.ndim != 2 or len(centroids) != self.num_clusters:
            raise ValueError(
                f"`state` must hold {self.num_clusters} centroids. Received: centroids of "
                f"shape {centroids.shape}"
            )
        self._centroids = centroids
        self._rng.bit_generator.state = state["rng"]
        self.labels.assign(labels.astype("int32"))
        counts = np.bincount(labels, minlength=self.num_clusters)
        self.frequencies = counts / counts.sum()
        self.clusterings = int(state["clusterings"])

    def dataset(self, batch_size, *, shuffle=True, seed=None, drop_remainder=True):
        """Batches of `(images, clusters)` for `fit`, reshuffled every epoch.

        The clusters are read from `labels` as each batch is made. `fit` starts each epoch's
        pass over the dataset when the epoch's first step asks for a batch, after the previous
        epoch's callbacks, so every batch of the epochs after a new clustering carries it (a
        `repeat()`ed dataset is one pass: the few batches it prefetched keep the clusters
        before). With a `seed`, the order of epoch `e` is a function of `(seed, e)`, as in
        `kgan.data`'s pipelines, so a resumed run sees the batches the uninterrupted one saw.
        """
        check_positive_int("batch_size", batch_size)
        check_bool("shuffle", shuffle)
        check_bool("drop_remainder", drop_remainder)
        check_seed(seed)
        if self._image_variable is None:
            # A variable, not a constant: a graph cannot embed more than 2 GB of images.
            with tf.device("/cpu:0"):
                self._image_variable = tf.Variable(self._images, trainable=False)
        images = self._image_variable
        return pipeline.array_dataset(
            None,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_remainder=drop_remainder,
            gather_fn=lambda rows: (_scaled(tf.gather(images, rows)), tf.gather(self.labels, rows)),
            num_examples=len(self._images),
        )

    def on_epoch_end(self, epoch, logs=None):
        # Not after the last epoch, nor when training stops early: the generator was trained
        # on the clusters it has.
        last = epoch + 1 == (self.params or {}).get("epochs")
        if getattr(self.model, "stop_training", False):
            return
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0 and not last:
            self.recluster()

    def generator(self, generator=None):
        """A generator of latent vectors alone, drawing each sample's cluster from them.

        Its input has `latent_dim + 1` values from the model's latent distribution: the first
        picks the cluster at the clusters' frequencies (`kgan.layers.ClusterFromLatent`), the
        others are the conditional generator's z, so the same vector always gives the same
        image, and the result exports as an unconditional generator
        (`kgan.networks.latent_class_generator`). `generator` defaults to the model's
        `inference_generator` (the averaged weights when it keeps an average).
        """
        generator = self._gan.inference_generator if generator is None else generator
        return latent_class_generator(
            generator, self.frequencies.tolist(), latent_distribution=self._gan.latent_distribution
        )
