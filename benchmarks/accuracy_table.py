"""Accuracy of feature and regressor configurations on clive-dev.

The table of the user guide's accuracy page and the README. For each
featurizer configuration (``FEATURES``), the CNN runs once per image
(cached in ``--cache``); each *view* of those features (all columns, or the
means only of ``spatial_pooling="mean_std"`` features, which are exactly
what ``spatial_pooling="mean"`` computes) is then scored with each
regressor configuration (``REGRESSORS``) by ``DeepBIQRegressor`` on
precomputed crop features, over the paper's protocol: 10 random 80/20
splits, the protocol's splits (``protocol.py``; ``--random-state 1`` for the
fresh ones), medians of SROCC, PLCC, KROCC and RMSE. Speed is measured
separately, on the first ``--speed-images`` photos without any cache: images
and crops per second of the featurizer's ``transform``, and the mean time of
one regressor fit.

Each result is one JSON line appended to ``benchmarks/results/<--out>``
(default ``accuracy_table.jsonl``; an absolute path is used as it is), with
its provenance: date, git commit, machine, device (a scored line also
records its ``random_state``). ``--table PATH`` prints the Markdown (or
reST) table of a results file, the last line of each view and regressor
whatever its seed: PATH as given when that file exists, else
``benchmarks/results/PATH``.

Run::

    python benchmarks/accuracy_table.py --cache ~/.cache/skdeepbiq \\
        --features penultimate,stages --regressors svr,ridge
    python benchmarks/accuracy_table.py --table accuracy_table.jsonl
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from protocol import RESULTS, add_random_state_option, append_result, load_clive_dev
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_validate
from sklearn.svm import SVR

from skdeepbiq import CNNCropFeaturizer, DeepBIQRegressor, default_regressor
from skdeepbiq.metrics import SCORERS
from skdeepbiq.model_selection import clive_splits, median_scores

STAGES = dict(layer="stages", spatial_pooling="mean_std")

#: Featurizer configurations: name -> (parameters, views).
FEATURES = {
    "penultimate": (dict(), {"penultimate": "all"}),
    "stages": (STAGES, {"stages-mean": "mean", "stages-mean-std": "all"}),
    "stages-trunk": (
        dict(STAGES, compute="trunk"),
        {"stages-mean-trunk": "mean", "stages-mean-std-trunk": "all"},
    ),
    "stages-trunk-50": (
        dict(STAGES, compute="trunk", n_crops=50),
        {"stages-mean-trunk-50": "mean", "stages-mean-std-trunk-50": "all"},
    ),
    "whole": (
        dict(STAGES, crops="whole"),
        {"whole-stages-mean": "mean", "whole-stages-mean-std": "all"},
    ),
    "lite0-stages-trunk": (
        dict(STAGES, compute="trunk", backbone="efficientnet_lite0"),
        {"lite0-stages-mean-trunk": "mean", "lite0-stages-mean-std-trunk": "all"},
    ),
    "lite0-stages-10": (
        dict(STAGES, n_crops=10, backbone="efficientnet_lite0"),
        {"lite0-stages-mean-10": "mean", "lite0-stages-mean-std-10": "all"},
    ),
    "lite1-stages-trunk": (
        dict(STAGES, compute="trunk", backbone="efficientnet_lite1"),
        {"lite1-stages-mean-trunk": "mean", "lite1-stages-mean-std-trunk": "all"},
    ),
    "lite2-stages-trunk": (
        dict(STAGES, compute="trunk", backbone="efficientnet_lite2"),
        {"lite2-stages-mean-trunk": "mean", "lite2-stages-mean-std-trunk": "all"},
    ),
    "stages-10": (
        dict(STAGES, n_crops=10),
        {"stages-mean-10": "mean", "stages-mean-std-10": "all"},
    ),
}


def _svr(C):
    return default_regressor(C=C)


#: Regressor configurations: name -> DeepBIQRegressor parameters.
REGRESSORS = {
    "svr": dict(regressor=_svr(1e-4)),
    "svr-3e-5": dict(regressor=_svr(3e-5)),
    "svr-3e-4": dict(regressor=_svr(3e-4)),
    "svr-1e-3": dict(regressor=_svr(1e-3)),
    "svr-power1": dict(regressor=_svr(1e-4), power=1.0),
    "ridge": dict(regressor=RidgeCV(alphas=np.logspace(0, 6, 13))),
    "ridge-feature": dict(
        regressor=RidgeCV(alphas=np.logspace(0, 6, 13)), fusion="feature"
    ),
    "svr-rbf-feature": dict(regressor=SVR(C=5.0, epsilon=0.05), fusion="feature"),
}

SCORING = {name: SCORERS[name] for name in ("srocc", "plcc", "krocc", "neg_rmse")}


def crop_features(featurizer, paths):
    """(n_images, n_crops, n_features) features and the names of one crop's."""
    features = featurizer.transform(paths)
    names = featurizer.get_feature_names_out()[: featurizer.n_features_per_crop_]
    return features.reshape(len(paths), featurizer.n_crops_, -1), names


def view(features, names, kind):
    """All columns, or the means only (``*_mean<k>`` names)."""
    if kind == "all":
        return features
    keep = np.array(["_mean" in name for name in names])
    return features[..., keep]


def speed(params, paths):
    """Images and crops per second of a cold ``transform`` of ``paths``."""
    featurizer = CNNCropFeaturizer(**params).fit(paths)
    start = time.perf_counter()
    featurizer.transform(paths)
    elapsed = time.perf_counter() - start
    return len(paths) / elapsed, len(paths) * featurizer.n_crops_ / elapsed


