"""Tests of kgan.callbacks.SelfConditioning and the generator of z alone it gives."""

import keras
import numpy as np
import pytest

import kgan
from kgan import export


def _gan(num_classes=3, seed=0):
    keras.utils.set_random_seed(seed)
    generator = kgan.models.dcgan_generator(
        (8, 8, 3), 4, num_classes, base_filters=4, conditioning="batch_norm"
    )
    discriminator = kgan.models.dcgan_discriminator(
        (8, 8, 3), num_classes, base_filters=4, normalization=None, conditioning="projection"
    )
    gan = kgan.GAN(generator, discriminator, num_classes=num_classes, seed=seed)
    gan.compile()
    return gan


def _three_kinds(per_kind=40, seed=0):
    """Dark, mid-grey and bright noisy images: three groups any features tell apart."""
    rng = np.random.default_rng(seed)
    levels = np.repeat([-0.8, 0.0, 0.8], per_kind)
    images = levels[:, None, None, None] + 0.05 * rng.normal(size=(len(levels), 8, 8, 3))
    return images.astype("float32"), np.repeat(np.arange(3), per_kind)


def test_clusters_the_discriminators_features_before_training():
    gan = _gan()
    images, kinds = _three_kinds()
    clusters = kgan.callbacks.SelfConditioning(gan, images, seed=0)
    labels = clusters.labels.numpy()
    # Each kind is one cluster (under some numbering), so each cluster holds a third.
    assert len(set(zip(kinds.tolist(), labels.tolist()))) == 3
    np.testing.assert_allclose(clusters.frequencies, [1 / 3] * 3)
    assert clusters.clusterings == 1
    # Clustering again under the same discriminator keeps every index.
    clusters.recluster()
    np.testing.assert_array_equal(clusters.labels.numpy(), labels)


def test_dataset_reads_the_current_clusters_as_it_iterates():
    gan = _gan()
    images, _ = _three_kinds()
    clusters = kgan.callbacks.SelfConditioning(gan, images, seed=0)
    dataset = clusters.dataset(16, shuffle=False)
    batch, labels = next(iter(dataset))
    np.testing.assert_array_equal(batch.numpy(), images[:16])
    np.testing.assert_array_equal(labels.numpy(), clusters.labels.numpy()[:16])
    clusters.labels.assign(np.full(len(images), 2, "int32"))
    _, labels = next(iter(dataset))
    assert labels.numpy().tolist() == [2] * 16
    assert sum(1 for _ in dataset) == len(images) // 16  # The last partial batch is dropped.


def test_fit_clusters_again_every_n_epochs_but_not_after_the_last():
    gan = _gan()
    images, _ = _three_kinds()
    clusters = kgan.callbacks.SelfConditioning(gan, images, every_n_epochs=2, seed=0)
    history = gan.fit(clusters.dataset(24, seed=0), epochs=5, callbacks=[clusters], verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    assert clusters.clusterings == 1 + 2  # Before training, after epochs 2 and 4.
    clusters.every_n_epochs = 1
    gan.fit(clusters.dataset(24, seed=0), epochs=1, callbacks=[clusters], verbose=0)
    assert clusters.clusterings == 3  # One epoch is the last: its clusters are kept.


def test_an_epoch_that_stops_training_keeps_its_clusters():
    """A run stopped early (the monitor's divergence) ends on the clusters it trained on."""
    gan = _gan()
    images, _ = _three_kinds()
    clusters = kgan.callbacks.SelfConditioning(gan, images, every_n_epochs=1, seed=0)

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    callbacks = [StopAfterFirstEpoch(), clusters]
    gan.fit(clusters.dataset(24, seed=0), epochs=3, callbacks=callbacks, verbose=0)
    assert clusters.clusterings == 1


def test_generator_of_latents_alone_draws_clusters_at_their_frequencies_and_exports(tmp_path):
    gan = _gan(num_classes=4)
    images, _ = _three_kinds(per_kind=60)
    clusters = kgan.callbacks.SelfConditioning(gan, images, seed=0)
    clusters.frequencies = np.array([0.5, 0.3, 0.2, 0.0])
    generator = clusters.generator()
    # One more latent value than the model's: it picks the cluster.
    assert generator.inputs[0].shape[1:] == (5,) and len(generator.inputs) == 1
    latents = keras.ops.convert_to_numpy(kgan.models.sample_latent(4000, 5, seed=0))
    z, drawn = (keras.ops.convert_to_numpy(x) for x in generator.get_layer("cluster")(latents))
    np.testing.assert_allclose(
        np.bincount(drawn, minlength=4) / 4000, [0.5, 0.3, 0.2, 0], atol=0.03
    )
    np.testing.assert_array_equal(z, latents[:, 1:])  # The generator's z is independent of it.
    # Its images are the conditional generator's for the rest of the vector and its cluster.
    images_of_latents = keras.ops.convert_to_numpy(generator(latents[:8]))
    expected = keras.ops.convert_to_numpy(gan.inference_generator([z[:8], drawn[:8]]))
    np.testing.assert_allclose(images_of_latents, expected, atol=1e-6)
    # It exports as an unconditional generator: latents in, the same images out of ONNX.
    path = export.to_onnx(generator, tmp_path / "g.onnx")
    metadata = export.read_metadata(path)
    assert metadata["num_classes"] is None and metadata["latent_dim"] == 5
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_images,) = session.run(["images"], {"z": latents[:8]})
    np.testing.assert_allclose(onnx_images, images_of_latents, atol=1e-4)


