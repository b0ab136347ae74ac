"""The ``skdeepbiq`` command line.

Commands: ``score`` (quality scores of images), ``fit`` (train a model on a
CSV manifest), ``evaluate`` (metrics of a model on a manifest),
``reproduce`` (the paper's protocols) and ``weights`` (fetch or list
backbone weights). ``skdeepbiq COMMAND --help`` tells more.

Each command is a module with ``HELP``, ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args) -> exit code``. Parsing imports no torch:
``--help`` and usage errors answer at once, and handlers import what they
need when they run. One exit-code policy holds for every command
(:data:`EXIT_CODES`): 0 success; 1 a missing or unreadable path, image or
weights file; 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys

from . import evaluate, fit, reproduce, score, weights
from ._options import EXIT_CODES, UsageError, run_handler
from ._output import map_file_names
from ._scoring import IMAGE_EXTENSIONS, expand_paths

__all__ = [
    "EXIT_CODES",
    "IMAGE_EXTENSIONS",
    "UsageError",
    "build_parser",
    "expand_paths",
    "main",
    "map_file_names",
]

#: The commands, in the order ``--help`` lists them: name -> module.
COMMANDS = {
    "score": score,
    "fit": fit,
    "evaluate": evaluate,
    "reproduce": reproduce,
    "weights": weights,
}


def build_parser(load_reproduce=True) -> argparse.ArgumentParser:
    """The argument parser of the ``skdeepbiq`` command.

    Parameters
    ----------
    load_reproduce : bool, default=True
        Unused: the arguments of ``reproduce`` are always there now (they
        no longer import :mod:`skdeepbiq.reproduce`). Kept so that older
        callers still work.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser; each command sets ``handler``, its module's ``run``.
    """
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="skdeepbiq",
        description="Blind image quality assessment with DeepBIQ.",
        epilog=EXIT_CODES,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        command = commands.add_parser(
            name, help=module.HELP, description=module.DESCRIPTION
        )
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
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
        0 success; 1 a missing or unreadable path, image or weights file;
        2 bad usage (argparse's own usage errors exit with 2 through
        ``SystemExit``).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    return run_handler(args.handler, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
