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

Before a command runs, :func:`main` sets ``OMP_WAIT_POLICY=PASSIVE`` in the
environment unless it is set already (:data:`THREAD_ENVIRONMENT`): OpenMP
reads it when torch is first imported, and idle PyTorch threads that wait
passively leave the cores to whatever else runs on a busy machine
(``benchmarks/busy_cpu.py``).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import evaluate, fit, reproduce, score, weights
from ._options import EXIT_CODES, UsageError, run_handler
from ._output import map_file_names
from ._scoring import IMAGE_EXTENSIONS, expand_paths

__all__ = [
    "EXIT_CODES",
    "IMAGE_EXTENSIONS",
    "THREAD_ENVIRONMENT",
    "UsageError",
    "build_parser",
    "expand_paths",
    "main",
    "map_file_names",
]

#: Environment variables :func:`main` sets, unless already set, before any
#: command imports torch: OpenMP threads then sleep when idle instead of
#: spinning, which on a CPU shared with other work is several times faster.
THREAD_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}

#: The commands, in the order ``--help`` lists them: name -> module.
COMMANDS = {
    "score": score,
    "fit": fit,
    "evaluate": evaluate,
    "reproduce": reproduce,
    "weights": weights,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``skdeepbiq`` command.

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

    Notes
    -----
    Sets :data:`THREAD_ENVIRONMENT` (``OMP_WAIT_POLICY=PASSIVE``) in
    ``os.environ`` where the variable is not set yet, before the command
    imports torch; a value set by the user is kept. It takes effect only
    when torch has not been imported yet in this process.
    """
    for name, value in THREAD_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    return run_handler(args.handler, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
