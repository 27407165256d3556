"""Training under tf.distribute.MultiWorkerMirroredStrategy, two workers on 127.0.0.1.

Keras 3 alone cannot do it (tensorflow/tensorflow#72388; see `kgan.models.distribution`). Two
worker processes train a conditional GAN and an unconditional WGAN-GP with `TF_CONFIG`; a third
process trains the same models on one device, on the same global batches. The workers must end
with identical weights, equal to the single-device run's up to float round-off. SGD keeps the
comparison honest: Adam divides by the root of its second moment and would hide a gradient
scaled by the number of replicas.

After training, the chief (worker 0) alone saves each model, generates with it and exports it
(a SavedModel for the GAN, ONNX for the WGAN-GP), as README's multi-worker example does; the
other worker exits meanwhile. The test loads what the chief wrote in its own process and checks
that it generates the chief's images, which equal the single-device run's.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import kgan

TIMEOUT_S = 240

WORKER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf
    import keras, kgan

    if "TF_CONFIG" in os.environ:
        # A worker whose peer died gives up after the timeout instead of waiting forever.
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=120)
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    else:
        strategy = tf.distribute.get_strategy()
    rng = np.random.default_rng(0)
    data = np.tanh(rng.normal(size=(64, 6))).astype("float32")
    labels = rng.integers(0, 3, 64).astype("int32")
    results = {"replicas": strategy.num_replicas_in_sync}
    cases = {
        "GAN": (kgan.GAN, {"num_classes": 3, "label_noise": 0.1, "ema_decay": 0.9}),
        # n_critic 2: with critic_batches="fresh" (the default) each step reads two batches.
        "WGANGP": (kgan.WGANGP, {"n_critic": 2}),
    }
    for name, (cls, kwargs) in cases.items():
        conditional = "num_classes" in kwargs
        keras.utils.set_random_seed(0)
        with strategy.scope():
            classes = 3 if conditional else None
            g = kgan.models.mlp_generator((6,), 4, (16,), num_classes=classes)
            d = kgan.models.mlp_discriminator((6,), (16,), num_classes=classes)
            model = cls(g, d, seed=42, **kwargs)
            model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
        # The global batch is 16: each of the two workers trains on 8 examples of it.
        ds = tf.data.Dataset.from_tensor_slices((data, labels) if conditional else data)
        ds = ds.batch(16, drop_remainder=True)
        history = model.fit(ds, epochs=2, verbose=0)
        weights = (model.generator.get_weights() + model.discriminator.get_weights()
                   + model.inference_generator.get_weights())
        results[name] = {"history": history.history, "weights": [w.tolist() for w in weights]}
        labels = [0, 1, 2, 0] if conditional else None
        results[name]["generated"] = model.generate(4, labels=labels, seed=3).tolist()
        resolver = getattr(strategy, "cluster_resolver", None)
        if resolver is not None and resolver.task_id == 0:
            # The chief alone, after fit: the other worker may already have exited.
            out = os.path.dirname(sys.argv[1])
            model.save(os.path.join(out, f"{name}.keras"))
            if conditional:
                kgan.export.to_saved_model(model, os.path.join(out, f"{name}_savedmodel"))
            else:
                kgan.export.to_onnx(model, os.path.join(out, f"{name}.onnx"))
    with open(sys.argv[1], "w") as file:
        json.dump(results, file)
    """
)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start(script, output, tf_config, log):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1")
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen(
        [sys.executable, str(script), str(output)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def _run_all(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    jobs = {
        f"worker{index}": {"cluster": cluster, "task": {"type": "worker", "index": index}}
        for index in range(2)
    }
    jobs["single"] = None
    processes = {}
    try:
        for name, tf_config in jobs.items():
            log = open(tmp_path / f"{name}.log", "w")
            processes[name] = _start(script, tmp_path / f"{name}.json", tf_config, log)
            log.close()
        deadline = time.monotonic() + TIMEOUT_S
        for name, process in processes.items():
            remaining = max(deadline - time.monotonic(), 1)
            try:
                code = process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                code = "timeout"
            assert code == 0, (
                f"{name} ended with {code}:\n" + ((tmp_path / f"{name}.log").read_text()[-3000:])
            )
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in jobs}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The JSON results of the two workers and the single-device run, and their folder."""
    tmp_path = tmp_path_factory.mktemp("multiworker")
    return _run_all(tmp_path), tmp_path


def test_two_workers_match_one_device(runs):
    results, _ = runs
    assert results["worker0"]["replicas"] == results["worker1"]["replicas"] == 2
    assert results["single"]["replicas"] == 1
    for model in ("GAN", "WGANGP"):
        first, second = results["worker0"][model], results["worker1"][model]
        single = results["single"][model]
        # The workers apply the same all-reduced gradients: bit-identical weights.
        for a, b in zip(first["weights"], second["weights"]):
            np.testing.assert_array_equal(np.array(a), np.array(b), err_msg=model)
        # ... equal to one device's on the same global batches, up to the order of the sums.
        for a, b in zip(first["weights"], single["weights"]):
            np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)
        for metric, values in single["history"].items():
            np.testing.assert_allclose(first["history"][metric], values, rtol=1e-5, atol=1e-6)
        # Training moved the weights: the losses of the two epochs differ.
        assert single["history"]["g_loss"][0] != single["history"]["g_loss"][1]


def test_the_chief_alone_saves_generates_and_exports(runs):
    """What the chief wrote after fit opens in another process and generates the chief's images,
    which are the single-device run's; the other worker wrote nothing."""
    results, folder = runs
    written = {"GAN.keras", "GAN_savedmodel", "WGANGP.keras", "WGANGP.onnx"}
    assert written <= {path.name for path in folder.iterdir()}
    labels = {"GAN": [0, 1, 2, 0], "WGANGP": None}
    for name, exported in (("GAN", "GAN_savedmodel"), ("WGANGP", "WGANGP.onnx")):
        chief = np.array(results["worker0"][name]["generated"])
        assert chief.shape == (4, 6)
        np.testing.assert_array_equal(chief, results["worker1"][name]["generated"])
        np.testing.assert_allclose(chief, results["single"][name]["generated"], atol=1e-5)
        for path in (folder / f"{name}.keras", folder / exported):
            generator = kgan.control.load_generator(path)
            images = generator.generate(4, labels=labels[name], seed=3, verbose=0)
            # The ONNX runtime computes in its own order: float32 round-off only.
            np.testing.assert_allclose(images, chief, atol=1e-5, err_msg=str(path))
