"""Accuracy of DeepBIQRegressor's defaults on clive-dev, the paper's protocol.

10 random 80/20 splits (``ShuffleSplit(10, test_size=0.2, random_state=0)``),
median SROCC and PLCC, with the package defaults: MobileNetV2 ImageNet
weights (``IMAGENET1K_V1``), the mean of each stage's output over 25 random
224-px crops cut from the shared trunk's maps, prediction pooling (mean),
standardised LinearSVR. Features are cached in ``--cache`` so the CNN runs
once per image (about 4 minutes for 812 images on a 2-core CPU).

Run::

    python benchmarks/clive_accuracy.py --cache ~/.cache/skdeepbiq
"""

import argparse
import json
import time

import numpy as np
from _common import load_clive_dev
from sklearn.model_selection import ShuffleSplit, cross_validate

from skdeepbiq import DeepBIQRegressor
from skdeepbiq.metrics import SCORERS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", help="clive-dev folder (default: ../shared/data/clive-dev)"
    )
    parser.add_argument("--cache", default=None, help="feature cache folder")
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args()

    data = load_clive_dev(args.data)
    model = DeepBIQRegressor().set_params(
        featurizer__memory=args.cache, featurizer__verbose=args.verbose
    )
    start = time.perf_counter()
    result = cross_validate(
        model,
        data.paths,
        data.y,
        cv=ShuffleSplit(args.splits, test_size=0.2, random_state=0),
        scoring={"srocc": SCORERS["srocc"], "plcc": SCORERS["plcc"]},
    )
    elapsed = time.perf_counter() - start
    summary = {
        "images": len(data.y),
        "splits": args.splits,
        "median_srocc": float(np.median(result["test_srocc"])),
        "median_plcc": float(np.median(result["test_plcc"])),
        "srocc_per_split": np.round(result["test_srocc"], 4).tolist(),
        "plcc_per_split": np.round(result["test_plcc"], 4).tolist(),
        "seconds": round(elapsed, 1),
    }
    print(f"clive-dev, {args.splits} random 80/20 splits, package defaults")
    print(f"median SROCC {summary['median_srocc']:.4f}")
    print(f"median PLCC  {summary['median_plcc']:.4f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
