"""Named training configurations: networks, loss, stabilisers, optimisers and schedule.

    gan = kgan.recipes.build("mnist")                     # compiled, ready for `fit`
    gan = kgan.recipes.build("toy_2d", model="wgangp")    # a recipe's other model
    gan = kgan.recipes.build("small_data", augment=None)  # override one setting
    kgan.recipes.get("mnist")["batch_size"]               # the settings, as a dict
    kgan.recipes.names()

    settings = kgan.recipes.resolve("mnist", augment=None)  # what `build` would build from
    record = kgan.recipes.recorded(settings)                 # as JSON (a run's config.json)
    gan = kgan.recipes.build_from_settings(record)          # the same model, later

A recipe is a dict of settings. `build` routes each one to where it belongs: the generator and
discriminator builders (`generator=`, `discriminator=` dicts), the model's constructor (loss,
penalties, DiffAugment, EMA, `n_critic` ...) and `compile` (the two Adam optimisers). Keys that a
recipe does not have are refused, so a typo never goes unnoticed. `batch_size` and `steps` are
what the recipe was measured with; `kgan train --recipe NAME` uses them, `build` only reports
them. `lr_decay_from`, which no recipe sets, is an override of `build`: the fraction of the
steps that both learning rates keep, before they fall linearly to zero over the rest
(`kgan.schedules.LinearDecay`).

A recipe (and each of its `variants`) may hold a `conditional` dict: settings that apply only
to its class-conditional builds (`num_classes=`), such as the discriminator's `conditioning`,
merged over the others as overrides are.

A recipe's `notes` say what it is for and name the stored result that measures it: a model
card (`savedmodels/NAME/card.json`, from `tools/train_references.py`) or a file under
`tools/results/`; a recipe without one says so. The notes quote no figures, so they cannot
drift from the measurement.
"""

import copy
import json
import os

import keras

from kgan import registry, schedules
from kgan._validation import check_choice, check_positive, check_positive_int, check_range
from kgan.models import (
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)

BUILDERS = {
    "dcgan": (dcgan_generator, dcgan_discriminator),
    "mlp": (mlp_generator, mlp_discriminator),
}
# Settings that `build` routes to `compile` or only reports; every other key of `model_options`
# goes to the model's constructor.
_OPTIMIZER_KEYS = ("d_learning_rate", "g_learning_rate", "beta_1", "beta_2")
_TOP_LEVEL_KEYS = (
    "model",
    "architecture",
    "data_shape",
    "latent_dim",
    "generator",
    "discriminator",
    "model_options",
    "batch_size",
    "steps",
    *_OPTIMIZER_KEYS,
    "lr_decay_from",
)

_IMAGE_GAN = {
    "architecture": "dcgan",
    "data_shape": (28, 28, 1),
    "latent_dim": 64,
    "generator": {"base_filters": 64},
    # No normalisation in the discriminator, a lazy zero-centred R1 penalty instead (every 4th
    # step, weight 1 x 4), and Adam at 5e-4: in short screening runs on MNIST (not stored)
    # they beat DCGAN's batch-normalised discriminator and Adam at 2e-4.
    "discriminator": {"base_filters": 64, "normalization": None},
    "model_options": {
        "loss": "non_saturating",
        "r1_weight": 1.0,
        "penalty_interval": 4,
        "ema_decay": 0.999,
    },
    "d_learning_rate": 5e-4,
    "g_learning_rate": 5e-4,
    "beta_1": 0.5,
    "beta_2": 0.99,
    "batch_size": 64,
}

_IMAGE_WGANGP = {
    # The critic of WGAN-GP takes no batch normalisation (the penalty is per example); layer
    # normalisation as in the authors' code. Adam(1e-4, 0.5, 0.9) and lambda 10, n_critic 5.
    "discriminator": {"base_filters": 64, "normalization": "layer"},
    "model_options": {
        "gradient_penalty_weight": 10.0,
        "n_critic": 5,
        "critic_batches": "fresh",
        "ema_decay": 0.999,
    },
    "d_learning_rate": 1e-4,
    "g_learning_rate": 1e-4,
    "beta_1": 0.5,
    "beta_2": 0.9,
}

