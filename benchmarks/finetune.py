"""Fine-tuned DeepBIQ (Exp III) against the same model without fine-tuning.

On clive-dev's random 80/20 splits (``protocol.py``: the choice splits,
``--random-state 0``, or the fresh ones, ``1``; the first ``--splits`` of
them), fits the package's
default ``DeepBIQRegressor()`` and ``DeepBIQRegressor(fine_tune=recipe)`` on
the same training images, and prints each split's SROCC, PLCC, KROCC and RMSE, their
medians and the time of each fine-tuned fit. The network is tuned on the
training images of each split only. ``--results FILE`` appends each split's
figures to ``benchmarks/results/FILE`` as it is done, one JSON line per
split (``--label`` names the configuration there).

``--full-fit`` instead times one fine-tuned fit on all images (the speed
target: 30 minutes on a 2-core CPU, 3 minutes on one H100). ``--leaky``
instead tunes once on every image, test images included, and fits only the
SVR per split: the paper's protocol as it reads, to measure its leakage.
``--load-models DIR`` fits nothing and scores the split models that
``--save-models DIR`` saved, printing their test predictions as a fit does
(``benchmarks/ensemble.py`` reads them); with ``--test-crops N`` the same
models score N random crops per test photo instead of their own number.
``--load-models DIR --test-flips`` scores each test photo and its mirror
image with the same model and takes the mean of the two scores (test-time
augmentation); the row's figures are the mean's, and the log line also
gives those of the photos alone and of their mirror images alone.
``--load-models DIR --refit`` keeps only each saved model's tuned network:
the features of this run's ``--n-crops`` and ``--compute`` (every photo's,
through that network) train a new head on the split's training photos.
Tuning depends neither on the crops the features use nor on how they are
computed (its losses are equal to every digit across such runs), so this
is what a tuned fit with those flags gives, without tuning again.

Every parameter of :class:`~skdeepbiq.FineTuning` has a flag, so that
variants of the recipe can be measured (``--objective``, ``--epochs``,
``--trainable``, ``--flips``, ``--lr-decay``, ``--validation-fraction``,
``--rank-weight``, ...); ``--no-baseline`` skips the model without fine-tuning.

Run::

    python benchmarks/finetune.py --splits 3 --cache ~/.cache/skdeepbiq
    python benchmarks/finetune.py --splits 1 --objective classes --flips
    python benchmarks/finetune.py --lr-decay 0.7 --validation-fraction 0.1
    python benchmarks/finetune.py --full-fit
    python benchmarks/finetune.py --leaky --splits 10 --cache ~/.cache/skdeepbiq
    python benchmarks/finetune.py --splits 10 --load-models DIR --test-crops 25
    python benchmarks/finetune.py --splits 10 --load-models DIR --test-flips
    python benchmarks/finetune.py --splits 10 --load-models DIR --refit \
        --backbone efficientnet_lite2 --n-crops 25 --compute trunk \
        --also-C 3e-6,3e-5,1e-4,3e-4,1e-3
"""

import argparse
import json
import os
import time

import numpy as np
import torch
from protocol import (
    add_random_state_option,
    clive_dev_splits,
    column_medians,
    load_clive_dev,
    record,
)
from sklearn.base import clone

from skdeepbiq import (
    DeepBIQRegressor,
    FineTuning,
    default_featurizer,
    default_regressor,
    load_model,
    save_model,
)
from skdeepbiq.metrics import krocc, plcc, rmse, srocc


def recipe_from(args) -> FineTuning:
    params = {
        "objective": args.objective,
        "epochs": args.epochs,
        "crops_per_image": args.crops_per_image,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "learning_rate": args.learning_rate,
        "weight_decay": args.weight_decay,
        "schedule": args.schedule,
        "trainable": args.trainable
        if args.trainable in ("tail", "deep")
        else int(args.trainable),
        "flips": args.flips,
        "lr_decay": args.lr_decay,
        "validation_fraction": args.validation_fraction,
        "n_iter_no_change": args.n_iter_no_change,
        "rank_weight": args.rank_weight,
    }
    return FineTuning(**params)


