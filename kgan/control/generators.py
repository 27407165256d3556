"""One interface to a generator in any of kgan's formats: Keras, SavedModel and ONNX.

`Generator.generate(num_samples, seed=...)` draws `z` with `kgan.models.sample_latent`, as
`kgan.GAN.generate` and an exported SavedModel's `generate` signature do, so one seed gives the
same images in every format. `Generator.__call__` runs the network on given `z` and, for the
Keras and SavedModel formats, lets gradients flow back to `z` (which `kgan.control.edit`
needs).
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

from kgan._validation import check_positive_int, check_seed
from kgan.control.labels import check_labels
from kgan.export import resolve_generator
from kgan.export.metadata import metadata_class_names
from kgan.models import AdversarialModel, sample_latent
from kgan.models.checks import latent_vectors, truncation_share
from kgan.models.truncation import truncated_generate
from kgan.networks.inputs import ClusterFromLatent, cluster_layer
from kgan.progress import Progress


class Generator:
    """A generator with its sizes, whatever format it was loaded from.

    Attributes:
        format: `"keras"`, `"saved_model"` or `"onnx"`.
        path: the file or folder it was loaded from, or `None`.
        latent_dim, num_classes, sample_shape, latent_distribution: as in the kgan model.
        differentiable: whether gradients flow from the samples back to `z`.
        forward_differentiable: whether TensorFlow's forward mode runs through it too; when
            it does not (the SavedModel of a self-conditioned generator, which computes the
            cluster, an integer, from z: `tf.autodiff.ForwardAccumulator` fails on loaded
            functions with such integers), Jacobian truncation takes its Jacobian-vector
            products from two backward passes instead.
        latent_classes: for a generator that draws its class from z's first value (a
            self-conditioned run's), the `kgan.layers.ClusterFromLatent` that does it, so that
            Jacobian truncation thresholds each class apart; else `None`.
        class_names: the name of each class of a conditional generator, in label order, when
            its export or run records them (`kgan.export.metadata.metadata_class_names`); else
            `None`.
    """

    format = None
    differentiable = False
    forward_differentiable = False
    latent_classes = None
    class_names = None

    def __init__(self, *, latent_dim, num_classes, sample_shape, latent_distribution, path):
        self.latent_dim = int(latent_dim)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.latent_distribution = latent_distribution
        self.path = path

    @property
    def conditional(self):
        return self.num_classes is not None

    @property
    def is_image(self):
        return len(self.sample_shape) == 3

    def describe(self):
        """`"SavedModel savedmodels/mnist_cdcgan/1"`: the format and where it came from."""
        names = {"keras": "Keras model", "saved_model": "SavedModel", "onnx": "ONNX model"}
        return names[self.format] + (f" {self.path}" if self.path else "")

    def sample_z(self, num_samples, seed=None):
        """Latent vectors from the generator's prior; a seed gives those of `GAN.generate`."""
        check_positive_int("num_samples", num_samples)
        check_seed(seed)
        z = sample_latent(
            num_samples, self.latent_dim, seed=seed, distribution=self.latent_distribution
        )
        return z.numpy()

    def seeded_z(self, seeds):
        """One latent vector per seed: row `i` is that of `generate(1, seed=seeds[i])`, so each
        sample can be drawn again alone from its seed."""
        if len(seeds) == 0:
            raise ValueError("`seeds` must hold at least one seed. Received: seeds=[]")
        return np.concatenate([self.sample_z(1, seed) for seed in seeds])

    def __call__(self, z, labels=None):
        """The samples of `z` (and integer `labels`) as a float32 tensor, in inference mode."""
        return tf.convert_to_tensor(self._run(z, labels), tf.float32)

    def generate(
        self,
        num_samples=None,
        *,
        z=None,
        labels=None,
        seed=None,
        batch_size=256,
        jacobian_truncation=None,
        verbose="auto",
    ):
        """Generates samples as `kgan.GAN.generate` does, in batches.

        Args:
            num_samples: how many samples to draw (not needed when `z` is given).
            z: latent vectors `(num_samples, latent_dim)`; drawn from the prior with `seed`
                when `None`.
            labels: integer classes of a conditional generator, one per sample or one for
                all; `None` cycles 0, 1, ..., num_classes - 1.
            seed: integer seed of `z`.
            batch_size: how many samples go through the network at once.
            jacobian_truncation: a share in (0, 1) of the samples to leave out, those where
                the generator stretches space most (see `kgan.models.truncation`); the same
                seed gives the samples of `kgan.GAN.generate(..., jacobian_truncation=...)`.
                Needs gradients: Keras and SavedModel generators, not ONNX.
            verbose: progress, as in `kgan.GAN.generate` (`kgan.progress`).

        Returns:
            A NumPy float32 array `(num_samples, *sample_shape)`.
        """
        check_positive_int("batch_size", batch_size)
        if jacobian_truncation is not None:
            truncation_share(jacobian_truncation, z)
            self.require_gradients("Jacobian truncation")
            check_positive_int("num_samples", num_samples)
            check_seed(seed)
            labels = check_labels(labels, num_samples, self.num_classes)
            if getattr(self, "_unrecorded_classes", False):
                warnings.warn(
                    f"{self.describe()} draws a cluster from z but its metadata does not say "
                    "how (no `latent_classes`: exported by an older kgan), so Jacobian "
                    "truncation uses one threshold over all clusters, which removes some more "
                    "than others. Export the run again for a threshold per cluster.",
                    stacklevel=2,
                )
            z = truncated_generate(
                self,
                self,
                labels,
                count=num_samples,
                share=jacobian_truncation,
                seed=seed,
                batch_size=batch_size,
                verbose=verbose,
            )
        elif z is None:
            z = self.sample_z(num_samples, seed)
        else:
            z = latent_vectors(z, self.latent_dim, num_samples)
        labels = check_labels(labels, z.shape[0], self.num_classes)
        outputs = []
        progress = Progress(f"Generating {z.shape[0]:,} samples", z.shape[0], verbose=verbose)
        for start in range(0, z.shape[0], batch_size):
            batch_labels = None if labels is None else labels[start : start + batch_size]
            outputs.append(np.asarray(self(z[start : start + batch_size], batch_labels)))
            progress.add(len(outputs[-1]))
        if not outputs:
            return np.zeros((0, *self.sample_shape), "float32")
        return np.concatenate(outputs).astype("float32")

    def _run(self, z, labels):
        raise NotImplementedError

    def require_gradients(self, what):
        """Raises a clear error when `what` needs gradients this format does not give."""
        if not self.differentiable:
            raise ValueError(
                f"{what} follows gradients back through the generator, which an ONNX model "
                "does not provide; use the same generator as a SavedModel or Keras model. "
                f"Received: model={self.describe()}"
            )


