"""Prediction intervals on clive-dev: coverage and width, constant and adaptive.

The protocol of ``protocol.py``: for each of ten 80/20 splits, the untuned
default model (``DeepBIQRegressor()``, features cached) is fitted on the
training photos, calibrated on out-of-fold predictions of those photos
(five folds, the head fitted again on each training part:
``calibrate(cv=5)`` in the package), and its intervals are scored on the
test photos it never saw:

- empirical coverage and mean width at each nominal confidence (the
  calibration plot), for ``method="absolute"`` (one width for every photo),
  ``"crop_spread"`` (errors divided by the spread of the photo's crop
  scores, so that intervals widen where its crops disagree) and
  ``"score_bins"`` (errors within the photo's third of predicted scores);
- coverage at 90% in the low, middle and high thirds of the true MOS and of
  the crop spread (thirds of all of clive-dev's photos);
- how well the same features predict the raters' disagreement
  (``mos_std``): a second ``DeepBIQRegressor`` fitted on it, its rank
  correlation with the true ``mos_std`` on the test photos, and, for
  comparison, that of the crop spread.

One JSON line per seed goes to ``benchmarks/results/intervals.jsonl``, with
each split's figures.

``--recipe-log LOG`` measures the shipped recipe's intervals instead, from
the out-of-fold predictions that ``finetune.py`` logged for it (each split's
network tuned on its training photos only), without running a network: each
split's test photos are scored with intervals calibrated on the other
splits' predictions of the other photos (``"absolute"`` and
``"score_bins"``; the log holds no crop scores). Both seeds by default: 0 (the choice splits, on which
the default method is chosen) and 1 (the fresh splits, which confirm it).

Run::

    python benchmarks/intervals.py --cache ~/.cache/skdeepbiq
"""

import argparse
import time

import numpy as np
from protocol import (
    add_random_state_option,
    clive_dev_splits,
    column_medians,
    figures,
    load_clive_dev,
    record,
    tuned_predictions,
)
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold

from skdeepbiq import DeepBIQRegressor, default_featurizer

LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
METHODS = ("absolute", "crop_spread", "score_bins")
INNER = 5


def out_of_fold(features, y, inner_cv):
    """Out-of-fold crop scores of the default head on ``features``."""
    crop_scores = np.full((len(y), features.shape[1]), np.nan)
    for train, test in inner_cv.split(features):
        model = DeepBIQRegressor("precomputed").fit(features[train], y[train])
        crop_scores[test] = model.predict_crops(features[test])
    return crop_scores


def thirds(values, edges):
    """0, 1 or 2: which third of ``edges`` (two cut points) each value is in."""
    return np.searchsorted(edges, values, side="right")


def coverage_figures(model, rows, truth, method, groups) -> dict:
    """Coverage and mean width of ``model``'s intervals of ``rows`` at each level.

    At 90%, also the coverage within each third of each of ``groups``
    (name -> which third each photo is in; None for an empty third).
    """
    found = {}
    for level in LEVELS:
        bounds = model.predict_interval(rows, level)
        inside = (bounds[:, 0] <= truth) & (truth <= bounds[:, 1])
        key = f"{method}_{level:g}"
        found[f"{key}_coverage"] = float(inside.mean())
        found[f"{key}_width"] = float(np.mean(bounds[:, 1] - bounds[:, 0]))
        if level == 0.9:
            for name, labels in groups.items():
                for third in range(3):
                    chosen = labels == third
                    found[f"{key}_coverage_{name}{third}"] = (
                        float(inside[chosen].mean()) if chosen.any() else None
                    )
    return found


def split_row(features, mos, mos_std, train, test, edges):
    """One split's interval figures, for both methods."""
    model = DeepBIQRegressor("precomputed").fit(features[train], mos[train])
    inner = KFold(INNER, shuffle=True, random_state=0)
    oof = out_of_fold(features[train], mos[train], inner)
    test_crops = model.predict_crops(features[test])
    spread = test_crops.std(axis=1)
    truth = mos[test]
    row = figures(truth, model.predict(features[test]))
    for method in METHODS:
        model.calibrate_from_predictions(
            mos[train], oof.mean(axis=1), spread=oof.std(axis=1), method=method,
            source="cross-validation",
        )  # fmt: skip
        groups = {
            "mos": thirds(truth, edges["mos"]),
            "spread": thirds(spread, edges["spread"]),
        }
        row |= coverage_figures(model, features[test], truth, method, groups)
    disagreement = DeepBIQRegressor("precomputed").fit(features[train], mos_std[train])
    row["mos_std_srocc"] = float(
        spearmanr(disagreement.predict(features[test]), mos_std[test]).statistic
    )
    row["spread_mos_std_srocc"] = float(spearmanr(spread, mos_std[test]).statistic)
    row["spread_error_srocc"] = float(
        spearmanr(spread, np.abs(truth - test_crops.mean(axis=1))).statistic
    )
    return row


