"""Features and regressors on top of saved fine-tuned split models.

``benchmarks/finetune.py --save-models DIR`` keeps each split's tuned model
(``DIR/split<N>.npz``). Tuning a split costs about 15 minutes on a 2-core
CPU; what is built on the tuned network costs far less. This script
measures such variants on the same tuned networks, without tuning again:

1. ``extract``: every clive-dev photo's crop features through the tuned
   network of split N, with ``spatial_pooling="mean_std"`` (the means are a
   subset of those columns), the model's own crops; and, with
   ``--untuned``, the same crops through the network before tuning (the
   ImageNet weights). Saved as ``FEATURES/split<N>.npz`` and
   ``FEATURES/untuned.npz`` (about 350 MB each for 25 crops).
2. ``evaluate``: on split N's training photos, a ``DeepBIQRegressor(
   "precomputed")`` with the package's LinearSVR (several ``C``) on each
   view of those features, scored on the split's test photos: the tuned
   means (what the tuned model itself uses: its figure must equal the one
   ``finetune.py`` printed), its first 10 crops only, means and standard
   deviations, the tuned features concatenated with the untuned ones, and
   the mean of a tuned and an untuned model's predictions.

Split N is split N of the protocol's splits (``protocol.py``;
``--random-state 1`` for the fresh ones), of the seed that ``finetune.py``
tuned the saved models on. Each ``evaluate`` run appends one JSON line to
``benchmarks/results/<--results>`` (default ``tuned_features.jsonl``): each
split's SROCC / PLCC per variant and their medians over the splits, with the
run's provenance (date, git commit, machine, device).

Run from the repository root::

    python benchmarks/tuned_features.py extract --models DIR --features F 0 2
    python benchmarks/tuned_features.py extract --models DIR --features F --untuned
    python benchmarks/tuned_features.py evaluate --features F 0 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from protocol import (
    add_random_state_option,
    append_result,
    clive_dev_splits,
    load_clive_dev,
)
from sklearn.base import clone

from skdeepbiq import DeepBIQRegressor, default_regressor, load_model
from skdeepbiq.metrics import plcc, srocc

#: The LinearSVR's C values tried; the first is the tuned model's own.
CS = (default_regressor().C, 1e-4, 1e-3)


def extract(model_path, paths, tuned=True):
    """(n_images, n_crops, n_features) mean_std features and one crop's names."""
    source = load_model(model_path).featurizer_
    featurizer = clone(source).set_params(
        spatial_pooling="mean_std", fine_tune=None, memory=None, verbose=1
    )
    featurizer.fit(paths[:1])  # the same seed, hence the same crops
    if tuned:
        featurizer.network_.load_state_dict(source.network_.state_dict())
    features = featurizer.transform(paths)
    names = featurizer.get_feature_names_out()[: featurizer.n_features_per_crop_]
    return features.reshape(len(paths), featurizer.n_crops_, -1), names


def predictions(features, y, train, test, C):
    """Test predictions of the package's prediction-fusion SVR."""
    regressor = default_regressor(C=C)
    model = DeepBIQRegressor("precomputed", regressor=regressor)
    return model.fit(features[train], y[train]).predict(features[test])


def views(folder, split):
    """The named feature views of one split's tuned (and untuned) features."""
    saved = np.load(folder / f"split{split}.npz")
    tuned, names = saved["features"], saved["names"]
    means = np.array(["_mean" in name for name in names])
    result = {"tuned mean": tuned[..., means], "tuned mean_std": tuned}
    if (folder / "untuned.npz").exists():
        untuned = np.load(folder / "untuned.npz")["features"]
        result["untuned mean_std"] = untuned
        result["tuned mean + untuned mean_std"] = np.concatenate(
            [tuned[..., means], untuned], axis=-1
        )
    return result


def evaluate(folder, split, y, train, test):
    """Print each view's SROCC / PLCC on the split's test photos; return them.

    Returns ``{label: {"srocc": ..., "plcc": ...}}``, in the order printed.
    """
    found = {}

    def show(label, predicted):
        figures = {
            "srocc": float(srocc(y[test], predicted)),
            "plcc": float(plcc(y[test], predicted)),
        }
        found[label] = figures
        print(
            f"split {split} {label}: SROCC {figures['srocc']:.4f} "
            f"PLCC {figures['plcc']:.4f}",
            flush=True,
        )

    features = views(folder, split)
    own = predictions(features["tuned mean"], y, train, test, CS[0])
    show(f"tuned mean, C {CS[0]:g} (the tuned model's own)", own)
    first10 = features["tuned mean"][:, :10]
    show(
        f"tuned mean, first 10 crops, C {CS[0]:g}",
        predictions(first10, y, train, test, CS[0]),
    )
    for name, view in features.items():
        for C in CS:
            if (name, C) != ("tuned mean", CS[0]):
                show(f"{name}, C {C:g}", predictions(view, y, train, test, C))
    if "untuned mean_std" in features:
        untuned = predictions(features["untuned mean_std"], y, train, test, 1e-4)
        show(
            "mean of tuned mean (C 3e-4) and untuned mean_std (C 1e-4)",
            (own + untuned) / 2,
        )
    return found


def split_medians(per_split):
    """The median SROCC / PLCC of each variant over the splits that have it."""
    rows = {}
    for row in per_split:
        for label, figures in row["figures"].items():
            rows.setdefault(label, []).append(figures)
    return {
        label: {key: float(np.median([f[key] for f in found])) for key in found[0]}
        for label, found in rows.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("extract", "evaluate"))
    parser.add_argument("splits", type=int, nargs="*")
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--models", type=Path, help="finetune.py --save-models DIR")
    parser.add_argument("--features", type=Path, required=True, help="feature folder")
    parser.add_argument(
        "--untuned", action="store_true", help="extract the untuned network's too"
    )
    add_random_state_option(parser)
    parser.add_argument(
        "--results",
        default="tuned_features.jsonl",
        metavar="NAME",
        help="evaluate: append the figures to benchmarks/results/NAME (an "
        "absolute path as it is)",
    )
    args = parser.parse_intermixed_args(argv)
    data = load_clive_dev(args.data)
    paths, y = np.asarray(data.paths), np.asarray(data.y)
    cv = clive_dev_splits(len(paths), random_state=args.random_state)
    args.features.mkdir(parents=True, exist_ok=True)
    if args.action == "evaluate":
        per_split = [
            {"split": split, "figures": evaluate(args.features, split, y, *cv[split])}
            for split in args.splits
        ]
        if per_split:
            line = {"benchmark": "tuned_features", "features": str(args.features)}
            line |= {"random_state": args.random_state, "splits": args.splits}
            line |= {"per_split": per_split, "medians": split_medians(per_split)}
            append_result(args.results, line, device="cpu")
        return
    if args.models is None:
        parser.error("extract needs --models")
    jobs = [(f"split{s}", args.models / f"split{s}.npz", True) for s in args.splits]
    if args.untuned:
        jobs.append(("untuned", next(args.models.glob("split*.npz")), False))
    for name, model, tuned in jobs:
        start = time.perf_counter()
        features, names = extract(model, paths, tuned)
        np.savez(
            args.features / f"{name}.npz", features=features, names=names.astype(str)
        )
        print(f"{name}: {features.shape} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