def score(features, y, regressor_params, splits, random_state=0):
    """Medians of the protocol's metrics and the mean fit time of a split.

    Over the first ``splits`` of the protocol's splits of ``random_state``.
    """
    model = DeepBIQRegressor("precomputed", **regressor_params)
    cv = clive_splits(splits, random_state=random_state)
    result = cross_validate(model, features, y, cv=cv, scoring=SCORING)
    medians = median_scores(result)
    row = {
        name: round(medians[f"test_{name}"], 4) for name in ("srocc", "plcc", "krocc")
    }
    row["rmse"] = round(-medians["test_neg_rmse"], 3)
    row["srocc_per_split"] = np.round(result["test_srocc"], 4).tolist()
    row["regressor_fit_s"] = round(float(np.mean(result["fit_time"])), 1)
    return row


HEADER = ("features", "regressor", "SROCC", "PLCC", "KROCC", "RMSE", "images/s",
          "crops/s", "fit 812 (min)")  # fmt: skip


def results_file(path):
    """``path`` as given when it exists, else ``benchmarks/results/<path>``."""
    return path if Path(path).exists() else RESULTS / path


def table_rows(path):
    """One row per (view, regressor), speed from the speed-only rows; last wins.

    ``path``: see :func:`results_file`. The fit time on clive-dev's 812
    photos is estimated from the speed and the mean regressor fit of a split.
    """
    with open(results_file(path), encoding="utf-8") as stream:
        rows = [json.loads(line) for line in stream if line.strip()]
    speeds = {row["features"]: row for row in rows if "features" in row}
    view_features = {
        view: name for name, (_, views) in FEATURES.items() for view in views
    }
    scored = {(row["view"], row["regressor"]): row for row in rows if "view" in row}
    views, regressors = list(view_features), list(REGRESSORS)
    order = sorted(scored, key=lambda k: (views.index(k[0]), regressors.index(k[1])))
    for view, regressor in order:
        row = scored[view, regressor]
        speed = speeds.get(view_features[view], {})
        images_per_s = speed.get("images_per_s", float("nan"))
        fit_minutes = (812 / images_per_s + row["regressor_fit_s"]) / 60
        yield (
            view, regressor, f"{row['srocc']:.3f}", f"{row['plcc']:.3f}",
            f"{row['krocc']:.3f}", f"{row['rmse']:.2f}",
            f"{speed.get('images_per_s', float('nan')):.2f}",
            f"{speed.get('crops_per_s', float('nan')):.0f}", f"{fit_minutes:.1f}",
        )  # fmt: skip


def print_table(path, style="markdown"):
    """The results of ``path`` as a Markdown table or a reST list-table."""
    if style == "markdown":
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for row in table_rows(path):
            print("| " + " | ".join(row) + " |")
        return
    print(".. list-table::\n   :header-rows: 1\n")
    for row in (HEADER, *table_rows(path)):
        print("   * - " + "\n     - ".join(row))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature cache folder")
    parser.add_argument("--features", default="penultimate,stages")
    parser.add_argument("--views", default=None, help="only these views")
    parser.add_argument("--regressors", default="svr,ridge")
    parser.add_argument("--splits", type=int, default=10)
    add_random_state_option(parser)
    parser.add_argument("--speed-images", type=int, default=40)
    parser.add_argument(
        "--out",
        default="accuracy_table.jsonl",
        help="append the results to benchmarks/results/OUT (an absolute path as it is)",
    )
    parser.add_argument(
        "--table",
        default=None,
        metavar="PATH",
        help="print the table of this results file (PATH as given when it "
        "exists, else benchmarks/results/PATH)",
    )
    parser.add_argument("--style", default="markdown", choices=["markdown", "rst"])
    args = parser.parse_args()
    if args.table:
        return print_table(args.table, args.style)

    data = load_clive_dev(args.data)
    for feature_name in args.features.split(","):
        params, views = FEATURES[feature_name]
        images_per_s = crops_per_s = float("nan")  # --speed-images 0: not measured
        if args.speed_images:
            sample = data.paths[: args.speed_images]
            images_per_s, crops_per_s = speed(params, sample)
        if args.regressors == "none":  # speed only
            row = {"features": feature_name, "images_per_s": round(images_per_s, 2)}
            row["crops_per_s"] = round(crops_per_s, 1)
            print(json.dumps(row), flush=True)
            append_result(args.out, row, device="auto")
            continue
        featurizer = CNNCropFeaturizer(memory=args.cache, verbose=1, **params)
        features, names = crop_features(featurizer.fit(data.paths), data.paths)
        for view_name, kind in views.items():
            if args.views and view_name not in args.views.split(","):
                continue
            selected = view(features, names, kind)
            for regressor_name in args.regressors.split(","):
                row = {"view": view_name, "regressor": regressor_name}
                row["random_state"] = args.random_state
                row |= score(
                    selected,
                    data.y,
                    REGRESSORS[regressor_name],
                    args.splits,
                    args.random_state,
                )
                row |= {"images_per_s": round(images_per_s, 1)}
                row |= {"crops_per_s": round(crops_per_s, 1)}
                row["n_features"] = int(selected.shape[-1])
                print(json.dumps(row), flush=True)
                append_result(args.out, row, device="auto")


if __name__ == "__main__":
    main()
