"""The stabilisers under tf.distribute.MirroredStrategy give what one device gives.

Lazy R1 (a `tf.cond` inside the discriminator's tape), spectral normalisation (which assigns
the kernel in the forward pass), DiffAugment and bCR's transformation (noise drawn per
replica) and fresh critic batches all run in the replicas' context. As in test_distribute.py,
the comparison runs in a fresh Python process that splits the CPU into two logical devices.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    # Without it, the order of a CPU kernel's float sums can vary from run to run, and a LeakyReLU
    # near its kink turns that rounding into a difference larger than the tolerance.
    tf.config.experimental.enable_op_determinism()
    import keras, kgan

    data = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    initial = {}
    cases = {
        "GAN": (kgan.GAN, {"loss": "hinge", "r1_weight": 1.0, "r2_weight": 0.5,
                           "penalty_interval": 2, "ema_decay": 0.9, "consistency_weight": 1.0}),
        "WGANGP": (kgan.WGANGP, {"n_critic": 2, "r1_weight": 1.0, "penalty_interval": 2,
                                 "consistency_weight": 1.0}),
    }
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {}
    for name, (cls, kwargs) in cases.items():
        out = {}
        for key, strategy in [("one", tf.distribute.get_strategy()), ("two", mirrored)]:
            with strategy.scope():
                g = kgan.models.dcgan_generator((8, 8, 1), 4, base_filters=4, normalization=None)
                # Spectral normalisation in one case: tracing it under R1's double backward
                # pass is most of this test's time, and once shows it runs per replica.
                d = kgan.models.dcgan_discriminator(
                    (8, 8, 1), base_filters=4, normalization=None, spectral_norm=name == "GAN"
                )
                if name not in initial:
                    initial[name] = (g.get_weights(), d.get_weights())
                g.set_weights(initial[name][0])
                d.set_weights(initial[name][1])
                model = cls(g, d, seed=5, augment="color,translation,cutout", **kwargs)
                model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
            dataset = tf.data.Dataset.from_tensor_slices(data).batch(8, drop_remainder=True)
            # One epoch: the two runs add their gradients in different orders, and over more
            # steps a LeakyReLU input near its kink turns that rounding into a larger gap.
            history = model.fit(dataset, epochs=1, verbose=0)
            out[key] = {
                "history": history.history,
                "weights": [w.tolist() for w in model.generator.get_weights()
                            + model.discriminator.get_weights()
                            + model.inference_generator.get_weights()],
                "d_steps": int(model.d_optimizer.iterations.numpy()),
            }
        results[name] = out
    print("RESULT" + json.dumps(results))
    """
)


def test_stabilisers_under_mirrored_strategy_match_one_device():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(out for out in proc.stdout.splitlines() if out.startswith("RESULT"))
    results = json.loads(line[len("RESULT") :])
    for name, out in results.items():
        assert out["one"]["d_steps"] == out["two"]["d_steps"]
        for metric, values in out["one"]["history"].items():
            np.testing.assert_allclose(
                out["two"]["history"][metric], values, rtol=1e-4, atol=1e-5, err_msg=name + metric
            )
        for a, b in zip(out["one"]["weights"], out["two"]["weights"]):
            np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-4, atol=1e-5, err_msg=name)
    # GAN: 4 steps, lazy R1 / R2 on every other one.
    assert results["GAN"]["one"]["d_steps"] == 4
    assert 0 < results["GAN"]["one"]["history"]["r1"][0]
    assert 0 < results["GAN"]["one"]["history"]["consistency"][0]
    assert 0 < results["WGANGP"]["one"]["history"]["consistency"][0]
    # Lazy R1 is due on the first of each step's two critic updates: logged as their mean.
    assert 0 < results["WGANGP"]["one"]["history"]["r1"][0]
    # WGAN-GP: 4 batches of 8 -> 2 steps of 2 critic updates each.
    assert results["WGANGP"]["one"]["d_steps"] == 4
