"""Progress of long computations: `kgan.progress` and the `verbose` of the functions using it."""

import keras
import numpy as np
import pytest

import kgan
from kgan import console
from kgan.progress import Progress


def test_verbose_2_prints_one_line_per_stage(capsys):
    progress = Progress("Generating 10 samples", 10, verbose=2)
    for _ in range(5):
        progress.add(2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Generating 10 samples: 10 samples in ")


def test_auto_shows_a_bar_only_for_work_of_several_steps(capsys):
    Progress("one step", 4).add(4)
    assert capsys.readouterr().out == ""
    progress = Progress("two steps", 4)
    progress.add(2)
    progress.add(2)
    out = capsys.readouterr().out
    assert out.startswith("two steps\n") and "4/4" in out
    silent = Progress("silent", 4, verbose=0)
    silent.add(2)
    silent.add(2)
    assert capsys.readouterr().out == ""


def test_verbose_is_checked():
    with pytest.raises(ValueError, match="Received: verbose=3"):
        Progress("x", 1, verbose=3)


def test_evaluate_reports_each_stage(capsys):
    keras.utils.set_random_seed(0)
    generator = kgan.models.mlp_generator((4, 4, 1), latent_dim=3, hidden_units=(8,))
    images = keras.Input((4, 4, 1))
    extractor = keras.Model(images, keras.layers.Flatten()(images))
    real = np.random.default_rng(0).uniform(-1, 1, (40, 4, 4, 1)).astype("float32")
    kgan.evaluate(
        generator,
        real,
        feature_extractor=extractor,
        num_samples=40,
        batch_size=16,
        kid_subset_size=10,
        verbose=2,
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Generating 40 samples",
        f"Features ({extractor.name}) of 40 real samples",
        f"Features ({extractor.name}) of 40 generated samples",
    ]


def test_generate_and_the_truncation_threshold_report_progress(capsys):
    generator = kgan.models.mlp_generator((2,), latent_dim=2, hidden_units=(8,))
    discriminator = kgan.models.mlp_discriminator((2,), hidden_units=(8,))
    gan = kgan.GAN(generator, discriminator, seed=0)
    gan.generate(8, seed=0, batch_size=4, jacobian_truncation=0.2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Jacobian truncation: the norms of 10,000 calibration samples")
    assert lines[-1].startswith("Generating 8 samples: 8 samples in ")
    gan.generate(8, seed=0, batch_size=4, verbose=0)
    assert capsys.readouterr().out == ""


def test_the_command_shows_a_bar_on_a_terminal_and_lines_in_a_log():
    class Terminal:
        def isatty(self):
            return True

    class Log:
        def isatty(self):
            return False

    assert console.progress_verbosity(Terminal()) == 1
    assert console.progress_verbosity(Log()) == 2
