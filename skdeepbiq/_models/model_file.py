"""The ``.npz`` model file: what it holds, how it is read and checked.

A model file is a zip of ``.npy`` arrays of plain numbers and strings, read
with ``allow_pickle=False`` so that loading a file cannot run code:

- ``format``: the string ``"skdeepbiq-model"``;
- ``format_version``: an integer, :data:`FORMAT_VERSION` when written by
  this skdeepbiq; :data:`READABLE_VERSIONS` lists those it reads;
- ``config`` and ``metadata``: JSON strings (the model's parameters; notes
  such as the date and the training set);
- the numbers of the fitted model (``coef``, ``intercept``, ``scaler_*``);
- optionally ``training_fingerprints``, a uint64 per training image (see
  :func:`skdeepbiq.training_overlap`), and ``network.*``, tuned weights.

:func:`write_model_file` writes such a file and :func:`read_model_file`
reads one back, with an error that says what the file is when it is not a
model file it can read. :mod:`skdeepbiq._models.model_io` turns a fitted
:class:`~skdeepbiq.DeepBIQRegressor` into these arrays and back.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
from sklearn.utils import Bunch

from ..exceptions import ModelFileError

FORMAT = "skdeepbiq-model"
#: The format version :func:`write_model_file` writes.
FORMAT_VERSION = 1
#: The format versions :func:`read_model_file` reads.
READABLE_VERSIONS = (1,)
#: Arrays every readable model file holds.
_REQUIRED = ("config", "metadata", "coef", "intercept")
#: First bytes of files often given by mistake, and what they are.
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x93NUMPY": "a single numpy array (.npy), not an .npz archive",
    b"\x80": "a Python pickle",
    b"\x1f\x8b": "a gzip file",
}


def _to_json(value, what: str) -> np.ndarray:
    """``value`` as a 0-d string array of JSON; ``what`` names it in errors."""
    try:
        return np.array(json.dumps(value, sort_keys=True))
    except TypeError as error:
        raise ValueError(f"{what} must be JSON serialisable: {error}") from error


def write_model_file(path, config: dict, metadata: dict, arrays: dict) -> str:
    """Write a model file and return its path (``.npz`` appended if missing).

    Parameters
    ----------
    path : str or path-like
        Output file.
    config : dict
        The model's parameters, JSON serialisable.
    metadata : dict
        Notes kept in the file, JSON serialisable.
    arrays : dict of str to ndarray
        The fitted numbers (``coef``, ``intercept``, ...), not of object dtype.

    Returns
    -------
    path : str
        The file written.
    """
    content = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "config": _to_json(config, "the model's parameters"),
        "metadata": _to_json(metadata, "metadata"),
        **{name: np.asarray(values) for name, values in arrays.items()},
    }
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    np.savez(path, **content)
    return path


def _what_it_is(head: bytes) -> str:
    """What a file that starts with ``head`` is, for messages."""
    for signature, kind in _SIGNATURES.items():
        if head.startswith(signature):
            return kind
    if not head:
        return "an empty file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return f"a file that starts with {head[:8]!r}"
    return "a text file"


def _check_path(path: str) -> None:
    """Raise when ``path`` is not a file, or not a zip archive."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}: no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a model file")
    with open(path, "rb") as file:
        head = file.read(64)
    if not head.startswith(b"PK"):
        raise ModelFileError(
            f"{path!r} is not a skdeepbiq model file (.npz): it is {_what_it_is(head)}"
        )


def _load_arrays(path: str) -> dict:
    """Every array of the zip at ``path``, never unpickling anything."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        if "pickle" in str(error):
            reason = "it holds Python objects, which model files never hold"
        else:
            reason = f"a damaged or foreign zip archive ({error})"
        raise ModelFileError(
            f"{path!r} is not a skdeepbiq model file (.npz): {reason}"
        ) from None


def _format_version(path: str, arrays: dict) -> int:
    """The file's format version, checked to be one this module reads."""
    if str(arrays.get("format", "")) != FORMAT:
        raise ModelFileError(
            f"{path!r} is an npz file but not a skdeepbiq model: it has no "
            f"format entry {FORMAT!r}"
        )
    found = np.asarray(arrays.get("format_version")).tolist()
    if isinstance(found, int) and found in READABLE_VERSIONS:
        return found
    newer = isinstance(found, int) and found > max(READABLE_VERSIONS)
    raise ModelFileError(
        f"{path!r} has model format version {found!r}; this skdeepbiq reads "
        f"format version {', '.join(map(str, READABLE_VERSIONS))}"
        + (" (written by a newer skdeepbiq: upgrade skdeepbiq)" if newer else "")
    )


def read_model_file(path) -> Bunch:
    """Read and check a model file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`write_model_file`.

    Returns
    -------
    model_file : Bunch
        ``version`` (int), ``config`` and ``metadata`` (dicts) and
        ``arrays`` (dict of str to ndarray, every array of the file).

    Raises
    ------
    FileNotFoundError
        No file at ``path`` (``IsADirectoryError`` for a folder).
    ModelFileError
        The file is not a model file (a text file, an image, another npz),
        has a format version this skdeepbiq does not read (the message
        names the version found and those it reads), or is damaged.
    """
    path = os.fspath(path)
    _check_path(path)
    arrays = _load_arrays(path)
    version = _format_version(path, arrays)
    missing = [name for name in _REQUIRED if name not in arrays]
    if missing:
        raise ModelFileError(f"{path!r} is a damaged model file: no {missing}")
    try:
        config = json.loads(str(arrays["config"]))
        metadata = json.loads(str(arrays["metadata"]))
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"{path!r} is a damaged model file: unreadable parameters ({error})"
        ) from None
    return Bunch(version=version, config=config, metadata=metadata, arrays=arrays)
