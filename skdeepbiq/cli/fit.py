"""``skdeepbiq fit``: train a model on the images of a manifest and save it."""

from __future__ import annotations

import argparse
import os
import sys

from ._options import (
    add_backbone_options,
    add_c_option,
    add_runtime_options,
    add_viewing_scale_option,
    check_output_file,
    positive_int,
    runtime_params,
)

HELP = "train a model on images and their scores"
DESCRIPTION = (
    "Train a DeepBIQ model on the images of a CSV manifest (columns image, "
    "mos or score[, mos_std][, group]; image paths relative to the CSV) and "
    "save it as "
    "a .npz file: plain arrays, no pickle. The backbone's weights are not "
    "copied into it, only named."
)

#: Options with a few values, the first the default: option -> values, help.
#: The defaults are DeepBIQRegressor()'s (``tests/test_cli.py`` checks it).
_CHOICES = {
    "--crops": (("random", "grid", "center", "whole"), "where the crops are cut"),
    "--fusion": (
        ("prediction", "feature", "concatenation"),
        "how the crops of an image make its score",
    ),
    "--pooling": (("mean", "min", "max"), "pooling of the crops"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``skdeepbiq fit``."""
    parser.add_argument("manifest", metavar="MANIFEST.csv", help="images and scores")
    parser.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file (.npz)"
    )
    add_backbone_options(parser, None, "efficientnet_lite2")
    parser.add_argument(
        "--n-crops",
        type=positive_int,
        default=None,
        help="crops per image (default: 25)",
    )
    parser.add_argument(
        "--layer",
        default="stages",
        help="layers whose outputs are the features: 'stages' (each stage of "
        "the backbone), 'penultimate' (the paper's), or module names separated "
        "by commas (default: %(default)s)",
    )
    parser.add_argument(
        "--spatial-pooling",
        choices=("mean", "mean_std"),
        default=None,
        help="how each layer's output is pooled over a crop: its mean, or its "
        "mean and standard deviation (default: mean_std; mean with --fine-tune)",
    )
    parser.add_argument(
        "--compute",
        choices=("trunk", "crops"),
        default=None,
        help="'trunk': the convolutional trunk once per image, crops as "
        "windows of its maps; 'crops': every crop through the whole network "
        "(default: trunk; crops with --crops whole)",
    )
    parser.add_argument(
        "--max-side",
        type=positive_int,
        default=1024,
        help="with --crops whole: longer side of larger images shrunk to it "
        "(default: %(default)s)",
    )
    for option, (values, help) in _CHOICES.items():
        parser.add_argument(
            option,
            choices=values,
            default=values[0],
            help=f"{help} (default: %(default)s)",
        )
    parser.add_argument(
        "--fine-tune",
        nargs="?",
        const="regression",
        choices=("regression", "classes"),
        default=None,
        help="fine-tune the network on these images first, with "
        "FineTuning()'s recipe: on the scores ('regression', the default "
        "when the option is given alone) or on the paper's five classes "
        "(default: no fine-tuning)",
    )
    add_c_option(parser, "1e-4; 1e-5 with --fine-tune")
    add_viewing_scale_option(parser, default="learned")
    add_runtime_options(
        parser,
        cache_help="per-image feature cache; `evaluate` and `score` with the "
        "same --cache then skip the network for these images",
    )


def _layer(value: str):
    """The featurizer's ``layer`` of the ``--layer`` option."""
    if value == "penultimate":
        return None
    names = [name.strip() for name in value.split(",")]
    return names[0] if len(names) == 1 else names


def make_featurizer(args: argparse.Namespace):
    """The featurizer of ``skdeepbiq fit``'s options.

    Options left unset take the default featurizer's values, those of a
    tuned model with ``--fine-tune`` (as ``DeepBIQRegressor`` does).
    """
    from .. import CNNCropFeaturizer
    from .._regressor import default_featurizer

    default = default_featurizer(fine_tune=args.fine_tune is not None).get_params()
    whole = args.crops == "whole"
    return CNNCropFeaturizer(
        backbone=args.backbone or default["backbone"],
        weights=args.weights,
        layer=_layer(args.layer),
        spatial_pooling=args.spatial_pooling or default["spatial_pooling"],
        n_crops=args.n_crops or default["n_crops"],
        crop_size=args.crop_size,
        crops=args.crops,
        max_side=args.max_side,
        compute=args.compute or ("crops" if whole else default["compute"]),
        random_state=args.random_state,
        viewing_scale=args.viewing_scale,
        **runtime_params(args),
    )


def run(args: argparse.Namespace) -> int:
    """Train the model and save it."""
    from .. import DeepBIQRegressor, FineTuning, save_model
    from .._regressor import default_regressor
    from ..datasets import load_manifest

    check_output_file("--output", args.output)  # before hours of training
    data = load_manifest(args.manifest)
    featurizer = make_featurizer(args)
    regressor = None
    if args.C is not None:
        regressor = default_regressor(C=args.C)
    fine_tune = None
    if args.fine_tune is not None:
        fine_tune = FineTuning(objective=args.fine_tune)
    model = DeepBIQRegressor(
        featurizer, regressor=regressor, fusion=args.fusion, pooling=args.pooling,
        fine_tune=fine_tune,
    ).fit(data.paths, data.y)  # fmt: skip
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
