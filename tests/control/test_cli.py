"""`kgan sample`, `kgan interpolate` and `kgan edit`, and their errors."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from kgan.cli import main
from kgan.images import image_grid, to_uint8

SAVEDMODELS = Path(__file__).resolve().parents[2] / "savedmodels"


def _sample(model, tmp_path, name, *extra):
    npy = tmp_path / f"{name}.npy"
    png = tmp_path / f"{name}.png"
    code = main(
        [
            "sample",
            str(model),
            "--num-samples",
            "6",
            "--seed",
            "4",
            "--out",
            str(png),
            "--npy",
            str(npy),
            *extra,
        ]
    )
    assert code == 0
    assert Image.open(png).size[0] > 0
    return np.load(npy)


def test_sample_gives_the_same_images_in_every_format(image_gan, image_exports, tmp_path):
    expected = image_gan.generate(6, labels=[0, 2, 0, 2, 0, 2], seed=4)
    for kind in ("run", "saved_model", "onnx"):
        samples = _sample(image_exports[kind], tmp_path, kind, "--labels", "0,2")
        np.testing.assert_allclose(samples, expected, atol=1e-4, err_msg=kind)


def test_sample_works_on_the_shipped_generators(shipped_name, tmp_path, capsys):
    from_saved = _sample(SAVEDMODELS / shipped_name, tmp_path, "saved")
    from_onnx = _sample(SAVEDMODELS / f"{shipped_name}.onnx", tmp_path, "onnx")
    assert from_saved.shape[0] == 6 and from_saved.shape[1:] in ((28, 28, 1), (32, 32, 3))
    np.testing.assert_allclose(from_onnx, from_saved, atol=1e-4)
    assert "6 samples from SavedModel" in capsys.readouterr().out


def test_sample_with_jacobian_truncation_matches_the_model(image_gan, image_exports, tmp_path):
    expected = image_gan.generate(6, labels=[1] * 6, seed=4, jacobian_truncation=0.3)
    assert not np.allclose(expected, image_gan.generate(6, labels=[1] * 6, seed=4), atol=1e-3)
    for kind in ("run", "saved_model"):
        samples = _sample(
            image_exports[kind], tmp_path, kind, "--labels", "1", "--jacobian-truncation", "0.3"
        )
        np.testing.assert_allclose(samples, expected, atol=1e-4, err_msg=kind)


def test_sample_default_grid(image_exports, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", image_exports["version"], "--num-samples", "4"]) == 0
    # 8x8 tiles are scaled up 8 times; 2 x 2 tiles with 2-pixel padding.
    assert Image.open(tmp_path / "samples.png").size == (2 * 64 + 6, 2 * 64 + 6)


def test_interpolate_writes_rows_of_steps(image_exports, tmp_path):
    npy = tmp_path / "strip.npy"
    code = main(
        [
            "interpolate",
            image_exports["saved_model"],
            "--steps",
            "5",
            "--rows",
            "3",
            "--method",
            "linear",
            "--labels",
            "1",
            "--out",
            str(tmp_path / "strip.png"),
            "--npy",
            str(npy),
        ]
    )
    assert code == 0
    assert np.load(npy).shape == (15, 8, 8, 1)
    assert Image.open(tmp_path / "strip.png").size == (5 * 66 + 2, 3 * 66 + 2)
    blend = tmp_path / "blend.npy"
    code = main(
        [
            "interpolate",
            image_exports["run"],
            "--class-blend",
            "0,2",
            "--steps",
            "4",
            "--rows",
            "2",
            "--out",
            str(tmp_path / "blend.png"),
            "--npy",
            str(blend),
        ]
    )
    assert code == 0 and np.load(blend).shape == (8, 8, 8, 1)


def test_edit_steers_the_shipped_cifar10_generator_with_the_shipped_classifier(tmp_path, capsys):
    # Airplanes edited towards cats (class 3) by the CIFAR-10 classifier's score.
    argv = ["edit", str(SAVEDMODELS / "cifar10_cdcgan"), "--target", "3", "--labels", "0"]
    argv += ["--classifier", str(SAVEDMODELS / "classifiers" / "cifar10.keras")]
    assert main([*argv, "--num-samples", "8", "--out", str(tmp_path / "edit.png")]) == 0
    reached, before = map(
        int, re.search(r"(\d+) of 8 .*\(before: (\d+)\)", capsys.readouterr().out).groups()
    )
    assert before <= 1 and reached >= 5, (before, reached)
    assert Image.open(tmp_path / "edit.png").size == (4 * 66 + 2, 4 * 66 + 2)  # 8 pairs, 4 rows


@pytest.mark.parametrize("mode", [[], ["--strength", "2"]])
def test_edit_shows_images_before_and_after(image_exports, image_classifier, tmp_path, mode):
    classifier, path = image_classifier
    out = tmp_path / "before_after.png"
    code = main(
        [
            "edit",
            image_exports["version"],
            "--classifier",
            path,
            "--target",
            "1",
            "--num-samples",
            "4",
            "--out",
            str(out),
            *mode,
        ]
    )
    assert code == 0
    # Two pairs per row, two rows: 4 tiles of 64 pixels across, 2 down.
    assert Image.open(out).size == (4 * 66 + 2, 2 * 66 + 2)


def _one_line_error(capsys, argv, command, received):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"kgan {command}: error: ")
    assert received in err
    return err


def test_bad_input_is_one_clear_line(
    image_exports, image_classifier, shipped_unconditional, tmp_path, capsys
):
    _, classifier = image_classifier
    version, onnx_path = image_exports["version"], image_exports["onnx"]
    shipped = str(shipped_unconditional)
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    edit = ["edit", version, "--classifier", classifier]
    cases = [
        (["sample", version, "--labels", "0,3"], "[0, 3): 3 is none. Received: --labels=0,3"),
        (["sample", shipped, "--labels", "2"], "is unconditional. Received: --labels=2"),
        (["interpolate", version, "--steps", "1"], "Received: --steps=1"),
        ([*edit, "--target", "5"], "Received: --target=5"),
        ([*edit, "--target", "1", "--step-size", "-0.5"], "Received: --step-size=-0.5"),
        (["sample", str(text)], f"Received: model='{text}'"),
        (["sample", str(tmp_path / "missing")], f"Received: MODEL={tmp_path / 'missing'}"),
        (["edit", onnx_path, "--classifier", classifier, "--target", "1"], "Received: model=ONNX"),
        (["interpolate", version, "--class-blend", "0,1"], "Received: model=SavedModel"),
        (["sample", version, "--jacobian-truncation", "1"], "Received: --jacobian-truncation=1.0"),
        (["sample", onnx_path, "--jacobian-truncation", "0.2"], "Received: model=ONNX"),
        # More classes than samples or rows: some would not be drawn.
        (
            ["sample", version, "--num-samples", "2", "--labels", "0,1,2"],
            "Received: --labels=0,1,2, --num-samples=2",
        ),
        (
            ["interpolate", version, "--rows", "2", "--labels", "0,1,2"],
            "Received: --labels=0,1,2, --rows=2",
        ),
        # Errors that name the options typed, not the library's arguments.
        (["interpolate", image_exports["run"], "--class-blend", "0,7"], "--class-blend=0,7"),
        (
            [*edit, "--target", "1", "--keep", "0,7"],
            "classifier has, in [0, 3). Received: --keep=7",
        ),
        ([*edit, "--target", "1", "--keep", "1"], "Received: --keep=[1] with --target=1"),
        # A classifier of logits said to give probabilities: no NaN scores.
        ([*edit, "--target", "1", "--probabilities"], "as logits do: leave it out"),
    ]
    for argv, received in cases:
        _one_line_error(capsys, argv, argv[0], received)


def test_a_classifier_that_does_not_fit_is_one_clear_line(image_exports, tmp_path, capsys):
    images = keras.Input(shape=(28, 28, 1))
    classifier = keras.Model(images, keras.layers.Dense(10)(keras.layers.Flatten()(images)))
    classifier.save(tmp_path / "mnist.keras")
    argv = [
        "edit",
        image_exports["version"],
        "--classifier",
        str(tmp_path / "mnist.keras"),
        "--target",
        "1",
    ]
    err = _one_line_error(
        capsys, argv, "edit", f"Received: --classifier={tmp_path / 'mnist.keras'}"
    )
    assert "(None, 28, 28, 1) does not fit the generator's output shape (None, 8, 8, 1)" in err


def test_parse_seeds_reads_ranges_and_lists():
    from kgan.cli.options import parse_seeds

    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,3,5-7") == [0, 3, 5, 6, 7]
    for text in ("", "a", "5-", "-3", "9-5", "1,,2", "0-9223372036854775808", "0-1000000"):
        with pytest.raises(ValueError, match="Received: --seeds="):
            parse_seeds(text)


def test_sample_seeds_write_one_png_per_seed(image_gan, image_exports, tmp_path, capsys):
    out_dir = tmp_path / "pngs"
    npy = tmp_path / "seeds.npy"
    args = ["--seeds", "3,5-6", "--labels", "2", "--out-dir", str(out_dir), "--npy", str(npy)]
    assert main(["sample", image_exports["saved_model"], *args]) == 0
    names = ["seed0003-class2.png", "seed0005-class2.png", "seed0006-class2.png"]
    assert sorted(p.name for p in out_dir.iterdir()) == names
    # With --out-dir alone, no grid is written.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pngs", "seeds.npy"]
    samples = np.load(npy)
    # Each image is the one its seed gives alone, in every format.
    for index, seed in enumerate((3, 5, 6)):
        expected = image_gan.generate(1, labels=[2], seed=seed)[0]
        np.testing.assert_allclose(samples[index], expected, atol=1e-4)
        pixels = np.asarray(Image.open(out_dir / names[index]))
        np.testing.assert_array_equal(pixels, to_uint8(expected)[..., 0])
    assert "3 PNG files" in capsys.readouterr().out


def test_sample_seeds_refuse_options_that_draw_together(image_exports, tmp_path, capsys):
    for extra in (["--seed", "1"], ["--num-samples", "4"], ["--jacobian-truncation", "0.2"]):
        code = main(["sample", image_exports["run"], "--seeds", "0-3", *extra])
        assert code == 2
        assert f"leave out {extra[0]}. Received: {extra[0]}=" in capsys.readouterr().err


def test_sample_out_dir_without_seeds_names_by_index_and_class(image_exports, tmp_path):
    out_dir = tmp_path / "pngs"
    grid = tmp_path / "grid.png"
    args = ["--num-samples", "4", "--out-dir", str(out_dir), "--grid", str(grid)]
    assert main(["sample", image_exports["run"], *args]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "sample0000-class0.png",
        "sample0001-class1.png",
        "sample0002-class2.png",
        "sample0003-class0.png",
    ]
    assert grid.exists()


def test_interpolate_gif_shows_the_steps_as_frames(image_exports, tmp_path):
    gif = tmp_path / "walk.gif"
    npy = tmp_path / "walk.npy"
    args = ["--steps", "4", "--rows", "2", "--gif", str(gif), "--npy", str(npy), "--fps", "5"]
    args += ["--out", str(tmp_path / "walk.png")]
    assert main(["interpolate", image_exports["saved_model"], *args]) == 0
    animation = Image.open(gif)
    assert animation.n_frames == 4 and animation.info["loop"] == 0
    assert animation.info["duration"] == 200
    images = np.load(npy).reshape(2, 4, 8, 8, 1)
    # Frame t holds both rows at step t; 8x8 tiles are scaled 8 times, side by side.
    for step in range(4):
        animation.seek(step)
        expected = image_grid(images[:, step], scale=8)[..., 0]
        np.testing.assert_array_equal(np.asarray(animation.convert("L")), expected)


def test_edit_of_a_generator_of_vectors_says_it_writes_images_only(
    image_classifier, tmp_path, capsys
):
    import kgan

    _, classifier = image_classifier
    toy = kgan.GAN(
        kgan.models.mlp_generator((2,), 4, (8,)), kgan.models.mlp_discriminator((2,), (8,))
    )
    toy.save(tmp_path / "toy.keras")
    argv = ["edit", str(tmp_path / "toy.keras"), "--classifier", classifier, "--target", "1"]
    err = _one_line_error(capsys, argv, "edit", "Received: MODEL=")
    assert "writes images only" in err and "--npy" not in err


def test_sample_help_states_the_calibration_count_truncation_uses(capsys):
    from kgan.models.truncation import CALIBRATION_SAMPLES

    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"threshold is set first from {CALIBRATION_SAMPLES:,} prior samples" in help_text
