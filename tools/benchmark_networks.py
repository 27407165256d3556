"""What `benchmark_train.py` runs against kgan: the TensorFlow DCGAN tutorial's networks, the
hand-written `tf.function` loop, the same networks and loop in PyTorch, and the cost measures
(gradient-penalty critic step, FLOPs of one step, the machine's matrix-multiply peak).

Networks (TensorFlow DCGAN tutorial): generator Dense 7x7x256 -> Conv2DTranspose 128/5/1 ->
64/5/2 -> 1/5/2 tanh, with BatchNorm and LeakyReLU; discriminator Conv2D 64/5/2 -> 128/5/2 with
LeakyReLU and Dropout 0.3 -> Dense 1; z of 100. Both loops follow one of `kgan.GAN`'s update
orders: `"alternating"` (the discriminator's step on G(z1), then the generator's step on a
fresh G(z2)) or `"shared"` (one G(z) per step, reused by the generator's step, as in
PyTorch's DCGAN example).
"""

import statistics
import time

import keras
import tensorflow as tf

import kgan

LATENT_DIM = 100
UPDATES = ("alternating", "shared")


def tutorial_generator(image_shape=(28, 28, 1)):
    """The tutorial's generator; for another `image_shape` (sides divisible by 4) its dense
    layer starts at a quarter of the height and width and the last layer gives its channels."""
    height, width, channels = image_shape
    return keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(height // 4 * (width // 4) * 256, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Reshape((height // 4, width // 4, 256)),
            keras.layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Conv2DTranspose(
                channels, 5, strides=2, padding="same", use_bias=False, activation="tanh"
            ),
        ],
        name="generator",
    )


def tutorial_discriminator(image_shape=(28, 28, 1)):
    return keras.Sequential(
        [
            keras.Input(image_shape),
            keras.layers.Conv2D(64, 5, strides=2, padding="same"),
            keras.layers.LeakyReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Conv2D(128, 5, strides=2, padding="same"),
            keras.layers.LeakyReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ],
        name="discriminator",
    )


def _bce(targets, logits):
    logits = tf.cast(logits, tf.float32)
    return tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(
            labels=targets * tf.ones_like(logits), logits=logits
        )
    )


class HandLoop:
    """The hand-written loop: one `tf.function` per step, as in the TensorFlow DCGAN tutorial."""

    def __init__(self, update="alternating", jit_compile=False):
        self.update = update
        self.generator = tutorial_generator()
        self.discriminator = tutorial_discriminator()
        self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.train_step = tf.function(self._step, jit_compile=jit_compile)

    def _apply(self, optimizer, tape, loss, network):
        gradients = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(gradients, network.trainable_variables))

    def _discriminator_step(self, real, fake):
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            loss = _bce(1.0, real_logits) + _bce(0.0, fake_logits)
        self._apply(self.d_optimizer, tape, loss, self.discriminator)
        return loss

    def _step(self, real):
        z = tf.random.normal([tf.shape(real)[0], LATENT_DIM])
        if self.update == "shared":
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                with tape.stop_recording():
                    d_loss = self._discriminator_step(real, tf.stop_gradient(fake))
                g_loss = _bce(1.0, self.discriminator(fake, training=True))
        else:
            d_loss = self._discriminator_step(real, self.generator(z, training=True))
            z = tf.random.normal([tf.shape(real)[0], LATENT_DIM])
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                g_loss = _bce(1.0, self.discriminator(fake, training=True))
        self._apply(self.g_optimizer, tape, g_loss, self.generator)
        return d_loss, g_loss

    def run(self, dataset):
        for real in dataset:
            d_loss, _ = self.train_step(real)
        return float(d_loss)