def add_recipe_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for every parameter of FineTuning, defaulting to its default."""
    default = FineTuning()
    parser.add_argument(
        "--objective", default=default.objective, choices=["classes", "regression"]
    )
    parser.add_argument("--epochs", type=int, default=default.epochs)
    parser.add_argument("--crops-per-image", type=int, default=default.crops_per_image)
    parser.add_argument("--batch-size", type=int, default=default.batch_size)
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adamw"])
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--weight-decay", type=float, default=default.weight_decay)
    parser.add_argument(
        "--schedule", default=default.schedule, choices=["cosine", "constant"]
    )
    parser.add_argument("--trainable", default=default.trainable)
    parser.add_argument("--flips", action="store_true", help="random mirror crops")
    parser.add_argument("--lr-decay", type=float, default=default.lr_decay)
    parser.add_argument("--validation-fraction", type=float, default=None)
    parser.add_argument(
        "--n-iter-no-change", type=int, default=default.n_iter_no_change
    )
    parser.add_argument("--rank-weight", type=float, default=default.rank_weight)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="clive-dev folder")
    parser.add_argument("--cache", default=None, help="feature and trunk-map cache")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument(
        "--first-split", type=int, default=0, help="skip the splits before this one"
    )
    add_random_state_option(parser)
    parser.add_argument(
        "--results",
        metavar="FILE",
        help="append one JSON line per split to benchmarks/results/FILE",
    )
    parser.add_argument(
        "--label", default=None, help="the configuration's name in --results"
    )
    parser.add_argument("--device", default="auto")
    add_recipe_flags(parser)
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the untuned model"
    )
    parser.add_argument(
        "--full-fit", action="store_true", help="time one fit on all images"
    )
    parser.add_argument(
        "--leaky",
        action="store_true",
        help="the paper's leaky protocol: tune once on every image, test "
        "images included, then fit the SVR on each split's training images",
    )
    parser.add_argument(
        "--save-models",
        metavar="DIR",
        help="save each split's tuned model as DIR/split<N>.npz (an existing folder)",
    )
    parser.add_argument(
        "--load-models",
        metavar="DIR",
        help="fit nothing: score the tuned models DIR/split<N>.npz that "
        "--save-models saved",
    )
    parser.add_argument(
        "--test-crops",
        type=int,
        default=None,
        metavar="N",
        help="with --load-models: score N random crops per test photo instead "
        "of the model's own number (the same tuned network and SVR)",
    )
    parser.add_argument(
        "--test-flips",
        action="store_true",
        help="with --load-models: score each test photo as the mean of the "
        "model's scores of the photo and of its mirror image",
    )
    parser.add_argument(
        "--refit",
        action="store_true",
        help="with --load-models: keep each saved model's tuned network, and "
        "train a new head on features of this run's --n-crops and --compute",
    )
    parser.add_argument(
        "--also-C",
        dest="also_c",
        type=lambda text: [float(value) for value in text.split(",")],
        default=(),
        metavar="C,C,...",
        help="with --refit: also train and score a head with each of these C "
        "on the same features",
    )
    parser.add_argument(
        "--backbone",
        default=None,
        help="the featurizer's backbone (default: the default model's), for "
        "both the tuned and the untuned model",
    )
    parser.add_argument(
        "--C", type=float, default=None, help="the LinearSVR's C (default: its)"
    )
    parser.add_argument(
        "--n-crops", type=int, default=None, help="the featurizer's n_crops"
    )
    parser.add_argument(
        "--compute", choices=["crops", "trunk"], default=None,
        help="the featurizer's compute mode",
    )  # fmt: skip
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
    if args.load_models and args.refit:
        print(
            f"refit: the tuned networks saved in "
            f"{os.path.basename(os.path.normpath(args.load_models))}/, new heads; device "
            f"{device} ({name}); backbone {args.backbone or 'default'}; C "
            f"{args.C or 'default'}; n_crops {args.n_crops or 'default'}; compute "
            f"{args.compute or 'default'}"
        )
    elif args.load_models:
        print(f"scoring the saved split models in {args.load_models}; {name}")
    else:
        print(
            f"recipe: {recipe!r}; device {device} ({name}); {torch.get_num_threads()} "
            f"threads; backbone {args.backbone or 'default'}; C {args.C or 'default'}; "
            f"n_crops {args.n_crops or 'default'}; compute {args.compute or 'default'}"
        )

    def model_params():
        params = {"featurizer__memory": args.cache, "featurizer__device": device}
        if args.backbone:
            params["featurizer__backbone"] = args.backbone
        if args.C:
            params["regressor__C"] = args.C
        if args.n_crops:
            params["featurizer__n_crops"] = args.n_crops
        if args.compute:
            params["featurizer__compute"] = args.compute
        return params

    def default_model(fine_tune=None, **featurizer_params):
        """The default model of ``fine_tune``, with this run's flags."""
        params = model_params()
        given = {key.split("__", 1)[1]: value for key, value in params.items()}
        featurizer = default_featurizer(
            fine_tune=fine_tune,
            **{k: v for k, v in given.items() if k != "C"},
            **featurizer_params,
        )
        regressor = default_regressor(fine_tune=fine_tune)
        if args.C:
            regressor.set_params(C=args.C)
        return DeepBIQRegressor(featurizer, regressor=regressor, fine_tune=fine_tune)

    def fine_tuned():
        return default_model(recipe, verbose=args.verbose)

    if args.full_fit:
        start = time.perf_counter()
        model = fine_tuned().fit(paths, mos)
        elapsed = time.perf_counter() - start
        print(f"one fine-tuned fit on all {len(paths)} images: {elapsed:.0f} s")
        print(json.dumps({"full_fit_seconds": round(elapsed, 1),
                          "history": model.featurizer_.fine_tuning_history_}))  # fmt: skip
        return

    if args.leaky:
        return leaky(fine_tuned().featurizer, recipe, paths, mos, args)

    if args.save_models:
        # made before the first fit, not found missing after it
        os.makedirs(args.save_models, exist_ok=True)
    rows = []
    splits = clive_dev_splits(len(paths), random_state=args.random_state)
    for number, (train, test) in enumerate(splits[: args.splits]):
        if number < args.first_split:
            continue
        if args.load_models:
            model = load_model(f"{args.load_models}/split{number}.npz")
            if args.test_crops:
                model = with_test_crops(model, args.test_crops)
            if args.refit:
                row = refitted(
                    model, fine_tuned(), paths, mos, train, test, args.also_c
                )
                for c, other in row.get("also_c", {}).items():
                    print(f"split {number}, C {c}: {describe(other)}", flush=True)
            elif args.test_flips:
                row = tested_with_flips(model, paths, mos, test)
            else:
                row = tested(model, paths, mos, test)
        else:
            baseline = None
            if not args.no_baseline:
                baseline = default_model()
            model = fine_tuned()
            row = evaluate_split(baseline, model, paths, mos, train, test)
        rows.append({"split": number, **row})
        print(f"split {number}: {describe(row)}", flush=True)
        if args.results:
            record_split(args, recipe, model_params(), number, row, device)
        if args.save_models and not args.load_models:
            save_model(model, f"{args.save_models}/split{number}.npz")
    keys = [key for key in rows[0] if key.endswith(tuple(f"_{m}" for m in METRICS))]
    medians = {key: float(np.median([row[key] for row in rows])) for key in keys}
    print(f"median over {len(rows)} splits: {describe(medians)}")
    # saved models carry their own recipe; the command line's is not theirs
    source = (
        {
            "models": args.load_models,
            "test_crops": args.test_crops,
            "test_flips": args.test_flips,
        }
        | ({"refit": model_params()} if args.refit else {})
        if args.load_models
        else {"recipe": recipe.get_params()}
    )
    print(json.dumps(source | {"medians": medians, "splits": rows}))


