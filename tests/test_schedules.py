"""kgan.schedules.LinearDecay and a recipe's `lr_decay_from`: the rate each step takes, the end
of training at a zero rate, saving, and bad arguments."""

import keras
import numpy as np
import pytest

from kgan import recipes
from kgan.schedules import LinearDecay


def test_linear_decay_is_constant_then_falls_linearly_to_zero_and_stays_there():
    schedule = LinearDecay(0.4, total_steps=10, decay_start=6)
    rates = [float(schedule(step)) for step in range(13)]
    np.testing.assert_allclose(rates[:7], [0.4] * 7)
    np.testing.assert_allclose(rates[6:11], [0.4, 0.3, 0.2, 0.1, 0.0], atol=1e-7)
    assert rates[11:] == [0.0, 0.0]
    from_the_first = LinearDecay(1.0, total_steps=4, decay_start=0)
    np.testing.assert_allclose(
        [float(from_the_first(s)) for s in range(5)], [1, 0.75, 0.5, 0.25, 0]
    )
    # NumPy numbers are numbers.
    assert float(LinearDecay(np.float32(0.5), np.int64(4), np.int64(2))(3)) == 0.25


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((0.0, 10, 0), "Received: learning_rate=0.0"),
        ((float("nan"), 10, 0), "Received: learning_rate=nan"),
        ((True, 10, 0), "Received: learning_rate=True"),
        ((0.1, 0, 0), "Received: total_steps=0"),
        ((0.1, 10, 10), "from 0 to total_steps - 1 = 9. Received: decay_start=10"),
        ((0.1, 10, -1), "Received: decay_start=-1"),
        ((0.1, 10, 2.5), "Received: decay_start=2.5"),
    ],
)
def test_bad_schedules_are_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LinearDecay(*arguments)


def _toy_data(steps, batch_size):
    return np.random.default_rng(0).normal(size=(steps * batch_size, 2)).astype("float32")


@pytest.mark.parametrize("model", ["gan", "wgangp"])
def test_a_recipe_with_lr_decay_from_ends_its_steps_at_a_zero_rate(model):
    small = {"generator": {"hidden_units": (8,)}, "discriminator": {"hidden_units": (8,)}}
    gan = recipes.build(
        "toy_2d", model=model, seed=0, steps=6, lr_decay_from=0.5, batch_size=16, **small
    )
    initial = recipes.get("toy_2d", model=model)["g_learning_rate"]
    # A WGAN-GP's critic is updated n_critic times a step, on as many batches: its schedule
    # spans 6 * n_critic updates.
    n_critic = getattr(gan, "n_critic", 1)
    assert gan.g_optimizer._learning_rate.get_config() == {
        "learning_rate": initial, "total_steps": 6, "decay_start": 3
    }  # fmt: skip
    critic = gan.d_optimizer._learning_rate.get_config()
    assert (critic["total_steps"], critic["decay_start"]) == (6 * n_critic, 3 * n_critic)
    rates = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: rates.append(float(gan.g_optimizer.learning_rate))
    )
    batches = 6 * n_critic
    gan.fit(
        _toy_data(batches, 16),
        batch_size=16,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[record],
    )
    # The generator's updates 0 to 3 at the full rate, then 2/3 and 1/3 of it.
    np.testing.assert_allclose(rates, np.array([1, 1, 1, 1, 2 / 3, 1 / 3]) * initial, rtol=1e-6)
    assert int(gan.g_optimizer.iterations) == 6
    assert float(gan.g_optimizer.learning_rate) == 0.0
    assert float(gan.d_optimizer.learning_rate) == 0.0
    # Past the recipe's steps, training no longer moves the networks.
    before = [w.numpy() for w in gan.generator.weights + gan.discriminator.weights]
    gan.fit(_toy_data(batches, 16), batch_size=16, epochs=1, verbose=0, shuffle=False)
    after = [w.numpy() for w in gan.generator.weights + gan.discriminator.weights]
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)


def test_a_saved_model_keeps_its_schedule(tmp_path):
    gan = recipes.build("toy_2d", seed=0, steps=100, lr_decay_from=0.25)
    gan.fit(_toy_data(40, 256), batch_size=256, epochs=1, verbose=0)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    expected = LinearDecay(1e-3, total_steps=100, decay_start=25)(40)
    assert float(loaded.g_optimizer.learning_rate) == pytest.approx(float(expected))
    assert float(expected) < 1e-3


@pytest.mark.parametrize("value", [1.0, -0.1, "0.5"])
def test_lr_decay_from_outside_0_to_1_is_refused(value):
    with pytest.raises(ValueError, match=rf"\[0.0, 1.0\). Received: lr_decay_from={value!r}"):
        recipes.build("toy_2d", seed=0, lr_decay_from=value)


@pytest.mark.parametrize("steps", [0, 600.0, None])
def test_a_decay_over_steps_that_are_not_a_positive_integer_is_refused(steps):
    with pytest.raises(ValueError, match=rf"`steps` must be .*Received: steps={steps!r}"):
        recipes.build("toy_2d", seed=0, lr_decay_from=0.5, steps=steps)
