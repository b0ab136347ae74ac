"""CNNCropFeaturizer: shapes, crops, weights, caching, devices, sklearn API."""

import pickle
from urllib.error import URLError

import joblib
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, ShuffleSplit
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)
from torchvision.transforms.functional import pil_to_tensor

import skdeepbiq._engine.batching as batching_module
from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, default_regressor
from skdeepbiq._engine.batching import forward_passes
from skdeepbiq.exceptions import (
    ImageReadError,
    SkDeepBIQWarning,
    SmallImageWarning,
    WeightsNotFoundError,
)

from .conftest import LIVELY, cut_crops, make_images

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)


def test_one_float32_row_per_image_with_all_crops(images, device):
    featurizer = CNNCropFeaturizer(**SMALL, device=device).fit(images)
    features = featurizer.transform(images)
    assert features.shape == (len(images), 3 * 1280)
    assert features.dtype == np.float32
    assert featurizer.n_features_out_ == 3 * 1280
    assert featurizer.n_features_per_crop_ == 1280
    assert np.isfinite(features).all()
    names = featurizer.get_feature_names_out()
    assert len(names) == features.shape[1]
    assert names[0] == "crop0_feature0" and names[-1] == "crop2_feature1279"


def test_paths_pil_images_and_arrays_give_identical_features(images, image_paths):
    featurizer = CNNCropFeaturizer(**SMALL).fit(images)
    from_arrays = featurizer.transform(images)
    from_paths = featurizer.transform(image_paths)
    from_pil = featurizer.transform([Image.fromarray(a) for a in images])
    np.testing.assert_array_equal(from_arrays, from_paths)
    np.testing.assert_array_equal(from_arrays, from_pil)


def test_features_of_an_image_do_not_depend_on_the_other_images_or_order(images):
    featurizer = CNNCropFeaturizer(**SMALL, batch_size=5).fit(images)
    full = featurizer.transform(images)
    order = np.random.default_rng(1).permutation(len(images))
    shuffled = featurizer.transform([images[i] for i in order])
    np.testing.assert_allclose(shuffled, full[order], rtol=1e-5, atol=1e-6)
    subset = CNNCropFeaturizer(**SMALL, batch_size=64).fit(images[:3])
    np.testing.assert_allclose(
        subset.transform(images[2:3]), full[2:3], rtol=1e-5, atol=1e-6
    )


def test_same_random_state_gives_bit_identical_features_across_fits(images):
    first = CNNCropFeaturizer(**SMALL, random_state=7).fit(images).transform(images)
    second = CNNCropFeaturizer(**SMALL, random_state=7).fit(images).transform(images)
    np.testing.assert_array_equal(first, second)
    other = CNNCropFeaturizer(**SMALL, random_state=8).fit(images).transform(images)
    assert not np.array_equal(first, other)


def test_random_state_none_draws_a_seed_once_per_fit(images):
    featurizer = CNNCropFeaturizer(**SMALL, random_state=None).fit(images)
    np.testing.assert_array_equal(
        featurizer.transform(images), featurizer.transform(images)
    )
    seeds = {
        CNNCropFeaturizer(**SMALL, random_state=None).fit(images).seed_
        for _ in range(3)
    }
    assert len(seeds) > 1


def test_random_state_instance_is_accepted(images):
    rs = np.random.RandomState(0)
    featurizer = CNNCropFeaturizer(**SMALL, random_state=rs).fit(images)
    assert isinstance(featurizer.seed_, int)


@pytest.mark.parametrize("mode", ["random", "grid", "center"])
def test_every_crop_mode_and_small_images_work(mode):
    tiny = [np.full((1, 1, 3), 200, np.uint8), np.zeros((10, 40, 3), np.uint8)]
    big = make_images(2, size=(70, 90))
    featurizer = CNNCropFeaturizer(**{**SMALL, "crops": mode}).fit(tiny + big)
    with pytest.warns(SmallImageWarning) as record:
        features = featurizer.transform(tiny + big)
    # the tiny ones; in "center" mode all, enlarged to 256 px
    enlarged = [0, 1, 2, 3] if mode == "center" else [0, 1]
    assert [image.index for image in record[0].message.images] == enlarged
    n_crops = 1 if mode == "center" else 3
    assert featurizer.n_crops_ == n_crops
    assert features.shape == (4, n_crops * 1280)
    assert np.isfinite(features).all()