class KerasGenerator(Generator):
    """A kgan model (its `inference_generator`) or a bare generator `keras.Model`."""

    format = "keras"
    differentiable = True
    forward_differentiable = True

    def __init__(self, model, *, num_classes=None, path=None):
        if num_classes is None and not isinstance(model, AdversarialModel):
            num_classes = _encoded_classes(model)
        source = resolve_generator(model, num_classes=num_classes)
        super().__init__(
            latent_dim=source.latent_dim,
            num_classes=source.num_classes,
            sample_shape=source.sample_shape,
            latent_distribution=source.latent_distribution,
            path=path,
        )
        self.model = model
        self.network = source.generator
        self.latent_classes = cluster_layer(self.network)
        self._soft_label_model = None

    def _run(self, z, labels):
        # Keras refuses a mix of tensors and NumPy arrays in one call.
        z = tf.convert_to_tensor(z, tf.float32)
        inputs = z if labels is None else [z, tf.convert_to_tensor(labels, tf.int32)]
        return self.network(inputs, training=False)

    def soft_label_model(self):
        """The generator as a `keras.Model` taking `[z, class_weights]`, sharing its weights.

        kgan's builders one-hot encode the integer `labels` inside the network
        (a `CategoryEncoding` layer). This model starts right after that layer, so it takes
        rows of class weights (one-hot rows, or blends of them) where the generator takes
        integers; with one-hot rows it gives exactly the generator's samples. Built from the
        network's own layers, it works on any generator saved by kgan's builders, and follows the
        network's weights as they change.
        """
        if self._soft_label_model is not None:
            return self._soft_label_model
        what = "Class interpolation"
        if not self.conditional:
            raise ValueError(
                f"{what} needs a class-conditional generator. Received: model with num_classes=None"
            )
        encoders = [
            layer
            for layer in getattr(self.network, "layers", [])
            if isinstance(layer, keras.layers.CategoryEncoding)
        ]
        inputs = getattr(self.network, "inputs", None) or []
        if len(encoders) != 1 or len(inputs) != 2 or encoders[0].input is not inputs[1]:
            raise ValueError(
                f"{what} needs a functional generator whose `labels` input goes straight into "
                "one CategoryEncoding layer, as in kgan.models.dcgan_generator and "
                f"mlp_generator. Received: generator {self.network.name!r}"
            )

        # The same layers (and weights) called on new inputs, with an identity in place of
        # the encoding. A functional model cut out of the network's own graph instead would
        # add nodes to it that break saving the network afterwards.
        def reuse_layer(layer):
            if isinstance(layer, keras.layers.CategoryEncoding):
                return keras.layers.Identity(name="class_weights_identity")
            return layer

        new_inputs = [
            keras.Input(shape=(self.latent_dim,), name="z"),
            keras.Input(shape=(self.num_classes,), name="class_weights"),
        ]
        self._soft_label_model = keras.models.clone_model(
            self.network, input_tensors=new_inputs, clone_function=reuse_layer
        )
        return self._soft_label_model

    def generate_soft(self, z, class_weights, *, batch_size=256):
        """Samples of `z` under rows of class weights `(num_samples, num_classes)`."""
        z = latent_vectors(z, self.latent_dim)
        class_weights = np.asarray(class_weights, dtype="float32")
        if class_weights.shape != (z.shape[0], self.num_classes):
            raise ValueError(
                f"`class_weights` must have shape ({z.shape[0]}, {self.num_classes}). "
                f"Received: class_weights of shape {class_weights.shape}"
            )
        model = self.soft_label_model()
        outputs = [
            keras.ops.convert_to_numpy(
                model([z[i : i + batch_size], class_weights[i : i + batch_size]], training=False)
            )
            for i in range(0, z.shape[0], batch_size)
        ]
        return np.concatenate(outputs).astype("float32")


