"""How an `AdversarialModel` is saved and loaded (`model.save`, `keras.saving.load_model`).

The model's config holds the serialised networks and the constructor's arguments; its compile
config the two serialised optimisers. Its own entry in the file holds the state Keras does
not save elsewhere: the noise state and the model's state variables (`generator_steps`, a
GAN's `instance_noise`). Files saved by earlier kgan versions load too (`load_state`).
"""

import keras

from kgan.models import noise

SEED_STATE_KEY = "seed_generator_state"


def base_config(model):
    """The config of an `AdversarialModel`: its networks serialised and the base constructor's
    arguments (subclasses add theirs)."""
    return {
        "name": model.name,
        "generator": keras.saving.serialize_keras_object(model.generator),
        "discriminator": keras.saving.serialize_keras_object(model.discriminator),
        "latent_dim": model.latent_dim,
        "num_classes": model.num_classes,
        "latent_distribution": model.latent_distribution,
        "ema_decay": model.ema_decay,
        "seed": model.seed,
        "terminate_on_nan": model.terminate_on_nan,
        "check_inputs": model.check_inputs,
        "augment": model.augment,
        "r1_weight": model.r1_weight,
        "r2_weight": model.r2_weight,
        "penalty_interval": model.penalty_interval,
        "consistency_weight": model.consistency_weight,
        "ema_statistics": model.ema_statistics,
        "ema_warmup": model.ema_warmup,
    }


def deserialize_networks(config):
    """`config` with its serialised generator and discriminator turned into networks."""
    config = dict(config)
    config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
    config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
    return config


def compile_config(model):
    """The arguments of `model.compile` as a config: the two optimisers serialised."""
    if not model.compiled or model.d_optimizer is None:
        return {}
    return {
        "d_optimizer": keras.saving.serialize_keras_object(model.d_optimizer),
        "g_optimizer": keras.saving.serialize_keras_object(model.g_optimizer),
        **model._compile_options,
    }


def deserialize_optimizers(config):
    """A compile config (`compile_config`) turned back into `compile`'s arguments."""
    config = dict(config)
    config["d_optimizer"] = keras.saving.deserialize_keras_object(config["d_optimizer"])
    config["g_optimizer"] = keras.saving.deserialize_keras_object(config["g_optimizer"])
    return config


# Keras saves the networks, the averaged generator and the optimisers under their own names.
# The model's own entry holds its state variables and the noise state, which Keras does not
# save with a SeedGenerator; without it a reloaded model would replay the noise of its first
# training steps.


def save_state(model, store):
    """`model.save_own_variables(store)`."""
    store[SEED_STATE_KEY] = model.seed_generator.state
    for name, variable in model._state_variables.items():
        store[name] = variable
    # The networks' own random layers (dropout...) keep their noise state in seed
    # generators that Keras does not save either; without them a resumed run would replay
    # their first masks (see `_network_seed_states`).
    for index, state in enumerate(_network_seed_states(model)):
        store[f"{SEED_STATE_KEY}_{index}"] = state


def load_state(model, store):
    """`model.load_own_variables(store)`: also files of earlier kgan versions."""
    # Files saved by earlier kgan versions also number a copy of the averaged weights
    # here; the averaged generator's own entry (`inference_generator/`) restores the same
    # values, so they are skipped. They hold no network seed states either.
    if SEED_STATE_KEY in store:
        model.seed_generator.state.assign(store[SEED_STATE_KEY])
    for name, variable in model._state_variables.items():
        if name in store:
            variable.assign(store[name])
    if "generator_steps" not in store:
        # Files saved before the model counted its steps: -1 tells the next train step to
        # take the count from the generator's optimiser (see `AdversarialModel._update_ema`).
        model.generator_steps.assign(-1)
    for index, state in enumerate(_network_seed_states(model)):
        if f"{SEED_STATE_KEY}_{index}" in store:
            state.assign(store[f"{SEED_STATE_KEY}_{index}"])


def _network_seed_states(model):
    """The noise states of the networks' own random layers, in a fixed order."""
    return noise.seed_states(model.generator, model.discriminator, model.inference_generator)
