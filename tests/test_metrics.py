"""Tests of skdeepbiq.metrics: metric values, the logistic mapping, scorers."""

import pickle

import numpy as np
import pytest
import sklearn
from scipy import stats
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from skdeepbiq.exceptions import SkDeepBIQWarning
from skdeepbiq.metrics import (
    SCORERS,
    fit_logistic_5,
    get_scorer,
    get_scorer_names,
    krocc,
    logistic_5,
    mae,
    nmae,
    plcc,
    plcc_logistic,
    rmse,
    srocc,
    within_k_std,
)

CORRELATIONS = [plcc, srocc, krocc, plcc_logistic]
TWO_ARGUMENT_METRICS = [plcc, srocc, krocc, plcc_logistic, rmse, mae, nmae]


@pytest.fixture
def scores_with_ties():
    """MOS-like targets and noisy, partly tied predictions."""
    rng = np.random.default_rng(0)
    y_true = rng.uniform(0, 100, 60)
    y_pred = np.round(y_true + rng.normal(0, 15, 60), -1)  # rounding makes ties
    return y_true, y_pred


@pytest.fixture
def regression_data():
    X, y = make_regression(
        n_samples=90, n_features=6, noise=20.0, random_state=0, shuffle=True
    )
    return X, y


# ---------------------------------------------------------------------------
# Metric values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metric, reference",
    [
        (plcc, lambda a, b: stats.pearsonr(a, b).statistic),
        (srocc, lambda a, b: stats.spearmanr(a, b).statistic),
        (krocc, lambda a, b: stats.kendalltau(a, b).statistic),
    ],
)
def test_correlations_match_scipy_stats_with_ties(metric, reference, scores_with_ties):
    y_true, y_pred = scores_with_ties
    assert metric(y_true, y_pred) == pytest.approx(reference(y_true, y_pred), abs=1e-12)


@pytest.mark.parametrize("metric", [plcc, srocc, krocc, rmse, mae, nmae])
def test_metrics_return_python_floats(metric, scores_with_ties):
    assert type(metric(*scores_with_ties)) is float


def test_krocc_is_tau_b_on_a_hand_example():
    # 5 concordant and 1 discordant pairs out of 6, no ties: (5 - 1) / 6.
    assert krocc([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)


def test_metrics_accept_column_vectors_and_lists():
    column = np.array([[1.0], [2.0], [3.0], [5.0]])
    assert plcc(column, [1, 2, 3, 5]) == pytest.approx(1.0)
    assert rmse(column, column) == 0.0


def test_rmse_matches_hand_computation():
    y_true = [10.0, 20.0, 30.0, 40.0]
    y_pred = [12.0, 17.0, 30.0, 44.0]  # errors 2, -3, 0, 4
    assert rmse(y_true, y_pred) == pytest.approx(np.sqrt((4 + 9 + 0 + 16) / 4))


def test_mae_matches_hand_computation():
    y_true = [10.0, 20.0, 30.0, 40.0]
    y_pred = [12.0, 17.0, 30.0, 44.0]
    assert mae(y_true, y_pred) == pytest.approx((2 + 3 + 0 + 4) / 4)


def test_nmae_divides_mae_by_the_range_of_y_true():
    y_true = [10.0, 20.0, 30.0, 40.0]  # range 30
    y_pred = [12.0, 17.0, 30.0, 44.0]  # MAE 2.25
    assert nmae(y_true, y_pred) == pytest.approx(2.25 / 30)


def test_nmae_with_score_range_divides_by_that_width():
    assert nmae([10, 20, 30, 40], [12, 17, 30, 44], score_range=100) == pytest.approx(
        0.0225
    )


@pytest.mark.parametrize("score_range", [0, -1, "100"])
def test_nmae_rejects_a_non_positive_score_range(score_range):
    with pytest.raises(ValueError, match="score_range"):
        nmae([1, 2], [1, 2], score_range=score_range)


def test_nmae_of_constant_y_true_warns_and_returns_nan():
    with pytest.warns(SkDeepBIQWarning, match="nMAE is undefined"):
        assert np.isnan(nmae([5, 5, 5], [4, 5, 6]))


def test_perfect_predictions_score_best():
    y = np.array([3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0])
    assert plcc(y, y) == pytest.approx(1.0)
    assert srocc(y, y) == pytest.approx(1.0)
    assert krocc(y, y) == pytest.approx(1.0)
    assert rmse(y, y) == mae(y, y) == nmae(y, y) == 0.0


# ---------------------------------------------------------------------------
# Degenerate and invalid inputs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", CORRELATIONS)
@pytest.mark.parametrize(
    "y_true, y_pred, reason",
    [
        ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [1, 2, 3, 4, 5, 6], "y_true is constant"),
        ([1, 2, 3, 4, 5, 6], [7.0] * 6, "y_pred is constant"),
        ([1.0], [2.0], "fewer than two samples"),
    ],
)
def test_correlations_of_degenerate_input_warn_and_return_nan(
    metric, y_true, y_pred, reason
):
    with pytest.warns(SkDeepBIQWarning, match=reason):
        assert np.isnan(metric(y_true, y_pred))