def test_cluster_from_latent_draws_the_same_classes_under_a_mixed_policy():
    frequencies = np.full(100, 0.01)
    latents = keras.ops.convert_to_numpy(kgan.models.sample_latent(20000, 3, seed=1))
    reference = kgan.layers.ClusterFromLatent(frequencies)(latents)[1]
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = kgan.layers.ClusterFromLatent(frequencies)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert layer.compute_dtype == "float32"
    z, classes = layer(latents)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(classes), reference)
    assert z.dtype == "float32"


def test_cluster_from_latent_reads_uniform_latents_and_round_trips(tmp_path):
    layer = kgan.layers.ClusterFromLatent([0.25, 0.75], "uniform")
    z = np.array([[-0.9, 5.0], [-0.6, 0.0], [-0.4, 0.0], [0.9, 0.0]], "float32")
    assert keras.ops.convert_to_numpy(layer(z)[1]).tolist() == [0, 0, 1, 1]
    z_in = keras.Input((2,))
    model = keras.Model(z_in, layer(z_in)[1])
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(z)), [0, 0, 1, 1])


@pytest.mark.parametrize(
    "frequencies",
    [[0.5, 0.6], [1.2, -0.2], []],
)
def test_cluster_from_latent_rejects_frequencies_that_are_not_probabilities(frequencies):
    with pytest.raises(ValueError, match=r"Received: frequencies=\["):
        kgan.layers.ClusterFromLatent(frequencies)


def test_self_conditioning_rejects_bad_input():
    images, _ = _three_kinds()
    with pytest.raises(ValueError, match="Received: a model with num_classes=None"):
        unconditional = kgan.GAN(
            kgan.models.dcgan_generator((8, 8, 3), 4, base_filters=4),
            kgan.models.dcgan_discriminator((8, 8, 3), base_filters=4),
        )
        kgan.callbacks.SelfConditioning(unconditional, images)
    gan = _gan()
    with pytest.raises(ValueError, match=r"Received: images of shape \(120, 8, 8, 1\)"):
        kgan.callbacks.SelfConditioning(gan, images[..., :1])
    with pytest.raises(ValueError, match="Received: 2 images"):
        kgan.callbacks.SelfConditioning(gan, images[:2])
    with pytest.raises(ValueError, match="Received: feature_layer='pool'"):
        kgan.callbacks.SelfConditioning(gan, images, feature_layer="pool")
    with pytest.raises(ValueError, match="Received: every_n_epochs=0"):
        kgan.callbacks.SelfConditioning(gan, images, every_n_epochs=0)
    with pytest.raises(ValueError, match="Received: fit_samples=2"):
        kgan.callbacks.SelfConditioning(gan, images, fit_samples=2)
    with pytest.raises(ValueError, match="Received: seed=-1"):
        kgan.callbacks.SelfConditioning(gan, images, seed=-1)
    clusters = kgan.callbacks.SelfConditioning(gan, images)
    for kwargs, message in [
        ({"shuffle": "no"}, "Received: shuffle='no'"),
        ({"seed": 1.5}, "Received: seed=1.5"),
        ({"drop_remainder": None}, "Received: drop_remainder=None"),
    ]:
        with pytest.raises(ValueError, match=message):
            clusters.dataset(8, **kwargs)
    with pytest.raises(ValueError, match="Received: generator='x'"):
        clusters.generator("x")


