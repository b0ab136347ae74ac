"""Fine-tuned DeepBIQ (Exp III) against the same model without fine-tuning.

On clive-dev's random 80/20 splits (``ShuffleSplit(10, test_size=0.2,
random_state=0)``, the first ``--splits`` of them), fits the package's
default ``DeepBIQRegressor()`` and ``DeepBIQRegressor(fine_tune=recipe)`` on
the same training images, and prints each split's SROCC and PLCC, their
medians and the time of each fine-tuned fit. The network is tuned on the
training images of each split only.

``--full-fit`` instead times one fine-tuned fit on all images (the speed
target: 30 minutes on a 2-core CPU, 3 minutes on one H100).

Run::

    python benchmarks/finetune.py --splits 3 --cache ~/.cache/skdeepbiq
    python benchmarks/finetune.py --full-fit
"""

import argparse
import json
import time

import numpy as np
import torch
from _common import load_clive_dev
from sklearn.model_selection import ShuffleSplit

from skdeepbiq import DeepBIQRegressor, FineTuning
from skdeepbiq.metrics import plcc, srocc


def recipe_from(args) -> FineTuning:
    params = {
        "objective": args.objective,
        "epochs": args.epochs,
        "crops_per_image": args.crops_per_image,
        "optimizer": args.optimizer,
        "learning_rate": args.learning_rate,
        "trainable": args.trainable
        if args.trainable == "tail"
        else int(args.trainable),
    }
    return FineTuning(**params)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature and trunk-map cache")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--objective", default=FineTuning().objective, choices=["classes", "regression"]
    )
    parser.add_argument("--epochs", type=int, default=FineTuning().epochs)
    parser.add_argument(
        "--crops-per-image", type=int, default=FineTuning().crops_per_image
    )
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adamw"])
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--trainable", default="tail")
    parser.add_argument(
        "--full-fit", action="store_true", help="time one fit on all images"
    )
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args()

    data = load_clive_dev(args.data)
    paths, mos = np.asarray(data.paths), data.y
    recipe = recipe_from(args)
    device = args.device
    name = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available() and device != "cpu"
        else "CPU"
    )
    print(
        f"recipe: {recipe!r}; device {device} ({name}); {torch.get_num_threads()} threads"
    )

    def fine_tuned():
        return DeepBIQRegressor(fine_tune=recipe).set_params(
            featurizer__memory=args.cache,
            featurizer__device=device,
            featurizer__verbose=args.verbose,
        )

    if args.full_fit:
        start = time.perf_counter()
        model = fine_tuned().fit(paths, mos)
        elapsed = time.perf_counter() - start
        print(f"one fine-tuned fit on all {len(paths)} images: {elapsed:.0f} s")
        print(json.dumps({"full_fit_seconds": round(elapsed, 1),
                          "history": model.featurizer_.fine_tuning_history_}))  # fmt: skip
        return

    rows = []
    splits = ShuffleSplit(10, test_size=0.2, random_state=0).split(paths)
    for number, (train, test) in enumerate(list(splits)[: args.splits]):
        baseline = DeepBIQRegressor().set_params(
            featurizer__memory=args.cache, featurizer__device=device
        )
        baseline.fit(paths[train], mos[train])
        base_pred = baseline.predict(paths[test])
        start = time.perf_counter()
        model = fine_tuned().fit(paths[train], mos[train])
        fit_seconds = time.perf_counter() - start
        tuned_pred = model.predict(paths[test])
        row = {
            "split": number,
            "baseline_srocc": srocc(mos[test], base_pred),
            "baseline_plcc": plcc(mos[test], base_pred),
            "fine_tuned_srocc": srocc(mos[test], tuned_pred),
            "fine_tuned_plcc": plcc(mos[test], tuned_pred),
            "fit_seconds": fit_seconds,
            "loss": model.featurizer_.fine_tuning_history_["loss"],
        }
        rows.append(row)
        print(
            f"split {number}: baseline SROCC {row['baseline_srocc']:.4f} PLCC "
            f"{row['baseline_plcc']:.4f} | fine-tuned SROCC {row['fine_tuned_srocc']:.4f}"
            f" PLCC {row['fine_tuned_plcc']:.4f} | fit {fit_seconds:.0f} s",
            flush=True,
        )
    medians = {
        key: float(np.median([row[key] for row in rows]))
        for key in (
            "baseline_srocc",
            "baseline_plcc",
            "fine_tuned_srocc",
            "fine_tuned_plcc",
        )
    }
    print(
        f"median over {len(rows)} splits: baseline SROCC {medians['baseline_srocc']:.4f} "
        f"PLCC {medians['baseline_plcc']:.4f}; fine-tuned SROCC "
        f"{medians['fine_tuned_srocc']:.4f} PLCC {medians['fine_tuned_plcc']:.4f}"
    )
    print(
        json.dumps({"recipe": recipe.get_params(), "medians": medians, "splits": rows})
    )


if __name__ == "__main__":
    main()