def _encoded_classes(network):
    """The classes of a bare conditional generator built by kgan (two inputs, the labels
    one-hot encoded inside), or `None`."""
    if len(getattr(network, "inputs", None) or []) != 2:
        return None
    encoders = [
        layer
        for layer in getattr(network, "layers", [])
        if isinstance(layer, keras.layers.CategoryEncoding)
    ]
    return int(encoders[0].num_tokens) if len(encoders) == 1 else None


class SavedModelGenerator(Generator):
    """A SavedModel version folder written by `kgan.export.to_saved_model`."""

    format = "saved_model"
    differentiable = True

    def __init__(self, path, metadata):
        super().__init__(path=path, **_sizes(metadata))
        self.metadata = metadata
        run_config = (metadata.get("training") or {}).get("run_config") or {}
        self.latent_classes = _latent_classes(metadata)
        self.class_names = metadata_class_names(metadata)
        self.forward_differentiable = not (run_config.get("clusters") or self.latent_classes)
        # A self-conditioned run exported before the metadata recorded its clusters.
        self._unrecorded_classes = bool(run_config.get("clusters")) and not self.latent_classes
        self.loaded = tf.saved_model.load(path)
        self.signature = self.loaded.signatures["serving_default"]

    def _run(self, z, labels):
        inputs = {"z": tf.convert_to_tensor(z, tf.float32)}
        if labels is not None:
            inputs["labels"] = tf.convert_to_tensor(labels, tf.int32)
        return self.signature(**inputs)["images"]


class OnnxGenerator(Generator):
    """An `.onnx` file written by `kgan.export.to_onnx`, run with onnxruntime."""

    format = "onnx"

    def __init__(self, path, metadata):
        import onnxruntime

        super().__init__(path=path, **_sizes(metadata))
        self.metadata = metadata
        self.latent_classes = _latent_classes(metadata)
        self.class_names = metadata_class_names(metadata)
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])

    def _run(self, z, labels):
        feeds = {"z": np.asarray(z, dtype="float32")}
        if labels is not None:
            feeds["labels"] = np.asarray(labels, dtype="int32")
        return self.session.run(["images"], feeds)[0]


def _latent_classes(metadata):
    """The `ClusterFromLatent` an export's metadata describes (`latent_classes`), else `None`."""
    described = metadata.get("latent_classes")
    if not described:
        return None
    return ClusterFromLatent(described["frequencies"], described["distribution"])


def _sizes(metadata):
    """The `Generator` sizes recorded in an export's metadata (`kgan.export.read_metadata`)."""
    return {
        "latent_dim": metadata["latent_dim"],
        "num_classes": metadata.get("num_classes"),
        "sample_shape": metadata["sample_shape"],
        "latent_distribution": metadata.get("latent_distribution", "normal"),
    }
