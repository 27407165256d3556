"""Tests of kgan.evaluate and the `kgan evaluate` / `kgan train-classifier` commands."""

import json
import math

import keras
import numpy as np
import pytest

import kgan
from kgan import cli, metrics
from kgan.evaluation import format_table


class _MixtureSampler:
    """A stand-in model whose `generate` draws from a known distribution."""

    def __init__(self, draw):
        self.draw = draw

    def generate(self, num_samples, *, seed=None, batch_size=256):
        return self.draw(num_samples, seed)


def test_evaluate_a_perfect_and_a_collapsed_sampler_on_the_grid():
    grid = kgan.data.gaussian_grid()
    perfect = _MixtureSampler(lambda n, seed: grid.sample(n, seed=seed + 1)[0])
    results = kgan.evaluate(perfect, grid, num_samples=2500, kid_subsets=10)
    assert results["modes_covered"] == 25 and results["num_modes"] == 25
    assert results["high_quality"] == pytest.approx(metrics.PERFECT_HIGH_QUALITY_2D, abs=0.008)
    # Raw 2-D coordinates up to 4 make the cubic kernel's values large: judge KID by its spread.
    assert results["fid"] < 0.05 and abs(results["kid"]) < 3 * results["kid_std"]
    assert results["precision"] > 0.9 and results["recall"] > 0.9
    assert results["num_samples"] == 2500 and results["feature_extractor"] == "samples"

    def one_mode(n, seed):
        points = grid.sample(n, seed=seed)[0]
        return grid.means[12] + (points - grid.means[grid.sample(n, seed=seed)[1]])

    collapsed = kgan.evaluate(_MixtureSampler(one_mode), grid, num_samples=2500, kid_subsets=10)
    assert collapsed["modes_covered"] == 1
    assert collapsed["kl_to_uniform"] == pytest.approx(math.log(25))
    # Precision stays high (the samples are real-looking), recall and coverage collapse.
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.1
    assert collapsed["coverage"] < 0.1 and collapsed["fid"] > 10
    assert collapsed["kid"] > 10 * collapsed["kid_std"]


def _tiny_image_gan(**kwargs):
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator((28, 28, 1), latent_dim=8, hidden_units=(16,))
    discriminator = kgan.models.mlp_discriminator((28, 28, 1), hidden_units=(16,))
    return kgan.GAN(generator, discriminator, **kwargs)


def test_evaluate_images_with_a_classifier_and_a_bare_generator():
    gan = _tiny_image_gan()
    real = np.random.default_rng(0).uniform(-1, 1, (300, 28, 28, 1)).astype("float32")
    classifier = metrics.mnist_classifier()
    results = kgan.evaluate(gan, real, classifier=classifier, num_samples=200, kid_subsets=5)
    assert results["feature_extractor"] == "mnist_classifier_features"
    assert results["num_real_samples"] == 200
    features = metrics.classifier_feature_extractor(classifier)
    expected = metrics.frechet_distance(
        metrics.compute_features(features, real[:200]),
        metrics.compute_features(features, gan.generate(200, seed=0)),
    )
    assert results["fid"] == pytest.approx(expected, rel=1e-6)
    # A bare generator model is sampled from N(0, I) with the same seed.
    bare = kgan.evaluate(
        gan.generator, real, feature_extractor="raw", num_samples=200, kid_subsets=5
    )
    assert bare["feature_extractor"] == "samples"
    assert bare["fid"] == pytest.approx(
        metrics.frechet_distance(real[:200], gan.generate(200, seed=0)), rel=1e-6
    )


def _level_classifier(channels=1):
    """A stand-in MNIST classifier: an image whose pixels all equal -0.9 + 0.2 d is digit d.

    Its `features` layer (the mean pixel) gives the feature space `evaluate` uses with it.
    """
    images = keras.Input((28, 28, channels))
    mean = keras.layers.GlobalAveragePooling2D(keepdims=False)(images)
    mean = keras.layers.Lambda(
        lambda m: keras.ops.mean(m, axis=-1, keepdims=True), name="features"
    )(mean)
    centres = np.linspace(-0.9, 0.9, 10).astype("float32")
    logits = keras.layers.Lambda(lambda m: -((m - centres) ** 2))(mean)
    return keras.Model(images, logits, name="level_classifier")


