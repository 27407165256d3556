"""A complete training run, as `kgan train` does it: data, networks, fit, samples, saved model,
written into a run folder (`kgan.runs.folder.RunFolder`, which owns the folder's layout, lock,
backup and records)."""

import contextlib
import hashlib
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kgan import callbacks as kgan_callbacks
from kgan import data as kgan_data
from kgan import precision as kgan_precision
from kgan import recipes, registry, storage
from kgan._validation import check_choice, check_positive_int
from kgan.data import pipeline
from kgan.models import (
    AdversarialModel,
    TrainingDivergedError,
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)
from kgan.runs import clusters as run_clusters
from kgan.runs.folder import RunFolder, load_run, merged_history
from kgan.runs.remote import RemoteRunFolder

ARCHITECTURES = ("dcgan", "mlp")
# A run of more epochs writes a grid into `RUN/samples/` every few epochs (`grid_interval`).
MAX_EPOCH_GRIDS = 100


def build_model(
    image_shape,
    *,
    model="gan",
    architecture="dcgan",
    num_classes=None,
    latent_dim=64,
    base_filters=32,
    ema_decay=None,
    seed=None,
    generator_conditioning="input",
    discriminator_conditioning="input",
):
    """Builds an uncompiled `GAN`, `WGAN` or `WGANGP` with networks sized for `image_shape`.

    The GAN discriminator is the TensorFlow DCGAN tutorial's kind: no normalisation, dropout
    0.3 (on the embedded 2,000-image sample it gave cleaner silhouettes than batch
    normalisation, which the small data set lets the discriminator overfit). The critic of a
    Wasserstein model gets no normalisation (WGAN) or layer normalisation (WGAN-GP, whose
    per-example gradient penalty batch statistics would break). A conditional model's
    networks use the labels as `generator_conditioning` and `discriminator_conditioning` say
    (the `conditioning` of `dcgan_generator` and `dcgan_discriminator`; the `mlp` networks
    only take them at their input).
    """
    check_choice("model", model, registry.MODEL_NAMES)
    check_choice("architecture", architecture, ARCHITECTURES)
    critic_normalization = {"gan": None, "wgan": None, "wgangp": "layer"}[model]
    if architecture == "dcgan":
        generator = dcgan_generator(
            image_shape,
            latent_dim,
            num_classes,
            base_filters=base_filters,
            conditioning=generator_conditioning,
        )
        discriminator = dcgan_discriminator(
            image_shape,
            num_classes,
            base_filters=base_filters,
            normalization=critic_normalization,
            dropout=0.3 if model == "gan" else 0.0,
            conditioning=discriminator_conditioning,
        )
    else:
        for name, value in (
            ("generator_conditioning", generator_conditioning),
            ("discriminator_conditioning", discriminator_conditioning),
        ):
            if value != "input":
                raise ValueError(
                    f"The mlp networks take the labels at their input only; `{name}` needs "
                    f"architecture='dcgan'. Received: {name}={value!r}"
                )
        units = (base_filters * 8,)
        generator = mlp_generator(image_shape, latent_dim, units, num_classes=num_classes)
        discriminator = mlp_discriminator(image_shape, units, num_classes=num_classes)
    return registry.model_class(model)(
        generator,
        discriminator,
        num_classes=num_classes,
        ema_decay=ema_decay,
        seed=seed,
    )


# How a self-conditioned run's networks take the clusters: in every batch normalisation of
# the generator, projected onto the discriminator's features (which are clustered, so they
# must not read the clusters themselves).
_CLUSTER_CONDITIONING = {
    "generator": {"conditioning": "batch_norm"},
    "discriminator": {"conditioning": "projection"},
}
_CLUSTER_CONDITIONING_OPTIONS = {
    "generator_conditioning": "batch_norm",
    "discriminator_conditioning": "projection",
}


