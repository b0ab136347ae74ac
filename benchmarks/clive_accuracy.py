"""Accuracy of the untuned models on clive-dev, on the choice and the fresh splits.

The CLIVE protocol of ``protocol.py``: ten random 80/20 splits of the 812
clive-dev photos, median SROCC, PLCC, KROCC and RMSE. ``--random-state 0``
gives the splits on which every default was chosen, ``1`` ten fresh ones
that no choice looked at. One JSON line per model and seed goes to
``benchmarks/results/clive_accuracy.jsonl``, with each split's figures and
test predictions.

Models (``--models``, comma-separated):

``default``
    ``DeepBIQRegressor()``: EfficientNet-Lite2's stage statistics (means
    and standard deviations) of 25 random 224-px crops (shared trunk), a
    LinearSVR on every crop with the fixed ``C=1e-4``, the mean of the crop
    scores. Lines written before the default changed (configuration
    without ``"features"``) measured the former default, ``mobilenet``.
``mobilenet``
    The former default: MobileNetV2's stage means of 25 random 224-px crops
    (shared trunk), a LinearSVR with ``C=3e-4``.
``paper``
    The paper's method with MobileNetV2 in place of CaffeNet (whose weights
    cannot be had here): penultimate features of 25 random 224-px crops cut
    from each photo's own pixels, each through the whole network, a
    LinearSVR on every crop, the mean of the crop scores, no power
    normalisation.
``nested-C``
    Honest selection of ``C``: ``GridSearchCV`` over ``C`` (five inner
    folds of each training part, SROCC) inside the outer splits, on the
    default features. What the docs offer as the recipe for choosing ``C``
    without looking at test photos. Its lines without ``"features"`` were
    measured on the former default's features (``mobilenet``).

Features are cached in ``--cache``, so the network runs once per photo and
model (about 4 minutes for 812 photos on a 2-core CPU).

Run::

    python benchmarks/clive_accuracy.py --cache ~/.cache/skdeepbiq \
        --models default,paper --random-state 0 1
    python benchmarks/clive_accuracy.py --cache ~/.cache/skdeepbiq \
        --models nested-C --random-state 1
"""

import argparse
import time

import numpy as np
from protocol import (
    clive_dev_splits,
    figures,
    load_clive_dev,
    record,
)
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skdeepbiq import (
    CNNCropFeaturizer,
    DeepBIQRegressor,
    default_featurizer,
    default_regressor,
)
from skdeepbiq.metrics import SCORERS

#: The values of C that the nested search tries (the default, 1e-4, among them).
C_GRID = (3e-5, 1e-4, 3e-4, 1e-3, 3e-3)

DESCRIPTIONS = {
    "default": "DeepBIQRegressor()",
    "paper": "the paper's method, MobileNetV2 for CaffeNet",
    "nested-C": "DeepBIQRegressor(), C by inner 5-fold GridSearchCV",
    "mobilenet": "MobileNetV2's stage means, C=3e-4 (the former default)",
}


def make_model(name, cache, verbose):
    """The model ``name`` (see the module's docstring), caching in ``cache``."""
    if name == "paper":
        featurizer = CNNCropFeaturizer(
            layer=None, n_crops=25, crops="random", compute="crops",
            viewing_scale="native", memory=cache, verbose=verbose,
        )  # fmt: skip
        return DeepBIQRegressor(featurizer, regressor=default_regressor(), power=1.0)
    if name == "mobilenet":
        featurizer = default_featurizer(
            backbone="mobilenet_v2", spatial_pooling="mean", memory=cache,
            verbose=verbose,
        )  # fmt: skip
        return DeepBIQRegressor(featurizer, regressor=default_regressor(C=3e-4))
    featurizer = default_featurizer(memory=cache, verbose=verbose)
    if name == "default":
        return DeepBIQRegressor(featurizer)
    if name == "nested-C":
        return GridSearchCV(
            DeepBIQRegressor(featurizer, regressor=default_regressor()),
            {"regressor__C": list(C_GRID)},
            cv=KFold(5, shuffle=True, random_state=0),
            scoring=SCORERS["srocc"],
        )
    raise SystemExit(f"unknown model {name!r}: one of {sorted(DESCRIPTIONS)}")


def model_features(model) -> dict:
    """The featurizer parameters that say which features a model uses."""
    estimator = getattr(model, "estimator", model)  # GridSearchCV's
    params = estimator.featurizer.get_params()
    keys = ("backbone", "layer", "spatial_pooling", "n_crops", "compute")
    return {key: params[key] for key in keys}


def measure(model, paths, mos, splits):
    """Each split's figures, fit time and test predictions."""
    rows = []
    for number, (train, test) in enumerate(splits):
        fitted = clone(model)
        start = time.perf_counter()
        fitted.fit(paths[train], mos[train])
        seconds = time.perf_counter() - start
        predictions = fitted.predict(paths[test])
        row = {"split": number, **figures(mos[test], predictions)}
        row["fit_seconds"] = round(seconds, 1)
        if isinstance(fitted, GridSearchCV):
            row["chosen_C"] = fitted.best_params_["regressor__C"]
        row["predictions"] = np.round(predictions, 4).tolist()
        rows.append(row)
        print(
            f"  split {number}: SROCC {row['srocc']:.4f} PLCC {row['plcc']:.4f}"
            + (f" C {row['chosen_C']:g}" if "chosen_C" in row else ""),
            flush=True,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", help="clive-dev folder (default: ../shared/data/clive-dev)"
    )
    parser.add_argument("--cache", default=None, help="feature cache folder")
    parser.add_argument("--models", default="default", help="comma-separated")
    parser.add_argument(
        "--random-state", type=int, nargs="+", default=[0, 1],
        help="the splits' seeds: 0 the choice splits, 1 the fresh ones",
    )  # fmt: skip
    parser.add_argument("--results", default="clive_accuracy.jsonl")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args()

    data = load_clive_dev(args.data)
    paths, mos = np.asarray(data.paths), np.asarray(data.y)
    for name in args.models.split(","):
        model = make_model(name, args.cache, args.verbose)
        for seed in args.random_state:
            splits = clive_dev_splits(len(paths), random_state=seed)
            print(f"{DESCRIPTIONS[name]}, splits of random_state={seed}:", flush=True)
            rows = measure(model, paths, mos, splits)
            line = record(
                args.results,
                benchmark="clive_accuracy",
                configuration={
                    "model": name,
                    "description": DESCRIPTIONS[name],
                    "features": model_features(model),
                },
                random_state=seed,
                per_split=rows,
            )
            medians = line["medians"]
            print(
                f"  median SROCC {medians['srocc']:.4f} PLCC {medians['plcc']:.4f} "
                f"KROCC {medians['krocc']:.4f} RMSE {medians['rmse']:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
