"""What ``score`` and ``evaluate`` share: images, the model, the predictions.

The images named on the command line (files, folders, glob patterns), the
model named by ``--model`` (a pretrained name or a model file), and its
predictions with each image that could not be scored reported on stderr.
"""

from __future__ import annotations

import glob
import math
import os
import warnings

from ._options import UsageError, print_error, print_note

#: File name extensions of the images that ``score`` picks from folders.
IMAGE_EXTENSIONS = (
    ".bmp", ".gif", ".jpeg", ".jpg", ".png", ".ppm", ".tif", ".tiff", ".webp",
)  # fmt: skip

#: The default ``--model``: ``skdeepbiq._models.pretrained.DEFAULT_PRETRAINED``,
#: spelled out so that parsing imports no torch (a test checks they agree).
DEFAULT_MODEL = "clive-efficientnet_lite2"


# Images ----------------------------------------------------------------------


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


#: The reason given for a path that is not there.
NO_SUCH_FILE = "no such file or directory"


def expand_paths(arguments, recursive=False, *, keep_missing=False):
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
    keep_missing : bool, default=False
        Also keep, in its place among ``paths``, an argument that names no
        existing file and is no pattern (it is still one of ``problems``):
        ``score`` gives it a row with an empty score.

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
            found = [argument] if keep_missing else []
            problems.append((argument, NO_SUCH_FILE))
        paths += found
    return list(dict.fromkeys(paths)), problems


# The model -------------------------------------------------------------------


def _check_model_file(spec: str, pretrained) -> None:
    """Refuse a ``--model`` that is no file (exit 1), naming the pretrained
    models it is not either."""
    if not os.path.lexists(spec):
        raise FileNotFoundError(
            f"--model {spec}: no such file; it is neither a pretrained model "
            f"({', '.join(pretrained)}) nor an existing model file"
        )


def load_model_argument(spec: str, viewing_scale=None, **params):
    """The fitted model named by ``--model``: a pretrained name or a file.

    Parameters
    ----------
    spec : str
        A name of ``skdeepbiq._models.pretrained.PRETRAINED`` or a model file.
    viewing_scale : {"learned", "native"} or int, default=None
        ``--viewing-scale``: replaces the featurizer's own; None keeps it.
    **params
        Runtime parameters of :func:`skdeepbiq.load_model` (``device``,
        ``memory``, ``on_error``, ...).

    Returns
    -------
    model : DeepBIQRegressor
        Fitted.

    Raises
    ------
    FileNotFoundError
        When no file is there (exit code 1).
    UsageError, ValueError
        When the file is not a model file (exit code 2).
    """
    from .. import load_model, load_pretrained
    from .._models.pretrained import PRETRAINED

    if spec in PRETRAINED:
        model = load_pretrained(spec, **params)
    else:
        from ..exceptions import ModelFileError

        _check_model_file(spec, PRETRAINED)
        try:
            model = load_model(spec, **params)
        except ModelFileError as error:  # load_model says what the file is
            raise UsageError(
                f"--model {spec}: not a skdeepbiq model file this version "
                f"reads: {error}"
            ) from error
    if viewing_scale is not None:
        for featurizer in (model.featurizer, model.featurizer_):
            featurizer.set_params(viewing_scale=viewing_scale)
    return model


# Predictions -----------------------------------------------------------------


def predict_with_failures(model, paths: list[str], *, confidence=None):
    """Scores of ``paths``, their intervals, and the images that could not be scored.

    ``model`` must have been loaded with ``on_error="nan"``. Each failure is
    reported on stderr with its path and reason, and each image enlarged
    more than twice to reach the crops gets a note with its size.

    Parameters
    ----------
    model : DeepBIQRegressor
        Fitted; calibrated when ``confidence`` is given.
    paths : list of str
        The images.
    confidence : float, default=None
        Also compute prediction intervals at this confidence, in the same
        pass (:meth:`DeepBIQRegressor.predict_interval`).

    Returns
    -------
    scores : ndarray of shape (n_images,)
        NaN where an image could not be scored.
    failures : dict
        Index of each image that could not be scored -> the reason.
    intervals : ndarray of shape (n_images, 2) or None
        Lower and upper bounds with ``confidence``, else None.
    """
    from ..exceptions import SmallImageWarning, UnreadableImageWarning

    intervals = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if confidence is None:
            scores = model.predict(paths)
        else:  # the intervals are symmetric about the prediction
            intervals = model.predict_interval(paths, confidence)
            scores = intervals.mean(axis=1)
    failures = {}
    for warning in caught:
        if issubclass(warning.category, UnreadableImageWarning):
            for failure in warning.message.failures:
                failures[failure.index] = failure.reason
        elif issubclass(warning.category, SmallImageWarning):
            for image in warning.message.images:
                print_note(
                    f"{paths[image.index]}: {image.reason}; its score comes "
                    "from a magnification that no rater saw"
                )
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    for index, score in enumerate(scores):
        if not math.isfinite(score) and index not in failures:
            failures[index] = "the model gives no finite score"
    for index, reason in sorted(failures.items()):
        print_error(f"{paths[index]}: {reason}")
    return scores, failures, intervals


def check_calibrated(model, name: str, option: str, confidence: float) -> None:
    """A usage error (exit 2) naming ``option`` unless ``model`` gives intervals.

    That is, when ``model`` has no calibration, or one too small for finite
    intervals at ``confidence``.
    """
    calibration = getattr(model, "calibration_", None)
    if calibration is None:
        raise UsageError(
            f"{option} needs a calibrated model, and {name} is not calibrated: "
            "calibrate it in Python (DeepBIQRegressor.calibrate) and save it, or "
            "use the pretrained model"
        )
    reason = interval_shortfall(model, name, option, confidence)
    if reason is not None:
        raise UsageError(
            f"{reason}; ask for a lower {option}, or calibrate {name} on more photos"
        )


def interval_shortfall(model, name: str, option: str, confidence: float):
    """Why a calibrated ``model``'s intervals at ``confidence`` are infinite, or None."""
    from .._conformal import shortfall

    reason = shortfall(model.calibration_, confidence)
    if reason is None:
        return None
    return f"{option} {confidence:g} gives infinite intervals with {name}: {reason}"