def recipe_rows(log, mos, random_state):
    """Each split's interval figures for a recipe's logged out-of-fold predictions."""
    tests = clive_dev_splits(len(mos), random_state=random_state)
    by_split = tuned_predictions([log])
    numbers = sorted(by_split)
    logged = [(tests[number][1], by_split[number]) for number in numbers]
    edges = np.quantile(mos, [1 / 3, 2 / 3])
    rows = []
    for number, (test, predicted) in enumerate(logged):
        others = [
            (indices[~np.isin(indices, test)], values[~np.isin(indices, test)])
            for k, (indices, values) in enumerate(logged)
            if k != number
        ]
        indices = np.concatenate([indices for indices, _ in others])
        values = np.concatenate([values for _, values in others])
        model = identity_head()
        truth = mos[test]
        row = {"split": numbers[number], **figures(truth, predicted)}
        for method in ("absolute", "score_bins"):
            model.calibrate_from_predictions(
                mos[indices], values, method=method, source="other splits"
            )
            groups = {"mos": thirds(truth, edges)}
            row |= coverage_figures(model, predicted[:, None], truth, method, groups)
        rows.append(row)
    return rows


def identity_head():
    """A model whose one feature is its prediction: intervals around given scores.

    ``predict_interval`` works on features; fitted to map a single feature to
    itself (no power, no scaling, a least-squares line through two points),
    the model's prediction of a row ``[p]`` is ``p``, and its intervals are
    those of the calibration around ``p``.
    """
    return DeepBIQRegressor(
        "precomputed", regressor=LinearRegression(), power=1.0, standardize=False
    ).fit(np.array([[0.0], [100.0]]), np.array([0.0, 100.0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature cache folder")
    add_random_state_option(parser, several=True)
    parser.add_argument("--results", default="intervals.jsonl")
    parser.add_argument(
        "--recipe-log", help="finetune.py's log of the shipped recipe's splits"
    )
    args = parser.parse_args()
    if args.recipe_log:
        data = load_clive_dev(args.data)
        mos = np.asarray(data.y, dtype=float)
        for seed in args.random_state:
            rows = recipe_rows(args.recipe_log, mos, seed)
            medians = column_medians(rows)
            from pathlib import Path

            record(
                args.results,
                benchmark="intervals",
                configuration={
                    "model": "shipped recipe",
                    "log": Path(args.recipe_log).name,
                    "levels": list(LEVELS),
                },  # fmt: skip
                random_state=seed,
                per_split=rows,
                interval_medians=medians,
            )
            print(
                f"recipe, seed {seed}: "
                + "; ".join(
                    f"{method} 90% {medians[f'{method}_0.9_coverage']:.3f} "
                    f"width {medians[f'{method}_0.9_width']:.1f} by MOS third "
                    + "/".join(
                        f"{medians[f'{method}_0.9_coverage_mos{t}']:.2f}"
                        for t in range(3)
                    )
                    for method in ("absolute", "score_bins")
                )
            )
        return

    data = load_clive_dev(args.data)
    paths, mos = np.asarray(data.paths), np.asarray(data.y, dtype=float)
    if getattr(data, "mos_std", None) is None:
        raise SystemExit("the manifest has no mos_std column")
    mos_std = np.asarray(data.mos_std, dtype=float)
    start = time.perf_counter()
    featurizer = default_featurizer(memory=args.cache).fit(paths)
    features = featurizer.transform(paths).reshape(len(paths), featurizer.n_crops_, -1)
    print(f"features of {len(paths)} photos: {time.perf_counter() - start:.0f} s")
    all_crops = np.full((len(paths), featurizer.n_crops_), np.nan)
    for train, test in KFold(INNER, shuffle=True, random_state=0).split(features):
        head = DeepBIQRegressor("precomputed").fit(features[train], mos[train])
        all_crops[test] = head.predict_crops(features[test])
    edges = {
        "mos": np.quantile(mos, [1 / 3, 2 / 3]),
        "spread": np.quantile(all_crops.std(axis=1), [1 / 3, 2 / 3]),
    }
    for seed in args.random_state:
        rows = []
        for number, (train, test) in enumerate(clive_dev_splits(len(paths), seed)):
            row = {
                "split": number,
                **split_row(features, mos, mos_std, train, test, edges),
            }
            rows.append(row)
            print(
                f"seed {seed} split {number}: "
                + " ".join(
                    f"{method} 90% {row[f'{method}_0.9_coverage']:.3f} "
                    f"({row[f'{method}_0.9_width']:.1f} wide)"
                    for method in METHODS
                )
                + f"; mos_std SROCC {row['mos_std_srocc']:.3f}",
                flush=True,
            )
        medians = column_medians(rows)
        record(
            args.results,
            benchmark="intervals",
            configuration={
                "model": "default",
                "inner_folds": INNER,
                "levels": list(LEVELS),
            },  # fmt: skip
            random_state=seed,
            per_split=rows,
            interval_medians=medians,
            tercile_edges={key: value.tolist() for key, value in edges.items()},
        )
        print(
            f"seed {seed}, medians: "
            + " ".join(
                f"{method} 90% {medians[f'{method}_0.9_coverage']:.3f} "
                f"width {medians[f'{method}_0.9_width']:.1f}"
                for method in METHODS
            )
            + f"; mos_std SROCC {medians['mos_std_srocc']:.3f}"
        )


if __name__ == "__main__":
    main()
