"""The decoded-folder cache and the centre crop of image folders."""

import os

import numpy as np
import pytest

import kgan
from kgan.data import folder, folder_cache


def _load_all(directory, **kwargs):
    dataset = kgan.data.load(directory, shuffle=False, batch_size=100, **kwargs)
    return next(iter(dataset)).numpy()


def _count_decodes(monkeypatch):
    calls = []
    original = folder._decode_all

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(folder, "_decode_all", counting)
    return calls


def test_second_load_reads_the_cache(class_folder, monkeypatch):
    decodes = _count_decodes(monkeypatch)
    first = _load_all(class_folder)
    second = _load_all(class_folder)
    np.testing.assert_array_equal(first, second)
    assert len(decodes) == 1


def test_kgan_cache_dir_holds_the_folder_cache_and_the_run_staging_side_by_side(
    class_folder, tmp_path, monkeypatch
):
    from kgan.runs import remote

    monkeypatch.setenv(folder_cache.ENV_VAR, str(tmp_path / "cache"))
    _load_all(class_folder)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["folders"]
    assert len(list((tmp_path / "cache" / "folders").glob("*.npz"))) == 1
    assert remote.staging_root() == str(tmp_path / "cache" / "runs")
    monkeypatch.delenv(folder_cache.ENV_VAR)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert folder_cache.cache_dir() == tmp_path / "home" / ".cache" / "kgan" / "folders"
    assert remote.staging_root() == str(tmp_path / "home" / ".cache" / "kgan" / "runs")


def test_images_read_with_and_without_labels_share_one_entry(class_folder, monkeypatch):
    decodes = _count_decodes(monkeypatch)
    _load_all(class_folder)
    kgan.data.load(class_folder, with_labels=True, shuffle=False)
    assert len(decodes) == 1 and len(list(folder_cache.cache_dir().glob("*.npz"))) == 1


def test_an_entry_named_by_its_key_alone_is_replaced(class_folder):
    paths, _, _ = folder.select_images(class_folder, False, None)
    key = folder_cache.key(paths, image_size=None, crop=None, color_mode=None)
    folder_cache.cache_dir().mkdir(parents=True, exist_ok=True)
    keyed_alone = folder_cache.cache_dir() / f"{key[:32]}.npz"
    keyed_alone.write_bytes(b"an entry of the key-only name")
    _load_all(class_folder)
    assert not keyed_alone.exists()
    assert len(list(folder_cache.cache_dir().glob("*.npz"))) == 1


def test_changed_file_or_setting_decodes_again(class_folder, write_png, monkeypatch):
    decodes = _count_decodes(monkeypatch)
    _load_all(class_folder)
    _load_all(class_folder, image_size=4)  # Another setting: another entry.
    assert len(decodes) == 2
    path = class_folder / "cat" / "0.png"
    write_png(path, np.full((6, 5), 99, np.uint8))
    os.utime(path, ns=(1, 1))  # A new modification time even on a coarse clock.
    images = _load_all(class_folder)
    assert len(decodes) == 3
    assert np.isclose(images[0, 0, 0, 0], 99 / 127.5 - 1.0)
    # The entry of the changed folder replaced the old one; the other setting's stays.
    assert len(list(folder_cache.cache_dir().glob("*.npz"))) == 2


def test_a_file_rewritten_with_its_old_size_and_times_decodes_again(
    class_folder, write_png, monkeypatch
):
    """As `cp -p` or `rsync -t` leave a changed file: only its status-change time is new."""
    decodes = _count_decodes(monkeypatch)
    _load_all(class_folder)
    path = class_folder / "cat" / "0.png"
    before = os.stat(path)
    write_png(path, np.full((6, 5), 99, np.uint8))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    images = _load_all(class_folder)
    assert len(decodes) == 2 and np.isclose(images[0, 0, 0, 0], 99 / 127.5 - 1.0)


def test_decoding_shows_progress_and_the_cache_read_does_not(class_folder, capsys):
    kgan.data.load(class_folder, verbose=2)
    assert "Decoding images: 5 images in" in capsys.readouterr().out
    kgan.data.load(class_folder, verbose=2)
    assert "Decoding" not in capsys.readouterr().out


def test_an_interrupted_cache_write_leaves_no_entry(class_folder, monkeypatch):
    def interrupted(file, **arrays):
        file.write(b"the first bytes of an entry")
        raise KeyboardInterrupt

    savez = np.savez
    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _load_all(class_folder)
    assert not list(folder_cache.cache_dir().glob("*"))  # Neither an entry nor a temporary.
    monkeypatch.setattr(np, "savez", savez)
    decodes = _count_decodes(monkeypatch)
    _load_all(class_folder)
    assert len(decodes) == 1 and len(list(folder_cache.cache_dir().glob("*.npz"))) == 1


