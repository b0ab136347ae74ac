"""How the default ``C`` and ``power`` of DeepBIQRegressor were chosen.

On clive-dev, with the default featurizer (MobileNetV2 ImageNet weights, 25
random crops, prediction pooling), the median SROCC / PLCC over the paper's 10
random 80/20 splits for a grid of the SVR's ``C`` (on standardised features
and targets) and the power normalisation of the features. The CNN runs once
per image (cached in ``--cache``); the grid reuses those features through
``featurizer="precomputed"``.

Run::

    python benchmarks/choose_defaults.py --cache ~/.cache/skdeepbiq
"""

import argparse
import json

import numpy as np
from protocol import load_clive_dev
from sklearn.model_selection import ShuffleSplit, cross_validate

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor
from skdeepbiq.metrics import SCORERS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature cache folder")
    parser.add_argument("--C", default="1e-5,3e-5,1e-4,3e-4,1e-3", help="values of C")
    parser.add_argument("--power", default="1.0,0.5,0.25", help="values of power")
    args = parser.parse_args()

    data = load_clive_dev(args.data)
    featurizer = CNNCropFeaturizer(memory=args.cache, verbose=1).fit(data.paths)
    crops = featurizer.transform(data.paths).reshape(
        len(data.paths), featurizer.n_crops_, -1
    )
    cv = ShuffleSplit(10, test_size=0.2, random_state=0)
    scoring = {"srocc": SCORERS["srocc"], "plcc": SCORERS["plcc"]}
    rows = []
    print(f"{'power':>6} {'C':>8} {'SROCC':>7} {'PLCC':>7}")
    for power in map(float, args.power.split(",")):
        for C in map(float, args.C.split(",")):
            model = DeepBIQRegressor("precomputed", power=power).set_params(
                regressor__C=C
            )
            result = cross_validate(model, crops, data.y, cv=cv, scoring=scoring)
            row = {
                "power": power,
                "C": C,
                "median_srocc": float(np.median(result["test_srocc"])),
                "median_plcc": float(np.median(result["test_plcc"])),
            }
            rows.append(row)
            print(
                f"{power:6.2f} {C:8.0e} {row['median_srocc']:7.4f} "
                f"{row['median_plcc']:7.4f}",
                flush=True,
            )
    best = max(rows, key=lambda row: row["median_srocc"])
    print("best by median SROCC:", json.dumps(best))


if __name__ == "__main__":
    main()