def test_grid_crops_of_an_image_are_fixed_whatever_the_seed(images):
    grid = dict(SMALL, crops="grid", n_crops=4)
    first = CNNCropFeaturizer(**grid, random_state=1).fit(images)
    second = CNNCropFeaturizer(**grid, random_state=1).fit(images)
    np.testing.assert_array_equal(first.transform(images), second.transform(images))


def _center_reference(model, head_name, pixels):
    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    tensor = weights.transforms()(pil_to_tensor(Image.fromarray(pixels)))
    parent, _, child = head_name.rpartition(".")
    setattr(model.get_submodule(parent), child, torch.nn.Identity())
    with torch.no_grad():
        return model.eval()(tensor[None]).numpy()[0]


def test_center_crop_features_equal_torchvision_on_the_same_resized_crop(tmp_path):
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2()
    state_file = tmp_path / "state.pth"
    torch.save(model.state_dict(), state_file)
    pixels = make_images(1, size=(300, 420))[0]
    featurizer = CNNCropFeaturizer(weights=state_file, crops="center").fit([pixels])
    features = featurizer.transform([pixels])[0]
    reference = _center_reference(model, "classifier.1", pixels)
    np.testing.assert_allclose(features, reference, atol=1e-4)


def test_center_crop_features_equal_torchvision_with_imagenet_weights(
    mobilenet_weights_cached,
):
    pixels = make_images(1, size=(333, 500), seed=3)[0]
    featurizer = CNNCropFeaturizer(crops="center").fit([pixels])
    model = torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")
    reference = _center_reference(model, "classifier.1", pixels)
    np.testing.assert_allclose(featurizer.transform([pixels])[0], reference, atol=1e-4)


def test_alexnet_features_are_fc7_after_relu():
    pixels = make_images(1, size=(160, 160))[0]
    featurizer = CNNCropFeaturizer(
        backbone="alexnet", weights=None, crops="center", crop_size=64
    ).fit([pixels])
    model = featurizer.network_.model
    assert featurizer.n_features_per_crop_ == 4096
    crop = cut_crops(pixels, n_crops=1, crop_size=64, mode="center", seed=0)[0]
    batch = (
        crop.float() / 255 - torch.tensor(featurizer.mean_).view(1, 3, 1, 1)
    ) / torch.tensor(featurizer.std_).view(1, 3, 1, 1)
    with torch.no_grad():
        trunk = torch.flatten(model.avgpool(model.features(batch)), 1)
        fc7 = model.classifier[:6](trunk).numpy()[0]
    assert isinstance(model.classifier[5], torch.nn.ReLU)
    np.testing.assert_allclose(
        featurizer.transform([pixels])[0], fc7, rtol=1e-4, atol=1e-5
    )
    assert (fc7 >= 0).all()


def test_layer_selects_a_named_module_averaged_over_space(images):
    featurizer = CNNCropFeaturizer(**SMALL, layer="features.3").fit(images)
    assert featurizer.n_features_per_crop_ == 24
    assert featurizer.transform(images[:2]).shape == (2, 3 * 24)
    with pytest.raises(ValueError, match="layer='nope'"):
        CNNCropFeaturizer(**SMALL, layer="nope").fit(images)


def test_weights_from_a_local_state_dict_file(tmp_path, images):
    source = CNNCropFeaturizer(**SMALL, random_state=3).fit(images)
    classifier = torchvision.models.mobilenet_v2()
    state = {
        k: v for k, v in classifier.state_dict().items() if k.startswith("classifier")
    }
    state.update(source.network_.model.state_dict())
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    loaded = CNNCropFeaturizer(**{**SMALL, "weights": str(path)}, random_state=3).fit(
        images
    )
    np.testing.assert_array_equal(loaded.transform(images), source.transform(images))


def test_unknown_weights_name_is_an_error_naming_the_parameter(images):
    with pytest.raises(ValueError, match="weights='IMAGENET9'.*IMAGENET1K_V1"):
        CNNCropFeaturizer(weights="IMAGENET9").fit(images)


