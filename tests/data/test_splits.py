"""Split slices (`"train[:10%]"`, `"test[-500:]"`) select the examples they name, sources that
cannot slice refuse a slice instead of ignoring it, and `cache=` a file caches there."""

import numpy as np
import pytest

import kgan


@pytest.fixture
def numbered_mnist(tmp_path, no_env_data_dir):
    """A data folder with MNIST-format files whose image i holds its own number: pixel (0, 0) is
    i % 256 and pixel (0, 1) is i // 256. 50 training and 600 test images; label i % 10."""
    folder = tmp_path / "data"
    (folder / "mnist").mkdir(parents=True)
    for split, count in (("train", 50), ("t10k", 600)):
        images = np.zeros((count, 28, 28), np.uint8)
        images[:, 0, 0] = np.arange(count) % 256
        images[:, 0, 1] = np.arange(count) // 256
        labels = (np.arange(count) % 10).astype(np.uint8)
        kgan.data.write_idx(folder / "mnist" / f"{split}-images-idx3-ubyte.gz", images)
        kgan.data.write_idx(folder / "mnist" / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder


def _numbers(folder, split):
    """The numbers (and labels) of the images `load` gives for `split`, in order."""
    dataset = kgan.data.load(
        "mnist", split=split, data_dir=folder, with_labels=True, shuffle=False, batch_size=1000
    )
    batches = list(dataset)
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    pixels = np.round((images[:, 0, :2, 0] + 1.0) * 127.5).astype(int)
    return pixels[:, 0] + 256 * pixels[:, 1], labels


@pytest.mark.parametrize(
    "split, expected",
    [
        ("train[:10%]", range(0, 5)),  # 10% of 50.
        ("train[10%:20%]", range(5, 10)),
        ("train[-3:]", range(47, 50)),
        ("train[-10%:]", range(45, 50)),  # As in tfds: from the end.
        ("test[-500:]", range(100, 600)),
        ("test[:100]", range(0, 100)),
        ("test", range(0, 600)),
    ],
)
def test_split_slices_select_the_examples_they_name(numbered_mnist, split, expected):
    numbers, labels = _numbers(numbered_mnist, split)
    np.testing.assert_array_equal(numbers, list(expected))
    np.testing.assert_array_equal(labels, np.array(list(expected)) % 10)  # Labels follow.


@pytest.mark.parametrize("split", ["train[:200%]", "train[-101%:]", "test[50%:101%]"])
def test_percentages_beyond_100_are_refused(numbered_mnist, split):
    with pytest.raises(ValueError, match=r"in \[-100%, 100%\]\. Received: split='\w+\["):
        kgan.data.load("mnist", split=split, data_dir=numbered_mnist)


def test_num_samples_counts_within_the_slice(numbered_mnist):
    dataset = kgan.data.load(
        "mnist",
        split="test[-500:]",
        data_dir=numbered_mnist,
        num_samples=4,
        shuffle=False,
        batch_size=10,
    )
    images = next(iter(dataset)).numpy()
    numbers = np.round((images[:, 0, 0, 0] + 1.0) * 127.5).astype(int) + 256 * np.round(
        (images[:, 0, 1, 0] + 1.0) * 127.5
    ).astype(int)
    np.testing.assert_array_equal(numbers, [100, 101, 102, 103])


def test_sources_without_slices_refuse_them(tmp_path, write_png):
    for i in range(10):
        write_png(tmp_path / "images" / f"{i}.png", np.full((4, 4), 20 * i, np.uint8))
    # The whole split is fine ...
    dataset = kgan.data.load(tmp_path / "images", split="train", batch_size=100, shuffle=False)
    assert next(iter(dataset)).shape == (10, 4, 4, 1)
    # ... a slice of it is refused rather than ignored.
    with pytest.raises(ValueError, match=r"Received: split='train\[:10%\]'"):
        kgan.data.load(tmp_path / "images", split="train[:10%]")
    with pytest.raises(ValueError, match=r"Received: split='train\[-5:\]'"):
        kgan.data.load("gaussian_ring", split="train[-5:]", num_samples=100)


def test_cache_to_a_file_writes_the_file_and_replays_the_examples(
    mock_tfds, tfds_data_dir, tmp_path
):
    cache = tmp_path / "cache" / "cifar10"
    cache.parent.mkdir()
    dataset = kgan.data.load(
        "cifar10", cache=str(cache), shuffle=False, batch_size=4, data_dir=tfds_data_dir
    )
    first = np.concatenate([batch.numpy() for batch in dataset])
    assert first.shape == (10, 32, 32, 3)
    # The decoded examples are in files named after the cache path.
    written = sorted(path.name for path in cache.parent.iterdir())
    assert "cifar10.index" in written and any(name.startswith("cifar10.data") for name in written)
    second = np.concatenate([batch.numpy() for batch in dataset])
    np.testing.assert_array_equal(second, first)
    # A dataset built afresh on the same, complete cache file gives the same examples.
    again = kgan.data.load(
        "cifar10", cache=str(cache), shuffle=False, batch_size=4, data_dir=tfds_data_dir
    )
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in again]), first)


def test_cache_false_writes_nothing(mock_tfds, tfds_data_dir, tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    dataset = kgan.data.load(
        "cifar10", cache=False, shuffle=False, batch_size=4, data_dir=tfds_data_dir
    )
    assert sum(len(batch) for batch in dataset) == 10
    assert list(folder.iterdir()) == []
    with pytest.raises(ValueError, match="Received: cache=3"):
        kgan.data.load("cifar10", cache=3, data_dir=tfds_data_dir)
