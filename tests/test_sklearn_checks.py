"""scikit-learn's whole estimator suite on DeepBIQRegressor with precomputed features.

With ``featurizer="precomputed"`` the regressor takes tabular input (crop
features) and is tagged so, so ``parametrize_with_checks`` runs every check
on it, for each fusion and with another regressor than the default SVR.
"""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
from skdeepbiq.exceptions import ImageReadError, UnreadableImageWarning

ESTIMATORS = [
    DeepBIQRegressor("precomputed"),
    DeepBIQRegressor("precomputed", fusion="feature", pooling="max"),
    DeepBIQRegressor("precomputed", fusion="concatenation"),
    DeepBIQRegressor("precomputed", regressor=Ridge(), standardize=False),
]

EXPECTED_FAILED_CHECKS = {
    # A row of NaN features stands for an image without features (unreadable
    # with on_error="nan", see the featurizer): predict gives it a NaN score,
    # as for images, instead of raising. fit refuses it (or skips it with
    # skip_unreadable=True), and inf is refused everywhere; see
    # test_precomputed_nan_rows_are_missing_images_and_inf_is_refused.
    "check_estimators_nan_inf": "predict gives NaN rows a NaN score by design",
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_precomputed_nan_rows_are_missing_images_and_inf_is_refused():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 3)), rng.normal(size=10)
    with_nan, with_inf = X.copy(), X.copy()
    with_nan[4, 1], with_inf[4, 1] = np.nan, np.inf
    model = DeepBIQRegressor("precomputed")
    with pytest.raises(ImageReadError, match=r"X\[4\].*not finite \(NaN"):
        model.fit(with_nan, y)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.fit(with_inf, y)
    with pytest.warns(UnreadableImageWarning, match="fit skipped 1 of 10"):
        model.set_params(skip_unreadable=True).fit(with_nan, y)
    predicted = model.predict(with_nan)
    assert np.isnan(predicted[4]) and np.isfinite(np.delete(predicted, 4)).all()
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.predict(with_inf)


def test_only_precomputed_features_are_tagged_as_tabular_input():
    tabular = get_tags(DeepBIQRegressor("precomputed")).input_tags
    assert tabular.two_d_array and tabular.three_d_array and not tabular.string
    images = get_tags(DeepBIQRegressor(CNNCropFeaturizer())).input_tags
    assert not images.two_d_array and images.one_d_array and images.string


def test_precomputed_two_d_features_record_their_width_and_column_names():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(8, 3)), columns=list("abc"))
    model = DeepBIQRegressor("precomputed").fit(X, np.arange(8.0))
    assert model.n_features_in_ == 3 and model.n_crops_ == 1
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(X[["a", "c", "b"]])
    model.fit(X.to_numpy(), np.arange(8.0))
    with pytest.raises(ValueError, match="X has 2 features, but .* expecting 3"):
        model.predict(X.to_numpy()[:, :2])


def test_three_d_features_count_every_crop_feature_as_an_input_feature():
    X = np.random.default_rng(0).normal(size=(8, 3, 5))
    model = DeepBIQRegressor("precomputed").fit(X, np.arange(8.0))
    assert model.n_features_in_ == 15 and model.n_crops_ == 3
    assert not hasattr(model, "feature_names_in_")