def test_missing_weights_error_names_the_file_the_folder_and_the_command(
    tmp_path, monkeypatch, images
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise URLError("no network in this test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsNotFoundError) as error:
        CNNCropFeaturizer(backbone="mobilenet_v2", weights="IMAGENET1K_V1").fit(images)
    message = str(error.value)
    assert "mobilenet_v2-b0353104.pth" in message
    assert str(tmp_path / "hub" / "checkpoints") in message
    assert "skdeepbiq weights fetch mobilenet_v2" in message


def test_unknown_backbone_is_an_error_naming_the_parameter(images):
    with pytest.raises(ValueError, match="backbone='resnet9000'"):
        CNNCropFeaturizer(backbone="resnet9000", weights=None).fit(images)


@pytest.mark.parametrize(
    "param, value",
    [("n_crops", 0), ("crop_size", -1), ("crops", "diagonal"), ("precision", "int8"),
     ("batch_size", 0)],
)  # fmt: skip
def test_bad_parameters_fail_in_fit_naming_the_parameter(images, param, value):
    featurizer = CNNCropFeaturizer(**SMALL).set_params(**{param: value})
    with pytest.raises(InvalidParameterError, match=param):
        featurizer.fit(images)


def test_bad_device_fails_in_fit_naming_the_parameter(images):
    with pytest.raises(ValueError, match="device='gpu-please'"):
        CNNCropFeaturizer(**SMALL, device="gpu-please").fit(images)


@pytest.mark.parametrize(
    "X, message",
    [("a.jpg", "single str"), ([], "empty"), ([1, 2], r"X\[0\] is a int"),
     (np.zeros((8, 8, 3), np.uint8), "one array")],
)  # fmt: skip
def test_bad_X_is_an_error_that_says_what_is_wrong(X, message):
    with pytest.raises((TypeError, ValueError), match=message):
        CNNCropFeaturizer(**SMALL).fit(X)


def test_unreadable_image_error_names_path_and_index(tmp_path, images):
    missing = tmp_path / "missing.jpg"
    featurizer = CNNCropFeaturizer(**SMALL).fit(images)
    with pytest.raises(ImageReadError, match=r"X\[1\].*missing.jpg.*no such file"):
        featurizer.transform([images[0], str(missing)])


def test_transform_before_fit_raises_not_fitted(images):
    with pytest.raises(NotFittedError):
        CNNCropFeaturizer(**SMALL).transform(images)


def test_pandas_series_of_paths_and_pandas_output(image_paths):
    pd = pytest.importorskip("pandas")
    featurizer = CNNCropFeaturizer(**SMALL).fit(pd.Series(image_paths))
    frame = featurizer.set_output(transform="pandas").transform(pd.Series(image_paths))
    assert isinstance(frame, pd.DataFrame)
    assert frame.shape == (12, 3 * 1280)
    assert frame.columns[1] == "crop0_feature1"


def test_batch_size_and_threads_do_not_change_features(images):
    reference = CNNCropFeaturizer(**SMALL, batch_size=64).fit(images).transform(images)
    for params in [dict(batch_size=1), dict(batch_size=7, n_jobs=2), dict(n_jobs=-1)]:
        features = CNNCropFeaturizer(**SMALL, **params).fit(images).transform(images)
        np.testing.assert_allclose(features, reference, rtol=1e-5, atol=1e-5)


def test_cpu_passes_hold_the_crops_of_one_image_in_near_equal_chunks(
    images, count_forward
):
    featurizer = CNNCropFeaturizer(**SMALL, batch_size=2).fit(images)
    featurizer.transform(images)
    assert count_forward["crops"] == 12 * 3
    assert count_forward["calls"] == 12 * 2  # 3 crops: passes of 2 and 1


def test_an_image_gets_bit_identical_features_whatever_else_is_in_X(images):
    featurizer = CNNCropFeaturizer(**{**SMALL, "n_crops": 5}, batch_size=4).fit(images)
    together = featurizer.transform(images)
    for index in (0, 5, 11):
        alone = featurizer.transform(images[index : index + 1])
        np.testing.assert_array_equal(alone[0], together[index])
    shuffled = featurizer.transform(images[::-1])
    np.testing.assert_array_equal(shuffled[::-1], together)


def _stream(sizes):
    return [(index, torch.full((size, 1), index)) for index, size in enumerate(sizes)]


def test_mixed_passes_hold_batch_size_crops_across_images():
    passes = list(forward_passes(_stream([3, 3, 7, 1, 2]), 4, mix_images=True))
    assert [len(crops) for crops, _ in passes] == [4, 4, 4, 4]
    assert passes[0][1] == [(0, 3, True), (1, 1, False)]
    assert passes[1][1] == [(1, 2, True), (2, 2, False)]
    assert passes[2][1] == [(2, 4, False)]
    assert passes[3][1] == [(2, 1, True), (3, 1, True), (4, 2, True)]
    for crops, owners in passes:  # every crop is owned by the image it came from
        expected = torch.cat([torch.full((n, 1), i) for i, n, _ in owners])
        assert torch.equal(crops, expected)


def test_rows_are_assembled_right_when_passes_mix_images(
    images, monkeypatch, count_forward
):
    # CUDA's grouping (images sharing passes), forced on the CPU: each row
    # must be put together from the right parts of several passes.
    featurizer = CNNCropFeaturizer(**{**SMALL, "n_crops": 5}, batch_size=7)
    featurizer.fit(images)
    unmixed = featurizer.transform(images)
    original = batching_module.forward_passes

    def mixing(items, batch_size, *, mix_images):
        return original(items, batch_size, mix_images=True)

    monkeypatch.setattr(batching_module, "forward_passes", mixing)
    count_forward.update(calls=0, crops=0)
    mixed = featurizer.transform(images)
    assert count_forward["calls"] == int(np.ceil(12 * 5 / 7))
    np.testing.assert_allclose(mixed, unmixed, rtol=1e-5, atol=1e-6)


def test_unmixed_passes_split_each_image_into_near_equal_chunks():
    passes = list(forward_passes(_stream([25, 3]), 8, mix_images=False))
    assert [len(crops) for crops, _ in passes] == [7, 6, 6, 6, 3]
    assert [owners[0][2] for _, owners in passes] == [False, False, False, True, True]


def test_progress_bar_when_verbose(images, capsys):
    CNNCropFeaturizer(**SMALL, verbose=1).fit(images).transform(images)
    assert "12/12" in capsys.readouterr().err


@pytest.mark.parametrize("as_memory_object", [False, True])
def test_grid_search_over_C_runs_the_network_once_per_image(
    tmp_path, image_paths, scores, count_forward, as_memory_object
):
    memory = (
        joblib.Memory(tmp_path / "cache", verbose=0)
        if as_memory_object
        else str(tmp_path)
    )
    model = DeepBIQRegressor(
        CNNCropFeaturizer(**SMALL, memory=memory), regressor=default_regressor()
    )
    search = GridSearchCV(
        model,
        {"regressor__C": [1e-3, 1e-2, 1e-1]},
        cv=ShuffleSplit(n_splits=10, test_size=0.25, random_state=0),
    )
    search.fit(image_paths, scores)
    assert count_forward["crops"] == len(image_paths) * 3
    search.predict(image_paths)
    assert count_forward["crops"] == len(image_paths) * 3


def test_cache_key_follows_the_parameters_and_the_file(
    tmp_path, image_paths, count_forward
):
    params = dict(SMALL, memory=str(tmp_path / "cache"))
    first = CNNCropFeaturizer(**params).fit(image_paths).transform(image_paths)
    CNNCropFeaturizer(**{**params, "n_crops": 2}).fit(image_paths).transform(
        image_paths
    )
    assert count_forward["crops"] == 12 * 3 + 12 * 2
    Image.fromarray(make_images(1, seed=99)[0]).save(image_paths[0])
    again = CNNCropFeaturizer(**params).fit(image_paths).transform(image_paths)
    assert count_forward["crops"] == 12 * 3 + 12 * 2 + 3
    np.testing.assert_array_equal(again[1:], first[1:])
    assert not np.array_equal(again[0], first[0])


def test_pickle_round_trip_keeps_features(images):
    featurizer = CNNCropFeaturizer(**SMALL).fit(images)
    restored = pickle.loads(pickle.dumps(featurizer))
    np.testing.assert_array_equal(
        restored.transform(images), featurizer.transform(images)
    )


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_fitted_on_cuda_pickles_to_cpu_state_and_matches_cpu_features(images):
    featurizer = CNNCropFeaturizer(**LIVELY, device="cuda", precision="float32")
    featurizer.fit(images)
    gpu = featurizer.transform(images)
    state = pickle.dumps(featurizer)
    restored = pickle.loads(state)
    assert all(p.device.type == "cpu" for p in restored.network_.parameters())
    cpu = restored.set_params(device="cpu").transform(images)
    assert np.abs(cpu).max() > 0.1  # features of a size that float32 resolves
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-3)


def test_clone_gives_an_unfitted_copy_with_equal_parameters(images):
    featurizer = CNNCropFeaturizer(**SMALL).fit(images)
    copy = clone(featurizer)
    assert copy.get_params() == featurizer.get_params()
    assert not hasattr(copy, "network_")


@pytest.mark.parametrize(
    "check",
    [check_get_params_invariance, check_set_params, check_no_attributes_set_in_init,
     check_estimator_cloneable, check_estimator_repr, check_parameters_default_constructible,
     check_do_not_raise_errors_in_init_or_set_params],
)  # fmt: skip
@pytest.mark.parametrize("estimator", [CNNCropFeaturizer(), DeepBIQRegressor()])
def test_data_free_sklearn_api_checks(check, estimator):
    check(type(estimator).__name__, estimator)


def test_out_of_memory_halves_the_batch_with_a_warning_naming_batch_size(
    images, monkeypatch
):
    params = {**SMALL, "n_crops": 8, "batch_size": 16}  # passes of 8 crops
    reference = CNNCropFeaturizer(**params).fit(images).transform(images)
    original = batching_module.forward

    def small_memory(network, crops, *args):
        if len(crops) > 4:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return original(network, crops, *args)

    monkeypatch.setattr(batching_module, "forward", small_memory)
    featurizer = CNNCropFeaturizer(**params).fit(images)
    with pytest.warns(SkDeepBIQWarning, match="Lower batch_size"):
        features = featurizer.transform(images)
    np.testing.assert_allclose(features, reference, rtol=1e-5, atol=1e-6)


def test_out_of_memory_on_one_crop_is_a_memory_error(images, monkeypatch):
    def no_memory(*args):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(batching_module, "forward", no_memory)
    featurizer = CNNCropFeaturizer(**SMALL, batch_size=1).fit(images)
    with pytest.raises(MemoryError, match="single crop"):
        featurizer.transform(images[:1])


@pytest.mark.parametrize(
    ("backbone", "layer"),
    [("mobilenet_v2", "features.3"), ("resnet18", "layer2"), ("alexnet", "features.5")],
)
def test_layer_features_are_that_modules_output_in_eval_mode(backbone, layer):
    # The pruned graph (torch.fx) must run with batch-norm statistics frozen:
    # a deep copy of a GraphModule comes back in training mode.
    pixels = make_images(1, size=(160, 160))[0]
    featurizer = CNNCropFeaturizer(
        backbone=backbone, weights=None, layer=layer, crops="center", crop_size=64
    ).fit([pixels])
    model = torchvision.models.get_model(backbone, weights=None)
    model.load_state_dict(
        {
            key: value
            for key, value in featurizer.network_.model.state_dict().items()
            if key in model.state_dict()
        },
        strict=False,
    )
    model.eval()
    crop = cut_crops(pixels, n_crops=1, crop_size=64, mode="center", seed=0)[0]
    batch = (
        crop.float() / 255 - torch.tensor(featurizer.mean_).view(1, 3, 1, 1)
    ) / torch.tensor(featurizer.std_).view(1, 3, 1, 1)
    captured = []
    model.get_submodule(layer).register_forward_hook(
        lambda module, inputs, output: captured.append(output)
    )
    with torch.no_grad():
        model(batch)
    expected = captured[0].mean(dim=(2, 3)).numpy()[0]
    np.testing.assert_allclose(
        featurizer.transform([pixels])[0], expected, rtol=1e-4, atol=1e-5
    )


def test_a_pickled_featurizer_with_a_layer_gives_the_same_features(images):
    featurizer = CNNCropFeaturizer(**SMALL, layer="features.3").fit(images)
    features = featurizer.transform(images)
    restored = pickle.loads(pickle.dumps(featurizer))
    np.testing.assert_array_equal(restored.transform(images), features)
    np.testing.assert_array_equal(
        clone(featurizer).fit(images).transform(images), features
    )
