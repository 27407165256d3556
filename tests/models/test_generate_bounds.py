"""`generate` refuses requests it cannot serve, and fills large ones batch by batch."""

import io
import os

import numpy as np
import pytest

import kgan
from kgan import _system
from kgan.models import generation


@pytest.fixture(scope="module")
def gan():
    generator = kgan.models.mlp_generator((28, 28, 1), latent_dim=4, hidden_units=(8,))
    discriminator = kgan.models.mlp_discriminator((28, 28, 1), hidden_units=(8,))
    return kgan.GAN(generator, discriminator, seed=0)


def test_an_impossible_size_is_a_clear_error(gan):
    # TensorFlow's int32 sizes overflowed: "Dimension -727379968 must be >= 0".
    with pytest.raises(ValueError, match=r"at most 2,147,483,647.*Received: num_samples=10{12}$"):
        gan.generate(10**12)
    # 3 TB of samples: it exhausted the memory instead.
    with pytest.raises(ValueError, match=r"GiB of memory.*Received: num_samples=1000000000$"):
        gan.generate(10**9)
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        gan.generate(4, batch_size=0)


def test_the_memory_bound_counts_latent_vectors_and_samples(monkeypatch):
    monkeypatch.setattr(generation, "available_memory", lambda: 4 * 10 * (4 + 784))
    generation.check_generate_size(10, 4, (28, 28, 1))
    with pytest.raises(ValueError, match="Received: num_samples=11"):
        generation.check_generate_size(11, 4, (28, 28, 1))


def test_large_requests_go_through_the_generator_in_bounded_batches(gan, monkeypatch):
    sizes = []
    real_call = type(gan.inference_generator).__call__

    def counting(self, inputs, *args, **kwargs):
        sizes.append(int(inputs.shape[0]))
        return real_call(self, inputs, *args, **kwargs)

    monkeypatch.setattr(type(gan.inference_generator), "__call__", counting)
    samples = gan.generate(10, seed=3, batch_size=4)
    assert sizes == [4, 4, 2]
    assert samples.shape == (10, 28, 28, 1) and samples.dtype == np.float32
    monkeypatch.undo()
    np.testing.assert_allclose(samples, gan.generate(10, seed=3, batch_size=10), atol=1e-6)


def test_the_memory_bound_is_the_memory_available(monkeypatch):
    """`MemAvailable` of /proc/meminfo, not the total: memory other processes hold is not
    there for the samples."""

    def meminfo(path, *args, **kwargs):
        assert path == "/proc/meminfo"
        return io.StringIO("MemTotal:       24000000 kB\nMemAvailable:    2000000 kB\n")

    monkeypatch.setattr(_system, "open", meminfo, raising=False)
    assert _system.available_memory() == 2_000_000 * 1024

    def no_meminfo(path, *args, **kwargs):
        raise FileNotFoundError(path)

    monkeypatch.setattr(_system, "open", no_meminfo, raising=False)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert _system.available_memory() == total