def _check_clusters(clusters, recluster_steps, conditional, num_classes, instance, architecture):
    check_positive_int("clusters", clusters, allow_none=True)
    check_positive_int("recluster_steps", recluster_steps, allow_none=True)
    if clusters is None:
        if recluster_steps is not None:
            raise ValueError(
                "`recluster_steps` sets how often a self-conditioned run clusters its images; "
                f"it needs `clusters`. Received: recluster_steps={recluster_steps} with "
                "clusters=None"
            )
        return
    if clusters < 2:
        raise ValueError(f"`clusters` must be at least 2. Received: clusters={clusters}")
    given = {
        "conditional": conditional or None,
        "num_classes": num_classes,
        "model": "<model instance>" if instance is not None else None,
        "architecture": architecture if architecture == "mlp" else None,
    }
    for name, value in given.items():
        if value is not None:
            raise ValueError(
                "`clusters` trains a self-conditioned dcgan model built by kgan on unlabelled "
                f"images; it cannot be combined with `{name}`. (For a model of your own, use "
                f"`kgan.callbacks.SelfConditioning` with `fit`.) Received: {name}={value!r}"
            )


def _image_array(data, seed, load_options):
    """The images of `data`, in order, as one array (what clustering needs): uint8 pixels when
    the loaded images are `x / 127.5 - 1` of them, a quarter of float32's memory, else
    float32. `seed` draws those of a generated data set (Stacked MNIST's triples) as a run
    without clusters does."""
    batches, exact = [], True
    for batch in kgan_data.load(data, batch_size=1000, shuffle=False, seed=seed, **load_options):
        batch = keras.ops.convert_to_numpy(batch)
        pixels = np.clip(np.round((batch + 1.0) * 127.5), 0, 255).astype(np.uint8)
        exact = exact and np.array_equal(pipeline.scale_images(pixels).numpy(), batch)
        batches.append(pixels if exact else batch)
    if not exact:  # Some images are not pixels: float32 throughout.
        batches = [pipeline.scale_images(b).numpy() if b.dtype == np.uint8 else b for b in batches]
    return np.concatenate(batches)


def _self_conditioning(gan, images, batch_size, recluster_steps, seed, folder, state):
    """The `SelfConditioning` of a run (continuing the backup `state`'s clusters when it has
    them) and the dataset of its images and clusters."""
    batches = len(images) // batch_size
    if batches == 0:
        raise ValueError(
            f"`batch_size` must be at most the number of images ({len(images)}) for a "
            f"self-conditioned run. Received: batch_size={batch_size}"
        )
    saved = None
    if state is not None and state.get("clusters"):
        saved = run_clusters.load_state(folder.backup_file(state["clusters"]))
    self_conditioning = kgan_callbacks.SelfConditioning(
        gan,
        images,
        every_n_epochs=run_clusters.recluster_epochs(batches, recluster_steps),
        seed=seed,
        state=saved,
    )
    return self_conditioning, self_conditioning.dataset(batch_size, seed=seed)


def _count_classes(dataset):
    highest = -1
    for _, labels in dataset:
        highest = max(highest, int(np.max(labels.numpy())))
    return highest + 1


