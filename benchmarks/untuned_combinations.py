"""Untuned backbones together: their features side by side, or their scores averaged.

Issue 34 asks whether the untuned default should move to the
EfficientNet-Lite stage statistics, alone or together. For the views named
(``accuracy_table.py``'s views, e.g. ``lite1-stages-mean-std-trunk``), this
scores, on the protocol's splits of ``--random-state``:

- each view alone (``DeepBIQRegressor("precomputed", regressor=...)``, as
  ``accuracy_table.py`` does);
- ``mean``: the mean of the views' models' predictions (one model per view,
  each fitted on the split's training photos);
- ``concat``: one model on the views' crop features side by side (the views
  must have the same crops: the same ``n_crops``, ``crops``, ``compute``
  and seed, so crop k of one view is crop k of the other).

Each combination is one JSON line in ``benchmarks/results/<--results>``
(default ``untuned_combinations.jsonl``) with its per-split figures, medians
and provenance (``protocol.record``). The features come from the feature
cache (``--cache``), filled by ``accuracy_table.py`` or here.

Run::

    python benchmarks/untuned_combinations.py --cache CACHE \\
        --views lite1-stages-mean-std-trunk,lite2-stages-mean-std-trunk \\
        --random-state 0 1
"""

import argparse
import itertools

import numpy as np
from accuracy_table import FEATURES, REGRESSORS, crop_features, view
from protocol import (
    add_random_state_option,
    clive_dev_splits,
    figures,
    load_clive_dev,
    record,
)
from sklearn.base import clone

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor


def load_view(name: str, paths, cache) -> np.ndarray:
    """(n_images, n_crops, n_features) crop features of one named view."""
    for params, views in FEATURES.values():
        if name in views:
            featurizer = CNNCropFeaturizer(memory=cache, verbose=1, **params)
            features, names = crop_features(featurizer.fit(paths), paths)
            return view(features, names, views[name])
    raise SystemExit(f"unknown view {name!r}; accuracy_table.py's FEATURES name them")


def split_figures(feature_sets, y, regressor_params, random_state, n_splits):
    """Per-split figures of each view, of the mean of their scores and of
    their concatenated features: {combination: [split rows]}."""
    names = list(feature_sets)
    model = DeepBIQRegressor("precomputed", **regressor_params)
    rows = {}
    splits = clive_dev_splits(len(y), random_state, n_splits)
    for number, (train, test) in enumerate(splits):
        predictions = {}
        for name in names:
            fitted = clone(model).fit(feature_sets[name][train], y[train])
            predictions[name] = fitted.predict(feature_sets[name][test])
        combined = dict(predictions)  # each view alone, then together
        for size in range(2, len(names) + 1):
            for group in itertools.combinations(names, size):
                key = "+".join(group)
                combined[f"mean({key})"] = np.mean([predictions[n] for n in group], 0)
                side_by_side = np.concatenate([feature_sets[n] for n in group], -1)
                fitted = clone(model).fit(side_by_side[train], y[train])
                combined[f"concat({key})"] = fitted.predict(side_by_side[test])
        for key, y_pred in combined.items():
            row = {"split": number, **figures(y[test], y_pred)}
            rows.setdefault(key, []).append(row)
        print(f"split {number}: " + ", ".join(
            f"{key} {rows[key][-1]['srocc']:.3f}" for key in combined
        ), flush=True)  # fmt: skip
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature cache folder")
    parser.add_argument("--views", required=True, help="comma-separated views")
    parser.add_argument("--regressor", default="svr", choices=sorted(REGRESSORS))
    parser.add_argument("--splits", type=int, default=10)
    add_random_state_option(parser, several=True)
    parser.add_argument("--results", default="untuned_combinations.jsonl")
    args = parser.parse_args()

    data = load_clive_dev(args.data)
    y = np.asarray(data.y, dtype=float)
    feature_sets = {
        name: load_view(name, data.paths, args.cache) for name in args.views.split(",")
    }
    for random_state in args.random_state:
        rows = split_figures(
            feature_sets, y, REGRESSORS[args.regressor], random_state, args.splits
        )
        for key, per_split in rows.items():
            summary = record(
                args.results,
                benchmark="untuned_combinations",
                configuration={"combination": key, "regressor": args.regressor},
                random_state=random_state,
                per_split=per_split,
            )["medians"]
            print(
                f"random_state={random_state} {key}: SROCC {summary['srocc']:.4f}, "
                f"PLCC {summary['plcc']:.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
