"""CIFAR-10 from a local copy: the pickled and binary batches, class folders, and bad files."""

import os
import pickle

import numpy as np
import pytest

import kgan
from kgan.data import cifar

PER_FILE = 3  # Images in each small batch file written here (the original has 10,000).


def _images_and_labels(seed, count):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    return images, labels


def _rows(images):
    """CIFAR-10's row layout: the red plane, then green, then blue, each row-major."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


def _write_distribution(root, kind):
    """A small copy of the original distribution; returns the arrays of each split."""
    folder = (
        root / "cifar10" / ("cifar-10-batches-py" if kind == "pickle" else "cifar-10-batches-bin")
    )
    folder.mkdir(parents=True)
    splits = {"train": [], "test": []}
    files = [(f"data_batch_{i}", "train") for i in range(1, 6)] + [("test_batch", "test")]
    for seed, (stem, split) in enumerate(files):
        images, labels = _images_and_labels(seed, PER_FILE)
        splits[split].append((images, labels))
        if kind == "pickle":
            batch = {b"data": _rows(images), b"labels": labels.tolist(), b"batch_label": b"x"}
            (folder / stem).write_bytes(pickle.dumps(batch))
        else:
            records = np.concatenate([labels[:, None], _rows(images)], axis=1).astype(np.uint8)
            (folder / f"{stem}.bin").write_bytes(records.tobytes())
    return {
        split: tuple(np.concatenate(parts) for parts in zip(*batches))
        for split, batches in splits.items()
    }


@pytest.mark.parametrize("kind", ["pickle", "binary"])
def test_original_batches_load_in_order_with_labels(tmp_path, kind):
    expected = _write_distribution(tmp_path, kind)
    for split in ("train", "test"):
        dataset = kgan.data.load(
            "cifar10", split=split, data_dir=tmp_path, with_labels=True, shuffle=False,
            batch_size=100,
        )  # fmt: skip
        images, labels = (t.numpy() for t in next(iter(dataset)))
        want_images, want_labels = expected[split]
        np.testing.assert_array_equal(labels, want_labels)
        np.testing.assert_allclose(images, want_images / 127.5 - 1.0, atol=1e-6)
        assert dataset.class_names == cifar.CLASS_NAMES


def test_truncated_pickle_is_refused_naming_the_file(tmp_path):
    _write_distribution(tmp_path, "pickle")
    path = tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"truncated.*data_batch_3"):
        kgan.data.load("cifar10", data_dir=tmp_path)


@pytest.mark.parametrize(
    "batch,message",
    [
        ([1, 2, 3], r"must be a dict with b'data' and b'labels'"),
        ({b"data": np.zeros((3, 3072), np.uint8)}, r"must be a dict with b'data' and b'labels'"),
        (
            {b"data": np.zeros((3, 1024), np.uint8), b"labels": [0, 1, 2]},
            r"data of shape \(N, 3072\) and N labels; this one has data \(3, 1024\) and "
            r"labels \(3,\)",
        ),
        (
            {b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1]},
            r"this one has data \(3, 3072\) and labels \(2,\)",
        ),
        ({b"data": np.zeros((3, 3072), np.uint8), b"labels": 3}, r"and labels \(\)"),
        (
            {b"data": np.zeros((3, 3072), np.float32), b"labels": [0, 1, 2]},
            r"must be integers, not float32",
        ),
        ({b"data": np.full((3, 3072), 300), b"labels": [0, 1, 2]}, r"0-255, not 300-300"),
        ({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 12, 2]}, r"outside 0-9 \(12\)"),
        ({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, -1, 12]}, r"outside 0-9 \(-1\)"),
    ],
)
def test_a_pickle_batch_of_another_layout_is_refused_naming_the_file(tmp_path, batch, message):
    _write_distribution(tmp_path, "pickle")
    path = tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_4"
    path.write_bytes(pickle.dumps(batch))
    with pytest.raises(ValueError, match=rf"{message}.*data_batch_4"):
        kgan.data.load("cifar10", data_dir=tmp_path)


class _MakesAFolder:
    """Unpickled, it would call `os.mkdir(path)`."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def test_a_pickle_that_names_code_or_is_garbled_is_refused_without_running_it(tmp_path):
    _write_distribution(tmp_path, "pickle")
    path = tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_2"
    marker = tmp_path / "made_by_the_pickle"
    path.write_bytes(pickle.dumps({b"data": _MakesAFolder(marker), b"labels": [0]}))
    with pytest.raises(ValueError, match=r"refers to \w+\.mkdir, which no batch holds.*batch_2"):
        kgan.data.load("cifar10", data_dir=tmp_path)
    assert not marker.exists()
    path.write_bytes(b"\x80\x02}q\x00(h\x07.")  # Garbled: a memo entry that was never stored.
    with pytest.raises(ValueError, match=r"could not be read \(UnpicklingError: .*data_batch_2"):
        kgan.data.load("cifar10", data_dir=tmp_path)


def test_wrong_sized_binary_batch_is_refused_naming_the_file(tmp_path):
    _write_distribution(tmp_path, "binary")
    path = tmp_path / "cifar10" / "cifar-10-batches-bin" / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"3073-byte records.*test_batch\.bin"):
        kgan.data.load("cifar10", split="test", data_dir=tmp_path)


