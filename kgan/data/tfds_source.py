"""Image datasets from tensorflow-datasets (tfds), downloaded by tfds on first use."""

import os
import shutil
import socket
import threading
import urllib.parse
import urllib.request

import numpy as np
import tensorflow as tf

from kgan._validation import short
from kgan.data import pipeline

TFDS_CATALOG = "https://www.tensorflow.org/datasets/catalog/overview"
# Where tfds downloads from: its own mirror of prepared datasets, and the files of most image
# datasets (MNIST, Fashion-MNIST...). Probed before a download, so that a machine without a
# network fails in seconds rather than after minutes of retries.
DOWNLOAD_HOST = ("storage.googleapis.com", 443)
PROBE_TIMEOUT = 5.0


class UnknownDatasetError(Exception):
    """tfds has no dataset of this name; `kgan.data.load` turns it into a `ValueError` that
    lists the sources available offline."""


def builder(name, data_dir):
    """Returns the tfds builder of `name`, raising `UnknownDatasetError` if tfds has none."""
    import tensorflow_datasets as tfds  # Imported on use: it takes seconds to import.

    try:
        return tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir))
    except tfds.core.registered.DatasetNotFoundError:
        raise UnknownDatasetError(name) from None


def _probe_address():
    """The host and port a download connects to first: the proxy's, when one is set for HTTPS
    (`https_proxy`, else `all_proxy`) and the download host is not exempt from it (`no_proxy`),
    as the standard library reads those variables."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get("https") or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(DOWNLOAD_HOST[0]):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parsed.hostname:
            default_port = 443 if parsed.scheme == "https" else 80
            return parsed.hostname, parsed.port or default_port
    return DOWNLOAD_HOST


def network_problem(timeout=PROBE_TIMEOUT):
    """Why tfds' download host (or the proxy) cannot be reached, or `None` if it can.

    A TCP connection within `timeout` seconds, name resolution included (run in a thread,
    since resolution has no timeout of its own).
    """
    address = _probe_address()
    outcome = []

    def connect():
        try:
            socket.create_connection(address, timeout=timeout).close()
            outcome.append(None)
        except OSError as error:
            outcome.append(f"{type(error).__name__}: {short(error, 120)}")

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return f"no connection to {address[0]}:{address[1]} within {timeout:g} s"
    if outcome[0] is None:
        return None
    return f"cannot connect to {address[0]}:{address[1]}: {outcome[0]}"


def _is_prepared(dataset_builder):
    try:
        return bool(dataset_builder.is_prepared())
    except Exception:  # noqa: BLE001 - an unreadable copy is prepared again.
        return False


def _download_and_prepare(dataset_builder):
    """`download_and_prepare`, after a quick check that the network is there; a failed
    download removes the folders it created (partial `incomplete.*` copies, downloads)."""
    if not _is_prepared(dataset_builder):
        problem = network_problem()
        if problem is not None:
            raise ConnectionError(problem)
    root = os.fspath(dataset_builder.data_dir_root)
    created = [
        path
        for path in (
            os.path.join(root, dataset_builder.name),
            os.path.join(root, "downloads"),
            root,
        )
        if not os.path.exists(path)
    ]
    try:
        dataset_builder.download_and_prepare()
    except BaseException:
        for path in created:
            shutil.rmtree(path, ignore_errors=True)
        raise


def prepared_split(dataset_builder, name, split, offline_advice=None):
    """Downloads and prepares the dataset if needed; returns its split's `tf.data` examples.

    A download that fails (offline, firewall, manual download required) becomes a
    `FileNotFoundError` saying how to get the data without a network, rather than the
    network library's stack trace: `offline_advice` when the caller knows a local source
    (which files to put where), else how tfds and kgan's in-memory sources work offline.
    Without a network this takes seconds (see `network_problem`), and leaves nothing in tfds'
    data folder.
    """
    try:
        _download_and_prepare(dataset_builder)
    except Exception as error:  # noqa: BLE001 - tfds raises many types when offline.
        advice = offline_advice or (
            "tensorflow-datasets needs a network connection to download it once into its "
            f"data folder ({dataset_builder.data_dir}); after that it loads offline. "
            "Without a network, load a folder of images or NumPy arrays "
            "(kgan.data.from_arrays) instead"
        )
        raise FileNotFoundError(
            f"{name!r} has no local copy and tensorflow-datasets could not download it "
            f"({type(error).__name__}: {short(error, 300)}). {advice.rstrip('.')}. "
            f"Received: name={name!r}"
        ) from None
    try:
        examples = dataset_builder.as_dataset(split=split, shuffle_files=False)
    except (ValueError, KeyError, AssertionError) as error:
        splits = list(dataset_builder.info.splits.keys())
        if "split" not in str(error).lower():
            raise
        raise ValueError(
            f"The split does not exist in the tfds dataset {name!r}"
            + (f", which has the splits {', '.join(repr(s) for s in splits)}" if splits else "")
            + f" ({short(error, 200)}). Received: split={split!r}"
        ) from None
    return examples


def _image_feature(dataset_builder, name):
    features = dataset_builder.info.features
    keys = list(features.keys()) if hasattr(features, "keys") else []
    if "image" not in keys:
        raise ValueError(
            f"The tfds dataset has no `image` feature (its features: {', '.join(keys) or 'none'}); "
            f"kgan loads image datasets. Received: name={name!r}"
        )
    return features["image"], keys


def load(
    name,
    *,
    split,
    batch_size,
    with_labels,
    image_size,
    color_mode,
    data_dir,
    shuffle,
    crop=None,
    seed,
    drop_remainder,
    cache,
    shuffle_buffer_size,
    num_samples=None,
    offline_advice=None,
):
    """A batched dataset of a tfds image dataset's `image` (and `label`) features.

    `offline_advice`: what to say when the download fails (see `prepared_split`).
    """
    dataset_builder = builder(name, data_dir)
    image_feature, keys = _image_feature(dataset_builder, name)
    if with_labels and "label" not in keys:
        raise ValueError(
            f"Labels were asked for but the tfds dataset {name!r} has no `label` feature "
            f"(its features: {', '.join(keys)}). Received: with_labels=True"
        )
    shape = tuple(image_feature.shape)
    if image_size is None and (len(shape) != 3 or None in shape[:2]):
        raise ValueError(
            f"The images of the tfds dataset {name!r} vary in size (shape {shape}); pass "
            f"`image_size=(height, width)` to resize them. Received: image_size=None"
        )
    examples = prepared_split(dataset_builder, name, split, offline_advice)
    if num_samples is not None:
        examples = examples.take(num_samples)

    def prepare(example):
        image = example["image"]
        if image.shape.rank == 2:
            image = image[..., tf.newaxis]
        image = pipeline.resize_uint8(
            pipeline.convert_channels(image, color_mode), image_size, crop
        )
        if not with_labels:
            return image
        return image, tf.cast(example["label"], tf.int32)

    examples = examples.map(prepare, num_parallel_calls=pipeline.AUTOTUNE, deterministic=True)
    dataset = pipeline.streamed_dataset(
        examples,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        cache=cache,
        shuffle_buffer_size=shuffle_buffer_size,
    )
    if with_labels:
        dataset.class_names = list(getattr(dataset_builder.info.features["label"], "names", []))
    return dataset


def load_arrays(name, split, data_dir, *, offline_advice=None):
    """Reads a whole (small) tfds split into memory: `(images uint8 NHWC, labels int32)`."""
    dataset_builder = builder(name, data_dir)
    _image_feature(dataset_builder, name)
    examples = prepared_split(dataset_builder, name, split, offline_advice)
    images, labels = [], []
    for batch in examples.map(lambda e: (e["image"], e["label"])).batch(4096):
        images.append(batch[0].numpy())
        labels.append(batch[1].numpy())
    return np.concatenate(images), np.concatenate(labels).astype(np.int32)
