"""The viewing scale: large photos judged at the scale the model learned from.

A photo and the same photo enlarged (which look the same on a screen) must
get the same crops' content; crop boxes and quality maps stay in the
photo's own pixels; large JPEGs are decoded at reduced size; images smaller
than the viewing scale are never enlarged to it; the scale is learned in
``fit``, kept in model files, and files written before it existed keep
cutting crops at native pixels.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image, JpegImagePlugin
from sklearn.utils._param_validation import InvalidParameterError

from skdeepbiq import (
    CNNCropFeaturizer,
    DeepBIQRegressor,
    load_model,
    quality_maps,
    save_model,
)
from skdeepbiq._engine.crops import viewed_size
from skdeepbiq._engine.images import image_sizes, load_image, read_image
from skdeepbiq._models.model_file import read_model_file, write_model_file
from skdeepbiq.exceptions import SmallImageWarning

from .conftest import LIVELY, make_images

SMALL = dict(weights=None, n_crops=4, crop_size=32, crops="grid")


def enlarged(pixels: np.ndarray, factor: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    size = (width * factor, height * factor)
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


def test_viewed_size_reduces_larger_images_and_keeps_smaller_ones():
    assert viewed_size(4000, 6000, 500) == (500, 750)
    assert viewed_size(6000, 4000, 500) == (750, 500)
    assert viewed_size(500, 500, 500) == (500, 500)
    assert viewed_size(320, 480, 500) == (320, 480)
    assert viewed_size(4000, 6000, None) == (4000, 6000)


def test_learned_viewing_scale_is_the_median_shorter_side_of_the_fit_images():
    images = [
        np.zeros(size + (3,), np.uint8) for size in [(40, 60), (50, 50), (90, 70)]
    ]
    featurizer = CNNCropFeaturizer(**SMALL).fit(images)
    assert featurizer.training_scale_ == 50
    assert featurizer.viewing_side() == 50
    assert featurizer.set_params(viewing_scale="native").viewing_side() is None
    assert featurizer.set_params(viewing_scale=80).viewing_side() == 80


def test_learned_viewing_scale_reads_only_the_headers_of_files(image_paths):
    featurizer = CNNCropFeaturizer(**SMALL).fit(image_paths)
    assert featurizer.training_scale_ == 48  # the fixture's 48x64 PNGs


def test_a_bad_viewing_scale_fails_in_fit_naming_the_parameter(images):
    with pytest.raises(InvalidParameterError, match="viewing_scale"):
        CNNCropFeaturizer(**SMALL, viewing_scale="screen").fit(images)
    with pytest.raises(InvalidParameterError, match="viewing_scale"):
        CNNCropFeaturizer(**SMALL, viewing_scale=0).fit(images)


@pytest.mark.parametrize("compute", ["crops", "trunk"])
def test_an_enlarged_photo_gets_nearly_the_features_of_the_photo(compute):
    image = make_images(1, size=(64, 96), seed=3)[0]
    featurizer = CNNCropFeaturizer(
        backbone="resnet18", weights=None, n_crops=4, crop_size=32, crops="grid",
        compute=compute,
    ).fit([image])  # fmt: skip
    original = featurizer.transform([image])
    for factor in (2, 4):
        rows = featurizer.transform([enlarged(image, factor)])
        # Lanczos up and down again: the same picture within resampling error
        error = np.abs(rows - original).mean()
        assert error < 0.1 * np.abs(original).mean()
        native = featurizer.set_params(viewing_scale="native").transform(
            [enlarged(image, factor)]
        )
        featurizer.set_params(viewing_scale="learned")
        assert np.abs(native - original).mean() > 3 * error


def test_crop_boxes_of_a_reduced_photo_are_in_its_own_pixels():
    image = make_images(1, size=(64, 96))[0]
    featurizer = CNNCropFeaturizer(**SMALL).fit([image])
    boxes = featurizer.get_crop_boxes([image, enlarged(image, 4)])
    assert_allclose(boxes[1], 4 * boxes[0])
    native = featurizer.set_params(viewing_scale="native")
    widths = np.diff(native.get_crop_boxes([enlarged(image, 4)])[0][:, ::2], axis=1)
    assert_array_equal(widths, 32)  # crops of 32 of the file's own pixels


def test_images_smaller_than_the_viewing_scale_are_not_enlarged_to_it():
    images = make_images(3, size=(96, 128))
    featurizer = CNNCropFeaturizer(**SMALL).fit(images)
    assert featurizer.viewing_side() == 96
    small = make_images(1, size=(48, 64), seed=5)[0]
    native = CNNCropFeaturizer(**SMALL, viewing_scale="native").fit(images)
    assert_array_equal(featurizer.transform([small]), native.transform([small]))
    assert_array_equal(featurizer.get_crop_boxes([small])[0][:, 2:].max(0), [64, 48])


def test_images_at_the_viewing_scale_get_the_features_of_native_pixels(images):
    learned = CNNCropFeaturizer(**SMALL).fit(images)
    native = CNNCropFeaturizer(**SMALL, viewing_scale="native").fit(images)
    assert_array_equal(learned.transform(images), native.transform(images))


def test_read_image_decodes_a_large_jpeg_at_reduced_size_close_to_lanczos(
    tmp_path, monkeypatch
):
    photo = enlarged(make_images(1, size=(150, 200), seed=2)[0], 8)  # 1200x1600
    path = tmp_path / "large.jpg"
    Image.fromarray(photo).save(path, quality=95)
    opened = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        opened.append(size)
        return original_draft(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    pixels, shape = read_image(str(path), 0, 150)
    assert shape == (1200, 1600)
    assert pixels.shape == (150, 200, 3)
    assert opened == [(800, 600)]  # 4 times the target: decoded at 1/2
    full = np.asarray(
        Image.fromarray(load_image(str(path), 0)).resize(
            (200, 150), Image.Resampling.LANCZOS
        ),
        dtype=float,
    )
    assert np.abs(pixels - full).mean() < 2.0


def test_read_image_keeps_exif_orientation_when_reducing(tmp_path):
    photo = make_images(1, size=(300, 600), seed=4)[0]
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90 degrees
    path = tmp_path / "sideways.jpg"
    Image.fromarray(photo).save(path, quality=95, exif=exif)
    upright = load_image(str(path), 0)
    assert upright.shape[:2] == (600, 300)
    pixels, shape = read_image(str(path), 0, 100)
    assert shape == (600, 300)
    assert pixels.shape == (200, 100, 3)
    assert image_sizes([str(path)]) == [(600, 300)]


def test_read_image_without_a_viewing_scale_is_load_image(image_paths):
    pixels, shape = read_image(image_paths[0], 0, None)
    assert_array_equal(pixels, load_image(image_paths[0], 0))
    assert shape == pixels.shape[:2]


def test_images_enlarged_more_than_twice_are_named_in_one_warning(images):
    featurizer = CNNCropFeaturizer(**SMALL).fit(images)
    tiny = [np.zeros((10, 12, 3), np.uint8), images[0], np.zeros((20, 20, 3), np.uint8)]
    with pytest.warns(SmallImageWarning) as record:
        featurizer.transform(tiny)
    assert len(record) == 1
    warning = record[0].message
    assert [image.index for image in warning.images] == [0]  # 20 px: 1.6x
    assert "12x10 pixels, enlarged 3.2x for its 32-pixel crops" in str(warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        featurizer.transform(images[:2])  # no enlargement, no warning


def test_the_model_file_keeps_the_viewing_scale(tmp_path, images, scores):
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(images, scores)
    loaded = load_model(save_model(model, tmp_path / "model.npz"))
    assert loaded.featurizer_.viewing_side() == model.featurizer_.viewing_side() == 48
    large = enlarged(images[0], 3)
    assert_allclose(loaded.predict([large]), model.predict([large]), rtol=1e-6)
    fixed = DeepBIQRegressor(CNNCropFeaturizer(**SMALL, viewing_scale=40))
    loaded = load_model(save_model(fixed.fit(images, scores), tmp_path / "fixed"))
    assert loaded.featurizer_.viewing_side() == 40
    native = DeepBIQRegressor(CNNCropFeaturizer(**SMALL, viewing_scale="native"))
    path = save_model(native.fit(images, scores), tmp_path / "native")
    assert "viewing_scale" not in read_model_file(path).config["featurizer"]
    assert load_model(path).featurizer_.viewing_side() is None


def test_model_files_from_before_viewing_scales_cut_crops_at_native_pixels(
    tmp_path, images, scores
):
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(images, scores)
    saved = read_model_file(save_model(model, tmp_path / "new.npz"))
    config = saved.config
    for key in ("viewing_scale", "training_scale"):
        del config["featurizer"][key]
    arrays = {
        name: values
        for name, values in saved.arrays.items()
        if name not in ("format", "format_version", "config", "metadata")
    }
    old = write_model_file(tmp_path / "old.npz", config, saved.metadata, arrays)
    loaded = load_model(old)
    assert loaded.featurizer_.get_params()["viewing_scale"] == "native"
    assert loaded.featurizer_.viewing_side() is None


def test_quality_map_of_a_large_photo_is_at_the_viewing_scale(images, scores):
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(images, scores)
    large = enlarged(images[0], 4)  # 192x256, seen at 48x64
    result = quality_maps(model, [large], stride=16)[0]
    assert result.map.shape == (48, 64)
    assert result.boxes[:, 2:].max(0).tolist() == [256, 192]  # the photo's pixels
    small = quality_maps(model, [images[0]], stride=16)[0]
    assert np.abs(result.map - small.map).mean() < 0.1 * np.ptp(small.map) + 1e-9


def test_the_cache_keeps_features_of_each_viewing_scale_apart(tmp_path, images):
    large = [enlarged(image, 2) for image in images[:2]]
    learned = CNNCropFeaturizer(**LIVELY, memory=tmp_path).fit(images)
    first = learned.transform(large)
    native = learned.set_params(viewing_scale="native").transform(large)
    assert np.abs(first - native).max() > 1e-3 * np.abs(first).max()
    assert_array_equal(
        learned.set_params(viewing_scale="learned").transform(large), first
    )
