"""crops="whole": each image once through the network, at its own size."""

import pickle

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, quality_maps
from skdeepbiq._engine.batching import forward_passes
from skdeepbiq._engine.crops import MIN_SIDE, CropSpec, check_whole_image, whole_size
from skdeepbiq._engine.runtime import Runtime
from skdeepbiq.exceptions import SmallImageWarning

from .conftest import make_images

# Whole images of several sizes, each at its own pixels (the learned viewing
# scale would reduce the larger ones: tested in test_viewing_scale.py).
WHOLE = dict(
    backbone="mobilenet_v2", weights=None, crops="whole", viewing_scale="native"
)
#: (height, width) of images of mixed sizes and orientations.
SIZES = [(70, 90), (100, 64), (64, 64), (81, 77)]


@pytest.fixture
def mixed_images():
    return [make_images(1, size, seed=i)[0] for i, size in enumerate(SIZES)]


def resized(pixels: np.ndarray, size) -> np.ndarray:
    """``pixels`` resized to ``size`` as the featurizer resizes (v1, antialias)."""
    tensor = torch.from_numpy(pixels).permute(2, 0, 1)
    return TF.resize(tensor, list(size), antialias=True).permute(1, 2, 0).numpy()


def assert_close(actual, expected):
    """Equal up to float rounding, relative to the features' scale.

    Random-init features are tiny (about 1e-9): an absolute tolerance would
    accept anything.
    """
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * scale)


def network_on(featurizer, pixels: np.ndarray) -> np.ndarray:
    """The featurizer's own network on the whole normalised image."""
    image = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255.0
    mean = torch.tensor(featurizer.mean_).view(1, 3, 1, 1)
    std = torch.tensor(featurizer.std_).view(1, 3, 1, 1)
    with torch.inference_mode():
        return featurizer.network_((image - mean) / std).numpy()[0]


# Geometry -------------------------------------------------------------------


def test_whole_size_keeps_images_between_the_limits_as_they_are():
    assert whole_size(500, 500, 1024) == (500, 500)
    assert whole_size(1024, 700, 1024) == (1024, 700)
    assert whole_size(5000, 3000, None) == (5000, 3000)


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [((3000, 4000), 1024, (768, 1024)), ((4000, 3000), 1024, (1024, 768)),
     ((600, 500), 300, (300, 250)), ((333, 1000), 500, (166, 500))],
)  # fmt: skip
def test_whole_size_brings_the_longer_side_down_to_max_side(size, max_side, expected):
    assert whole_size(*size, max_side) == expected


def test_whole_size_enlarges_a_shorter_side_under_the_minimum():
    assert whole_size(32, 48, 1024) == (MIN_SIDE, 96)
    assert whole_size(48, 20, None) == (153, MIN_SIDE)
    # the minimum wins over the cap for very elongated images
    assert whole_size(40, 2000, 1024) == (MIN_SIDE, 3200)


def test_whole_spec_has_one_box_covering_the_working_image():
    spec = CropSpec(n_crops=25, crop_size=224, mode="whole", seed=0, max_side=100)
    working, boxes = spec.locate(np.zeros((300, 200, 3), np.uint8))
    assert working == (100, 66)
    np.testing.assert_array_equal(boxes, [[0, 0, 66, 100]])


def test_whole_image_box_is_exactly_the_image_in_its_own_pixels():
    rng = np.random.default_rng(0)
    for _ in range(200):
        height, width = (int(side) for side in rng.integers(1, 3000, 2))
        spec = CropSpec(
            n_crops=1, crop_size=224, mode="whole", seed=0,
            max_side=int(rng.integers(64, 1500)),
        )  # fmt: skip
        boxes = spec.image_boxes(
            np.zeros((height, width, 3), np.uint8), (height, width)
        )
        np.testing.assert_array_equal(boxes, [[0, 0, width, height]])


# Features -------------------------------------------------------------------


def test_whole_image_features_are_the_network_on_the_whole_image(
    mixed_images, count_forward
):
    featurizer = CNNCropFeaturizer(**WHOLE, n_crops=7).fit(mixed_images)
    features = featurizer.transform(mixed_images)
    assert featurizer.n_crops_ == 1
    assert features.shape == (len(SIZES), 1280) == (4, featurizer.n_features_out_)
    assert count_forward == {"calls": len(SIZES), "crops": len(SIZES)}
    for row, pixels in zip(features, mixed_images, strict=True):
        assert_close(row, network_on(featurizer, pixels))
    names = featurizer.get_feature_names_out()
    assert names[0] == "crop0_feature0" and names[-1] == "crop0_feature1279"