def record_split(args, recipe, params, number, row, device) -> None:
    """Append split ``number``'s figures to ``--results``, one line per split.

    A tuned fit takes about a quarter of an hour on a 2-core CPU, so each
    split is kept as soon as it is done; the renderer gathers the lines of
    one configuration and seed by split.
    """
    tuned, untuned = model_figures(row, "fine_tuned"), model_figures(row, "baseline")
    kept = {key: row[key] for key in ("fit_seconds", "history") if key in row}
    for name in ("plain", "mirrored"):  # --test-flips: each half of the mean
        if alone := model_figures(row, name):
            kept[name] = alone
    configuration = {
        "label": args.label,
        "recipe": None if args.load_models else recipe.get_params(),
        "models": os.path.basename(os.path.normpath(args.load_models))
        if args.load_models
        else None,
        "refit": bool(args.refit),
        "test_flips": bool(args.test_flips),
        "params": {k: v for k, v in params.items() if k != "featurizer__memory"},
    }
    record(
        args.results,
        benchmark="finetune",
        configuration=configuration,
        random_state=args.random_state,
        per_split=[{"split": number, **tuned, **kept}],
        device=device,
        baseline=[{"split": number, **untuned}] if untuned else None,
    )


def leaky(featurizer, recipe, paths, mos, args):
    """Tune once on every image, then score the SVR alone on each split.

    This is how the paper's single fine-tuning of 5,000 iterations reads:
    the network has seen every test image and its score before the SVR is
    trained. It shows how much such a protocol overstates accuracy; the
    other modes of this script are the honest one.
    """
    featurizer = clone(featurizer).set_params(fine_tune=recipe)
    start = time.perf_counter()
    featurizer.fit(paths, mos)
    tuned_seconds = time.perf_counter() - start
    print(f"tuned once on all {len(paths)} images: {tuned_seconds:.0f} s")
    features = featurizer.transform(paths).reshape(len(paths), featurizer.n_crops_, -1)
    splits = clive_dev_splits(len(paths), random_state=args.random_state)
    rows = []
    for number, (train, test) in enumerate(splits[: args.splits]):
        head = DeepBIQRegressor(
            "precomputed", regressor=default_regressor(fine_tune=recipe)
        )
        predictions = head.fit(features[train], mos[train]).predict(features[test])
        rows.append({"split": number, **figures("leaky", mos[test], predictions)})
    medians = column_medians(rows)
    print(f"LEAKY, median over {len(rows)} splits: {describe(medians)}")
    print(json.dumps({"recipe": recipe.get_params(), "medians": medians,
                      "splits": rows, "tuned_seconds": round(tuned_seconds, 1)}))  # fmt: skip
    if args.results:
        record(
            args.results,
            benchmark="finetune",
            configuration={
                "label": args.label or "leaky",
                "recipe": recipe.get_params(),
                "leaky": True,
            },
            random_state=args.random_state,
            per_split=[
                {"split": row["split"]} | model_figures(row, "leaky") for row in rows
            ],
            device=args.device,
            tuned_seconds=round(tuned_seconds, 1),
        )


