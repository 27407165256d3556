"""Tests of kgan.data.folder through `load` and `from_folder`: PNG/JPEG folders."""

import numpy as np
import pytest

import kgan


def test_folder_with_class_subfolders_gives_labels(class_folder, first_batch):
    dataset = kgan.data.load(class_folder, with_labels=True, shuffle=False, batch_size=8)
    images, labels = first_batch(dataset)
    assert images.shape == (5, 6, 5, 1)
    np.testing.assert_allclose(
        images[:, 0, 0, 0], np.array([10, 20, 30, 200, 210]) / 127.5 - 1, atol=1e-6
    )
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1])
    assert dataset.class_names == ["cat", "dog"]


def test_folder_resize_and_color_mode(class_folder, first_batch, write_png):
    write_png(
        class_folder / "dog" / "rgb.png",
        np.zeros((9, 9, 3), np.uint8) + np.array([255, 0, 0], np.uint8),
    )
    dataset = kgan.data.from_folder(
        str(class_folder), image_size=(4, 4), color_mode="rgb", shuffle=False
    )
    images = first_batch(dataset)
    assert images.shape == (6, 4, 4, 3)
    np.testing.assert_allclose(images[-1, 0, 0], [1.0, -1.0, -1.0], atol=1e-6)  # red stays red
    grey = first_batch(kgan.data.from_folder(class_folder, image_size=4, color_mode="grayscale"))
    assert grey.shape == (6, 4, 4, 1)


def test_a_folder_mixing_grayscale_and_colour_is_read_in_colour(class_folder, write_png):
    """The default colour mode loses no colour, whichever image comes first."""
    assert first_batch_shape(class_folder) == (5, 6, 5, 1)  # All grayscale.
    write_png(class_folder / "dog" / "z.png", np.full((6, 5, 3), [255, 0, 0], np.uint8))
    images = next(iter(kgan.data.load(class_folder, shuffle=False, batch_size=8))).numpy()
    assert images.shape == (6, 6, 5, 3)
    np.testing.assert_allclose(images[-1, 0, 0], [1.0, -1.0, -1.0], atol=1e-6)  # Red stays red.
    np.testing.assert_allclose(images[0, 0, 0], [10 / 127.5 - 1] * 3, atol=1e-6)  # Grey, thrice.


def first_batch_shape(folder):
    return next(iter(kgan.data.load(folder, shuffle=False, batch_size=8))).shape


def test_folder_errors(tmp_path, class_folder):
    with pytest.raises(ValueError, match="does not exist. Received: name="):
        kgan.data.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    (tmp_path / "empty" / "sub").mkdir()
    (tmp_path / "empty" / "sub" / "a.GIF").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match=r"holds no images .*; found 1 \.gif, 1 \.txt\)"):
        kgan.data.load(tmp_path / "empty")
    with pytest.raises(ValueError, match="split.*Received: split='test'"):
        kgan.data.load(class_folder, split="test")


def test_flat_folder_has_no_labels(tmp_path, first_batch, write_png):
    for i in range(3):
        write_png(tmp_path / "flat" / f"{i}.png", np.full((4, 4), i, np.uint8))
    assert first_batch(kgan.data.load(tmp_path / "flat")).shape == (3, 4, 4, 1)
    with pytest.raises(
        ValueError, match="not arranged in one sub-folder per class.*with_labels=True"
    ):
        kgan.data.load(tmp_path / "flat", with_labels=True)


def test_unreadable_image_is_named(class_folder):
    (class_folder / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ValueError, match="broken.png") as caught:
        kgan.data.load(class_folder, color_mode="grayscale")
    # TensorFlow's reason, without its annotations of the op that failed.
    assert "{{" not in str(caught.value) and "[Op:" not in str(caught.value)


def test_images_of_different_sizes_need_image_size(class_folder, first_batch, write_png):
    write_png(class_folder / "dog" / "big.png", np.zeros((12, 12), np.uint8))
    with pytest.raises(ValueError, match="big.png.*12x12.*Received: image_size=None") as caught:
        kgan.data.load(class_folder)
    assert caught.value.__suppress_context__  # One error shown, not TensorFlow's before it.
    assert first_batch(kgan.data.load(class_folder, image_size=6)).shape == (6, 6, 6, 1)


def test_a_subset_of_a_class_folder_keeps_every_class(class_folder):
    """`num_samples` takes the classes in turn: 3 of cat, dog, cat ... not the first 3 cats."""
    from kgan.data.folder import classes_in_turn, read_folder

    np.testing.assert_array_equal(classes_in_turn([0, 0, 0, 1, 1]), [0, 3, 1, 4, 2])
    np.testing.assert_array_equal(classes_in_turn([2, 0, 2, 1]), [1, 3, 0, 2])
    images, labels, names = read_folder(class_folder, with_labels=True, num_samples=3, cache=False)
    assert names == ["cat", "dog"]
    np.testing.assert_array_equal(labels, [0, 1, 0])
    np.testing.assert_array_equal(images[:, 0, 0, 0], [10, 200, 20])
    dataset = kgan.data.load(class_folder, num_samples=4, with_labels=True, shuffle=False)
    batch_labels = np.concatenate([labels.numpy() for _, labels in dataset])
    np.testing.assert_array_equal(batch_labels, [0, 1, 0, 1])
    # A flat folder (no classes) keeps sorted path order.
    flat, _, _ = read_folder(class_folder / "cat", num_samples=2, cache=False)
    np.testing.assert_array_equal(flat[:, 0, 0, 0], [10, 20])


def test_listing_finds_images_at_any_depth_in_path_order_and_skips_linked_folders(tmp_path):
    from kgan.data.folder import list_images

    for name in ("a/1.png", "a/b/2.JPG", "a-c.png", ".hidden.png", "x.png/3.jpeg", "c/4.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "linked").symlink_to(tmp_path / "a")  # A linked folder is not entered,
    (tmp_path / "linked.png").symlink_to(tmp_path / "a" / "1.png")  # a linked file is listed,
    (tmp_path / "broken.png").symlink_to(tmp_path / "none.png")  # a broken link is not.
    paths, labels, class_names = list_images(tmp_path)
    listed = [path.relative_to(tmp_path).as_posix() for path in paths]
    # Sorted part by part, as paths compare: a/b/2.JPG before a-c.png, though "-" < "/".
    assert listed == [".hidden.png", "a/1.png", "a/b/2.JPG", "a-c.png", "linked.png",
                      "x.png/3.jpeg"]  # fmt: skip
    assert paths[0] == tmp_path / ".hidden.png" and labels is None and class_names is None
