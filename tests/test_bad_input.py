"""Bad input: every broken file, odd format or wrong argument gets a decided,
documented behaviour (a clear error naming the image, or a defined reading).

Reading (``load_image``) is tested without the network; the featurizer and
the regressor are tested for *when* errors come (before the network) and for
``on_error="nan"`` / ``skip_unreadable=True``.
"""

import os
import re
import struct
import sys
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps
from sklearn.linear_model import Ridge
from sklearn.preprocessing import FunctionTransformer

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
from skdeepbiq._engine.images import check_images, check_readable, load_image
from skdeepbiq.exceptions import (
    ImageFailure,
    ImageReadError,
    SkDeepBIQWarning,
    SmallImageWarning,
    UnreadableImageWarning,
)

from .conftest import make_images

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)


def png_bytes(width, height, bit_depth=8, color_type=2, raw=b""):
    """A PNG file built by hand: any header, whatever pixel data (or none)."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def pixels():
    return make_images(1, size=(40, 56), seed=5)[0]


def save(tmp_path, name, image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return str(path)


def truncated(tmp_path, name, pixels):
    path = tmp_path / name
    Image.fromarray(pixels).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return str(path)


# Files that cannot be read: the error names index, path and reason ----------


def _unreadable_files(tmp_path, pixels):
    """(path, expected reason) of every kind of unreadable file."""
    (tmp_path / "folder.jpg").mkdir()
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("this is not a JPEG\n")
    (tmp_path / "vector.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (tmp_path / "bomb.png").write_bytes(png_bytes(100_000, 100_000))
    return {
        "missing": (str(tmp_path / "missing.jpg"), "no such file"),
        "folder": (str(tmp_path / "folder.jpg"), "is a directory"),
        "zero-byte": (str(tmp_path / "empty.jpg"), r"empty file \(0 bytes\)"),
        "text named .jpg": (
            str(tmp_path / "text.jpg"),
            r"not an image PIL can identify.*starts with b'this is not a JP",
        ),
        "unsupported format": (
            str(tmp_path / "vector.svg"),
            r"not an image PIL can identify \(unsupported format",
        ),
        "decompression bomb": (
            str(tmp_path / "bomb.png"),
            r"too large.*MAX_IMAGE_PIXELS.*decompression-bomb guard",
        ),
    }


CASES = ["missing", "folder", "zero-byte", "text named .jpg", "unsupported format",
         "decompression bomb"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_unreadable_file_error_names_index_path_and_reason(tmp_path, pixels, case):
    path, reason = _unreadable_files(tmp_path, pixels)[case]
    with pytest.raises(ImageReadError, match=rf"^X\[7\] \('.*{reason}") as error:
        load_image(path, 7)
    assert path in str(error.value)
    [failure] = error.value.failures
    assert failure.index == 7 and failure.description == path


@pytest.mark.parametrize("case", CASES)
def test_unreadable_file_is_found_by_the_cheap_check(tmp_path, pixels, case):
    path, reason = _unreadable_files(tmp_path, pixels)[case]
    [failure] = check_readable([pixels, path], indices=[0, 1])
    assert failure.index == 1 and failure.description == path
    assert re.search(reason, failure.reason)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file_passes_the_header_check_and_fails_when_decoded(
    tmp_path, pixels, suffix
):
    path = truncated(tmp_path, "cut" + suffix, pixels)
    assert check_readable([path]) == []
    with pytest.raises(ImageReadError, match=r"X\[2\].*cut.*cannot decode.*truncated"):
        load_image(path, 2)


def test_a_file_without_read_permission_is_a_clear_error(tmp_path, pixels):
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = save(tmp_path, "secret.png", Image.fromarray(pixels))
    os.chmod(path, 0)
    with pytest.raises(ImageReadError, match="permission denied"):
        load_image(path, 0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = str(tmp_path / "pipe.jpg")
    os.mkfifo(path)
    with pytest.raises(ImageReadError, match="not a regular file"):
        load_image(path, 0)
    assert check_readable([path])[0].reason == "not a regular file"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_limit_follows_pil_max_image_pixels(tmp_path, pixels, monkeypatch):
    path = save(tmp_path, "ok.png", Image.fromarray(pixels))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40 * 56 - 1)
    with pytest.raises(ImageReadError, match="56x40 = 2240 pixels.*= 2239"):
        load_image(path, 0)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert load_image(path, 0).shape == (40, 56, 3)


def test_bomb_between_one_and_two_times_the_limit_is_refused_from_its_header(tmp_path):
    # PIL only warns between 1x and 2x MAX_IMAGE_PIXELS; we refuse, without
    # allocating: the file is a 100-byte PNG header claiming 10000x10000.
    (tmp_path / "big.png").write_bytes(png_bytes(10_000, 10_000))
    [failure] = check_readable([str(tmp_path / "big.png")])
    assert "10000x10000 = 100000000 pixels" in failure.reason


# Files that are read: what the pixels become --------------------------------


def test_grayscale_and_one_bit_images_repeat_over_three_channels(tmp_path, pixels):
    gray = Image.fromarray(pixels).convert("L")
    loaded = load_image(save(tmp_path, "gray.png", gray), 0)
    assert loaded.shape == (40, 56, 3)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], np.asarray(gray))
    binary = Image.fromarray(pixels[..., 0] > 128)
    loaded = load_image(save(tmp_path, "binary.png", binary), 0)
    assert set(np.unique(loaded)) <= {0, 255}


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[..., 3] = [[0, 255], [128, 255]]
    loaded = load_image(save(tmp_path, "rgba.png", Image.fromarray(rgba, "RGBA")), 0)
    np.testing.assert_array_equal(loaded[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(loaded[0, 1], [10, 20, 30])
    assert 120 < loaded[1, 0, 0] < 140  # half-transparent: halfway to white
    np.testing.assert_array_equal(load_image(rgba, 0), loaded)  # arrays too
    la = np.stack([np.full((2, 2), 50, np.uint8), rgba[..., 3]], axis=-1)
    loaded = load_image(save(tmp_path, "la.png", Image.fromarray(la, "LA")), 0)
    np.testing.assert_array_equal(loaded[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(loaded[0, 1], [50, 50, 50])


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_palette_with_a_transparent_color_is_composited_on_white(tmp_path, suffix):
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    palette.putpixel((0, 0), 1)
    path = save(tmp_path, "palette" + suffix, palette, transparency=0)
    loaded = load_image(path, 0)
    np.testing.assert_array_equal(loaded[0, 0], [200, 100, 50])
    np.testing.assert_array_equal(loaded[0, 1], [255, 255, 255])
    np.testing.assert_array_equal(load_image(Image.open(path).convert("PA"), 0), loaded)


def test_cmyk_jpeg_is_converted_to_rgb_by_pil(tmp_path, pixels):
    path = save(tmp_path, "cmyk.jpg", Image.fromarray(pixels).convert("CMYK"))
    assert Image.open(path).mode == "CMYK"
    loaded = load_image(path, 0)
    assert loaded.shape == (40, 56, 3) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, np.asarray(Image.open(path).convert("RGB")))
    assert np.abs(loaded.astype(int) - pixels).mean() < 12  # JPEG loss only


def test_sixteen_bit_png_keeps_the_high_byte(tmp_path):
    values = np.array([[0, 255, 256, 32968], [40000, 65280, 65535, 511]], ">u2")
    rows = b"".join(b"\x00" + row.tobytes() for row in values)
    (tmp_path / "gray16.png").write_bytes(png_bytes(4, 2, 16, 0, rows))
    assert Image.open(tmp_path / "gray16.png").mode.startswith("I")
    loaded = load_image(str(tmp_path / "gray16.png"), 0)
    np.testing.assert_array_equal(loaded[..., 0], values.astype(int) >> 8)
    np.testing.assert_array_equal(loaded[..., 1], loaded[..., 2])
    rgb = np.repeat(values[..., None], 3, axis=-1)
    rows = b"".join(b"\x00" + row.tobytes() for row in rgb)
    (tmp_path / "rgb16.png").write_bytes(png_bytes(4, 2, 16, 2, rows))
    rgb_loaded = load_image(str(tmp_path / "rgb16.png"), 0)
    np.testing.assert_array_equal(rgb_loaded, loaded)  # same rule as PIL's RGB


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_exif_orientation_is_applied_to_files_and_pil_images(tmp_path, suffix):
    pixels = make_images(1, size=(20, 40))[0]
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # stored sideways: a viewer rotates it 90 degrees clockwise
    path = save(tmp_path, "portrait" + suffix, image, exif=exif.tobytes())
    loaded = load_image(path, 0)
    assert loaded.shape == (40, 20, 3)
    np.testing.assert_array_equal(load_image(Image.open(path), 0), loaded)
    upright = ImageOps.exif_transpose(Image.open(path))
    np.testing.assert_array_equal(load_image(upright, 0), loaded)  # not twice
    if suffix == ".png":
        rotated = np.asarray(image.transpose(Image.Transpose.ROTATE_270))
        np.testing.assert_array_equal(loaded, rotated)


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 6), color) for color in [(255, 0, 0), (0, 0, 255)]]
    path = save(tmp_path, "anim.gif", frames[0], save_all=True,
                append_images=frames[1:], duration=100, loop=0)  # fmt: skip
    assert Image.open(path).n_frames == 2
    loaded = load_image(path, 0)
    assert loaded.shape == (6, 8, 3)
    np.testing.assert_array_equal(loaded[0, 0], [255, 0, 0])


@pytest.mark.parametrize("size", [(1, 1), (1, 5), (7, 3)])
def test_tiny_image_files_are_read(tmp_path, size):
    pixels = np.full((*size, 3), 77, np.uint8)
    path = save(tmp_path, "tiny.png", Image.fromarray(pixels))
    np.testing.assert_array_equal(load_image(path, 0), pixels)


@pytest.mark.parametrize(
    "array, message",
    [(np.zeros((8, 8, 3), np.float32), "must be uint8"),
     (np.zeros((8, 8, 2), np.uint8), r"shape.*\(8, 8, 2\)"),
     (np.zeros((2, 8, 8, 3), np.uint8), "shape"),
     (np.zeros((0, 8, 3), np.uint8), "empty image")],
)  # fmt: skip
def test_bad_arrays_are_errors_naming_the_index(array, message):
    with pytest.raises(ImageReadError, match=rf"X\[4\] \(<ndarray.*{message}"):
        load_image(array, 4)
    assert check_readable([array])[0].index == 0


def test_two_d_and_single_channel_arrays_are_gray():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for array in (gray, gray[..., None]):
        np.testing.assert_array_equal(load_image(array, 0), np.dstack([gray] * 3))


# Elements of X that are not images ----------------------------------------


@pytest.mark.parametrize(
    "element, name",
    [(None, "NoneType"), (3, "int"), (float("nan"), "float"), (b"a.jpg", "bytes"),
     ({"path": "a.jpg"}, "dict")],
)  # fmt: skip
@pytest.mark.parametrize("on_error", ["raise", "nan"])
def test_non_image_elements_are_a_type_error_naming_the_index(
    images, element, name, on_error
):
    featurizer = CNNCropFeaturizer(**SMALL, on_error=on_error).fit(images[:1])
    with pytest.raises(TypeError, match=rf"X\[1\] is a {name}"):
        featurizer.transform([images[0], element])


def test_pandas_series_with_a_missing_path_names_its_index(image_paths):
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=r"X\[2\] is a float \(nan\)"):
        check_images(pd.Series(image_paths[:2] + [None]))


@pytest.mark.parametrize(
    "X, error, message",
    [([], ValueError, "X is empty"), ("a.jpg", TypeError, "single str"),
     (np.array([], dtype=object), ValueError, "X is empty"), (42, TypeError, "int")],
)  # fmt: skip
def test_empty_or_non_sequence_X_is_refused(X, error, message):
    with pytest.raises(error, match=message):
        check_images(X)
    with pytest.raises(error, match=message):
        DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(X, [])


# The featurizer: errors before the network, or NaN rows --------------------


def test_every_unreadable_file_is_reported_before_the_network_runs(
    tmp_path, pixels, image_paths, count_forward
):
    bad = _unreadable_files(tmp_path, pixels)
    X = image_paths[:2] + [path for path, _ in bad.values()] + image_paths[2:4]
    featurizer = CNNCropFeaturizer(**SMALL).fit(X)
    with pytest.raises(ImageReadError, match="before running the network") as error:
        featurizer.transform(X)
    assert count_forward["calls"] == 0
    assert [f.index for f in error.value.failures] == list(range(2, 2 + len(bad)))
    message = str(error.value)
    assert message.startswith(f"{len(bad)} images cannot be read")
    for index, (path, _) in enumerate(bad.values(), start=2):
        assert f"X[{index}] ({path!r})" in message


def test_truncated_file_raises_when_decoded_naming_it(tmp_path, pixels, image_paths):
    X = image_paths[:3] + [truncated(tmp_path, "cut.jpg", pixels)]
    featurizer = CNNCropFeaturizer(**SMALL).fit(X)
    with pytest.raises(ImageReadError, match=r"^X\[3\] \('.*cut.jpg'\): cannot decode"):
        featurizer.transform(X)


def test_on_error_nan_gives_nan_rows_and_one_warning_listing_them(
    tmp_path, pixels, image_paths
):
    missing = str(tmp_path / "missing.jpg")
    cut = truncated(tmp_path, "cut.png", pixels)
    X = [image_paths[0], cut, image_paths[1], missing, pixels[:0]]
    featurizer = CNNCropFeaturizer(**SMALL, batch_size=3, on_error="nan").fit(X)
    with pytest.warns(UnreadableImageWarning) as record:
        features = featurizer.transform(X)
    assert len(record) == 1
    warning = record[0].message
    assert isinstance(warning, SkDeepBIQWarning)
    assert [tuple(f)[:2] for f in warning.failures] == [
        (1, cut), (3, missing), (4, "<ndarray of shape (0, 56, 3), uint8>")
    ]  # fmt: skip
    assert all(isinstance(f, ImageFailure) for f in warning.failures)
    assert str(warning).startswith("3 of 5 images could not be read")
    assert f"X[3] ({missing!r}): no such file" in str(warning)
    assert np.isnan(features[[1, 3, 4]]).all()
    clean = featurizer.set_params(on_error="raise").transform(image_paths[:2])
    np.testing.assert_array_equal(features[[0, 2]], clean)


def test_nan_rows_are_not_cached_and_a_fixed_file_is_featurized(
    tmp_path, pixels, image_paths, count_forward
):
    path = truncated(tmp_path, "later.png", pixels)
    X = image_paths[:3] + [path]
    featurizer = CNNCropFeaturizer(
        **SMALL, memory=str(tmp_path / "cache"), on_error="nan"
    ).fit(X)
    with pytest.warns(UnreadableImageWarning):
        first = featurizer.transform(X)
    assert count_forward["crops"] == 3 * 3
    Image.fromarray(pixels).save(path)  # the file is repaired
    second = featurizer.transform(X)
    assert count_forward["crops"] == 4 * 3
    np.testing.assert_array_equal(second[:3], first[:3])
    assert np.isfinite(second).all()


def test_images_smaller_than_the_crop_and_1x1_files_get_features(tmp_path):
    paths = [
        save(
            tmp_path,
            f"small{i}.png",
            Image.fromarray(np.full((*size, 3), 90, np.uint8)),
        )
        for i, size in enumerate([(1, 1), (5, 40), (31, 31)])
    ]
    with pytest.warns(SmallImageWarning, match="3 of 3 images were enlarged"):
        features = CNNCropFeaturizer(**SMALL).fit(paths).transform(paths)
    assert features.shape == (3, 3 * 1280) and np.isfinite(features).all()


def test_duplicate_paths_get_identical_rows(image_paths):
    X = [image_paths[0], image_paths[1], image_paths[0]]
    features = CNNCropFeaturizer(**SMALL).fit(X).transform(X)
    np.testing.assert_array_equal(features[0], features[2])


def test_paths_with_spaces_and_non_ascii_characters_work(tmp_path, images):
    folder = tmp_path / "dossier été" / "写真 2024"
    folder.mkdir(parents=True)
    names = ["photo 1.png", "café ü.png", "снимок.png"]
    paths = [folder / name for name in names]
    for path, array in zip(paths, images, strict=False):
        Image.fromarray(array).save(path)
    featurizer = CNNCropFeaturizer(**SMALL).fit(paths)
    from_paths = featurizer.transform([str(paths[0]), paths[1], str(paths[2])])
    np.testing.assert_array_equal(from_paths, featurizer.transform(images[:3]))
    missing = str(folder / "manquée é.jpg")
    with pytest.raises(ImageReadError, match="manquée é.jpg'\\): no such file"):
        featurizer.transform([missing])


# The regressor: fit refuses or skips, predict gives NaN --------------------


def test_fit_refuses_unreadable_images_before_the_network_naming_them(
    tmp_path, image_paths, scores, count_forward
):
    X = list(image_paths)
    X[4] = str(tmp_path / "gone.jpg")
    for on_error in ["raise", "nan"]:  # whatever the featurizer does at predict
        model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL, on_error=on_error))
        with pytest.raises(ImageReadError, match=r"X\[4\] \('.*gone.jpg'\)"):
            model.fit(X, scores)
    assert count_forward["calls"] == 0


def test_fit_with_skip_unreadable_drops_them_and_says_which(
    tmp_path, pixels, image_paths, scores
):
    X = list(image_paths)
    X[2] = str(tmp_path / "gone.jpg")
    X[5] = truncated(tmp_path, "cut.jpg", pixels)
    model = DeepBIQRegressor(
        CNNCropFeaturizer(**SMALL), regressor=Ridge(), skip_unreadable=True
    )
    with pytest.warns(UnreadableImageWarning, match="fit skipped 2 of 12") as record:
        model.fit(X, scores)
    assert [f.index for f in record[0].message.failures] == [2, 5]
    keep = [i for i in range(12) if i not in (2, 5)]
    reference = DeepBIQRegressor(CNNCropFeaturizer(**SMALL), regressor=Ridge()).fit(
        [X[i] for i in keep], scores[keep]
    )
    np.testing.assert_allclose(
        model.predict(image_paths), reference.predict(image_paths), rtol=1e-4
    )
    assert model.y_mean_ == pytest.approx(np.mean(scores[keep]))


def test_fit_with_skip_unreadable_and_no_readable_image_is_an_error(tmp_path):
    X = [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL), skip_unreadable=True)
    with pytest.raises(ImageReadError, match="none of the 2 images can be read"):
        model.fit(X, [1.0, 2.0])


def test_fit_refuses_or_skips_non_finite_features_of_any_featurizer(images, scores):
    def features(X):
        rows = np.array([[x.mean(), x.std()] for x in X])
        rows[1, 0] = np.nan
        return rows

    model = DeepBIQRegressor(FunctionTransformer(features), regressor=Ridge())
    with pytest.raises(ImageReadError, match=r"X\[1\] \(<ndarray.*not finite"):
        model.fit(images, scores)
    with pytest.warns(UnreadableImageWarning, match="fit skipped 1 of 12"):
        model.set_params(skip_unreadable=True).fit(images, scores)
    assert np.isnan(model.predict(images)[1])


@pytest.mark.parametrize("fusion", ["prediction", "feature", "concatenation"])
def test_predict_returns_nan_for_unreadable_images_with_on_error_nan(
    tmp_path, image_paths, scores, fusion
):
    X = list(image_paths)
    X[3] = str(tmp_path / "gone.jpg")
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL), fusion=fusion)
    clean = model.fit(image_paths, scores).predict(image_paths)
    with pytest.raises(ImageReadError, match=r"X\[3\]"):
        model.predict(X)
    model.featurizer_.set_params(on_error="nan")  # on a fitted model
    with pytest.warns(UnreadableImageWarning, match=r"X\[3\].*gone.jpg"):
        predicted = model.predict(X)
    assert np.isnan(predicted[3])
    # Other images' batches change, so their features agree to float32 rounding.
    np.testing.assert_allclose(np.delete(predicted, 3), np.delete(clean, 3), rtol=1e-4)
    if fusion == "prediction":
        with pytest.warns(UnreadableImageWarning):
            crops = model.predict_crops(X)
        assert np.isnan(crops[3]).all() and np.isfinite(np.delete(crops, 3, 0)).all()


def test_predict_of_only_unreadable_images_is_all_nan(tmp_path, images, scores):
    featurizer = CNNCropFeaturizer(**SMALL, on_error="nan")
    model = DeepBIQRegressor(featurizer).fit(images, scores)
    with pytest.warns(UnreadableImageWarning, match="2 of 2"):
        predicted = model.predict([str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")])
    assert np.isnan(predicted).all()


@pytest.mark.parametrize(
    "y, message",
    [([1.0, np.nan, 3.0], r"finite; y\[1\] = nan"),
     ([1.0, 2.0, np.inf], r"finite; y\[2\] = inf"),
     ([None, 2.0, 3.0], r"finite; y\[0\] = nan"),
     (["good", "bad", "ok"], "1-D array of numbers"),
     ([1.0, 2.0], "y has 2 scores but X has 3 images"),
     ([1.0, 2.0, 3.0, 4.0], "y has 4 scores but X has 3 images"),
     (None, "y is required")],
)  # fmt: skip
def test_bad_scores_are_refused_before_the_network(images, count_forward, y, message):
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL))
    with pytest.raises(ValueError, match=message):
        model.fit(images[:3], y)
    assert count_forward["calls"] == 0


def test_warnings_of_this_package_are_errors_in_tests(tmp_path, images):
    # pyproject turns SkDeepBIQWarning into errors: an unexpected NaN row
    # cannot pass silently through the test suite.
    featurizer = CNNCropFeaturizer(**SMALL, on_error="nan").fit(images)
    with pytest.raises(UnreadableImageWarning):
        featurizer.transform([str(tmp_path / "nope.png")])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names")
def test_image_read_error_pickles_with_its_failures(tmp_path):
    import pickle

    with pytest.raises(ImageReadError) as error:
        load_image(str(tmp_path / "x.jpg"), 3)
    restored = pickle.loads(pickle.dumps(error.value))
    assert str(restored) == str(error.value)
    assert restored.failures == error.value.failures