def test_self_conditioning_refuses_features_that_read_the_labels():
    """A discriminator conditioned at its input: its features would depend on the clusters."""
    keras.utils.set_random_seed(0)
    gan = kgan.GAN(
        kgan.models.dcgan_generator((8, 8, 3), 4, 3, base_filters=4),
        kgan.models.dcgan_discriminator((8, 8, 3), 3, base_filters=4, conditioning="input"),
        num_classes=3,
    )
    images, _ = _three_kinds()
    with pytest.raises(ValueError, match="conditioning='projection'.*feature_layer='flatten'"):
        kgan.callbacks.SelfConditioning(gan, images)


def test_a_clustering_continued_from_its_state_matches_the_one_it_was_saved_from():
    """`state=` (what a resumed run restores): the same clusters now and after reclustering."""
    gan = _gan()
    images, _ = _three_kinds()
    original = kgan.callbacks.SelfConditioning(gan, images, seed=3, fit_samples=60)
    original.labels.assign(np.roll(original.labels.numpy(), 7))  # A state no clustering gives.
    saved = original.get_state()
    continued = kgan.callbacks.SelfConditioning(gan, images, seed=3, fit_samples=60, state=saved)
    np.testing.assert_array_equal(continued.labels.numpy(), original.labels.numpy())
    np.testing.assert_allclose(continued.frequencies, original.frequencies)
    assert continued.clusterings == original.clusterings == 1
    original.recluster()
    continued.recluster()
    np.testing.assert_array_equal(continued.labels.numpy(), original.labels.numpy())
    with pytest.raises(ValueError, match=r"labels of shape \(3,\)"):
        kgan.callbacks.SelfConditioning(gan, images, state={**saved, "labels": [0, 1, 2]})
    with pytest.raises(ValueError, match=r"centroids of shape \(2, 5\)"):
        kgan.callbacks.SelfConditioning(gan, images, state={**saved, "centroids": np.ones((2, 5))})


def test_a_seeded_dataset_orders_epoch_e_by_the_seed_and_e_alone():
    """As kgan.data's pipelines: a run resumed at epoch e sees the batches it would have."""
    gan = _gan()
    images, _ = _three_kinds()
    clusters = kgan.callbacks.SelfConditioning(gan, images, seed=0)

    def epoch_batches(dataset, epoch):
        dataset.epoch_order.counter.assign(epoch)
        return np.concatenate([batch.numpy() for batch, _ in dataset])

    first = clusters.dataset(16, seed=5)
    second = clusters.dataset(16, seed=5)
    epoch_two = epoch_batches(first, 2)
    assert not np.array_equal(epoch_two, epoch_batches(first, 1))
    np.testing.assert_array_equal(epoch_batches(second, 2), epoch_two)


def test_uint8_pixels_cluster_and_train_as_the_images_they_scale_to():
    gan = _gan()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (48, 8, 8, 3)).astype("uint8")
    pixels[:16] //= 4  # Darker images: a group any features tell apart.
    scaled = pixels / np.float32(127.5) - 1
    from_pixels = kgan.callbacks.SelfConditioning(gan, pixels, seed=0)
    from_floats = kgan.callbacks.SelfConditioning(gan, scaled, seed=0)
    np.testing.assert_array_equal(from_pixels.labels.numpy(), from_floats.labels.numpy())
    images, _ = next(iter(from_pixels.dataset(16, shuffle=False)))
    assert images.dtype == "float32"
    np.testing.assert_allclose(images.numpy(), scaled[:16], atol=1e-6)
