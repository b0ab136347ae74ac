"""Ensembles on clive-dev: the mean of several models' predictions.

scikit-learn's ``VotingRegressor`` averages the predictions of its members;
this benchmark measures what such an average gains, on the protocol of
``accuracy_table.py`` and ``finetune.py`` (the protocol's splits,
``protocol.py``; ``--random-state 1`` for the fresh ones; medians of SROCC,
PLCC, KROCC and RMSE over the splits), without fitting any network twice:

- an untuned member, ``VIEW:REGRESSOR`` (names of ``accuracy_table.py``'s
  ``FEATURES`` views and ``REGRESSORS``), is fitted on each split's training
  photos from the features in ``--cache``, computed once per photo;
- a fine-tuned member, ``--tuned NAME=LOG[+LOG...][@LABEL]``, is read from
  the per-split test predictions that ``finetune.py`` prints in its JSON
  lines (``fine_tuned_predictions``) or writes to its ``--results`` file, so
  that no tuned network is fitted again; printed logs must come from
  ``finetune.py`` run with the same ``--random-state`` (a results file
  records its own, and its other seeds' lines are skipped). A results file
  holds several configurations: ``@LABEL`` keeps the lines of the one that
  ``finetune.py --label`` named.

Every member, then the mean of each combination of two or more members, is
scored on the splits that all members have. Each result is one JSON line
appended to ``benchmarks/results/<--out>`` (default ``ensemble.jsonl``; an
absolute path is used as it is), with the splits' ``random_state`` and its
provenance: date, git commit, machine, device. ``--fit-time`` instead times
one fit of the ``VotingRegressor`` of the untuned members on all photos,
nothing cached (printed, not recorded).

Run::

    python benchmarks/ensemble.py --cache ~/.cache/skdeepbiq \\
        --members stages-mean-trunk:svr-3e-4,lite0-stages-mean-std-trunk:svr
    python benchmarks/ensemble.py --cache ~/.cache/skdeepbiq \\
        --members stages-mean-trunk:svr-3e-4 \\
        --tuned lite0=results/finetune_cpu_lite0_splits0-2-6-9.log
    python benchmarks/ensemble.py --cache ~/.cache/skdeepbiq \\
        --members lite1-stages-mean-std-trunk:svr,lite2-stages-mean-std-trunk:svr \\
        --tuned lite2=results/finetune_cpu_lite2_splits0-3.log+results/finetune_cpu_lite2_splits4-9.log
    python benchmarks/ensemble.py \\
        --tuned trunk=results/finetune_cpu_lite2_deep_trunk.log+results/finetune_cpu_lite2_deep_trunk_splits6-9.log \\
        --tuned "rank=results/finetune.jsonl@EfficientNet-Lite2 deep, 25 trunk windows, C=1e-5, rank_weight=10"
    python benchmarks/ensemble.py --fit-time \\
        --members stages-mean-trunk:svr-3e-4,lite0-stages-mean-std-trunk:svr
"""

import argparse
import itertools
import json
import time

import numpy as np
from accuracy_table import FEATURES, REGRESSORS, crop_features, view
from protocol import (
    add_random_state_option,
    append_result,
    clive_dev_splits,
    figures,
    load_clive_dev,
    medians,
    tuned_predictions,
)
from sklearn.ensemble import VotingRegressor

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor


def member_config(member) -> tuple[dict, str, str]:
    """Featurizer parameters, view kind and regressor name of ``VIEW:REGRESSOR``."""
    view_name, regressor_name = member.split(":")
    for params, views in FEATURES.values():
        if view_name in views:
            return params, views[view_name], regressor_name
    raise SystemExit(f"unknown view {view_name!r}: one of accuracy_table's FEATURES")


def member_model(member) -> DeepBIQRegressor:
    """The model that ``VIEW:REGRESSOR`` stands for, computing only its view."""
    params, kind, regressor_name = member_config(member)
    if kind == "mean":  # the means of mean_std features are spatial_pooling="mean"
        params = dict(params, spatial_pooling="mean")
    featurizer = CNNCropFeaturizer(**params)
    return DeepBIQRegressor(featurizer, **REGRESSORS[regressor_name])


def fit_time(members, paths, y) -> None:
    """Time one fit of the VotingRegressor of ``members`` on every photo."""
    ensemble = VotingRegressor([(m, member_model(m)) for m in members])
    start = time.perf_counter()
    ensemble.fit(paths, y)
    elapsed = time.perf_counter() - start
    print(f"VotingRegressor of {', '.join(members)} fitted on {len(paths)} "
          f"photos, nothing cached: {elapsed:.0f} s")  # fmt: skip


def untuned_predictions(member, paths, y, splits, cache) -> dict:
    """split -> test predictions of ``VIEW:REGRESSOR`` fitted on the split."""
    params, kind, regressor_name = member_config(member)
    featurizer = CNNCropFeaturizer(memory=cache, verbose=1, **params).fit(paths)
    features, names = crop_features(featurizer, paths)
    features = view(features, names, kind)
    predictions = {}
    for number, (train, test) in enumerate(splits):
        model = DeepBIQRegressor("precomputed", **REGRESSORS[regressor_name])
        model.fit(features[train], y[train])
        predictions[number] = model.predict(features[test])
    return predictions


def scored(predictions, y, splits, numbers) -> dict:
    """Median figures over the splits ``numbers``, and the SROCC of each."""
    rows = [figures(y[splits[n][1]], predictions[n]) for n in numbers]
    row = {key: round(value, 4) for key, value in medians(rows).items()}
    row["srocc_per_split"] = [round(r["srocc"], 4) for r in rows]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature cache folder")
    parser.add_argument("--members", default="", help="VIEW:REGRESSOR,...")
    parser.add_argument(
        "--tuned", action="append", default=[], help="NAME=LOG[+LOG...][@LABEL]"
    )
    parser.add_argument(
        "--out",
        default="ensemble.jsonl",
        help="append the results to benchmarks/results/OUT (an absolute path as it is)",
    )
    add_random_state_option(parser)
    parser.add_argument(
        "--fit-time", action="store_true", help="time one fit on all photos"
    )
    args = parser.parse_args()

    data = load_clive_dev(args.data)
    paths, y = np.asarray(data.paths), data.y
    if args.fit_time:
        return fit_time(list(filter(None, args.members.split(","))), paths, y)
    splits = clive_dev_splits(len(paths), random_state=args.random_state)
    members = {
        member: untuned_predictions(member, paths, y, splits, args.cache)
        for member in filter(None, args.members.split(","))
    }
    for tuned in args.tuned:
        name, _, logs = tuned.partition("=")
        logs, _, label = logs.partition("@")
        members[f"tuned:{name}"] = tuned_predictions(
            logs.split("+"), random_state=args.random_state, label=label or None
        )
    if len(members) < 2:
        raise SystemExit("an ensemble needs two members or more")
    numbers = sorted(set.intersection(*(set(p) for p in members.values())))
    results = list(members.items())
    for size in range(2, len(members) + 1):
        for names in itertools.combinations(members, size):
            mean = {n: np.mean([members[m][n] for m in names], axis=0) for n in numbers}
            results.append((" + ".join(names), mean))
    for name, predictions in results:
        row = {"model": name, "splits": numbers, "random_state": args.random_state}
        row |= scored(predictions, y, splits, numbers)
        print(json.dumps(row), flush=True)
        append_result(args.out, row, device="auto")


if __name__ == "__main__":
    main()
