"""How the default ``C`` and ``power`` of DeepBIQRegressor were chosen.

On clive-dev, with ``CNNCropFeaturizer()``'s features (the paper's
penultimate ones: MobileNetV2 ImageNet weights, 25 random crops; prediction
pooling), the median SROCC / PLCC over the paper's 10
random 80/20 splits, the protocol's splits (``protocol.py``;
``--random-state 1`` for the fresh ones), for a grid of the SVR's ``C`` (on
standardised features and targets) and the power normalisation of the
features. The CNN runs once per image (cached in ``--cache``); the grid
reuses those features through ``featurizer="precomputed"``. Each run
appends one JSON line to ``benchmarks/results/<--results>`` (default
``choose_defaults.jsonl``): every row of the grid and the best one, with the
run's provenance (date, git commit, machine, device).

Run::

    python benchmarks/choose_defaults.py --cache ~/.cache/skdeepbiq
"""

import argparse
import json

from protocol import add_random_state_option, append_result, load_clive_dev
from sklearn.model_selection import cross_validate

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, default_regressor
from skdeepbiq.metrics import SCORERS
from skdeepbiq.model_selection import clive_splits, median_scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature cache folder")
    parser.add_argument("--C", default="1e-5,3e-5,1e-4,3e-4,1e-3", help="values of C")
    parser.add_argument("--power", default="1.0,0.5,0.25", help="values of power")
    add_random_state_option(parser)
    parser.add_argument(
        "--results",
        default="choose_defaults.jsonl",
        metavar="NAME",
        help="append the run to benchmarks/results/NAME (an absolute path as it is)",
    )
    args = parser.parse_args()

    data = load_clive_dev(args.data)
    featurizer = CNNCropFeaturizer(memory=args.cache, verbose=1).fit(data.paths)
    crops = featurizer.transform(data.paths).reshape(
        len(data.paths), featurizer.n_crops_, -1
    )
    cv = clive_splits(10, random_state=args.random_state)
    scoring = {"srocc": SCORERS["srocc"], "plcc": SCORERS["plcc"]}
    rows = []
    print(f"{'power':>6} {'C':>8} {'SROCC':>7} {'PLCC':>7}")
    for power in map(float, args.power.split(",")):
        for C in map(float, args.C.split(",")):
            model = DeepBIQRegressor(
                "precomputed", regressor=default_regressor(C=C), power=power
            )
            result = cross_validate(model, crops, data.y, cv=cv, scoring=scoring)
            medians = median_scores(result)
            row = {
                "power": power,
                "C": C,
                "median_srocc": medians["test_srocc"],
                "median_plcc": medians["test_plcc"],
                "random_state": args.random_state,
            }
            rows.append(row)
            print(
                f"{power:6.2f} {C:8.0e} {row['median_srocc']:7.4f} "
                f"{row['median_plcc']:7.4f}",
                flush=True,
            )
    best = max(rows, key=lambda row: row["median_srocc"])
    print("best by median SROCC:", json.dumps(best))
    line = {"benchmark": "choose_defaults", "random_state": args.random_state}
    line |= {"n_splits": 10, "grid": rows, "best": best}
    append_result(args.results, line, device="auto")


if __name__ == "__main__":
    main()
