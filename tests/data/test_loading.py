"""Tests of kgan.data.loading: how `load` resolves a name, and what it says when it cannot."""

import numpy as np
import pytest

import kgan


def test_unknown_name_lists_the_local_sources_and_tfds(mock_tfds, fake_mnist_dir):
    folder, _ = fake_mnist_dir
    with pytest.raises(ValueError) as info:
        kgan.data.load("not_a_dataset_xyz", data_dir=folder)
    message = str(info.value)
    assert "'fashion_mnist_sample'" in message and "'gaussian_ring'" in message
    assert f"local IDX files in {folder.resolve()} for 'mnist'" in message
    assert "tensorflow-datasets" in message
    assert message.endswith("Received: name='not_a_dataset_xyz'")


def test_num_samples_takes_the_first_examples_of_other_sources(
    class_folder, no_env_data_dir, first_batch
):
    full = first_batch(kgan.data.load(kgan.data.EMBEDDED_DATASET, shuffle=False, batch_size=5))
    dataset = kgan.data.load(kgan.data.EMBEDDED_DATASET, num_samples=5, batch_size=100)
    assert int(dataset.cardinality()) == 1
    first = first_batch(dataset)
    assert first.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(np.sort(first.ravel()), np.sort(full.ravel()))
    assert first_batch(kgan.data.load(class_folder, num_samples=2)).shape[0] == 2
    with pytest.raises(ValueError, match="Received: num_samples=0"):
        kgan.data.load(kgan.data.EMBEDDED_DATASET, num_samples=0)


def test_a_relative_path_that_does_not_exist_is_a_missing_folder(mock_tfds, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="image folder does not exist") as info:
        kgan.data.load("missing/folder")
    assert str(info.value).endswith("Received: name='missing/folder'")
    # A name without a separator is still looked up as a dataset name.
    with pytest.raises(ValueError, match="Unknown dataset name"):
        kgan.data.load("missing")


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"shuffle_buffer_size": 0}, "positive integer. Received: shuffle_buffer_size=0"),
        ({"shuffle_buffer_size": 2.5}, "Received: shuffle_buffer_size=2.5"),
        ({"verbose": 9}, "'auto', 0, 1 or 2. Received: verbose=9"),
        ({"verbose": True}, "Received: verbose=True"),
    ],
    ids=["buffer_0", "buffer_float", "verbose_9", "verbose_bool"],
)
def test_bad_shuffle_buffer_size_and_verbose_are_refused_for_every_source(
    arguments, message, class_folder, no_env_data_dir
):
    for name in (kgan.data.EMBEDDED_DATASET, class_folder, "gaussian_ring"):
        with pytest.raises(ValueError, match=message):
            kgan.data.load(name, **arguments)
