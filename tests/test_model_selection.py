"""The paper's splitting protocols: CLIVE shuffle splits, reference splits, medians."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, ShuffleSplit, cross_validate

from skdeepbiq.model_selection import (
    ReferenceSplit,
    clive_splits,
    median_scores,
    predefined_validation,
    synthetic_splits,
)


def reference_groups(n_references, per_reference=4):
    """Reference id of each image: ``per_reference`` images per reference."""
    return np.repeat(np.arange(n_references) * 7 + 3, per_reference)


# clive_splits ----------------------------------------------------------------


def test_clive_splits_are_ten_random_80_20_splits_of_the_images():
    cv = clive_splits()
    assert isinstance(cv, ShuffleSplit)
    splits = list(cv.split(np.zeros(812)))
    assert len(splits) == cv.get_n_splits() == 10
    for train, test in splits:
        assert len(test) == 163 and len(train) == 649
        assert not np.intersect1d(train, test).size
    assert len({tuple(np.sort(test)) for _, test in splits}) == 10


def test_clive_splits_are_the_same_on_every_call_with_a_seed():
    first = [test for _, test in clive_splits(random_state=3).split(np.zeros(50))]
    again = [test for _, test in clive_splits(random_state=3).split(np.zeros(50))]
    other = [test for _, test in clive_splits(random_state=4).split(np.zeros(50))]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


# ReferenceSplit ----------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n_references=st.integers(5, 40),
    per_reference=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_no_reference_image_falls_in_two_parts(n_references, per_reference, seed):
    groups = reference_groups(n_references, per_reference)
    cv = ReferenceSplit(n_splits=5, random_state=seed)
    for train, validation, test in cv.split_validation(groups=groups):
        parts = [set(groups[train]), set(groups[validation]), set(groups[test])]
        assert not parts[0] & parts[1] and not parts[0] & parts[2]
        assert not parts[1] & parts[2]
        # every image of a reference goes with it
        for part in (train, validation, test):
            assert len(part) == per_reference * len(set(groups[part]))


@pytest.mark.parametrize(
    ("n_references", "expected"),
    [
        (10, (6, 2, 2)),
        (12, (7, 2, 3)),
        (29, (17, 6, 6)),
        (30, (18, 6, 6)),
        (25, (15, 5, 5)),
    ],
)
def test_part_sizes_are_60_20_20_percent_of_the_reference_images(
    n_references, expected
):
    groups = reference_groups(n_references)
    for train, validation, test in synthetic_splits(3).split_validation(groups=groups):
        sizes = tuple(len(set(groups[part])) for part in (train, validation, test))
        assert sizes == expected


def test_synthetic_splits_are_100_splits_with_the_paper_sizes():
    cv = synthetic_splits()
    assert cv.get_n_splits() == 100
    assert (cv.train_size, cv.validation_size, cv.test_size) == (0.6, 0.2, 0.2)


def test_split_yields_train_and_validation_merged_then_test():
    groups = reference_groups(12)
    cv = ReferenceSplit(n_splits=4, random_state=0)
    three = list(cv.split_validation(groups=groups))
    two = list(cv.split(np.zeros((len(groups), 2)), groups=groups))
    assert len(two) == cv.get_n_splits() == 4
    for (train, validation, test), (development, test_again) in zip(
        three, two, strict=True
    ):
        assert np.array_equal(development, np.union1d(train, validation))
        assert np.array_equal(test, test_again)


def test_reference_splits_are_reproducible_and_differ_between_splits():
    groups = reference_groups(20)
    first = [
        test
        for _, _, test in ReferenceSplit(5, random_state=1).split_validation(
            groups=groups
        )
    ]
    again = [
        test
        for _, _, test in ReferenceSplit(5, random_state=1).split_validation(
            groups=groups
        )
    ]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert len({tuple(test) for test in first}) > 1


def test_sizes_may_be_numbers_of_reference_images():
    groups = reference_groups(10)
    cv = ReferenceSplit(
        2, train_size=None, validation_size=3, test_size=1, random_state=0
    )
    for train, validation, test in cv.split_validation(groups=groups):
        assert [len(set(groups[p])) for p in (train, validation, test)] == [6, 3, 1]


def test_validation_size_zero_leaves_the_validation_part_empty():
    groups = reference_groups(10)
    cv = ReferenceSplit(2, train_size=None, validation_size=0, random_state=0)
    for train, validation, test in cv.split_validation(groups=groups):
        assert len(validation) == 0
        assert len(set(groups[train])) == 8 and len(set(groups[test])) == 2


def test_reference_split_requires_groups():
    with pytest.raises(ValueError, match="needs groups"):
        next(ReferenceSplit().split(np.zeros((10, 2))))


def test_sizes_that_do_not_fit_are_an_error_naming_the_counts():
    with pytest.raises(ValueError, match="cannot split 3 reference images into"):
        next(ReferenceSplit(test_size=0.5, validation_size=0.5).split(groups=[1, 2, 3]))
    with pytest.raises(ValueError, match="test_size must be a fraction"):
        next(ReferenceSplit(test_size=1.5).split(groups=reference_groups(10)))


def test_groups_must_match_the_number_of_samples():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        next(ReferenceSplit().split(np.zeros((5, 1)), groups=reference_groups(2)))


# Handing the validation part to GridSearchCV -----------------------------------


class SizeRecorder(RegressorMixin, BaseEstimator):
    """Predicts the mean; records the rows it was fitted on (column 0 is the id)."""

    fitted_on = []

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y):
        SizeRecorder.fitted_on.append(np.asarray(X)[:, 0].astype(int).tolist())
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_predefined_validation_trains_on_train_and_validates_on_validation():
    groups = reference_groups(10)
    X = np.column_stack([np.arange(len(groups)), np.ones(len(groups))])
    y = np.arange(len(groups), dtype=float)
    train, validation, test = next(
        ReferenceSplit(1, random_state=0).split_validation(groups=groups)
    )
    development, cv = predefined_validation(train, validation)
    assert np.array_equal(development, np.union1d(train, validation))
    [(fit_rows, score_rows)] = list(cv.split())
    assert np.array_equal(development[fit_rows], train)
    assert np.array_equal(development[score_rows], validation)

    SizeRecorder.fitted_on = []
    search = GridSearchCV(SizeRecorder(), {"alpha": [1.0, 2.0]}, cv=cv)
    search.fit(X[development], y[development])
    assert SizeRecorder.fitted_on[:2] == [train.tolist(), train.tolist()]
    assert SizeRecorder.fitted_on[2] == development.tolist()  # refit on both


def test_predefined_validation_rejects_overlapping_or_empty_parts():
    with pytest.raises(ValueError, match="share images"):
        predefined_validation([0, 1, 2], [2, 3])
    with pytest.raises(ValueError, match="non-empty"):
        predefined_validation([0, 1], [])


def test_validation_splitter_holds_out_a_quarter_of_the_development_references():
    splitter = ReferenceSplit(random_state=0).validation_splitter()
    assert splitter.test_size == pytest.approx(0.25)
    groups = reference_groups(8)
    train, validation = next(splitter.split(np.zeros(len(groups)), groups=groups))
    assert len(set(groups[validation])) == 2
    assert not set(groups[train]) & set(groups[validation])


def test_nested_cross_validate_uses_reference_splits_inside_and_outside():
    rng = np.random.default_rng(0)
    groups = reference_groups(15, 3)
    X = rng.normal(size=(len(groups), 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(scale=0.1, size=len(groups))
    cv = ReferenceSplit(n_splits=3, random_state=0)
    search = GridSearchCV(Ridge(), {"alpha": [0.1, 10.0]}, cv=cv.validation_splitter())
    results = cross_validate(
        search,
        X,
        y,
        groups=groups,
        cv=cv,
        params={"groups": groups},
        return_indices=True,
        return_estimator=True,
    )
    for train, test in zip(
        results["indices"]["train"], results["indices"]["test"], strict=True
    ):
        assert not set(groups[train]) & set(groups[test])
        assert len(set(groups[test])) == 3
    assert all(est.best_params_["alpha"] in (0.1, 10.0) for est in results["estimator"])
    assert median_scores(results)["test_score"] > 0.9


# median_scores -----------------------------------------------------------------


def test_median_scores_of_per_split_dicts():
    splits = [
        {"srocc": 0.7, "plcc": 0.9},
        {"srocc": 0.9, "plcc": 0.6},
        {"srocc": 0.8, "plcc": 0.7},
    ]
    assert median_scores(splits) == {"srocc": 0.8, "plcc": 0.7}


def test_median_scores_of_cross_validate_results_skip_non_numbers():
    results = {
        "test_srocc": np.array([0.1, 0.5, 0.4, 0.9]),
        "fit_time": np.array([1.0, 2.0, 3.0, 4.0]),
        "estimator": [Ridge()] * 4,
        "indices": {"train": [], "test": []},
    }
    assert median_scores(results) == {"test_srocc": 0.45, "fit_time": 2.5}


def test_median_scores_of_a_dataframe_with_one_row_per_split():
    frame = pd.DataFrame({"srocc": [0.2, 0.4, 0.9], "config": ["a", "b", "c"]})
    assert median_scores(frame) == {"srocc": 0.4}


def test_a_nan_split_makes_the_median_nan():
    assert np.isnan(median_scores([{"srocc": 0.5}, {"srocc": float("nan")}])["srocc"])


def test_median_scores_rejects_other_inputs():
    with pytest.raises(TypeError, match="per-split"):
        median_scores([0.1, 0.2])


def test_public_names_are_importable_from_skdeepbiq_model_selection():
    import skdeepbiq.model_selection as model_selection

    assert sorted(model_selection.__all__) == [
        "ReferenceSplit",
        "clive_splits",
        "median_scores",
        "predefined_validation",
        "synthetic_splits",
    ]
    assert isinstance(
        model_selection.synthetic_splits(), model_selection.ReferenceSplit
    )