@pytest.mark.parametrize("split,stem", [("test", "test_batch"), ("train", "data_batch_2")])
def test_a_binary_batch_cut_between_records_is_refused_naming_it(tmp_path, split, stem):
    _write_distribution(tmp_path, "binary")
    path = tmp_path / "cifar10" / "cifar-10-batches-bin" / f"{stem}.bin"
    path.write_bytes(path.read_bytes()[: -2 * 3073])
    with pytest.raises(ValueError, match=rf"holds {PER_FILE - 2} images.*{stem}\.bin"):
        kgan.data.load("cifar10", split=split, data_dir=tmp_path)
    # The other split's files are whole: that split loads.
    other = "train" if split == "test" else "test"
    assert kgan.data.load("cifar10", split=other, data_dir=tmp_path, verbose=0) is not None


def test_binary_batches_cut_by_different_amounts_are_refused_against_the_most_common_size(
    tmp_path,
):
    _write_distribution(tmp_path, "binary")
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    for stem, records in (("data_batch_1", 1), ("data_batch_2", 2)):
        path = folder / f"{stem}.bin"
        path.write_bytes(path.read_bytes()[: -records * 3073])
    with pytest.raises(ValueError, match=r"holds 2 images where most batches hold 3.*_1\.bin"):
        kgan.data.load("cifar10", data_dir=tmp_path)


def test_a_centre_crop_larger_than_the_images_is_refused(tmp_path):
    _write_distribution(tmp_path, "pickle")
    with pytest.raises(
        ValueError, match=r"does not fit.*32x32.*image_size=\(64, 64\), crop='center'"
    ):
        kgan.data.load("cifar10", data_dir=tmp_path, image_size=64, crop="center")


def test_missing_batch_file_is_named(tmp_path):
    _write_distribution(tmp_path, "binary")
    (tmp_path / "cifar10" / "cifar-10-batches-bin" / "data_batch_5.bin").unlink()
    with pytest.raises(ValueError, match="data_batch_5"):
        kgan.data.load("cifar10", data_dir=tmp_path)


def _write_class_folders(root, write_png, classes=cifar.CLASS_NAMES):
    for index, name in enumerate(classes):
        write_png(
            root / "cifar10" / "train" / name / "0.png", np.full((32, 32, 3), index, np.uint8)
        )


def test_class_folders_give_cifar_label_order(tmp_path, write_png):
    _write_class_folders(tmp_path, write_png)
    dataset = kgan.data.load(
        "cifar10", data_dir=tmp_path, with_labels=True, shuffle=False, batch_size=10
    )
    images, labels = (t.numpy() for t in next(iter(dataset)))
    # Each image's pixel value is its class index in CIFAR-10's order.
    np.testing.assert_allclose(images[:, 0, 0, 0], labels / 127.5 - 1.0, atol=1e-6)
    assert sorted(labels.tolist()) == list(range(10))


def test_the_first_images_of_class_folders_hold_every_class(tmp_path, write_png):
    for index, name in enumerate(cifar.CLASS_NAMES):
        for i in range(2):
            image = np.full((32, 32, 3), 10 * index + i, np.uint8)
            write_png(tmp_path / "cifar10" / "train" / name / f"{i}.png", image)
    dataset = kgan.data.load(
        "cifar10", data_dir=tmp_path, with_labels=True, shuffle=False, num_samples=12
    )
    images, labels = (t.numpy() for t in next(iter(dataset)))
    # One of each class in turn: the first image of every class, then the second ones.
    np.testing.assert_array_equal(labels, [*range(10), 0, 1])
    pixels = np.round((images[:, 0, 0, 0] + 1.0) * 127.5)
    np.testing.assert_array_equal(pixels, [*range(0, 100, 10), 1, 11])


def _refuse_decoding(monkeypatch):
    from kgan.data import folder

    def decode_all(*args, **kwargs):
        raise AssertionError("decoded before the class folders were checked")

    monkeypatch.setattr(folder, "_decode_all", decode_all)


def test_class_folders_with_a_missing_class_are_refused_before_decoding(
    tmp_path, write_png, monkeypatch
):
    _write_class_folders(tmp_path, write_png, classes=cifar.CLASS_NAMES[:-1])
    write_png(tmp_path / "cifar10" / "train" / "horses" / "0.png", np.zeros((32, 32, 3), np.uint8))
    _refuse_decoding(monkeypatch)
    with pytest.raises(ValueError, match=r"missing \['truck'\], unexpected \['horses'\].*train"):
        kgan.data.load("cifar10", data_dir=tmp_path, with_labels=True)


def test_class_folders_with_images_outside_them_are_refused(tmp_path, write_png, monkeypatch):
    _write_class_folders(tmp_path, write_png)
    write_png(tmp_path / "cifar10" / "train" / "stray.png", np.zeros((32, 32, 3), np.uint8))
    _refuse_decoding(monkeypatch)
    with pytest.raises(
        ValueError,
        match=r"holds images elsewhere.*such as '.*stray.png'. Received: folder=.*train'$",
    ):
        kgan.data.load("cifar10", data_dir=tmp_path)


def test_an_empty_class_folder_is_named(tmp_path, write_png, monkeypatch):
    _write_class_folders(tmp_path, write_png, classes=cifar.CLASS_NAMES[:-1])
    (tmp_path / "cifar10" / "train" / "truck").mkdir()
    _refuse_decoding(monkeypatch)
    with pytest.raises(ValueError, match=r"class folder\(s\) \['truck'\] hold no images.*train'$"):
        kgan.data.load("cifar10", data_dir=tmp_path)


def test_without_a_local_copy_the_advice_names_the_folder(tmp_path, monkeypatch):
    from kgan.data import tfds_source

    def offline(*args, offline_advice=None, **kwargs):
        raise FileNotFoundError(f"no network. {offline_advice}")

    monkeypatch.setattr(tfds_source, "load", offline)
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        kgan.data.load("cifar10", data_dir=tmp_path)