def test_whole_images_on_each_device_match_the_network_on_the_cpu(mixed_images, device):
    # On CUDA, the two 70x90 images share a pass and the others run alone.
    images = [mixed_images[0], mixed_images[0][::-1].copy(), *mixed_images[1:]]
    featurizer = CNNCropFeaturizer(**WHOLE, device=device, precision="float32")
    features = featurizer.fit(images).transform(images)
    expected = np.stack([network_on(featurizer, pixels) for pixels in images])
    scale = np.abs(expected).max()
    np.testing.assert_allclose(features, expected, rtol=1e-3, atol=1e-3 * scale)


@pytest.mark.filterwarnings("ignore::skdeepbiq.exceptions.SmallImageWarning")
def test_whole_image_features_differ_from_a_central_crop(mixed_images):
    whole = CNNCropFeaturizer(**WHOLE).fit(mixed_images).transform(mixed_images)
    center = CNNCropFeaturizer(**{**WHOLE, "crops": "center", "crop_size": 32})
    center = center.fit(mixed_images).transform(mixed_images)
    assert np.abs(whole - center).max() > 0.1 * np.abs(center).max()


def test_image_over_max_side_gets_the_features_of_its_downscaled_copy():
    large = make_images(1, (240, 180), seed=3)[0]
    small = resized(large, (120, 90))
    featurizer = CNNCropFeaturizer(**WHOLE, max_side=120).fit([large])
    np.testing.assert_array_equal(
        featurizer.transform([large]), featurizer.transform([small])
    )
    uncapped = featurizer.set_params(max_side=None).transform([large])
    capped = featurizer.transform([small])
    assert np.abs(uncapped - capped).max() > 0.1 * np.abs(capped).max()
    assert_close(uncapped[0], network_on(featurizer, large))


def test_image_under_the_minimum_side_gets_the_features_of_its_enlarged_copy():
    tiny = make_images(1, (24, 40), seed=5)[0]
    featurizer = CNNCropFeaturizer(**WHOLE).fit([tiny])
    enlarged = resized(tiny, (MIN_SIDE, 106))
    with pytest.warns(SmallImageWarning, match="40x24 pixels, enlarged 2.7x"):
        features = featurizer.transform([tiny])
    np.testing.assert_array_equal(features, featurizer.transform([enlarged]))


