"""Train the pretrained default model shipped in ``skdeepbiq/data``.

The model is ``DeepBIQRegressor()`` (``DeepBIQRegressor(fine_tune=True)``
with ``--fine-tune``) with the default parameters in force when this runs,
trained on all 812 photographs of ../shared/data/clive-dev: without
fine-tuning, MobileNetV2 ImageNet multi-level features of 25 random 224-px
crops through the shared trunk; with it, EfficientNet-Lite2's, of 25 crops
as windows of its trunk's maps through the tuned blocks; a LinearSVR with
the default ``C`` of either (``skdeepbiq.default_regressor(fine_tune=...)``),
mean of the crop scores. It is saved as
``skdeepbiq/data/clive-BACKBONE.npz``. The fit on all photos runs first and
is timed (the network runs cold unless ``--memory`` holds its features
already).

It prints, and stores in the file's metadata:

1. the accuracy of this configuration by the paper's CLIVE protocol: median
   SROCC / PLCC over the protocol's 10 random 80/20 splits (``protocol.py``,
   ``skdeepbiq.model_selection.clive_splits``; ``--random-state 1`` for the
   fresh ones): a model trained on 80% of the photos, scored on the other
   20%. The shipped model, scored against the MOS it was trained on, would
   overstate it, so that figure is not reported;
2. the shipped model's scores of ``examples/images``, computed by the
   in-memory model and again by the model loaded back from the file (they
   must be equal).

With ``--fine-tune`` (the shipped model) the network is tuned first (about
20 minutes on a 2-core CPU); ten tuned fits for the figures take hours
there, so ``--accuracy-from`` takes them from the logs of
``benchmarks/finetune.py`` (on a GPU, several CPU runs resumed with
``--first-split``, or one ``--load-models DIR --refit`` run that trains
new heads on the networks those runs saved) instead; ``--random-state``
then names the seed those runs split with.

Run from the repository root (``--memory`` reuses cached CNN features)::

    python benchmarks/train_pretrained.py --fine-tune \
        --accuracy-from benchmarks/results/finetune_cpu_lite2_deep_trunk.log
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from protocol import add_random_state_option
from sklearn.model_selection import cross_validate

from skdeepbiq import (
    DeepBIQRegressor,
    default_featurizer,
    default_regressor,
    load_model,
    save_model,
)
from skdeepbiq.datasets import load_manifest
from skdeepbiq.metrics import SCORERS
from skdeepbiq.model_selection import clive_splits, median_scores

ROOT = Path(__file__).resolve().parents[1]
CLIVE_CITATION = (
    "D. Ghadiyaram and A.C. Bovik, 'Massive Online Crowdsourced Study of "
    "Subjective and Objective Picture Quality', IEEE Transactions on Image "
    "Processing 25(1), 2016; 'LIVE In the Wild Image Quality Challenge "
    "Database', http://live.ece.utexas.edu/research/ChallengeDB/index.html, 2015"
)
METRICS = ("srocc", "plcc", "krocc", "neg_rmse")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clive-dev",
        default=str(ROOT.parent / "shared" / "data" / "clive-dev"),
        help="folder with mos.csv and images/ (default: %(default)s)",
    )
    parser.add_argument("--memory", default=None, help="CNN feature cache folder")
    parser.add_argument(
        "--output",
        default=None,
        help="model file to write (default: skdeepbiq/data/clive-BACKBONE.npz)",
    )
    parser.add_argument(
        "--samples",
        default=str(ROOT / "examples" / "images"),
        help="images to score with the trained model (default: %(default)s)",
    )
    parser.add_argument("--device", default="auto")
    add_random_state_option(parser)
    parser.add_argument(
        "--fine-tune",
        action="store_true",
        help="fine-tune the network first (DeepBIQRegressor(fine_tune=True))",
    )
    parser.add_argument(
        "--accuracy-from",
        nargs="+",
        default=None,
        metavar="LOG",
        help=(
            "take the 10-split figures from these outputs of benchmarks/finetune.py "
            "(their split lines, splits 0-9 once) instead of running the 10 fits here"
        ),
    )
    return parser.parse_args(argv)


def protocol_description(random_state) -> str:
    """The splits the figures are medians over, in the model's metadata."""
    return (
        f"median over ShuffleSplit(10, test_size=0.2, random_state={random_state}) "
        "of the training photos: fit on 80%, score the other 20%"
    )


def protocol_accuracy(paths, mos, featurizer, fine_tune=None, random_state=0) -> dict:
    """Median metrics over the paper's 10 random 80/20 splits (``clive_splits``)."""
    splits = clive_splits(10, random_state=random_state)
    results = cross_validate(
        DeepBIQRegressor(featurizer=featurizer, fine_tune=fine_tune),
        paths,
        mos,
        cv=splits,
        scoring={name: SCORERS[name] for name in METRICS},
    )
    per_split = {name: results[f"test_{name}"].tolist() for name in METRICS}
    per_split["rmse"] = [-value for value in per_split.pop("neg_rmse")]
    for index in range(splits.get_n_splits()):
        print(
            f"  split {index}: "
            + "  ".join(
                f"{name} {values[index]:.4f}" for name, values in per_split.items()
            )
        )
    return {
        "protocol": protocol_description(random_state),
        "random_state": random_state,
        **{f"median_{name}": value for name, value in median_scores(per_split).items()},
        "per_split": per_split,
    }


SPLIT_LINE = re.compile(
    r"^split (\d+): (?:baseline .* \| )?fine-tuned SROCC ([\d.]+) PLCC ([\d.]+)"
    r"(?: KROCC ([\d.]+) RMSE ([\d.]+))?(?: \| fit (\d+) s)?"
)


