"""Options of the `kgan` command, each checked by what it changes in the files written or the
numbers printed: `export --no-verify/--max-samples/--overwrite` with a `.keras` file as input,
`evaluate --classifier/--features/--split`, and `train --conditional --architecture mlp` on an
image folder."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kgan
from kgan import export
from kgan.cli import main

# A generator that ignores z and draws one 2x3 image of these values, and their uint8 pixels:
# (x + 1) * 127.5 rounded and clipped.
VALUES = np.array([-1.3, -1.0, -0.5, 0.0, 0.5, 1.2], "float32")
PIXELS = np.array([0, 0, 64, 128, 191, 255], "uint8")


def _constant_model(path, values):
    """Saves a GAN whose generator draws `values` as a (2, 3, 1) image whatever z is."""
    generator = kgan.models.mlp_generator((2, 3, 1), 4, hidden_units=(), output_activation=None)
    output = generator.get_layer("output")
    output.set_weights([np.zeros((4, 6), "float32"), np.asarray(values, "float32")])
    discriminator = kgan.models.mlp_discriminator((2, 3, 1), hidden_units=(4,))
    model = kgan.GAN(generator, discriminator)
    model.compile()
    model.save(path)
    return path


def test_export_options_with_a_keras_file(tmp_path, capsys):
    first = _constant_model(tmp_path / "first.keras", VALUES)
    second = _constant_model(tmp_path / "second.keras", np.full(6, 0.25, "float32"))
    base = tmp_path / "savedmodels" / "demo"

    # --max-samples and --no-verify, from a .keras file (no run folder around it).
    args = ["export", str(first), "--saved-model", str(base), "--max-samples", "5"]
    assert main([*args, "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert f"wrote SavedModel {base / '1'} (GAN, z 4, samples 2x3x1)" in out
    assert "not verified (--no-verify)" in out and "verified against Keras" not in out
    metadata = export.read_metadata(base / "1")
    assert "verification" not in metadata and metadata["max_samples"] == 5
    assert "history" not in metadata.get("training", {})  # No run folder, no history.
    generate = tf.saved_model.load(str(base / "1")).signatures["generate"]
    images = generate(num_samples=tf.constant(5), seed=tf.constant(0, tf.int64))["images"]
    # The exported uint8 pixels, against hand-written values.
    np.testing.assert_array_equal(images.numpy().reshape(5, 6), np.tile(PIXELS, (5, 1)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 5"):
        generate(num_samples=tf.constant(6), seed=tf.constant(0, tf.int64))

    # --overwrite replaces version 1 with the second model.
    replace = ["export", str(second), "--saved-model", str(base), "--version", "1"]
    assert main([*replace, "--overwrite", "--no-verify"]) == 0
    capsys.readouterr()
    serve = tf.saved_model.load(str(base / "1")).signatures["serving_default"]
    images = serve(z=tf.zeros((2, 4)))["images"].numpy()
    np.testing.assert_allclose(images, np.full((2, 2, 3, 1), 0.25), atol=1e-6)
    assert sorted(p.name for p in base.iterdir() if not p.name.startswith(".")) == ["1"]


def _level_classifier(path):
    """A saved stand-in MNIST classifier: an image whose mean pixel is -0.9 + 0.2 d reads as
    digit d. Logits 2 c_d m - c_d^2 rank the digits as -(m - c_d)^2 does."""
    images = keras.Input((28, 28, 1))
    mean = keras.layers.GlobalAveragePooling2D(name="features")(images)
    logits = keras.layers.Dense(10, name="logits")(mean)
    classifier = keras.Model(images, logits, name="levels")
    centres = np.linspace(-0.9, 0.9, 10).astype("float32")
    classifier.get_layer("logits").set_weights([2 * centres[None, :], -(centres**2)])
    classifier.save(path)
    return path


def test_evaluate_options(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KGAN_DATA_DIR", raising=False)
    # Local MNIST files: 50 training and 60 test images.
    folder = tmp_path / "data"
    (folder / "mnist").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, count in (("train", 50), ("t10k", 60)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        kgan.data.write_idx(folder / "mnist" / f"{split}-images-idx3-ubyte.gz", images)
    # A generator whose every image reads as digit 3.
    generator = kgan.models.mlp_generator((28, 28, 1), 4, hidden_units=(), output_activation=None)
    output = generator.get_layer("output")
    output.set_weights([np.zeros((4, 784), "float32"), np.full(784, -0.3, "float32")])
    model = kgan.GAN(generator, kgan.models.mlp_discriminator((28, 28, 1), hidden_units=(4,)))
    model.save(tmp_path / "model.keras")
    classifier = _level_classifier(tmp_path / "classifier.keras")

    def evaluate(*options):
        out = tmp_path / "results.json"
        code = main(
            ["evaluate", str(tmp_path / "model.keras"), "--data", "mnist", "--data-dir"]
            + [str(folder), "--classifier", str(classifier), "--num-samples", "100"]
            + ["--json", str(out), *options]
        )
        assert code == 0, capsys.readouterr().err
        capsys.readouterr()
        return json.loads(out.read_text())

    by_classifier = evaluate("--split", "test[:40]", "--features", "classifier")
    assert by_classifier["num_real_samples"] == 40  # The split's 40, not the test set's 60.
    assert by_classifier["feature_extractor"] == "levels_features"
    assert by_classifier["classes_covered"] == 1  # Every sample reads as a 3.
    assert by_classifier["class_kl_to_uniform"] == pytest.approx(math.log(10))

    raw = evaluate("--split", "train", "--features", "raw")
    assert raw["num_real_samples"] == 50 and raw["feature_extractor"] == "samples"
    assert raw["classes_covered"] == 1  # The classifier still counts the classes.
    assert raw["fid"] != pytest.approx(by_classifier["fid"])


def test_train_conditional_mlp_on_an_image_folder(tmp_path, capsys):
    data = tmp_path / "shapes"
    for index, name in enumerate(("circle", "square", "star")):
        for i in range(4):
            (data / name).mkdir(parents=True, exist_ok=True)
            pixels = np.full((8, 8), 60 * index + 10 * i, np.uint8)
            Image.fromarray(pixels).save(data / name / f"{i}.png")
    run = tmp_path / "run"
    code = main(
        ["train", "--output", str(run), "--data", str(data), "--conditional"]
        + ["--architecture", "mlp", "--epochs", "1", "--batch-size", "4"]
        + ["--base-filters", "2", "--latent-dim", "4", "--ema-decay", "0"]
    )
    assert code == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == str(data) and config["image_shape"] == [8, 8, 1]
    assert config["conditional"] is True and config["num_classes"] == 3
    assert config["architecture"] == "mlp"
    model = keras.saving.load_model(run / "model.keras")
    assert model.num_classes == 3 and len(model.generator.inputs) == 2
    assert len(model.discriminator.inputs) == 2
    layers = model.generator.layers + model.discriminator.layers
    assert not any(isinstance(layer, keras.layers.Conv2D) for layer in layers)
    assert any(isinstance(layer, keras.layers.Dense) for layer in layers)
    assert model.generate(3, labels=[0, 1, 2], seed=0).shape == (3, 8, 8, 1)


def test_train_picks_the_recipe_made_for_a_folders_image_shape(tmp_path, capsys, monkeypatch):
    import types

    import kgan.training

    chosen = []

    def train(output_dir, **arguments):
        chosen.append(arguments["recipe"])
        return object(), types.SimpleNamespace(history={"d_loss": [1.0]}, epoch=[0])

    monkeypatch.setattr(kgan.training, "train", train)
    # Folders of one image and more count as large, until the test says otherwise.
    monkeypatch.setattr(kgan.recipes, "SMALL_DATA_IMAGES", 1)
    photos, digits = tmp_path / "photos", tmp_path / "digits"
    # The first photograph is grayscale: the folder is read in colour, as one image is.
    for folder, shapes in ((photos, [(40, 40), (40, 40, 3)]), (digits, [(8, 8)])):
        folder.mkdir()
        for i, shape in enumerate(shapes):
            Image.fromarray(np.zeros(shape, np.uint8)).save(folder / f"{i}.png")
    output = tmp_path / "run"
    run = ["train", "--output", str(output)]
    assert main([*run, "--data", str(photos), "--image-size", "32", "32"]) == 0
    assert main([*run, "--data", str(photos), "--image-size", "64", "64"]) == 0
    assert main([*run, "--data", str(photos), "--image-size", "64", "64", "--recipe", "none"]) == 0
    assert main([*run, "--data", str(digits)]) == 0
    # A model the recipe does not train keeps the defaults.
    assert main([*run, "--data", str(photos), "--image-size", "32", "32", "--model", "wgan"]) == 0
    assert chosen == ["cifar10", "celeb_a", None, None, None]
    out = capsys.readouterr().out
    assert f"recipe 'cifar10' for --data {photos} of 2 32x32x3 images (--recipe none" in out
    assert "no recipe is made for 8x8x1 images (kgan.recipes.SHAPE_RECIPES)" in out
    assert "recipe 'cifar10', made for 32x32x3 images, does not train --model wgan: " in out
    # A folder of fewer images than SMALL_DATA_IMAGES trains `small_data`, whatever the shape;
    # --num-samples counts.
    monkeypatch.setattr(kgan.recipes, "SMALL_DATA_IMAGES", 2)
    assert main([*run, "--data", str(photos), "--image-size", "32", "32"]) == 0
    assert (
        main([*run, "--data", str(photos), "--image-size", "32", "32", "--num-samples", "1"]) == 0
    )
    assert main([*run, "--data", str(digits)]) == 0
    assert main([*run, "--data", str(digits), "--model", "wgangp"]) == 0
    assert chosen[-4:] == ["cifar10", "small_data", "small_data", None]
    out = capsys.readouterr().out
    assert (
        f"recipe 'small_data' for --data {photos} of 1 32x32x3 images, fewer than 2 "
        "(kgan.recipes.SMALL_DATA_IMAGES) (--recipe none" in out
    )
    assert "recipe 'small_data', made for fewer than 2 images, does not train --model wgangp" in out
    # A data set cut short by --num-samples, too.
    monkeypatch.setattr(kgan.recipes, "SMALL_DATA_IMAGES", 10_000)
    assert main([*run, "--data", "mnist", "--num-samples", "1000"]) == 0
    assert main([*run, "--data", "mnist", "--num-samples", "10000"]) == 0
    assert main([*run, "--data", "mnist", "--num-samples", "1000", "--model", "wgangp"]) == 0
    assert main([*run, "--num-samples", "1000"]) == 0  # The embedded sample: its own recipe.
    assert chosen[-4:] == ["small_data", "mnist", None, "small_data"]
    out = capsys.readouterr().out
    assert "recipe 'small_data' for --data mnist: 1,000 images, fewer than 10,000 (" in out
    assert "recipe 'mnist' for --data mnist (--recipe none" in out
    assert "'small_data', made for fewer than 10,000 images, does not train --model wgangp" in out
    assert "recipe 'small_data' for --data fashion_mnist_sample (--recipe none" in out
    monkeypatch.setattr(kgan.recipes, "SMALL_DATA_IMAGES", 1)
    # A run of the folder already there keeps the recipe it recorded (none, by an older
    # choice), so that the same command resumes it; --restart chooses afresh.
    output.mkdir()
    (output / "config.json").write_text(json.dumps({"data": str(photos), "recipe": None}))
    assert main([*run, "--data", str(photos), "--image-size", "32", "32"]) == 0
    assert main([*run, "--data", str(photos), "--image-size", "32", "32", "--restart"]) == 0
    (output / "config.json").write_text(json.dumps({"data": str(photos), "recipe": "celeb_a"}))
    assert main([*run, "--data", str(photos), "--image-size", "32", "32"]) == 0
    assert chosen[-3:] == [None, "cifar10", "celeb_a"]
    out = capsys.readouterr().out
    assert f"training without a recipe, as the run in {output} records (--restart" in out
    assert f"using recipe 'celeb_a', as the run in {output} records" in out


def test_train_image_size_and_centre_crop(tmp_path, capsys):
    data = tmp_path / "portraits"
    data.mkdir()
    for i in range(4):
        Image.fromarray(np.full((24, 12, 3), 40 * i, np.uint8)).save(data / f"{i}.png")
    run = tmp_path / "run"
    args = ["train", "--output", str(run), "--data", str(data), "--epochs", "1"]
    args += ["--batch-size", "4", "--base-filters", "2", "--latent-dim", "4"]
    args += ["--image-size", "8", "8", "--crop", "center"]
    assert main(args) == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["image_shape"] == [8, 8, 3]
    assert config["image_size"] == [8, 8] and config["crop"] == "center"
    # The same command again finds the finished run instead of another one.
    assert main(args) == 0
    assert "finished" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*args[:-2], "--crop", "middle"])
    capsys.readouterr()
    no_size = [a for a in args if a not in ("--image-size", "8")] + ["--restart"]
    assert main(no_size) == 2
    assert "--crop needs --image-size" in capsys.readouterr().err


def test_train_help_states_when_small_data_is_chosen(capsys):
    from kgan.recipes import SMALL_DATA_IMAGES

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"fewer than {SMALL_DATA_IMAGES:,} images (a folder's, or --num-samples)" in help_text