def test_corrupt_cache_entry_is_decoded_again(class_folder, monkeypatch):
    decodes = _count_decodes(monkeypatch)
    expected = _load_all(class_folder)
    (entry,) = folder_cache.cache_dir().glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:50])
    np.testing.assert_array_equal(_load_all(class_folder), expected)
    assert len(decodes) == 2
    np.testing.assert_array_equal(_load_all(class_folder), expected)  # Rewritten whole.
    assert len(decodes) == 2
    # A garbled zip directory (an unknown compression method) is decoded again too.
    garbled = bytearray(entry.read_bytes())
    directory = garbled.index(b"PK\x01\x02")  # The first central directory record,
    garbled[directory + 10 : directory + 12] = b"\x63\x00"  # whose method field is 99.
    entry.write_bytes(bytes(garbled))
    np.testing.assert_array_equal(_load_all(class_folder), expected)
    assert len(decodes) == 3


def test_unwritable_cache_folder_does_not_stop_loading(class_folder, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv(folder_cache.ENV_VAR, str(blocker / "cache"))
    assert _load_all(class_folder).shape == (5, 6, 5, 1)


def test_center_crop_keeps_the_aspect_ratio(tmp_path, write_png):
    # 4 rows x 12 columns: left third 0, middle third 100, right third 200.
    image = np.zeros((4, 12), np.uint8)
    image[:, 4:8] = 100
    image[:, 8:] = 200
    write_png(tmp_path / "wide" / "a.png", image)
    cropped = _load_all(tmp_path / "wide", image_size=(2, 2), crop="center")
    np.testing.assert_allclose(cropped[0, ..., 0], 100 / 127.5 - 1.0, atol=1e-6)
    stretched = _load_all(tmp_path / "wide", image_size=(2, 2))
    assert stretched[0, 0, 0, 0] < cropped[0, 0, 0, 0] < stretched[0, 0, 1, 0]


def test_crop_needs_a_size_and_a_known_value(class_folder):
    with pytest.raises(ValueError, match="Received: crop='center', image_size=None"):
        kgan.data.load(class_folder, crop="center")
    with pytest.raises(ValueError, match="crop"):
        kgan.data.load(class_folder, image_size=4, crop="middle")


def test_a_centre_crop_that_does_not_fit_an_image_is_refused_naming_it(tmp_path, write_png):
    write_png(tmp_path / "faces" / "a.png", np.zeros((20, 16), np.uint8))
    write_png(tmp_path / "faces" / "b.png", np.zeros((12, 10), np.uint8))
    # a.png's centre crop is 16x16, b.png's 10x10: b.png would have to be enlarged to 12x12.
    assert _load_all(tmp_path / "faces", image_size=10, crop="center").shape == (2, 10, 10, 1)
    with pytest.raises(ValueError, match=r"does not fit.*b\.png' is 12x10.*image_size=\(12, 12\)"):
        kgan.data.load(tmp_path / "faces", image_size=12, crop="center")
    # Without a crop the images are resized to any size.
    assert _load_all(tmp_path / "faces", image_size=12).shape == (2, 12, 12, 1)


def test_too_large_folder_is_streamed(class_folder, monkeypatch, capsys):
    from kgan import _system

    monkeypatch.setattr(_system, "available_memory", lambda: 100)
    dataset = kgan.data.load(class_folder, with_labels=True, shuffle=False, batch_size=10)
    images, labels = (t.numpy() for t in next(iter(dataset)))
    assert "streaming" in capsys.readouterr().out
    assert images.shape == (5, 6, 5, 1)
    assert labels.tolist() == [0, 0, 0, 1, 1]
    assert dataset.class_names == ["cat", "dog"]


def _streamed(monkeypatch):
    from kgan import _system

    monkeypatch.setattr(_system, "available_memory", lambda: 100)


@pytest.mark.parametrize(
    "case,message",
    [
        ("crop", r"does not fit.*small\.png' is 8x8.*image_size=\(10, 10\), crop='center'"),
        ("sizes", r"one size.*a\.png' is 12x12 but .*small\.png' is 8x8.*image_size=None"),
        ("broken", r"could not be decoded.*Received: file=.*broken\.png'"),
    ],
)
def test_a_streamed_folder_refuses_bad_images_naming_them(
    tmp_path, write_png, monkeypatch, case, message
):
    write_png(tmp_path / "faces" / "a.png", np.zeros((12, 12), np.uint8))
    write_png(tmp_path / "faces" / "small.png", np.zeros((8, 8), np.uint8))
    if case == "broken":
        (tmp_path / "faces" / "small.png").unlink()
        (tmp_path / "faces" / "broken.png").write_bytes(b"not a PNG")
    options = {"image_size": 10, "crop": "center"} if case == "crop" else {}
    _streamed(monkeypatch)
    with pytest.raises(ValueError, match=message):
        kgan.data.load(tmp_path / "faces", **options)


def test_a_streamed_folder_reads_what_an_in_memory_one_reads(tmp_path, write_png, monkeypatch):
    from PIL import Image

    rng = np.random.default_rng(0)
    folder_path = tmp_path / "mixed"
    write_png(folder_path / "a_gray.png", rng.integers(0, 256, (12, 16), np.uint8))
    write_png(folder_path / "b_rgb.png", rng.integers(0, 256, (12, 16, 3), np.uint8))
    Image.fromarray(rng.integers(0, 256, (12, 16, 3), np.uint8)).convert("P").save(
        folder_path / "c_palette.png"
    )
    Image.fromarray(rng.integers(0, 65536, (12, 16), np.uint16)).save(folder_path / "d_16bit.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotated; neither reader applies it.
    Image.fromarray(rng.integers(0, 256, (12, 16, 3), np.uint8)).save(
        folder_path / "e_rotated.jpg", exif=exif
    )
    write_png(folder_path / "f_fits_exactly.png", rng.integers(0, 256, (10, 13), np.uint8))
    options = dict(image_size=10, crop="center", shuffle=False, batch_size=10, verbose=0)
    in_memory = next(iter(kgan.data.load(folder_path, **options))).numpy()
    _streamed(monkeypatch)
    streamed = next(iter(kgan.data.load(folder_path, **options))).numpy()
    assert in_memory.shape == (6, 10, 10, 3)  # Colour, since some images are.
    np.testing.assert_array_equal(streamed, in_memory)


def test_images_past_pillows_size_limit_are_read_as_tensorflow_decodes_them(
    tmp_path, write_png, monkeypatch
):
    """Pillow refuses headers of images past its limit (here lowered to 50 pixels); kgan
    decodes those files instead, with Pillow's limit kept for everyone else."""
    from PIL import Image

    rng = np.random.default_rng(0)
    write_png(tmp_path / "big" / "a.png", rng.integers(0, 256, (12, 16, 3), np.uint8))
    write_png(tmp_path / "big" / "b.png", rng.integers(0, 256, (12, 16, 3), np.uint8))
    options = dict(image_size=10, crop="center", shuffle=False, batch_size=10, verbose=0)
    expected = next(iter(kgan.data.load(tmp_path / "big", cache=False, **options))).numpy()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(tmp_path / "big" / "a.png")
    assert folder.probe_color_mode(tmp_path / "big" / "a.png") == "rgb"
    in_memory = next(iter(kgan.data.load(tmp_path / "big", cache=False, **options))).numpy()
    _streamed(monkeypatch)
    streamed = next(iter(kgan.data.load(tmp_path / "big", **options))).numpy()
    assert expected.shape == (2, 10, 10, 3)
    np.testing.assert_array_equal(in_memory, expected)
    np.testing.assert_array_equal(streamed, expected)
    assert Image.MAX_IMAGE_PIXELS == 50


def test_headers_of_large_images_are_read_without_pillows_warning(tmp_path, write_png, monkeypatch):
    """Between Pillow's limit and twice it, opening an image warns of decompression bombs;
    reading only its header, kgan does not pass that warning on."""
    import warnings

    from PIL import Image

    write_png(tmp_path / "a.png", np.zeros((12, 16, 3), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 150)  # 192 pixels: warns, does not fail.
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(tmp_path / "a.png").close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert folder.probe_color_mode(tmp_path / "a.png") == "rgb"


def test_a_file_of_another_format_under_an_image_name_is_refused_when_streamed(
    tmp_path, write_png, monkeypatch
):
    from PIL import Image

    write_png(tmp_path / "faces" / "a.png", np.zeros((8, 8), np.uint8))
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "faces" / "b.png", format="TIFF")
    _streamed(monkeypatch)
    with pytest.raises(ValueError, match=r"could not be decoded.*Received: file=.*b\.png'"):
        kgan.data.load(tmp_path / "faces")


def test_images_of_another_size_in_a_later_decode_batch_are_named(tmp_path, write_png):
    for i in range(folder._DECODE_BATCH):
        write_png(tmp_path / "many" / f"{i:04d}.png", np.zeros((4, 4), np.uint8))
    write_png(tmp_path / "many" / "last.png", np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match=r"one size.*0000\.png' is 4x4 but .*last\.png' is 5x5"):
        kgan.data.load(tmp_path / "many")


def test_the_centre_crop_check_in_python_agrees_with_the_tensorflow_one():
    import tensorflow as tf

    from kgan.data import pipeline

    for image_size in ((4, 4), (3, 5), (5, 3), (6, 4)):
        for height in range(1, 13):
            for width in range(1, 13):
                images = tf.zeros((height, width, 0))  # No channels: only the shape matters.
                try:
                    pipeline.center_crop_to_aspect(images, image_size)
                    fits = True
                except tf.errors.InvalidArgumentError:
                    fits = False
                assert pipeline.center_crop_fits(height, width, image_size) == fits, (
                    height,
                    width,
                    image_size,
                )
