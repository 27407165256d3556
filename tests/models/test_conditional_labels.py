"""A class-conditional model's labels reach its networks: the builders' outputs depend on them,
and a train step feeds every example's own label to both networks."""

import keras
import numpy as np
import pytest

import kgan
from kgan.models import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator


@pytest.mark.parametrize("architecture", ["dcgan", "mlp"])
def test_conditional_networks_read_their_labels(architecture):
    if architecture == "dcgan":
        generator = dcgan_generator((8, 8, 1), 8, 3, base_filters=4)
        discriminator = dcgan_discriminator((8, 8, 1), 3, base_filters=4)
    else:
        generator = mlp_generator((8, 8, 1), 8, (16,), num_classes=3)
        discriminator = mlp_discriminator((8, 8, 1), (16,), num_classes=3)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 8)).astype("float32")
    x = rng.uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
    # Only the labels change between the calls.
    samples, scores = [], []
    for label in range(3):
        labels = np.full(4, label, "int32")
        samples.append(keras.ops.convert_to_numpy(generator([z, labels], training=False)))
        scores.append(keras.ops.convert_to_numpy(discriminator([x, labels], training=False)))
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        # Every example's output changes, not only some.
        assert np.all(np.abs(scores[a] - scores[b]).reshape(4, -1).max(axis=1) > 1e-6)
        assert np.all(np.abs(samples[a] - samples[b]).reshape(4, -1).max(axis=1) > 1e-6)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, "float64")))


def test_train_step_feeds_each_examples_label_to_both_networks():
    """Linear networks with one learned offset per class:

        D([x, y]) = w . x + b + v[y]        G([z, y]) = 0 z + c + u[y]

    After one SGD step, the offsets of a class absent from the batch are unchanged, and each
    present class's offsets move by the gradient of its own examples only:

        grad v[k] = (1/B) sum_{i: y_i = k} [(sigmoid(r_i) - 1) + sigmoid(f_i)]
        grad u[k] = (1/B) sum_{i: y_i = k} (sigmoid(f'_i) - 1) w'

    with r_i = D([x_i, y_i]), f_i = D([c + u[y_i], y_i]) and f'_i the same against the
    updated discriminator (w', b', v').
    """
    features, num_classes, d_lr, g_lr = 3, 3, 0.5, 0.5
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (6, features)).astype("float32")
    y = np.array([0, 1, 0, 1, 1, 0], "int32")  # Class 2 is absent.
    w, b, c = np.float32([0.8, -0.5, 0.3]), 0.125, np.float32([0.2, -0.1, 0.4])
    v = np.float32([0.5, -0.7, 0.9])
    u = np.float32([[0.3, 0.1, -0.2], [-0.4, 0.2, 0.1], [0.6, -0.6, 0.6]])

    constant = keras.initializers.Constant
    z_input, y_input = keras.Input((2,)), keras.Input((), dtype="int32")
    generator_offsets = keras.layers.Embedding(3, features, embeddings_initializer=constant(u))
    bias_c = keras.layers.Dense(features, kernel_initializer="zeros", bias_initializer=constant(c))
    samples = keras.layers.Add()([bias_c(z_input), generator_offsets(y_input)])
    generator = keras.Model([z_input, y_input], samples)
    x_input, label_input = keras.Input((features,)), keras.Input((), dtype="int32")
    discriminator_offsets = keras.layers.Embedding(
        3, 1, embeddings_initializer=constant(v.reshape(-1, 1))
    )
    linear = keras.layers.Dense(
        1, kernel_initializer=constant(w.reshape(-1, 1)), bias_initializer=constant(b)
    )
    logits = keras.layers.Add()([linear(x_input), discriminator_offsets(label_input)])
    discriminator = keras.Model([x_input, label_input], logits)
    gan = kgan.GAN(generator, discriminator, num_classes=num_classes, seed=0)
    gan.compile(keras.optimizers.SGD(d_lr), keras.optimizers.SGD(g_lr))
    gan.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)

    # By hand, in float64.
    x, w, c, v, u = (array.astype("float64") for array in (x, w, c, v, u))
    batch = len(x)
    fake = c + u[y]
    r = x @ w + b + v[y]
    f = fake @ w + b + v[y]
    per_example = (_sigmoid(r) - 1.0) + _sigmoid(f)
    grad_w = ((_sigmoid(r) - 1.0)[:, None] * x + _sigmoid(f)[:, None] * fake).mean(0)
    grad_v = np.array([per_example[y == k].sum() / batch for k in range(num_classes)])
    w1, b1, v1 = w - d_lr * grad_w, b - d_lr * per_example.mean(), v - d_lr * grad_v
    f1 = fake @ w1 + b1 + v1[y]
    grad_u = np.stack([(_sigmoid(f1[y == k]) - 1.0).sum() / batch * w1 for k in range(3)])

    new_v = keras.ops.convert_to_numpy(discriminator_offsets.embeddings).ravel()
    new_u = keras.ops.convert_to_numpy(generator_offsets.embeddings)
    assert new_v[2] == np.float32(v[2]) and np.all(new_u[2] == u[2].astype("float32"))
    np.testing.assert_allclose(new_v, v1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_u, u - g_lr * grad_u, rtol=1e-5, atol=1e-6)
