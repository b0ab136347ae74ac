"""Multi-level features: several layers tapped, pooled per crop, concatenated."""

import pickle

import numpy as np
import pytest
import torch
import torchvision
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVR

from skdeepbiq import CNNCropFeaturizer, CropPooler, DeepBIQRegressor, FineTuning
from skdeepbiq._engine.taps import STAGES

from .conftest import LIVELY, cut_crops, make_images

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)
STAGE_WIDTHS = [16, 24, 32, 64, 96, 160, 1280]


@pytest.fixture(scope="module")
def images():
    return make_images(4, size=(64, 80))


def _reference_outputs(featurizer, pixels, layers):
    """Each module's eval output on the featurizer's one crop, from torchvision."""
    model = torchvision.models.mobilenet_v2(weights=None)
    state = featurizer.network_.model.state_dict()
    model.load_state_dict(
        {k: v for k, v in state.items() if k in model.state_dict()}, strict=False
    )
    model.eval()
    crop = cut_crops(
        pixels, n_crops=1, crop_size=featurizer.crop_size, mode="center", seed=0
    )[0]
    mean = torch.tensor(featurizer.mean_).view(1, 3, 1, 1)
    std = torch.tensor(featurizer.std_).view(1, 3, 1, 1)
    captured = {}
    for name in layers:
        model.get_submodule(name).register_forward_hook(
            lambda module, inputs, output, name=name: captured.setdefault(name, output)
        )
    with torch.no_grad():
        model((crop.float() / 255 - mean) / std)
    return captured


def test_stages_tap_each_stage_of_mobilenet_v2(images):
    featurizer = CNNCropFeaturizer(**SMALL, layer="stages").fit(images)
    assert featurizer.layers_ == STAGES["mobilenet_v2"]
    assert featurizer.n_features_per_crop_ == sum(STAGE_WIDTHS) == 1672
    assert featurizer.transform(images).shape == (4, 3 * 1672)
    doubled = CNNCropFeaturizer(**SMALL, layer="stages", spatial_pooling="mean_std")
    assert doubled.fit(images).n_features_per_crop_ == 2 * 1672


def test_features_are_each_modules_mean_and_std_in_network_order():
    pixels = make_images(1, size=(160, 160))[0]
    featurizer = CNNCropFeaturizer(
        weights=None, crops="center", crop_size=64,
        layer=["features.6", "features.3"], spatial_pooling="mean_std",
    ).fit([pixels])  # fmt: skip
    assert featurizer.layers_ == ("features.3", "features.6")
    outputs = _reference_outputs(featurizer, pixels, ["features.3", "features.6"])
    expected = np.concatenate(
        [
            np.concatenate(
                [out.mean(dim=(2, 3))[0], out.std(dim=(2, 3), correction=0)[0]]
            )
            for out in (outputs["features.3"], outputs["features.6"])
        ]
    )
    np.testing.assert_allclose(
        featurizer.transform([pixels])[0], expected, rtol=1e-4, atol=1e-5
    )
    names = featurizer.get_feature_names_out()
    assert list(names[[0, 24, 48, 80]]) == [
        "crop0_features.3_mean0",
        "crop0_features.3_std0",
        "crop0_features.6_mean0",
        "crop0_features.6_std0",
    ]


def test_last_stage_mean_is_the_penultimate_representation(images):
    penultimate = CNNCropFeaturizer(**SMALL).fit(images).transform(images)
    last = CNNCropFeaturizer(**SMALL, layer=["features.18"]).fit(images)
    np.testing.assert_array_equal(last.transform(images), penultimate)


def test_shared_trunk_equals_exact_crops_when_the_crop_is_the_whole_image():
    # A 64x64 crop of a 64x64 image: the window is the whole map, no padding
    # differs, so trunk and tail taps must give the exact features.
    image = make_images(1, size=(64, 64))[0]
    params = dict(
        weights=None, n_crops=1, crop_size=64, crops="grid",
        layer="stages", spatial_pooling="mean_std",
    )  # fmt: skip
    exact = CNNCropFeaturizer(**params, compute="crops").fit([image])
    trunk = CNNCropFeaturizer(**params, compute="trunk").fit([image])
    np.testing.assert_allclose(
        trunk.transform([image]), exact.transform([image]), rtol=1e-4, atol=1e-4
    )


def test_shared_trunk_with_taps_follows_exact_crops(images):
    params = dict(SMALL, crops="grid", layer="stages")
    exact = CNNCropFeaturizer(**params, compute="crops").fit(images)
    trunk = CNNCropFeaturizer(**params, compute="trunk").fit(images)
    a, b = exact.transform(images), trunk.transform(images)
    assert a.shape == b.shape
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_shared_trunk_with_a_trunk_layer_only(images):
    featurizer = CNNCropFeaturizer(
        **SMALL, layer="features.3", spatial_pooling="mean_std", compute="trunk"
    ).fit(images)
    features = featurizer.transform(images)
    assert features.shape == (4, 3 * 48)
    assert np.isfinite(features).all()


