"""CropPooler and the pooling functions."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeepbiq import CNNCropFeaturizer, CropPooler
from skdeepbiq._pooling import crops_in_names, pool_crop_features, pool_crop_scores


@parametrize_with_checks(
    [
        CropPooler(n_crops=1),
        CropPooler(n_crops=1, pooling="max"),
        CropPooler(pooling="concat"),
    ]
)
def test_sklearn_compatible_pooler(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "pooling, reduce", [("min", np.min), ("mean", np.mean), ("max", np.max)]
)
def test_pooling_reduces_each_feature_over_the_crops(pooling, reduce):
    rng = np.random.default_rng(0)
    crops = rng.normal(size=(5, 4, 3))  # 5 images, 4 crops, 3 features
    X = crops.reshape(5, 12)
    expected = reduce(crops, axis=1)
    np.testing.assert_allclose(
        CropPooler(n_crops=4, pooling=pooling).fit_transform(X), expected
    )
    np.testing.assert_allclose(pool_crop_features(X, 4, pooling), expected)
    np.testing.assert_allclose(
        pool_crop_scores(crops[:, :, 0], pooling), expected[:, 0]
    )


def test_concat_keeps_every_column():
    X = np.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(
        CropPooler(n_crops=3, pooling="concat").fit_transform(X), X
    )


def test_width_not_a_multiple_of_n_crops_is_an_error():
    with pytest.raises(ValueError, match="not a multiple of n_crops=4"):
        CropPooler(n_crops=4).fit(np.zeros((2, 6)))


def test_feature_names_strip_the_crop_prefix():
    names = np.array(
        [f"crop{c}_feature{k}" for c in range(2) for k in range(3)], dtype=object
    )
    pooler = CropPooler(n_crops=2, pooling="max").fit(np.zeros((1, 6)))
    assert list(pooler.get_feature_names_out(names)) == [
        "max_feature0",
        "max_feature1",
        "max_feature2",
    ]


def crop_names(n_crops, n_features):
    return [f"crop{c}_feature{k}" for c in range(n_crops) for k in range(n_features)]


def test_pooler_without_n_crops_refuses_unnamed_columns_and_says_to_set_n_crops():
    with pytest.raises(ValueError, match="set n_crops"):
        CropPooler().fit(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="set n_crops"):
        CropPooler(pooling="max").transform(np.zeros((2, 6)))


def test_pooler_learns_n_crops_from_crop_feature_names():
    rng = np.random.default_rng(0)
    crops = rng.normal(size=(4, 3, 2))  # 4 images, 3 crops, 2 features
    X = pd.DataFrame(crops.reshape(4, 6), columns=crop_names(3, 2))
    pooler = CropPooler(pooling="max").fit(X)
    assert pooler.n_crops_ == 3
    np.testing.assert_allclose(pooler.transform(X), crops.max(axis=1))
    assert list(pooler.get_feature_names_out()) == ["max_feature0", "max_feature1"]
    np.testing.assert_allclose(
        CropPooler(pooling="max").transform(X), crops.max(axis=1)
    )


def test_names_that_are_not_crop_names_need_n_crops():
    X = pd.DataFrame(np.zeros((2, 4)), columns=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="set n_crops"):
        CropPooler().fit(X)
    assert CropPooler(n_crops=2).fit(X).n_crops_ == 2
    shuffled = pd.DataFrame(np.zeros((2, 4)), columns=crop_names(2, 2)[::-1])
    with pytest.raises(ValueError, match="set n_crops"):
        CropPooler().fit(shuffled)


def test_n_crops_that_contradicts_the_crop_names_is_an_error():
    X = pd.DataFrame(np.zeros((2, 6)), columns=crop_names(3, 2))
    with pytest.raises(ValueError, match="n_crops=2 but X's feature names .* 3 crops"):
        CropPooler(n_crops=2).fit(X)
    assert CropPooler(n_crops=3).fit(X).n_crops_ == 3


def test_crops_in_names_reads_only_crop_major_names():
    assert crops_in_names(crop_names(5, 3)) == 5
    assert crops_in_names(crop_names(1, 4)) == 1
    assert crops_in_names(["crop0_a", "crop1_a", "crop0_b", "crop1_b"]) is None
    assert crops_in_names(["crop0_a", "crop0_b", "crop1_a"]) is None
    assert crops_in_names(["x0", "x1"]) is None


def test_concat_needs_no_n_crops():
    X = np.arange(12.0).reshape(2, 6)
    pooler = CropPooler(pooling="concat").fit(X)
    assert pooler.n_crops_ is None
    np.testing.assert_array_equal(pooler.transform(X), X)


def pipeline(**pooler):
    return make_pipeline(
        CNNCropFeaturizer(weights=None, n_crops=5, crop_size=32, device="cpu"),
        CropPooler(**pooler),
        Ridge(),
    )


def test_default_pooler_after_the_featurizer_never_passes_crops_through(images):
    y = np.linspace(10, 90, len(images))
    with pytest.raises(ValueError, match="set n_crops"):
        pipeline().fit(images, y)


def test_default_pooler_pools_the_featurizer_output_with_pandas_output(images):
    y = np.linspace(10, 90, len(images))
    named = pipeline().set_output(transform="pandas").fit(images, y)
    explicit = pipeline(n_crops=5).fit(images, y)
    assert named[1].n_crops_ == 5
    assert named[-1].n_features_in_ == named[0].n_features_per_crop_
    np.testing.assert_allclose(named.predict(images), explicit.predict(images))