def _level_images(digits):
    """Images `(N, 28, 28, C)` whose channel c reads as digit `digits[:, c]`."""
    levels = -0.9 + 0.2 * np.asarray(digits, "float32")
    return np.broadcast_to(levels[:, None, None, :], (len(levels), 28, 28, levels.shape[1])).copy()


def test_evaluate_counts_the_classes_of_one_channel_samples():
    # 100 samples of digits 2, 5, 5, 7: three classes with shares 1/4, 1/2, 1/4.
    samples = _level_images(np.array([[2], [5], [5], [7]] * 25))
    sampler = _MixtureSampler(lambda n, seed: samples[:n])
    results = kgan.evaluate(
        sampler, samples, classifier=_level_classifier(), num_samples=100, kid_subsets=2
    )
    assert results["feature_extractor"] == "level_classifier_features"
    assert results["classes_covered"] == 3
    # KL(p || uniform over 10) = sum p log(10 p).
    expected_kl = 0.5 * math.log(2.5) + 0.5 * math.log(5.0)
    assert results["class_kl_to_uniform"] == pytest.approx(expected_kl, rel=1e-6)


def test_evaluate_counts_the_classes_of_colour_samples_with_a_colour_classifier():
    # CIFAR-10's case: three-channel samples and a classifier of three channels.
    samples = _level_images(np.array([[2, 2, 2], [5, 5, 5], [5, 5, 5], [7, 7, 7]] * 25))
    sampler = _MixtureSampler(lambda n, seed: samples[:n])
    results = kgan.evaluate(
        sampler, samples, classifier=_level_classifier(3), num_samples=100, kid_subsets=2
    )
    assert results["classes_covered"] == 3 and "modes_covered" not in results
    expected_kl = 0.5 * math.log(2.5) + 0.5 * math.log(5.0)
    assert results["class_kl_to_uniform"] == pytest.approx(expected_kl, rel=1e-6)


def test_evaluate_stacked_mnist_classifies_each_channel():
    # Modes 123, 456 (twice) and 789: channel c must be read as the c-th digit.
    digits = np.array([[1, 2, 3], [4, 5, 6], [4, 5, 6], [7, 8, 9]] * 25)
    samples = _level_images(digits)
    sampler = _MixtureSampler(lambda n, seed: samples[:n])
    results = kgan.evaluate(
        sampler, samples, classifier=_level_classifier(), num_samples=100, kid_subsets=2
    )
    assert results["num_modes"] == 1000 and results["modes_covered"] == 3
    counts = results["mode_counts"]
    assert (counts[123], counts[456], counts[789]) == (25, 50, 25) and sum(counts) == 100
    assert results["kl_to_uniform"] == pytest.approx(
        0.5 * math.log(250) + 0.5 * math.log(500), rel=1e-6
    )
    assert results["feature_extractor"] == "level_classifier_features per channel"


def test_evaluate_rejects_mismatched_data():
    gan = _tiny_image_gan()
    with pytest.raises(ValueError, match="Received: real_dataset"):
        kgan.evaluate(gan, np.zeros((10, 2), "float32"), num_samples=10)
    with pytest.raises(ValueError, match="Received: feature_extractor='vgg'"):
        kgan.evaluate(
            gan, np.zeros((10, 28, 28, 1), "float32"), num_samples=10, feature_extractor="vgg"
        )


def test_format_table_lists_scalars_with_their_meaning():
    table = format_table({"fid": 1.5, "modes_covered": 7, "mode_counts": [1, 2]})
    assert "fid" in table and "1.5" in table and "Frechet" in table
    assert "mode_counts" not in table