METRICS = {"srocc": srocc, "plcc": plcc, "krocc": krocc, "rmse": rmse}


def evaluate_split(baseline, fine_tuned, paths, mos, train, test) -> dict:
    """Both models' figures on ``test``, the tuned fit's time and history.

    ``fine_tuned_predictions`` holds the tuned model's predictions on ``test``,
    in its order, so that any other figure can be computed from the log.
    """
    row = {}
    if baseline is not None:
        predictions = baseline.fit(paths[train], mos[train]).predict(paths[test])
        row.update(figures("baseline", mos[test], predictions))
    start = time.perf_counter()
    fine_tuned.fit(paths[train], mos[train])
    row["fit_seconds"] = time.perf_counter() - start
    row["history"] = fine_tuned.featurizer_.fine_tuning_history_
    return row | tested(fine_tuned, paths, mos, test)


def with_test_crops(model, n_crops):
    """A fitted model that scores ``n_crops`` random crops per photo at prediction.

    With prediction fusion the SVR scores each crop on its own and the
    photo's score is their mean, so the trained model applies unchanged to
    more (or fewer) crops; only the fitted crop count changes. The crops
    are drawn with the featurizer's seed.
    """
    if model.fusion != "prediction" or model.featurizer_.crops != "random":
        raise SystemExit("--test-crops needs prediction fusion and random crops")
    featurizer = model.featurizer_.set_params(n_crops=n_crops)
    featurizer.n_crops_ = n_crops
    featurizer.n_features_out_ = n_crops * featurizer.n_features_per_crop_
    model.n_crops_ = n_crops
    return model


