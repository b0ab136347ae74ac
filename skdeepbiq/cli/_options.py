"""What every command shares: argument types, options, errors and exit codes.

Nothing here imports torch or scikit-learn, so that ``--help`` and usage
errors answer at once; the commands import them when they run.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys

from ..exceptions import ImageReadError

#: ``precision`` values of :class:`~skdeepbiq.CNNCropFeaturizer`: those of
#: ``skdeepbiq._engine.runtime.PRECISIONS``, spelled out so that parsing imports no
#: torch (a test checks that the two agree).
PRECISIONS = ("auto", "float32", "float16", "bfloat16")

#: The exit-code policy, shown at the end of ``skdeepbiq --help``.
EXIT_CODES = (
    "Exit codes: 0 success; 1 a path, image or weights file is missing or "
    "cannot be read (a missing --model file included; the images that could "
    "be read are still scored); 2 bad usage: an unknown option, a bad value, "
    "a malformed manifest or CSV file, a --model file that is not a model."
)


class UsageError(Exception):
    """A command-line argument is unusable: exit code 2."""


def print_error(message: str) -> None:
    """Write ``skdeepbiq: error: message`` to stderr."""
    print(f"skdeepbiq: error: {message}", file=sys.stderr)


def print_warning(message: str) -> None:
    """Write ``skdeepbiq: warning: message`` to stderr."""
    print(f"skdeepbiq: warning: {message}", file=sys.stderr)


def print_note(message: str) -> None:
    """Write ``skdeepbiq: note: message`` to stderr."""
    print(f"skdeepbiq: note: {message}", file=sys.stderr)


def exit_code(error: Exception) -> int:
    """The exit code of an error a command raised (see :data:`EXIT_CODES`).

    An unreadable image (:class:`~skdeepbiq.exceptions.ImageReadError`, a
    ``ValueError``) and any ``OSError`` (a missing file, missing weights, a
    permission) give 1; a :class:`UsageError` or another ``ValueError`` (a
    bad value, a malformed file) gives 2.
    """
    if isinstance(error, ImageReadError | OSError):
        return 1
    return 2


def run_handler(handler, args: argparse.Namespace) -> int:
    """Run ``handler(args)`` and turn what it raises into a message and a code.

    Parameters
    ----------
    handler : callable
        A command: ``handler(args) -> int``.
    args : argparse.Namespace
        Its parsed arguments.

    Returns
    -------
    code : int
        The handler's own code, or that of the error it raised
        (:func:`exit_code`); 1 when interrupted or when stdout is closed.
    """
    try:
        return handler(args)
    except KeyboardInterrupt:
        print_error("interrupted")
        return 1
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # silence the final flush
        return 1
    except (UsageError, OSError, ValueError) as error:
        print_error(str(error))
        return exit_code(error)


def check_output_file(option: str, path: str | None) -> None:
    """Refuse an output file that cannot be written, before any work is done.

    ``option`` (``--output``) names the option in the message. A file in a
    folder that does not exist gives a ``FileNotFoundError`` (exit code 1,
    as every missing path); a path that is a folder, a :class:`UsageError`
    (exit code 2). None (no such option given) passes.
    """
    if path is None:
        return
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a folder; name a file in it")
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise FileNotFoundError(
            f"{option} {path}: no such folder {folder!r}; create it first "
            "(nothing was computed)"
        )


def require_matplotlib(purpose: str) -> None:
    """Refuse ``purpose`` (an option, ...) with exit code 2 without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"{purpose} needs matplotlib: pip install skdeepbiq[plot]")


# Argument types -------------------------------------------------------------


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def batch_size(text: str) -> int | str:
    """``--batch-size``: "auto" or a positive integer."""
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"must be 'auto' or a positive integer, got {text!r}"
        ) from None


def viewing_scale(text: str) -> str | int:
    """``--viewing-scale``: "learned", "native" or a positive number of pixels."""
    if text in ("learned", "native"):
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not 'learned', 'native' or a positive number of pixels"
        ) from None


