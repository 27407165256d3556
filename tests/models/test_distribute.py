"""Training under tf.distribute.MirroredStrategy equals training on one device.

The comparison covers the networks' weights, the generator's moving average and the metrics,
for networks without batch normalisation and for DCGAN networks with `sync_batch_norm=True`.

TensorFlow fixes its logical devices when it starts, so the comparison runs in a fresh Python
process that splits the CPU into two logical devices.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kgan.models import dcgan_discriminator, dcgan_generator, mlp_generator

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, kgan

    rng = np.random.default_rng(0)
    mlp_data = np.tanh(rng.normal(size=(64, 6))).astype("float32")
    images = np.tanh(rng.normal(size=(64, 16, 16, 1))).astype("float32")
    labels = rng.integers(0, 3, 64)
    adam, sgd = keras.optimizers.Adam, keras.optimizers.SGD
    keras.utils.set_random_seed(0)
    initial = {}

    def mlp():
        g = kgan.models.mlp_generator((6,), latent_dim=4, hidden_units=(16,), num_classes=3)
        d = kgan.models.mlp_discriminator((6,), hidden_units=(16,), num_classes=3)
        return g, d

    def dcgan(sync):
        # Batch normalisation in both networks, global (sync) or per replica.
        options = {"base_filters": 4, "sync_batch_norm": sync}
        g = kgan.models.dcgan_generator((16, 16, 1), 4, 3, **options)
        d = kgan.models.dcgan_discriminator((16, 16, 1), 3, normalization="batch", **options)
        return g, d

    def build(name, networks, kwargs, strategy, optimizer):
        with strategy.scope():
            g, d = networks()
            if name not in initial:
                initial[name] = (g.get_weights(), d.get_weights())
            g.set_weights(initial[name][0])
            d.set_weights(initial[name][1])
            model = kwargs.pop("cls")(g, d, num_classes=3, seed=42, **kwargs)
            model.compile(optimizer(1e-2), optimizer(1e-2))
        return model

    results = {}
    gan_options = {"instance_noise": 0.1, "label_noise": 0.1, "label_flip_prob": 0.1}
    cases = {
        "GAN": (mlp, {"cls": kgan.GAN, "ema_decay": 0.9, **gan_options}, adam, mlp_data),
        "WGANGP": (mlp, {"cls": kgan.WGANGP, "n_critic": 2}, adam, mlp_data),
        "GAN sync_batch_norm": (lambda: dcgan(True), {"cls": kgan.GAN}, sgd, images),
        "GAN per-replica batch norm": (lambda: dcgan(False), {"cls": kgan.GAN}, sgd, images),
    }
    # One MirroredStrategy for the whole process: a second instance would reuse the first
    # one's collective instance keys.
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for name, (networks, kwargs, optimizer, data) in cases.items():
        out = {}
        for key, strategy in [("one", tf.distribute.get_strategy()), ("two", mirrored)]:
            model = build(name, networks, dict(kwargs), strategy, optimizer)
            # drop_remainder=True: batches of a static size, which split evenly (see README).
            ds = tf.data.Dataset.from_tensor_slices((data, labels)).batch(16, drop_remainder=True)
            history = model.fit(ds, epochs=2, verbose=0)
            out[key] = {
                "replicas": strategy.num_replicas_in_sync,
                "history": history.history,
                "weights": [w.tolist() for w in model.generator.get_weights()
                            + model.discriminator.get_weights()
                            + model.inference_generator.get_weights()],
            }
        results[name] = out
    print("RESULT" + json.dumps(results))
    """
)


def _run_script():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(out for out in proc.stdout.splitlines() if out.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def _max_gap(first, second):
    return max(np.abs(np.array(a) - np.array(b)).max() for a, b in zip(first, second))


def test_mirrored_strategy_matches_one_device():
    results = _run_script()
    per_replica = results.pop("GAN per-replica batch norm")
    for name, out in results.items():
        assert out["one"]["replicas"] == 1 and out["two"]["replicas"] == 2
        for metric, values in out["one"]["history"].items():
            np.testing.assert_allclose(
                out["two"]["history"][metric],
                values,
                rtol=1e-4,
                atol=1e-5,
                err_msg=f"{name} {metric}",
            )
        for a, b in zip(out["one"]["weights"], out["two"]["weights"]):
            # Adam divides by the root of its second moment, which magnifies float round-off
            # of near-zero gradients summed in another order; hence a looser bound on weights.
            np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-3, atol=1e-4, err_msg=name)
        # The run really trained: weights moved away from their initial values.
        assert out["one"]["history"]["g_loss"][0] != out["one"]["history"]["g_loss"][1]
    # With per-replica statistics (the default), each replica normalises its own half batch, so
    # two replicas train differently from one device; `sync_batch_norm=True` (above) does not.
    synchronized = results["GAN sync_batch_norm"]
    sync_gap = _max_gap(synchronized["one"]["weights"], synchronized["two"]["weights"])
    per_replica_gap = _max_gap(per_replica["one"]["weights"], per_replica["two"]["weights"])
    # Measured: sync 7e-9 (float round-off), per replica 6e-4.
    assert per_replica_gap > 10 * sync_gap, (sync_gap, per_replica_gap)


def _batch_norms(model):
    layers = [layer for block in model.layers for layer in getattr(block, "_sublayers", [block])]
    return [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]


def test_sync_batch_norm_synchronises_every_batch_norm_of_the_builders():
    networks = {
        "dcgan_generator": lambda sync: dcgan_generator((8, 8, 1), 4, sync_batch_norm=sync),
        "dcgan_discriminator": lambda sync: dcgan_discriminator(
            (16, 16, 1), normalization="batch", sync_batch_norm=sync
        ),
        "mlp_generator": lambda sync: mlp_generator(
            (6,), 4, (8, 8), batch_norm=True, sync_batch_norm=sync
        ),
    }
    for name, build in networks.items():
        for sync in (False, True):
            model = build(sync)
            norms = _batch_norms(model)
            assert norms and all(norm.synchronized == sync for norm in norms), name
            # The setting survives a config round trip (saved models rebuild from it).
            rebuilt = keras.Model.from_config(model.get_config())
            assert all(norm.synchronized == sync for norm in _batch_norms(rebuilt)), name


def test_sync_batch_norm_needs_batch_norm():
    with pytest.raises(ValueError, match="Received: sync_batch_norm=True"):
        dcgan_generator((8, 8, 1), 4, normalization="layer", sync_batch_norm=True)
    with pytest.raises(ValueError, match="Received: sync_batch_norm=True"):
        mlp_generator((6,), 4, sync_batch_norm=True)
    with pytest.raises(ValueError, match="Received: sync_batch_norm='yes'"):
        dcgan_discriminator((8, 8, 1), sync_batch_norm="yes")