@pytest.mark.parametrize("metric", TWO_ARGUMENT_METRICS)
def test_mismatched_lengths_raise_naming_both_arguments(metric):
    with pytest.raises(ValueError, match="y_true has 3, y_pred has 4"):
        metric([1, 2, 3], [1, 2, 3, 4])


def test_within_k_std_mismatched_lengths_name_mos_std():
    with pytest.raises(ValueError, match="mos_std has 2"):
        within_k_std([1, 2, 3], [1, 2, 3], [1, 1])


@pytest.mark.parametrize("metric", TWO_ARGUMENT_METRICS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_raise(metric, bad):
    with pytest.raises(ValueError, match="y_pred"):
        metric([1.0, 2.0, 3.0], [1.0, bad, 3.0])


@pytest.mark.parametrize("metric", TWO_ARGUMENT_METRICS)
def test_two_dimensional_input_raises(metric):
    with pytest.raises(ValueError, match="1d array"):
        metric(np.ones((3, 2)), np.ones((3, 2)))


@pytest.mark.parametrize("metric", TWO_ARGUMENT_METRICS)
def test_empty_input_raises(metric):
    with pytest.raises(ValueError, match="empty"):
        metric([], [])


# ---------------------------------------------------------------------------
# within_k_std
# ---------------------------------------------------------------------------


def test_within_k_std_counts_errors_within_k_standard_deviations():
    y_true = [50.0, 60.0, 70.0, 80.0, 90.0]
    y_pred = [55.0, 70.0, 70.0, 60.0, 91.0]  # errors 5, 10, 0, 20, 1
    mos_std = [5.0, 5.0, 1.0, 5.0, 0.5]
    assert within_k_std(y_true, y_pred, mos_std) == pytest.approx(2 / 5)
    assert within_k_std(y_true, y_pred, mos_std, k=2) == pytest.approx(4 / 5)
    assert within_k_std(y_true, y_pred, mos_std, k=4) == pytest.approx(1.0)


def test_within_k_std_with_k_zero_counts_exact_predictions_only():
    assert within_k_std([1, 2, 3], [1, 2.5, 3], [1, 1, 1], k=0) == pytest.approx(2 / 3)


def test_within_k_std_rejects_negative_standard_deviations():
    with pytest.raises(ValueError, match="mos_std must be non-negative"):
        within_k_std([1, 2], [1, 2], [1, -0.5])


@pytest.mark.parametrize("k", [-1, "1", None, True])
def test_within_k_std_rejects_invalid_k(k):
    with pytest.raises(ValueError, match="k must be"):
        within_k_std([1, 2], [1, 2], [1, 1], k=k)


# ---------------------------------------------------------------------------
# 5-parameter logistic
# ---------------------------------------------------------------------------


def test_logistic_5_matches_the_vqeg_formula():
    x = np.linspace(-3, 3, 13)
    b1, b2, b3, b4, b5 = 10.0, 1.3, 0.4, 0.7, 2.0
    expected = b1 * (0.5 - 1 / (1 + np.exp(b2 * (x - b3)))) + b4 * x + b5
    np.testing.assert_allclose(logistic_5(x, b1, b2, b3, b4, b5), expected)


def test_logistic_5_does_not_overflow_for_extreme_arguments():
    with np.errstate(over="raise"):
        values = logistic_5([-1e6, 1e6], 2.0, 10.0, 0.0, 0.0, 0.0)
    np.testing.assert_allclose(values, [-1.0, 1.0])


@pytest.mark.parametrize(
    "params",
    [
        (40.0, 1.5, 0.5, 1.0, 50.0),  # increasing, with a linear term
        (3.0, -0.8, -1.0, 0.0, 3.0),  # decreasing (DMOS-like)
        (80.0, 0.02, 300.0, 0.01, 40.0),  # predictions on a large, offset scale
    ],
)
def test_fit_logistic_5_recovers_the_parameters_of_a_noiseless_logistic(params):
    b2, b3 = params[1], params[2]
    x = b3 + np.linspace(-5, 5, 80) / abs(b2)
    y = logistic_5(x, *params)
    fitted = fit_logistic_5(x, y)
    np.testing.assert_allclose(logistic_5(x, *fitted), y, atol=1e-6 * np.ptp(y))
    np.testing.assert_allclose(fitted, params, rtol=1e-4, atol=1e-6)


def test_fit_logistic_5_recovers_parameters_from_noisy_data():
    rng = np.random.default_rng(1)
    params = (60.0, 2.0, 0.3, 0.0, 45.0)
    x = rng.uniform(-2, 2, 400)
    y = logistic_5(x, *params) + rng.normal(0, 1.0, x.shape)
    fitted = fit_logistic_5(x, y)
    np.testing.assert_allclose(fitted[:3], params[:3], rtol=0.1, atol=0.1)
    assert fitted[4] == pytest.approx(params[4], abs=1.0)


def test_fit_logistic_5_returns_the_form_with_non_negative_amplitude():
    x = np.linspace(-4, 4, 50)
    y = logistic_5(x, -5.0, 1.0, 0.0, 0.0, 0.0)  # == logistic_5(x, 5, -1, 0, 0, 0)
    np.testing.assert_allclose(fit_logistic_5(x, y), [5.0, -1.0, 0, 0, 0], atol=1e-5)


def test_fit_logistic_5_needs_five_samples():
    with pytest.raises(ValueError, match="at least 5 samples"):
        fit_logistic_5([1, 2, 3, 4], [1, 2, 3, 4])


def test_fit_logistic_5_rejects_constant_input():
    with pytest.raises(ValueError, match="non-constant"):
        fit_logistic_5([1, 1, 1, 1, 1, 1], [1, 2, 3, 4, 5, 6])


def test_plcc_logistic_exceeds_plcc_on_a_monotone_nonlinear_relation():
    rng = np.random.default_rng(2)
    y_pred = rng.uniform(-3, 3, 200)
    y_true = 100 / (1 + np.exp(-2.5 * y_pred)) + rng.normal(0, 2, 200)
    linear, mapped = plcc(y_true, y_pred), plcc_logistic(y_true, y_pred)
    assert mapped > linear + 0.03
    assert mapped > 0.99


def test_plcc_logistic_of_a_decreasing_relation_is_close_to_plus_one():
    rng = np.random.default_rng(4)
    quality = rng.uniform(0, 1, 150)
    dmos = 100 - 90 / (1 + np.exp(-8 * (quality - 0.5))) + rng.normal(0, 1, 150)
    assert plcc(dmos, quality) < 0
    assert plcc_logistic(dmos, quality) > 0.99


def test_plcc_logistic_on_a_linear_relation_is_no_worse_than_plcc():
    rng = np.random.default_rng(5)
    y_pred = rng.normal(size=1000)
    y_true = 20 * y_pred + 50 + rng.normal(0, 5, 1000)
    linear, mapped = plcc(y_true, y_pred), plcc_logistic(y_true, y_pred)
    assert linear - 1e-9 <= mapped < linear + 0.005


def test_plcc_logistic_equals_plcc_of_the_fitted_mapping(scores_with_ties):
    y_true, y_pred = scores_with_ties
    mapped = logistic_5(y_pred, *fit_logistic_5(y_pred, y_true))
    assert plcc_logistic(y_true, y_pred) == pytest.approx(plcc(y_true, mapped))


def test_plcc_logistic_with_too_few_samples_warns_and_returns_plain_plcc():
    y_true, y_pred = [1.0, 2.0, 4.0, 3.0], [1.0, 2.5, 3.0, 3.5]
    with pytest.warns(SkDeepBIQWarning, match="logistic fit failed"):
        value = plcc_logistic(y_true, y_pred)
    assert value == pytest.approx(plcc(y_true, y_pred))


# ---------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------


def test_scorers_dict_has_the_documented_names():
    assert sorted(SCORERS) == sorted(
        ["plcc", "srocc", "krocc", "plcc_logistic", "neg_rmse", "neg_mae", "neg_nmae"]
    )


def test_scorers_in_cross_validate_equal_the_metrics_on_each_test_fold(
    regression_data,
):
    X, y = regression_data
    result = cross_validate(
        Ridge(),
        X,
        y,
        cv=KFold(4, shuffle=True, random_state=0),
        scoring=SCORERS,
        return_estimator=True,
        return_indices=True,
    )
    metrics = {
        "plcc": plcc,
        "srocc": srocc,
        "krocc": krocc,
        "plcc_logistic": plcc_logistic,
        "neg_rmse": lambda a, b: -rmse(a, b),
        "neg_mae": lambda a, b: -mae(a, b),
        "neg_nmae": lambda a, b: -nmae(a, b),
    }
    for fold, estimator in enumerate(result["estimator"]):
        test = result["indices"]["test"][fold]
        y_pred = estimator.predict(X[test])
        for name, metric in metrics.items():
            assert result[f"test_{name}"][fold] == pytest.approx(
                metric(y[test], y_pred)
            )


def test_loss_scorers_are_negated_so_that_greater_is_better(regression_data):
    X, y = regression_data
    model = Ridge().fit(X, y)
    for name, metric in [("neg_rmse", rmse), ("neg_mae", mae), ("neg_nmae", nmae)]:
        assert SCORERS[name](model, X, y) == pytest.approx(-metric(y, model.predict(X)))
        assert SCORERS[name](model, X, y) < 0


def test_a_subset_of_scorers_works_in_cross_validate(regression_data):
    X, y = regression_data
    scoring = {name: SCORERS[name] for name in ["srocc", "plcc"]}
    result = cross_validate(Ridge(), X, y, cv=3, scoring=scoring)
    assert set(result) >= {"test_srocc", "test_plcc"}
    assert np.all(result["test_srocc"] > 0.8)


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_scorers_by_name_select_a_model_in_grid_search(name, regression_data):
    X, y = regression_data
    search = GridSearchCV(
        Ridge(), {"alpha": [0.01, 1e5]}, scoring=get_scorer(name), cv=3
    ).fit(X, y)
    # A huge penalty shrinks predictions to the mean: worse on every measure.
    assert search.best_params_ == {"alpha": 0.01}


def test_grid_search_with_several_scorers_by_name_refits_on_one(regression_data):
    X, y = regression_data
    scoring = {name: get_scorer(name) for name in ["srocc", "neg_rmse", "r2"]}
    search = GridSearchCV(
        Ridge(), {"alpha": [0.01, 1e5]}, scoring=scoring, refit="srocc", cv=3
    ).fit(X, y)
    assert {"mean_test_srocc", "mean_test_neg_rmse", "mean_test_r2"} <= set(
        search.cv_results_
    )
    assert search.best_params_ == {"alpha": 0.01}


def test_get_scorer_returns_a_fresh_copy_each_time():
    first, second = get_scorer("srocc"), get_scorer("srocc")
    assert first is not second
    assert first is not SCORERS["srocc"]


def test_get_scorer_returns_callables_unchanged():
    scorer = SCORERS["plcc"]
    assert get_scorer(scorer) is scorer


def test_get_scorer_falls_back_to_scikit_learn_names(regression_data):
    X, y = regression_data
    model = Ridge().fit(X, y)
    assert get_scorer("r2")(model, X, y) == pytest.approx(model.score(X, y))


@pytest.mark.parametrize("loss", ["rmse", "mae", "nmae"])
def test_get_scorer_points_loss_names_to_their_negated_form(loss):
    with pytest.raises(ValueError, match=f"use 'neg_{loss}'"):
        get_scorer(loss)


def test_get_scorer_rejects_unknown_names_listing_the_valid_ones():
    with pytest.raises(ValueError, match="not a valid scoring value.*'srocc'"):
        get_scorer("sroc")


def test_get_scorer_names_lists_this_package_first_then_scikit_learn():
    names = get_scorer_names()
    assert names[: len(SCORERS)] == list(SCORERS)
    assert "within_<k>_std" in names
    assert "r2" in names


def test_scorers_pickle_for_parallel_search():
    for name, scorer in SCORERS.items():
        restored = pickle.loads(pickle.dumps(scorer))
        assert restored._score_func is scorer._score_func, name


def test_within_k_std_scorer_requires_metadata_routing():
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        get_scorer("within_1_std")


def test_within_k_std_scorer_gets_each_test_folds_mos_std_by_routing(regression_data):
    X, y = regression_data
    rng = np.random.default_rng(3)
    mos_std = rng.uniform(5, 40, len(y))
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            Ridge(),
            X,
            y,
            cv=cv,
            scoring={
                "within": get_scorer("within_2_std"),
                "srocc": get_scorer("srocc"),
            },
            params={"mos_std": mos_std},
            return_estimator=True,
            return_indices=True,
        )
    for fold, estimator in enumerate(result["estimator"]):
        test = result["indices"]["test"][fold]
        expected = within_k_std(y[test], estimator.predict(X[test]), mos_std[test], k=2)
        assert result["test_within"][fold] == pytest.approx(expected)


def test_within_k_std_scorer_accepts_fractional_k():
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = get_scorer("within_1.5_std")
    assert scorer._kwargs == {"k": 1.5}


def test_within_k_std_scorer_works_in_grid_search_fit_params(regression_data):
    X, y = regression_data
    mos_std = np.full(len(y), 25.0)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            Ridge(),
            {"alpha": [0.01, 1e5]},
            scoring=get_scorer("within_1_std"),
            cv=3,
        ).fit(X, y, mos_std=mos_std)
    assert search.best_params_ == {"alpha": 0.01}
    assert 0 <= search.best_score_ <= 1


def test_public_names_are_importable_from_skdeepbiq_metrics():
    import skdeepbiq.metrics as metrics

    assert sorted(metrics.__all__) == sorted(
        ["SCORERS", "fit_logistic_5", "get_scorer", "get_scorer_names", "krocc",
         "logistic_5", "mae", "nmae", "plcc", "plcc_logistic", "rmse", "srocc",
         "within_k_std"]
    )  # fmt: skip
    for name in metrics.__all__:
        assert getattr(metrics, name) is not None
    assert list(metrics.SCORERS) == metrics.get_scorer_names()[: len(metrics.SCORERS)]