def test_kgan_evaluate_command_prints_a_table_and_writes_json(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator(
        (2,), latent_dim=2, hidden_units=(8,), output_activation=None
    )
    gan = kgan.GAN(generator, kgan.models.mlp_discriminator((2,), hidden_units=(8,)))
    run = tmp_path / "run"
    run.mkdir()
    gan.save(str(run / "model.keras"))
    out = tmp_path / "results.json"
    code = cli.main(
        ["evaluate", str(run), "--data", "ring", "--num-samples", "300", "--json", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "modes_covered" in printed and "high_quality" in printed
    results = json.loads(out.read_text())
    assert results["num_modes"] == 8 and results["num_samples"] == 300
    expected = metrics.mode_coverage(
        gan.generate(300, seed=0), kgan.data.gaussian_ring().means, 0.01
    )
    assert results["modes_covered"] == expected["modes_covered"]
    missing = cli.main(["evaluate", str(tmp_path / "nothing"), "--data", "ring"])
    assert missing == 2 and "MODEL: no file or folder at this path" in capsys.readouterr().err


def test_evaluate_with_jacobian_truncation_scores_the_truncated_samples(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator(
        (2,), latent_dim=2, hidden_units=(8,), output_activation=None
    )
    gan = kgan.GAN(generator, kgan.models.mlp_discriminator((2,), hidden_units=(8,)))
    gan.save(str(tmp_path / "model.keras"))
    out = tmp_path / "results.json"
    argv = ["evaluate", str(tmp_path / "model.keras"), "--data", "grid", "--num-samples", "300"]
    assert cli.main([*argv, "--jacobian-truncation", "0.5", "--json", str(out)]) == 0
    assert "Jacobian truncation" in capsys.readouterr().out
    results = json.loads(out.read_text())
    assert results["jacobian_truncation"] == 0.5
    truncated = gan.generate(300, seed=0, jacobian_truncation=0.5)
    grid = kgan.data.gaussian_grid()
    expected = kgan.evaluate(gan, grid, num_samples=300, kid_subsets=10)
    assert results["precision"] == pytest.approx(
        kgan.evaluate(
            _MixtureSampler(lambda n, seed: truncated), grid, num_samples=300, kid_subsets=10
        )["precision"]
    )
    assert results["fid"] != pytest.approx(expected["fid"])
    # A bare generator cannot draw its own latent vectors: a clear error.
    with pytest.raises(ValueError, match="Received: jacobian_truncation=0.5"):
        kgan.evaluate(generator, grid, num_samples=10, jacobian_truncation=0.5)


def test_evaluate_json_names_the_generator_and_version_it_scored(tmp_path, capsys):
    """`kgan evaluate --json` (the command behind tools/results/jacobian_truncation_*.json)
    records what it scored: the MODEL argument, the SavedModel version a base folder opened,
    the data, seed and truncation share, and kgan's version."""
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator(
        (2,), latent_dim=2, hidden_units=(8,), output_activation=None
    )
    gan = kgan.GAN(generator, kgan.models.mlp_discriminator((2,), hidden_units=(8,)))
    base = tmp_path / "savedmodels" / "toy"
    kgan.export.to_saved_model(gan, base, verify=False)
    kgan.export.to_saved_model(gan, base, verify=False)  # versions 1 and 2
    gan.save(str(tmp_path / "model.keras"))
    out = tmp_path / "results.json"
    argv = ["evaluate", str(base), "--data", "ring", "--num-samples", "100", "--seed", "3"]
    assert cli.main([*argv, "--jacobian-truncation", "0.5", "--json", str(out)]) == 0
    scored = json.loads(out.read_text())["scored"]
    assert scored == {
        "model": str(base),
        "opened": str(base / "2"),
        "version": 2,
        "data": "ring",
        "split": None,
        "seed": 3,
        "jacobian_truncation": 0.5,
        "kgan_version": kgan.__version__,
    }
    keras_file = str(tmp_path / "model.keras")
    argv = ["evaluate", keras_file, "--data", "ring", "--num-samples", "100", "--json", str(out)]
    assert cli.main(argv) == 0
    scored = json.loads(out.read_text())["scored"]
    assert scored["model"] == scored["opened"] == keras_file and scored["version"] is None
    capsys.readouterr()


def test_train_classifier_command_is_registered(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train-classifier", "--help"])
    assert "--epochs" in capsys.readouterr().out
    assert cli.main(["train-classifier", "-o", "classifier.h5"]) == 2


class _NeverGenerates:
    """A stand-in model for checks that must fail before any sample is generated."""

    def generate(self, num_samples, *, seed=None, batch_size=256):
        raise AssertionError("evaluate generated samples before checking its arguments")


def _small_classifier(input_shape=(8, 8, 1), features="features"):
    """A functional classifier whose `features` layer (named `features`) has 4 units."""
    images = keras.Input(input_shape)
    x = keras.layers.Flatten()(images)
    x = keras.layers.Dense(4, activation="relu", name=features)(x)
    return keras.Model(images, keras.layers.Dense(10)(x), name="small_classifier")


def _small_images(count=20, size=8):
    return np.random.default_rng(0).uniform(-1, 1, (count, size, size, 1)).astype("float32")


def test_evaluate_checks_the_feature_networks_input_shape_before_generating():
    real = _small_images()
    with pytest.raises(ValueError, match=r"\(None, 28, 28, 1\).*Received: classifier="):
        kgan.evaluate(
            _NeverGenerates(), real, classifier=_small_classifier((28, 28, 1)), num_samples=20
        )
    with pytest.raises(ValueError, match=r"\(None, 28, 28, 1\).*Received: feature_extractor="):
        kgan.evaluate(
            _NeverGenerates(),
            real,
            feature_extractor=_small_classifier((28, 28, 1)),
            num_samples=20,
        )
    # A one-channel classifier reads colour samples one channel at a time: said so.
    colour = np.zeros((20, 16, 16, 3), "float32")
    with pytest.raises(
        ValueError,
        match=r"\(None, 16, 16, 3\), read one channel at a time as \(None, 16, 16, 1\)",
    ):
        kgan.evaluate(
            _NeverGenerates(), colour, classifier=_small_classifier((28, 28, 1)), num_samples=20
        )
    # A kgan model declares its sample shape: the check needs no real sample of that shape.
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator((8, 8, 1), latent_dim=4, hidden_units=())
    gan = kgan.GAN(generator, kgan.models.mlp_discriminator((8, 8, 1), hidden_units=()))
    with pytest.raises(ValueError, match="Received: classifier='small_classifier'"):
        kgan.evaluate(gan, real, classifier=_small_classifier((28, 28, 1)), num_samples=20)


def test_evaluate_loads_a_classifier_from_its_path(tmp_path):
    classifier = _small_classifier()
    path = tmp_path / "classifier.keras"
    classifier.save(str(path))
    real = _small_images(40)
    sampler = _MixtureSampler(lambda n, seed: _small_images(n + 10)[10:])
    expected = kgan.evaluate(sampler, real, classifier=classifier, num_samples=30, kid_subsets=2)
    for given in (str(path), path):
        results = kgan.evaluate(sampler, real, classifier=given, num_samples=30, kid_subsets=2)
        assert results["feature_extractor"] == "small_classifier_features"
        assert results["fid"] == pytest.approx(expected["fid"], rel=1e-6)
        assert results["classes_covered"] == expected["classes_covered"]
    with pytest.raises(FileNotFoundError, match="Received: classifier="):
        kgan.evaluate(_NeverGenerates(), real, classifier=str(tmp_path / "no.keras"))
    with pytest.raises(TypeError, match="Received: classifier=5 of type int"):
        kgan.evaluate(_NeverGenerates(), real, classifier=5)


def test_evaluate_names_the_classifier_without_a_features_layer():
    classifier = _small_classifier(features="penultimate")
    with pytest.raises(ValueError, match="feature_extractor=") as error:
        kgan.evaluate(_NeverGenerates(), _small_images(), classifier=classifier, num_samples=20)
    assert "Received: classifier='small_classifier'" in str(error.value)
    assert "layer=" not in str(error.value).split("Received:")[-1]


@pytest.mark.parametrize(
    "options, received",
    [
        ({"num_samples": 1}, "num_samples=1"),
        ({"num_samples": 2}, "num_samples=2"),
        ({"num_samples": 5}, "num_samples=5"),
        ({"num_samples": 3, "density_coverage_k": 2}, "num_samples=3"),
        ({"num_samples": 20, "kid_subset_size": 1}, "kid_subset_size=1"),
        ({"num_samples": 20, "kid_subsets": 0}, "kid_subsets=0"),
        ({"num_samples": 20, "precision_recall_k": 0}, "precision_recall_k=0"),
        ({"num_samples": 30, "real": 5}, "real_dataset with 5 samples"),
    ],
)
def test_evaluate_checks_the_sample_counts_the_metrics_need_before_generating(options, received):
    options = dict(options)
    real = _small_images(options.pop("real", 20))
    with pytest.raises(ValueError, match=f"Received: {received}"):
        kgan.evaluate(_NeverGenerates(), real, feature_extractor="raw", **options)


def test_evaluate_runs_at_the_smallest_sample_count_the_metrics_take():
    sampler = _MixtureSampler(lambda n, seed: _small_images(n + 10)[10:])
    # 6 samples of 64 raw pixels: an FID it computes, and says is unreliable.
    with pytest.warns(UserWarning, match="FID from 6 samples of 64-dimensional features"):
        results = kgan.evaluate(
            sampler, _small_images(), feature_extractor="raw", num_samples=6, kid_subsets=2
        )
    assert results["num_samples"] == 6 and math.isfinite(results["fid"])