def refitted(saved, model, paths, mos, train, test, also_c=()) -> dict:
    """``model``'s figures on ``test`` with ``saved``'s tuned network.

    ``model``'s featurizer, given ``saved``'s tuned weights instead of
    tuning, extracts every photo's features once; ``model``'s head (its
    regressor and fusion) is trained on those of ``train``. The featurizer
    keeps ``saved``'s recipe, on which its trunk cut depends. Each ``C`` of
    ``also_c`` trains one more head on the same features, with that ``C``:
    its figures are in ``row["also_c"]``.
    """
    params = model.get_params()
    tuned = saved.featurizer_
    if params["featurizer__backbone"] != tuned.backbone:
        raise SystemExit(f"--backbone must be the saved models' {tuned.backbone}")
    featurizer = clone(params["featurizer"]).set_params(fine_tune=None)
    featurizer.fit(paths[:1])
    featurizer.load_tuned_weights(tuned.tuned_weights())
    featurizer.set_params(fine_tune=tuned.fine_tune)
    start = time.perf_counter()
    features = featurizer.transform(paths).reshape(len(paths), featurizer.n_crops_, -1)
    regressor = params["regressor"]

    def predicted(regressor):
        head = DeepBIQRegressor("precomputed", regressor=regressor, fusion=model.fusion)
        return head.fit(features[train], mos[train]).predict(features[test])

    predictions = predicted(clone(regressor))
    row = figures("fine_tuned", mos[test], predictions)
    row["features_seconds"] = time.perf_counter() - start
    row["fine_tuned_predictions"] = np.round(predictions, 4).tolist()
    if also_c:
        row["also_c"] = {
            f"{c:g}": figures(
                "fine_tuned", mos[test], predicted(clone(regressor).set_params(C=c))
            )
            for c in also_c
        }
    return row


def tested(fine_tuned, paths, mos, test) -> dict:
    """A fitted tuned model's figures and predictions on ``test``."""
    predictions = fine_tuned.predict(paths[test])
    row = figures("fine_tuned", mos[test], predictions)
    row["fine_tuned_predictions"] = np.round(predictions, 4).tolist()
    return row


def tested_with_flips(model, paths, mos, test) -> dict:
    """``model``'s figures on ``test`` with each photo's mirror image averaged in.

    The photos are scored from their files, as :func:`tested` does; their
    mirror images, read with Pillow and flipped left to right, are scored as
    arrays. ``fine_tuned_*`` are the figures of the mean of the two scores;
    ``plain_*`` those of the photos alone, ``mirrored_*`` those of the
    mirror images alone.
    """
    from PIL import Image

    plain = model.predict(paths[test])
    mirrors = []
    for path in paths[test]:
        with Image.open(path) as image:
            mirrors.append(
                np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, ::-1])
            )
    mirrored = model.predict(mirrors)
    predictions = (plain + mirrored) / 2
    row = figures("fine_tuned", mos[test], predictions)
    row |= figures("plain", mos[test], plain) | figures("mirrored", mos[test], mirrored)
    row["fine_tuned_predictions"] = np.round(predictions, 4).tolist()
    return row


def model_figures(row: dict, name: str) -> dict:
    """The figures of model ``name`` in ``row`` (what :func:`figures` keyed), unkeyed."""
    prefix = f"{name}_"
    return {key[len(prefix) :]: value for key, value in row.items()
            if key.startswith(prefix)}  # fmt: skip


def figures(name, y_true, y_pred) -> dict:
    """SROCC, PLCC, KROCC and RMSE of one model's predictions, keyed by name."""
    return {
        f"{name}_{key}": float(metric(y_true, y_pred))
        for key, metric in METRICS.items()
    }


def describe(row: dict) -> str:
    """One line of a row's (or the medians') figures.

    With ``--test-flips``, ``fine-tuned`` is the mean of the two scores and
    ``plain`` and ``mirrored`` the photos' and mirror images' alone.
    """
    parts = []
    for name in ("baseline", "fine_tuned", "leaky", "plain", "mirrored"):
        if f"{name}_srocc" in row:
            values = " ".join(
                f"{key.upper()} {row[f'{name}_{key}']:.4f}"
                for key in METRICS
                if f"{name}_{key}" in row
            )
            parts.append(f"{name.replace('_', '-')} {values}")
    if "fit_seconds" in row:
        parts.append(f"fit {row['fit_seconds']:.0f} s")
    history = row.get("history", {})
    if "best_epoch" in history:
        parts.append(
            f"best epoch {history['best_epoch']} of {len(history['loss'])} "
            f"(validation SROCC {np.round(history['validation_srocc'], 3).tolist()})"
        )
    return " | ".join(parts)


if __name__ == "__main__":
    main()
