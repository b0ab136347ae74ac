"""CropPooler and the pooling functions."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeepbiq import CropPooler
from skdeepbiq._pooling import pool_crop_features, pool_crop_scores


@parametrize_with_checks(
    [CropPooler(), CropPooler(pooling="max"), CropPooler(pooling="concat")]
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
