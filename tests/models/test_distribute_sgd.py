"""Under tf.distribute.MirroredStrategy the updates are those of one device, to float round-off,
with plain SGD.

Adam divides each step by the root of its second moment, so it applies the same update to a
gradient twice too large: a loss averaged over each replica's local batch (instead of the
global batch) trains identically with Adam on two replicas. SGD applies the gradient as it is,
so the comparison below sees such a mistake. It covers GAN (with the label tricks, instance
noise and the generator's moving average) and WGAN (whose weight clipping must act on the
mirrored variables, after the summed update). WGAN-GP shares WGAN's train step and loss
reduction; test_distribute.py compares it with Adam.

TensorFlow fixes its logical devices when it starts, so the comparison runs in a fresh Python
process that splits the CPU into two logical devices.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

CLIP = 0.3

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

    def build(name, cls, kwargs, strategy):
        with strategy.scope():
            g = kgan.models.mlp_generator((6,), latent_dim=4, hidden_units=(16,), num_classes=3)
            d = kgan.models.mlp_discriminator((6,), hidden_units=(16,), num_classes=3)
            if name not in initial:
                initial[name] = (g.get_weights(), d.get_weights())
            g.set_weights(initial[name][0])
            d.set_weights(initial[name][1])
            model = cls(g, d, num_classes=3, seed=42, **kwargs)
            model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
        return model

    cases = {
        "GAN": (
            kgan.GAN,
            {"instance_noise": 0.1, "label_noise": 0.1, "label_flip_prob": 0.1, "ema_decay": 0.9},
        ),
        # critic_batches="reuse": with "fresh", each replica cuts its own share of the
        # n_critic batches, which groups the examples unlike one device (equally valid).
        "WGAN": (kgan.WGAN, {"n_critic": 2, "clip_value": CLIP, "critic_batches": "reuse"}),
    }
    # One MirroredStrategy for the whole process: a second instance would reuse the first
    # one's collective instance keys.
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {}
    for name, (cls, kwargs) in cases.items():
        out = {}
        for key, strategy in [("one", tf.distribute.get_strategy()), ("two", mirrored)]:
            model = build(name, cls, kwargs, strategy)
            dataset = tf.data.Dataset.from_tensor_slices((data, labels)).batch(16)
            history = model.fit(dataset, epochs=2, verbose=0)
            out[key] = {
                "replicas": strategy.num_replicas_in_sync,
                "history": history.history,
                "generator": [w.tolist() for w in model.generator.get_weights()],
                "discriminator": [w.tolist() for w in model.discriminator.get_weights()],
                "average": [w.tolist() for w in model.inference_generator.get_weights()],
                "initial": [w.tolist() for w in initial[name][0] + initial[name][1]],
            }
        results[name] = out
    print("RESULT" + json.dumps(results))
    """
).replace("CLIP", repr(CLIP))


def _run_script():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=400, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(out for out in proc.stdout.splitlines() if out.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def test_mirrored_strategy_applies_the_one_device_sgd_updates():
    results = _run_script()
    assert set(results) == {"GAN", "WGAN"}
    for name, out in results.items():
        one, two = out["one"], out["two"]
        assert one["replicas"] == 1 and two["replicas"] == 2
        for metric, values in one["history"].items():
            np.testing.assert_allclose(
                two["history"][metric], values, rtol=1e-4, atol=1e-5, err_msg=f"{name} {metric}"
            )
        for part in ("generator", "discriminator", "average"):
            for a, b in zip(one[part], two[part]):
                np.testing.assert_allclose(
                    np.array(b), np.array(a), rtol=1e-4, atol=1e-5, err_msg=f"{name} {part}"
                )
        # The run trained: every network moved away from its initial weights.
        initial = [np.array(w) for w in one["initial"]]
        final = [np.array(w) for w in one["generator"] + one["discriminator"]]
        assert max(np.abs(a - b).max() for a, b in zip(initial, final)) > 1e-2, name
    # The moving average trails the generator it averages.
    gan = results["GAN"]["one"]
    assert any(not np.allclose(a, b) for a, b in zip(gan["generator"], gan["average"])), (
        "the GAN's averaged generator equals its generator"
    )
    # WGAN's clipping acted under both strategies: some critic weights sit on the bound, others
    # inside it, where a wrongly scaled update would show.
    for key in ("one", "two"):
        kernels = [np.array(w) for w in results["WGAN"][key]["discriminator"]]
        values = np.concatenate([w.ravel() for w in kernels])
        assert np.abs(values).max() <= CLIP + 1e-6
        on_bound = np.isclose(np.abs(values), CLIP, atol=1e-6).mean()
        assert 0.05 < on_bound < 0.95, (key, on_bound)