@pytest.mark.filterwarnings("ignore::skdeepbiq.exceptions.SmallImageWarning")
def test_crop_boxes_are_the_whole_image_in_its_own_pixels_before_the_cap():
    images = [make_images(1, size, seed=1)[0] for size in [(300, 200), (24, 40)]]
    featurizer = CNNCropFeaturizer(**WHOLE, max_side=100).fit(images)
    boxes = featurizer.get_crop_boxes(images)
    np.testing.assert_array_equal(boxes[0], [[0, 0, 200, 300]])
    np.testing.assert_array_equal(boxes[1], [[0, 0, 40, 24]])
    extracted = featurizer.extract(images, return_boxes=True)
    for got, expected in zip(extracted.boxes, boxes, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert extracted.shapes == [(300, 200), (24, 40)]


def test_whole_images_of_different_sizes_never_share_a_pass_on_mixed_passes(
    mixed_images, monkeypatch, count_forward
):
    # CUDA's grouping, forced on the CPU: same-size neighbours share a pass,
    # a new size starts a new one.
    images = [mixed_images[0], mixed_images[0][::-1].copy(), *mixed_images[1:]]
    featurizer = CNNCropFeaturizer(**WHOLE, batch_size=8).fit(images)
    unmixed = featurizer.transform(images)
    monkeypatch.setattr(Runtime, "mix_images", property(lambda runtime: True))
    count_forward.update(calls=0, crops=0)
    mixed = featurizer.transform(images)
    assert count_forward == {"calls": len(SIZES), "crops": len(images)}
    assert_close(mixed, unmixed)


def test_mixed_passes_end_where_the_crop_size_changes():
    shapes = [(1, 3, 8, 8), (1, 3, 8, 8), (1, 3, 8, 6), (1, 3, 8, 8)]
    items = [(index, torch.zeros(shape)) for index, shape in enumerate(shapes)]
    passes = list(forward_passes(items, 4, mix_images=True))
    assert [owners for _, owners in passes] == [
        [(0, 1, True), (1, 1, True)],
        [(2, 1, True)],
        [(3, 1, True)],
    ]


# Cache, pickling, scikit-learn API --------------------------------------------


def test_max_side_is_part_of_the_cache_key(tmp_path, count_forward):
    images = make_images(3, (150, 120))
    params = dict(WHOLE, memory=str(tmp_path))
    first = CNNCropFeaturizer(**params, max_side=100).fit(images).transform(images)
    CNNCropFeaturizer(**params, max_side=100).fit(images).transform(images)
    assert count_forward["crops"] == 3
    other = CNNCropFeaturizer(**params, max_side=140).fit(images).transform(images)
    assert count_forward["crops"] == 6
    assert np.abs(first - other).max() > 0.1 * np.abs(first).max()
    assert len(list((tmp_path / "skdeepbiq-features").iterdir())) == 2


def test_whole_featurizer_pickles_and_clones_with_its_max_side(mixed_images):
    featurizer = CNNCropFeaturizer(**WHOLE, max_side=80).fit(mixed_images)
    restored = pickle.loads(pickle.dumps(featurizer))
    np.testing.assert_array_equal(
        restored.transform(mixed_images), featurizer.transform(mixed_images)
    )
    copy = clone(featurizer)
    assert copy.get_params()["max_side"] == 80 and not hasattr(copy, "network_")
    np.testing.assert_array_equal(
        copy.fit(mixed_images).transform(mixed_images),
        featurizer.transform(mixed_images),
    )


@pytest.mark.parametrize(
    "check",
    [check_get_params_invariance, check_set_params, check_no_attributes_set_in_init,
     check_estimator_cloneable],
)  # fmt: skip
def test_data_free_sklearn_api_checks_with_whole_images(check):
    check("CNNCropFeaturizer", CNNCropFeaturizer(crops="whole", max_side=512))


@pytest.mark.parametrize("max_side", [63, 0, 100.0, "1024"])
def test_max_side_below_the_minimum_or_not_an_int_is_refused_at_fit(max_side):
    with pytest.raises(InvalidParameterError, match="max_side"):
        CNNCropFeaturizer(**WHOLE, max_side=max_side).fit(make_images(1))


# Refusals -------------------------------------------------------------------


def test_whole_images_refuse_trunk_computation_at_fit():
    featurizer = CNNCropFeaturizer(**WHOLE, compute="trunk")
    with pytest.raises(ValueError, match="crops='whole'.*compute='trunk'"):
        featurizer.fit(make_images(2))


@pytest.mark.parametrize("compute", ["auto", "crops"])
def test_whole_images_refuse_fine_tuning_at_fit(compute):
    featurizer = CNNCropFeaturizer(**WHOLE, compute=compute, fine_tune=True)
    with pytest.raises(ValueError, match="crops='whole'.*fine_tune"):
        featurizer.fit(make_images(2), [1.0, 2.0])


def test_check_whole_image_lets_other_modes_through():
    check_whole_image("random", compute="trunk", fine_tune=True)
    check_whole_image("whole", compute="crops", fine_tune=False)


def test_whole_spec_refuses_trunk_snapping():
    with pytest.raises(ValueError, match="compute='trunk'"):
        CropSpec(n_crops=1, crop_size=224, mode="whole", seed=0, snap=16)


# DeepBIQRegressor -------------------------------------------------------------


@pytest.fixture
def whole_images():
    return [make_images(1, SIZES[i % 4], seed=i)[0] for i in range(10)]


@pytest.mark.parametrize("fusion", ["prediction", "feature", "concatenation"])
@pytest.mark.parametrize("pooling", ["mean", "min", "max"])
def test_every_fusion_fits_and_predicts_one_score_per_whole_image(
    whole_images, fusion, pooling
):
    y = np.linspace(10, 90, len(whole_images))
    model = DeepBIQRegressor(
        CNNCropFeaturizer(**WHOLE), fusion=fusion, pooling=pooling
    ).fit(whole_images, y)
    assert model.n_crops_ == 1
    predictions = model.predict(whole_images)
    assert predictions.shape == (len(whole_images),)
    assert np.isfinite(predictions).all()
    if fusion == "prediction":
        np.testing.assert_allclose(
            model.predict_crops(whole_images)[:, 0], predictions, rtol=1e-6
        )


def test_crop_scores_of_whole_images_are_one_score_over_the_whole_image(
    whole_images,
):
    y = np.linspace(10, 90, len(whole_images))
    model = DeepBIQRegressor(CNNCropFeaturizer(**WHOLE)).fit(whole_images, y)
    crops = model.crop_scores(whole_images[:4])
    predictions = model.predict(whole_images[:4])
    for image_crops, (height, width), score in zip(
        crops, SIZES, predictions, strict=True
    ):
        np.testing.assert_array_equal(image_crops.boxes, [[0, 0, width, height]])
        assert image_crops.scores.shape == (1,)
        np.testing.assert_allclose(image_crops.score, score, rtol=1e-6)


def test_quality_maps_of_whole_images_are_refused_naming_dense_stride(whole_images):
    y = np.linspace(10, 90, len(whole_images))
    model = DeepBIQRegressor(CNNCropFeaturizer(**WHOLE)).fit(whole_images, y)
    with pytest.raises(ValueError, match="dense_stride.*crops='whole'"):
        model.crop_scores(whole_images[:2], dense_stride=16)
    with pytest.raises(ValueError, match="dense_stride.*crops='whole'"):
        quality_maps(model, whole_images[:2])