def confidence_level(text: str) -> float:
    """``--interval``: a probability strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a confidence strictly between 0 and 1, e.g. 0.9"
        )
    return value


def weights(text: str) -> str | None:
    """``--weights``: a weights name or file; "none" (any case) gives None."""
    return None if text.lower() == "none" else text


# Options ---------------------------------------------------------------------


def add_runtime_options(
    parser: argparse.ArgumentParser,
    *,
    cache_help: str,
    quiet_help: str = "no progress bar on stderr",
    precision: bool = True,
) -> None:
    """``--device``, ``--precision``, ``--batch-size``, ``--n-jobs``,
    ``--cache DIR`` (the per-image feature cache) and ``-q/--quiet``."""
    parser.add_argument(
        "--device",
        default="auto",
        help="'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1', ... "
        "(default: %(default)s)",
    )
    if precision:
        parser.add_argument(
            "--precision",
            choices=PRECISIONS,
            default="auto",
            help="arithmetic of the network; 'auto' is float16 on CUDA, "
            "float32 on the CPU (default: %(default)s)",
        )
    parser.add_argument(
        "--batch-size",
        type=batch_size,
        default="auto",
        help="crops per forward pass; 'auto' is 256 on CUDA, 8 on the CPU "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="image reading threads (default: none on the CPU, 4 on CUDA)",
    )
    parser.add_argument("--cache", metavar="DIR", default=None, help=cache_help)
    add_quiet_option(parser, quiet_help)


def add_viewing_scale_option(parser: argparse.ArgumentParser, default=None) -> None:
    """``--viewing-scale``: the featurizer's ``viewing_scale``; ``default``
    None keeps the model's own."""
    shown = "the model's own" if default is None else default
    parser.add_argument(
        "--viewing-scale",
        type=viewing_scale,
        default=default,
        metavar="{learned,native,PIXELS}",
        help="the scale at which photos are judged: a photo whose shorter side "
        "is larger is brought down to it before the crops are cut; 'learned' "
        "is the training photos' median shorter side (500 for the pretrained "
        "model), 'native' the photo's own pixels, or a shorter side in "
        f"pixels (default: {shown})",
    )


def add_quiet_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``-q/--quiet``."""
    parser.add_argument("-q", "--quiet", action="store_true", help=help)


def add_c_option(parser: argparse.ArgumentParser, shown: str, **kwargs) -> None:
    """``-C/--C``: the LinearSVR's ``C``; absent means the package's default.

    ``shown`` is what the help says of that default.
    """
    parser.add_argument(
        "-C",
        "--C",
        dest="C",
        type=positive_float,
        help=f"LinearSVR C (default: the package's, {shown})",
        **kwargs,
    )


def add_backbone_options(
    parser: argparse.ArgumentParser, backbone="mobilenet_v2", backbone_help=None
) -> None:
    """``--backbone``, ``--weights``, ``--crop-size`` and ``--random-state``.

    ``backbone`` is ``--backbone``'s default, and ``backbone_help`` what the
    help says of it (the default itself unless given).
    """
    parser.add_argument(
        "--backbone",
        default=backbone,
        help=f"torchvision model (default: {backbone_help or '%(default)s'})",
    )
    parser.add_argument(
        "--weights",
        type=weights,
        default="IMAGENET1K_V1",
        help="torchvision weights name, state_dict file, or 'none' for random "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--crop-size",
        type=positive_int,
        default=224,
        help="in pixels (default: %(default)s)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of the crops (default: %(default)s)",
    )


def runtime_params(args: argparse.Namespace, **overrides) -> dict:
    """The featurizer's runtime parameters from parsed options.

    ``device``, ``precision``, ``batch_size``, ``n_jobs``, ``memory``
    (``--cache``) and ``verbose`` (1, or 0 with ``--quiet``), as
    :func:`skdeepbiq.load_model` and :class:`~skdeepbiq.CNNCropFeaturizer`
    take them; ``overrides`` replace some.
    """
    params = {
        "device": args.device,
        "precision": args.precision,
        "batch_size": args.batch_size,
        "n_jobs": args.n_jobs,
        "memory": args.cache,
        "verbose": 0 if args.quiet else 1,
    }
    return {**params, **overrides}
