"""``.. skdeepbiq-help:: [COMMAND [SUBCOMMAND]]``: the command line's --help.

The text comes from :func:`skdeepbiq.cli.build_parser` at build time, so the
documented options are always those of the installed package.
"""

import argparse
import os

from docutils import nodes
from docutils.parsers.rst import Directive


def command_help(words: list[str]) -> str:
    """``skdeepbiq WORDS... --help`` as text, 80 columns wide."""
    from skdeepbiq.cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        parser = build_parser()
        for word in words:
            subparsers = [
                action
                for action in parser._actions
                if isinstance(action, argparse._SubParsersAction)
            ]
            if not subparsers or word not in subparsers[0].choices:
                raise ValueError(f"skdeepbiq has no command {' '.join(words)!r}")
            parser = subparsers[0].choices[word]
        return parser.format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


class SkDeepBIQHelp(Directive):
    """Insert the help of ``skdeepbiq`` or one of its commands."""

    optional_arguments = 2
    has_content = False

    def run(self):
        try:
            text = command_help(list(self.arguments))
        except ValueError as error:
            raise self.error(str(error)) from error
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("skdeepbiq-help", SkDeepBIQHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