@pytest.mark.parametrize(
    "layer, message",
    [(["features.3", "nope"], "layer='nope'"),
     (["features.3", "features.3"], "twice"),
     ([], "one or more"),
     ("stages", "backbone='alexnet'")],
)  # fmt: skip
def test_bad_layers_are_refused_naming_them(images, layer, message):
    backbone = "alexnet" if layer == "stages" else "mobilenet_v2"
    params = dict(SMALL, backbone=backbone, crop_size=64)
    with pytest.raises(ValueError, match=message):
        CNNCropFeaturizer(**params, layer=layer).fit(images)


def test_spatial_pooling_is_part_of_the_cache_key(tmp_path, images):
    params = dict(SMALL, layer="stages", memory=tmp_path)
    means = CNNCropFeaturizer(**params).fit(images).transform(images)
    both = CNNCropFeaturizer(**params, spatial_pooling="mean_std").fit(images)
    assert both.transform(images).shape[1] == 2 * means.shape[1]
    again = CNNCropFeaturizer(**params).fit(images).transform(images)
    np.testing.assert_array_equal(again, means)


def test_crop_pooler_learns_the_crops_from_multi_level_names(images):
    y = np.arange(len(images), dtype=float)
    featurizer = CNNCropFeaturizer(**SMALL, layer="stages", spatial_pooling="mean_std")
    model = make_pipeline(featurizer, CropPooler(), LinearSVR(max_iter=50))
    model.set_output(transform="pandas").fit(images, y)
    assert model[1].n_crops_ == 3
    assert model.predict(images).shape == (4,)


def test_a_pickled_or_cloned_multi_level_featurizer_gives_the_same_features(images):
    featurizer = CNNCropFeaturizer(**SMALL, layer=["features.3", "features.18"])
    features = featurizer.fit(images).transform(images)
    restored = pickle.loads(pickle.dumps(featurizer))
    np.testing.assert_array_equal(restored.transform(images), features)
    np.testing.assert_array_equal(
        clone(featurizer).fit(images).transform(images), features
    )


# the frozen trunk holds features.1 to .6 (deep) or .1 to .13 (tail)
@pytest.mark.parametrize("trainable, n_frozen_stages", [("deep", 3), ("tail", 5)])
def test_fine_tuning_with_stages_tunes_only_the_tails_taps(
    images, trainable, n_frozen_stages
):
    y = np.linspace(10, 90, len(images))
    params = dict(SMALL, layer="stages", compute="trunk")
    plain = CNNCropFeaturizer(**params).fit(images).transform(images)
    recipe = FineTuning(
        epochs=1, crops_per_image=2, learning_rate=0.05, trainable=trainable
    )
    model = DeepBIQRegressor(CNNCropFeaturizer(**params, fine_tune=recipe))
    tuned = model.fit(images, y).featurizer_.transform(images)
    n_trunk = sum(STAGE_WIDTHS[:n_frozen_stages])
    per_crop = lambda rows: rows.reshape(len(images), 3, -1)  # noqa: E731
    np.testing.assert_array_equal(
        per_crop(tuned)[..., :n_trunk], per_crop(plain)[..., :n_trunk]
    )
    assert not np.allclose(
        per_crop(tuned)[..., n_trunk:], per_crop(plain)[..., n_trunk:]
    )


@pytest.mark.parametrize("compute", ["crops", "trunk"])
def test_multi_level_features_on_each_device_follow_the_cpus(images, device, compute):
    params = dict(LIVELY, layer="stages", spatial_pooling="mean_std", compute=compute)
    on_cpu = CNNCropFeaturizer(**params, device="cpu").fit(images).transform(images)
    on_device = CNNCropFeaturizer(**params, device=device, precision="float32")
    features = on_device.fit(images).transform(images)
    assert features.shape == on_cpu.shape
    scale = np.abs(on_cpu).max()
    np.testing.assert_allclose(features, on_cpu, rtol=1e-3, atol=1e-3 * scale)


@pytest.mark.parametrize("backbone", ["mobilenet_v2", "resnet18", "efficientnet_b0"])
def test_stages_of_each_backbone_family_run_in_both_compute_modes(images, backbone):
    # ResNets' trunk holds layer3's blocks but not the layer3 module, whose
    # "stages" tap once never ran, so that compute="trunk" failed.
    params = dict(backbone=backbone, weights=None, n_crops=2, crop_size=32)
    params["layer"] = "stages"
    crops = CNNCropFeaturizer(**params, compute="crops").fit(images[:2])
    trunk = CNNCropFeaturizer(**params, compute="trunk").fit(images[:2])
    assert trunk.transform(images[:2]).shape == crops.transform(images[:2]).shape
    assert list(trunk.get_feature_names_out()) == list(crops.get_feature_names_out())