def without_paths(text: str) -> str:
    """``text`` with each absolute path cut to its last part: a model file keeps
    no paths of the machine that trained it."""
    return re.sub(r"(?<![\w.])/(?:[^\s/;,()]+/)*([^\s/;,()]+)", r"\1", text)


def git_commit() -> str | None:
    """The commit of the code that trains, with ``+changes`` when it differs."""

    def git(*arguments):
        return subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or None
    if commit and git("status", "--porcelain", "--", "skdeepbiq", "benchmarks"):
        commit += "+changes"
    return commit


def accuracy_from_logs(paths, random_state=0) -> dict:
    """The 10-split figures that ``benchmarks/finetune.py`` printed to ``paths``.

    Each log's first line names the recipe and the device, and each split
    has a line ``split N: [baseline ... | ]fine-tuned SROCC ... PLCC ...
    [KROCC ... RMSE ...] | fit ... s``; a run stopped and resumed with ``--first-split``
    leaves several logs, which together must hold each of the ten splits
    once, all with the same recipe. KROCC and RMSE medians are given only
    when every split printed them. ``random_state``: the seed of the splits
    the logs' runs used (the logs do not name it).
    """
    headers, rows = set(), {}
    for path in paths:
        lines = Path(path).read_text().splitlines()
        headers.add(lines[0].strip())
        for match in filter(None, map(SPLIT_LINE.match, lines)):
            number, *figures, seconds = match.groups()
            if int(number) in rows:
                raise SystemExit(f"{path}: split {number} is in two logs")
            rows[int(number)] = (*figures, seconds)
    if len(headers) != 1 or sorted(rows) != list(range(10)):
        raise SystemExit(
            f"the logs must hold splits 0-9 of one recipe; they hold {sorted(rows)} "
            f"of {sorted(headers)}"
        )
    columns = zip(*(rows[number] for number in range(10)), strict=True)
    per_split = {
        name: [None if value is None else float(value) for value in column]
        for name, column in zip(
            ("srocc", "plcc", "krocc", "rmse", "fit_seconds"), columns, strict=True
        )
    }
    measured = {
        name: values
        for name, values in per_split.items()
        if name != "fit_seconds" and None not in values
    }
    medians = {
        f"median_{name}": value for name, value in median_scores(measured).items()
    }
    return {
        "protocol": protocol_description(random_state),
        "random_state": random_state,
        "measured_by": f"benchmarks/finetune.py ({without_paths(headers.pop())})",
        "logs": sorted(Path(path).name for path in paths),
        **medians,
        "per_split": per_split,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    data = load_manifest(os.path.join(args.clive_dev, "mos.csv"), name="clive-dev")
    fine_tune = True if args.fine_tune else None
    featurizer = default_featurizer(
        fine_tune=fine_tune, memory=args.memory, device=args.device, verbose=1
    )
    name = f"clive-{featurizer.backbone}"
    output = args.output or str(ROOT / "skdeepbiq" / "data" / f"{name}.npz")
    defaults = DeepBIQRegressor().get_params(deep=False)
    defaults.pop("featurizer"), defaults.pop("regressor")
    print(
        f"clive-dev: {len(data.paths)} photos; DeepBIQRegressor defaults {defaults}, "
        f"LinearSVR C={default_regressor(fine_tune=fine_tune).C}",
        file=sys.stderr,
    )

    start = time.perf_counter()  # first, so that the network runs cold
    model = DeepBIQRegressor(featurizer=featurizer, fine_tune=fine_tune)
    model.fit(data.paths, data.y)
    fit_seconds = time.perf_counter() - start
    print(f"fit on all {len(data.paths)} photos: {fit_seconds:.0f} s")

    start = time.perf_counter()
    if args.accuracy_from:
        accuracy = accuracy_from_logs(args.accuracy_from, args.random_state)
    else:
        accuracy = protocol_accuracy(
            data.paths, data.y, featurizer, fine_tune, args.random_state
        )
    print(
        f"10-split median SROCC {accuracy['median_srocc']:.4f}  "
        f"PLCC {accuracy['median_plcc']:.4f}  "
        f"({accuracy.get('measured_by', f'{time.perf_counter() - start:.0f} s')})"
    )

    model.featurizer_.set_params(memory=None, verbose=0)
    samples = sorted(glob.glob(os.path.join(args.samples, "*.jpg")))
    scores = model.predict(samples)
    metadata = {
        "name": name,
        "skdeepbiq_commit": git_commit(),
        "recipe": (
            "DeepBIQRegressor(fine_tune=True) with its defaults"
            if args.fine_tune
            else "DeepBIQRegressor() with its defaults"
        ),
        "training_set": {
            "name": "clive-dev",
            "manifest": "clive-dev/mos.csv",
            "description": (
                "812 of the 1,162 test photographs of the LIVE In the Wild "
                "Image Quality Challenge Database (CLIVE); MOS 0-100, higher "
                "is better"
            ),
            "n_images": len(data.paths),
            "citation": CLIVE_CITATION,
        },
        "accuracy": accuracy,
        "fine_tuned": bool(args.fine_tune),
        "fit_seconds": round(fit_seconds, 1),
        "sample_scores": {
            os.path.basename(path): float(score)
            for path, score in zip(samples, scores, strict=True)
        },
    }
    path = save_model(model, output, metadata=metadata)
    reloaded = load_model(path, device=args.device).predict(samples)
    same = np.array_equal(reloaded, scores)
    print(f"saved {path} ({os.path.getsize(path) / 1024:.1f} KB)")
    print("scores of the sample images (in memory / loaded from the file):")
    for sample, score, again in zip(samples, scores, reloaded, strict=True):
        print(f"  {os.path.basename(sample):20s} {score:7.2f}  {again:7.2f}")
    print(f"loaded model reproduces the in-memory predictions exactly: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