RECIPES = {
    "toy_2d": {
        "notes": "2-D Gaussian mixtures (the PacGAN ring and grid). A zero-centred R1 penalty, "
        "a 512-unit generator and a large learning rate find every mode within the recipe's "
        "generator steps. Measured by tools/evaluate_toys.py, plain and with "
        "generate(..., jacobian_truncation=0.25): tools/results/toys_gan_*.json and "
        "tools/results/toys_wgangp_*.json (the WGAN-GP variant), summarised in the results "
        "table of savedmodels/README.md.",
        "model": "gan",
        "models": ("gan", "wgangp"),
        "architecture": "mlp",
        "data_shape": (2,),
        "latent_dim": 2,
        # A wide generator and a weak R1 penalty: 256 units with gamma 1 left more samples off
        # the grid's modes in a screening run (not stored).
        "generator": {
            "hidden_units": (512, 512, 512),
            "negative_slope": 0.0,
            "output_activation": None,
        },
        "discriminator": {"hidden_units": (256, 256, 256), "negative_slope": 0.0},
        "model_options": {"loss": "non_saturating", "r1_weight": 0.1, "ema_decay": 0.999},
        "d_learning_rate": 1e-3,
        "g_learning_rate": 1e-3,
        "beta_1": 0.5,
        "beta_2": 0.9,
        "batch_size": 256,
        "steps": 3000,
        "variants": {
            # The authors' toy settings (gan_toy.py): lambda 0.1, 5 critic steps, each on a
            # fresh real batch, 512-unit ReLU networks; a larger learning rate (below).
            "wgangp": {
                "generator": {
                    "hidden_units": (512, 512, 512),
                    "negative_slope": 0.0,
                    "output_activation": None,
                },
                "discriminator": {"hidden_units": (512, 512, 512), "negative_slope": 0.0},
                "model_options": {
                    "gradient_penalty_weight": 0.1,
                    "n_critic": 5,
                    "critic_batches": "fresh",
                    "ema_decay": 0.999,
                },
                # The authors' Adam 1e-4 is for their 100,000 steps; within this recipe's
                # steps it leaves grid modes uncovered (a screening run, not stored), so 1e-3.
                "d_learning_rate": 1e-3,
                "g_learning_rate": 1e-3,
                "beta_1": 0.5,
                "beta_2": 0.9,
            },
        },
    },
    "mnist": {
        "notes": "MNIST DCGAN (64 base filters, unnormalised discriminator, lazy R1, Adam 5e-4, "
        "EMA 0.999). Measured (tools/train_references.py): class-conditional, "
        "savedmodels/mnist_cdcgan/card.json; unconditional, self-conditioned on 100 clusters "
        "(`kgan train --clusters 100`), savedmodels/mnist_dcgan/card.json, and without "
        "clusters tools/results/mnist_dcgan_recipe.json; against the TensorFlow DCGAN tutorial "
        "trained for the same time, tools/results/compare_baseline.json "
        "(tools/compare_baseline.py).",
        "model": "gan",
        "models": ("gan", "wgangp"),
        **_IMAGE_GAN,
        "steps": 9370,
        "variants": {"wgangp": _IMAGE_WGANGP},
    },
    "fashion_mnist": {
        "notes": "Fashion-MNIST, the `mnist` recipe's settings. Measured: class-conditional, "
        "savedmodels/fashion_mnist_cdcgan/card.json (tools/train_references.py).",
        "model": "gan",
        "models": ("gan", "wgangp"),
        **_IMAGE_GAN,
        "steps": 9370,
        "variants": {"wgangp": _IMAGE_WGANGP},
    },
    "small_data": {
        "notes": "A few thousand images, such as the embedded 2,000-image Fashion-MNIST sample "
        "(the quickstart), and what `kgan train` picks for a folder of fewer than "
        "`SMALL_DATA_IMAGES` images of any shape. The `mnist` recipe's training (unnormalised "
        "discriminator, lazy R1, Adam 5e-4) at 32 base filters, with DiffAugment (translation, "
        "cutout) on every input of the discriminator so that it does not memorise the data. No "
        "stored measurement: score a run with `kgan evaluate RUN --data fashion_mnist` (the "
        "Fashion-MNIST test images, in the shipped classifier's space).",
        "model": "gan",
        "models": ("gan",),
        **copy.deepcopy(_IMAGE_GAN),
        "generator": {"base_filters": 32},
        "discriminator": {"base_filters": 32, "normalization": None},
        "model_options": {
            **_IMAGE_GAN["model_options"],
            "augment": "translation,cutout",
            "ema_decay": 0.99,
        },
        "steps": 1860,
    },
}
RECIPES["cifar10"] = {
    "notes": "CIFAR-10 and other 32x32 colour photographs: the `mnist` recipe's training "
    "(unnormalised discriminator, lazy R1, Adam 5e-4, EMA 0.999) at 32 base filters, whose "
    "steps cost far less on a CPU than at 64 (the screen's `recipe` and `recipe_64` entries "
    "record both times), with a weaker R1 (0.1) and "
    "DiffAugment (colour, translation, cutout) on every input of the discriminator: the best "
    "candidate of the screen in tools/results/cifar10_screen.json (tools/screen_cifar10.py), "
    "which also holds two baselines. What it reached is in savedmodels/cifar10_cdcgan/card.json, "
    "unconditional and self-conditioned on 100 clusters (`kgan train --clusters 100`) in "
    "savedmodels/cifar10_dcgan/card.json, and unconditional without clusters in "
    "tools/results/cifar10_dcgan_recipe.json (tools/train_references.py). Class-conditional, "
    "the discriminator projects the labels onto its features (`conditioning='projection'`, "
    "the best candidate of tools/results/cifar10_conditional_screen.json, against the label "
    "channel at its input) and the generator's batch normalisations take a gain and bias per "
    "class (`conditioning='batch_norm'`), chosen at full length against the one-hot class at "
    "its input: tools/results/cifar10_cdcgan_input_conditioning.json is that run's card. "
    "`kgan train`'s defaults at the references' budget: tools/results/"
    "baseline_cifar10_defaults.json and tools/results/baseline_cifar10_conditional_defaults.json "
    "(tools/train_references.py BASELINE). The `wgangp` variant is only screened (the `wgangp` "
    "entry of tools/results/cifar10_screen.json, one seed), behind the chosen GAN candidate "
    "and most others there.",
    "model": "gan",
    "models": ("gan", "wgangp"),
    **copy.deepcopy(_IMAGE_GAN),
    "data_shape": (32, 32, 3),
    "generator": {"base_filters": 32},
    "discriminator": {"base_filters": 32, "normalization": None},
    "model_options": {
        **_IMAGE_GAN["model_options"],
        "r1_weight": 0.1,
        "augment": "color,translation,cutout",
    },
    "steps": 46920,
    "conditional": {
        "generator": {"conditioning": "batch_norm"},
        "discriminator": {"conditioning": "projection"},
    },
    "variants": {
        "wgangp": {
            **copy.deepcopy(_IMAGE_WGANGP),
            "discriminator": {"base_filters": 32, "normalization": "layer"},
        }
    },
}
RECIPES["stacked_mnist"] = {
    **copy.deepcopy(RECIPES["mnist"]),
    "notes": "Stacked MNIST (three digits as RGB, 1,000 modes): the `mnist` recipe's "
    "training, unconditional. Measured over three seeds by tools/evaluate_stacked_mnist.py: "
    "tools/results/stacked_mnist.json; trained longer, one seed: "
    "tools/results/stacked_mnist_steps15000.json, and self-conditioned, three seeds: "
    "tools/results/stacked_mnist_clusters100_steps15000.json; twice as long again, with "
    "`kgan train --epochs 15`: tools/results/stacked_mnist_steps30000.json, and with "
    "`--epochs 30` (60,000 steps, whose KL is under PacDCGAN2's on each seed), three seeds: "
    "tools/results/stacked_mnist_steps60000.json; with a weaker R1, "
    "three seeds: tools/results/stacked_mnist_r1_0.1.json; with learning rates falling to zero "
    "over the second half of the steps, three seeds: "
    "tools/results/stacked_mnist_lr_decay_0.5.json.",
    "models": ("gan",),
    "data_shape": (28, 28, 3),
    "steps": 6000,
}
RECIPES["stacked_mnist"].pop("variants")
RECIPES["celeb_a"] = {
    **copy.deepcopy(RECIPES["cifar10"]),
    "notes": "Faces at 64x64 (CelebA's 178x218 images resized with crop='center'): where to "
    "start, not a measured result, since no face data set is available offline here. The "
    "`cifar10` recipe's training with one more up- and downsampling stage; train with "
    "`kgan train --data celeb_a --recipe celeb_a --image-size 64 64 --crop center`.",
    "models": ("gan",),
    "data_shape": (64, 64, 3),
    "steps": 30000,
}
RECIPES["celeb_a"].pop("variants")
# The image recipes' WGAN-GP variant under its own name, for `kgan train --recipe wgangp`.
RECIPES["wgangp"] = {
    **copy.deepcopy(RECIPES["mnist"]),
    "notes": "WGAN-GP for 28x28 images (MNIST, Fashion-MNIST): the `mnist` recipe's WGAN-GP "
    "variant. Measured, unconditional on MNIST with the `mnist` recipe's schedule: "
    "savedmodels/mnist_wgangp/card.json (tools/train_references.py).",
    "model": "wgangp",
    "models": ("wgangp",),
    **copy.deepcopy(_IMAGE_WGANGP),
    "steps": 3000,
}
RECIPES["wgangp"].pop("variants")

