"""``skdeepbiq reproduce``: the paper's protocols, by :func:`skdeepbiq.reproduce.reproduce`.

Options left out are left out of the call too, so that ``reproduce()``'s
own defaults apply (one default ``C`` everywhere: the package's).
"""

from __future__ import annotations

import argparse
import sys

from ._options import (
    add_backbone_options,
    add_c_option,
    add_runtime_options,
    positive_int,
    require_matplotlib,
)

HELP = "run the paper's evaluation protocols"
DESCRIPTION = (
    "Run Exp I, II and III of Bianco et al. (2018) on a dataset and write "
    "report.md, report.json and PNG plots. Finished splits are kept in "
    "OUTPUT/splits/: rerun the same command to resume an interrupted run."
)

#: Arguments of the parser that are not keywords of ``reproduce()``.
_NOT_KEYWORDS = ("handler", "command", "dataset", "output", "quiet")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``skdeepbiq reproduce``."""
    parser.add_argument(
        "dataset",
        help="a CSV manifest (image, mos[, mos_std][, group]), a folder holding "
        "mos.csv, or a database root in its official layout",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="deepbiq-report",
        help="folder of the report (default: %(default)s)",
    )
    _add_protocol_options(parser)
    add_backbone_options(parser)
    add_c_option(parser, "1e-4", default=argparse.SUPPRESS)
    parser.add_argument(
        "--no-plots",
        dest="plots",
        action="store_false",
        help="skip the PNG plots (which need matplotlib)",
    )
    add_runtime_options(
        parser,
        cache_help="per-image feature cache (default: OUTPUT/cache)",
        quiet_help="no progress bars",
        precision=False,
    )


def _add_protocol_options(parser: argparse.ArgumentParser) -> None:
    """The options of the protocol; absent ones take ``reproduce()``'s defaults."""
    absent = argparse.SUPPRESS
    parser.add_argument(
        "--experiments",
        nargs="+",
        default=absent,
        metavar="EXP",
        help="experiments to run, among I II III (default: all; III only "
        "where the featurizer can fine-tune)",
    )
    parser.add_argument(
        "--n-splits",
        type=positive_int,
        default=absent,
        help="random splits (default: 10)",
    )
    parser.add_argument(
        "--crops",
        dest="crop_counts",
        type=positive_int,
        nargs="+",
        default=absent,
        metavar="K",
        help="numbers of random crops studied in Exp II (default: 1 5 10 15 "
        "20 25; the paper went to 50)",
    )
    parser.add_argument(
        "--dataset-type",
        default=absent,
        help="manifest, clive, live, csiq, tid2008, tid2013, kadid10k or "
        "koniq10k (default: auto, recognised by its files)",
    )
    parser.add_argument(
        "--leaky-fine-tuning",
        action="store_true",
        default=absent,
        help="also run Exp III tuned once on every image, test images "
        "included (the paper's single fine-tuning), in rows labelled LEAKY",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=absent,
        help="level of the t-tests that choose the number of crops (default: 0.05)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the experiments and print the report's table and files."""
    from .._paper import report as _report
    from ..reproduce import reproduce

    keywords = {
        name: value for name, value in vars(args).items() if name not in _NOT_KEYWORDS
    }
    if keywords.get("plots", True):
        require_matplotlib("plotting (skipped with --no-plots)")
    try:
        results = reproduce(
            args.dataset, args.output, verbose=0 if args.quiet else 1, **keywords
        )
    except KeyboardInterrupt:
        print(
            f"skdeepbiq: interrupted; finished splits are kept in {args.output}/splits: "
            "rerun the same command to resume",
            file=sys.stderr,
        )
        return 1
    print(_report.markdown_table(results))
    print()
    for path in results.files:
        print(path)
    return 0