# Longer than 60 lines: the whole recipe of a run (arguments, resume plan, data, model,
# folder lock) in the order it happens; each step is one call into another module.
def train(
    output_dir,
    *,
    data=kgan_data.EMBEDDED_DATASET,
    data_dir=None,
    model=None,
    architecture=None,
    conditional=False,
    num_classes=None,
    clusters=None,
    recluster_steps=None,
    epochs=None,
    batch_size=None,
    latent_dim=None,
    base_filters=None,
    ema_decay="auto",
    num_samples=None,
    image_size=None,
    crop=None,
    seed=0,
    tensorboard=False,
    verbose="auto",
    restart=False,
    deterministic=False,
    recipe=None,
    precision="auto",
):
    """Trains a GAN on a dataset and writes a run folder (see `kgan.runs.folder`).

    Called again with the same arguments on the folder of a run that was interrupted (killed,
    or stopped by an error), it continues after the last completed epoch, and ends with the
    weights the uninterrupted run would have had (a run with a recipe rebuilds the networks of
    the settings its `config.json` records, even if the recipe changed since); on a finished
    run it trains nothing and returns it, unless asked for more `epochs` and nothing else: it
    then trains the run further, to the weights the larger number of epochs gives from the
    start (see `kgan.runs.folder`).

    Args:
        output_dir: the run folder, created once the data and the networks are ready (an
            invalid argument or missing data leaves none). A folder holding a run of these
            arguments is resumed, kept or trained further (above). One holding another run is
            refused, finished or not (killed, failed, or still being written; see
            `kgan.runs.folder`): `restart=True` replaces a finished one. A URL (`gs://...`,
            `s3://...` with tensorflow-io, any `tf.io.gfile` scheme) works the same way: the
            run is trained in a local staging folder copied from the URL first, and to it after
            every epoch and at the end, so that the URL always holds a run the same call
            resumes, on any machine; the folder lock is local only (see `kgan.runs.remote`).
        data: a dataset name or folder for `kgan.data.load`; by default the embedded sample
            of Fashion-MNIST, which needs no network.
        data_dir: local data folder (else `$KGAN_DATA_DIR`).
        model: `"gan"` (default), `"wgan"` or `"wgangp"`; with a recipe, one it supports
            (default: the recipe's). Or a kgan model you built from your own networks
            (`kgan.GAN(generator, discriminator, ...)`, compiled or not: uncompiled gets
            `compile()`'s defaults): it is trained as it is, without a recipe or the network
            options below, under the dtype policy its networks were built in (`precision`
            stays `"auto"`). `config.json` records its class and a fingerprint of its
            configuration (networks, loss, stabilisers, optimisers; not the layers' names),
            so that calling `train` again with the same model built again resumes the run.
        architecture: `"dcgan"` (default) or `"mlp"`; not with a recipe.
        conditional: train a class-conditional model on the dataset's labels.
        num_classes: classes of a conditional model (counted from the labels when `None`).
        clusters: train self-conditioned (Liu et al. 2020) on this many clusters of the
            images instead of labels (`kgan.callbacks.SelfConditioning`): a class-conditional
            model of `clusters` classes whose generator is told the cluster in every batch
            normalisation and whose discriminator projects it, the images clustered by the
            discriminator's features before training and again about every
            `recluster_steps` batches (`kgan.runs.clusters`). The images are held in memory.
            The run folder gains `clusters.json`, and `kgan export`, `evaluate` and `sample`
            use its generator of latent vectors alone
            (`kgan.runs.clusters.load_run_generator`). Not with `conditional`, a model
            instance or the `mlp` architecture.
        recluster_steps: with `clusters`, cluster the images again at the epoch end nearest
            every this many batches (default 2,000; at least every epoch). Liu et al. (2020)
            use 2,000 to 25,000 iterations: a longer interval changes what the generator's
            classes mean less often.
        epochs: passes over the data (default 20; with a recipe, enough for its `steps`).
        batch_size: as in `fit` (default 64, or the recipe's).
        latent_dim: size of z (default 64); not with a recipe.
        base_filters: width of the networks (default 32); not with a recipe.
        ema_decay: decay of the exponential moving average of the generator's weights that
            `generate` and export use (`"auto"`: 0.99, or the recipe's; `None` turns it off).
        num_samples: train on the first `num_samples` images only.
        image_size: `(height, width)` (or one int) to resize the images to, as
            `kgan.data.load` does; by default the data's own size.
        crop: `"center"` to keep the aspect ratio when resizing (see `kgan.data.load`).
        seed: seed of the data order, the initial weights and the noise.
        tensorboard: also write TensorBoard logs (metrics and sample grids) to `RUN/logs`.
        verbose: verbosity of `fit`.
        restart: start over, replacing the run in `output_dir`, instead of resuming it.
        deterministic: make TensorFlow's ops deterministic
            (`tf.config.experimental.enable_op_determinism()`, for the rest of the process):
            two runs with the same arguments then give the same weights, bit for bit, and so do
            an interrupted run resumed and an uninterrupted one. Slower on a GPU.
        recipe: a name from `kgan.recipes.names()`: its networks, loss, stabilisers,
            optimisers and batch size instead of the defaults above.
        precision: `"auto"` (default), `"float32"`, `"mixed_bfloat16"` or `"mixed_float16"`:
            the Keras dtype policy the networks are built and trained with (see
            `kgan.precision`; `"auto"` keeps a global mixed policy you set, else picks
            `mixed_bfloat16` on a CPU with bfloat16 instructions and no GPU, else
            `float32`). Weights stay float32 either way, and exports compute in float32.
            `config.json` records the policy used as `dtype_policy`; a resumed run keeps it.

    Returns:
        `(model, history)`: the trained model and the `keras.callbacks.History`.
    """
    for name, value in (
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("latent_dim", latent_dim),
        ("base_filters", base_filters),
    ):
        # `None` asks for the default; 0 is refused, not taken as `None`.
        check_positive_int(name, value, allow_none=True)
    instance = model if isinstance(model, AdversarialModel) else None
    _check_clusters(clusters, recluster_steps, conditional, num_classes, instance, architecture)
    if instance is not None:
        _check_instance_arguments(
            instance,
            recipe=recipe,
            architecture=architecture,
            latent_dim=latent_dim,
            base_filters=base_filters,
            ema_decay=ema_decay,
            precision=precision,
            conditional=conditional,
            num_classes=num_classes,
        )
        if not instance.compiled:
            instance.compile()
        model, ema_decay = type(instance).__name__, instance.ema_decay
        latent_dim, num_classes = instance.latent_dim, instance.num_classes
    elif recipe is None and model is not None:
        check_choice("model", model, registry.MODEL_NAMES)
    settings = recipes.settings_for_training(
        recipe,
        model,
        conditional=conditional or clusters is not None,
        architecture=architecture,
        latent_dim=latent_dim,
        base_filters=base_filters,
    )
    if clusters is not None and settings is not None and settings["architecture"] != "dcgan":
        raise ValueError(
            f"`clusters` needs dcgan networks; recipe {recipe!r} builds "
            f"{settings['architecture']} ones. Received: recipe={recipe!r}"
        )
    if instance is not None:
        batch_size = batch_size or 64
    elif settings is None:
        model, architecture = model or "gan", architecture or "dcgan"
        latent_dim, base_filters = latent_dim or 64, base_filters or 32
        batch_size = batch_size or 64
        ema_decay = 0.99 if ema_decay == "auto" else ema_decay
    else:
        model, batch_size = settings["model"], batch_size or settings["batch_size"]
        if ema_decay == "auto":
            ema_decay = settings["model_options"].get("ema_decay")
    check_choice("precision", precision, kgan_precision.PRECISIONS)
    output_dir = os.fspath(output_dir)
    remote = RemoteRunFolder(output_dir) if storage.is_url(output_dir) else None
    config = {
        "recipe": recipe,
        "data": os.fspath(data),
        "model": model,
        "architecture": architecture,
        "conditional": conditional,
        "num_classes": num_classes if conditional else None,
        "epochs": epochs,
        "batch_size": batch_size,
        "latent_dim": latent_dim,
        "base_filters": base_filters,
        "ema_decay": ema_decay,
        "num_samples": num_samples,
        "seed": seed,
        "deterministic": bool(deterministic),
        "precision": precision,
    }
    if instance is not None:
        config["model_fingerprint"] = model_fingerprint(instance)
    # Recorded only when set, so that the runs of before these options still resume.
    if image_size is not None:
        config["image_size"] = list(pipeline.normalize_image_size(image_size))
    if crop is not None:
        config["crop"] = crop
    if clusters is not None:
        config["clusters"] = clusters
    if recluster_steps is not None:
        config["recluster_steps"] = recluster_steps
    with contextlib.ExitStack() as stack:
        # A run folder on a URL is trained in a local copy (`kgan.runs.remote`).
        folder = stack.enter_context(remote.staged()) if remote else RunFolder(output_dir)
        start = folder.plan(config, restart=restart)
        if instance is not None and start.policy is not None:
            _instance_policy(instance, start.policy, folder.location)
        if start.action == "finished":
            return _finished_run(folder, verbose, instance)
        if start.action == "new":
            folder.check_free(start.differences)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(seed)

        # A resumed run keeps the policy it was trained in; a model instance has its own.
        policy = start.policy or kgan_precision.resolve(precision)
        if instance is not None:
            policy = instance.generator.dtype_policy.name
        config["dtype_policy"] = policy
        # The networks keep the policy they are built with; training runs under it too.
        with kgan_precision.policy_scope(policy):
            load_options = dict(
                data_dir=data_dir, num_samples=num_samples, image_size=image_size, crop=crop
            )
            if clusters is None:
                dataset = kgan_data.load(
                    data, batch_size=batch_size, with_labels=conditional, seed=seed, **load_options
                )
                spec = dataset.element_spec[0] if conditional else dataset.element_spec
                image_shape = tuple(spec.shape[1:])
            else:
                images = _image_array(data, seed, load_options)
                image_shape, num_classes = images.shape[1:], clusters
                conditional = True  # On the clusters, as labels.
            if conditional and num_classes is None:
                num_classes = _count_classes(dataset)
            if instance is not None:
                gan = instance
                _check_instance_data(instance, image_shape, data)
            elif settings is None:
                gan = build_model(
                    image_shape,
                    model=model,
                    architecture=architecture,
                    num_classes=num_classes if conditional else None,
                    latent_dim=latent_dim,
                    base_filters=base_filters,
                    ema_decay=ema_decay,
                    seed=seed,
                    **(_CLUSTER_CONDITIONING_OPTIONS if clusters else {}),
                )
                gan.compile()
            else:
                # A resumed run rebuilds the networks it recorded, even if the recipe changed.
                settings = start.recipe_settings or recipes.resolve(
                    recipe,
                    model=model,
                    conditional=conditional,
                    data_shape=image_shape,
                    ema_decay=ema_decay,
                    **(_CLUSTER_CONDITIONING if clusters else {}),
                )
                gan = recipes.build_from_settings(
                    settings, num_classes=num_classes if conditional else None, seed=seed
                )
                config["recipe_settings"] = recipes.recorded(settings)
            self_conditioning = None
            if clusters is not None:
                self_conditioning, dataset = _self_conditioning(
                    gan, images, batch_size, recluster_steps, seed, folder, start.state
                )
            if epochs is None:
                # A run resumed without `epochs` keeps its own number.
                epochs = start.epochs or (
                    20
                    if settings is None
                    else recipes.epochs_for(settings, int(dataset.cardinality()))
                )
                config["epochs"] = epochs
            config.update(
                num_classes=num_classes if conditional and not clusters else None,
                image_shape=list(image_shape),
            )
            class_names = getattr(dataset, "class_names", None) if not clusters else None
            if conditional and class_names and len(class_names) == num_classes:
                # For the exports' metadata and `kgan sample --labels NAME`.
                config["class_names"] = list(class_names)
            with folder.lock():
                if start.action == "new":
                    folder.check_free(
                        start.differences
                    )  # Again, now that no other run can start writing it.
                if start.state is None:
                    folder.clear()
                if start.action == "extend" and verbose:
                    print(
                        f"{folder.location} holds a finished run of {start.state['epoch']} "
                        f"epochs: training it further to {epochs}."
                    )
                if start.action == "resume" and start.state is not None and verbose:
                    print(
                        f"{folder.location} holds this command's interrupted run: resuming it "
                        f"after epoch {start.state['epoch']} of {epochs}."
                    )
                if verbose:
                    print(_summary(gan, config, int(dataset.cardinality()), folder.location))
                return _fit_into(
                    folder,
                    gan,
                    dataset,
                    config,
                    tensorboard,
                    verbose,
                    start.state,
                    remote,
                    self_conditioning,
                    extend=start.action == "extend",
                )