# What `kgan train --data NAME` uses when no recipe is named.
DATA_RECIPES = {
    "mnist": "mnist",
    "fashion_mnist": "fashion_mnist",
    "cifar10": "cifar10",
    "fashion_mnist_sample": "small_data",  # The embedded sample: the quickstart.
}
# What `kgan train --data FOLDER` uses for a folder of images of these shapes (height, width,
# channels) when no recipe is named: each recipe's notes say what it was measured on.
SHAPE_RECIPES = {(28, 28, 1): "mnist", (32, 32, 3): "cifar10", (64, 64, 3): "celeb_a"}
# A folder of fewer images than this trains `small_data`, whatever their shape: the shape
# recipes were measured on 50,000 to 60,000 images, and their schedules would take thousands of
# epochs of a small folder.
SMALL_DATA_IMAGES = 10_000


def names():
    """Returns the names of the recipes, sorted."""
    return sorted(RECIPES)


def get(name, *, model=None, conditional=False):
    """Returns the settings of recipe `name` (for its `model`, if it has several) as a new dict.

    Args:
        name: a name from `names()`.
        model: `"gan"` or `"wgangp"` where the recipe supports both; its default otherwise.
        conditional: the settings of a class-conditional build, with the `conditional`
            settings of the recipe (of its variant, for another `model`) merged in.

    Returns:
        A dict with `model`, `architecture`, `data_shape`, `latent_dim`, the builders'
        arguments (`generator`, `discriminator`), the model's (`model_options`), the optimisers'
        (`d_learning_rate`, `g_learning_rate`, `beta_1`, `beta_2`), `batch_size`, `steps` and
        `notes`.
    """
    check_choice("name", name, names())
    recipe = copy.deepcopy(RECIPES[name])
    variants = recipe.pop("variants", {})
    supported = recipe.pop("models")
    when_conditional = recipe.pop("conditional", {})
    if model is not None:
        check_choice("model", model, supported)
        if model != recipe["model"]:
            # A variant has its own conditional settings, or none.
            variant = copy.deepcopy(variants[model])
            when_conditional = variant.pop("conditional", {})
            recipe.update(variant)
            recipe["model"] = model
    if conditional:
        recipe = _apply_overrides(name, recipe, when_conditional)
    recipe["models"] = supported
    return recipe


