"""The shared-trunk fast mode against exact crops: speed and accuracy.

``compute="trunk"`` runs MobileNetV2's convolutional trunk once per image and
each crop's 14x14 window of its stride-16 maps through the rest of the
network; ``compute="crops"`` (the default) runs every crop through the whole
network. Prints:

- speed: crops per second of ``transform`` on the first ``--speed-images``
  images, without cache, for both modes;
- accuracy: median SROCC / PLCC of ``DeepBIQRegressor`` with each mode over
  clive-dev's 10 random 80/20 splits, the protocol's splits (``protocol.py``;
  ``--random-state 1`` for the fresh ones; features cached in ``--cache``);
- the summary, as one JSON line, which is also appended to
  ``benchmarks/results/<--results>`` (default ``trunk_mode.jsonl``) with the
  run's provenance (date, git commit, machine, device).

Run::

    python benchmarks/trunk_mode.py --cache ~/.cache/skdeepbiq
"""

import argparse
import json
import time

from protocol import add_random_state_option, append_result, load_clive_dev
from sklearn.model_selection import cross_validate

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, default_featurizer
from skdeepbiq.metrics import SCORERS
from skdeepbiq.model_selection import clive_splits, median_scores

MODES = ("crops", "trunk")


def speed(paths, mode: str, n_crops: int) -> float:
    featurizer = CNNCropFeaturizer(n_crops=n_crops, compute=mode).fit(paths)
    featurizer.transform(paths[:2])  # warm-up
    start = time.perf_counter()
    featurizer.transform(paths)
    return len(paths) * n_crops / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature cache folder")
    parser.add_argument("--speed-images", type=int, default=24)
    parser.add_argument("--n-crops", type=int, default=25)
    parser.add_argument("--skip-accuracy", action="store_true")
    add_random_state_option(parser)
    parser.add_argument(
        "--results",
        default="trunk_mode.jsonl",
        metavar="NAME",
        help="append the summary to benchmarks/results/NAME (an absolute path as "
        "it is)",
    )
    args = parser.parse_args()

    data = load_clive_dev(args.data)
    summary = {"n_crops": args.n_crops}
    subset = list(data.paths[: args.speed_images])
    for mode in MODES:
        summary[f"{mode}_crops_per_second"] = speed(subset, mode, args.n_crops)
    print(
        f"speed on {len(subset)} images, {args.n_crops} crops each: exact crops "
        f"{summary['crops_crops_per_second']:.1f} crops/s, shared trunk "
        f"{summary['trunk_crops_per_second']:.1f} crops/s "
        f"({summary['trunk_crops_per_second'] / summary['crops_crops_per_second']:.1f}x)",
        flush=True,
    )
    if not args.skip_accuracy:
        summary["random_state"] = args.random_state
        cv = clive_splits(10, random_state=args.random_state)
        scoring = {"srocc": SCORERS["srocc"], "plcc": SCORERS["plcc"]}
        for mode in MODES:
            model = DeepBIQRegressor(
                featurizer=default_featurizer(
                    compute=mode, n_crops=args.n_crops, memory=args.cache, verbose=1
                )
            )
            result = cross_validate(model, data.paths, data.y, cv=cv, scoring=scoring)
            medians = median_scores(result)
            summary[f"{mode}_median_srocc"] = medians["test_srocc"]
            summary[f"{mode}_median_plcc"] = medians["test_plcc"]
            print(
                f"{mode:>6}: median SROCC {summary[f'{mode}_median_srocc']:.4f} "
                f"PLCC {summary[f'{mode}_median_plcc']:.4f} (10 splits)",
                flush=True,
            )
    print(json.dumps(summary))
    line = {"benchmark": "trunk_mode", "speed_images": len(subset), **summary}
    append_result(args.results, line, device="auto")


if __name__ == "__main__":
    main()
