"""``skdeepbiq score``: the quality of images, and optionally their maps."""

from __future__ import annotations

import argparse
import sys

from ._options import (
    add_runtime_options,
    add_viewing_scale_option,
    check_output_file,
    confidence_level,
    print_error,
    runtime_params,
)
from ._output import check_maps_folder, check_maps_model, write_maps, write_scores
from ._scoring import (
    DEFAULT_MODEL,
    NO_SUCH_FILE,
    check_calibrated,
    expand_paths,
    load_model_argument,
    predict_with_failures,
)

HELP = "predict the quality of images"
DESCRIPTION = (
    "Predict the quality of images: one score per image, on the scale the "
    "model was trained on (the default model: CLIVE's MOS, 0-100, higher is "
    "better). Missing or unreadable images are reported on stderr and get "
    "a row with an empty score, in the order given; the others are still "
    "scored, and the exit code is then 1."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``skdeepbiq score``."""
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="image files, folders (their image files) or glob patterns",
    )
    parser.add_argument(
        "-m",
        "--model",
        default=DEFAULT_MODEL,
        help="a pretrained model name or a model file written by `skdeepbiq fit` "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "-f", "--format", choices=("csv", "json"), default="csv", help="output format"
    )
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    parser.add_argument(
        "--interval",
        type=confidence_level,
        metavar="CONFIDENCE",
        help="also give each score's prediction interval, columns low and high "
        "(JSON fields), that holds the true score with this probability, e.g. "
        "0.9; needs a calibrated model (the pretrained one is)",
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="look into subfolders too"
    )
    parser.add_argument(
        "--maps",
        metavar="DIR",
        help="also write each image's quality map to DIR as a PNG named after "
        "the image's whole file name (photo.jpg -> DIR/photo.jpg.png, "
        "photo.png -> DIR/photo.png.png); images from several folders keep "
        "their path below the folder they share (a/photo.jpg -> "
        "DIR/a/photo.jpg.png, b/photo.jpg -> DIR/b/photo.jpg.png): the "
        "photo, the mean score of "
        "a dense grid of crops over each pixel (red bad, blue good; colours "
        "span the training scores' mean +- 2 std) and its score. Needs "
        "matplotlib (pip install skdeepbiq[plot]); scores about 16 crops per "
        "500x500 photo on top of the score's own",
    )
    add_viewing_scale_option(parser)
    add_runtime_options(
        parser,
        cache_help="per-image feature cache of the scores (that of `fit "
        "--cache` too): images already there skip the network",
    )


def run(args: argparse.Namespace) -> int:
    """Score the images; 1 when some could not be scored (each is named).

    A path that does not exist gets its row too, with an empty score, in
    the order given.
    """
    import numpy as np

    check_output_file("--output", args.output)
    paths, problems = expand_paths(
        args.paths, recursive=args.recursive, keep_missing=True
    )
    for argument, reason in problems:
        print_error(f"{argument}: {reason}")
    if not paths:
        print_error("no images to score")
        return 1
    not_there = {argument for argument, reason in problems if reason == NO_SUCH_FILE}
    missing = {index for index, path in enumerate(paths) if path in not_there}
    present = [path for index, path in enumerate(paths) if index not in missing]
    maps_model = None
    if args.maps is not None and present:
        check_maps_folder(args.maps, paths)
        # A silent twin for the maps: one progress bar counts the maps.
        maps_model = load_model_argument(
            args.model,
            viewing_scale=args.viewing_scale,
            **runtime_params(args, memory=None, verbose=0),
        )
        check_maps_model(maps_model)
    scores = np.full(len(paths), np.nan)
    bounds = None if args.interval is None else np.full((len(paths), 2), np.nan)
    failures = dict.fromkeys(sorted(missing), NO_SUCH_FILE)
    if present:
        model = load_model_argument(
            args.model,
            viewing_scale=args.viewing_scale,
            on_error="nan",
            **runtime_params(args),
        )
        if args.interval is not None:
            check_calibrated(model, args.model, "--interval", args.interval)
        scored, reasons, intervals = predict_with_failures(
            model, present, confidence=args.interval
        )
        indices = [index for index in range(len(paths)) if index not in missing]
        scores[indices] = scored
        if bounds is not None:
            bounds[indices] = intervals
        failures |= {indices[index]: reason for index, reason in reasons.items()}
    if args.output is None:
        write_scores(sys.stdout, paths, scores, failures, args.format, bounds)
    else:
        with open(args.output, "w", newline="", encoding="utf-8") as stream:
            write_scores(stream, paths, scores, failures, args.format, bounds)
    if maps_model is not None:
        write_maps(maps_model, args.maps, paths, scores, failures, args.quiet)
    # a missing path is both a problem and a row with an empty score
    n_failed = len(failures) + len(problems) - len(missing)
    if n_failed:
        print_error(f"{n_failed} of the inputs could not be scored (see above)")
        return 1
    return 0