def critic_steps(jit_compile=False):
    """Two critic updates of WGAN-GP as kgan runs them (G(z), then the critic's step):
    `(plain, penalised)`, without and with the gradient penalty (lambda = 10)."""
    generator, critic = tutorial_generator(), tutorial_discriminator()
    optimizer = keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)

    def step(real, penalty):
        batch = tf.shape(real)[0]
        fake = generator(tf.random.normal([batch, LATENT_DIM]), training=True)
        with tf.GradientTape() as tape:
            loss = kgan.losses.wasserstein_discriminator_loss(
                critic(real, training=True), critic(fake, training=True)
            )
            if penalty:
                alpha = tf.random.uniform([batch])
                loss += 10.0 * kgan.losses.gradient_penalty(
                    lambda x: critic(x, training=True), real, fake, alpha
                )
            loss = tf.reduce_mean(loss)
        gradients = tape.gradient(loss, critic.trainable_variables)
        optimizer.apply_gradients(zip(gradients, critic.trainable_variables))
        return loss

    plain = tf.function(lambda real: step(real, False), jit_compile=jit_compile)
    penalised = tf.function(lambda real: step(real, True), jit_compile=jit_compile)
    return plain, penalised


def step_flops(loop, batch_size):
    """Floating-point operations of one step of `loop` (TensorFlow's graph profiler; matrix
    products and convolutions, forward and backward)."""
    spec = tf.TensorSpec([batch_size, 28, 28, 1], tf.float32)
    graph = loop.train_step.get_concrete_function(spec).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops


def matmul_peak(dtype="float32", size=2048, repeats=10):
    """The best FLOP/s of a `size` x `size` matrix product in `dtype` on this machine."""
    a = tf.cast(tf.random.normal([size, size]), dtype)
    b = tf.cast(tf.random.normal([size, size]), dtype)
    product = tf.function(lambda a, b: tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32)))
    float(product(a, b))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        float(product(a, b))
        times.append(time.perf_counter() - start)
    return 2 * size**3 / min(times)


def median_ms(function, argument, repeats):
    function(argument)  # Tracing.
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        float(function(argument))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def import_torch():
    """`(torch, None)`, or `(None, why)` when PyTorch cannot be imported."""
    try:
        import torch
    except ImportError as error:
        return None, f"PyTorch is not installed ({error}); `pip install torch` adds it"
    return torch, None


class TorchLoop:
    """The same networks, optimisers and update order in PyTorch (NCHW images)."""

    def __init__(self, torch, update="alternating"):
        nn = torch.nn
        self.torch, self.update = torch, update
        slope = 0.3  # Keras' LeakyReLU default.
        self.generator = nn.Sequential(
            nn.Linear(LATENT_DIM, 7 * 7 * 256, bias=False),
            nn.BatchNorm1d(7 * 7 * 256, momentum=0.01, eps=1e-3),
            nn.LeakyReLU(slope),
            nn.Unflatten(1, (256, 7, 7)),
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),
            nn.BatchNorm2d(128, momentum=0.01, eps=1e-3),
            nn.LeakyReLU(slope),
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.BatchNorm2d(64, momentum=0.01, eps=1e-3),
            nn.LeakyReLU(slope),
            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.Tanh(),
        )
        self.discriminator = nn.Sequential(
            nn.Conv2d(1, 64, 5, stride=2, padding=2),
            nn.LeakyReLU(slope),
            nn.Dropout(0.3),
            nn.Conv2d(64, 128, 5, stride=2, padding=2),
            nn.LeakyReLU(slope),
            nn.Dropout(0.3),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1),
        )
        adam = torch.optim.Adam
        self.g_optimizer = adam(self.generator.parameters(), 2e-4, betas=(0.5, 0.999))
        self.d_optimizer = adam(self.discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()

    def step(self, real):
        torch, batch = self.torch, real.shape[0]
        ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
        if self.update == "shared":
            fake = self.generator(torch.randn(batch, LATENT_DIM))
        else:
            with torch.no_grad():
                fake = self.generator(torch.randn(batch, LATENT_DIM))
        self.d_optimizer.zero_grad()
        d_loss = self.bce(self.discriminator(real), ones)
        d_loss = d_loss + self.bce(self.discriminator(fake.detach()), zeros)
        d_loss.backward()
        self.d_optimizer.step()
        if self.update == "alternating":
            fake = self.generator(torch.randn(batch, LATENT_DIM))
        self.g_optimizer.zero_grad()
        g_loss = self.bce(self.discriminator(fake), ones)
        g_loss.backward()
        self.g_optimizer.step()
        return d_loss

    def run(self, batches):
        for real in batches:
            d_loss = self.step(real)
        return float(d_loss.detach())