def _apply_overrides(name, settings, overrides):
    model_keys = set(settings["model_options"])
    for key, value in overrides.items():
        if key in ("generator", "discriminator", "model_options"):
            if not isinstance(value, dict):
                raise ValueError(
                    f"`{key}` overrides must be a dict of arguments. Received: {key}={value!r}"
                )
            settings[key].update(value)
        elif key in _TOP_LEVEL_KEYS:
            _check_top_level_setting(key, value)
            settings[key] = value
        elif key in model_keys or key in _model_arguments(settings["model"]):
            settings["model_options"][key] = value
        else:
            raise ValueError(
                f"`{key}` is not a setting of recipe {name!r} (model {settings['model']!r}). "
                f"Settings: {', '.join(sorted(set(_TOP_LEVEL_KEYS) | model_keys))}, or an "
                f"argument of {registry.MODELS[settings['model']]}. Received: {key}={value!r}"
            )
    return settings


def _is_schedule(value):
    """A learning rate Keras takes other than a number: a schedule or a callable."""
    return isinstance(value, keras.optimizers.schedules.LearningRateSchedule) or callable(value)


def _check_top_level_setting(key, value):
    """Checks an override of a setting that `build` only reports or hands to Adam under another
    name; the builders and the model check their own arguments, under the same names."""
    if key in ("batch_size", "steps"):
        check_positive_int(key, value)
    elif key in ("d_learning_rate", "g_learning_rate") and not _is_schedule(value):
        check_positive(key, value)
    elif key in ("beta_1", "beta_2"):
        check_range(key, value, 0.0, 1.0, include_high=False)
    elif key == "lr_decay_from" and value is not None:
        check_range(key, value, 0.0, 1.0, include_high=False)
    elif key == "architecture":
        check_choice(key, value, tuple(BUILDERS))


