"""DeepBIQRegressor: fusion, nested parameters, protocols, persistence."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import VotingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import (
    GridSearchCV,
    GroupShuffleSplit,
    ShuffleSplit,
    cross_validate,
)
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVR

from skdeepbiq import (
    CNNCropFeaturizer,
    DeepBIQRegressor,
    FineTuning,
    default_featurizer,
    default_regressor,
)
from skdeepbiq._regressor import DEFAULT_C, TUNED_C, featurizer_to_fit
from skdeepbiq.exceptions import UnreadableImageWarning

from .conftest import GOLDEN_RTOL, LIVELY, make_images

SMALL = dict(backbone="mobilenet_v2", weights=None, n_crops=3, crop_size=32)


def small_model(**params):
    return DeepBIQRegressor(CNNCropFeaturizer(**SMALL), **params)


def test_prediction_pooling_matches_manual_mean_of_crop_scores(images, scores):
    model = small_model(pooling="mean").fit(images, scores)
    crop_scores = model.predict_crops(images)
    assert crop_scores.shape == (12, 3)
    np.testing.assert_allclose(model.predict(images), crop_scores.mean(axis=1))
    features = np.sqrt(model.featurizer_.transform(images).reshape(36, -1))
    manual = model.regressor_.predict(model.scaler_.transform(features))
    manual = manual * model.y_scale_ + model.y_mean_
    np.testing.assert_allclose(crop_scores.ravel(), manual, rtol=1e-6)


@pytest.mark.parametrize("pooling", ["min", "max"])
def test_prediction_pooling_min_and_max(images, scores, pooling):
    model = small_model(pooling=pooling).fit(images, scores)
    expected = getattr(np, pooling)(model.predict_crops(images), axis=1)
    np.testing.assert_allclose(model.predict(images), expected)


def test_prediction_fusion_trains_on_every_crop_with_its_image_score(images, scores):
    model = small_model(standardize=False, power=1.0, regressor=Ridge(alpha=1.0))
    model.fit(images, scores)
    features = model.featurizer_.transform(images).reshape(36, -1)
    reference = Ridge(alpha=1.0).fit(features, np.repeat(scores, 3))
    np.testing.assert_allclose(model.regressor_.coef_, reference.coef_, rtol=1e-6)


def test_power_normalisation_is_a_signed_power_before_the_regressor():
    crops = np.array([[[4.0, -9.0], [0.25, 1.0]]])  # 1 image, 2 crops, 2 features
    X = np.repeat(crops, 3, axis=0) * [[[1]], [[2]], [[3]]]
    model = DeepBIQRegressor("precomputed", power=0.5).fit(X, [1.0, 2.0, 3.0])
    power = model.head_.regressor_.named_steps["power"]  # the head's first step
    np.testing.assert_allclose(power.transform(crops[0]), [[2.0, -3.0], [0.5, 1.0]])
    model.set_params(power=1.0).fit(X, [1.0, 2.0, 3.0])
    power = model.head_.regressor_.named_steps["power"]
    np.testing.assert_allclose(power.transform(crops[0]), crops[0])


def test_feature_fusion_pools_features_into_one_row_per_image(images, scores):
    model = small_model(fusion="feature", pooling="max", regressor=Ridge()).fit(
        images, scores
    )
    assert model.regressor_.coef_.shape == (1280,)
    with pytest.raises(ValueError, match="predict_crops needs fusion='prediction'"):
        model.predict_crops(images)
    assert model.predict(images).shape == (12,)


def test_concatenation_fusion_uses_all_crop_features(images, scores):
    model = small_model(fusion="concatenation", regressor=Ridge()).fit(images, scores)
    assert model.regressor_.coef_.shape == (3 * 1280,)


def test_standardized_regressor_learns_an_informative_target():
    """With a feature that encodes the score, predictions follow the score."""
    rng = np.random.default_rng(0)
    levels = np.linspace(0, 1, 16)
    images = [
        np.clip(rng.normal(128, 1 + 80 * level, (40, 40, 3)), 0, 255).astype(np.uint8)
        for level in levels
    ]
    mos = 90 - 70 * levels
    model = small_model().fit(images, mos)
    from scipy.stats import spearmanr

    assert spearmanr(model.predict(images), mos).statistic > 0.9


def test_none_sub_estimators_stay_none_until_fit_resolves_them(images, scores):
    # as TransformedTargetRegressor: the defaults are chosen in fit, so the
    # parameters stay what was given, in whatever order they were set
    model = DeepBIQRegressor()
    params = model.get_params()
    assert params["featurizer"] is None and params["regressor"] is None
    assert not any("__" in key for key in params)
    model.set_params(fine_tune=True).set_params(fine_tune=None)
    assert model.featurizer is None and model.regressor is None
    assert DeepBIQRegressor().set_params(**params).get_params() == params
    fitted = DeepBIQRegressor(CNNCropFeaturizer(**SMALL)).fit(images, scores)
    assert fitted.regressor is None
    assert fitted.regressor_.get_params() == default_regressor().get_params()


@pytest.mark.parametrize(
    "key, fine_tune, advice",
    [
        ("featurizer__memory", None, r"featurizer=default_featurizer\(memory=\.\.\.\)"),
        (
            "featurizer__n_crops",
            True,
            r"featurizer=default_featurizer\(n_crops=\.\.\., fine_tune=True\)",
        ),
        ("regressor__C", None, r"regressor=default_regressor\(C=\.\.\.\)"),
    ],
)
def test_a_nested_parameter_of_a_none_default_says_what_to_pass(key, fine_tune, advice):
    model = DeepBIQRegressor(fine_tune=fine_tune)
    with pytest.raises(ValueError, match=rf"Cannot set '{key}'.*{advice}"):
        model.set_params(**{key: 1})
    assert model.featurizer is None and model.regressor is None


def test_nested_parameter_names_reach_a_given_featurizer_and_svr():
    model = DeepBIQRegressor(
        featurizer=default_featurizer(), regressor=default_regressor()
    )
    params = model.get_params()
    assert params["regressor__C"] == DEFAULT_C
    assert params["regressor__epsilon"] == 0.0
    assert params["featurizer__n_crops"] == 25
    model.set_params(regressor__C=0.5, featurizer__n_crops=4)
    assert model.regressor.C == 0.5 and model.featurizer.n_crops == 4
    # the defaults are fresh objects each time: nothing shared was changed
    assert default_regressor().C == DEFAULT_C
    assert default_featurizer().n_crops == 25


@pytest.mark.parametrize("fine_tune", [True, np.True_, FineTuning(trainable="tail")])
def test_the_default_featurizer_of_a_tuned_model_pools_stage_means_only(fine_tune):
    # the most accurate configurations measured with and without fine-tuning
    # share EfficientNet-Lite2's trunk; untuned, its stages' standard
    # deviations join their means (benchmarks/results/clive_accuracy.jsonl)
    common = {"backbone": "efficientnet_lite2", "layer": "stages", "n_crops": 25}
    common["compute"] = "trunk"
    tuned = {**common, "spatial_pooling": "mean"}
    untuned = {**common, "spatial_pooling": "mean_std"}
    for model, expected in [
        (DeepBIQRegressor(fine_tune=fine_tune), tuned),
        (DeepBIQRegressor(fine_tune=False), untuned),
        (DeepBIQRegressor(fine_tune=np.False_), untuned),
        (DeepBIQRegressor(), untuned),
    ]:
        featurizer = featurizer_to_fit(
            model._sub_estimator("featurizer"), model.fine_tune
        )
        assert {k: featurizer.get_params()[k] for k in expected} == expected
    # read at fit time: the order in which parameters were set does not matter
    later = DeepBIQRegressor().set_params(fine_tune=fine_tune)
    assert later._sub_estimator("featurizer").spatial_pooling == "mean"
    # the default with parameters of one's own, for a tuned model
    given = default_featurizer(fine_tune=fine_tune, verbose=1)
    assert given.spatial_pooling == "mean" and given.verbose == 1
    assert given.fine_tune is None  # the regressor's fine_tune does the tuning


@pytest.mark.parametrize("fine_tune", [True, FineTuning(trainable="tail")])
def test_a_tuned_model_uses_the_tuned_c_unless_given_a_regressor(fine_tune):
    # features of a tuned network measured best with a stronger penalty
    assert (
        DeepBIQRegressor(fine_tune=fine_tune)._sub_estimator("regressor").C == TUNED_C
    )
    assert default_regressor(fine_tune=fine_tune).C == TUNED_C
    assert TUNED_C != DEFAULT_C
    # a regressor given is never replaced
    given = DeepBIQRegressor(
        CNNCropFeaturizer(**SMALL), regressor=LinearSVR(C=0.5), fine_tune=fine_tune
    )
    assert given._sub_estimator("regressor").C == 0.5


def test_a_tuned_model_fits_its_default_svr_with_the_tuned_c(images, scores):
    small = {**SMALL, "n_crops": 2}
    quick = FineTuning(epochs=1, crops_per_image=1, batch_size=4)
    model = DeepBIQRegressor(CNNCropFeaturizer(**small), fine_tune=quick)
    assert model.fit(images, scores).regressor_.C == TUNED_C
    untuned = DeepBIQRegressor(CNNCropFeaturizer(**small)).fit(images, scores)
    assert untuned.regressor_.C == DEFAULT_C


def test_fit_does_not_mutate_given_sub_estimators(images, scores):
    featurizer = CNNCropFeaturizer(**SMALL)
    regressor = LinearSVR()
    DeepBIQRegressor(featurizer, regressor=regressor).fit(images, scores)
    assert not hasattr(featurizer, "network_")
    assert not hasattr(regressor, "coef_")


def test_cross_validate_with_ten_shuffle_splits(images, scores):
    result = cross_validate(
        small_model(),
        images,
        scores,
        cv=ShuffleSplit(10, test_size=0.2, random_state=0),
    )
    assert len(result["test_score"]) == 10
    assert np.isfinite(result["test_score"]).all()


def test_grid_search_with_group_shuffle_split_by_reference(image_paths, scores):
    groups = np.repeat(np.arange(4), 3)
    search = GridSearchCV(
        small_model(regressor=default_regressor()),
        {"regressor__C": [1e-3, 1e-1], "pooling": ["mean", "min"]},
        cv=GroupShuffleSplit(n_splits=3, test_size=0.25, random_state=0),
    )
    search.fit(image_paths, scores, groups=groups)
    assert set(search.best_params_) == {"regressor__C", "pooling"}
    assert search.predict(image_paths).shape == (12,)


def test_any_regressor_replaces_the_svr(images, scores):
    model = small_model(regressor=Ridge(alpha=10.0)).fit(images, scores)
    assert isinstance(model.regressor_, Ridge)


def test_voting_regressor_averages_models_of_two_backbones(images, scores):
    # the accuracy page's ensemble recipe: scikit-learn's own VotingRegressor
    lite = dict(SMALL, backbone="efficientnet_lite0")
    lite0 = DeepBIQRegressor(CNNCropFeaturizer(**lite))
    ensemble = VotingRegressor([("mobilenet", small_model()), ("lite0", lite0)])
    ensemble.fit(images, scores)
    one, other = (model.predict(images) for model in ensemble.estimators_)
    assert not np.allclose(one, other)  # two different networks
    np.testing.assert_allclose(ensemble.predict(images), (one + other) / 2)
    copy = pickle.loads(pickle.dumps(ensemble))
    np.testing.assert_array_equal(copy.predict(images), ensemble.predict(images))
    assert clone(ensemble).get_params()["lite0__featurizer__backbone"] == (
        "efficientnet_lite0"
    )


def test_second_fit_replaces_the_fitted_state(images, scores):
    model = small_model().fit(images, scores)
    first = model.predict(images)
    model.fit(images[:6], scores[:6][::-1])
    assert not np.allclose(model.predict(images), first)


@pytest.mark.parametrize(
    "y, message",
    [([1.0] * 11, "y has 11 scores but X has 12 images"),
     ([np.nan] + [1.0] * 11, r"y\[0\] = nan"),
     ([1.0] * 11 + [np.inf], r"y\[11\] = inf"),
     ([None] * 12, "finite")],
)  # fmt: skip
def test_bad_scores_are_rejected_with_a_clear_message(images, y, message):
    with pytest.raises(ValueError, match=message):
        small_model().fit(images, y)


def test_predict_before_fit_raises_not_fitted(images):
    with pytest.raises(NotFittedError):
        small_model().predict(images)


def test_bad_fusion_fails_in_fit_naming_the_parameter(images, scores):
    with pytest.raises(ValueError, match="fusion"):
        small_model(fusion="average").fit(images, scores)


def test_pickle_round_trip_predicts_the_same_scores(images, scores):
    model = small_model().fit(images, scores)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(images), model.predict(images))
    unfitted = clone(model)
    assert not hasattr(unfitted, "regressor_")


def test_predictions_are_reproducible_across_fits(images, scores):
    first = small_model().fit(images, scores).predict(images)
    second = small_model().fit(images, scores).predict(images)
    np.testing.assert_array_equal(first, second)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_fitted_on_cuda_predicts_on_a_cpu_only_machine(images, scores, monkeypatch):
    model = DeepBIQRegressor(
        CNNCropFeaturizer(**LIVELY, device="cuda", precision="float32")
    ).fit(images, scores)
    gpu = model.predict(images)
    state = pickle.dumps(model)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored = pickle.loads(state)
    restored.set_params(featurizer__device="auto")
    restored.featurizer_.set_params(device="auto")
    np.testing.assert_allclose(restored.predict(images), gpu, rtol=1e-3, atol=1e-2)


# The head: scikit-learn's parts ------------------------------------------------


def test_head_is_a_pipeline_of_scikit_learn_parts_in_a_target_scaler(images, scores):
    model = small_model(fusion="feature", pooling="max").fit(images, scores)
    head = model.head_
    assert isinstance(head, TransformedTargetRegressor)
    assert isinstance(head.transformer_, StandardScaler)
    steps = head.regressor_.named_steps
    assert list(steps) == ["power", "pool", "scale", "regressor"]
    assert isinstance(steps["power"], FunctionTransformer)
    assert steps["pool"].get_params() == {"n_crops": 3, "pooling": "max"}
    assert steps["scale"] is model.scaler_ and steps["regressor"] is model.regressor_
    assert model.y_mean_ == head.transformer_.mean_[0] == np.mean(scores)
    assert model.y_scale_ == head.transformer_.scale_[0] == np.std(scores)
    assert "TransformedTargetRegressor" in repr(head)


def test_unstandardized_head_passes_features_and_target_through():
    X = np.random.default_rng(0).normal(size=(10, 2, 3))
    model = DeepBIQRegressor("precomputed", standardize=False).fit(X, np.arange(10.0))
    assert model.head_.regressor_.named_steps["scale"] == "passthrough"
    assert model.head_.transformer is None and model.scaler_ is None
    assert (model.y_mean_, model.y_scale_) == (0.0, 1.0)


def test_constant_scores_keep_a_target_scale_of_one():
    X = np.random.default_rng(0).normal(size=(7, 2, 3))
    model = DeepBIQRegressor("precomputed", regressor=Ridge())
    model.fit(X, np.full(7, 0.1))  # np.std gives 1.4e-17 here, not 0
    assert model.y_scale_ == 1.0
    np.testing.assert_allclose(model.predict(X), 0.1)


def test_fit_clones_the_regressor_into_the_head_without_touching_it():
    X = np.random.default_rng(0).normal(size=(10, 2, 3))
    regressor = Ridge(alpha=2.0)
    model = DeepBIQRegressor("precomputed", regressor=regressor).fit(X, np.arange(10.0))
    assert model.regressor_ is not regressor and not hasattr(regressor, "coef_")
    assert model.regressor_.get_params() == regressor.get_params()


@pytest.mark.parametrize("fusion", ["prediction", "feature", "concatenation"])
@pytest.mark.parametrize("standardize", [True, False])
def test_model_assembled_from_fitted_parts_predicts_the_same(
    images, scores, fusion, standardize
):
    model = small_model(fusion=fusion, standardize=standardize, regressor=Ridge())
    model.fit(images, scores)
    scaling = {}
    if standardize:
        scaling = dict(
            scaler_mean=model.scaler_.mean_,
            scaler_scale=model.scaler_.scale_,
            y_mean=model.y_mean_,
            y_scale=model.y_scale_,
        )
    assembled = clone(model)._fitted_from_parts(
        featurizer=model.featurizer_,
        regressor=model.regressor_,
        **scaling,
    )
    np.testing.assert_array_equal(assembled.predict(images), model.predict(images))
    assert assembled.regressor_ is model.regressor_
    assert (assembled.y_mean_, assembled.y_scale_) == (model.y_mean_, model.y_scale_)


# fine_tune: a shorthand for the featurizer's own -------------------------------


def test_fine_tune_is_handed_to_the_featurizer_clone_only(images, scores):
    featurizer = CNNCropFeaturizer(**SMALL)
    model = DeepBIQRegressor(featurizer, fine_tune=False).fit(images, scores)
    assert model.featurizer_.get_params()["fine_tune"] is False
    assert featurizer.fine_tune is None and model.fine_tune is False


def test_fine_tune_set_to_the_same_value_on_both_is_accepted(images, scores):
    featurizer = CNNCropFeaturizer(**SMALL, fine_tune=False)
    DeepBIQRegressor(featurizer, fine_tune=False).fit(images, scores)


@pytest.mark.parametrize(
    "own, given", [(True, FineTuning()), (False, None), (None, False)]
)
def test_fine_tune_set_to_the_same_recipe_on_both_is_accepted(own, given):
    featurizer = featurizer_to_fit(CNNCropFeaturizer(fine_tune=own), given)
    expected = own if given is None else given
    assert repr(featurizer.get_params()["fine_tune"]) == repr(expected)


@pytest.mark.parametrize(
    "own, given",
    [(FineTuning(epochs=2), FineTuning(epochs=3)), (False, True),
     (FineTuning(), False)],
)  # fmt: skip
def test_fine_tune_set_differently_on_both_fails_before_the_network(
    images, scores, count_forward, own, given
):
    model = DeepBIQRegressor(CNNCropFeaturizer(**SMALL, fine_tune=own), fine_tune=given)
    with pytest.raises(ValueError, match=r"fine_tune=.*featurizer__fine_tune=.*one of"):
        model.fit(images, scores)
    assert count_forward["calls"] == 0 and not hasattr(model, "featurizer_")


# Nested parameters and the featurizer's public contract ------------------------


def test_grid_search_over_a_featurizer_parameter_and_the_svr_c(images, scores):
    search = GridSearchCV(
        small_model(regressor=default_regressor()),
        {"featurizer__n_crops": [1, 2], "regressor__C": [1e-3, 1e-2]},
        cv=ShuffleSplit(n_splits=2, test_size=0.25, random_state=0),
    )
    search.fit(images, scores)
    assert search.best_estimator_.n_crops_ == search.best_params_["featurizer__n_crops"]
    assert search.best_estimator_.regressor_.C == search.best_params_["regressor__C"]


def test_crop_scores_take_boxes_and_features_from_one_extract_call(
    images, scores, monkeypatch
):
    model = small_model().fit(images, scores)
    calls = []
    extract = CNNCropFeaturizer.extract

    def recording(self, X, **kwargs):
        calls.append(kwargs)
        return extract(self, X, **kwargs)

    monkeypatch.setattr(CNNCropFeaturizer, "extract", recording)
    monkeypatch.setattr(CNNCropFeaturizer, "transform", None)  # not called
    monkeypatch.setattr(CNNCropFeaturizer, "get_crop_boxes", None)
    crops = model.crop_scores(images[:4])
    assert calls == [{"return_boxes": True, "dense_stride": None}]
    assert len(crops) == 4


def test_crop_scores_of_a_dense_grid_score_every_grid_crop(images, scores):
    model = small_model().fit(images, scores)
    crops = model.crop_scores(images[:2], dense_stride=16)
    alone = model.crop_scores(images[1:2], dense_stride=16)[0]
    for image_crops in crops:
        assert image_crops.shape == (48, 64)
        assert len(image_crops.boxes) == len(image_crops.scores) > model.n_crops_
        assert image_crops.score == pytest.approx(image_crops.scores.mean())
    np.testing.assert_allclose(crops[1].scores, alone.scores, rtol=1e-5)


def test_crop_scores_of_unreadable_images_are_nan_with_one_warning(
    tmp_path, images, scores
):
    model = small_model().fit(images, scores)
    model.featurizer_.set_params(on_error="nan")
    with pytest.warns(UnreadableImageWarning, match="1 of 2 .* boxes and scores"):
        crops = model.crop_scores([images[0], str(tmp_path / "gone.png")])
    assert np.isnan(crops[1].boxes).all() and np.isnan(crops[1].scores).all()
    assert np.isnan(crops[1].score) and np.isfinite(crops[0].scores).all()


# Golden predictions ------------------------------------------------------------
# ``tests/data/regressor_golden.npz`` holds what ``golden_predictions()`` gave
# with the code of main at c474bd8, before the power, the scaling and the target
# scaling became scikit-learn estimators: the restructured regressor must give
# the same numbers, bit for bit. The CNN runs on one thread: its float32 sums
# depend on how many threads share them.

GOLDEN = Path(__file__).parent / "data" / "regressor_golden.npz"
#: The default regressor when the golden file was written (C has changed since).
GOLDEN_SVR = {
    "regressor": LinearSVR(C=1e-4, epsilon=0.0, max_iter=5000, random_state=0)
}


def _golden_cnn_models():
    return {
        "cnn_default": small_model(**GOLDEN_SVR),
        "cnn_feature_max_ridge": small_model(
            fusion="feature", pooling="max", regressor=Ridge(alpha=1.0)
        ),
        "cnn_concatenation": small_model(fusion="concatenation", **GOLDEN_SVR),
        # random-network features are about 1e-9: a tiny alpha
        "cnn_min_unscaled_ridge": small_model(
            pooling="min", power=1.0, standardize=False, regressor=Ridge(alpha=1e-17)
        ),
    }


def _golden_precomputed_models():
    return {
        "pre_prediction": DeepBIQRegressor("precomputed", **GOLDEN_SVR),
        "pre_feature_min": DeepBIQRegressor(
            "precomputed", fusion="feature", pooling="min", **GOLDEN_SVR
        ),
        "pre_concatenation_ridge": DeepBIQRegressor(
            "precomputed", fusion="concatenation", regressor=Ridge(alpha=0.5)
        ),
        "pre_power_unscaled": DeepBIQRegressor(
            "precomputed", power=0.3, standardize=False, **GOLDEN_SVR
        ),
    }


def _golden_precomputed_data():
    rng = np.random.default_rng(0)
    features = rng.normal(0.5, 1.0, (20, 4, 6)).astype(np.float32)
    y = rng.uniform(1, 5, 20)
    new = rng.normal(0.5, 1.0, (7, 4, 6)).astype(np.float32)
    new[2, 1, 3] = np.nan  # a NaN row gets a NaN score
    return features, y, new


def golden_predictions() -> dict:
    """Predictions of fixed models on fixed data, by name."""
    results = {}
    train, test = make_images(12), make_images(5, seed=7)
    for name, model in _golden_cnn_models().items():
        model.fit(train, np.linspace(10, 90, 12))
        results[name] = model.predict(test)
        if model.fusion == "prediction":
            results[f"{name}_crops"] = model.predict_crops(test)
            crops = model.crop_scores(test)
            results[f"{name}_crop_scores"] = np.array([c.scores for c in crops])
            results[f"{name}_crop_boxes"] = np.array([c.boxes for c in crops])
            results[f"{name}_crop_score"] = np.array([c.score for c in crops])
    features, y, new = _golden_precomputed_data()
    for name, model in _golden_precomputed_models().items():
        results[name] = model.fit(features, y).predict(new)
        results[f"{name}_one_crop"] = model.fit(features[:, 0], y).predict(new[:, 0])
        results[f"{name}_float64"] = model.fit(features.astype(float), y).predict(
            new.astype(float)
        )
    constant = DeepBIQRegressor("precomputed", **GOLDEN_SVR)
    constant.fit(features, np.full(20, 50.0))
    results["pre_constant_scores"] = constant.predict(new)
    return results


@pytest.fixture
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _assert_golden(values, expected, name):
    if name.endswith("_boxes"):  # pixel positions: exact everywhere
        np.testing.assert_array_equal(values, expected, err_msg=name)
    else:
        np.testing.assert_allclose(values, expected, rtol=GOLDEN_RTOL, err_msg=name)


def test_predictions_are_those_stored_before_the_restructuring(one_torch_thread):
    golden = np.load(GOLDEN)
    results = golden_predictions()
    assert set(results) == set(golden.files)
    for name, values in results.items():
        if not name.endswith("_float64"):  # see the next test
            _assert_golden(values, golden[name], name)


def test_golden_predictions_repeat_bit_for_bit_on_one_machine(one_torch_thread):
    first, second = golden_predictions(), golden_predictions()
    for name, values in first.items():
        np.testing.assert_array_equal(values, second[name], err_msg=name)


def test_golden_float64_predictions_are_those_of_float32_training_features():
    # main fitted float64 precomputed features as float32: they went through a
    # list of rows, which check_array casts to its first dtype. Now they are
    # fitted as given (next test); fitted on float32, they match main's.
    golden = np.load(GOLDEN)
    features, y, new = _golden_precomputed_data()
    for name, model in _golden_precomputed_models().items():
        predicted = model.fit(features, y).predict(new.astype(float))
        _assert_golden(predicted, golden[f"{name}_float64"], name)


def test_float64_precomputed_features_are_fitted_in_float64():
    rng = np.random.default_rng(0)
    features, y = rng.normal(size=(10, 3, 4)), rng.uniform(1, 5, 10)
    model = DeepBIQRegressor("precomputed", power=1.0).fit(features, y)
    rows = features.reshape(30, 4)
    np.testing.assert_array_equal(model.scaler_.mean_, rows.mean(axis=0))
    assert model.scaler_.mean_.dtype == np.float64
