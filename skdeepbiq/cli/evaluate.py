"""``skdeepbiq evaluate``: the accuracy of a model on the images of a manifest."""

from __future__ import annotations

import argparse
import sys
import warnings

from ._options import (
    add_runtime_options,
    add_viewing_scale_option,
    confidence_level,
    print_error,
    print_note,
    print_warning,
    runtime_params,
)
from ._output import METRIC_NAMES, write_metrics
from ._scoring import interval_shortfall, load_model_argument, predict_with_failures

HELP = "accuracy of a model on images with known scores"
DESCRIPTION = (
    "Score the images of a CSV manifest (columns image, mos or score; image "
    "paths relative to the CSV) with MODEL and print n_images (the images "
    "scored), PLCC, SROCC, KROCC, RMSE and MAE against the manifest's scores. "
    "A warning on stderr counts the images MODEL was trained on, when it "
    "keeps their fingerprints: its figures on them are no fair test. A "
    "calibrated model also gets the empirical coverage and mean width of its "
    "prediction intervals (--interval, 0.9 by default)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``skdeepbiq evaluate``."""
    parser.add_argument("model", metavar="MODEL", help="model file or pretrained name")
    parser.add_argument("manifest", metavar="MANIFEST.csv", help="images and scores")
    parser.add_argument(
        "-f",
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format (default: %(default)s)",
    )
    parser.add_argument(
        "--interval",
        type=confidence_level,
        default=0.9,
        metavar="CONFIDENCE",
        help="the confidence of the intervals whose coverage a calibrated model "
        "reports (default: %(default)s)",
    )
    add_viewing_scale_option(parser)
    add_runtime_options(
        parser,
        cache_help="per-image feature cache (that of `fit --cache` skips the "
        "network for the images it was trained on)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the metrics; 1 when some images could not be scored.

    Warns when the manifest holds images the model was trained on.
    """
    import numpy as np

    from .. import metrics, training_overlap
    from ..datasets import load_manifest
    from ..exceptions import SkDeepBIQWarning

    data = load_manifest(args.manifest)
    model = load_model_argument(
        args.model,
        viewing_scale=args.viewing_scale,
        on_error="nan",
        **runtime_params(args),
    )
    confidence = None
    if getattr(model, "calibration_", None) is not None:
        reason = interval_shortfall(model, args.model, "--interval", args.interval)
        if reason is None:
            confidence = args.interval
        else:
            print_note(f"no coverage figures: {reason}")
    scores, failures, intervals = predict_with_failures(
        model, list(data.paths), confidence=confidence
    )
    scored = np.isfinite(scores)
    if scored.sum() < 2:
        print_error("fewer than two images could be scored")
        return 1
    y_true, y_pred = data.y[scored], scores[scored]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkDeepBIQWarning)
        results = {
            name: getattr(metrics, name.lower())(y_true, y_pred)
            for name in METRIC_NAMES
        }
    if intervals is not None:
        low, high = intervals[scored, 0], intervals[scored, 1]
        results[f"coverage_{args.interval:g}"] = float(
            np.mean((low <= y_true) & (y_true <= high))
        )
        results[f"mean_width_{args.interval:g}"] = float(np.mean(high - low))
    if getattr(model, "training_fingerprints_", None) is not None:
        n_seen = training_overlap(model, list(data.paths))
        if n_seen:
            print_warning(
                f"{n_seen} of the {len(data.paths)} images of {args.manifest} "
                f"are among the images {args.model} was trained on: its "
                "figures on them are not a fair test of it"
            )
    write_metrics(sys.stdout, int(scored.sum()), results, args.format)
    if failures:
        print_error(f"{len(failures)} images could not be scored and are left out")
        return 1
    return 0