def _model_arguments(model):
    import inspect

    arguments = set()
    for cls in registry.model_class(model).__mro__:
        if "__init__" in vars(cls):
            arguments |= set(inspect.signature(cls.__init__).parameters)
    return arguments - {"self", "generator", "discriminator", "kwargs", "args"}


def build(
    name,
    *,
    model=None,
    num_classes=None,
    seed=None,
    compile=True,
    steps_per_execution=1,
    **overrides,
):
    """Builds the model of recipe `name`, compiled and ready for `fit`.

    Args:
        name: a name from `names()`.
        model: `"gan"` or `"wgangp"` where the recipe supports both.
        num_classes: build a class-conditional model with this many classes (with the
            recipe's `conditional` settings).
        seed: seed of the initial weights (via `keras.utils.set_random_seed`) and of the
            model's noise.
        compile: compile with the recipe's optimisers (default) or leave uncompiled.
        steps_per_execution: passed to `compile` (several small steps per call: toy data).
        **overrides: settings to change: any key of `get(name)` (`latent_dim`, `data_shape`,
            `d_learning_rate` ...), `generator=` / `discriminator=` / `model_options=` dicts
            merged into the recipe's, or an argument of the model (`r1_weight=`, `augment=`,
            `ema_decay=` ...). Anything else raises a `ValueError`. `lr_decay_from=F` (a number
            in [0, 1)) keeps both learning rates for the first F of the recipe's `steps`, then
            lowers them linearly to reach zero after its last step
            (`kgan.schedules.LinearDecay`): train for exactly `steps` generator steps with it.

    Returns:
        A `kgan.GAN` or `kgan.WGANGP`.
    """
    settings = resolve(name, model=model, conditional=num_classes is not None, **overrides)
    return build_from_settings(
        settings,
        num_classes=num_classes,
        seed=seed,
        compile=compile,
        steps_per_execution=steps_per_execution,
    )


def resolve(name, *, model=None, conditional=False, **overrides):
    """The settings `build` builds from: `get(name, model=model, conditional=conditional)`
    with `overrides` (as `build` takes them, `lr_decay_from` included) merged in and
    checked."""
    return _apply_overrides(name, get(name, model=model, conditional=conditional), overrides)


def recorded(settings):
    """`settings` (from `get` or `resolve`) as a JSON record that `build_from_settings` builds
    the same model from: without `notes` and `models`, tuples as lists."""
    record = {key: value for key, value in settings.items() if key not in ("notes", "models")}
    return json.loads(json.dumps(record))


