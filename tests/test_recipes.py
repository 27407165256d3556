"""kgan.recipes: each recipe builds, trains and round-trips; bad names and overrides fail."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan
from kgan import recipes, registry


def _cases():
    for name in recipes.names():
        for model in recipes.get(name)["models"]:
            yield name, model


@pytest.mark.parametrize(("name", "model"), list(_cases()))
def test_every_recipe_builds_trains_and_round_trips(tmp_path, name, model):
    settings = recipes.get(name, model=model)
    shape = settings["data_shape"]
    # Small networks keep this fast; the recipe's own settings are checked in the test below.
    overrides = {"generator": {}, "discriminator": {}}
    if settings["architecture"] == "mlp":
        overrides = {"generator": {"hidden_units": (16,)}, "discriminator": {"hidden_units": (16,)}}
    else:
        overrides = {"generator": {"base_filters": 8}, "discriminator": {"base_filters": 8}}
    gan = recipes.build(name, model=model, seed=0, **overrides)
    assert isinstance(gan, registry.model_class(settings["model"]))
    low = -1.0 if len(shape) == 3 else -3.0
    data = np.random.default_rng(0).uniform(low, -low, size=(32, *shape)).astype("float32")
    if len(shape) == 3:
        data = np.clip(data, -1, 1)
    history = gan.fit(data, batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert int(gan.g_optimizer.iterations.numpy()) >= 1
    path = tmp_path / f"{name}_{model}.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-6)


def test_recipe_settings_reach_the_model_and_its_optimisers():
    gan = recipes.build("small_data", seed=0)
    settings = recipes.get("small_data")
    assert gan.augment == settings["model_options"]["augment"]
    assert gan.adversarial_loss == "non_saturating"
    assert gan.r1_weight == pytest.approx(1.0) and gan.penalty_interval == 4
    assert not any(  # The recipe's discriminator has no normalisation layer ...
        isinstance(layer, keras.layers.BatchNormalization | keras.layers.SpectralNormalization)
        for layer in gan.discriminator._flatten_layers()
    )
    spectral = recipes.build("small_data", discriminator={"spectral_norm": True}, loss="hinge")
    assert spectral.adversarial_loss == "hinge"
    assert any(  # ... and a builder override reaches the builder.
        isinstance(layer, keras.layers.SpectralNormalization)
        for layer in spectral.discriminator._flatten_layers()
    )
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(settings["d_learning_rate"])
    assert float(gan.g_optimizer.beta_1) == pytest.approx(settings["beta_1"])
    wgangp = recipes.build("toy_2d", model="wgangp", seed=0)
    assert isinstance(wgangp, kgan.WGANGP)
    assert wgangp.gradient_penalty_weight == pytest.approx(0.1)
    assert wgangp.n_critic == 5


def test_overrides_change_one_setting_and_get_returns_a_copy():
    gan = recipes.build("toy_2d", seed=0, r1_weight=0.5, latent_dim=3)
    assert gan.r1_weight == pytest.approx(0.5)
    assert gan.latent_dim == 3
    settings = recipes.get("toy_2d")
    original = settings["model_options"]["r1_weight"]
    settings["model_options"]["r1_weight"] = 99.0
    assert recipes.get("toy_2d")["model_options"]["r1_weight"] == pytest.approx(original)


def test_a_recipes_conditional_settings_apply_to_its_class_conditional_builds_only():
    def layer_names(gan):
        return {layer.name for layer in gan.discriminator.layers}

    small = {"generator": {"base_filters": 8}, "discriminator": {"base_filters": 8}}
    assert recipes.get("cifar10", conditional=True)["discriminator"]["conditioning"] == (
        "projection"
    )
    assert "conditioning" not in recipes.get("cifar10")["discriminator"]
    conditional = recipes.build("cifar10", num_classes=10, seed=0, **small)
    assert {"class_embedding", "projection"} <= layer_names(conditional)
    assert "label_map" not in layer_names(conditional)
    unconditional = recipes.build("cifar10", seed=0, **small)
    assert "class_embedding" not in layer_names(unconditional)
    # An override wins over the recipe's conditional settings.
    small["discriminator"]["conditioning"] = "input"
    label_channel = recipes.build("cifar10", num_classes=10, seed=0, **small)
    assert "label_map" in layer_names(label_channel)
    # They are the default model's: the wgangp variant has none of its own.
    wgangp = recipes.get("cifar10", model="wgangp", conditional=True)
    assert "conditioning" not in wgangp["discriminator"]
    # `kgan train --conditional` reads the same settings.
    assert recipes.settings_for_training("cifar10", None, conditional=True) == recipes.get(
        "cifar10", conditional=True
    )
    # Every recipe's conditional settings are settings it has (a typo is an error).
    for name, model in _cases():
        recipes.get(name, model=model, conditional=True)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: recipes.build("nope"), "Received: name='nope'"),
        (lambda: recipes.get("small_data", model="wgangp"), "Received: model='wgangp'"),
        (lambda: recipes.build("mnist", learning_rat=1e-3), "Received: learning_rat=0.001"),
        (lambda: recipes.build("mnist", generator=3), "Received: generator=3"),
        (lambda: recipes.build("small_data", augment="zoom"), "augment"),
        (lambda: recipes.build("mnist", batch_size=0), "Received: batch_size=0"),
        (lambda: recipes.build("mnist", batch_size=-5), "Received: batch_size=-5"),
        (lambda: recipes.resolve("mnist", steps=2.5), "Received: steps=2.5"),
        (lambda: recipes.build("mnist", d_learning_rate=-1), "Received: d_learning_rate=-1"),
        (lambda: recipes.build("mnist", g_learning_rate=0), "Received: g_learning_rate=0"),
        (lambda: recipes.build("mnist", beta_2=1.0), "Received: beta_2=1.0"),
        (lambda: recipes.resolve("mnist", lr_decay_from=1.5), "Received: lr_decay_from=1.5"),
        (lambda: recipes.build("mnist", architecture="vit"), "Received: architecture='vit'"),
        (lambda: recipes.build("mnist", r1_weight=-1.0), "Received: r1_weight=-1.0"),
        (
            lambda: recipes.build("mnist", steps_per_execution=0),
            "Received: steps_per_execution=0",
        ),
    ],
)
def test_bad_names_and_overrides_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_toy_2d_covers_every_mode_of_a_small_mixture_in_seconds():
    means = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [0.0, -2.0]], "float32")
    std = 0.05
    rng = np.random.default_rng(0)
    points = means[rng.integers(0, 4, 400 * 64)] + std * rng.normal(size=(400 * 64, 2))
    dataset = tf.data.Dataset.from_tensor_slices(points.astype("float32")).batch(64)
    gan = recipes.build(
        "toy_2d",
        seed=0,
        steps_per_execution=50,
        generator={"hidden_units": (64, 64)},
        discriminator={"hidden_units": (64, 64)},
    )
    gan.fit(dataset, epochs=1, verbose=0)
    result = kgan.metrics.mode_coverage(gan.generate(1000, seed=0), means, std)
    assert result["modes_covered"] == 4
    # An untrained generator puts almost nothing within 3 std of a mode (measured: 14% here).
    assert result["high_quality"] > 0.08


def test_kgan_train_with_a_recipe_and_the_automatic_choice(tmp_path):
    from kgan.recipes import choose_recipe
    from kgan.training import train

    assert choose_recipe("mnist") == "mnist"
    assert choose_recipe("cifar10") == "cifar10"
    assert recipes.get("cifar10")["data_shape"] == (32, 32, 3)
    assert choose_recipe("fashion_mnist_sample") == "small_data"  # The quickstart.
    assert choose_recipe("mnist", base_filters=16) is None
    assert choose_recipe("mnist", "none") is None
    assert choose_recipe("my/folder") is None
    assert choose_recipe("my/folder", image_shape=(32, 32, 3)) == "cifar10"
    assert choose_recipe("my/folder", image_shape=(28, 28, 1)) == "mnist"
    assert choose_recipe("my/folder", image_shape=(32, 32, 1)) is None
    assert choose_recipe("my/folder", "none", image_shape=(32, 32, 3)) is None
    assert choose_recipe("my/folder", image_shape=(32, 32, 3), model="wgangp") == "cifar10"
    assert choose_recipe("my/folder", image_shape=(32, 32, 3), model="wgan") is None
    # A small folder trains `small_data`, whatever its shape, rather than a schedule measured
    # on 50,000 images, which would take thousands of its epochs.
    large, small = recipes.SMALL_DATA_IMAGES, recipes.SMALL_DATA_IMAGES - 1
    assert choose_recipe("my/folder", image_shape=(32, 32, 3), image_count=large) == "cifar10"
    assert choose_recipe("my/folder", image_shape=(32, 32, 3), image_count=small) == "small_data"
    assert choose_recipe("my/folder", image_shape=(48, 48, 3), image_count=small) == "small_data"
    assert choose_recipe("my/folder", image_shape=(48, 48, 3), image_count=large) is None
    assert (
        choose_recipe("my/folder", image_shape=(32, 32, 3), image_count=small, model="wgangp")
        is None
    )
    # So does a data set cut short with --num-samples; when small_data does not train --model,
    # none does, as for a folder. A data set's own recipe is refused later if it does not.
    assert choose_recipe("mnist", image_count=small) == "small_data"
    assert choose_recipe("mnist", image_count=large) == "mnist"
    assert choose_recipe("mnist", image_count=small, model="wgangp") is None
    assert choose_recipe("fashion_mnist_sample", image_count=small, model="wgangp") == "small_data"
    assert choose_recipe("gaussian_ring", image_count=small) is None  # Not images.
    with pytest.raises(ValueError, match="Received: base_filters=8"):
        train(tmp_path / "bad", recipe="small_data", base_filters=8)
    gan, history = train(
        tmp_path / "run", recipe="small_data", num_samples=64, batch_size=32, epochs=1, verbose=0
    )
    settings = recipes.get("small_data")
    assert gan.augment == settings["model_options"]["augment"] == "translation,cutout"
    assert gan.r1_weight == pytest.approx(settings["model_options"]["r1_weight"])
    assert len(history.epoch) == 1


@pytest.mark.parametrize("name", recipes.names())
def test_recorded_settings_rebuild_the_recipe(name):
    """What a run's config.json keeps (`recorded`) builds the networks `build` builds."""
    settings = recipes.get(name)
    record = recipes.recorded(settings)
    assert json.loads(json.dumps(record)) == record
    assert "notes" not in record and "models" not in record
    built = recipes.build(name, compile=False)
    rebuilt = recipes.build_from_settings(record, compile=False)
    for network in ("generator", "discriminator"):
        assert [w.shape for w in getattr(rebuilt, network).weights] == [
            w.shape for w in getattr(built, network).weights
        ]
    assert type(rebuilt) is type(built)


def test_a_learning_rate_schedule_overrides_a_recipes_rate():
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9)
    gan = kgan.recipes.build("toy_2d", d_learning_rate=schedule)
    assert gan.d_optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"
