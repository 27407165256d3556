"""Training under tf.distribute.MirroredStrategy equals training on one device.

The comparison covers the networks' weights, the generator's moving average and the metrics.

TensorFlow fixes its logical devices when it starts, so the comparison runs in a fresh Python
process that splits the CPU into two logical devices.
"""

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, kgan

    rng = np.random.default_rng(0)
    data = np.tanh(rng.normal(size=(64, 6))).astype("float32")
    labels = rng.integers(0, 3, 64)
    keras.utils.set_random_seed(0)
    initial = {}

    def build(cls, kwargs, strategy):
        with strategy.scope():
            g = kgan.models.mlp_generator((6,), latent_dim=4, hidden_units=(16,), num_classes=3)
            d = kgan.models.mlp_discriminator((6,), hidden_units=(16,), num_classes=3)
            if cls not in initial:
                initial[cls] = (g.get_weights(), d.get_weights())
            g.set_weights(initial[cls][0])
            d.set_weights(initial[cls][1])
            model = cls(g, d, num_classes=3, seed=42, **kwargs)
            model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
        return model

    results = {}
    cases = {
        "GAN": (
            kgan.GAN,
            {"instance_noise": 0.1, "label_noise": 0.1, "label_flip_prob": 0.1, "ema_decay": 0.9},
        ),
        "WGANGP": (kgan.WGANGP, {"n_critic": 2}),
    }
    # One MirroredStrategy for the whole process: a second instance would reuse the first
    # one's collective instance keys.
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for name, (cls, kwargs) in cases.items():
        out = {}
        for key, strategy in [("one", tf.distribute.get_strategy()), ("two", mirrored)]:
            model = build(cls, kwargs, strategy)
            ds = tf.data.Dataset.from_tensor_slices((data, labels)).batch(16)
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


def test_mirrored_strategy_matches_one_device():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(out for out in proc.stdout.splitlines() if out.startswith("RESULT"))
    results = json.loads(line[len("RESULT") :])
    import numpy as np

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