def _summary(gan, config, batches, location):
    """One line of what a run trains, on what, and how, before its first epoch."""
    classes = config.get("clusters") or config.get("num_classes")
    kind = "clusters" if config.get("clusters") else "classes"
    shape = "x".join(map(str, config["image_shape"]))
    recipe = config.get("recipe") or "none"
    per_epoch = f"{batches:,} batches" if batches >= 0 else "batches"  # Unknown when streamed.
    return (
        f"Training {type(gan).__name__} on {shape} samples"
        + (f" of {classes} {kind}" if classes else "")
        + f" into {location}: {config['epochs']} epochs of {per_epoch} of "
        f"{config['batch_size']}, recipe {recipe}, {config['dtype_policy']}."
    )


# The compile options that change how a step runs, not what it computes.
_RUN_OPTIONS = ("jit_compile", "steps_per_execution", "run_eagerly")


def model_fingerprint(model):
    """A digest of `model`'s configuration and compile configuration (networks, loss,
    stabilisers, optimisers), the same for the same model built again.

    Layer names are replaced by their order of appearance, wherever they occur (a layer's
    `name`, the references between the layers of a functional network): Keras numbers
    unnamed layers (`dense_3`), so a model built again in the same Python session gets other
    names. Dtype policies keep their names; `_RUN_OPTIONS` are left out.
    """
    config = keras.saving.serialize_keras_object(model)
    config["compile_config"] = {
        key: value for key, value in model.get_compile_config().items() if key not in _RUN_OPTIONS
    }
    record = json.loads(json.dumps(config, default=repr))
    names = {}

    def collect(value, policy=False):
        if isinstance(value, dict):
            policy = policy or "DTypePolicy" in str(value.get("class_name", ""))
            if not policy and isinstance(value.get("name"), str):
                names.setdefault(value["name"], f"<layer {len(names)}>")
            for item in value.values():
                collect(item, policy)
        elif isinstance(value, list):
            for item in value:
                collect(item, policy)

    def renamed(value, policy=False):
        if isinstance(value, dict):
            policy = policy or "DTypePolicy" in str(value.get("class_name", ""))
            return {key: renamed(item, policy) for key, item in value.items()}
        if isinstance(value, list):
            return [renamed(item, policy) for item in value]
        return value if policy or not isinstance(value, str) else names.get(value, value)

    collect(record)
    text = json.dumps(renamed(record), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_instance_arguments(model, *, conditional, num_classes, precision, **network_options):
    """Refuses the arguments of `train` that a model instance decides itself."""
    for name, value in network_options.items():
        if (value != "auto") if name == "ema_decay" else (value is not None):
            raise ValueError(
                f"`{name}` cannot be combined with a model instance, which sets it itself "
                f"(build it into the model instead). Received: {name}={value!r}"
            )
    if precision != "auto":
        raise ValueError(
            "A model instance trains in the dtype policy its networks were built in (build "
            "them inside `kgan.precision.policy_scope(...)`); `precision` must stay 'auto'. "
            f"Received: precision={precision!r}"
        )
    if bool(conditional) != (model.num_classes is not None):
        raise ValueError(
            f"`conditional` must match the model, which has num_classes={model.num_classes!r}. "
            f"Received: conditional={conditional!r}"
        )
    if num_classes is not None and num_classes != model.num_classes:
        raise ValueError(
            f"`num_classes` must match the model's {model.num_classes!r}. "
            f"Received: num_classes={num_classes!r}"
        )


def _instance_policy(model, saved_policy, location):
    """Refuses a model instance whose networks are not in the dtype policy of the run it would
    resume (or return finished)."""
    policy = model.generator.dtype_policy.name
    if saved_policy != policy:
        raise ValueError(
            f"The run in {location} trained in the dtype policy {saved_policy!r}; build the "
            f"model's networks in it to resume (inside "
            f"`kgan.precision.policy_scope({saved_policy!r})`). Received: model whose generator's "
            f"dtype policy is {policy!r}"
        )


def _check_instance_data(model, image_shape, data):
    if tuple(model.sample_shape) != tuple(image_shape):
        raise ValueError(
            f"The model draws samples of shape {tuple(model.sample_shape)}, the data's images "
            f"are {tuple(image_shape)}. Received: data={os.fspath(data)!r}"
        )


def _finished_run(folder, verbose, instance=None):
    """The finished run in `folder`, loaded (into `instance`, a model instance given to
    `train`, when there is one), and its `History` (for a re-run)."""
    if instance is not None:
        instance.load_weights(folder.file("model.keras"))
        record = folder.read_history()
        gan = instance
    else:
        gan, record, _ = load_run(folder.path)
    if verbose:
        print(
            f"{folder.location} already holds the finished run of these arguments "
            f"({record['epochs']} epochs): nothing to train. Pass more --epochs to train it "
            "further, or --restart (restart=True) to train it again."
        )
    history = merged_history(record, None)
    history.set_model(gan)
    return gan, history


def _fit_into(
    folder,
    gan,
    dataset,
    config,
    tensorboard,
    verbose,
    state=None,
    remote=None,
    self_conditioning=None,
    extend=False,
):
    """Trains `gan` and writes the run's files into `folder`, each atomically; continues
    after the backup `state` when it is given (`extend`: the backup of a finished run's last
    epoch, trained further). `remote`, the `RemoteRunFolder` whose staging folder `folder` is,
    gets the changes after `config.json`, after each epoch's backup, and at the end.
    `self_conditioning`, the `SelfConditioning` of a self-conditioned run, clusters the images
    during `fit`, and its backup and `clusters.json` keep the clusters."""
    log_dir = folder.file("logs") if tensorboard else None
    monitor = kgan_callbacks.TrainingMonitor(
        stop_on=("divergence",), checkpoint_path=folder.file("last_good.keras")
    )
    grid = grid_layout(gan)
    run_callbacks = [
        kgan_callbacks.SampleGrid(
            folder.file("samples"),
            tensorboard_dir=log_dir,
            every_n_epochs=grid_interval(config["epochs"]),
            **grid,
        ),
        monitor,
    ]
    if log_dir:
        run_callbacks.append(keras.callbacks.TensorBoard(log_dir))
    if state is not None:
        folder.restore(gan, state, monitor)
    if extend:
        _reopen(folder, state, self_conditioning)
    if self_conditioning is not None:
        # After the monitor, which may save last_good.keras, and before the clusters change.
        run_callbacks.append(
            run_clusters.CheckpointClusters(
                monitor, self_conditioning, folder.file(run_clusters.CHECKPOINT_CLUSTERS_FILE)
            )
        )
        run_callbacks.append(self_conditioning)
    # Last, so that the backup holds the monitor's record and the clusters of the epoch.
    run_callbacks.append(folder.backup_callback(monitor, state, self_conditioning))
    folder.write_config(config)
    if remote:
        run_callbacks.append(remote.callback())  # After the backup: it copies its commit.
        remote.push(strict=True)
    started = time.time() - (state or {}).get("seconds", 0.0)
    try:
        history = gan.fit(
            dataset,
            epochs=config["epochs"],
            initial_epoch=state["epoch"] if state else 0,
            callbacks=run_callbacks,
            verbose=verbose,
        )
    except TrainingDivergedError as error:
        # Keep the record of the epochs that ran; the diverged weights are not saved, the last
        # healthy checkpoint (if any epoch was healthy) stays in last_good.keras.
        history = merged_history(state, gan.history)
        folder.write_history(history, time.time() - started, monitor, str(error))
        if remote:
            remote.push()
        raise
    history = merged_history(state, history)
    folder.write_history(history, time.time() - started, monitor)
    if self_conditioning is not None:
        # Before model.keras: a finished self-conditioned run always has its clusters.
        run_clusters.write_record(
            folder.file(run_clusters.CLUSTERS_FILE),
            self_conditioning,
            self_conditioning.every_n_epochs,
        )
    folder.write_model(gan)
    if self_conditioning is None:
        samples = gan.generate(grid["num_samples"], labels=grid["labels"], seed=0)
        folder.write_samples(samples, num_rows=grid["num_rows"])
    else:
        folder.write_samples(run_clusters.samples(self_conditioning.generator(), gan, 64))
    if remote:
        remote.push(strict=True)
    return gan, history


def _reopen(folder, state, self_conditioning):
    """Makes the finished run restored from the backup `state` an unfinished one that trains
    further: once the backup is known to fit, its finished files go; and a self-conditioned
    run clusters the images as the longer run did after this epoch (`SelfConditioning` skips
    the clustering due after a run's last epoch)."""
    every = self_conditioning.every_n_epochs if self_conditioning is not None else None
    if every and state["epoch"] % every == 0:
        self_conditioning.recluster()
    folder.reopen()


def grid_interval(epochs):
    """Every how many epochs a run of `epochs` epochs writes a grid into `RUN/samples/` (and
    at its last): every epoch in a run of at most `MAX_EPOCH_GRIDS` epochs, so that a longer
    one (`small_data` on 100 images trains 930 epochs of two batches) writes about that many."""
    return max(1, math.ceil(epochs / MAX_EPOCH_GRIDS))


def grid_layout(gan, rows=8):
    """The run's sample grids: 64 samples, or for a conditional model with at most 16 classes
    `rows` samples of each class, one column per class."""
    classes = gan.num_classes
    if not classes or classes > 16:
        return {"num_samples": 64, "labels": None, "num_rows": None}
    return {
        "num_samples": rows * classes,
        "labels": np.tile(np.arange(classes, dtype="int32"), rows),
        "num_rows": rows,
    }