def build_from_settings(
    settings, *, num_classes=None, seed=None, compile=True, steps_per_execution=1
):
    """Builds the model that resolved recipe `settings` describe (`resolve`, or a `recorded`
    copy such as a run's `config.json` keeps), compiled unless `compile=False`; the other
    arguments are `build`'s."""
    # Before the networks are built; `compile` checks it too.
    check_positive_int("steps_per_execution", steps_per_execution)
    decay_from = settings.get("lr_decay_from")
    if decay_from is not None:
        check_range("lr_decay_from", decay_from, 0.0, 1.0, include_high=False)
        check_positive_int("steps", settings["steps"])
    if seed is not None:
        keras.utils.set_random_seed(seed)
    make_generator, make_discriminator = BUILDERS[settings["architecture"]]
    shape = tuple(settings["data_shape"])
    generator = make_generator(
        shape, settings["latent_dim"], num_classes=num_classes, **settings["generator"]
    )
    discriminator = make_discriminator(shape, num_classes=num_classes, **settings["discriminator"])
    gan = registry.model_class(settings["model"])(
        generator,
        discriminator,
        num_classes=num_classes,
        seed=seed,
        **settings["model_options"],
    )
    if compile:
        # The critic of a WGAN-GP is updated `n_critic` times a generator step.
        d_updates = getattr(gan, "n_critic", 1)
        gan.compile(
            d_optimizer=keras.optimizers.Adam(
                _learning_rate(settings, "d_learning_rate", d_updates),
                settings["beta_1"],
                settings["beta_2"],
            ),
            g_optimizer=keras.optimizers.Adam(
                _learning_rate(settings, "g_learning_rate", 1),
                settings["beta_1"],
                settings["beta_2"],
            ),
            steps_per_execution=steps_per_execution,
        )
    return gan


def _learning_rate(settings, key, updates_per_step):
    """The learning rate `settings[key]`, as a `LinearDecay` over the settings' `steps` when
    they have `lr_decay_from`, for an optimiser updated `updates_per_step` times a step."""
    if settings.get("lr_decay_from") is None:
        return settings[key]
    total = settings["steps"] * updates_per_step
    start = min(int(round(settings["lr_decay_from"] * total)), total - 1)
    return schedules.LinearDecay(settings[key], total, start)


def settings_for_training(recipe, model, *, conditional=False, **network_options):
    """The settings of `recipe` for `model` (class-`conditional` or not; `None` without a
    recipe), refusing network options that the recipe sets itself (`kgan.training.train`'s
    `architecture`, `latent_dim` ...)."""
    if recipe is None:
        return None
    given = {name: value for name, value in network_options.items() if value is not None}
    if given:
        name, value = next(iter(given.items()))
        raise ValueError(
            f"Recipe {recipe!r} sets the networks; `{name}` cannot be combined with it (use "
            f"`kgan.recipes.build({recipe!r}, ...)` overrides in Python, or no recipe). "
            f"Received: {name}={value!r}"
        )
    return get(recipe, model=model, conditional=conditional)


def choose_recipe(
    data, recipe=None, *, image_shape=None, image_count=None, model=None, **network_options
):
    """The recipe `kgan train` uses: `recipe` if named (`"none"`: no recipe), else the one made
    for the data (`made_recipe`), unless a network option is given explicitly. A recipe made for
    the size or shape of the images that does not train `model` is none; a data set's own
    recipe is refused later if it does not."""
    if recipe is not None:
        check_choice("recipe", recipe, (*names(), "none"))
        return None if recipe == "none" else recipe
    if any(value is not None for value in network_options.values()):
        return None
    made = made_recipe(data, image_shape, image_count)
    if made is None or made == DATA_RECIPES.get(_data_key(data)):
        return made
    return made if model is None or model in RECIPES[made]["models"] else None


def made_recipe(data, image_shape=None, image_count=None):
    """The recipe made for `data`, whatever model it trains: for fewer than `SMALL_DATA_IMAGES`
    images (`image_count`: a folder's, or a data set cut short), `small_data`; else a data set's
    own (`DATA_RECIPES`), or the one made for a folder's `image_shape` (`SHAPE_RECIPES`); `None`
    when none is (or `data` is neither, such as a toy data set)."""
    own = DATA_RECIPES.get(_data_key(data))
    if own is None and image_shape is None:
        return None
    if image_count is not None and image_count < SMALL_DATA_IMAGES:
        return "small_data"
    return own if own is not None else SHAPE_RECIPES.get(tuple(image_shape))


def _data_key(data):
    return os.fspath(data) if data is not None else None


def epochs_for(settings, batches):
    """Enough epochs of a dataset of `batches` batches for the recipe's generator steps (20
    when the number of batches is unknown)."""
    if batches <= 0:
        return 20
    per_step = settings["model_options"].get("n_critic", 1)
    if settings["model_options"].get("critic_batches", "fresh") != "fresh":
        per_step = 1
    steps_per_epoch = max(1, batches // per_step)
    return max(1, -(-settings["steps"] // steps_per_epoch))
